"""AccessCounts: requests and bytes per service, hour, agent, client, status and query template.

Rows per UTC hour (or day) and service, keyed so that an hour (day) range is a key range:

- **cells** `c|<YYYY-MM-DDTHH>|<service>|<shard>`: exact counts for every combination of
  agent, client, status and template seen in that hour, split into `SHARDS` by client;
- **summaries** `s|<YYYY-MM-DDTHH>|<service>|<shard>`: the same requests summed per agent,
  per template, per status and per (agent, template), split by agent;
- **daily summaries** `d|<YYYY-MM-DD>|<service>|<shard>`: the summaries of a whole UTC day,
  so a report over months reads days, not hours, wherever its buckets allow;
- **daily druid counts** `o|<YYYY-MM-DD>|<service>|<shard>`: requests and bytes per druid
  (`-` for requests that name none) in a UTC day, split by druid, so `--by druid` reads days,
  not events;
- **hourly totals** `a|<YYYY-MM-DDTHH>|<service>|<shard>`: the summaries' one-part breakdowns
  (per agent, template and status) without their agent × template one and the agents' kinds,
  split by agent into `TOTAL_SHARDS`, so a report per agent, template or status over hours
  that no daily row answers (per hour; local days in a zone whose days are not UTC days)
  reads a few small rows, not every breakdown of the hour;
- **daily clients** `k|<YYYY-MM-DD>|<service>|<shard>`: requests and bytes per (agent, client)
  in a UTC day, split by client into `CLIENT_SHARDS`, so a report per client reads days (about
  a seventh of the hours' cells), not the cells.

    {"hour": "2026-03-02T18:00:00.000000Z", "service": "stacks",
     "agents": {"crawler:Googlebot": "software", ...},
     "cells": {"<agent>\x1f<client>\x1f<status>\x1f<template>": [requests, bytes], ...}}
    {"hour": ..., "service": ..., "agents": {...},
     "agent": {"<agent>": [requests, bytes]}, "path": {...}, "status": {...},
     "agent_path": {"<agent>\x1f<template>": [requests, bytes]}}
    {"hour": "2026-03-02T00:00:00.000000Z", "service": "stacks",
     "druid": {"druid:bb123cd4567": [requests, bytes], "-": [...], ...}}
    {"hour": ..., "service": ..., "agent": {...}, "path": {...}, "status": {...}}
    {"hour": ..., "service": ..., "agent_client": {"<agent>\x1f<client>": [requests, bytes]}}

Exact counts, not top-N lists, because reports must add up under any grouping and a rebuild
must equal the incremental result (a top-N cut depends on arrival order). The summaries exist
for speed: most reports (who, what, how often) need no client, and a summary holds several
times fewer entries than the cells (clients outnumber agents, and templates repeat). The
shards spread a busy service-hour over several rows, and no number of them fixed in advance
bounds a row: a row whose JSON passes `SPLIT_BYTES` moves its entries to continuation rows
`<key>+<n>` and starts over (`Projector.SPLIT_BYTES`). Readers sum every row of a key range,
continuations included, so a key counted in several of them adds up.

Rows per change: the projector that follows DynamoDB's change stream (`apply_changes`) does
not read, add to and write back the shared rows above. It counts each change (a bundle of one
service-hour's requests, or one event) in a row of its own, `x|<hour>|<service>|~<change>`
(pieces `.<n>` past 64 KiB), holding every breakdown of the kinds above (`CHANGE_FIELDS`),
and puts it without a version, a marker or a transaction: its content is a function of the
change, so a redelivery writes the same bytes, and concurrent consumers never conflict. On
DynamoDB this costs one write unit per kilobyte of what the change adds, instead of two per
kilobyte of every shared row it touches (a transaction's double price, rows rewritten whole,
a marker), and no reads. `rows` reads them with every kind, in time order; a rebuild replaces
them with shared rows. Once the stream can no longer deliver a change again (`SETTLED`, 26
hours after it was written), `access_compaction` folds the rows of a day, service and written
hour into merged rows of every kind, `<kind><hour or day>|<service>|~m<written hour>`, then
deletes them; `rows` skips a settled row per change that a merged row covers, so reports read
days, not bundles, and a fold stopped between its writes counts nothing twice. Limits: the row's
pieces follow `base.PIECE_BYTES` and `CHANGE_FIELDS`, so a deploy that changes either while
the stream still redelivers could count those changes twice (deploy such a change with the
projector caught up); the put is not atomic across a change's pieces, so a slice Lambda gives
up on may leave part of a change counted until `prov rebuild`; a reader paging through rows
while one splits may count the moved entries twice in that one report (never in the store);
and the applied-markers of the version before rows per change are read for every change,
0.26 read units an access event, though they matter only for 48 hours after the upgrade.

Retention: access events may expire (the access policy) while these counts stay. Expiring
records `$sealed`, the UTC midnight before which events may be gone (a day boundary, because
daily rows count whole days); a rebuild keeps the rows before it and replays only what came
after (`projections.base.Checkpoint.floor`).

Layout: the druid counts, and later the hourly totals and daily clients, came later than the
other rows. A projection made before them has rows but not these for its past, so `$layout`
records the layout a projection was built with from its first event (`LAYOUT_VERSION`): the
projector following the feed writes it when it finds the projection empty, `rebuild` when it
starts again. Without it (`layout` says version 1), druid reports read the events and other
reports the summaries and cells, as before; `prov rebuild` brings the store up to date. A
rebuild that must keep sealed days it cannot recount (their events expired) writes
`3 <YYYY-MM-DDTHH>`: the views of layout 3 are complete from that hour on only (`Layout.since`).
The change-stream projector keeps every kind of row but never writes `$layout`: it cannot tell
a new table from an old one with the reads its role is granted (it gets rows by key, it does
not query), so a table it feeds is marked by one `prov rebuild` (with the projector stopped,
as every rebuild there).
"""

