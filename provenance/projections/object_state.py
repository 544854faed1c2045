"""ObjectState, the "Object State Dashboard": one row per druid, derived from its events.

Every field is a join that does not depend on the order events arrive in (latest-by-time,
maximum, counts, sets), so replaying the whole store from scratch gives exactly what the
incremental updates gave, whatever order files were ingested in. "Latest" compares the
records' cursors (UTC time, then event id), which are total and deterministic.

The projection follows the store's global feed with a checkpoint row; every batch of rows and
the checkpoint are written in one atomic call with optimistic concurrency, so two processes
catching up at once never apply an event twice (the loser re-reads and retries).
Imports `eventstore` only (the state works on stored JSON, not on models, so old payloads need
no upcasting here; pydantic-core's JSON parser is used for speed, 3x the standard library's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic_core import from_json, to_json

from eventstore import ConcurrencyError, EventRecord, EventStore, ProjectionWrite

PROJECTION = "object_state"
CHECKPOINT = "$checkpoint"
CHUNK = 50_000
_RETRIES = 50

State = dict[str, Any]


def catch_up(store: EventStore, *, chunk: int = CHUNK) -> int:
    """Apply every event appended since the checkpoint; return how many were applied."""
    applied = 0
    for _attempt in range(_RETRIES):
        try:
            return applied + _catch_up_once(store, chunk)
        except ConcurrencyError:
            # Another writer advanced the projection first: start again from its checkpoint.
            continue
    raise ConcurrencyError(f"projection {PROJECTION} kept changing under {_RETRIES} retries")


def rebuild(store: EventStore) -> int:
    """Forget the projection and replay the whole store."""
    store.clear_projection(PROJECTION)
    return catch_up(store)


def get_state(store: EventStore, druid: str) -> State | None:
    row = store.get_projection(PROJECTION, druid)
    return from_json(row.value) if row is not None else None


def all_states(store: EventStore) -> Iterator[tuple[str, State]]:
    for row in store.read_projection(PROJECTION):
        if row.key != CHECKPOINT:
            yield row.key, from_json(row.value)


def _catch_up_once(store: EventStore, chunk: int) -> int:
    applied = 0
    while True:
        checkpoint_row = store.get_projection(PROJECTION, CHECKPOINT)
        position = int(checkpoint_row.value) if checkpoint_row else 0
        checkpoint_version = checkpoint_row.version if checkpoint_row else 0
        states: dict[str, tuple[State, int]] = {}
        last = position
        count = 0
        for record in store.read_all(after_position=position):
            last = record.position or last
            count += 1
            if not record.stream.startswith("$"):
                entry = states.get(record.stream)
                if entry is None:
                    row = store.get_projection(PROJECTION, record.stream)
                    entry = (from_json(row.value), row.version) if row else (_new(record), 0)
                    states[record.stream] = entry
                apply(entry[0], record, from_json(record.payload))
            if count >= chunk:
                break
        if count == 0:
            return applied
        writes = [
            ProjectionWrite(key, _dumps(state), version) for key, (state, version) in states.items()
        ]
        writes.append(ProjectionWrite(CHECKPOINT, str(last).encode(), checkpoint_version))
        store.write_projection(PROJECTION, writes)
        applied += count
        if count < chunk:
            return applied


def _dumps(state: State) -> bytes:
    # Key order follows arrival order, so equal states may differ in bytes: compare parsed.
    return to_json(state)


def _new(record: EventRecord) -> State:
    return {
        "object": record.stream,
        "conforming": True,
        "first_event": None,
        "last_event": None,
        "latest_version": None,
        "versions": [],
        "events_by_type": {},
        "status": {},
        "fixity": {},
        "replica_audits": {},
        "validation": {},
        "version_audits": {},
        "replication": {},
        "steps": {},
        "checks": {},
    }


def _later(slot: dict[str, Any], key: str, value: dict[str, Any]) -> None:
    """Keep `value` under `key` if it is later (by cursor) than what is there."""
    current = slot.get(key)
    if current is None or current["cursor"] < value["cursor"]:
        slot[key] = value


def apply(state: State, record: EventRecord, event: dict[str, Any]) -> None:
    """Fold one event into its object's state (order-independent; see the module docstring)."""
    cursor = record.cursor
    kind = event["type"]
    at = event["occurred_at"]
    counts = state["events_by_type"]
    counts[kind] = counts.get(kind, 0) + 1
    if not event.get("object_conforming", True):
        state["conforming"] = False
    if state["first_event"] is None or cursor < state["first_event"]["cursor"]:
        state["first_event"] = {"cursor": cursor, "at": at}
    if state["last_event"] is None or cursor > state["last_event"]["cursor"]:
        state["last_event"] = {"cursor": cursor, "at": at}
    version = event.get("version")
    if version is not None and version not in state["versions"]:
        state["versions"] = sorted([*state["versions"], version])
        state["latest_version"] = state["versions"][-1]

    summary = {
        "cursor": cursor,
        "at": at,
        "event_id": event["event_id"],
        "outcome": event.get("outcome"),
        "result_code": event.get("result_code"),
        "version": version,
    }
    place = event.get("storage_root") or event.get("endpoint") or ""
    if kind == "FixityChecked":
        _later(state["fixity"], place, summary)
    elif kind == "ReplicaAudited":
        _later(state["replica_audits"], place, summary)
    elif kind == "ObjectValidated":
        _later(state["validation"], place or event.get("check", ""), summary)
    elif kind == "VersionAudited":
        _later(state["version_audits"], place, summary)
    elif kind == "PreservationStatusChanged":
        _later(
            state["status"],
            place,
            {**summary, "status": event["new_status"], "previous": event["old_status"]},
        )
    elif kind == "ReplicationCompleted":
        per_version = state["replication"].setdefault(str(version), {})
        _later(per_version, event["endpoint"], {**summary, "parts": len(event.get("parts", []))})
    elif kind in ("IngestStepRecorded", "WorkflowStepRecorded"):
        steps = state["steps"].setdefault(event["workflow"], {})
        _later(
            steps,
            event.get("step") or "?",
            {**summary, "status": event["status"], "duration_s": event.get("duration_s")},
        )
    # Open failures: per check and place, the latest outcome; a later success closes it.
    if kind != "PreservationStatusChanged" and event.get("outcome") is not None:
        _later(
            state["checks"],
            _check_key(kind, event, place),
            {**summary, "detail": event.get("detail")},
        )


def _check_key(kind: str, event: dict[str, Any], place: str) -> str:
    """What a later success must match to close a failure.

    A replica audit's failure or warning for version N on an endpoint is closed when version N
    is (re)replicated there; any other check by a later success of the same check, same place.
    """
    if kind in ("ReplicaAudited", "ReplicationCompleted"):
        return f"replication|{place}|v{event.get('version')}"
    check = event.get("check") or event.get("step") or event.get("event_type") or kind
    return f"{kind}|{check}|{place}"


def open_failures(state: State) -> list[dict[str, Any]]:
    """The checks whose latest outcome is a failure or warning, newest first."""
    failing = [
        {"check": key, **value}
        for key, value in state["checks"].items()
        if value["outcome"] in ("fail", "warning")
    ]
    return sorted(failing, key=lambda item: item["cursor"], reverse=True)
