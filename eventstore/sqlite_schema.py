"""The SQLite store's file layout: its tables, the version of that layout (kept in the `meta`
table), and the migrations from older versions, applied in place when a file is opened.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eventstore.errors import StoreUnavailableError

SCHEMA_VERSION = 2
"""The layout this module writes and reads; a file with a newer one is refused, not guessed at.
Older layouts are migrated in place when opened (`_MIGRATIONS`)."""

# Only records with an expiry are indexed for `expire` (a partial index costs the others nothing).
_EXPIRY_INDEX = (
    "CREATE INDEX events_by_expiry ON events (expires_key) WHERE expires_key IS NOT NULL"
)
# How to bring an older layout to the next version, keyed by the version it upgrades from.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: ("ALTER TABLE events ADD COLUMN expires_key TEXT", _EXPIRY_INDEX),
}

# Tables, in creation order. `position` is AUTOINCREMENT so a position is never reused, even
# after the newest rows were deleted by hand; `time_key` (records.time_key) sorts as time and is
# also how occurred_at is kept (UTC, to the microsecond); `expires_key` likewise for expires_at.
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        stream TEXT NOT NULL,
        type TEXT NOT NULL,
        time_key TEXT NOT NULL,
        payload BLOB NOT NULL,
        expires_key TEXT
    )""",
    "CREATE INDEX events_by_stream ON events (stream, time_key, event_id)",
    _EXPIRY_INDEX,
    """CREATE TABLE projections (
        projection TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (projection, key)
    ) WITHOUT ROWID""",
)

_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"


class SQLiteSchema:
    """Creating, checking and migrating the layout: what `SQLiteEventStore` does on opening."""

    _where: str

    if TYPE_CHECKING:

        def _fetch(self, action: str, sql: str, params: Sequence[Any]) -> list[Any]: ...

        def _write(self, action: str) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

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
                version += 1
            con.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