from __future__ import annotations

import contextlib
import heapq
import weakref
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import from_json, to_json

from eventstore import (
    ConcurrencyError,
    EventRecord,
    EventStore,
    ExpireResult,
    ProjectionRow,
    ProjectionWrite,
    time_key,
)
from provenance.projections import base
from provenance.projections.base import (
    CHECKPOINT,
    CHUNK,
    MORE,
    Appended,
    Change,
    ChangeReport,
    Checkpoint,
    Folded,
    Projector,
    Row,
)

PROJECTION = "access_counts"
SEALED = "$sealed"
LAYOUT = "$layout"
LAYOUT_VERSION = 3
"""1: cells and (daily) summaries; 2: and daily druid counts; 3: and hourly totals and daily
clients."""
CELLS = "c|"
SUMMARIES = "s|"
DAILY = "d|"
DRUIDS = "o|"
TOTALS = "a|"
CLIENTS = "k|"
CHANGES = "x|"
"""Rows per change (the change-stream projector's): every breakdown of one change's requests
of one hour in one row (see the module docstring)."""
SETTLED = timedelta(hours=26)
"""How long after the hour a row per change was written it may be folded into merged rows
(`access_compaction`): the table stream delivers a change for at most 24 hours after it was
written, and a Lambda retry of the last of them ends well within the next hour."""
MERGED = "~m"
"""The merged rows' shard name, before their written hour (the catch-up projector's shards
are hex digits)."""
KINDS = (CELLS, SUMMARIES, DAILY, DRUIDS, TOTALS, CLIENTS)
DAY_KINDS = (DAILY, DRUIDS, CLIENTS)
SHARDS = 16
# A day's summary holds 24 hours' agents and templates: more shards keep its rows small.
DAILY_SHARDS = 64
# A busy day asks for tens of thousands of druids: split by druid, a row holds a few hundred.
DRUID_SHARDS = 64
# Few: every row a batch touches is a write (on DynamoDB, a paid one: BENCHMARKS.md section 5
# counts them). Enough that a busy service's rows stay far below DynamoDB's 400 KB item: an
# hour's totals hold ~45 bytes per agent (clients without a rule are agents of their own) and
# a few templates and statuses, a day's (agent, client) pairs ~50 bytes each, before
# compression.
TOTAL_SHARDS = 2
CLIENT_SHARDS = 8
SEP = "\x1f"
NONE = "-"  # a dimension the log did not give (no client, no status: an incomplete request)
# The breakdowns a summary row keeps; each names the report dimensions it can answer.
SUMMARY_VIEWS = ("agent", "path", "status", "agent_path")
TOTAL_VIEWS = ("agent", "path", "status")
_RETRIES = 50
_EVERY_POSITION = 2**63 - 1


def hour_key(moment: datetime) -> str:
    """`2026-03-02T18`: the UTC hour of a moment, as row keys name it."""
    return time_key(moment)[:13]


def hour_start(key: str) -> datetime:
    return datetime.fromisoformat(key[:13] + ":00:00+00:00")


