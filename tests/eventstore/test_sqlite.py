"""The SQLite backend: the shared contract, plus what only a file-backed store can get wrong."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from eventstore import (
    EventRecord,
    EventStoreError,
    IndexEntry,
    ProjectionWrite,
    StoreUnavailableError,
)
from eventstore import sqlite as sqlite_backend
from eventstore.sqlite import MEMORY, SQLiteEventStore
from eventstore.sqlite_schema import SCHEMA_VERSION
from tests.eventstore.contract import EventStoreContract, StoreOpener, event, unstored


class TestSQLiteStore(EventStoreContract):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.created = 0

    def create_store(self) -> SQLiteEventStore:
        self.created += 1
        self.path = self.directory / f"events-{self.created}.db"
        return SQLiteEventStore(self.path)

    def store_opener(self) -> StoreOpener:
        return partial(SQLiteEventStore, self.path, create=False)


def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with SQLiteEventStore(path) as store:
        store.append([event("a")])
        store.write_projection("p", [ProjectionWrite("k", b"v", 0)])

    with SQLiteEventStore(path, create=False) as store:
        assert unstored(store.read_stream("druid:bc123df4567")) == [event("a")]
        assert store.append([event("a")]).duplicates == ["a"]
        row = store.get_projection("p", "k")
        assert row is not None
        assert row.version == 1


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    SQLiteEventStore(path).close()

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_opening_a_new_store_another_process_is_writing_waits_for_it(tmp_path: Path) -> None:
    """Two first ingests into one new store: SQLite answers the switch to WAL with BUSY at
    once while the other holds a lock on the file in rollback mode; opening waits instead."""
    path = tmp_path / "events.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    done = threading.Event()
    timer = threading.Timer(0.3, lambda: (other.execute("ROLLBACK"), done.set()))
    timer.start()
    try:
        with SQLiteEventStore(path) as store:
            store.append([event("a")])
        assert done.is_set()
    finally:
        timer.join()
        other.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_memory_store_works_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SQLiteEventStore(MEMORY) as store:
        store.append([event("a")])
        assert [r.event_id for r in store.read_all()] == ["a"]
    assert list(tmp_path.iterdir()) == []


def test_missing_file_without_create(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"

    with pytest.raises(StoreUnavailableError, match=r"absent\.db"):
        SQLiteEventStore(path, create=False)

    assert not path.exists()


def test_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "events.db"

    with pytest.raises(StoreUnavailableError, match=r"events\.db"):
        SQLiteEventStore(path)


def test_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")

    with pytest.raises(StoreUnavailableError, match="plain"):
        SQLiteEventStore(tmp_path / "plain" / "events.db")


def test_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    garbage = b"this is not a database\n" * 200
    path.write_bytes(garbage)

    with pytest.raises(StoreUnavailableError, match=r"notes\.db") as caught:
        SQLiteEventStore(path)

    assert "\n" not in str(caught.value)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    assert path.read_bytes() == garbage


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER)")

    with pytest.raises(StoreUnavailableError, match="not an event store"):
        SQLiteEventStore(path)


def test_empty_database_without_create(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()

    with pytest.raises(StoreUnavailableError, match=r"empty\.db"):
        SQLiteEventStore(path, create=False)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    SQLiteEventStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")

    with pytest.raises(StoreUnavailableError, match="schema version 99"):
        SQLiteEventStore(path)


def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    # The layout of schema version 1, as the first release wrote it.
    with sqlite3.connect(path) as raw:
        raw.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, type TEXT NOT NULL,
                time_key TEXT NOT NULL, payload BLOB NOT NULL);
            CREATE INDEX events_by_stream ON events (stream, time_key, event_id);
            CREATE TABLE projections (projection TEXT NOT NULL, key TEXT NOT NULL,
                value BLOB NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (projection, key))
                WITHOUT ROWID;
            INSERT INTO meta VALUES ('schema_version', '1');
            INSERT INTO events (event_id, stream, type, time_key, payload)
                VALUES ('a', 's', 't', '2026-03-01T00:00:00.000000Z', x'00');
            """
        )

    with SQLiteEventStore(path) as store:
        (old,) = store.read_all()
        assert old.event_id == "a" and old.expires_at is None
        store.append([EventRecord("b", "s", "t", old.occurred_at, b"", expires_at=old.occurred_at)])
        assert store.expire(old.occurred_at).deleted == 1
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any directory")
def test_unwritable_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(StoreUnavailableError, match=r"events\.db"):
            SQLiteEventStore(locked / "events.db")
    finally:
        locked.chmod(0o700)


def test_a_writer_locked_out_for_too_long_gets_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.db"
    SQLiteEventStore(path).close()
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_S", 0.2)
    with SQLiteEventStore(path) as store:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreUnavailableError, match="locked"):
                store.append([event("a")])
        finally:
            holder.execute("ROLLBACK")
            holder.close()

        assert store.append([event("a")]).written == ["a"]


def test_using_a_store_from_another_thread_is_an_error(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with SQLiteEventStore(tmp_path / "events.db") as store, ThreadPoolExecutor(1) as pool:
        future = pool.submit(store.read_stream, "druid:bc123df4567")
        with pytest.raises(EventStoreError, match="thread"):
            future.result()


def test_rows_written_with_an_expiry_stay_until_deleted(tmp_path: Path) -> None:
    # Nothing in SQLite runs in the background: the projector prunes its markers itself.
    past = datetime(2026, 3, 1, tzinfo=UTC)
    with SQLiteEventStore(tmp_path / "events.db") as store:
        store.write_projection("p", [ProjectionWrite("$applied/a", b"", 0, expires_at=past)])

        assert not store.expires_projection_rows
        assert [row.key for row in store.read_projection("p")] == ["$applied/a"]


@pytest.mark.parametrize("descending", [False, True])
def test_a_page_deep_in_an_index_range_costs_what_the_first_page_costs(
    tmp_path: Path, descending: bool
) -> None:
    # `prov objects --status ok --root R` reads one term's entries (thousands of objects) by
    # a range: a page after an entry deep in it must start there, not walk up to it.
    store = SQLiteEventStore(tmp_path / "events.db")
    keys = [f"druid:{n:05d}" for n in range(3000)]
    store.write_projection(
        "p", [ProjectionWrite(k, b"{}", 0, index_add=frozenset({("status", "ok|r")})) for k in keys]
    )
    near = IndexEntry("ok|r", keys[2950 if descending else 50])
    deep = IndexEntry("ok|r", keys[200 if descending else 2800])

    def steps(after: IndexEntry) -> int:
        counted = [0]

        def count() -> int:
            counted[0] += 1
            return 0

        assert store._con is not None
        store._con.set_progress_handler(count, 1)
        page = store.read_index(
            "p", "status", start="ok|r", stop="ok|r ", after=after, limit=50, descending=descending
        )
        store._con.set_progress_handler(None, 1)
        assert len(page) == 50
        return counted[0]

    # SQLite's virtual machine steps, not time: the same for any depth, give or take.
    assert steps(deep) < 1.2 * steps(near)
