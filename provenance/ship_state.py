"""What `prov ship` has delivered: per (stream, host, file), where to resume and how to count.

For every followed file the state keeps the file's identity (`st_dev:st_ino`), the byte offset
and next line number of the last entry boundary whose records Kinesis acknowledged, and the
occurrence counter (`provenance.identity`) as of that boundary: the count of identical entry
heads seen before it, keyed by the first 8 bytes of the head's digest. A restart resumes at that
boundary with that counter, so lines are never lost and lines shipped again get the same event
ids (duplicates the store ignores).

An identity is not proof of content: ext4 gives a new file the inode of one just deleted, and
copytruncate keeps the inode while the content goes. So the state also keeps a `Fingerprint`
of what was shipped: the SHA-1 of the file's first line and of the line that ends at the
offset, with the bytes that line took. Shipping resumes in a file (the same one, or a rotated
copy of it) only where it holds those lines (`provenance.ship`). Rows saved by format 1 have
no fingerprint (`SavedFile.fingerprint` is None); their next commit adds one.

Paths are kept as the bytes the file system has (`os.fsencode`), so a name that is not UTF-8
is a key like any other. Format 1 kept them as text (UTF-8 names only, the others could not be
saved); opening such a file converts it, in one transaction, to the bytes of the same names.

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

SCHEMA_VERSION = 2
_FILES_TABLE = """
CREATE TABLE {name} (
    id INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    host TEXT NOT NULL,
    path BLOB NOT NULL,
    file_id TEXT NOT NULL,
    offset INTEGER NOT NULL,
    next_line INTEGER NOT NULL,
    head_sha1 BLOB,
    tail_sha1 BLOB,
    tail_bytes INTEGER,
    updated_at TEXT NOT NULL,
    UNIQUE (stream, host, path)
)
"""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS head_counts (
    file INTEGER NOT NULL REFERENCES shipped_files (id),
    digest BLOB NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (file, digest)
) WITHOUT ROWID;
"""
# Format 1 -> 2: paths from text to the bytes of the same names, and room for fingerprints
# (NULL: none saved yet). Row ids are kept, so the counters still point at their files.
_FROM_FORMAT_1 = (
    _FILES_TABLE.format(name="shipped_files_2"),
    "INSERT INTO shipped_files_2 (id, stream, host, path, file_id, offset, next_line, updated_at)"
    " SELECT id, stream, host, CAST(path AS BLOB), file_id, offset, next_line, updated_at"
    " FROM shipped_files",
    "DROP TABLE shipped_files",
    "ALTER TABLE shipped_files_2 RENAME TO shipped_files",
)


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


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a file held before an offset, to know it again: the SHA-1 of its first line and of
    the line that ends at the offset (of the whole line, as `provenance.lines` reads it, even
    when over-long), and how many bytes that last line took (line end, and a byte-order mark,
    included)."""

    head: bytes
    tail: bytes
    tail_bytes: int


@dataclass(slots=True)
class SavedFile:
    """Where shipping of a file resumes: the last acknowledged boundary and the counter there,
    and the fingerprint of what was shipped before it (None: nothing was, or the row was saved
    by format 1)."""

    file_id: str
    offset: int
    next_line: int
    counts: dict[bytes, int] = field(default_factory=dict)
    fingerprint: Fingerprint | None = None


@dataclass(frozen=True, slots=True)
class Advance:
    """Records of `key` up to byte `offset` (line `next_line` next) are acknowledged; `counts`
    holds the head counts that changed (absolute values, not increments)."""

    key: FileKey
    file_id: str
    offset: int
    next_line: int
    counts: dict[bytes, int]
    fingerprint: Fingerprint | None = None


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
            with self._transaction():
                # Read inside the transaction: another shipper may be converting it right now.
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, 1, SCHEMA_VERSION):
                    raise ShipStateError(
                        f"{path} has state format {version}; this prov reads {SCHEMA_VERSION}"
                    )
                if version == 0:
                    self._db.execute(_FILES_TABLE.format(name="shipped_files"))
                elif version == 1:
                    for statement in _FROM_FORMAT_1:
                        self._db.execute(statement)
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
            "SELECT id, file_id, offset, next_line, head_sha1, tail_sha1, tail_bytes"
            " FROM shipped_files WHERE stream = ? AND host = ? AND path = ?",
            (key.stream, key.host, _path_key(key.path)),
        ).fetchone()
        if row is None:
            return None
        file_row, file_id, offset, next_line, head, tail, tail_bytes = row
        counts = dict(
            self._db.execute("SELECT digest, count FROM head_counts WHERE file = ?", (file_row,))
        )
        fingerprint = None if head is None or tail is None else Fingerprint(head, tail, tail_bytes)
        return SavedFile(file_id, offset, next_line, counts, fingerprint)

    def hosts(self, stream: str, path: str) -> list[str]:
        """The hosts under which `path` has been shipped to `stream`, in name order."""
        rows = self._db.execute(
            "SELECT host FROM shipped_files WHERE stream = ? AND path = ? ORDER BY host",
            (stream, _path_key(path)),
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
        offset, next_line, fingerprint = (
            (0, 1, None)
            if isinstance(change, Reset)
            else (change.offset, change.next_line, change.fingerprint)
        )
        head, tail, tail_bytes = (
            (None, None, None)
            if fingerprint is None
            else (fingerprint.head, fingerprint.tail, fingerprint.tail_bytes)
        )
        row = self._db.execute(
            "INSERT INTO shipped_files (stream, host, path, file_id, offset, next_line,"
            " head_sha1, tail_sha1, tail_bytes, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (stream, host, path) DO UPDATE SET file_id = excluded.file_id,"
            " offset = excluded.offset, next_line = excluded.next_line,"
            " head_sha1 = excluded.head_sha1, tail_sha1 = excluded.tail_sha1,"
            " tail_bytes = excluded.tail_bytes, updated_at = excluded.updated_at"
            " RETURNING id",
            (
                key.stream,
                key.host,
                _path_key(key.path),
                change.file_id,
                offset,
                next_line,
                head,
                tail,
                tail_bytes,
                now,
            ),
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


def _path_key(path: str) -> bytes:
    """A path as the file system has it: a name that is not UTF-8 (decoded with
    surrogateescape, as Python gives it) becomes its original bytes again."""
    return os.fsencode(path)
