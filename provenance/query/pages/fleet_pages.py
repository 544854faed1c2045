"""`/` (the overview) and `/objects` (the filtered list) for a browser.

Both show what `provenance.query.fleet` answers (`fleet_report`, `fleet_objects`: the shapes of
`GET /reports/fleet` and `GET /objects`), so the pages and the JSON agree by construction. The
functions here take those answers, not the store: the routes read them (one pre-aggregated
report, one page of an index) and hand them over.

The list's form asks for the JSON route's own parameters (`failing`, `kind`, `status`, `root`,
`not_checked_since`, `unreplicated`, `limit`), so a filtered page and its JSON are one URL
apart (`&format=json`); "next page" carries the list's `next` token as `after`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from provenance.query.fleet import FAILURE_KINDS
from provenance.query.http_api import HTML, Reply
from provenance.query.pages import charts
from provenance.query.pages.templating import PAGE_HEADERS, render

FLEET_FILTERS = (
    "failing",
    "kind",
    "status",
    "root",
    "not_checked_since",
    "unreplicated",
    "limit",
)
# How many days of failures the overview's chart shows, ending at the report's newest day.
CHART_DAYS = 30


def overview_page(report: Mapping[str, Any]) -> Reply:
    """The overview of `fleet_report`'s answer."""
    by_day: dict[str, int] = dict(report.get("failures_by_day") or {})
    days = failure_days(by_day)
    statuses = sorted({status for counts in report["by_root"].values() for status in counts})
    body = render(
        "overview.html",
        section="overview",
        json_url="/reports/fleet?format=json",
        report=report,
        kinds=[(kind, report["failing_by_kind"].get(kind, 0)) for kind in FAILURE_KINDS],
        statuses=statuses,
        days=days,
        failures_chart=charts.columns(
            [(day[5:], count) for day, count in days],
            title=f"Failures per day (the {len(days)} days to the latest)",
            unit="failures",
        ),
        link=objects_link,
    )
    return Reply(body, HTML, dict(PAGE_HEADERS))


def failure_days(by_day: Mapping[str, int]) -> list[tuple[str, int]]:
    """The last `CHART_DAYS` days up to the newest day with a failure, days without any as 0
    (a chart with gaps left out would hide the quiet days)."""
    if not by_day:
        return []
    last = date.fromisoformat(max(by_day))
    first = max(date.fromisoformat(min(by_day)), last - timedelta(days=CHART_DAYS - 1))
    span = (last - first).days + 1
    return [
        (day.isoformat(), by_day.get(day.isoformat(), 0))
        for day in (first + timedelta(days=offset) for offset in range(span))
    ]


def objects_page(
    asked: Mapping[str, str | None],
    objects: Sequence[Mapping[str, Any]],
    next_token: str | None,
    report: Mapping[str, Any],
) -> Reply:
    """One page of `fleet_objects` for the filters `asked` (the request's parameters as
    given), with the choices of the form taken from the fleet `report`."""
    asked = {name: asked.get(name) for name in (*FLEET_FILTERS, "after")}
    given = {name: value for name, value in asked.items() if value and name in FLEET_FILTERS}
    roots = sorted(report["by_root"])
    body = render(
        "objects.html",
        section="objects",
        json_url="/objects?" + urlencode({**given, "format": "json"}),
        asked=asked,
        objects=objects,
        kinds=FAILURE_KINDS,
        statuses=sorted(report["by_status"]),
        roots=roots,
        first_url=("/objects?" + urlencode(given)) if asked.get("after") else None,
        next_url=("/objects?" + urlencode({**given, "after": next_token})) if next_token else None,
    )
    return Reply(body, HTML, dict(PAGE_HEADERS))


def objects_link(**filters: str) -> str:
    """The list of objects with these filters (`failing="true"`, `root=...`)."""
    return "/objects?" + urlencode(filters)
