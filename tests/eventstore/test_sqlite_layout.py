"""The embedded store's compact layout (schema version 3) and the upgrade of older files.

`fixtures/store-v2.db.gz` is a store written by the code before the compact layout (commit
328d8ee, schema version 2): `prov ingest` of a small demo world's audit, robot and repository
event logs (`generate(objects=3, days=5)`), then 60 lines of its stacks access log and one
bad line with `--source clf --service stacks`.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore import (
    EventRecord,
    EventStoreError,
    IndexEntry,
    InvalidRequestError,
    ProjectionRow,
    ProjectionWrite,
    SQLiteEventStore,
)
from eventstore.sqlite_codec import (
    Dictionaries,
    event_id_of,
    id_value,
    moment_of,
    pack_value,
    time_value,
    unpack_value,
)
from eventstore.sqlite_schema import SCHEMA_VERSION

FIXTURE = Path(__file__).parent / "fixtures" / "store-v2.db.gz"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _v2_store(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    with gzip.open(FIXTURE) as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return path


def _v2_contents(path: Path) -> tuple[list[EventRecord], list[tuple[str, str, bytes, int]], int]:
    """What a version 2 file holds, read the way the version 2 code read it."""
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT value FROM meta").fetchone() == ("2",)
        records = [
            EventRecord(
                event_id=event_id,
                stream=stream,
                type=type_,
                occurred_at=datetime.fromisoformat(key),
                payload=payload,
                position=position,
                expires_at=None if expires is None else datetime.fromisoformat(expires),
            )
            for position, event_id, stream, type_, key, payload, expires in raw.execute(
                "SELECT position, event_id, stream, type, time_key, payload, expires_key "
                "FROM events ORDER BY position"
            )
        ]
        rows = raw.execute(
            "SELECT projection, key, value, version FROM projections ORDER BY projection, key"
        ).fetchall()
        (sequence,) = raw.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
        ).fetchone()
    return records, rows, sequence


def test_a_store_made_by_the_previous_version_is_upgraded_and_reads_the_same(
    tmp_path: Path,
) -> None:
    path = _v2_store(tmp_path)
    records, rows, sequence = _v2_contents(path)
    assert len(records) > 150 and {r.type for r in records} >= {
        "ServiceAccessed",
        "LineQuarantined",
    }

    with SQLiteEventStore(path) as store:
        assert list(store.read_all()) == records
        for stream in {r.stream for r in records}:
            mine = [r for r in records if r.stream == stream]
            mine.sort(key=lambda r: (r.occurred_at, r.event_id))
            assert store.read_stream(stream) == mine
        assert list(store.streams()) == sorted({r.stream for r in records})
        stored = [
            (name, row.key, row.value, row.version)
            for name in sorted({name for name, _, _, _ in rows})
            for row in store.read_projection(name)
        ]
        assert stored == rows
        # Positions go on from where the old file's sequence was.
        new = EventRecord("after-upgrade", "druid:bc123df4567", "Test", T0, b"{}")
        result = store.append([new, records[0]])
        assert result.written == ["after-upgrade"] and result.duplicates == [records[0].event_id]
        assert result.positions == [sequence + 1]

    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)
        tables = {name for (name,) in raw.execute("SELECT name FROM sqlite_master")}
        assert "old_events" not in tables
        # Every UUID id is kept in 16 bytes; the access events' payloads are compressed.
        kinds = dict(raw.execute("SELECT typeof(event_id), count(*) FROM events GROUP BY 1"))
        assert kinds == {"blob": len(records), "text": 1}
        (packed,) = raw.execute("SELECT count(*) FROM events WHERE dictionary != 0").fetchone()
        assert packed > 0


def test_the_upgrade_is_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _v2_store(tmp_path)
    records, _, _ = _v2_contents(path)

    def broken(*args: object, **kwargs: object) -> list[str]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(SQLiteEventStore, "_insert", broken)
    with pytest.raises(Exception, match="disk I/O error"):
        SQLiteEventStore(path)
    monkeypatch.undo()

    assert _v2_contents(path)[0] == records  # untouched, still version 2
    with SQLiteEventStore(path) as store:
        assert list(store.read_all()) == records


@given(st.uuids().map(str) | st.text(min_size=1, max_size=40))
def test_ids_come_back_as_they_went_in(event_id: str) -> None:
    assert event_id_of(id_value(event_id)) == event_id


@given(st.lists(st.uuids().map(str), min_size=2, max_size=20, unique=True))
def test_uuid_ids_sort_as_their_text(ids: list[str]) -> None:
    stored = [id_value(event_id) for event_id in ids]
    assert all(isinstance(value, bytes) and len(value) == 16 for value in stored)
    assert [event_id_of(v) for v in sorted(stored)] == sorted(ids)  # type: ignore[type-var]


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
def test_times_come_back_to_the_microsecond_and_sort_as_time(moment: datetime) -> None:
    value = time_value(moment)
    assert moment_of(value) == moment
    assert time_value(moment + timedelta(microseconds=1)) == value + 1


@given(st.binary(max_size=2000))
def test_projection_values_come_back(value: bytes) -> None:
    assert unpack_value(*pack_value(value)) == value


@given(st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=40))
def test_payloads_come_back_through_a_dictionary(payloads: list[bytes]) -> None:
    dictionaries = Dictionaries()
    dictionaries.adopt("T", 1, b"".join(payloads)[:5000] or b"x")
    for payload in payloads:
        number, data = dictionaries.pack("T", payload)
        assert dictionaries.unpack(number, data) == payload


def test_payloads_are_compressed_once_a_type_has_enough_samples(tmp_path: Path) -> None:
    payloads = [
        f'{{"service":"stacks","path":"/file/druid:bc{i:03d}df4567/page_{i}.jp2",'
        f'"user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0","status":200}}'.encode()
        for i in range(1000)
    ]
    path = tmp_path / "s.db"
    with SQLiteEventStore(path) as store:
        records = [
            EventRecord(f"e{i:04d}", "s", "ServiceAccessed", T0, payload)
            for i, payload in enumerate(payloads)
        ]
        store.append(records[:500])
        store.append(records[500:])
        assert [r.payload for r in store.read_all()] == payloads
    with closing(sqlite3.connect(path)) as raw:
        stored, packed = raw.execute(
            "SELECT sum(length(payload)), sum(dictionary != 0) FROM events"
        ).fetchone()
    assert packed >= 500  # the second batch at least
    assert stored < sum(map(len, payloads)) / 2
    with SQLiteEventStore(path) as again:  # another process reads with the stored dictionary
        assert [r.payload for r in again.read_all()] == payloads


def test_names_are_right_when_the_name_cache_overflows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("eventstore.sqlite._NAMES_KEPT", 3)
    records = [
        EventRecord(f"e{i:03d}", f"druid:s{i % 17}", f"T{i % 5}", T0, b"{}") for i in range(200)
    ]
    with SQLiteEventStore(tmp_path / "s.db") as store:
        for start in range(0, 200, 30):
            store.append(records[start : start + 30])
        assert [r.stream for r in store.read_all()] == [r.stream for r in records]
        assert [r.type for r in store.read_all()] == [r.type for r in records]
        assert len(store._numbers["streams"]) <= 17 and len(store._names["streams"]) <= 4
        for i in range(17):
            assert len(store.read_stream(f"druid:s{i}")) == len(records[i::17])


def _json_payloads(prefix: str, count: int) -> list[bytes]:
    return [
        f'{{"service":"{prefix}","path":"/file/druid:bc{i:03d}df4567/page_{i}.jp2",'
        f'"user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0","n":{i}}}'.encode()
        for i in range(count)
    ]


def test_a_dictionary_trained_in_a_failed_append_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: a dictionary stored and adopted in a transaction that then failed was
    kept in use, so later payloads named a dictionary the file did not hold (and, once another
    type was given that number, decoded into wrong bytes elsewhere)."""
    path = tmp_path / "s.db"
    first = _json_payloads("T", 400)
    writer = SQLiteEventStore(path)
    real = sqlite3.Connection.executemany

    def failing(con: sqlite3.Connection, sql: str, rows: Any) -> sqlite3.Cursor:
        if sql.startswith("INSERT INTO events"):
            raise sqlite3.OperationalError("database or disk is full")
        return real(con, sql, rows)

    assert writer._con is not None
    monkeypatch.setattr(writer, "_con", _Failing(writer._con, failing))
    with pytest.raises(EventStoreError, match="disk is full"):
        writer.append([EventRecord(f"t{i}", "s", "T", T0, p) for i, p in enumerate(first)])
    monkeypatch.undo()
    assert writer._dictionaries.current == {}

    later = _json_payloads("T", 450)[400:]
    writer.append([EventRecord(f"t{i}", "s", "T", T0, p) for i, p in enumerate(later)])
    with SQLiteEventStore(path) as other:
        other.append(
            [EventRecord(f"u{i}", "s", "U", T0, p) for i, p in enumerate(_json_payloads("U", 400))]
        )
    writer.close()
    with SQLiteEventStore(path) as reader:
        assert [r.payload for r in reader.read_all(types=["T"])] == later


