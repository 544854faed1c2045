"""Folding the change-stream projector's rows per change into merged count rows.

`AccessCountsProjector.apply_changes` counts each change in a row of its own (`x|...`, see
`access_counts`), which is cheap to write and safe to write again, but a report would read one
such row per bundle: hundreds of thousands a day for a busy repository. So they are folded.

A row per change records the hour its change was written (`written`, the stream's hour, the
same on every redelivery). The table stream delivers a change for at most 24 hours after it
was written, so `SETTLED` after that hour no row of it can appear or change again: the rows
per change of one service, one UTC day and one written hour are then final, and their sum is
a fixed value. The fold writes it, for every kind of row, as merged rows keyed by that hour:
`<kind><hour or day>|<service>|~m<written hour>` (pieces `.<n>` past 64 KiB, the first under
the bare key, written last), with `put_projection` (no transaction: the same bytes every
time), unless its bare key exists already, and then deletes the rows per change. A row per
change whose merged row exists is counted by the merged row only: `access_counts.rows` skips
it. So a fold that stops between its writes, or runs twice, or races another, never counts a
request twice or loses one, and the next fold deletes what is left.

A report then reads, per service, a day's merged rows (one per written hour, usually one or
two per day and kind), not its bundles.

The fold reads rows per change of the hours before its cutoff only (a change is written after
its requests happen), one UTC day at a time; the projector gives it at most
`change_stream.FOLD_BUDGET_S` an hour, and the next hour's fold goes on where it stopped. A
change whose requests are dated after it was written (a log whose clock runs ahead) is never
folded: its row stays, counted as it is. Readers check every row per change written more
than the stream's 24 hours ago against its merged row, so a reader's clock up to two hours
behind the fold's counts nothing twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import from_json, to_json

from eventstore import EventStore, time_key
from provenance.projections import base
from provenance.projections.access_counts import (
    CELLS,
    CHANGES,
    CLIENTS,
    DAILY,
    DAY_KINDS,
    DRUIDS,
    PROJECTION,
    SETTLED,
    SUMMARIES,
    TOTALS,
    AccessCountsProjector,
    hour_key,
    hour_start,
    merged_key,
)
from provenance.projections.base import Row

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    CELLS: ("agents", "cells"),
    SUMMARIES: ("agents", "agent", "path", "status", "agent_path"),
    DAILY: ("agents", "agent", "path", "status", "agent_path"),
    DRUIDS: ("druid",),
    TOTALS: ("agent", "path", "status"),
    CLIENTS: ("agent_client",),
}
"""What each kind's row keeps of a row per change (`access_counts.CHANGE_FIELDS`)."""


@dataclass
class FoldReport:
    """What one `fold_settled` call did."""

    rows: int = 0
    merged: int = 0


def fold_settled(store: EventStore, now: datetime, *, budget_s: float | None = None) -> FoldReport:
    """Fold every row per change written at least SETTLED before `now` into the merged rows
    of its day, service and written hour, then delete it. One UTC day of rows at a time, in
    key order; with `budget_s`, it stops after the first day that ends past that many seconds
    (the rest waits for the next fold)."""
    done = FoldReport()
    projector = AccessCountsProjector(store)
    cutoff = hour_key(now - SETTLED)
    started = time.monotonic()
    # A change is written after its requests happen, so no row of an hour at or after the
    # cutoff is settled: the scan stops there.
    day: str | None = None
    groups: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for row in store.read_projection(PROJECTION, start=CHANGES, stop=CHANGES + cutoff):
        key = row.key
        if key[2:12] != day:
            if day is not None:
                _fold_day(store, projector, groups, done)
                if budget_s is not None and time.monotonic() - started > budget_s:
                    return done
            day, groups = key[2:12], {}
        parsed = from_json(row.value)
        written = parsed.get("written")  # rows of a build before it was recorded: left alone
        if written is not None and written < cutoff:
            groups.setdefault((parsed["service"], written), []).append((key, parsed))
    _fold_day(store, projector, groups, done)
    return done


def _fold_day(
    store: EventStore,
    projector: AccessCountsProjector,
    groups: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]],
    done: FoldReport,
) -> None:
    """Fold one day's settled rows per change, by service and written hour."""
    for (service, written), changes in groups.items():
        merged: dict[str, Row] = {}
        for key, parsed in changes:
            hour = key[2:15]
            for kind, fields in KIND_FIELDS.items():
                own = merged_key(kind, hour, service, written)
                target = merged.get(own)
                if target is None:
                    target = merged[own] = _new_row(kind, hour, service)
                _add_fields(target, parsed, fields)
        # A merged row whose bare key exists was written whole by an earlier or concurrent
        # fold (the bare key goes last): it is not written again, so a fold that scanned
        # after another had begun deleting (and saw only part of the group) adds nothing.
        written_before = store.get_projections(PROJECTION, list(merged))
        pieces: dict[str, bytes | None] = {}
        bare: dict[str, bytes | None] = {}
        for own, counted in merged.items():
            if own not in written_before:
                for key, value in _pieces(projector, own, counted).items():
                    (bare if key == own else pieces)[key] = value
        # Pieces first, the bare key last: a reader skips the rows per change once the bare
        # key is there, so by then every piece is.
        store.put_projection(PROJECTION, pieces)
        store.put_projection(PROJECTION, bare)
        # Covered by the merged rows now: deleted (a stop before this leaves them skipped).
        store.put_projection(PROJECTION, {key: None for key, _parsed in changes})
        done.rows += len(changes)
        done.merged += len(pieces) + len(bare)


def _pieces(projector: AccessCountsProjector, key: str, row: Row) -> dict[str, bytes | None]:
    value = to_json(row)
    if len(value) <= base.PIECE_BYTES:
        return {key: value}
    pieces = projector.split(row, len(value) // base.PIECE_BYTES + 1)
    # The first piece under the bare key: whether a merged row exists is one look-up.
    return {key if n == 0 else f"{key}.{n}": to_json(piece) for n, piece in enumerate(pieces)}


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
