"""`prov objects`: the objects of the whole repository that match filters (failing, by status
or storage root, overdue for a fixity check, not on every endpoint), a page at a time, from the
indexes the object state projection keeps (or a deployed API with --api)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from provenance.cli.app import ProvCommand, echo, print_json, writing_stdout
from provenance.cli.options import api_client, api_options, format_option, open_store, store_option
from provenance.cli.params import Text, WholeNumber

# provenance.query.fleet's (imported when the command runs, not for --help).
FAILURE_KINDS = ("fixity", "moab", "version", "replication", "ingest", "other")
MAX_PAGE = 1_000


def endpoints_option(command: Any) -> Any:
    return click.option(
        "--endpoints",
        type=Text(),
        default=None,
        envvar="PROV_ENDPOINTS",
        metavar="NAME[,NAME...]",
        help="the endpoints every version belongs on (default: every endpoint any version was "
        "replicated to) [env PROV_ENDPOINTS]",
    )(command)


def endpoint_list(value: str | None) -> list[str] | None:
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    return names or None


@click.command(cls=ProvCommand)
@store_option
@api_options
@click.option("--failing", is_flag=True, help="objects with an open failure, newest first")
@click.option(
    "--kind",
    type=click.Choice(FAILURE_KINDS),
    default=None,
    help="only failures of this kind (implies --failing)",
)
@click.option("--status", type=Text(), default=None, help="catalog status on a storage root")
@click.option("--root", type=Text(), default=None, help="on this storage root")
@click.option(
    "--not-checked-since",
    "not_checked_since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help="no successful fixity check since this day (never checked included), oldest first",
)
@click.option(
    "--unreplicated",
    is_flag=True,
    help="a version not on every endpoint, fewest copies and longest waiting first",
)
@endpoints_option
@click.option(
    "--limit", type=WholeNumber(1, MAX_PAGE), default=50, show_default=True, help="a page of N"
)
@click.option("--after", type=Text(), default=None, metavar="TOKEN", help="the next page of a list")
@format_option("table", "json", "csv")
def objects(
    store_url: str | None,
    api_url: str | None,
    region: str | None,
    failing: bool,
    kind: str | None,
    status: str | None,
    root: str | None,
    not_checked_since: Any,
    unreplicated: bool,
    endpoints: str | None,
    limit: int,
    after: str | None,
    fmt: str,
) -> None:
    """Objects across the whole repository that match every filter given, a page at a time.

    Without filters: every object, most recently active first. The token of the next page is
    printed on stderr (`--after TOKEN`).
    """
    from provenance.query.fleet import FleetQuery, fleet_objects

    day: date | None = not_checked_since.date() if not_checked_since is not None else None
    query = FleetQuery(
        failing=failing or kind is not None,
        kind=kind,
        status=status,
        root=root,
        not_checked_since=day,
        unreplicated=unreplicated,
        limit=limit,
        after=after,
    )
    client = api_client(store_url, api_url, region)
    if client is not None:
        page = client.objects(query)
    else:
        with open_store(store_url) as store:
            page = fleet_objects(store, query, endpoints=endpoint_list(endpoints))
    if fmt == "json":
        print_json(page.objects)
    elif fmt == "csv":
        import csv

        from provenance.files.output_file import standard_output
        from provenance.query.fleet import csv_rows

        with writing_stdout():
            csv.writer(standard_output(), lineterminator="\n").writerows(csv_rows(page.objects))
            standard_output().flush()
    else:
        from provenance.cli.render import objects_table

        echo(objects_table(page.objects))
    if page.next is not None:
        echo(f"next page: --after {page.next}", err=True)
