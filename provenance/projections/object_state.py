"""ObjectState, the "Object State Dashboard": one row per druid, derived from its events.

Every field is a join that does not depend on the order events arrive in (latest-by-time,
maximum, counts, sets), so replaying the whole store from scratch gives exactly what the
incremental updates gave, whatever order files were ingested in. "Latest" compares the
records' cursors (UTC time, then event id), which are total and deterministic.

Following the feed exactly once is `projections.base.Projector`'s job. The state works on
stored JSON (upcast by `events.load_payload`), not on models.

The state is made of actions, not reports (`provenance.domain.actions`): a notification that
repeats a report of the same action (a `preservation_audit_failure` after the catalog's log
line, `shelving_complete` after the robot's step) is kept aside in `notices` while nothing it
repeats is stored (looked up in the store when the notification is applied, and checked again
as later reports are applied, which drop it), and `get_state` folds those left in as the
actions they are. Whether a notification repeats a stored report only ever turns from no to
yes, so the result does not depend on arrival order.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from pydantic_core import from_json

from eventstore import EventRecord, EventStore
from provenance.domain.actions import WINDOW, facts_of, is_notice, may_repeat
from provenance.domain.actions import candidate as repeats
from provenance.domain.events import EVENT_TYPES
from provenance.domain.result_codes import FIXITY_CHECK
from provenance.projections.base import CHUNK, Indexed, Projector
from provenance.projections.object_actions import repeats_stored_report
from provenance.projections.object_fleet import fleet_index

PROJECTION = "object_state"

State = dict[str, Any]

# What an object's state is made of: every event of an object stream (not access events, not
# quarantine records, which live in `$` streams).
OBJECT_EVENT_TYPES = frozenset(EVENT_TYPES) - {"ServiceAccessed", "LineQuarantined"}


# What the rows are made of, kept in the projection beside them: 2 = actions (notifications
# kept aside until joined), skipped checks beside their check; 3 = the fleet's fields
# (`fixity_ok`, `version_seen`, `failed_on`), index entries and totals. Rows an older version
# made lack what this one adds to or counts from, so they are rebuilt rather than added to.
LAYOUT = b"3"
LAYOUT_KEY = "$layout"


def catch_up(store: EventStore, *, chunk: int = CHUNK) -> int:
    """Apply every event appended since the checkpoint; return how many were read. Rows made
    by an older version of this projection (`LAYOUT`) are rebuilt first, on the embedded
    store (a stream-fed one is rebuilt by its operator: `prov rebuild`, see the README)."""
    if not store.projected_by_stream and not layout_is_current(store):
        return rebuild(store) + ObjectStateProjector(store, chunk=chunk).catch_up()
    return ObjectStateProjector(store, chunk=chunk).catch_up()


def layout_is_current(store: EventStore) -> bool:
    """Whether the rows are of this version's `LAYOUT`; a projection nothing was applied to
    yet is given it (so ingest into a new store marks it before its first rows)."""
    found = store.get_projection(PROJECTION, LAYOUT_KEY)
    if found is not None and found.value == LAYOUT:
        return True
    if ObjectStateProjector(store).stored_checkpoint()[0].position:
        return False
    store.put_projection(PROJECTION, {LAYOUT_KEY: LAYOUT})
    return True


def rebuild(store: EventStore) -> int:
    """Forget the projection and replay the whole store."""
    store.clear_projection(PROJECTION)
    read = ObjectStateProjector(store).catch_up(replay=True)
    store.put_projection(PROJECTION, {LAYOUT_KEY: LAYOUT})
    return read


def get_state(store: EventStore, druid: str) -> State | None:
    """The object's state: the stored row with the notifications nothing repeats folded in."""
    row = ObjectStateProjector(store).get(druid)
    if row is None:
        return None
    return with_lone_notices(row)


def from_value(value: bytes) -> State:
    """A stored row's state (`EventStore.get_projection(s)`'s value)."""
    state: State = from_json(value)
    return state


def with_lone_notices(row: State) -> State:
    """`row` with its unjoined notifications applied as the actions they are (a copy)."""
    lone = list(row.get("notices", {}).values())
    if not lone:
        return row
    state = copy.deepcopy(row)
    for item in sorted(lone, key=lambda item: item["cursor"]):
        _apply(state, item["cursor"], item["event"])
    return state


