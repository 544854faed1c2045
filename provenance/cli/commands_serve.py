"""`prov serve`: the query API over HTTP on this machine (the routes of the Lambda's)."""

from __future__ import annotations

import click

from provenance.cli.app import ProvCommand, discard_stdout, echo, reason
from provenance.cli.commands_fleet import endpoint_list, endpoints_option
from provenance.cli.options import DEFAULT_STORE_PATH, open_store, store_option
from provenance.cli.params import MAX_SERVE_THREADS, Text, WholeNumber


@click.command(cls=ProvCommand)
@store_option
@click.option(
    "--host",
    type=Text(),
    default="127.0.0.1",
    show_default=True,
    help="address to listen on (the API has no authentication: expose it deliberately)",
)
@click.option("--port", type=WholeNumber(0, 65535), default=8080, show_default=True)
@click.option(
    "--threads",
    type=WholeNumber(1, MAX_SERVE_THREADS),
    default=4,
    show_default=True,
    help="requests answered at once (one store connection each)",
)
@click.option(
    "--organization",
    type=Text(),
    envvar="PROV_ORGANIZATION",
    default=None,
    help="the PREMIS organisation agent's name [env PROV_ORGANIZATION]",
)
@click.option(
    "--agents",
    "agents_file",
    type=Text(),
    envvar="PROV_AGENTS",
    default=None,
    help="TOML file of agents and the names they are known by, for PREMIS (see the README) "
    "[env PROV_AGENTS]",
)
@endpoints_option
def serve(
    store_url: str | None,
    host: str,
    port: int,
    threads: int,
    organization: str | None,
    agents_file: str | None,
    endpoints: str | None,
) -> None:
    """Serve the query API and the dashboard over HTTP (the Lambda's routes; waitress, until
    Ctrl-C): a browser gets the dashboard's pages, other clients JSON."""
    import ipaddress

    from provenance.query.serve import serve_api

    agents = None
    if agents_file:
        from provenance.domain.agent_registry import load_registry

        # Read once, before serving: a bad file is one line now, not a 400 on every export.
        agents = load_registry(agents_file)
    url = store_url or f"sqlite:///{DEFAULT_STORE_PATH}"
    with open_store(url):  # a missing or unreadable store fails now, not on the first request
        pass
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        echo(
            f"prov: warning: listening on {host}: anyone who can reach it can read the store",
            err=True,
        )
    serve_api(
        url,
        host=host,
        port=port,
        threads=threads,
        organization=organization,
        agents=agents,
        echo=echo,
        log_failed=request_log_failed,
        endpoints=endpoint_list(endpoints),
    )


def request_log_failed(error: OSError) -> None:
    """`prov serve`'s request log cannot be written to stdout: what is still buffered for it
    is dropped (it would fail again on the way out), and unless its reader just left (`prov
    serve | head -1`, not an error) a warning says the log stopped."""
    discard_stdout()
    if not isinstance(error, BrokenPipeError):
        echo(f"prov: warning: the request log stopped: cannot write -: {reason(error)}", err=True)
