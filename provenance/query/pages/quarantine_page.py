"""`/quarantine`: the lines ingest did not understand, counted by reason, with samples.

The entries are `prov quarantine`'s (`views.quarantined_lines`). Counting reads the quarantine
stream, up to `SCAN` entries: past that the page says the counts are of the first `SCAN`
(`prov quarantine --format json` lists them all). Samples are shown as text, escaped by the
template, with control characters as escapes; a line that was not UTF-8 is marked so (its
undecodable bytes are already written as \\xNN escapes in its text).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlencode

from eventstore import EventStore
from provenance.query.http_api import HTML, Reply, Request, _check_params, _int_param, _param
from provenance.query.views import quarantined_lines

SCAN = 10_000
SAMPLES = 5  # per reason on the summary page
MAX_SAMPLES = 200  # of one reason, when asked for it
QUARANTINE_PARAMS = ("reason", "limit", "format")


def quarantine_summary(store: EventStore, request: Request) -> dict[str, Any]:
    """Counts by reason and samples (of every reason, or of `?reason=`)."""
    _check_params(request, QUARANTINE_PARAMS)
    reason = _param(request, "reason")
    per_reason = _int_param(request, "limit", SAMPLES if reason is None else 50, 1, MAX_SAMPLES)
    items = quarantined_lines(store, limit=SCAN + 1)
    complete = len(items) <= SCAN
    items = items[:SCAN]
    entries: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        entries[item["reason"]] += 1
        lines[item["reason"]] += item["line_count"]
        if (reason is None or item["reason"] == reason) and len(
            samples[item["reason"]]
        ) < per_reason:
            samples[item["reason"]].append(item)
    return {
        "entries": len(items),
        "complete": complete,
        "by_reason": [
            {"reason": name, "entries": count, "lines": lines[name]}
            for name, count in entries.most_common()
        ],
        "reason": reason,
        "samples": {name: samples[name] for name, _ in entries.most_common() if samples[name]},
    }


def quarantine_page(store: EventStore, request: Request) -> Reply:
    # Here, not above: the JSON answer needs no templates (Jinja2 stays out of its imports).
    from provenance.query.pages.templating import PAGE_HEADERS, render  # noqa: PLC0415

    summary = quarantine_summary(store, request)
    reason = summary["reason"]
    body = render(
        "quarantine.html",
        section="quarantine",
        json_url="/quarantine?"
        + urlencode({**({"reason": reason} if reason else {}), "format": "json"}),
        summary=summary,
        scan=SCAN,
        reason_url=lambda name: "/quarantine?" + urlencode({"reason": name}),
    )
    return Reply(body, HTML, dict(PAGE_HEADERS))
