"""A synthetic fleet of ObjectState rows, as the projector would store them (for
`bench/fleet_scale.py`).

Each object's row is made the way the projector makes it: `object_state._new` and then
`object_state._apply` of the events such an object gets (ingest steps and replication of every
version, a status, a validation, a version audit and fixity checks per storage root), so the
row has exactly the projector's shape; its index entries and totals are `fleet_index`'s
(`ObjectStateProjector.index_of`). What it is drawn from (seeded, so every run makes the same
fleet), per object:

- one storage root (85 %) or two, of the demo's four; 1 to 5 versions, ingested over eight
  years before the data's end (`END`), every version replicated to the three endpoints;
- the last successful fixity check per root: 92 % within the last 90 days (SDR's audit
  cycle), 7.6 % 90 to 365 days before the end (overdue), 0.4 % never;
- an open failure of each kind for about 0.5 % of objects each, failing since a day of the
  last 90: fixity (a checksum mismatch, status `invalid_checksum`), Moab validity
  (`invalid_moab`), version audit (`online_moab_not_found`), replication (a zip part's
  checksum on one endpoint) and ingest (a step of a new version in error);
- replication gaps: 1 % of objects wait for their latest version on one endpoint (ingested in
  the last 20 days), 0.2 % lack an older version on one endpoint;
- half of the objects have a replica audit per endpoint of their latest version;
- statuses mostly `ok`, 0.3 % `validity_unknown` besides the failing ones.

Imports the project (the caller puts the repository on `sys.path`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eventstore.records import time_key
from provenance.domain.result_codes import FIXITY_CHECK
from provenance.projections.base import Indexed
from provenance.projections.object_fleet import FAILING_KIND, fleet_index
from provenance.projections.object_state import _apply, _new, open_failures

END = datetime(2026, 11, 30, tzinfo=UTC)
"""The data's end: the newest event is a little before it."""
ROOTS = ("services-disk02", "services-disk03", "services-disk05", "services-disk12")
ENDPOINTS = ("aws_s3_west_2", "aws_s3_east_1", "gcp_s3_south_1")
INGEST_WF = "preservationIngestWF"
INGEST_STEPS = (
    "start-ingest",
    "transfer-object",
    "validate-bag",
    "update-moab",
    "validate-moab",
    "update-catalog",
    "complete-ingest",
)
SHARE_FAILING = 0.005
"""Of objects, with an open failure of each kind (so about 2.5 % fail in all)."""
FAILURES = {
    "fixity": ("FixityChecked", "MOAB_FILE_CHECKSUM_MISMATCH", "invalid_checksum"),
    "moab": ("ObjectValidated", "INVALID_MOAB", "invalid_moab"),
    "version": ("VersionAudited", "MOAB_NOT_FOUND", "online_moab_not_found"),
    "replication": ("ReplicaAudited", "ZIP_PART_CHECKSUM_MISMATCH", None),
    "ingest": ("IngestStepRecorded", None, None),
}
VERSIONS = (1, 2, 3, 4, 5)
VERSION_WEIGHTS = (40, 25, 15, 12, 8)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One object's row (the state as stored), its index entries and totals, and the kinds
    of open failure it was drawn with."""

    druid: str
    state: dict[str, Any]
    indexed: Indexed
    kinds: frozenset[str]


def druid_of(number: int, rng: random.Random) -> str:
    """A druid unique to `number` (< 10,000,000), its letters drawn (bc123df4567)."""
    letters = "bcdfghjkmnpqrstvwxyz"
    a, b, c, d = (rng.choice(letters) for _ in range(4))
    digits = f"{number:07d}"
    return f"druid:{a}{b}{digits[:3]}{c}{d}{digits[3:]}"


class Events:
    """Applies synthetic events to one row, each with a fresh id and its time's cursor."""

    def __init__(self, state: dict[str, Any], rng: random.Random) -> None:
        self.state = state
        self.rng = rng

    def __call__(self, at: float, kind: str, **fields: Any) -> None:
        event_id = f"{self.rng.getrandbits(128):032x}"
        event_id = (
            f"{event_id[:8]}-{event_id[8:12]}-{event_id[12:16]}-{event_id[16:20]}-{event_id[20:]}"
        )
        moment = _EPOCH + timedelta(seconds=at)
        _apply(
            self.state,
            f"{time_key(moment)}#{event_id}",
            {"type": kind, "event_id": event_id, **fields},
        )


def fleet_rows(count: int, seed: int = 15) -> Iterator[FleetRow]:
    """`count` objects' rows, the same for the same seed."""
    rng = random.Random(seed)
    end = (END - _EPOCH).total_seconds()
    for number in range(count):
        yield _object(number, rng, end)


