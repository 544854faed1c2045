"""What `prov ship` has delivered: per (stream, host, file), where to resume and how to count.

For every followed file the state keeps the file's identity (`st_dev:st_ino`), the byte offset
and next line number of the last entry boundary whose records Kinesis acknowledged, and the
occurrence counter (`provenance.domain.identity`) as of that boundary: the count of identical entry
heads seen before it, keyed by the first 8 bytes of the head's digest. A restart resumes at that
boundary with that counter, so lines are never lost and lines shipped again get the same event
ids (duplicates the store ignores).

An identity is not proof of content: ext4 gives a new file the inode of one just deleted, and
copytruncate keeps the inode while the content goes. So the state also keeps a `Fingerprint`
of what was shipped: the SHA-1 of the file's first line and of the line that ends at the
offset, with the bytes each of those lines took. Shipping resumes in a file (the same one, or a
rotated copy of it) only where it holds those lines (`provenance.aws.ship_files`). Rows saved by
format 1 have no fingerprint (`SavedFile.fingerprint` is None), rows of format 2 no size of
the first line (`Fingerprint.head_bytes`); their next commit adds them.

With the offset goes what the file's source remembered there (`memory`: lines, see
`provenance.sources.base.Source.memory`), so a restarted shipper reads on as the one that
stopped would have (and sends it with the next record). Format 2 kept none: a row of it
resumes with a fresh source.

The stream is kept by name: a stream given by ARN is the same stream (`stream_name`), and a
row saved under the ARN by an older prov is found under the name and moved there.

Paths are kept as the bytes the file system has (`os.fsencode`), so a name that is not UTF-8
is a key like any other. Format 1 kept them as text (UTF-8 names only, the others could not be
saved); opening such a file converts it, in one transaction, to the bytes of the same names.

The counter has one row per distinct head line, which for access logs is nearly one per line:
it is a table of its own (WITHOUT ROWID, keyed by file and digest) and a commit writes only the
counts that changed. A file's counter is dropped when the file it counted was rotated away (or
truncated) and fully shipped.

One SQLite file, one transaction per commit. A database of something else (an event store
given as `--state`) is refused before anything is written to it. WAL with synchronous=NORMAL:
a process crash loses nothing committed; a power loss may lose the last commits, which only
means shipping their records again (duplicates, never gaps). The file is private (0600) when
this module makes it (`provenance.files.output_file.prepare_database`); SQLite gives its -wal
and -shm files the same mode.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from provenance.domain.errors import ProvenanceError
from provenance.files.output_file import OutputError, prepare_database

SCHEMA_VERSION = 3
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
    head_bytes INTEGER,
    memory BLOB,
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
# Format 1 -> 3: paths from text to the bytes of the same names, and room for fingerprints and
# memory (NULL: none saved yet). Row ids are kept, so the counters still point at their files.
_FROM_FORMAT_1 = (
    _FILES_TABLE.format(name="shipped_files_2"),
    "INSERT INTO shipped_files_2 (id, stream, host, path, file_id, offset, next_line, updated_at)"
    " SELECT id, stream, host, CAST(path AS BLOB), file_id, offset, next_line, updated_at"
    " FROM shipped_files",
    "DROP TABLE shipped_files",
    "ALTER TABLE shipped_files_2 RENAME TO shipped_files",
)
# Format 2 -> 3: the size of the first line, and the source's memory (NULL: none saved).
_FROM_FORMAT_2 = (
    "ALTER TABLE shipped_files ADD COLUMN head_bytes INTEGER",
    "ALTER TABLE shipped_files ADD COLUMN memory BLOB",
)
_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
_KINESIS_STREAM_ARN = re.compile(r"arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/([^/]+)")


def stream_name(stream: str) -> str:
    """The name of a Kinesis stream given by name or by ARN (`arn:aws:kinesis:REGION:ACCOUNT:
    stream/NAME`): the same stream either way, so one state."""
    match = _KINESIS_STREAM_ARN.fullmatch(stream)
    return match[1] if match is not None else stream


def default_state_path() -> Path:
    """$XDG_STATE_HOME/prov/ship.db, or ~/.local/state/prov/ship.db."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "prov" / "ship.db"


class ShipStateError(ProvenanceError):
    """The state file cannot be opened or is not a `prov ship` state file (one-line reason)."""


