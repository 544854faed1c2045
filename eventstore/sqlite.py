"""The embedded event store: one SQLite file in WAL mode, shared safely by several processes.

Owns the translation of sqlite3 exceptions into the store's errors (`_translate`, the only place
that looks at them); the file's layout, its version and migrations are `eventstore.sqlite_schema`,
how each field is packed into it (ids, times, compressed payloads) `eventstore.sqlite_codec`.

Concurrency: any number of processes may open the same file. Writers take SQLite's write lock
with `BEGIN IMMEDIATE` (waiting up to `BUSY_TIMEOUT_S` for it), so each append and each projection
write sees the latest committed state and commits whole or not at all; readers never block.
Positions are handed out under that lock, so they grow in commit order and a reader that pages
`read_all` by position never skips a record committed later. One `SQLiteEventStore` object
belongs to one thread (sqlite3 connections refuse to be shared): open one per thread or process.

Projection rows' `expires_at` is not stored: nothing here runs in the background to honour it
(`expires_projection_rows` is False), so such rows stay until deleted. Only the change-stream
projector writes expiring rows (applied-markers), and it prunes them itself on this backend;
projections over SQLite normally follow the feed by checkpoint and leave no markers at all.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from eventstore.errors import (
    EventStoreError,
    InvalidRequestError,
    StoreUnavailableError,
)
from eventstore.records import (
    AppendResult,
    EventRecord,
    ExpireResult,
    IndexEntry,
    ProjectionRow,
    ProjectionWrite,
)
from eventstore.sqlite_codec import (
    RAW,
    Dictionaries,
    event_id_of,
    id_value,
    moment_of,
    pack_value,
    time_value,
    time_value_of_key,
    unpack_value,
)
from eventstore.sqlite_files import MEMORY, SIDE_FILE_SUFFIXES, STORE_FILE_NAME
from eventstore.sqlite_schema import SQLiteSchema
from eventstore.store import (
    EventStore,
    bound_key,
    check_after_position,
    check_index_query,
    check_limit,
    check_projection_writes,
    check_record,
    conflict_error,
    parse_cursor,
)

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another process's write lock before giving up."""

__all__ = ["MEMORY", "SIDE_FILE_SUFFIXES", "STORE_FILE_NAME", "SQLiteEventStore"]

# Rows per query when streaming `read_all`, `streams` and `read_projection`: bounded memory,
# few enough round trips that paging costs nothing measurable.
_PAGE_ROWS = 5000
# Per-connection page cache (KiB). Appends update two indexes with random keys (event ids,
# streams); keeping their pages cached makes appends to a 500,000-event store ~15% faster
# than SQLite's 2 MB default. 32 MiB since the compact layout (3): its indexes take about 70
# bytes an event, a million events' worth fits, and the cache is a sixth of ingest's memory.
_CACHE_KIB = 32 * 1024
# WAL pages before a checkpoint copies them into the database (SQLite's default is 1,000).
# Random index updates dirty many pages per batch; checkpointing (and fsyncing) less often
# lets a page rewritten by several batches be copied once: about 15% faster appends, for a
# WAL file of up to ~40 MB.
_CHECKPOINT_PAGES = 10_000
# Larger than any position SQLite hands out (a signed 64-bit rowid).
_MAX_POSITION = 2**63 - 1
# SQLite's default is a few hundred bound variables per statement on old builds.
_IN_CHUNK = 500

_COLUMNS = "position, event_id, stream, type, time, dictionary, payload, expires"
_INSERT_EVENT = (
    "INSERT INTO events (event_id, stream, type, time, dictionary, payload, expires) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING"
)
_INSERT_PLACED = (
    "INSERT INTO events (event_id, stream, type, time, dictionary, payload, expires, position) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_ROW = (
    "INSERT INTO projections (projection, key, value, packed, version) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (projection, key) DO UPDATE SET value = excluded.value, "
    "version = excluded.version, packed = excluded.packed"
)
_LATEST_DICTIONARY = "SELECT id, data FROM dictionaries WHERE type = ? ORDER BY id DESC LIMIT 1"
# The tables numbering names.
_STREAMS = "streams"
_TYPES = "types"
# Names kept in memory each way, at most: an object's stream is named by its druid, and an
# audit run names millions of them; a cache emptied when full keeps memory flat, and a batch
# numbers its names in two statements whatever the cache holds.
_NAMES_KEPT = 100_000