class _Failing:
    """A connection whose `executemany` goes through a given function (sqlite3's own objects
    cannot be patched)."""

    def __init__(self, con: sqlite3.Connection, executemany: Any) -> None:
        self._con = con
        self._executemany = executemany

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self._executemany(self._con, sql, rows)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def test_a_cursor_whose_time_is_no_date_is_refused(tmp_path: Path) -> None:
    with SQLiteEventStore(tmp_path / "s.db") as store:
        store.append([EventRecord("a", "s", "T", T0, b"")])
        with pytest.raises(InvalidRequestError, match="not a paging cursor"):
            store.read_stream("s", after="2026-13-01T00:00:00.000000Z#a")


def test_a_version_3_store_gets_the_projection_index_tables(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    with SQLiteEventStore(path) as store:
        store.write_projection("p", [ProjectionWrite("a", b"row", 0)])
    with closing(sqlite3.connect(path)) as raw, raw:
        # What a version 3 file is: the same, without the index and totals tables.
        raw.execute("DROP TABLE projection_index")
        raw.execute("DROP TABLE projection_totals")
        raw.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")

    with SQLiteEventStore(path) as store:
        assert store.get_projection("p", "a") == ProjectionRow("a", b"row", 1)
        store.write_projection(
            "p",
            [
                ProjectionWrite(
                    "a", b"new", 1, index_add=frozenset({("i", "t")}), totals=(("n", 1),)
                )
            ],
        )
        assert store.read_index("p", "i", limit=5) == [IndexEntry("t", "a")]
        assert store.projection_totals("p") == {"n": 1}
