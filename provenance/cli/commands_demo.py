"""`prov demo`: its command line (the world sizes it offers come from the generator); the run and
its tour are `provenance.cli.demo.tour`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import click

from provenance.cli.app import ProvCommand, echo
from provenance.cli.params import WholeNumber
from provenance.domain.errors import ProvenanceError


def _demo_world() -> Any:
    """`provenance.cli.demo.world`, for the world sizes `prov demo` offers (no heavy imports)."""
    from provenance.cli.demo import world

    return world


_DEMO = _demo_world()


@click.command(cls=ProvCommand)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default="prov-demo",
    show_default=True,
    help="where logs, store and PREMIS files go",
)
@click.option(
    "--objects",
    type=WholeNumber(_DEMO.MIN_OBJECTS, _DEMO.MAX_OBJECTS),
    default=300,
    show_default=True,
    help="objects in the sample repository",
)
@click.option(
    "--days",
    type=WholeNumber(_DEMO.MIN_DAYS, _DEMO.MAX_DAYS),
    default=120,
    show_default=True,
    help="days of logs",
)
@click.option(
    "--force",
    is_flag=True,
    help="replace the demo's files even where the folder holds a store or files the demo "
    "did not make, or changed since (other files are left alone)",
)
@click.option(
    "--serve",
    is_flag=True,
    help="then serve the dashboard and the query API on the demo's store (as prov serve)",
)
@click.option(
    "--port",
    type=WholeNumber(0, 65535),
    default=8080,
    show_default=True,
    help="with --serve: the port on 127.0.0.1 (0: any free one)",
)
def demo(directory: str, objects: int, days: int, force: bool, serve: bool, port: int) -> None:
    """Generate sample logs, ingest them into a fresh store, and show a tour.

    A folder the demo filled before is filled again; one holding anything else (a store, files
    the demo did not make or that changed since it made them) is refused, before anything is
    touched, unless --force.
    """
    from provenance.cli.demo.tour import run_demo

    if not directory:
        raise click.BadParameter("the folder name is empty", param_hint="'--dir'")
    if serve and importlib.util.find_spec("waitress") is None:
        # Said before the tour runs, not after it (`make demo` installs the runtime alone).
        raise ProvenanceError(
            "prov demo --serve needs waitress: pip install 'sdr-provenance[serve]' "
            "(make demo installs it)"
        )
    run_demo(Path(directory), objects=objects, days=days, echo=echo, force=force)
    if serve:
        from provenance.cli.commands_serve import request_log_failed
        from provenance.cli.demo.folder import STORE
        from provenance.query.serve import serve_api

        store = Path(directory) / STORE
        echo("")
        serve_api(
            f"sqlite:///{store.resolve()}",
            host="127.0.0.1",
            port=port,
            threads=4,
            organization=None,
            agents=None,
            echo=echo,
            log_failed=request_log_failed,
        )