# Primary result codes meaning "the file cannot be used right now", as opposed to a bug.
_UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_AUTH,
    }
)
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class SQLiteEventStore(SQLiteSchema, EventStore):
    """The event store in one SQLite file (see the module docstring for concurrency).

    `create=False` refuses to make a new file: opening a missing path raises
    StoreUnavailableError instead of silently starting an empty store.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self._where = str(path)
        if self._where != MEMORY:
            _check_location(Path(path), create=create)
        self._con: sqlite3.Connection | None = None
        # Numbers of stream and type names (`streams`, `types`), both ways: a number, once
        # committed, names the same thing for ever, so what was read once is kept.
        self._numbers: dict[str, dict[str, int]] = {_STREAMS: {}, _TYPES: {}}
        self._names: dict[str, dict[int, str]] = {_STREAMS: {}, _TYPES: {}}
        self._dictionaries = Dictionaries()
        # Types whose stored dictionary this process has looked for (another process may have
        # trained one: it is used rather than a second one trained).
        self._looked_up: set[str] = set()
        # Names numbered and types whose dictionary was trained in the write transaction under
        # way (`_forget_uncommitted`).
        self._fresh: list[tuple[str, str]] = []
        self._trained: list[str] = []
        try:
            self._con = _connect(self._where, create=create)
            self._ensure_schema(create=create)
        except sqlite3.Error as exc:
            self.close()
            raise _translate(exc, self._where, "open") from exc
        except EventStoreError:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteEventStore({self._where!r})"

    # -- events ---------------------------------------------------------------------------------

    def append(self, records: Sequence[EventRecord]) -> AppendResult:
        unique: list[EventRecord] = []
        distinct: set[str] = set()
        for record in records:
            check_record(record)
            if record.event_id not in distinct:
                distinct.add(record.event_id)
                unique.append(record)
        if not unique:
            return AppendResult()
        self._fresh.clear()
        self._trained.clear()
        try:
            with self._write("append to") as con:
                (last,) = con.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
                self._insert(con, unique, keep_positions=False)
                # We hold the write lock, so the rows past the old maximum position are
                # exactly the ones this call inserted, in insertion order: an exact answer
                # even when another process appended the same ids a moment ago.
                placed = dict(
                    con.execute(
                        "SELECT event_id, position FROM events WHERE position > ? "
                        "ORDER BY position",
                        (last,),
                    ).fetchall()
                )
        except BaseException:
            # Names and dictionaries numbered in a transaction that did not commit are not.
            self._forget_uncommitted()
            raise
        written: list[str] = []
        positions: list[int] = []
        for record in unique:
            at = placed.get(id_value(record.event_id))
            if at is not None:
                written.append(record.event_id)
                positions.append(at)
        if len(written) == len(records):
            return AppendResult(written=written, positions=positions, previous=last)
        # The first occurrence of a newly written id is the write; every other one a duplicate.
        unclaimed = set(written)
        duplicates: list[str] = []
        for record in records:
            if record.event_id in unclaimed:
                unclaimed.remove(record.event_id)
            else:
                duplicates.append(record.event_id)
        return AppendResult(
            written=written, duplicates=duplicates, positions=positions, previous=last
        )

    def _insert(
        self, con: sqlite3.Connection, records: Sequence[EventRecord], *, keep_positions: bool
    ) -> None:
        """Insert records (checked, ids distinct) in the compact layout, inside the caller's
        write transaction. The names it numbers (`_fresh`) and the dictionaries it trains
        (`_trained`) are noted as they are made, to be forgotten if the transaction does not
        commit. `keep_positions`: at each record's own position (a migration), else at new
        ones, passing stored ids by."""
        streams = self._number(con, _STREAMS, {record.stream for record in records})
        types = self._number(con, _TYPES, {record.type for record in records})
        self._choose_dictionaries(con, records)
        pack = self._dictionaries.pack
        rows = []
        for record in records:
            expires = record.expires_at
            number, payload = pack(record.type, record.payload)
            row: tuple[Any, ...] = (
                id_value(record.event_id),
                streams[record.stream],
                types[record.type],
                time_value(record.occurred_at),
                number,
                payload,
                None if expires is None else time_value(expires),
            )
            rows.append((*row, record.position) if keep_positions else row)
        con.executemany(_INSERT_PLACED if keep_positions else _INSERT_EVENT, rows)

    def _choose_dictionaries(self, con: sqlite3.Connection, records: Sequence[EventRecord]) -> None:
        """Make sure every type of `records` that has (or can now train) a dictionary uses it."""
        dictionaries = self._dictionaries
        waiting: dict[str, list[bytes]] = {}
        for record in records:
            if record.type not in dictionaries.current:
                waiting.setdefault(record.type, []).append(record.payload)
        for type_, payloads in waiting.items():
            if type_ not in self._looked_up:
                self._looked_up.add(type_)
                stored = con.execute(_LATEST_DICTIONARY, (type_,)).fetchone()
                if stored is not None:
                    dictionaries.adopt(type_, stored[0], stored[1])
                    continue
            if dictionaries.wants(type_):
                dictionaries.offer(type_, payloads)
            if dictionaries.ready(type_):
                # Someone may have stored one since this process last looked.
                stored = con.execute(_LATEST_DICTIONARY, (type_,)).fetchone()
                if stored is None:
                    # Noted before it exists: if anything fails from here to the commit, the
                    # dictionary is forgotten, never used for payloads no one can read.
                    self._trained.append(type_)
                    data = dictionaries.train(type_)
                    cursor = con.execute(
                        "INSERT INTO dictionaries (type, data) VALUES (?, ?)", (type_, data)
                    )
                    stored = (cursor.lastrowid, data)
                dictionaries.adopt(type_, stored[0], stored[1])

    def _forget_uncommitted(self) -> None:
        for type_ in self._trained:
            self._dictionaries.drop(type_)
            self._looked_up.discard(type_)
        self._trained.clear()
        for table, name in self._fresh:
            self._numbers[table].pop(name, None)
        self._fresh.clear()

    def _number(self, con: sqlite3.Connection, table: str, names: set[str]) -> dict[str, int]:
        """The numbers of these names in `table` (streams or types), numbering new ones."""
        numbers = self._numbers[table]
        if len(numbers) > _NAMES_KEPT:
            numbers.clear()
        missing = [name for name in names if name not in numbers]
        if missing:
            # Until the transaction commits, these numbers may still be given back: noted
            # before any of them is cached.
            self._fresh.extend((table, name) for name in missing)
            con.executemany(
                f"INSERT INTO {table} (name) VALUES (?) ON CONFLICT (name) DO NOTHING",
                [(name,) for name in missing],
            )
            for start in range(0, len(missing), _IN_CHUNK):
                chunk = missing[start : start + _IN_CHUNK]
                numbers.update(
                    con.execute(
                        f"SELECT name, id FROM {table} "
                        f"WHERE name IN ({', '.join('?' * len(chunk))})",
                        chunk,
                    ).fetchall()
                )
        return numbers

    def _number_of(self, table: str, name: str) -> int | None:
        """A stored name's number, or None if no record ever had it."""
        number = self._numbers[table].get(name)
        if number is None:
            rows = self._fetch("read", f"SELECT id FROM {table} WHERE name = ?", [name])
            if rows:
                number = rows[0][0]
        return number

    def _name_of(self, table: str, number: int) -> str:
        names = self._names[table]
        name = names.get(number)
        if name is None:
            if len(names) > _NAMES_KEPT:
                names.clear()
            rows = self._fetch("read", f"SELECT name FROM {table} WHERE id = ?", [number])
            if not rows:
                raise EventStoreError(
                    f"the event store at {self._where} is damaged: a record names "
                    f"{table[:-1]} number {number}, which it does not hold"
                )
            name = names[number] = rows[0][0]
        return name

    def _payload(self, number: int, data: bytes) -> bytes:
        if number != RAW and number not in self._dictionaries.known:
            rows = self._fetch("read", "SELECT data FROM dictionaries WHERE id = ?", [number])
            if not rows:
                raise EventStoreError(
                    f"the event store at {self._where} is damaged: a payload names "
                    f"dictionary {number}, which it does not hold"
                )
            self._dictionaries.known[number] = rows[0][0]
        return self._dictionaries.unpack(number, data)

    def _record(self, row: Sequence[Any]) -> EventRecord:
        position, key, stream, type_, moment, number, payload, expires = row
        return EventRecord(
            event_id=event_id_of(key),
            stream=self._name_of(_STREAMS, stream),
            type=self._name_of(_TYPES, type_),
            occurred_at=moment_of(moment),
            payload=self._payload(number, payload),
            position=position,
            expires_at=None if expires is None else moment_of(expires),
        )

    def read_stream(
        self,
        stream: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[EventRecord]:
        check_limit(limit)
        cursor = None if after is None else parse_cursor(after)
        number = self._number_of(_STREAMS, stream)
        if number is None:
            return []
        sql = f"SELECT {_COLUMNS} FROM events WHERE stream = ?"
        params: list[Any] = [number]
        if cursor is not None:
            try:
                moment = time_value_of_key(cursor[0])
            except (ValueError, OverflowError):
                raise InvalidRequestError(
                    f"{after!r} is not a paging cursor: its time is not a date and time"
                ) from None
            params.extend((moment, id_value(cursor[1])))
            sql += " AND (time, event_id) " + ("< (?, ?)" if descending else "> (?, ?)")
        order = "DESC" if descending else "ASC"
        sql += f" ORDER BY time {order}, event_id {order} LIMIT ?"
        params.append(-1 if limit is None else limit)
        return [self._record(row) for row in self._fetch("read", sql, params)]

    def read_all(
        self,
        *,
        types: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_position: int | None = None,
    ) -> Iterator[EventRecord]:
        # Arguments are checked here, eagerly; the generator below runs only when iterated.
        check_after_position(after_position)
        where: list[str] = []
        params: list[Any] = []
        if types is not None:
            names = sorted({types} if isinstance(types, str) else set(types))
            numbers = [self._number_of(_TYPES, name) for name in names]
            wanted = [number for number in numbers if number is not None]
            if not wanted:
                return iter(())
            where.append(f"type IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        for name, bound, test in (("since", since, ">="), ("until", until, "<")):
            if bound_key(name, bound) is not None:
                where.append(f"time {test} ?")
                params.append(time_value(cast(datetime, bound)))
        condition = "".join(f" AND {clause}" for clause in where)
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE position > ?{condition} "
            f"ORDER BY position LIMIT {_PAGE_ROWS}"
        )
        return self._feed(sql, params, after_position or 0)

    def _feed(self, sql: str, params: list[Any], position: int) -> Iterator[EventRecord]:
        # Each page is its own short read, so a slow consumer holds no snapshot open (which
        # would stop WAL checkpoints) and may append or write projections while iterating.
        while True:
            rows = self._fetch("read", sql, [position, *params])
            yield from map(self._record, rows)
            if len(rows) < _PAGE_ROWS:
                return
            position = rows[-1][0]

    def expire(self, now: datetime, *, through_position: int | None = None) -> ExpireResult:
        bound_key("now", now)
        if through_position is not None and (
            not isinstance(through_position, int) or isinstance(through_position, bool)
        ):
            raise InvalidRequestError(
                f"through_position must be None or an integer, got {through_position!r}"
            )
        condition = "expires <= ? AND position <= ?"
        params = (
            time_value(now),
            _MAX_POSITION if through_position is None else through_position,
        )
        with self._write("expire records in") as con:
            count, latest = con.execute(
                f"SELECT count(*), max(time) FROM events WHERE {condition}", params
            ).fetchone()
            if count:
                con.execute(f"DELETE FROM events WHERE {condition}", params)
        return ExpireResult(deleted=count, latest=None if latest is None else moment_of(latest))

    def streams(self, *, prefix: str = "") -> Iterator[str]:
        return self._streams(prefix)

    def _streams(self, prefix: str) -> Iterator[str]:
        # Names sharing a prefix are contiguous in the (binary) index order, starting at the
        # prefix itself, so the walk stops at the first name without it. A name stays numbered
        # after its records expired: only streams with a record are listed.
        sql = (
            "SELECT name FROM streams WHERE name {} ? AND EXISTS "
            "(SELECT 1 FROM events WHERE events.stream = streams.id) ORDER BY name LIMIT ?"
        )
        rows = self._fetch("read", sql.format(">="), [prefix, _PAGE_ROWS])
        while rows:
            for (name,) in rows:
                if not name.startswith(prefix):
                    return
                yield name
            if len(rows) < _PAGE_ROWS:
                return
            rows = self._fetch("read", sql.format(">"), [rows[-1][0], _PAGE_ROWS])

    # -- projections ----------------------------------------------------------------------------

    def get_projection(self, projection: str, key: str) -> ProjectionRow | None:
        rows = self._fetch(
            "read",
            "SELECT value, version, packed FROM projections WHERE projection = ? AND key = ?",
            [projection, key],
        )
        if not rows:
            return None
        value, version, packed = rows[0]
        return ProjectionRow(key=key, value=unpack_value(value, packed), version=version)

    def get_projections(self, projection: str, keys: Iterable[str]) -> dict[str, ProjectionRow]:
        wanted = sorted(set(keys))
        found: dict[str, ProjectionRow] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            for key, value, version, packed in self._fetch(
                "read",
                "SELECT key, value, version, packed FROM projections WHERE projection = ? "
                f"AND key IN ({', '.join('?' * len(chunk))})",
                [projection, *chunk],
            ):
                found[key] = ProjectionRow(
                    key=key, value=unpack_value(value, packed), version=version
                )
        return found

    def read_projection(
        self, projection: str, *, start: str | None = None, stop: str | None = None
    ) -> Iterator[ProjectionRow]:
        for name, bound in (("start", start), ("stop", stop)):
            if bound is not None and not isinstance(bound, str):
                raise InvalidRequestError(f"{name} must be None or a string, got {bound!r}")
        return self._projection_rows(projection, start, stop)

    def _projection_rows(
        self, projection: str, start: str | None, stop: str | None
    ) -> Iterator[ProjectionRow]:
        upper = "" if stop is None else " AND key < ?"
        sql = (
            "SELECT key, value, version, packed FROM projections "
            f"WHERE projection = ? AND key {{}} ?"
            f"{upper} ORDER BY key LIMIT {_PAGE_ROWS}"
        )
        tail = [] if stop is None else [stop]
        # The empty key is never stored (names are checked), so "> ''" starts at the first row.
        first = (">=", start) if start is not None else (">", "")
        rows = self._fetch("read", sql.format(first[0]), [projection, first[1], *tail])
        while rows:
            yield from (
                ProjectionRow(key=k, value=unpack_value(v, packed), version=n)
                for k, v, n, packed in rows
            )
            if len(rows) < _PAGE_ROWS:
                return
            rows = self._fetch("read", sql.format(">"), [projection, rows[-1][0], *tail])

    def write_projection(self, projection: str, writes: Sequence[ProjectionWrite]) -> None:
        check_projection_writes(projection, writes)
        if not writes:
            return
        with self._write("write a projection to") as con:
            # Versions are compared and rows written under one write lock, so no other writer
            # can slip in between; a mismatch raises before anything is written.
            current: dict[str, int] = {}
            for start in range(0, len(writes), _IN_CHUNK):
                keys = [write.key for write in writes[start : start + _IN_CHUNK]]
                current.update(
                    con.execute(
                        "SELECT key, version FROM projections WHERE projection = ? "
                        f"AND key IN ({', '.join('?' * len(keys))})",
                        [projection, *keys],
                    ).fetchall()
                )
            stale = [w for w in writes if current.get(w.key, 0) != w.expected_version]
            if stale:
                raise conflict_error(projection, stale, current)
            con.executemany(
                _UPSERT_ROW,
                [
                    (projection, w.key, *pack_value(w.value), w.expected_version + 1)
                    for w in writes
                    if w.value is not None
                ],
            )
            con.executemany(
                "DELETE FROM projections WHERE projection = ? AND key = ?",
                [(projection, w.key) for w in writes if w.value is None],
            )
            _write_index(con, projection, writes)

    def read_index(
        self,
        projection: str,
        index: str,
        *,
        start: str | None = None,
        stop: str | None = None,
        after: IndexEntry | None = None,
        limit: int,
        descending: bool = False,
    ) -> list[IndexEntry]:
        check_index_query(projection, index, start, stop, limit)
        where = ["projection = ?", "idx = ?"]
        params: list[Any] = [projection, index]
        # `after` (a row value comparison) is the bound SQLite seeks to, in place of the
        # range's own bound on that side when it is at least as tight: given both, SQLite
        # seeks to the range's bound and filters every entry up to `after`, so a page deep in
        # a list cost its depth (bench/fleet_scale.py).
        seek_start = after is not None and not descending and (start is None or after.term >= start)
        seek_stop = after is not None and descending and (stop is None or after.term < stop)
        if start is not None and not seek_start:
            where.append("term >= ?")
            params.append(start)
        if stop is not None and not seek_stop:
            where.append("term < ?")
            params.append(stop)
        if after is not None:
            where.append(f"(term, key) {'<' if descending else '>'} (?, ?)")
            params += [after.term, after.key]
        order = "DESC" if descending else "ASC"
        rows = self._fetch(
            "read",
            f"SELECT term, key FROM projection_index WHERE {' AND '.join(where)} "
            f"ORDER BY term {order}, key {order} LIMIT ?",
            [*params, limit],
        )
        return [IndexEntry(term, key) for term, key in rows]

    def projection_totals(self, projection: str) -> dict[str, int]:
        rows = self._fetch(
            "read",
            "SELECT name, value FROM projection_totals WHERE projection = ? AND value != 0",
            [projection],
        )
        return dict(rows)

    def put_projection(self, projection: str, rows: Mapping[str, bytes | None]) -> None:
        check_projection_writes(projection, [ProjectionWrite(k, v, 0) for k, v in rows.items()])
        if not rows:
            return
        with self._write("write a projection to") as con:
            con.executemany(
                _UPSERT_ROW,
                [
                    (projection, key, *pack_value(value), 1)
                    for key, value in rows.items()
                    if value is not None
                ],
            )
            con.executemany(
                "DELETE FROM projections WHERE projection = ? AND key = ?",
                [(projection, key) for key, value in rows.items() if value is None],
            )

    def clear_projection(self, projection: str) -> None:
        with self._write("clear a projection in") as con:
            for table in ("projections", "projection_index", "projection_totals"):
                con.execute(f"DELETE FROM {table} WHERE projection = ?", (projection,))

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # -- plumbing -------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._con is None:
            raise StoreUnavailableError(f"the event store at {self._where} is closed")
        return self._con

    def _fetch(self, action: str, sql: str, params: Sequence[Any]) -> list[Any]:
        con = self._connection()
        try:
            return con.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, self._where, action) from exc

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction holding SQLite's write lock from its first statement."""
        con = self._connection()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    # A failing rollback must not hide the error that caused it.
                    with contextlib.suppress(sqlite3.Error):
                        con.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _translate(exc, self._where, action) from exc


