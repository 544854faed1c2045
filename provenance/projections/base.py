"""What every projection shares: following the store's global feed into rows, exactly once.

A projection keeps a checkpoint row (`$checkpoint`: the feed position it has applied through)
next to its rows. Each chunk of touched rows and the new checkpoint are written in one atomic
call with optimistic concurrency, so two processes catching up at once never apply an event
twice: the loser's write fails as a whole, and it starts again from the stored checkpoint.

A rebuild may have to leave part of the past alone (access counts whose events have expired).
It then stores a `floor` in the checkpoint: while replaying up to `replay_through`, events
that happened before the floor are skipped. Any process catching up honours it, so a
concurrent ingest cannot count those events twice.

Rows are stored JSON; pydantic-core's parser is used for speed. Events are read with
`events.load_payload`, which upcasts payloads of older schema versions.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic_core import from_json, to_json

from eventstore import (
    ConcurrencyError,
    EventRecord,
    EventStore,
    ProjectionRow,
    ProjectionWrite,
    time_key,
)
from provenance.domain.events import load_payload

CHECKPOINT = "$checkpoint"
APPLIED = "$applied/"
"""Key prefix of the markers `apply_changes` leaves: `$applied/<hour>/<event id>`, or for a
bundle `$applied/<hour>/<BUNDLE_MARKER><bundle's identity>`."""
BUNDLE_MARKER = "bundle:"
MARKER_HOURS = 48
"""How long markers are kept after their change's hour: a change stream redelivers for at
most 24 hours (DynamoDB Streams' retention), so an older marker can never be needed again."""
CHUNK = 50_000
_RETRIES = 50
MORE = "more"
"""The field of a row that has been split (`Projector.SPLIT_BYTES`): how many continuation
rows (`<key>+0`, `<key>+1`, ...) hold what it had gathered before."""
PIECE_BYTES = 64 * 1024
"""About how large a continuation row is made: a quarter of the store's largest value."""

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Appended:
    """Records one process just appended, in position order, the store's newest position
    before them (`AppendResult.previous`) and the position of the last of them. `events`,
    when given, holds each record's event as `load_payload` would read it (None where the
    appender does not have it), so that catching up need not parse the payloads again."""

    previous: int
    records: Sequence[EventRecord]
    last: int
    events: Sequence[dict[str, Any] | None] | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One change from the store's change stream, and the UTC hour (`YYYY-MM-DDTHH`) the
    stream says it was written in: the same on every redelivery. The change is one record, or
    a bundle of records the store wrote as one item (`Change.of_bundle`: `bundle` is its
    identity, `more` the records after the first), applied with one marker."""

    record: EventRecord
    hour: str
    bundle: str | None = None
    more: tuple[EventRecord, ...] = ()

    @classmethod
    def of_bundle(cls, bundle: str, records: Sequence[EventRecord], hour: str) -> Change:
        return cls(records[0], hour, bundle, tuple(records[1:]))

    @property
    def records(self) -> tuple[EventRecord, ...]:
        return (self.record, *self.more)

    @property
    def marker(self) -> str:
        if self.bundle is not None:
            return f"{APPLIED}{self.hour}/{BUNDLE_MARKER}{self.bundle}"
        return f"{APPLIED}{self.hour}/{self.record.event_id}"

    @property
    def marker_expires_at(self) -> datetime:
        """When the store may drop this change's marker: MARKER_HOURS after the start of its
        hour. The change was written within that hour and the stream keeps a record for 24
        hours, so every redelivery comes before hour + 25 h: the marker outlives them all by
        23 hours (DynamoDB's TTL deletes late, never early). Counted from the change, not from
        when it was applied, so that it is the same on every delivery and every retry."""
        return datetime.fromisoformat(self.hour + ":00+00:00") + timedelta(hours=MARKER_HOURS)


@dataclass(frozen=True, slots=True)
class Indexed:
    """A row's index entries (index, term) and its share of the projection's totals: a pure
    function of the row (`Projector.index_of`), so what a write adds and drops is the
    difference between the row as read and as written."""

    entries: frozenset[tuple[str, str]] = frozenset()
    totals: Mapping[str, int] = field(default_factory=dict)


NOT_INDEXED = Indexed()


Folded = tuple[EventRecord, dict[str, Any], Sequence[str]]
"""A record, its event, and the keys of the rows it changes."""


@dataclass(frozen=True, slots=True)
class Unit:
    """What one applied-marker stands for: a change's records of this projection's types
    (a bundle whose rows would not fit one atomic write is cut into parts, each marked
    `<marker>/<part>`: the cut depends on the records only, so it is the same every time)."""

    marker: str
    expires_at: datetime
    folded: list[Folded]
    keys: frozenset[str]


@dataclass
class ChangeReport:
    """What `apply_changes` did with one batch."""

    applied: int = 0
    already_applied: int = 0
    passed_by: int = 0
    conflicts: int = 0


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a projection has applied the feed, and the floor of a rebuild in progress."""

    position: int = 0
    replay_through: int = 0
    floor: str | None = None  # a time_key: events before it are not replayed

    def dumps(self) -> bytes:
        if self.floor is None:
            return str(self.position).encode()
        return to_json(
            {"position": self.position, "replay_through": self.replay_through, "floor": self.floor}
        )

    @classmethod
    def loads(cls, value: bytes) -> Checkpoint:
        if value.isdigit():
            return cls(int(value))
        data = from_json(value)
        return cls(data["position"], data["replay_through"], data["floor"])

    def skips(self, record: EventRecord, time_key: str) -> bool:
        return (
            self.floor is not None
            and (record.position or 0) <= self.replay_through
            and time_key < self.floor
        )


class Projector(ABC):
    """Follows the store's feed into the rows of one projection.

    Subclasses say which events they read (`TYPES`), which rows an event lands in (`row_keys`)
    and how it changes that row (`new_row`, `apply`). `apply` must not depend on the order
    events arrive in, so that a rebuild gives exactly what incremental updates gave.

    A long-lived projector (one per ingest run) keeps the rows it wrote, with their versions,
    so the next catch-up does not read them back. That is safe because every write carries
    the checkpoint row's version too: if anyone else wrote the projection in between, the
    write fails as a whole, the cache is dropped, and the catch-up starts again.
    """

    NAME: ClassVar[str]
    TYPES: ClassVar[frozenset[str]]
    MAX_CACHED: ClassVar[int] = 50_000
    MAX_CACHED_BYTES: ClassVar[int] = 4 * 1024 * 1024
    """The cache is also dropped once the rows it keeps were this many bytes of JSON when
    written (as Python objects they take several times that): a row's size grows with what
    its key gathers (an hour's requests of a busy service), so a bound on rows alone is no
    bound on memory."""

    INDEXED: ClassVar[bool] = False
    """Whether rows have index entries and totals (`index_of`), written with them."""

    SPLIT_BYTES: ClassVar[int | None] = None
    """A row whose JSON grows past this is split (None: never; a projector that sets it says
    how in `split`). Rows that count (hourly, daily) grow with the traffic of their hour or
    day, without bound, and a stored value may not exceed 256 KiB. The row's entries move to
    new continuation rows `<key>+<n>`, written once and never touched again, and the row
    starts over empty, keeping their number in its `more` field: a sum over the row and its
    continuations is unchanged (a key may be counted in several of them; readers add), and a
    writer never needs more than the row itself."""

    def __init__(self, store: EventStore, *, chunk: int = CHUNK) -> None:
        self.store = store
        self.chunk = chunk
        self._rows: dict[str, tuple[Row, int]] = {}
        # The entries and totals of the rows in `_rows` (INDEXED projectors), so the next write
        # of a cached row need not work them out again from the row.
        self._indexes: dict[str, Indexed] = {}
        self._written_indexes: dict[str, Indexed] = {}
        self._sizes: dict[str, int] = {}
        self._cached_bytes = 0
        self._checkpoint: tuple[Checkpoint, int] | None = None

    @abstractmethod
    def row_keys(self, record: EventRecord, event: dict[str, Any]) -> Sequence[str]:
        """The keys of the rows this event changes (none to pass it by)."""

    @abstractmethod
    def new_row(self, key: str, record: EventRecord, event: dict[str, Any]) -> Row:
        """An empty row for `key`, before its first event is applied."""

    @abstractmethod
    def apply(self, row: Row, record: EventRecord, event: dict[str, Any]) -> None:
        """Fold one event into its row (order-independent)."""

    def index_of(self, row: Row) -> Indexed:
        """A row's index entries and totals (for projectors that set INDEXED)."""
        return NOT_INDEXED

    def _indexed(self, entry: tuple[Row, int]) -> Indexed:
        """The entries and totals of a row as read (none for a new one)."""
        return self.index_of(entry[0]) if self.INDEXED and entry[1] else NOT_INDEXED

    def split(self, row: Row, parts: int) -> list[Row]:
        """The entries of `row`, dealt into at most `parts` rows of about equal size, each
        readable on its own (for projectors that set SPLIT_BYTES)."""
        raise NotImplementedError(f"projection {self.NAME} does not split its rows")

    def _split(
        self, key: str, row: Row, version: int, value: bytes
    ) -> tuple[Row, bytes, list[ProjectionWrite]]:
        """Row `key` (at `version`, `value` its JSON) emptied, its new JSON, and the writes
        that store it with its entries moved to new continuation rows (see SPLIT_BYTES)."""
        first = row.get(MORE, 0)
        pieces = self.split(row, len(value) // PIECE_BYTES + 1)
        emptied = {name: {} if isinstance(part, dict) else part for name, part in row.items()}
        emptied[MORE] = first + len(pieces)
        writes = [
            ProjectionWrite(f"{key}+{first + number}", to_json(piece), 0)
            for number, piece in enumerate(pieces)
        ]
        new_value = to_json(emptied)
        writes.append(ProjectionWrite(key, new_value, version))
        return emptied, new_value, writes

    def row_writes(
        self,
        touched: dict[str, tuple[Row, int]],
        *,
        split: bool = True,
        before: Mapping[str, Indexed] | None = None,
    ) -> tuple[dict[str, bytes], list[ProjectionWrite], dict[str, Row]]:
        """The JSON each touched row is stored as, the writes that store them, and the rows
        that were split (past SPLIT_BYTES, unless `split` is False) as they are left: emptied.
        `before`: each row's entries and totals as read (INDEXED projectors), so each write
        carries what changed."""
        values: dict[str, bytes] = {}
        writes: list[ProjectionWrite] = []
        emptied: dict[str, Row] = {}
        bound = self.SPLIT_BYTES if split else None
        self._written_indexes = {}  # this call's, for `_apply` to keep with its cached rows
        for key, (row, version) in touched.items():
            value = to_json(row)
            if bound is not None and len(value) > bound:
                emptied[key], value, pieces = self._split(key, row, version, value)
                writes += pieces
            elif before is not None:
                now = self.index_of(row)
                self._written_indexes[key] = now
                writes.append(_indexed_write(key, value, version, before[key], now))
            else:
                writes.append(ProjectionWrite(key, value, version))
            values[key] = value
        return values, writes, emptied

    def get(self, key: str) -> Row | None:
        row = self.store.get_projection(self.NAME, key)
        return from_json(row.value) if row is not None else None

    def catch_up(self, appended: Appended | None = None, *, replay: bool = False) -> int:
        """Apply every event appended since the checkpoint; return how many were read.

        `appended` (what this process just appended, with positions) lets a projector that is
        exactly caught up to just before them apply them from memory, not read them back.
        On a store whose change stream keeps projections (`projected_by_stream`) this does
        nothing unless `replay` (a rebuild, with the stream's projector paused) asks for it.
        """
        if self.store.projected_by_stream and not replay:
            return 0
        if appended is not None:
            if self._checkpoint is None:
                # A projector's first batch: if the stored checkpoint is right before these
                # records, they need not be read back either.
                self._checkpoint = self.stored_checkpoint()
            checkpoint, version = self._checkpoint
            if checkpoint.floor is None and checkpoint.position == appended.previous:
                try:
                    return self._apply(
                        appended.records, checkpoint, version, appended.last, appended.events
                    )
                except ConcurrencyError:
                    self.forget()
        for _attempt in range(_RETRIES):
            try:
                return self._catch_up_once()
            except ConcurrencyError:
                # Another writer advanced the projection first: start again from its checkpoint.
                self.forget()
        raise ConcurrencyError(f"projection {self.NAME} kept changing under {_RETRIES} retries")

    def apply_changes(self, changes: Sequence[Change]) -> ChangeReport:
        """Apply records delivered by the store's change stream, each exactly once.

        A stream delivers at least once, in any order across its shards, and several
        consumers may update the same row (hourly counts) at once. So each applied change (an
        event, or a bundle of them) leaves a marker row, written in the same atomic call as
        the rows it changed; a change whose marker exists is skipped, and a write that lost a
        race (a row or a marker changed since it was read) is read and applied again. Calls
        stay within the store's `max_atomic_writes`, so each one is all-or-nothing. Markers
        are written to expire (`Change.marker_expires_at`), so a store that expires rows drops
        them itself. The report counts records, not changes.
        """
        report = ChangeReport()
        units = [unit for _change, cut in self.marked_units(changes, report) for unit in cut]
        limit = self._atomic_limit(changes)
        chunk: list[Unit] = []
        keys: set[str] = set()
        for unit in units:
            if chunk and len(keys | unit.keys) + len(chunk) + 1 > limit:
                self._apply_chunk(chunk, report)
                chunk, keys = [], set()
            chunk.append(unit)
            keys |= unit.keys
        if chunk:
            self._apply_chunk(chunk, report)
        return report

    def _atomic_limit(self, changes: Sequence[Change]) -> int:
        """Rows one atomic write may hold: the store's limit, or more than these changes need."""
        return self.store.max_atomic_writes or sum(len(c.records) for c in changes) * 8 + 8

    def marked_units(
        self, changes: Sequence[Change], report: ChangeReport
    ) -> list[tuple[Change, list[Unit]]]:
        """Each change with its records of this projection's types, cut into the units
        `apply_changes` marks (`units_of`, at the store's atomic limit); the records of other
        types are counted as passed by in `report`."""
        limit = self._atomic_limit(changes)
        marked: list[tuple[Change, list[Unit]]] = []
        for change in changes:
            folded: list[Folded] = []
            for record in change.records:
                if record.type in self.TYPES:
                    event = load_payload(record.payload)
                    folded.append((record, event, self.row_keys(record, event)))
                else:
                    report.passed_by += 1
            if folded:
                marked.append((change, units_of(change, folded, limit)))
        return marked

    def _apply_chunk(self, chunk: list[Unit], report: ChangeReport) -> None:
        wanted = {key for unit in chunk for key in unit.keys}
        wanted.update(unit.marker for unit in chunk)
        done: set[str] = set()  # markers this call wrote (a retry finds them stored)
        for _attempt in range(_RETRIES):
            # Markers and rows in one round trip: they are rows of the same projection.
            stored = self.store.get_projections(self.NAME, wanted)
            todo = [unit for unit in chunk if unit.marker not in stored]
            try:
                halves = self._write_units(todo, stored, report, done) if todo else None
            except ConcurrencyError:
                # Another consumer changed one of these rows (or applied one of these
                # changes) since they were read: read again.
                report.conflicts += 1
                continue
            report.already_applied += sum(
                len(unit.folded)
                for unit in chunk
                if unit.marker in stored and unit.marker not in done
            )
            for half in halves or ():
                self._apply_chunk(half, report)
            return
        raise ConcurrencyError(f"projection {self.NAME} kept changing under {_RETRIES} retries")

    def _write_units(
        self,
        todo: list[Unit],
        stored: dict[str, ProjectionRow],
        report: ChangeReport,
        done: set[str],
    ) -> list[list[Unit]] | None:
        """Apply units to their rows as read (`stored`) and write the rows with the units'
        markers, in one atomic call. When index entries and totals make that call bigger than
        the store takes, the units go in two groups that share no row, each written from the
        same reads; when they all share one, the halves are returned to be read and applied
        again (`_apply_chunk`), each all-or-nothing (a unit alone always fits)."""
        touched: dict[str, tuple[Row, int]] = {}
        before: dict[str, Indexed] = {}
        for unit in todo:
            for record, event, keys in unit.folded:
                for key in keys:
                    entry = touched.get(key)
                    if entry is None:
                        entry = touched[key] = self._loaded(key, stored, record, event)
                        before[key] = self._indexed(entry)
                    self.apply(entry[0], record, event)
        # Not split here: the pieces could overflow one atomic write with the markers. A
        # projector with SPLIT_BYTES writes its own rows per change (AccessCounts).
        _values, writes, _split = self.row_writes(
            touched, split=False, before=before if self.INDEXED else None
        )
        writes += [
            ProjectionWrite(unit.marker, b"", 0, expires_at=unit.expires_at) for unit in todo
        ]
        most = self.store.max_atomic_writes
        if most is not None and len(todo) > 1 and store_items(writes) > most:
            groups = _apart(todo)
            if groups is None:
                middle = len(todo) // 2
                return [todo[:middle], todo[middle:]]
            for group in groups:
                # `stored` holds the rows as read; the rows of one group are not the other's.
                for part in self._write_units(group, stored, report, done) or ():
                    self._apply_chunk(part, report)
            return None
        self.store.write_projection(self.NAME, writes)
        report.applied += sum(len(unit.folded) for unit in todo)
        done.update(unit.marker for unit in todo)
        return None

    def prune_markers(self, now_hour: str) -> int:
        """Delete the markers of `apply_changes` older than MARKER_HOURS before `now_hour`
        (`YYYY-MM-DDTHH`, UTC); return how many were deleted.

        Only for a store without `expires_projection_rows` (SQLite, as the tests run the
        projector handler on it): DynamoDB's TTL drops markers by itself, for free, where this
        would pay a transactional delete per marker."""
        moment = datetime.fromisoformat(now_hour + ":00+00:00") - timedelta(hours=MARKER_HOURS)
        stop = APPLIED + moment.strftime("%Y-%m-%dT%H")
        old = list(self.store.read_projection(self.NAME, start=APPLIED, stop=stop))
        limit = self.store.max_atomic_writes or len(old) or 1
        deleted = 0
        for start in range(0, len(old), limit):
            group = old[start : start + limit]
            try:
                self.store.write_projection(
                    self.NAME, [ProjectionWrite(row.key, None, row.version) for row in group]
                )
            except ConcurrencyError:
                continue  # someone else is pruning the same markers
            deleted += len(group)
        return deleted

    def _loaded(
        self,
        key: str,
        stored: dict[str, ProjectionRow],
        record: EventRecord,
        event: dict[str, Any],
    ) -> tuple[Row, int]:
        """Row `key` as stored (parsed, with its version), or a new one at version 0."""
        found = stored.get(key)
        if found is None:
            return self.new_row(key, record, event), 0
        return from_json(found.value), found.version

    def forget(self) -> None:
        """Drop what this projector remembers of the stored rows (they changed elsewhere)."""
        self._drop_rows()
        self._checkpoint = None

    def _drop_rows(self) -> None:
        self._rows.clear()
        self._indexes.clear()
        self._sizes.clear()
        self._cached_bytes = 0

    def stored_checkpoint(self) -> tuple[Checkpoint, int]:
        row = self.store.get_projection(self.NAME, CHECKPOINT)
        return (Checkpoint.loads(row.value), row.version) if row else (Checkpoint(), 0)

    def _catch_up_once(self) -> int:
        applied = 0
        while True:
            checkpoint, version = self._checkpoint or self.stored_checkpoint()
            chunk = list(
                itertools.islice(
                    self.store.read_all(after_position=checkpoint.position), self.chunk
                )
            )
            if not chunk:
                return applied
            applied += self._apply(chunk, checkpoint, version, chunk[-1].position or 0)
            if len(chunk) < self.chunk:
                return applied

    def _apply(
        self,
        records: Sequence[EventRecord],
        checkpoint: Checkpoint,
        version: int,
        last: int,
        events: Sequence[dict[str, Any] | None] | None = None,
    ) -> int:
        """Fold records (in position order, right after the checkpoint, the last of them at
        position `last`) into their rows and write the rows with the new checkpoint,
        atomically; ConcurrencyError if someone else moved the checkpoint meanwhile.
        `events`: the records' events as already read, where known (see `Appended`)."""
        if not records:
            return 0
        types = self.TYPES
        folded: list[tuple[EventRecord, dict[str, Any], Sequence[str]]] = []
        wanted: set[str] = set()
        known = events if events is not None else [None] * len(records)
        for record, given in zip(records, known, strict=True):
            if record.type in types and not (
                checkpoint.floor is not None
                and checkpoint.skips(record, time_key(record.occurred_at))
            ):
                event = given if given is not None else load_payload(record.payload)
                keys = self.row_keys(record, event)
                folded.append((record, event, keys))
                wanted.update(keys)
        # Rows not remembered are fetched in one go: one query per row would cost more than
        # the folding itself.
        cached = self._rows
        stored = self.store.get_projections(self.NAME, [k for k in wanted if k not in cached])
        touched: dict[str, tuple[Row, int]] = {}
        before: dict[str, Indexed] = {}
        for record, event, keys in folded:
            for key in keys:
                entry = touched.get(key)
                if entry is None:
                    entry = cached.pop(key, None)
                    was = self._indexes.pop(key, None)
                    if entry is not None:
                        self._cached_bytes -= self._sizes.pop(key)
                    else:
                        entry, was = self._loaded(key, stored, record, event), None
                    touched[key] = entry
                    before[key] = was if was is not None else self._indexed(entry)
                self.apply(entry[0], record, event)
        values, writes, emptied = self.row_writes(touched, before=before if self.INDEXED else None)
        for key, row in emptied.items():
            touched[key] = (row, touched[key][1])
        done = _advance(checkpoint, last)
        writes.append(ProjectionWrite(CHECKPOINT, done.dumps(), version))
        self.store.write_projection(self.NAME, writes)
        size = sum(map(len, values.values()))
        full = len(self._rows) + len(touched) > self.MAX_CACHED
        if full or self._cached_bytes + size > self.MAX_CACHED_BYTES:
            self._drop_rows()
        for key, value in values.items():
            self._sizes[key] = len(value)
        self._cached_bytes += size
        for key, (row, row_version) in touched.items():
            self._rows[key] = (row, row_version + 1)
            if key in self._written_indexes and key not in emptied:
                self._indexes[key] = self._written_indexes[key]
        self._checkpoint = (done, version + 1)
        return len(records)


def _apart(units: list[Unit]) -> tuple[list[Unit], list[Unit]] | None:
    """The units in two groups of about equal size that share no row, or None if every unit
    is joined to every other by the rows they change."""
    groups: list[tuple[set[str], list[Unit]]] = []
    for unit in units:
        joined = [group for group in groups if group[0] & unit.keys]
        keys, members = set(unit.keys), [unit]
        for group in joined:
            keys |= group[0]
            members += group[1]
            groups.remove(group)
        groups.append((keys, members))
    if len(groups) < 2:
        return None
    first: list[Unit] = []
    second: list[Unit] = []
    for _keys, members in sorted(groups, key=lambda group: -len(group[1])):
        (first if len(first) <= len(second) else second).extend(members)
    return first, second


def store_items(writes: Sequence[ProjectionWrite]) -> int:
    """How many items an atomic write of these takes where each index entry and each total is
    an item of its own (DynamoDB): the rows, the entries they gain and lose, and one per total
    they change (a total changed by several rows is one item)."""
    entries = sum(len(w.index_add) + len(w.index_drop) for w in writes)
    return len(writes) + entries + len({name for w in writes for name, _delta in w.totals})


def _indexed_write(
    key: str, value: bytes, version: int, was: Indexed, now: Indexed
) -> ProjectionWrite:
    """A row's write with the entries it gains and loses and what it adds to the totals."""
    names = set(was.totals) | set(now.totals)
    deltas = ((n, now.totals.get(n, 0) - was.totals.get(n, 0)) for n in sorted(names))
    return ProjectionWrite(
        key,
        value,
        version,
        index_add=now.entries - was.entries,
        index_drop=was.entries - now.entries,
        totals=tuple((name, delta) for name, delta in deltas if delta),
    )


def units_of(change: Change, folded: list[Folded], limit: int) -> list[Unit]:
    """A change's records of one projection as marked units: one, unless a bundle's rows and
    marker would not fit one atomic write of `limit` rows."""
    expires = change.marker_expires_at
    if change.bundle is None:
        return [Unit(change.marker, expires, folded, frozenset(folded[0][2]))]
    parts: list[tuple[list[Folded], set[str]]] = [([], set())]
    for entry in folded:
        part, keys = parts[-1]
        if part and len(keys | set(entry[2])) + 1 > limit:
            parts.append(([], set()))
            part, keys = parts[-1]
        part.append(entry)
        keys.update(entry[2])
    if len(parts) == 1:
        return [Unit(change.marker, expires, folded, frozenset(parts[0][1]))]
    return [
        Unit(f"{change.marker}/{i}", expires, part, frozenset(keys))
        for i, (part, keys) in enumerate(parts)
    ]


def _advance(checkpoint: Checkpoint, position: int) -> Checkpoint:
    if checkpoint.floor is not None and position < checkpoint.replay_through:
        return Checkpoint(position, checkpoint.replay_through, checkpoint.floor)
    return Checkpoint(position)