@dataclass(frozen=True, slots=True)
class FileKey:
    """One followed file of one host, shipped to one stream (by name: `stream_name`)."""

    stream: str
    host: str
    path: str


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a file held before an offset, to know it again: the SHA-1 of its first line and of
    the line that ends at the offset (of the whole line, as `provenance.records.lines` reads it,
    even when over-long), and how many bytes that last line took (line end, and a byte-order mark,
    included)."""

    head: bytes
    tail: bytes
    tail_bytes: int
    head_bytes: int | None = None
    """The bytes the first line took (None in a row of format 2)."""


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
    memory: tuple[str, ...] = ()
    saved_at: datetime | None = None
    """When the row was last written (None: never)."""


@dataclass(frozen=True, slots=True)
class Advance:
    """Records of `key` up to byte `offset` (line `next_line` next) are acknowledged; `counts`
    holds the head counts that changed (absolute values, not increments), `memory` what the
    source remembered at the offset."""

    key: FileKey
    file_id: str
    offset: int
    next_line: int
    counts: dict[bytes, int]
    fingerprint: Fingerprint | None = None
    memory: tuple[str, ...] = ()


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
            # Before anything is written (switching to WAL writes the header): another
            # program's database, an event store above all, is not ours to add tables to.
            self._refuse_foreign(path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            with self._transaction():
                # Read inside the transaction: another shipper may be converting it right now.
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, 1, 2, SCHEMA_VERSION):
                    raise ShipStateError(
                        f"{path} has state format {version}; this prov reads {SCHEMA_VERSION}"
                    )
                if version == 0:
                    self._db.execute(_FILES_TABLE.format(name="shipped_files"))
                elif version in (1, 2):
                    # Format 1's rows go to a table of this format (`_FILES_TABLE`) at once.
                    for statement in _FROM_FORMAT_1 if version == 1 else _FROM_FORMAT_2:
                        self._db.execute(statement)
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (sqlite3.Error, OSError) as exc:
            raise ShipStateError(f"cannot open ship state {path}: {exc}") from exc

    def _refuse_foreign(self, path: Path) -> None:
        """A ShipStateError if the file holds tables but not those of a state file: tables
        without a state format (`user_version` 0), or a format we know without
        `shipped_files` (a format newer than ours is refused as such, after this)."""
        # One read transaction (BEGIN DEFERRED takes no write lock): both answers of one state,
        # even while another shipper is making the file.
        self._db.execute("BEGIN")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in self._db.execute(_TABLES)}
        finally:
            self._db.execute("COMMIT")
        foreign = (
            bool(tables - {"sqlite_sequence"})
            if version == 0
            else 0 < version <= SCHEMA_VERSION and "shipped_files" not in tables
        )
        if foreign:
            self._db.close()
            raise ShipStateError(
                f"{path} is an SQLite database of something else, not a ship state file; "
                "choose another path (--state)"
            )

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
        query = (
            "SELECT id, file_id, offset, next_line, head_sha1, tail_sha1, tail_bytes, head_bytes,"
            " memory, updated_at FROM shipped_files WHERE stream = ? AND host = ? AND path = ?"
        )
        row = self._db.execute(query, (key.stream, key.host, _path_key(key.path))).fetchone()
        if row is None and self._adopt_arn_row(key):
            row = self._db.execute(query, (key.stream, key.host, _path_key(key.path))).fetchone()
        if row is None:
            return None
        file_row, file_id, offset, next_line, head, tail, tail_bytes, head_bytes, memory, at = row
        counts = dict(
            self._db.execute("SELECT digest, count FROM head_counts WHERE file = ?", (file_row,))
        )
        fingerprint = (
            None
            if head is None or tail is None
            else Fingerprint(head, tail, tail_bytes, head_bytes)
        )
        return SavedFile(
            file_id,
            offset,
            next_line,
            counts,
            fingerprint,
            _memory_lines(memory),
            datetime.fromisoformat(at),
        )

    def _adopt_arn_row(self, key: FileKey) -> bool:
        """Move a row an older prov saved under the stream's ARN to the stream's name (it
        kept the stream as given): whether there was one."""
        rows = self._db.execute(
            "SELECT id, stream FROM shipped_files WHERE host = ? AND path = ?"
            " AND stream LIKE 'arn:%'",
            (key.host, _path_key(key.path)),
        ).fetchall()
        found = [row_id for row_id, stream in rows if stream_name(stream) == key.stream]
        if not found:
            return False
        with self._transaction():
            self._db.execute(
                "UPDATE shipped_files SET stream = ? WHERE id = ?", (key.stream, found[0])
            )
        return True

    def hosts(self, stream: str, path: str) -> list[str]:
        """The hosts under which `path` has been shipped to `stream` (by name, or by the ARN
        an older prov kept), in name order."""
        rows = self._db.execute(
            "SELECT stream, host FROM shipped_files WHERE path = ? ORDER BY host",
            (_path_key(path),),
        )
        return list(dict.fromkeys(host for name, host in rows if stream_name(name) == stream))

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
        offset, next_line, fingerprint, memory = (
            (0, 1, None, ())
            if isinstance(change, Reset)
            else (change.offset, change.next_line, change.fingerprint, change.memory)
        )
        head, tail, tail_bytes, head_bytes = (
            (None, None, None, None)
            if fingerprint is None
            else (
                fingerprint.head,
                fingerprint.tail,
                fingerprint.tail_bytes,
                fingerprint.head_bytes,
            )
        )
        row = self._db.execute(
            "INSERT INTO shipped_files (stream, host, path, file_id, offset, next_line,"
            " head_sha1, tail_sha1, tail_bytes, updated_at, head_bytes, memory)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (stream, host, path) DO UPDATE SET file_id = excluded.file_id,"
            " offset = excluded.offset, next_line = excluded.next_line,"
            " head_sha1 = excluded.head_sha1, tail_sha1 = excluded.tail_sha1,"
            " tail_bytes = excluded.tail_bytes, updated_at = excluded.updated_at,"
            " head_bytes = excluded.head_bytes, memory = excluded.memory"
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
                head_bytes,
                _memory_blob(memory),
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


def _memory_blob(memory: tuple[str, ...]) -> bytes | None:
    """A source's memory as stored: its lines' bytes, each ended by "\n" (no line holds one)."""
    if not memory:
        return None
    return b"".join(line.encode("utf-8", "surrogateescape") + b"\n" for line in memory)


def _memory_lines(blob: bytes | None) -> tuple[str, ...]:
    if not blob:
        return ()
    return tuple(line.decode("utf-8", "surrogateescape") for line in blob.split(b"\n")[:-1])


def _path_key(path: str) -> bytes:
    """A path as the file system has it: a name that is not UTF-8 (decoded with
    surrogateescape, as Python gives it) becomes its original bytes again."""
    return os.fsencode(path)
