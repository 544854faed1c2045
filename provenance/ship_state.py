"""What `prov ship` has delivered: per (stream, host, file), where to resume and how to count.

For every followed file the state keeps the file's identity (`st_dev:st_ino`), the byte offset
and next line number of the last entry boundary whose records Kinesis acknowledged, and the
occurrence counter (`provenance.identity`) as of that boundary: the count of identical entry
heads seen before it, keyed by the first 8 bytes of the head's digest. A restart resumes at that
boundary with that counter, so lines are never lost and lines shipped again get the same event
ids (duplicates the store ignores).

The counter has one row per distinct head line, which for access logs is nearly one per line:
it is a table of its own (WITHOUT ROWID, keyed by file and digest) and a commit writes only the
counts that changed. A file's counter is dropped when the file it counted was rotated away (or
truncated) and fully shipped.

One SQLite file, one transaction per commit. WAL with synchronous=NORMAL: a process crash loses
nothing committed; a power loss may lose the last commits, which only means shipping their
records again (duplicates, never gaps). The file is private (0600) when this module makes it
(`provenance.output_file.prepare_database`); SQLite gives its -wal and -shm files the same
mode. Imports only `provenance.errors` and `provenance.output_file`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from provenance.errors import ProvenanceError
from provenance.output_file import OutputError, prepare_database

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS shipped_files (
    id INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    file_id TEXT NOT NULL,
    offset INTEGER NOT NULL,
    next_line INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (stream, host, path)
);
CREATE TABLE IF NOT EXISTS head_counts (
    file INTEGER NOT NULL REFERENCES shipped_files (id),
    digest BLOB NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (file, digest)
) WITHOUT ROWID;
"""


def default_state_path() -> Path:
    """$XDG_STATE_HOME/prov/ship.db, or ~/.local/state/prov/ship.db."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "prov" / "ship.db"


class ShipStateError(ProvenanceError):
    """The state file cannot be opened or is not a `prov ship` state file (one-line reason)."""


@dataclass(frozen=True, slots=True)
class FileKey:
    """One followed file of one host, shipped to one stream."""

    stream: str
    host: str
    path: str


@dataclass(slots=True)
class SavedFile:
    """Where shipping of a file resumes: the last acknowledged boundary and the counter there."""

    file_id: str
    offset: int
    next_line: int
    counts: dict[bytes, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Advance:
    """Records of `key` up to byte `offset` (line `next_line` next) are acknowledged; `counts`
    holds the head counts that changed (absolute values, not increments)."""

    key: FileKey
    file_id: str
    offset: int
    next_line: int
    counts: dict[bytes, int]


@dataclass(frozen=True, slots=True)
class Reset:
    """`key` now names another file (rotation) or the file was truncated: start it again at
    byte 0 with a fresh counter."""

    key: FileKey
    file_id: str


Change = Advance | Reset


class ShipState:
    """The state file. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            # Private (0600) when new: it names the files shipped and what they hold. The name
            # as given is checked (an empty one is refused, not taken for the current folder).
            prepare_database(path, private=True)
        except OutputError as exc:
            raise ShipStateError(f"cannot open ship state {exc.target}: {exc.reason}") from None
        path = self.path
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise ShipStateError(
                    f"{path} has state format {version}; this prov reads {SCHEMA_VERSION}"
                )
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (sqlite3.Error, OSError) as exc:
            raise ShipStateError(f"cannot open ship state {path}: {exc}") from exc

    def __enter__(self) -> ShipState:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def load(self, key: FileKey) -> SavedFile | None:
        """The saved state of `key`, with its whole counter; None if never shipped."""
        row = self._db.execute(
            "SELECT id, file_id, offset, next_line FROM shipped_files"
            " WHERE stream = ? AND host = ? AND path = ?",
            (key.stream, key.host, key.path),
        ).fetchone()
        if row is None:
            return None
        file_row, file_id, offset, next_line = row
        counts = dict(
            self._db.execute("SELECT digest, count FROM head_counts WHERE file = ?", (file_row,))
        )
        return SavedFile(file_id, offset, next_line, counts)

    def hosts(self, stream: str, path: str) -> list[str]:
        """The hosts under which `path` has been shipped to `stream`, in name order."""
        rows = self._db.execute(
            "SELECT host FROM shipped_files WHERE stream = ? AND path = ? ORDER BY host",
            (stream, path),
        )
        return [host for (host,) in rows]

    def commit(self, changes: Sequence[Change]) -> None:
        """Apply `changes` in order, all in one transaction."""
        if not changes:
            return
        now = datetime.now(UTC).isoformat()
        with self._transaction():
            for change in changes:
                file_row = self._file_row(change, now)
                if isinstance(change, Reset):
                    self._db.execute("DELETE FROM head_counts WHERE file = ?", (file_row,))
                    continue
                if change.counts:
                    self._db.executemany(
                        "INSERT INTO head_counts (file, digest, count) VALUES (?, ?, ?)"
                        " ON CONFLICT (file, digest) DO UPDATE SET count = excluded.count",
                        ((file_row, digest, n) for digest, n in change.counts.items()),
                    )

    def _file_row(self, change: Change, now: str) -> int:
        key = change.key
        offset, next_line = (
            (0, 1) if isinstance(change, Reset) else (change.offset, change.next_line)
        )
        row = self._db.execute(
            "INSERT INTO shipped_files (stream, host, path, file_id, offset, next_line, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (stream, host, path) DO UPDATE SET file_id = excluded.file_id,"
            " offset = excluded.offset, next_line = excluded.next_line,"
            " updated_at = excluded.updated_at"
            " RETURNING id",
            (key.stream, key.host, key.path, change.file_id, offset, next_line, now),
        ).fetchone()
        return int(row[0])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