class AccessCountsProjector(Projector):
    NAME = PROJECTION
    TYPES = frozenset({"ServiceAccessed"})
    # Logs arrive in time order, so only the latest hours' rows are touched again; keeping
    # all rows would hold the whole projection in memory (a million cells is ~150 MB).
    MAX_CACHED = 2048
    # A busy service's hour (day) gathers more distinct keys than any number of shards fixed in
    # advance would keep under the store's 256 KiB: past this, a row's entries move to
    # continuation rows (`Projector.SPLIT_BYTES`), which `rows` reads with the rest. Small,
    # because a batch holds every row its hours and days touch (about 170 for a busy service),
    # parsed, at several times their JSON size: at 16 KiB a log ten times the benchmark's
    # density peaks near the memory aim where 128 KiB took twice that (BENCHMARKS.md 8), for a
    # few more bytes stored (continuation rows repeat keys that recur).
    SPLIT_BYTES = 16 * 1024

    def __init__(self, store: EventStore, *, chunk: int = CHUNK) -> None:
        super().__init__(store, chunk=chunk)
        # Hour keys by hours since the epoch: formatting a time is the costly part.
        self._hours: dict[int, str] = {}

    def catch_up(self, appended: Appended | None = None, *, replay: bool = False) -> int:
        if replay or not self.store.projected_by_stream:
            _lay_out(self.store)
        return super().catch_up(appended, replay=replay)

    def row_keys(self, record: EventRecord, event: dict[str, Any]) -> Sequence[str]:
        moment = record.occurred_at
        since_epoch = int(moment.timestamp() // 3600)
        hour = self._hours.get(since_epoch)
        if hour is None:
            hour = self._hours[since_epoch] = hour_key(moment)
        service = event["service"]
        client = zlib.crc32((event.get("client_id") or NONE).encode())
        agent = zlib.crc32(event["agent"]["name"].encode())
        druid = zlib.crc32((event.get("druid") or NONE).encode())
        return (
            f"{CELLS}{hour}|{service}|{client % SHARDS:02x}",
            f"{SUMMARIES}{hour}|{service}|{agent % SHARDS:02x}",
            f"{DAILY}{hour[:10]}|{service}|{agent % DAILY_SHARDS:02x}",
            f"{DRUIDS}{hour[:10]}|{service}|{druid % DRUID_SHARDS:02x}",
            f"{TOTALS}{hour}|{service}|{agent % TOTAL_SHARDS:02x}",
            f"{CLIENTS}{hour[:10]}|{service}|{client % CLIENT_SHARDS:02x}",
        )

    def new_row(self, key: str, record: EventRecord, event: dict[str, Any]) -> Row:
        day = key.startswith(DAY_KINDS)
        start = key[2:12] + "T00" if day else key[2:15]
        row: Row = {
            # The start of the hour (or day) the row counts, as a time_key.
            "hour": time_key(hour_start(start)),
            "service": event["service"],
        }
        if key.startswith(DRUIDS):
            row["druid"] = {}
            return row
        if key.startswith(CLIENTS):
            row["agent_client"] = {}
            return row
        if key.startswith(TOTALS):
            row.update((view, {}) for view in TOTAL_VIEWS)
            return row
        row["agents"] = {}
        if key.startswith(CELLS):
            row["cells"] = {}
        else:
            row.update((view, {}) for view in SUMMARY_VIEWS)
        return row

    def apply(self, row: Row, record: EventRecord, event: dict[str, Any]) -> None:
        get = event.get
        druids = row.get("druid")
        if druids is not None:
            _add(druids, get("druid") or NONE, get("bytes") or 0)
            return
        pairs = row.get("agent_client")
        if pairs is not None:
            name = event["agent"]["name"]
            _add(pairs, f"{name}{SEP}{get('client_id') or NONE}", get("bytes") or 0)
            return
        agent = event["agent"]
        name = agent["name"]
        size = get("bytes") or 0
        status = get("status")
        status_key = NONE if status is None else str(status)
        template = get("template") or NONE
        if "agents" not in row:  # hourly totals: the one kind without the agents' kinds
            _add(row["agent"], name, size)
            _add(row["path"], template, size)
            _add(row["status"], status_key, size)
            return
        row["agents"][name] = agent.get("kind", "software")
        if "cells" in row:
            _add(
                row["cells"], SEP.join((name, get("client_id") or NONE, status_key, template)), size
            )
        else:
            _add(row["agent"], name, size)
            _add(row["path"], template, size)
            _add(row["status"], status_key, size)
            _add(row["agent_path"], f"{name}{SEP}{template}", size)

    def apply_changes(self, changes: Sequence[Change]) -> ChangeReport:
        """Apply changes from the store's change stream, each exactly once, as rows of their
        own: a change (a bundle of one service-hour's requests, or one event) is counted in
        one row per hour and service it spans, `x|<hour>|<service>|~<change>`, holding every
        breakdown, put without a version, a marker or a transaction (see the module
        docstring: rows per change; `access_compaction` folds them later). Its content is
        a function of the change, so a redelivery puts the same bytes again, and rows that
        several consumers update never conflict. Only the applied-markers an earlier version
        left for these changes (or parts of them) are read: what they mark is not counted
        again. A change delivered again is put again and reported applied (nothing tells it
        from its first delivery, and nothing changes)."""
        report = ChangeReport()
        # The units the marking projector (the version before rows per change) cut them into.
        pending = self.marked_units(changes, report)
        if not pending:
            return report
        marked = self.store.get_projections(
            self.NAME, [unit.marker for _change, units in pending for unit in units]
        )
        rows: dict[str, bytes] = {}
        for change, units in pending:
            todo = [entry for unit in units if unit.marker not in marked for entry in unit.folded]
            report.already_applied += sum(len(unit.folded) for unit in units) - len(todo)
            if todo:
                rows.update(self._change_rows(change, todo))
                report.applied += len(todo)
        self.store.put_projection(self.NAME, rows)
        return report

    def _change_rows(self, change: Change, folded: list[Folded]) -> dict[str, bytes]:
        """The rows that count one change's records: one per hour and service they fall in
        (a bundle has one), holding every breakdown, split into pieces `<key>.<n>` past
        `base.PIECE_BYTES` (the same pieces every time)."""
        ident = "b" + change.bundle if change.bundle is not None else "e" + change.record.event_id
        rows: dict[str, Row] = {}
        for _record, event, keys in folded:
            # The hourly cells' key names the hour and the service.
            cells = keys[0]
            own = f"{CHANGES}{cells[2 : cells.rindex('|')]}|~{ident}"
            row = rows.get(own)
            if row is None:
                row = rows[own] = {
                    "hour": time_key(hour_start(cells[2:15])),
                    "service": event["service"],
                    # When the stream says the change was written: the same on every
                    # redelivery, and what `access_compaction` waits on before folding it.
                    "written": change.hour,
                    **{name: {} for name in CHANGE_FIELDS},
                }
            _count_all(row, event)
        values: dict[str, bytes] = {}
        for key, row in rows.items():
            value = to_json(row)
            # Written once and never held for long: only the store's bound on a value matters.
            if len(value) > base.PIECE_BYTES:
                pieces = self.split(row, len(value) // base.PIECE_BYTES + 1)
                values.update((f"{key}.{n}", to_json(piece)) for n, piece in enumerate(pieces))
            else:
                values[key] = value
        return values

    def split(self, row: Row, parts: int) -> list[Row]:
        pieces: list[Row] = [
            {name: {} if isinstance(part, dict) else part for name, part in row.items()}
            for _ in range(parts)
        ]
        for name, part in row.items():
            if isinstance(part, dict) and name != "agents":
                for number, (key, counts) in enumerate(part.items()):
                    pieces[number % parts][name][key] = counts
        kept = [piece for piece in pieces if any(piece[name] for name in _counted(piece))]
        kinds = row.get("agents")
        if kinds:
            # Each piece names the kinds of its own agents only: a report by agent kind
            # reads them from the row it sums.
            for piece in kept:
                named = piece["agents"]
                for name in ("cells", "agent", "agent_path"):
                    for key in piece.get(name, ()):
                        agent = key.split(SEP, 1)[0]
                        named[agent] = kinds.get(agent, "software")
        for piece in kept:
            piece.pop(MORE, None)
        return kept


def _counted(row: Row) -> list[str]:
    """The fields of a row that hold counts."""
    return [name for name, part in row.items() if isinstance(part, dict) and name != "agents"]


CHANGE_FIELDS = (
    "agents",
    "cells",
    "agent",
    "path",
    "status",
    "agent_path",
    "druid",
    "agent_client",
)
"""A row per change's breakdowns: the hourly cells, the summaries (whose agent, path and status
are also the hourly totals'), the druids and the (agent, client) pairs."""


def _count_all(row: Row, event: dict[str, Any]) -> None:
    """Fold one request into a row per change: every breakdown the other kinds keep."""
    get = event.get
    agent = event["agent"]
    name = agent["name"]
    size = get("bytes") or 0
    status = get("status")
    status_key = NONE if status is None else str(status)
    template = get("template") or NONE
    client = get("client_id") or NONE
    row["agents"][name] = agent.get("kind", "software")
    _add(row["cells"], SEP.join((name, client, status_key, template)), size)
    _add(row["agent"], name, size)
    _add(row["path"], template, size)
    _add(row["status"], status_key, size)
    _add(row["agent_path"], f"{name}{SEP}{template}", size)
    _add(row["druid"], get("druid") or NONE, size)
    _add(row["agent_client"], f"{name}{SEP}{client}", size)


def _add(counts: dict[str, list[int]], key: str, size: int) -> None:
    pair = counts.get(key)
    if pair is None:
        counts[key] = [1, size]
    else:
        pair[0] += 1
        pair[1] += size


def catch_up(store: EventStore, *, chunk: int = CHUNK) -> int:
    return AccessCountsProjector(store, chunk=chunk).catch_up()


# Stores this process has looked at: whatever layout a projection has, it keeps it until a
# rebuild, which writes `$layout` itself.
_LAID_OUT: weakref.WeakSet[EventStore] = weakref.WeakSet()


def _lay_out(store: EventStore) -> None:
    """Record the current layout in a projection that has no rows yet (once per store and
    process): every event it will hold is then counted in every kind of row."""
    if store in _LAID_OUT:
        return
    if store.get_projection(PROJECTION, LAYOUT) is None and not any(
        # The small `$` rows (checkpoint, seal, markers) first: a page of counts is large.
        next(iter(store.read_projection(PROJECTION, start=start, stop=stop)), None) is not None
        for start, stop in (("$", "%"), (None, None))
    ):
        with contextlib.suppress(ConcurrencyError):  # another process laid it out first
            store.write_projection(PROJECTION, [ProjectionWrite(LAYOUT, Layout().dumps(), 0)])
    _LAID_OUT.add(store)


@dataclass(frozen=True, slots=True)
class Layout:
    """The kinds of rows a projection has kept from its first event (`$layout`, see the
    module docstring): `version` (1 when there is no `$layout`), and for version 3 the hour
    from which its hourly totals and daily clients are complete (None: from the start)."""

    version: int = LAYOUT_VERSION
    since: datetime | None = None

    def dumps(self) -> bytes:
        since = "" if self.since is None else " " + hour_key(self.since)
        return f"{self.version}{since}".encode()

    @classmethod
    def loads(cls, value: bytes) -> Layout:
        version, _, since = value.decode().partition(" ")
        return cls(int(version), hour_start(since) if since else None)

    def has_views(self, hour: datetime | None) -> bool:
        """Whether the hourly totals and daily clients count every request from `hour` on
        (None: from the start)."""
        return self.version >= 3 and (
            self.since is None or (hour is not None and hour >= self.since)
        )


def layout(store: EventStore) -> Layout:
    row = store.get_projection(PROJECTION, LAYOUT)
    return Layout(1) if row is None else Layout.loads(row.value)


def has_druid_counts(store: EventStore) -> bool:
    """Whether the projection counts druids for every day it holds (see the module docstring:
    a projection made before the druid counts does not until it is rebuilt)."""
    return layout(store).version >= 2


def rows(
    store: EventStore,
    start: datetime | None,
    stop: datetime | None,
    *,
    kind: str = CELLS,
    services: frozenset[str] = frozenset(),
    days: Callable[[datetime], bool] | None = None,
) -> Iterator[Row]:
    """The rows of one kind (CELLS, SUMMARIES, DAILY, DRUIDS, TOTALS or CLIENTS) of the hours
    (days) from `start` (inclusive) to `stop` (exclusive), with the rows per change of those
    hours (they hold every kind's breakdown), parsed, in time order; callers pass whole hours
    (whole UTC days). Only those of `services` (all if empty) and, for a kind of daily rows,
    of the days (UTC midnights) that `days` accepts: told by the key, so the others are never
    parsed."""
    width = 10 if kind in DAY_KINDS else 13
    ordered = heapq.merge(
        _key_range(store, kind, start, stop, width),
        _key_range(store, CHANGES, start, stop, 13),
        key=lambda row: row.key[2 : 2 + width],
    )
    verdicts: dict[str, bool] = {}
    # Rows per change a fold may have covered: written before the stream's 24 hours (the fold
    # waits 26 from its own clock; the two hours between absorb a reader's clock behind it).
    may_be_folded = hour_key(datetime.now(UTC) - timedelta(hours=24))
    covered: dict[str, bool] = {}
    for row in ordered:
        key = row.key
        service_at = key.index("|", 2) + 1
        if services and key[service_at : key.rindex("|")] not in services:
            continue
        if days is not None:
            day = key[2:12]
            wanted = verdicts.get(day)
            if wanted is None:
                wanted = verdicts[day] = days(hour_start(day + "T00"))
            if not wanted:
                continue
        parsed = from_json(row.value)
        written = parsed.get("written") if key.startswith(CHANGES) else None
        if written is not None and written < may_be_folded:
            # It may be folded already (the fold writes the merged rows first, then deletes
            # the rows per change): then the merged row counts it. One look-up per merged
            # row, not per row per change: a report meets only the last two hours' worth
            # of these, and any a stopped fold left.
            merged = merged_key(kind, key[2:15], parsed["service"], written)
            if merged not in covered:
                covered[merged] = store.get_projection(PROJECTION, merged) is not None
            if covered[merged]:
                continue
        yield parsed


def merged_key(kind: str, hour: str, service: str, written: str) -> str:
    """The merged row of one kind that counts a service's rows per change of `hour` (its
    day, for a daily kind) written in the hour `written` (`access_compaction`)."""
    period = hour[:10] if kind in DAY_KINDS else hour
    return f"{kind}{period}|{service}|{MERGED}{written}"


def _key_range(
    store: EventStore, kind: str, start: datetime | None, stop: datetime | None, width: int
) -> Iterator[ProjectionRow]:
    # Keys of the hour (day) `stop` falls in sort after its bare prefix, so `< prefix` stops
    # before them.
    first = kind if start is None else kind + hour_key(start)[:width]
    last = _after(kind) if stop is None else kind + hour_key(stop)[:width]
    return iter(store.read_projection(PROJECTION, start=first, stop=last))


def _after(prefix: str) -> str:
    """The smallest key greater than every key starting with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


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
        seal_through(store, result.latest)
    return result


def seal_through(store: EventStore, latest: datetime) -> None:
    """Record that access events up to `latest` (occurred_at) may be gone, so a rebuild keeps
    those days' counts instead of recounting what is left of them. Called after `expire`, and
    by the projector when the table's TTL removes events."""
    # Sealed up to the next UTC midnight, not hour: a day's summary row counts whole days.
    _seal(store, hour_key(latest + timedelta(days=1))[:10] + "T00")


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
        store.write_projection(PROJECTION, [ProjectionWrite(LAYOUT, Layout().dumps(), 0)])
        return AccessCountsProjector(store).catch_up(replay=True)
    projector = AccessCountsProjector(store)
    for _attempt in range(_RETRIES):
        old, version = projector.stored_checkpoint()
        floor = sealed.value.decode()
        writes = [
            ProjectionWrite(row.key, None, row.version)
            for kind in (*KINDS, CHANGES)
            for row in store.read_projection(
                PROJECTION,
                start=kind + (floor[:10] if kind in DAY_KINDS else floor),
                stop=_after(kind),
            )
        ]
        # The rows from the floor on are counted again, every kind; the days before it keep
        # what they had: druid reports read those days' events (`has_druid_counts`), and the
        # views of layout 3 are used from the floor on if the days before it had none.
        stored = store.get_projection(PROJECTION, LAYOUT)
        before = Layout(1) if stored is None else Layout.loads(stored.value)
        since = before.since if before.version >= 3 else hour_start(floor)
        writes.append(
            ProjectionWrite(LAYOUT, Layout(since=since).dumps(), stored.version if stored else 0)
        )
        # An interrupted rebuild left its own floor: what it had not replayed yet still counts.
        through = max(old.position, old.replay_through)
        if store.projected_by_stream:
            # The change stream applied every stored event (the rebuild runs with the
            # projector caught up and stopped) and never moves the checkpoint: all of them
            # are counted already, so none before the floor is counted again.
            through = _EVERY_POSITION
        restart = Checkpoint(0, replay_through=through, floor=time_key(hour_start(floor)))
        writes.append(ProjectionWrite(CHECKPOINT, restart.dumps(), version))
        try:
            store.write_projection(PROJECTION, writes)
            break
        except ConcurrencyError:
            continue
    else:
        raise ConcurrencyError(f"projection {PROJECTION} kept changing during the rebuild")
    return projector.catch_up(replay=True)