def _write_index(
    con: sqlite3.Connection, projection: str, writes: Sequence[ProjectionWrite]
) -> None:
    """The index entries and totals the writes carry, in their transaction."""
    drops = [(projection, i, t, w.key) for w in writes for i, t in w.index_drop]
    adds = [(projection, i, t, w.key) for w in writes for i, t in w.index_add]
    if drops:
        con.executemany(
            "DELETE FROM projection_index WHERE projection = ? AND idx = ? AND term = ? "
            "AND key = ?",
            drops,
        )
    if adds:
        con.executemany("INSERT OR IGNORE INTO projection_index VALUES (?, ?, ?, ?)", adds)
    deltas: dict[str, int] = {}
    for write in writes:
        for name, delta in write.totals:
            deltas[name] = deltas.get(name, 0) + delta
    changed = [(projection, name, delta) for name, delta in deltas.items() if delta]
    if changed:
        con.executemany(
            "INSERT INTO projection_totals VALUES (?, ?, ?) ON CONFLICT (projection, name) "
            "DO UPDATE SET value = value + excluded.value",
            changed,
        )
        # Zeros are not kept: the names a projection has ever used would pile up.
        con.executemany(
            "DELETE FROM projection_totals WHERE projection = ? AND name = ? AND value = 0",
            [(projection, name) for _p, name, _d in changed],
        )


