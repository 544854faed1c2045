"""AccessCounts: requests and bytes per service, hour, agent, client, status and query template.

One row per (UTC hour, service, shard), keyed `<YYYY-MM-DDTHH>|<service>|<shard>` so that an
hour range is a key range. A row holds exact counts for every combination seen in that hour:

    {"hour": "2026-03-02T18:00:00Z", "service": "stacks",
     "agents": {"crawler:Googlebot": "software", ...},
     "cells": {"<agent>\\x1f<client>\\x1f<status>\\x1f<template>": [requests, bytes], ...}}

Exact cells, not top-N lists, because reports must add up under any grouping and a rebuild
must equal the incremental result (a top-N cut depends on arrival order). Rows are split into
`SHARDS` by the client, so a busy service-hour stays far below the store's row size limit
(one shard holds about 2,500 distinct cells in 256 KiB).

Retention: access events may expire (the access policy) while these counts stay. Expiring
records `$sealed`, the hour before which events may be gone; a rebuild keeps the rows before
it and replays only what came after (`projections.base.Checkpoint.floor`).

Imports `eventstore` and the projection base only.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import from_json

from eventstore import (
    ConcurrencyError,
    EventRecord,
    EventStore,
    ExpireResult,
    ProjectionWrite,
    time_key,
)
from provenance.projections.base import CHECKPOINT, CHUNK, Checkpoint, Projector, Row

PROJECTION = "access_counts"
SEALED = "$sealed"
SHARDS = 16
SEP = "\x1f"
NONE = "-"  # a dimension the log did not give (no client, no status: an incomplete request)
_RETRIES = 50


def hour_key(moment: datetime) -> str:
    """`2026-03-02T18`: the UTC hour of a moment, as row keys start."""
    return time_key(moment)[:13]


def hour_start(key: str) -> datetime:
    return datetime.fromisoformat(key[:13] + ":00:00+00:00")


class AccessCountsProjector(Projector):
    NAME = PROJECTION
    TYPES = frozenset({"ServiceAccessed"})

    def row_key(self, record: EventRecord, event: dict[str, Any]) -> str | None:
        client = event.get("client_id") or NONE
        shard = zlib.crc32(client.encode()) % SHARDS
        return f"{hour_key(record.occurred_at)}|{event['service']}|{shard:x}"

    def new_row(self, key: str, record: EventRecord, event: dict[str, Any]) -> Row:
        return {
            "hour": time_key(hour_start(key)),
            "service": event["service"],
            "agents": {},
            "cells": {},
        }

    def apply(self, row: Row, record: EventRecord, event: dict[str, Any]) -> None:
        get = event.get
        agent = event["agent"]
        name = agent["name"]
        row["agents"][name] = agent.get("kind", "software")
        status = get("status")
        cell = SEP.join(
            (
                name,
                get("client_id") or NONE,
                NONE if status is None else str(status),
                get("template") or NONE,
            )
        )
        cells = row["cells"]
        counts = cells.get(cell)
        if counts is None:
            cells[cell] = [1, get("bytes") or 0]
        else:
            counts[0] += 1
            counts[1] += get("bytes") or 0


def catch_up(store: EventStore, *, chunk: int = CHUNK) -> int:
    return AccessCountsProjector(store, chunk=chunk).catch_up()


def rows(store: EventStore, start: datetime | None, stop: datetime | None) -> Iterator[Row]:
    """The rows of the hours from `start` (inclusive) to `stop` (exclusive), parsed."""
    first = None if start is None else hour_key(start)
    # Keys of the hour `stop` falls in sort after the bare hour prefix, so `< prefix` stops
    # before them: callers pass whole hours.
    last = None if stop is None else hour_key(stop)
    for row in store.read_projection(PROJECTION, start=first, stop=last):
        if not row.key.startswith("$"):
            yield from_json(row.value)


def sealed_before(store: EventStore) -> datetime | None:
    """The hour before which access events may have expired (their counts are kept)."""
    row = store.get_projection(PROJECTION, SEALED)
    return None if row is None else hour_start(row.value.decode())


def expire(store: EventStore, now: datetime) -> ExpireResult:
    """Delete the access events whose retention has passed, keeping their counts.

    The counts are brought up to date first and only events the projection has applied are
    deleted, so no request goes uncounted even if another process is ingesting meanwhile.
    """
    projector = AccessCountsProjector(store)
    projector.catch_up()
    checkpoint, _ = projector.stored_checkpoint()
    result = store.expire(now, through_position=checkpoint.position)
    if result.latest is not None:
        _seal(store, hour_key(result.latest + timedelta(hours=1)))
    return result


def _seal(store: EventStore, hour: str) -> None:
    for _attempt in range(_RETRIES):
        row = store.get_projection(PROJECTION, SEALED)
        if row is not None and row.value.decode() >= hour:
            return
        try:
            store.write_projection(
                PROJECTION, [ProjectionWrite(SEALED, hour.encode(), row.version if row else 0)]
            )
            return
        except ConcurrencyError:
            continue
    raise ConcurrencyError(f"projection {PROJECTION}: {SEALED} kept changing")


def rebuild(store: EventStore) -> int:
    """Recount from the stored events; hours whose events may have expired keep their counts.

    Without expiry this is clear-and-replay. With it, the rows from the sealed hour on are
    deleted and the checkpoint restarts with a floor at that hour: events before it that the
    projection had already applied (up to its old position) are not counted again, later
    arrivals are.
    """
    sealed = store.get_projection(PROJECTION, SEALED)
    if sealed is None:
        store.clear_projection(PROJECTION)
        return catch_up(store)
    projector = AccessCountsProjector(store)
    for _attempt in range(_RETRIES):
        old, version = projector.stored_checkpoint()
        floor = sealed.value.decode()
        writes = [
            ProjectionWrite(row.key, None, row.version)
            for row in store.read_projection(PROJECTION, start=floor)
        ]
        # An interrupted rebuild left its own floor: what it had not replayed yet still counts.
        through = max(old.position, old.replay_through)
        restart = Checkpoint(0, replay_through=through, floor=time_key(hour_start(floor)))
        writes.append(ProjectionWrite(CHECKPOINT, restart.dumps(), version))
        try:
            store.write_projection(PROJECTION, writes)
            break
        except ConcurrencyError:
            continue
    else:
        raise ConcurrencyError(f"projection {PROJECTION} kept changing during the rebuild")
    return projector.catch_up()
