"""`/objects/{druid}` for a browser: the object's state, where it is, and its history.

The history is `object_history`'s, in time order, a page at a time; the filters (event type,
outcome, a text) are applied while reading it, so a page holds up to `limit` matching actions
and its "next page" link carries the cursor of the last one shown. Reading is bounded by the
object's own history (never the store's).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from eventstore import EventStore
from provenance.domain.events import EVENT_TYPES
from provenance.query.http_api import (
    HTML,
    MAX_LIMIT,
    PREMIS_TYPES,
    Reply,
    Request,
    _check_params,
    _int_param,
    _param,
)
from provenance.query.pages.templating import PAGE_HEADERS, render
from provenance.query.views import action_summary, object_history, object_state_view

OBJECT_PARAMS = ("type", "outcome", "q", "limit", "after", "format")
HISTORY_LIMIT = 50
# Actions read per step while filtering: most objects' whole history in one read.
SCAN = 200
OUTCOMES = ("success", "fail", "warning", "none")
PREMIS_LABELS = {"xml": "XML", "turtle": "Turtle", "json-ld": "JSON-LD"}


def object_page(store: EventStore, request: Request, druid: str) -> Reply:
    _check_params(request, OBJECT_PARAMS)
    state = object_state_view(store, druid)  # 404 for an unknown object, 400 for a bad druid
    stream = state["object"]
    filters: dict[str, Any] = {
        "type": _param(request, "type"),
        "outcome": _param(request, "outcome"),
        "q": _param(request, "q"),
        "limit": _int_param(request, "limit", HISTORY_LIMIT, 1, MAX_LIMIT),
    }
    after = _param(request, "after")
    history, following = filtered_history(store, stream, filters, after=after)
    for event in history:
        event["summary"] = action_summary(event)
    shown_filters: dict[str, Any] = {
        key: value for key, value in filters.items() if value and key != "limit"
    }
    if filters["limit"] != HISTORY_LIMIT:
        shown_filters["limit"] = filters["limit"]
    base = f"/objects/{stream}"
    body = render(
        "object.html",
        section="objects",
        json_url=f"{base}/state",
        state=state,
        replication=replication_grid(state),
        premis=[
            (label, f"{base}/premis?" + urlencode({"format": fmt, "download": "1"}))
            for fmt, label in PREMIS_LABELS.items()
            if fmt in PREMIS_TYPES.values()
        ],
        history=history,
        filters=filters,
        filtered=bool(set(shown_filters) - {"limit"}),
        types=sorted(set(EVENT_TYPES) & set(state["events_by_type"])),
        outcomes=OUTCOMES,
        max_limit=MAX_LIMIT,
        first_url=f"{base}?{urlencode(shown_filters)}#history" if after else None,
        next_url=(
            f"{base}?{urlencode({**shown_filters, 'after': following})}#history"
            if following
            else None
        ),
    )
    return Reply(body, HTML, dict(PAGE_HEADERS))


def filtered_history(
    store: EventStore, stream: str, filters: dict[str, Any], *, after: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `filters["limit"]` actions after `after` that pass the filters, and the cursor
    to read the next page after (None on the last)."""
    limit: int = filters["limit"]
    found: list[dict[str, Any]] = []
    cursor = after
    while True:
        batch = object_history(store, stream, limit=SCAN, after=cursor)
        for event in batch:
            if matches(event, filters):
                found.append(event)
                if len(found) > limit:
                    return found[:limit], found[limit - 1]["cursor"]
        if len(batch) < SCAN:
            return found, None
        cursor = batch[-1]["cursor"]


def matches(event: dict[str, Any], filters: dict[str, Any]) -> bool:
    if filters["type"] and event["type"] != filters["type"]:
        return False
    if filters["outcome"] and (event.get("outcome") or "none") != filters["outcome"]:
        return False
    text = filters["q"]
    if text:
        agent = event.get("agent") or {}
        haystack = " ".join(
            str(part)
            for part in (
                action_summary(event),
                event.get("detail"),
                event.get("result_code"),
                event.get("event_type"),
                agent.get("name"),
            )
            if part
        )
        return text.casefold() in haystack.casefold()
    return True


def replication_grid(state: dict[str, Any]) -> dict[str, Any]:
    """Versions by endpoint: each cell the replication's entry, or None where the version has
    not reached that endpoint."""
    replication: dict[str, dict[str, Any]] = state["replication"]
    endpoints = sorted({endpoint for entries in replication.values() for endpoint in entries})
    # A version no endpoint has yet is a row of gaps, not left out.
    versions = {int(key) for key in replication if key.isdigit()} | set(state["versions"])
    return {
        "endpoints": endpoints,
        "rows": [
            (version, [replication.get(str(version), {}).get(endpoint) for endpoint in endpoints])
            for version in sorted(versions)
        ],
    }
