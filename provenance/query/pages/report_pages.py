"""`/reports/access` for a browser: the report `prov report access` prints, with charts.

The numbers are `provenance.access.report.access_report`'s for the query the JSON route reads
from the same parameters (`api_queries.access_query`), so the page, the JSON and the CLI agree.
The form asks for the same parameters, and submitting it is a GET of this page.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlencode

from eventstore import EventStore
from provenance.access import report as reports
from provenance.query.http_api import HTML, Reply, Request, _param
from provenance.query.pages import charts
from provenance.query.pages.templating import PAGE_HEADERS, render

# A report by client or path per hour can have more rows than anyone reads on a page: the
# table stops here and says so (the JSON and CSV have them all; `top` narrows the report).
MAX_ROWS = 500
RANKED_BARS = 15
FORM_PARAMS = ("by", "bucket", "from", "to", "top", "service", "agent", "tz")


def access_page(store: EventStore, request: Request, query: reports.ReportQuery) -> Reply:
    report = reports.access_report(store, query, names=reports.PARAMETER_NAMES)
    by = list(query.by)
    per_group: Counter[str] = Counter()
    per_bucket: Counter[str] = Counter()
    for row in report.rows:
        per_group[group_name(row, by)] += row["requests"]
        if query.bucket is not None:
            per_bucket[row["bucket"]] += row["requests"]
    figures = []
    if query.bucket is not None:
        figures.append(
            charts.columns(
                [
                    (period_label(bucket, query.bucket), n)
                    for bucket, n in sorted(per_bucket.items())
                ],
                title=f"Requests per {query.bucket}",
                unit="requests",
            )
        )
    figures.append(
        charts.rows(
            per_group.most_common(RANKED_BARS),
            title=f"Requests by {' and '.join(by)}"
            + (f" (the {RANKED_BARS} largest)" if len(per_group) > RANKED_BARS else ""),
            unit="requests",
        )
    )
    asked = {name: _param(request, name) for name in FORM_PARAMS}
    given = {name: value for name, value in asked.items() if value}
    body = render(
        "access.html",
        section="access",
        json_url="/reports/access?" + urlencode({**given, "format": "json"}),
        csv_url="/reports/access?" + urlencode({**given, "format": "csv"}),
        report=report,
        by=by,
        columns=[*by, *(["bucket"] if query.bucket else [])],
        rows=report.rows[:MAX_ROWS],
        cut=len(report.rows) > MAX_ROWS,
        charts=figures,
        asked=asked,
        dimensions=reports.DIMENSIONS,
        buckets=reports.BUCKETS,
        max_top=reports.MAX_TOP,
        zone=str(query.tz),
    )
    return Reply(body, HTML, dict(PAGE_HEADERS))


def period_label(bucket: str, size: str) -> str:
    """A period's start (`2026-01-05T00:00:00-08:00`) as short as its size allows under a
    column: `2026-01` for a month, `01-05` for a day or a week, `01-05 14h` for an hour."""
    if size == "month":
        return bucket[:7]
    if size == "hour":
        return f"{bucket[5:10]} {bucket[11:13]}h"
    return bucket[5:10]


def group_name(row: dict[str, Any], by: list[str]) -> str:
    return " · ".join(str(row[name]) for name in by)
