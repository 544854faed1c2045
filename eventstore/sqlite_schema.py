"""The SQLite store's file layout: its tables, the version of that layout (kept in the `meta`
table), and the migrations from older versions, applied in place when a file is opened.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventstore.errors import StoreUnavailableError
from eventstore.records import EventRecord

SCHEMA_VERSION = 4
"""The layout this module writes and reads; a file with a newer one is refused, not guessed at.
Older layouts are migrated in place when opened (`_MIGRATIONS`; version 2 -> 3 also `_repack`s
the records; 3 -> 4 adds the projections' indexes and totals)."""

# Only records with an expiry are indexed for `expire` (a partial index costs the others nothing).
_EXPIRY_INDEX = "CREATE INDEX events_by_expiry ON events (expires) WHERE expires IS NOT NULL"
_STREAM_INDEX = "CREATE INDEX events_by_stream ON events (stream, time, event_id)"

# Tables, in creation order (the fields' encodings: `eventstore.sqlite_codec`). `position` is
# AUTOINCREMENT so a position is never reused, even after the newest rows were deleted by hand;
# `time` and `expires` are microseconds since 1970 UTC; `stream` and `type` number names in
# tables of their own (an access stream's name is 25 bytes, in the row and in its index);
# `dictionary` is the preset dictionary the payload is compressed with (0: none).
_EVENTS = """CREATE TABLE events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id BLOB NOT NULL UNIQUE,
        stream INTEGER NOT NULL,
        type INTEGER NOT NULL,
        time INTEGER NOT NULL,
        dictionary INTEGER NOT NULL,
        payload BLOB NOT NULL,
        expires INTEGER
    )"""
# A projection's indexes (entries in (term, key) order, for pages of fleet-wide lists) and its
# totals (kept by deltas in the same transaction as its rows).
_INDEX_TABLES = (
    """CREATE TABLE projection_index (
        projection TEXT NOT NULL,
        idx TEXT NOT NULL,
        term TEXT NOT NULL,
        key TEXT NOT NULL,
        PRIMARY KEY (projection, idx, term, key)
    ) WITHOUT ROWID""",
    """CREATE TABLE projection_totals (
        projection TEXT NOT NULL,
        name TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (projection, name)
    ) WITHOUT ROWID""",
)
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE types (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    # AUTOINCREMENT: a number once handed out (even in a transaction that rolled back, whose
    # payloads some process may still hold) is never given to another dictionary.
    "CREATE TABLE dictionaries (id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, "
    "data BLOB NOT NULL)",
    _EVENTS,
    _STREAM_INDEX,
    _EXPIRY_INDEX,
    # `packed`: the value is zlib-compressed (`sqlite_codec.pack_value`).
    """CREATE TABLE projections (
        projection TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        version INTEGER NOT NULL,
        packed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (projection, key)
    ) WITHOUT ROWID""",
    *_INDEX_TABLES,
)

# How to bring an older layout to the next version, keyed by the version it upgrades from.
# Version 2 -> 3 (the compact rows) also copies every record (`SQLiteSchema._repack`).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: ("ALTER TABLE events ADD COLUMN expires_key TEXT",),
    2: (
        "DROP INDEX IF EXISTS events_by_stream",
        "DROP INDEX IF EXISTS events_by_expiry",
        "ALTER TABLE events RENAME TO old_events",
        *_SCHEMA[1:4],
        _EVENTS,
        _STREAM_INDEX,
        _EXPIRY_INDEX,
        "ALTER TABLE projections ADD COLUMN packed INTEGER NOT NULL DEFAULT 0",
    ),
    3: _INDEX_TABLES,
}
_OLD_ROWS = (
    "SELECT position, event_id, stream, type, time_key, payload, expires_key FROM old_events "
    "WHERE position > ? ORDER BY position LIMIT 5000"
)

_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"


class SQLiteSchema:
    """Creating, checking and migrating the layout: what `SQLiteEventStore` does on opening."""

    _where: str
    _fresh: list[tuple[str, str]]

    if TYPE_CHECKING:

        def _fetch(self, action: str, sql: str, params: Sequence[Any]) -> list[Any]: ...

        def _write(self, action: str) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

        def _insert(
            self, con: sqlite3.Connection, records: Sequence[EventRecord], *, keep_positions: bool
        ) -> None: ...

    def _ensure_schema(self, *, create: bool) -> None:
        version = self._schema_version()
        if version is not None:
            if version < SCHEMA_VERSION:
                self._migrate()
            return
        if not create:
            raise StoreUnavailableError(
                f"{self._where} is an empty SQLite database, not an event store"
            )
        with self._write("create") as con:
            # Another process may have created the schema while this one waited for the lock.
            if self._schema_version() is None:
                for statement in _SCHEMA:
                    con.execute(statement)
                con.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )

    def _schema_version(self) -> int | None:
        """The file's schema version, or None if it is empty; refuses foreign or newer files."""
        tables = {name for (name,) in self._fetch("open", _TABLES, ())}
        if "meta" not in tables:
            if tables - {"sqlite_sequence"}:
                raise StoreUnavailableError(
                    f"{self._where} is an SQLite database of something else, not an event "
                    "store; choose another path"
                )
            return None
        version = self._stored_version()
        if version not in _MIGRATIONS and version != SCHEMA_VERSION:
            raise StoreUnavailableError(
                f"the event store at {self._where} has schema version {version}; this program "
                f"reads version {SCHEMA_VERSION}: use a matching version of the program"
            )
        return version

    def _stored_version(self) -> int:
        rows = self._fetch("open", "SELECT value FROM meta WHERE key = 'schema_version'", ())
        return int(rows[0][0]) if rows else 0

    def _migrate(self) -> None:
        """Upgrade an older layout in place, one version at a time, under the write lock."""
        with self._write("upgrade") as con:
            # Another process may have upgraded the file while this one waited for the lock.
            version = self._stored_version()
            while version < SCHEMA_VERSION:
                for statement in _MIGRATIONS[version]:
                    con.execute(statement)
                if version == 2:
                    self._repack(con)
                version += 1
            con.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )

    def _repack(self, con: sqlite3.Connection) -> None:
        """Copy the records of a version 2 file (`old_events`) into the compact rows, each at
        its own position, then drop the old table. The position sequence carries over, so a
        position is never handed out twice."""
        position = 0
        while True:
            rows = con.execute(_OLD_ROWS, (position,)).fetchall()
            if not rows:
                break
            self._insert(
                con,
                [
                    EventRecord(
                        event_id=event_id,
                        stream=stream,
                        type=type_,
                        occurred_at=datetime.fromisoformat(key),
                        payload=payload,
                        position=at,
                        expires_at=None if expires is None else datetime.fromisoformat(expires),
                    )
                    for at, event_id, stream, type_, key, payload, expires in rows
                ],
                keep_positions=True,
            )
            # Committed with the rest or not at all (the store is not opened then): nothing
            # to forget one batch at a time, and the list would hold every stream's name.
            self._fresh.clear()
            position = rows[-1][0]
        (used,) = con.execute(
            "SELECT coalesce(max(seq), 0) FROM sqlite_sequence "
            "WHERE name IN ('events', 'old_events')"
        ).fetchone()
        con.execute("DROP TABLE old_events")
        con.execute("DELETE FROM sqlite_sequence WHERE name IN ('events', 'old_events')")
        (top,) = con.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
        con.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (max(used, top),)
        )
