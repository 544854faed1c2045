"""The `prov ship` state file: offsets and occurrence counts per (stream, host, path)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from provenance.aws.ship_state import (
    Advance,
    FileKey,
    Fingerprint,
    Reset,
    ShipState,
    ShipStateError,
    default_state_path,
    stream_name,
)

KEY = FileKey("stream-a", "host-1", "/var/log/app.log")
OTHER = FileKey("stream-a", "host-2", "/var/log/app.log")
A, B, C = b"aaaaaaaa", b"bbbbbbbb", b"cccccccc"


def _rows(path: Path) -> list[tuple[bytes, int]]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute("SELECT digest, count FROM head_counts"))


def test_nothing_saved_for_a_new_file(tmp_path: Path) -> None:
    with ShipState(tmp_path / "ship.db") as state:
        assert state.load(KEY) is None


def test_advances_are_saved_and_counts_are_absolute(tmp_path: Path) -> None:
    path = tmp_path / "ship.db"
    with ShipState(path) as state:
        state.commit([Advance(KEY, "1:2", 100, 11, {A: 2, B: 1})])
        state.commit([Advance(KEY, "1:2", 250, 30, {B: 4, C: 1})])
    with ShipState(path) as state:  # reopened: it is on disk
        saved = state.load(KEY)
        assert saved is not None
        assert (saved.file_id, saved.offset, saved.next_line) == ("1:2", 250, 30)
        assert saved.counts == {A: 2, B: 4, C: 1}
        assert state.load(OTHER) is None


def test_reset_drops_the_counter_and_starts_the_new_file_at_zero(tmp_path: Path) -> None:
    path = tmp_path / "ship.db"
    with ShipState(path) as state:
        state.commit([Advance(KEY, "1:2", 100, 11, {A: 2}), Advance(OTHER, "1:9", 5, 2, {A: 7})])
        state.commit([Advance(KEY, "1:2", 180, 20, {B: 1}), Reset(KEY, "1:3")])
        saved = state.load(KEY)
        assert saved is not None
        assert (saved.file_id, saved.offset, saved.next_line, saved.counts) == ("1:3", 0, 1, {})
        # Another file's counter is untouched; nothing of the rotated file is left behind.
        other = state.load(OTHER)
        assert other is not None
        assert other.counts == {A: 7}
    assert _rows(path) == [(A, 7)]


def test_changes_after_a_reset_belong_to_the_new_file(tmp_path: Path) -> None:
    with ShipState(tmp_path / "ship.db") as state:
        state.commit(
            [
                Advance(KEY, "1:2", 100, 11, {A: 2}),
                Reset(KEY, "1:3"),
                Advance(KEY, "1:3", 9, 2, {C: 1}),
            ]
        )
        saved = state.load(KEY)
        assert saved is not None
        assert (saved.file_id, saved.offset, saved.counts) == ("1:3", 9, {C: 1})


def test_a_failed_commit_changes_nothing(tmp_path: Path) -> None:
    with ShipState(tmp_path / "ship.db") as state:
        state.commit([Advance(KEY, "1:2", 100, 11, {A: 2})])
        bad = Advance(KEY, "1:2", 200, 20, {B: object()})  # type: ignore[dict-item]
        with pytest.raises(sqlite3.Error):
            state.commit([Advance(KEY, "1:2", 150, 15, {A: 3}), bad])
        saved = state.load(KEY)
        assert saved is not None
        assert (saved.offset, saved.counts) == (100, {A: 2})


def test_a_file_that_is_not_a_state_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "ship.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ShipStateError, match=r"cannot open ship state .*ship\.db"):
        ShipState(path)


def test_default_path_follows_xdg_state_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_path() == tmp_path / "prov" / "ship.db"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_path() == tmp_path / "home" / ".local" / "state" / "prov" / "ship.db"


def test_fingerprints_are_saved_with_the_offset_and_dropped_by_a_reset(tmp_path: Path) -> None:
    mark = Fingerprint(b"h" * 20, b"t" * 20, 117)
    with ShipState(tmp_path / "ship.db") as state:
        state.commit([Advance(KEY, "1:2", 100, 11, {A: 2}, mark)])
        saved = state.load(KEY)
        assert saved is not None and saved.fingerprint == mark
        state.commit([Reset(KEY, "1:3")])
        saved = state.load(KEY)
        assert saved is not None and saved.fingerprint is None


def test_a_path_that_is_not_utf_8_is_kept_as_its_bytes(tmp_path: Path) -> None:
    """Issue 11, B4: such a name ended in UnicodeEncodeError from SQLite."""
    key = FileKey("stream-a", "host-1", os.fsdecode(b"/var/log/caf\xe9.log"))
    path = tmp_path / "ship.db"
    with ShipState(path) as state:
        state.commit([Advance(key, "1:2", 100, 11, {A: 2})])
        saved = state.load(key)
        assert saved is not None and saved.offset == 100
        assert state.hosts("stream-a", key.path) == ["host-1"]
        assert state.load(FileKey("stream-a", "host-1", "/var/log/caf\xe9.log")) is None
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT path FROM shipped_files").fetchall() == [
            (b"/var/log/caf\xe9.log",)
        ]


def test_a_state_file_of_format_1_is_converted_keeping_everything(tmp_path: Path) -> None:
    """Paths were text and there were no fingerprints: the rows are kept, the paths become
    the bytes of the same names, and a row has no fingerprint until its next commit."""
    path = tmp_path / "ship.db"
    with sqlite3.connect(path) as db:
        db.executescript(FORMAT_1_SCHEMA)
        db.execute(
            "INSERT INTO shipped_files VALUES (7, 'stream-a', 'host-1', '/var/log/app.log',"
            " '1:2', 100, 11, '2026-01-01T00:00:00+00:00')"
        )
        db.executemany("INSERT INTO head_counts VALUES (7, ?, ?)", [(A, 2), (B, 1)])
    with ShipState(path) as state:
        saved = state.load(KEY)
        assert saved is not None
        assert (saved.file_id, saved.offset, saved.next_line) == ("1:2", 100, 11)
        assert (saved.counts, saved.fingerprint) == ({A: 2, B: 1}, None)
        state.commit([Advance(KEY, "1:2", 150, 15, {A: 3}, Fingerprint(A * 3, B * 3, 50))])
    with ShipState(path) as state:  # opened again: already converted
        saved = state.load(KEY)
        assert saved is not None and saved.counts == {A: 3, B: 1}
        assert saved.fingerprint == Fingerprint(A * 3, B * 3, 50)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)
        assert db.execute("SELECT typeof(path) FROM shipped_files").fetchall() == [("blob",)]


def test_a_state_file_of_format_2_gains_memory_and_the_first_line_size(tmp_path: Path) -> None:
    """Format 2 kept no memory and no size of the first line: its rows resume with neither,
    and the next commit saves both."""
    path = tmp_path / "ship.db"
    with sqlite3.connect(path) as db:
        db.executescript(FORMAT_2_SCHEMA)
        db.execute(
            "INSERT INTO shipped_files VALUES (3, 'stream-a', 'host-1', ?, '1:2', 100, 11,"
            " ?, ?, 40, '2026-01-01T00:00:00+00:00')",
            (b"/var/log/app.log", A * 3, B * 3),
        )
        db.execute("INSERT INTO head_counts VALUES (3, ?, 2)", (A,))
    with ShipState(path) as state:
        saved = state.load(KEY)
        assert saved is not None
        assert (saved.offset, saved.counts, saved.memory) == (100, {A: 2}, ())
        assert saved.fingerprint == Fingerprint(A * 3, B * 3, 40, None)
        memory = ("processing caf\udce9", "second")  # a byte that is not UTF-8 survives
        state.commit([Advance(KEY, "1:2", 150, 15, {}, Fingerprint(A * 3, C * 3, 9, 33), memory)])
    with ShipState(path) as state:
        saved = state.load(KEY)
        assert saved is not None and saved.memory == memory
        assert saved.fingerprint == Fingerprint(A * 3, C * 3, 9, 33)
        state.commit([Reset(KEY, "1:3")])
        saved = state.load(KEY)
        assert saved is not None and (saved.memory, saved.fingerprint) == ((), None)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)


def test_a_stream_given_by_arn_is_the_stream_of_that_name(tmp_path: Path) -> None:
    """Issue 11, review 2: the state was keyed by the stream as typed, so a file shipped by
    name was shipped again, whole, when the stream was given by its ARN. A row an older prov
    saved under the ARN is found under the name."""
    arn = "arn:aws:kinesis:us-west-2:123456789012:stream/stream-a"
    assert stream_name(arn) == "stream-a"
    assert stream_name("arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s") == "s"
    assert stream_name("stream-a") == "stream-a"
    path = tmp_path / "ship.db"
    with ShipState(path) as state:
        state.commit([Advance(FileKey(arn, "host-1", KEY.path), "1:2", 100, 11, {A: 2})])
    with ShipState(path) as state:
        assert state.hosts("stream-a", KEY.path) == ["host-1"]
        saved = state.load(KEY)
        assert saved is not None and (saved.offset, saved.counts) == (100, {A: 2})
        state.commit([Advance(KEY, "1:2", 120, 13, {})])
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT stream, offset FROM shipped_files").fetchall() == [
            ("stream-a", 120)
        ]


def test_a_state_file_of_a_newer_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ship.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 4")
    with pytest.raises(ShipStateError, match="has state format 4; this prov reads 3"):
        ShipState(path)


FORMAT_1_SCHEMA = """
-- What format 1 of the state file was (an older prov's), to test its conversion.
CREATE TABLE shipped_files (
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
CREATE TABLE head_counts (
    file INTEGER NOT NULL REFERENCES shipped_files (id),
    digest BLOB NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (file, digest)
) WITHOUT ROWID;
PRAGMA user_version = 1;
"""

FORMAT_2_SCHEMA = """
-- What format 2 of the state file was (an older prov's), to test its conversion.
CREATE TABLE shipped_files (
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
);
CREATE TABLE head_counts (
    file INTEGER NOT NULL REFERENCES shipped_files (id),
    digest BLOB NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (file, digest)
) WITHOUT ROWID;
PRAGMA user_version = 2;
"""
