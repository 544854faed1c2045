"""Read-side application functions: an object's history, its state view, the quarantine.

Shared by the CLI and the query API (`provenance.query.http_api`), so both answer the same way.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from eventstore import EventRecord, EventStore, InvalidRequestError
from eventstore.store import parse_cursor
from provenance.domain.druid import parse_druid
from provenance.domain.errors import NotFoundError, ProvenanceError
from provenance.domain.events import QUARANTINE_STREAM, load_event
from provenance.domain.shown import shown
from provenance.projections import object_state
from provenance.projections.object_actions import PAGE, object_actions

PREMIS_EVENT_TYPE_URI = "http://id.loc.gov/vocabulary/preservation/eventType/"
_LEADING = (
    "event_id",
    "type",
    "object",
    "version",
    "occurred_at",
    "premis_event_type",
    "outcome",
    "agent",
    "detail",
    "source",
)


def event_view(record: EventRecord) -> dict[str, Any]:
    """One stored event as the JSON users see: the envelope first, then the event's fields."""
    data = load_event(record.payload).model_dump(mode="json")
    code = data.get("premis_type")
    data["premis_event_type"] = PREMIS_EVENT_TYPE_URI + code if code else None
    view = {key: data.pop(key, None) for key in _LEADING}
    view.update(data)
    view["cursor"] = record.cursor
    return view


def summary(event: dict[str, Any]) -> str:
    """What an event was, for tables: the step for robot steps, else detail (the table makes
    its control characters, newlines too, visible)."""
    if event.get("workflow"):
        took = f" in {event['duration_s']:.1f} s" if event.get("duration_s") is not None else ""
        error = f": {event['error']}" if event.get("error") else ""
        return f"{event['workflow']}/{event.get('step') or '?'} {event['status']}{took}{error}"
    return event.get("detail") or ""


def action_summary(event: dict[str, Any]) -> str:
    """`summary`, led by the notifications that repeat the action when there are any:
    `[+1 shelving_complete] accessionWF/shelve completed in 9.8 s`."""
    also = event.get("also_reported_by")
    if not also:
        return summary(event)
    names = sorted({_notice_name(notice) for notice in also})
    return f"[+{len(also)} {', '.join(names)}] {summary(event)}"


def _notice_name(event: dict[str, Any]) -> str:
    """What a notification was called where it came from (`shelving_complete`, ...)."""
    if event.get("event_type"):
        return str(event["event_type"])
    failed = event.get("outcome") in ("fail", "warning")
    return "preservation_audit_failure" if failed else "preservation_audit_success"


def object_history(
    store: EventStore, druid: str, *, limit: int | None = None, after: str | None = None
) -> list[dict[str, Any]]:
    """One object's actions after the cursor `after` (at most `limit`), in time order.

    Each is the view of its report, with `also_reported_by`: the views of the notifications
    that repeat it (`provenance.domain.actions`); those are not listed on their own.
    """
    stream = parse_druid(druid).value
    if after is not None:
        try:
            parse_cursor(after)
        except InvalidRequestError:
            # The store's message quotes the cursor whole, whatever its length.
            raise ProvenanceError(
                f"{shown(after)!r} is not a paging cursor: pass the cursor of the last event "
                "of the previous page"
            ) from None
    views: list[dict[str, Any]] = []
    if limit == 0:
        if after is None and not store.read_stream(stream, limit=1):
            raise NotFoundError(f"no events for {stream} in this store")
        return views
    # A page of a few more reports than actions asked for: most actions are one report.
    page = PAGE if limit is None else min(PAGE, limit + 8)
    for action in object_actions(store, stream, after=after, page=page):
        view = event_view(action.report.record)
        view["also_reported_by"] = [event_view(notice.record) for notice in action.notices]
        views.append(view)
        if limit is not None and len(views) >= limit:
            break
    if not views and after is None:
        raise NotFoundError(f"no events for {stream} in this store")
    return views


