"""`prov report` and its command `prov report access`: who queries which services, how often, with
what queries (from the store's hourly counts, or a deployed API with --api).
"""

from __future__ import annotations

import click

from eventstore.store import MAX_LIMIT
from provenance.cli.app import ProvGroup, echo, print_json, writing_stdout
from provenance.cli.commands_fleet import endpoint_list, endpoints_option
from provenance.cli.options import (
    api_client,
    api_options,
    format_option,
    open_store,
    refuse_writing_the_store,
    store_option,
)
from provenance.cli.params import IsoTime, Text, WholeNumber


@click.group(cls=ProvGroup)
def report() -> None:
    """Reports over the stored events."""


@report.command("access")
@store_option
@api_options
@click.option(
    "--by",
    "by",
    type=Text(),
    default="service",
    show_default=True,
    metavar="DIM[,DIM...]",
    help="group by agent, agent_kind, client, service, path, druid, status, status_class",
)
@click.option("--bucket", type=click.Choice(["hour", "day", "week", "month"]), default=None)
@click.option("--from", "start", type=IsoTime(), default=None, help="ISO date or time (inclusive)")
@click.option(
    "--to",
    "stop",
    type=IsoTime(),
    default=None,
    help="ISO date (inclusive) or time; 9999-12-31 or later: no end",
)
@click.option(
    "--top", type=WholeNumber(1, MAX_LIMIT), default=None, help="keep the N largest groups"
)
@click.option(
    "--service", "services", type=Text(), multiple=True, help="only this service (repeatable)"
)
@click.option("--agent", "agents", type=Text(), multiple=True, help="only this agent (repeatable)")
@click.option(
    "--tz",
    type=Text(),
    default=None,
    envvar="PROV_TZ",
    help="zone of buckets and dates [env PROV_TZ]",
)
@click.option(
    "--chart", type=click.Path(dir_okay=False), default=None, help="also draw FILE.png|.svg"
)
@format_option("table", "json", "csv")
def access(
    store_url: str | None,
    api_url: str | None,
    region: str | None,
    by: str,
    bucket: str | None,
    start: str | None,
    stop: str | None,
    top: int | None,
    services: tuple[str, ...],
    agents: tuple[str, ...],
    tz: str | None,
    chart: str | None,
    fmt: str,
) -> None:
    """Who queries which services, how often, with what queries.

    Counts requests and bytes per group (--by, several dimensions with commas) and, with
    --bucket, per hour/day/week/month in --tz. `path` is the query template
    (/file/druid:{druid}/{file}). Answered from the hourly counts; --by druid reads the
    access events themselves (only what retention kept).
    """
    from provenance.access.report import access_report, csv_rows, report_query
    from provenance.domain.timezones import resolve_zone

    zone = resolve_zone(tz)
    if chart is not None:
        from provenance.access.chart import chart_format

        chart_format(chart)  # a wrong name fails before the report is made
    if chart is not None and bucket is None:
        bucket = "day"  # a chart is over time; a day is the natural default step
    query = report_query(
        by=by.split(","),
        bucket=bucket,
        start=start,
        stop=stop,
        top=top,
        services=services,
        agents=agents,
        tz=zone,
    )
    client = api_client(store_url, api_url, region)
    if client is not None:
        result = client.access_report(query)
    else:
        refuse_writing_the_store(chart, store_url)
        with open_store(store_url) as store:
            result = access_report(store, query)
    if chart is not None:
        from provenance.access.chart import write_chart

        write_chart(result, chart, warn=lambda message: echo(f"prov: warning: {message}", err=True))
    if fmt == "json":
        from provenance.access.report_json import rows_json

        print_json(result.rows, encode=rows_json)
    elif fmt == "csv":
        import csv

        from provenance.files.output_file import standard_output

        with writing_stdout():
            csv.writer(standard_output(), lineterminator="\n").writerows(csv_rows(result))
            standard_output().flush()
    else:
        from provenance.cli.render import access_table

        echo(access_table(result))
    if chart is not None and fmt == "table":
        echo(f"chart: {chart}")


@report.command("fleet")
@store_option
@api_options
@endpoints_option
@click.option(
    "--overdue-days",
    type=WholeNumber(1, 36_500),
    default=90,
    show_default=True,
    help="a fixity check older than this is overdue",
)
@format_option("table", "json")
def fleet(
    store_url: str | None,
    api_url: str | None,
    region: str | None,
    endpoints: str | None,
    overdue_days: int,
    fmt: str,
) -> None:
    """The whole repository at a glance: objects, versions and events; failing objects by
    kind; status by storage root; overdue fixity checks; versions not on every endpoint;
    failures per day.

    Counted back from the newest event (`as_of`), so a store loaded from old logs reads as
    the repository was then.
    """
    client = api_client(store_url, api_url, region)
    if client is not None:
        result = client.fleet_report(overdue_days=overdue_days)
    else:
        from provenance.query.fleet import fleet_report

        with open_store(store_url) as store:
            result = fleet_report(
                store, endpoints=endpoint_list(endpoints), overdue_days=overdue_days
            )
    if fmt == "json":
        print_json(result)
        return
    from provenance.cli.render import fleet_table

    echo(fleet_table(result))
