"""The store's change stream -> ObjectState and AccessCounts, one batch at a time (the
projector Lambda's algorithm, with the store passed in).

- Only new event items are applied: guards, counters, stream names and projection rows are
  passed by. Removals are the TTL expiring access events: their counts stay, and the
  projection is sealed up to their day, so a rebuild keeps those days' counts.
- Each event is applied exactly once, however often the stream delivers it:
  `Projector.apply_changes` (ObjectState) leaves a marker per applied event in the same
  atomic write as the row it changed, and rereads and retries when another invocation
  changed a row first (optimistic concurrency); AccessCounts puts each change, an event or a
  bundle (the records of a bundled stream-hour the store wrote as one item), in a row of its
  own whose content the change fixes, so a redelivery writes the same bytes.
- The batch is applied in order, in slices. If a slice fails, its first record's sequence
  number is reported: Lambda checkpoints before it and delivers it and everything after it
  again; what was applied already is skipped by its marker (ObjectState) or put again, the
  same bytes (AccessCounts).
- Access counts arrive as a row per change (no marker); once the stream can no longer
  deliver a change again, its row is folded into the merged count rows
  (`access_compaction`), at most once an hour per container.
- Markers expire 48 hours after their change's hour (twice the stream's retention): the
  table's TTL deletes them in the background, for free, and the event source mapping's filter
  keeps those removals from invoking the function. On a store that does not expire rows by
  itself (SQLite, in tests) they are pruned instead, at most once an hour per container.

Stream records are read through `eventstore.dynamodb.stream`: the table's key layout and
Lambda's encoding of the images stay in the DynamoDB backend.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventstore import EventStore, EventStoreError
from eventstore.dynamodb.stream import (
    inserted_bundle,
    inserted_record,
    removed_event,
    sequence_number,
    written_at,
)
from provenance.domain.events import ACCESS_STREAM_PREFIX
from provenance.projections import access_compaction, access_counts
from provenance.projections.access_counts import AccessCountsProjector
from provenance.projections.base import Change, ChangeReport, Projector
from provenance.projections.object_state import ObjectStateProjector

SLICE = 100
"""Records applied together: the deployed batch (cdk/config.py's projector batch size), so a
row that several events of an invocation change is rewritten once per transaction instead of
once per quarter of the batch (every rewrite is billed whole, and twice in a transaction).
A failure redelivers the rest of the batch, whose applied events cost a marker read each."""

FOLD_BUDGET_S = 20.0
"""Seconds an invocation spends folding before it leaves the rest to the next hour's: well
inside the function's timeout, whatever the backlog (the first fold after an upgrade)."""
_pruned_hour: str | None = None
_folded_hour: str | None = None


@dataclass
class Batch:
    """What one batch of stream records came to: the projectors' counts, how many records
    were new events, where Lambda must deliver again from if a slice failed (and why), the
    write time of the newest record when all were applied (0.0 otherwise), and why pruning
    failed, if it did."""

    records: int
    event_changes: int
    total: ChangeReport = field(default_factory=ChangeReport)
    failed_from: str | None = None
    error: str | None = None
    newest: float = 0.0
    prune_error: str | None = None
    folded: int = 0
    fold_error: str | None = None


def apply_batch(store: EventStore, records: list[dict[str, Any]]) -> Batch:
    """Apply one batch of the table's stream records (Lambda's JSON) to the projections."""
    changes = [_change(record) for record in records]
    projectors: Sequence[Projector] = (
        ObjectStateProjector(store),
        AccessCountsProjector(store),
    )
    batch = Batch(len(records), sum(len(change.records) for change in changes if change))
    total = batch.total
    for start in range(0, len(records), SLICE):
        piece = [c for c in changes[start : start + SLICE] if c is not None]
        try:
            for projector in projectors:
                _add(total, projector.apply_changes(piece))
        except EventStoreError as exc:
            batch.failed_from = sequence_number(records[start])
            batch.error = str(exc)
            break
    if batch.failed_from is None:
        _seal_expired(store, records)
    batch.prune_error = _prune(store)
    batch.folded, batch.fold_error = _fold(store)
    if records and batch.failed_from is None:
        batch.newest = max(written_at(r) for r in records)
    return batch


def _change(record: dict[str, Any]) -> Change | None:
    """The change a stream record brings, or None when it is not a new event or bundle."""
    event = inserted_record(record)
    bundle = inserted_bundle(record) if event is None else None
    if event is None and bundle is None:
        return None
    written = written_at(record) or time.time()
    hour = datetime.fromtimestamp(written, UTC).strftime("%Y-%m-%dT%H")
    if bundle is not None:
        return Change.of_bundle(bundle[0], bundle[1], hour)
    assert event is not None
    return Change(event, hour)


def _seal_expired(store: EventStore, records: list[dict[str, Any]]) -> None:
    """Access events the table's TTL removed: their days' counts must survive a rebuild."""
    latest: str | None = None
    for record in records:
        removed = removed_event(record)
        if removed is not None and removed[0].startswith(ACCESS_STREAM_PREFIX):
            occurred = removed[1]
            latest = max(latest or occurred, occurred)
    if latest:
        access_counts.seal_through(store, datetime.fromisoformat(latest.replace("Z", "+00:00")))


def _add(total: ChangeReport, part: ChangeReport) -> None:
    total.applied += part.applied
    total.already_applied += part.already_applied
    total.passed_by += part.passed_by
    total.conflicts += part.conflicts


def _fold(store: EventStore) -> tuple[int, str | None]:
    """Fold the access counts' settled rows per change into their merged rows, at most once
    an hour per container (`access_compaction`); how many were folded, and why it failed, if
    it did (housekeeping: the next hour tries again, and nothing is counted twice or lost)."""
    global _folded_hour  # noqa: PLW0603  (once an hour per container)
    now = datetime.now(UTC)
    hour = now.strftime("%Y-%m-%dT%H")
    if hour == _folded_hour:
        return 0, None
    _folded_hour = hour
    try:
        return access_compaction.fold_settled(store, now, budget_s=FOLD_BUDGET_S).rows, None
    except Exception as exc:
        return 0, f"{type(exc).__name__}: {exc}"


def _prune(store: EventStore) -> str | None:
    """Delete old applied-markers where the store does not expire them itself; return why
    that failed, if it did."""
    global _pruned_hour  # noqa: PLW0603  (once an hour per container)
    hour = datetime.now(UTC).strftime("%Y-%m-%dT%H")
    if hour == _pruned_hour:
        return None
    error = None
    try:
        if not store.expires_projection_rows:
            for projector in (ObjectStateProjector(store), AccessCountsProjector(store)):
                projector.prune_markers(hour)
    except EventStoreError as exc:  # pruning is housekeeping: try again next hour
        error = str(exc)
    _pruned_hour = hour
    return error
