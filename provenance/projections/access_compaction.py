"""Folding the change-stream projector's rows per change into the shared count rows.

`AccessCountsProjector.apply_changes` counts each change in a row of its own (`x|...`, see
`access_counts`), which is cheap to write and safe to write again, but a report would read one
such row per bundle: hundreds of thousands a day for a busy repository. Once a row per change
can no longer be written again, it is folded into merged rows of every kind, one per kind,
hour (day) and service, keyed `<kind><hour or day>|<service>|~m` (split past SPLIT_BYTES into
continuation rows like any shared row), and deleted, in one atomic write: no request is ever
counted in both or in neither, and a fold interrupted anywhere leaves the rows as they were.

When a row per change can no longer come back: its change is redelivered for at most the
table stream's 24 hours after it was written (the hour `written` in the row), and a redelivery
puts the same row again. A row is folded only `SETTLED` after that hour, so a row deleted by a
fold is never put again.

Rows per change (`CHANGE_FIELDS`) hold every kind's breakdown; a merged row keeps what its
kind keeps (`KIND_FIELDS`), so a report reads days, not bundles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import from_json

from eventstore import ConcurrencyError, EventStore, ProjectionRow, ProjectionWrite, time_key
from provenance.projections.access_counts import (
    CELLS,
    CHANGES,
    CLIENTS,
    DAILY,
    DAY_KINDS,
    DRUIDS,
    PROJECTION,
    SUMMARIES,
    TOTALS,
    AccessCountsProjector,
    hour_key,
    hour_start,
)
from provenance.projections.base import Row

SETTLED = timedelta(hours=26)
"""How long after the hour a row per change was written it is folded: the table stream keeps
a record 24 hours, and a Lambda retry of the last of them ends well within the next hour."""
MERGED = "~m"
"""The shard name of the merged rows (the catch-up projector's shards are hex digits)."""
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    CELLS: ("agents", "cells"),
    SUMMARIES: ("agents", "agent", "path", "status", "agent_path"),
    DAILY: ("agents", "agent", "path", "status", "agent_path"),
    DRUIDS: ("druid",),
    TOTALS: ("agent", "path", "status"),
    CLIENTS: ("agent_client",),
}
"""What each kind's row keeps of a row per change (`access_counts.CHANGE_FIELDS`)."""
GROUP = 60
GROUP_BYTES = 256 * 1024
"""Rows per change folded in one atomic write, and their bytes at most (one row may be
larger): with the six merged rows, the continuation pieces those bytes can make of them
(`base.PIECE_BYTES` each) and the deletions, it stays within a DynamoDB transaction's 100
items."""
_RETRIES = 20


@dataclass
class Folded:
    """What one `fold_settled` call did."""

    rows: int = 0
    writes: int = 0
    conflicts: int = 0


def fold_settled(store: EventStore, now: datetime) -> Folded:
    """Fold every row per change written at least SETTLED before `now` into the merged rows
    of its hour and service, and delete it."""
    done = Folded()
    projector = AccessCountsProjector(store)
    groups: dict[tuple[str, str], list[ProjectionRow]] = {}
    for row in _settled(store, now):
        key = row.key
        service_at = key.index("|", 2) + 1
        place = (key[2 : service_at - 1], key[service_at : key.rindex("|")])
        groups.setdefault(place, []).append(row)
    for (hour, service), rows in groups.items():
        group: list[ProjectionRow] = []
        size = 0
        for row in rows:
            if group and (len(group) == GROUP or size + len(row.value) > GROUP_BYTES):
                _fold(store, projector, hour, service, group, done)
                group, size = [], 0
            group.append(row)
            size += len(row.value)
        if group:
            _fold(store, projector, hour, service, group, done)
    return done


def _settled(store: EventStore, now: datetime) -> Iterator[ProjectionRow]:
    """The rows per change written at least SETTLED before `now`."""
    cutoff = hour_key(now - SETTLED)
    for row in store.read_projection(PROJECTION, start=CHANGES, stop=_after(CHANGES)):
        if from_json(row.value)["written"] < cutoff:
            yield row


def _fold(
    store: EventStore,
    projector: AccessCountsProjector,
    hour: str,
    service: str,
    changes: list[ProjectionRow],
    done: Folded,
) -> None:
    keys = {kind: _merged_key(kind, hour, service) for kind in KIND_FIELDS}
    for _attempt in range(_RETRIES):
        stored = store.get_projections(PROJECTION, [*keys.values(), *(r.key for r in changes)])
        present = [row for row in changes if row.key in stored]
        if not present:
            return  # folded by someone else meanwhile
        merged: dict[str, tuple[Row, int]] = {}
        for kind, key in keys.items():
            found = stored.get(key)
            merged[key] = (
                (from_json(found.value), found.version)
                if found is not None
                else (_new_row(kind, hour, service), 0)
            )
        for change in present:
            parsed = from_json(stored[change.key].value)
            for kind, key in keys.items():
                _add_fields(merged[key][0], parsed, KIND_FIELDS[kind])
        _values, writes, _split = projector.row_writes(merged)
        writes += [ProjectionWrite(row.key, None, stored[row.key].version) for row in present]
        try:
            store.write_projection(PROJECTION, writes)
        except ConcurrencyError:
            done.conflicts += 1
            continue
        done.rows += len(present)
        done.writes += 1
        return
    raise ConcurrencyError(f"projection {PROJECTION}: merged rows of {hour} kept changing")


def _merged_key(kind: str, hour: str, service: str) -> str:
    period = hour[:10] if kind in DAY_KINDS else hour
    return f"{kind}{period}|{service}|{MERGED}"


def _new_row(kind: str, hour: str, service: str) -> Row:
    start = hour[:10] + "T00" if kind in DAY_KINDS else hour
    row: Row = {"hour": time_key(hour_start(start)), "service": service}
    row.update((name, {}) for name in KIND_FIELDS[kind])
    return row


def _add_fields(target: Row, source: dict[str, Any], fields: tuple[str, ...]) -> None:
    for name in fields:
        into = target[name]
        if name == "agents":
            into.update(source[name])
            continue
        for entry, (requests, size) in source[name].items():
            pair = into.get(entry)
            if pair is None:
                into[entry] = [requests, size]
            else:
                pair[0] += requests
                pair[1] += size


def _after(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