def object_state_view(store: EventStore, druid: str) -> dict[str, Any]:
    """The Object State Dashboard for one druid, brought up to date first."""
    stream = parse_druid(druid).value
    object_state.catch_up(store)
    state = object_state.get_state(store, stream)
    if state is None:
        raise NotFoundError(f"no events for {stream} in this store")
    return state_view(state)


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """A projection entry for people: times in UTC (from its cursor), no cursor."""
    plain = {key: item for key, item in value.items() if key != "cursor"}
    plain["at"] = _utc(value["cursor"])
    return plain


def _utc(cursor: str) -> str:
    return cursor.split("#", 1)[0]


def state_view(state: dict[str, Any]) -> dict[str, Any]:
    """The stored projection row reshaped for people: no cursors, derived fields added."""
    status = {root: _plain(item) for root, item in sorted(state["status"].items())}
    fixity = {root: _plain(item) for root, item in sorted(state["fixity"].items())}
    replica = {ep: _plain(item) for ep, item in sorted(state["replica_audits"].items())}
    replication = {
        version: {ep: _plain(item) for ep, item in sorted(endpoints.items())}
        for version, endpoints in sorted(state["replication"].items(), key=lambda kv: kv[0])
    }
    last_replication: dict[str, str] = {}
    for endpoints_of_version in replication.values():
        for endpoint, item in endpoints_of_version.items():
            last_replication[endpoint] = max(last_replication.get(endpoint, ""), item["at"])
    locations: list[dict[str, Any]] = []
    for root in sorted(set(status) | set(fixity) | set(state["validation"])):
        if not root or root in replica:
            continue
        last = fixity.get(root)
        locations.append(
            {
                "kind": "storage_root",
                "name": root,
                "status": status.get(root, {}).get("status"),
                "last_fixity_check": last["at"] if last else None,
                "last_fixity_outcome": last["outcome"] if last else None,
            }
        )
    endpoints = sorted({ep for versions in replication.values() for ep in versions} | set(replica))
    for endpoint in endpoints:
        audit = replica.get(endpoint)
        locations.append(
            {
                "kind": "endpoint",
                "name": endpoint,
                "versions_replicated": sorted(
                    int(v) for v, eps in replication.items() if endpoint in eps and v != "None"
                ),
                "last_replicated_at": last_replication.get(endpoint),
                "last_audit": audit["at"] if audit else None,
                "last_audit_outcome": audit["outcome"] if audit else None,
            }
        )
    return {
        "object": state["object"],
        "conforming_druid": state["conforming"],
        "latest_version": state["latest_version"],
        "versions": state["versions"],
        "first_event_at": _utc(state["first_event"]) if state["first_event"] else None,
        "last_event_at": _utc(state["last_event"]) if state["last_event"] else None,
        "preservation_status": status,
        "locations": locations,
        "last_fixity_check": fixity,
        "last_replica_audit": replica,
        "replication": replication,
        "steps": {
            workflow: {
                step: _plain(item)
                for step, item in sorted(steps.items(), key=lambda kv: kv[1]["cursor"])
            }
            for workflow, steps in sorted(state["steps"].items())
        },
        "open_failures": [_plain(item) for item in object_state.open_failures(state)],
        "events_by_type": dict(sorted(state["events_by_type"].items())),
    }


def quarantined_lines(store: EventStore, *, limit: int | None = None) -> list[dict[str, Any]]:
    items = []
    for record in store.read_stream(QUARANTINE_STREAM, limit=limit):
        event = load_event(record.payload)
        data = event.model_dump(mode="json")
        raw = base64.b64decode(data["raw"])
        items.append(
            {
                "event_id": data["event_id"],
                "recorded_at": data["recorded_at"],
                "file": data["source"]["file"],
                "line": data["source"]["line"],
                "source_type": data["source_type"],
                "reason": data["reason"],
                "line_count": data["line_count"],
                "text": data["text"],
                "raw_base64": data["raw"],
                "raw_is_utf8": _is_utf8(raw),
                # A kept part of an entry too large for the store: `raw_base64` holds its
                # first `len(raw)` bytes of `raw_bytes`, whose SHA-256 is `raw_sha256`.
                "truncated": data["truncated"],
                "raw_bytes": data["raw_bytes"] if data["truncated"] else len(raw),
                "raw_sha256": data["raw_sha256"] or hashlib.sha256(raw).hexdigest(),
            }
        )
    return items


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