def _check_location(path: Path, *, create: bool) -> None:
    """Refuse early, with a precise message, what SQLite would refuse with a vague one.

    A device, FIFO or socket is refused before SQLite opens it: SQLite would fail on it with
    "disk I/O error" and leave a `-journal` file beside it (in /dev, for /dev/null)."""
    try:
        mode: int | None = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot open the event store at {path}: {exc.strerror or exc}"
        ) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise StoreUnavailableError(
            f"no event store at {path}: it is a directory (name the store's file, such as "
            f"sqlite:///{path / STORE_FILE_NAME})"
        )
    if mode is not None and not stat.S_ISREG(mode):
        raise StoreUnavailableError(
            f"no event store at {path}: it is not a regular file ({_kind_of(mode)})"
        )
    if not create and mode is None:
        raise StoreUnavailableError(f"no event store at {path}: the file does not exist")
    if not path.parent.is_dir():
        raise StoreUnavailableError(
            f"cannot create the event store at {path}: {path.parent} is not an existing directory"
        )


def _kind_of(mode: int) -> str:
    """What a path that is neither a regular file nor a directory is, for people."""
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file SQLite can use"


def _connect(where: str, *, create: bool) -> sqlite3.Connection:
    if where == MEMORY:
        target = MEMORY
    else:
        # A URI, so that mode=rw refuses to create a file when create=False. Quoted from the
        # path's bytes: a name that is not UTF-8 is a file name all the same.
        path = quote(os.fsencode(os.path.abspath(where)))
        target = f"file:{path}?mode={'rwc' if create else 'rw'}"
    # isolation_level=None: no implicit transactions; `_write` issues BEGIN IMMEDIATE itself.
    con = sqlite3.connect(target, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        # WAL: readers and one writer at a time across processes, and commits without fsync
        # under synchronous=NORMAL (durable at checkpoints; a power cut can lose the last
        # commits but never corrupts the file).
        _enter_wal(con)
        con.execute("PRAGMA synchronous = NORMAL")
        con.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        con.execute(f"PRAGMA wal_autocheckpoint = {_CHECKPOINT_PAGES}")
    except BaseException:
        con.close()
        raise
    return con


def _enter_wal(con: sqlite3.Connection) -> None:
    """Put the database in WAL mode, waiting for other connections as long as any write waits.

    Changing the journal mode answers SQLITE_BUSY at once, without calling the busy handler,
    while another connection holds a lock on a file still in rollback mode (two processes
    making the same new store: the second failed within a millisecond). So the wait is here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.002
    while True:
        try:
            con.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            busy = isinstance(code, int) and code & 0xFF in _BUSY_CODES
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _translate(exc: sqlite3.Error, where: str, action: str) -> EventStoreError:
    """The one place that turns sqlite3 exceptions into the store's errors."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in _BUSY_CODES:
        return StoreUnavailableError(
            f"cannot {action} the event store at {where}: another process held it locked for "
            f"more than {BUSY_TIMEOUT_S:.0f} s; retry when it is done"
        )
    detail = " ".join(str(exc).split())
    if primary == sqlite3.SQLITE_CANTOPEN:
        detail += " (is the directory writable by this user?)"
    if primary in _UNAVAILABLE_CODES:
        return StoreUnavailableError(f"cannot {action} the event store at {where}: {detail}")
    return EventStoreError(f"cannot {action} the event store at {where}: {detail}")