def _object(number: int, rng: random.Random, end: float) -> FleetRow:
    druid = druid_of(number, rng)
    state = _new_state(druid)
    event = Events(state, rng)
    roots = rng.sample(ROOTS, 2 if rng.random() < 0.15 else 1)
    versions = rng.choices(VERSIONS, VERSION_WEIGHTS)[0]
    draw = rng.random()
    gap_latest = draw < 0.01
    gap_older = versions > 1 and 0.01 <= draw < 0.012
    # Versions ingested over the last eight years, the latest recent when it still waits.
    first = end - rng.uniform(30, 8 * 365) * _DAY
    times = sorted(rng.uniform(first, end - _DAY) for _ in range(versions - 1))
    ingested = [first, *times]
    if gap_latest:
        ingested[-1] = end - rng.uniform(0.5, 20) * _DAY
        ingested = sorted(ingested)
    for version, at in enumerate(ingested, start=1):
        ingest_version(event, version, at)
        missing = None
        if (gap_latest and version == versions) or (gap_older and version == 1):
            missing = rng.choice(ENDPOINTS)
        for endpoint in ENDPOINTS:
            if endpoint != missing:
                event(
                    at + rng.uniform(0.1, 6) * 3600,
                    "ReplicationCompleted",
                    endpoint=endpoint,
                    version=version,
                    outcome="success",
                    parts=[{"suffix": ".zip"}],
                )
    if rng.random() < 0.5:
        for endpoint in ENDPOINTS:
            event(
                end - rng.uniform(1, 300) * _DAY,
                "ReplicaAudited",
                endpoint=endpoint,
                version=versions,
                check="replica-audit",
                outcome="success",
            )
    unknown = rng.random() < 0.003
    for root in roots:
        _audited(event, root, ingested[0], end, unknown, rng)
    kinds = frozenset(kind for kind in FAILURES if rng.random() < SHARE_FAILING)
    for kind in sorted(kinds):
        _fail(event, kind, roots, versions, ingested[-1], end, rng)
    failures = open_failures(state)
    return FleetRow(druid, state, fleet_index(state, failures), kinds)


def _new_state(druid: str) -> dict[str, Any]:
    class _Record:
        stream = druid

    return _new(_Record())  # type: ignore[arg-type]


def ingest_version(event: Events, version: int, at: float) -> None:
    for offset, step in enumerate(INGEST_STEPS):
        event(
            at + offset * 30,
            "IngestStepRecorded",
            workflow=INGEST_WF,
            step=step,
            status="completed",
            outcome="success",
            version=version,
            duration_s=12.5,
        )


def _audited(
    event: Events, root: str, first: float, end: float, unknown: bool, rng: random.Random
) -> None:
    """A root's status, validation, version audit and last fixity check."""
    created = first + 3600
    event(
        created,
        "PreservationStatusChanged",
        storage_root=root,
        check="update_status",
        old_status="validity_unknown" if unknown else "unexpected_version_on_storage",
        new_status="validity_unknown" if unknown else "ok",
    )
    draw = rng.random()
    if unknown or draw < 0.004:
        return  # never checked
    days = rng.uniform(0, 90) if draw < 0.924 else rng.uniform(90, 365)
    checked = max(created + 60, end - days * _DAY)
    event(
        checked,
        "FixityChecked",
        storage_root=root,
        check=FIXITY_CHECK,
        outcome="success",
        result_code="MOAB_CHECKSUM_VALID",
    )
    event(checked + 5, "ObjectValidated", storage_root=root, check="moab-valid", outcome="success")
    event(
        checked + 10,
        "VersionAudited",
        storage_root=root,
        check="preservation-audit",
        outcome="success",
    )


def _fail(
    event: Events,
    kind: str,
    roots: list[str],
    versions: int,
    latest: float,
    end: float,
    rng: random.Random,
) -> None:
    """An open failure of `kind`, some day of the last 90, after every success of its check
    (the latest version's ingest and replication, the root's last check)."""
    at = max(end - rng.uniform(0.01, 90) * _DAY, latest + _DAY)
    event_type, code, status = FAILURES[kind]
    root = rng.choice(roots)
    if kind == "replication":
        endpoint = rng.choice(ENDPOINTS)
        audited = event.state["checks"].get(f"replication|{endpoint}|v{versions}")
        if audited is not None:
            at = max(at, _seconds(audited["cursor"]) + 60)
        event(
            at,
            event_type,
            endpoint=endpoint,
            version=versions,
            check="replica-audit",
            outcome="fail",
            result_code=code,
            detail="zip part checksum mismatch",
        )
        return
    if kind == "ingest":
        event(
            at,
            event_type,
            workflow=INGEST_WF,
            step="update-moab",
            status="error",
            outcome="fail",
            version=versions + 1,
            detail="update-moab failed",
        )
        return
    # After the root's last success of the same check, so the failure is the latest outcome.
    check = {"fixity": FIXITY_CHECK, "moab": "moab-valid", "version": "preservation-audit"}[kind]
    slot = {"fixity": "fixity", "moab": "validation", "version": "version_audits"}[kind]
    last = event.state[slot].get(root)
    if last is not None:
        at = max(at, _seconds(last["cursor"]) + 60)
    event(
        at,
        event_type,
        storage_root=root,
        check=check,
        outcome="fail",
        result_code=code,
        detail=f"{kind} failure",
    )
    event(
        at,
        "PreservationStatusChanged",
        storage_root=root,
        check="update_status",
        old_status="ok",
        new_status=status,
    )


def _seconds(cursor: str) -> float:
    """A cursor's time, in seconds since 1970."""
    moment = datetime.fromisoformat(cursor.partition("#")[0].replace("Z", "+00:00"))
    return (moment - _EPOCH).total_seconds()


def failure_kinds(indexed: Indexed) -> frozenset[str]:
    """The kinds of open failure a row's index entries list."""
    return frozenset(
        term.partition("|")[0] for index, term in indexed.entries if index == FAILING_KIND
    )