class ObjectStateProjector(Projector):
    """Follows the store's feed into one ObjectState row per object stream."""

    NAME = PROJECTION
    TYPES = OBJECT_EVENT_TYPES
    # A cached row is about 3 KB of Python objects: 50,000 of them (the default) held 150 MiB
    # once an input named that many objects (BENCHMARKS, "prov ingest peak memory").
    MAX_CACHED = 2048

    INDEXED = True

    def row_keys(self, record: EventRecord, event: dict[str, Any]) -> Sequence[str]:
        return () if record.stream.startswith("$") else (record.stream,)

    def index_of(self, row: State) -> Indexed:
        state = with_lone_notices(row)
        return fleet_index(state, open_failures(state))

    def new_row(self, key: str, record: EventRecord, event: dict[str, Any]) -> State:
        return _new(record)

    def apply(self, row: State, record: EventRecord, event: dict[str, Any]) -> None:
        notices: dict[str, Any] = row.setdefault("notices", {})
        if is_notice(event):
            facts = facts_of(event)
            if not repeats_stored_report(self.store, record.stream, facts):
                # Kept whole while it may still be counted as an action of its own.
                notices[event["event_id"]] = {"cursor": record.cursor, "event": event}
            return
        apply(row, record, event)
        if notices:
            join_notices(notices, event)


def join_notices(notices: dict[str, Any], event: dict[str, Any]) -> None:
    """Forget the stored notifications that `event` (a report that is not one) repeats: once
    a report they repeat is stored they never count again (joining only ever turns yes)."""
    if not may_repeat(event):
        return
    facts = facts_of(event)
    for event_id, item in list(notices.items()):
        notice = facts_of(item["event"])
        if abs(notice.at - facts.at) <= WINDOW and repeats(notice, facts):
            del notices[event_id]


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
        "notices": {},
        "fixity_ok": {},
        "version_seen": {},
        "failed_on": {},
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
# The events that say a version is in preservation (so it should be on every endpoint).
_PRESERVED_VERSION_EVENTS = frozenset(
    {
        "IngestStepRecorded",
        "ReplicationCompleted",
        "ReplicaAudited",
        "VersionAudited",
        "FixityChecked",
        "ObjectValidated",
    }
)
_FAILED = frozenset({"fail", "warning"})
# The event a skipped check's results are when it runs (the catalog's other checks: version
# audits).
_SKIPPED_CHECK_KINDS = {FIXITY_CHECK: "FixityChecked"}
_SKIPPED = "skipped|"


def apply(state: State, record: EventRecord, event: dict[str, Any]) -> None:
    """Fold one event into its object's state (order-independent; see the module docstring).

    One summary dict per event, shared by every slot it lands in: slots are only ever
    replaced, never edited, so sharing is safe and keeps this hot path cheap.
    """
    _apply(state, record.cursor, event)


def _apply(state: State, cursor: str, event: dict[str, Any]) -> None:
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
    # A version is preserved once an event says so without failing (a failed audit may name
    # a version that is not there: 0, or one the catalog does not know). Rows of layout 2
    # lack these fields until rebuilt: `setdefault` keeps a stream-fed projector going.
    if (
        isinstance(version, int)
        and version >= 1
        and kind in _PRESERVED_VERSION_EVENTS
        and outcome not in _FAILED
    ):
        seen = state.setdefault("version_seen", {})
        if str(version) not in seen or cursor < seen[str(version)]:
            seen[str(version)] = cursor
    if outcome in _FAILED:
        failed_on = state.setdefault("failed_on", {})
        failed_on[cursor[:10]] = failed_on.get(cursor[:10], 0) + 1
    slot = _PLACE_SLOTS.get(kind)
    if slot is not None:
        _later(state[slot], place, summary)
        if kind == "FixityChecked" and outcome == "success":
            ok = state.setdefault("fixity_ok", {})
            if cursor > ok.get(place, ""):
                ok[place] = cursor
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
    if kind == "AuditSkipped":
        # Beside the check's own slot, so a skip never hides an open failure of that check
        # (`open_failures` pairs them up).
        return f"{_SKIPPED}{_SKIPPED_CHECK_KINDS.get(check, 'VersionAudited')}|{check}|{place}"
    return f"{kind}|{check}|{place}"


def open_failures(state: State) -> list[dict[str, Any]]:
    """The checks whose latest outcome is a failure or warning, newest first.

    A check that could not run (`AuditSkipped`) is open while nothing later ran that check; it
    never closes, nor hides, a failure of the check itself: both can be open at once.
    """
    checks = state["checks"]
    failing = []
    for key, value in checks.items():
        if value["outcome"] not in ("fail", "warning"):
            continue
        if key.startswith(_SKIPPED):
            ran = checks.get(key.removeprefix(_SKIPPED))
            if ran is not None and ran["cursor"] > value["cursor"]:
                continue
        failing.append({"check": key, **value})
    return sorted(failing, key=lambda item: item["cursor"], reverse=True)
