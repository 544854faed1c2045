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
    return ObjectStateProjector(store, chunk=chunk).catch_up()


def rebuild(store: EventStore) -> int:
    """Forget the projection and replay the whole store."""
    store.clear_projection(PROJECTION)
    return catch_up(store)


def get_state(store: EventStore, druid: str) -> State | None:
    row = store.get_projection(PROJECTION, druid)
    return from_json(row.value) if row is not None else None


class ObjectStateProjector:
    """Follows the store's feed into ObjectState rows.

    A long-lived projector (one per ingest run) keeps the rows it wrote, with their versions,
    so the next catch-up does not read them back. That is safe because every write carries
    the checkpoint row's version too: if anyone else wrote the projection in between, the
    write fails as a whole, the cache is dropped, and the catch-up starts again from the
    stored checkpoint.
    """

    MAX_CACHED = 50_000

    def __init__(self, store: EventStore, *, chunk: int = CHUNK) -> None:
        self.store = store
        self.chunk = chunk
        self._rows: dict[str, tuple[State, int]] = {}
        self._checkpoint: tuple[int, int] | None = None

    def catch_up(self) -> int:
        for _attempt in range(_RETRIES):
            try:
                return self._catch_up_once()
            except ConcurrencyError:
                # Another writer advanced the projection first: start again from its checkpoint.
                self._rows.clear()
                self._checkpoint = None
        raise ConcurrencyError(f"projection {PROJECTION} kept changing under {_RETRIES} retries")

    def _stored_checkpoint(self) -> tuple[int, int]:
        row = self.store.get_projection(PROJECTION, CHECKPOINT)
        return (int(row.value), row.version) if row else (0, 0)

    def _row(self, record: EventRecord) -> tuple[State, int]:
        cached = self._rows.pop(record.stream, None)
        if cached is not None:
            return cached
        row = self.store.get_projection(PROJECTION, record.stream)
        return (from_json(row.value), row.version) if row else (_new(record), 0)

    def _catch_up_once(self) -> int:
        applied = 0
        while True:
            position, checkpoint_version = self._checkpoint or self._stored_checkpoint()
            touched: dict[str, tuple[State, int]] = {}
            last = position
            count = 0
            for record in self.store.read_all(after_position=position):
                last = record.position or last
                count += 1
                if not record.stream.startswith("$"):
                    entry = touched.get(record.stream)
                    if entry is None:
                        entry = touched[record.stream] = self._row(record)
                    apply(entry[0], record, from_json(record.payload))
                if count >= self.chunk:
                    break
            if count == 0:
                return applied
            writes = [
                ProjectionWrite(key, _dumps(state), version)
                for key, (state, version) in touched.items()
            ]
            writes.append(ProjectionWrite(CHECKPOINT, str(last).encode(), checkpoint_version))
            self.store.write_projection(PROJECTION, writes)
            if len(self._rows) + len(touched) > self.MAX_CACHED:
                self._rows.clear()
            for key, (state, version) in touched.items():
                self._rows[key] = (state, version + 1)
            self._checkpoint = (last, checkpoint_version + 1)
            applied += count
            if count < self.chunk:
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


_PLACE_SLOTS = {
    "FixityChecked": "fixity",
    "ReplicaAudited": "replica_audits",
    "VersionAudited": "version_audits",
}
_STEP_EVENTS = frozenset({"IngestStepRecorded", "WorkflowStepRecorded"})


def apply(state: State, record: EventRecord, event: dict[str, Any]) -> None:
    """Fold one event into its object's state (order-independent; see the module docstring).

    One summary dict per event, shared by every slot it lands in: slots are only ever
    replaced, never edited, so sharing is safe and keeps this hot path cheap.
    """
    cursor = record.cursor
    kind = event["type"]
    get = event.get
    counts = state["events_by_type"]
    counts[kind] = counts.get(kind, 0) + 1
    if not get("object_conforming", True):
        state["conforming"] = False
    first = state["first_event"]
    if first is None or cursor < first:
        state["first_event"] = cursor
    last = state["last_event"]
    if last is None or cursor > last:
        state["last_event"] = cursor
    version = get("version")
    if version is not None and version not in state["versions"]:
        state["versions"] = sorted([*state["versions"], version])
        state["latest_version"] = state["versions"][-1]

    outcome = get("outcome")
    summary = {
        "cursor": cursor,
        "event_id": event["event_id"],
        "outcome": outcome,
        "result_code": get("result_code"),
        "version": version,
        "detail": get("detail"),
    }
    place = get("storage_root") or get("endpoint") or ""
    slot = _PLACE_SLOTS.get(kind)
    if slot is not None:
        _later(state[slot], place, summary)
    elif kind in _STEP_EVENTS:
        summary["status"] = event["status"]
        summary["duration_s"] = get("duration_s")
        _later(state["steps"].setdefault(event["workflow"], {}), get("step") or "?", summary)
    elif kind == "ReplicationCompleted":
        summary["parts"] = len(get("parts") or ())
        _later(state["replication"].setdefault(str(version), {}), event["endpoint"], summary)
    elif kind == "ObjectValidated":
        _later(state["validation"], place or get("check", ""), summary)
    elif kind == "PreservationStatusChanged":
        summary["status"] = event["new_status"]
        summary["previous"] = event["old_status"]
        _later(state["status"], place, summary)
        return
    # Open failures: per check and place, the latest outcome; a later success closes it.
    if outcome is not None:
        _later(state["checks"], _check_key(kind, event, place), summary)


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
