"""AccessCounts rows written per batch, with and without layout 3's kinds (section 5).

Every row an ingest batch touches is a write: on SQLite one row of a transaction, on DynamoDB
a paid write unit (or two, in a transaction). This replays a store's access events in the
order they were stored through `AccessCountsProjector.row_keys` (what the projector does, less
the counting) and counts the distinct rows touched:

- per `prov ingest` batch (`provenance.ingest.reader.BATCH_SIZE` events in a row);
- per atomic write of the change-stream projector on DynamoDB (`Projector.apply_changes`'s
  rule: a chunk grows until its rows and markers would pass the store's `max_atomic_writes`,
  100, within stream batches of `STREAM_BATCH` records), as writes per event, markers
  included.

"before" counts the kinds the projection had before layout 3 (cells, summaries, daily
summaries, daily druid counts): their keys are unchanged, so that is exactly what the code
before wrote. Imported by `access_report.py` (`--rows-written`); run alone:
`.venv/bin/python bench/access_rows_written.py STORE.db`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eventstore import SQLiteEventStore
from eventstore.dynamodb.calls import MAX_TRANSACTION_ITEMS
from provenance.domain.events import load_payload
from provenance.ingest.reader import BATCH_SIZE
from provenance.projections.access_counts import CLIENTS, TOTALS, AccessCountsProjector

NEW_KINDS = (TOTALS, CLIENTS)
STREAM_BATCH = 100
"""Records per projector invocation: the default of `projector_batch_size` (cdk/config.py)."""


class _Chunks:
    """`apply_changes`'s chunks: writes (rows and markers) and transactions."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.keys: set[str] = set()
        self.events = 0
        self.writes = 0
        self.transactions = 0

    def add(self, keys: set[str]) -> None:
        if self.events and len(self.keys | keys) + self.events + 1 > self.limit:
            self.flush()
        self.keys |= keys
        self.events += 1

    def flush(self) -> None:
        if self.events:
            self.writes += len(self.keys) + self.events
            self.transactions += 1
        self.keys, self.events = set(), 0


def rows_written(store: Path) -> dict[str, Any]:
    """Rows per ingest batch and writes per event on DynamoDB, before and after."""
    sides = ("before", "after")
    batch_rows = dict.fromkeys(sides, 0)
    batch_keys: dict[str, set[str]] = {side: set() for side in sides}
    chunks = {side: _Chunks(MAX_TRANSACTION_ITEMS) for side in sides}
    events = batches = 0
    with SQLiteEventStore(store, create=False) as opened:
        projector = AccessCountsProjector(opened)
        for record in opened.read_all(types=["ServiceAccessed"]):
            keys = set(projector.row_keys(record, load_payload(record.payload)))
            old = {key for key in keys if not key.startswith(NEW_KINDS)}
            for side, touched in (("before", old), ("after", keys)):
                batch_keys[side] |= touched
                chunks[side].add(touched)
            events += 1
            if events % STREAM_BATCH == 0:
                for chunk in chunks.values():
                    chunk.flush()
            if events % BATCH_SIZE == 0:
                batches += 1
                for side in sides:
                    batch_rows[side] += len(batch_keys[side])
                    batch_keys[side] = set()
    if any(batch_keys.values()):
        batches += 1
        for side in sides:
            batch_rows[side] += len(batch_keys[side])
    for chunk in chunks.values():
        chunk.flush()
    return {
        "events": events,
        "batch_size": BATCH_SIZE,
        "batches": batches,
        "limit": MAX_TRANSACTION_ITEMS,
        **{
            side: {
                "rows_per_batch": batch_rows[side] / batches,
                "stream_writes_per_event": chunks[side].writes / events,
                "stream_transactions": chunks[side].transactions,
            }
            for side in sides
        },
    }


def markdown(figures: dict[str, Any]) -> str:
    before, after = figures["before"], figures["after"]
    return "\n".join(
        [
            f"AccessCounts rows written ({figures['events']:,} events replayed through "
            "`row_keys`, `bench/access_rows_written.py`):",
            "",
            "| | before (layout 2) | after (layout 3) | extra |",
            "| --- | ---: | ---: | ---: |",
            f"| rows per `prov ingest` batch of {figures['batch_size']:,} events "
            f"({figures['batches']} batches) | {before['rows_per_batch']:,.0f} | "
            f"{after['rows_per_batch']:,.0f} | "
            f"{after['rows_per_batch'] - before['rows_per_batch']:+,.0f} |",
            f"| DynamoDB change-stream projector: writes per event (rows and markers, "
            f"transactions of ≤ {figures['limit']}) | {before['stream_writes_per_event']:.2f} | "
            f"{after['stream_writes_per_event']:.2f} | "
            f"{after['stream_writes_per_event'] - before['stream_writes_per_event']:+.2f} |",
            f"| its transactions | {before['stream_transactions']:,} | "
            f"{after['stream_transactions']:,} | "
            f"{after['stream_transactions'] - before['stream_transactions']:+,} |",
        ]
    )


if __name__ == "__main__":
    result = rows_written(Path(sys.argv[1]))
    print(markdown(result))
    print(json.dumps(result, indent=2), file=sys.stderr)
