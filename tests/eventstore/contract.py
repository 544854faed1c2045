"""The contract every `EventStore` backend must pass, written against the interface only.

A backend proves itself by subclassing `EventStoreContract` in a `test_<backend>.py` module as
`class Test<Backend>Store(EventStoreContract)` and implementing `create_store` and
`store_opener`. The base class has no `Test` prefix, so pytest collects it only through its
subclasses. The worker functions at the bottom run in other processes (spawn), which is why
they live at module level and take a picklable opener.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import (
    AppendResult,
    ConcurrencyError,
    EventRecord,
    EventStore,
    EventStoreError,
    ExpireResult,
    InvalidRecordError,
    InvalidRequestError,
    ProjectionRow,
    ProjectionWrite,
    StoreUnavailableError,
)
from eventstore.store import MAX_LIMIT, MAX_NAME_BYTES, MAX_PAYLOAD_BYTES
from tests.eventstore.contract_index import IndexContract

T0 = datetime(2026, 3, 1, 22, 14, 5, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))

StoreOpener = Callable[[], EventStore]


def event(
    event_id: str,
    *,
    stream: str = "druid:bc123df4567",
    type: str = "FixityChecked",
    at: datetime = T0,
    payload: bytes | None = None,
) -> EventRecord:
    return EventRecord(
        event_id=event_id,
        stream=stream,
        type=type,
        occurred_at=at,
        payload=payload if payload is not None else f"payload of {event_id}".encode(),
    )


def unstored(records: Sequence[EventRecord]) -> list[EventRecord]:
    """Records as the caller built them: the store sets `position`, which is compared apart."""
    return [replace(record, position=None) for record in records]


def ids(records: Sequence[EventRecord]) -> list[str]:
    return [record.event_id for record in records]


def stream_order(records: Sequence[EventRecord]) -> list[EventRecord]:
    return sorted(records, key=lambda record: (record.occurred_at, record.event_id))


class EventStoreContract(IndexContract, ABC):
    """Tests every backend must pass. Subclasses implement the two factory methods."""

    # Sizes a slow backend may lower in its subclass; the defaults cross the SQLite page size.
    large_feed_size: ClassVar[int] = 12_000
    concurrent_ids: ClassVar[int] = 20_000
    concurrent_increments: ClassVar[int] = 200

    @abstractmethod
    def create_store(self) -> EventStore:
        """A new, empty store; every call gives a different one. The suite closes it."""

    @abstractmethod
    def store_opener(self) -> StoreOpener:
        """A picklable callable opening another handle on the store `create_store` made last,
        for use in this process or another one (spawned)."""

    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        with self.create_store() as store:
            yield store

    @pytest.fixture
    def other_handle(self, store: EventStore) -> Iterator[EventStore]:
        with self.store_opener()() as other:
            yield other

    # -- append and read back -------------------------------------------------------------------

    def test_append_then_read_back_equal_records(self, store: EventStore) -> None:
        records = [
            event("a", payload=b"\xff\xfe\x00 not UTF-8 \x80"),
            event("b", payload=b"", at=T0 + timedelta(microseconds=1)),
            event(
                "c", payload=bytes(range(256)), at=(T0 + timedelta(seconds=1)).astimezone(PLUS_TWO)
            ),
        ]

        result = store.append(records)

        assert result == AppendResult(written=["a", "b", "c"], duplicates=[])
        stored = store.read_stream("druid:bc123df4567")
        assert unstored(stored) == records
        assert [r.payload for r in stored] == [r.payload for r in records]
        for got, sent in zip(stored, records, strict=True):
            assert got.occurred_at.utcoffset() is not None
            assert got.occurred_at == sent.occurred_at
            assert got.cursor == sent.cursor

    def test_positions_reported_by_append_are_where_read_all_finds_them(
        self, store: EventStore
    ) -> None:
        store.append([event("a")])
        result = store.append([event("b"), event("a"), event("c"), event("b")])

        if result.positions is None:
            pytest.skip("this backend does not report positions")
        assert result.previous is not None
        feed = list(store.read_all(after_position=result.previous))
        assert ids(feed) == result.written == ["b", "c"]
        assert [record.position for record in feed] == result.positions

    def test_stored_records_carry_increasing_positions(self, store: EventStore) -> None:
        store.append([event("a"), event("b", at=T0 - timedelta(hours=1))])
        store.append([event("c")])

        positions = {record.event_id: record.position for record in store.read_all()}

        assert all(isinstance(p, int) for p in positions.values())
        assert positions["a"] < positions["b"] < positions["c"]  # type: ignore[operator]
        assert {r.event_id: r.position for r in store.read_stream("druid:bc123df4567")} == positions

    def test_appending_nothing_writes_nothing(self, store: EventStore) -> None:
        assert store.append([]) == AppendResult()
        assert list(store.read_all()) == []

    def test_append_accepts_any_sequence(self, store: EventStore) -> None:
        assert store.append((event("a"), event("b"))).written == ["a", "b"]

    def test_same_batch_twice_writes_once(self, store: EventStore) -> None:
        batch = [event(f"e{i}", at=T0 + timedelta(seconds=i)) for i in range(5)]

        first = store.append(batch)
        second = store.append(batch)

        assert first == AppendResult(written=ids(batch), duplicates=[])
        assert second == AppendResult(written=[], duplicates=ids(batch))
        assert unstored(list(store.read_all())) == batch

    def test_overlapping_batches_report_exactly_the_new_ids(self, store: EventStore) -> None:
        store.append([event("a"), event("b"), event("c")])

        result = store.append([event("c"), event("d"), event("a"), event("e")])

        assert result == AppendResult(written=["d", "e"], duplicates=["c", "a"])
        assert ids(list(store.read_all())) == ["a", "b", "c", "d", "e"]

    def test_repeated_id_within_one_batch_is_written_once(self, store: EventStore) -> None:
        result = store.append([event("a"), event("b"), event("a"), event("c"), event("b")])

        assert result == AppendResult(written=["a", "b", "c"], duplicates=["a", "b"])
        assert ids(list(store.read_all())) == ["a", "b", "c"]

    def test_same_id_with_other_content_keeps_the_first(self, store: EventStore) -> None:
        store.append([event("a", payload=b"first")])

        result = store.append(
            [
                event("a", payload=b"second", stream="elsewhere", at=T0 + timedelta(days=1)),
                event("b", payload=b"one"),
                event("b", payload=b"two"),
            ]
        )

        assert result == AppendResult(written=["b"], duplicates=["a", "b"])
        assert unstored(list(store.read_all())) == [
            event("a", payload=b"first"),
            event("b", payload=b"one"),
        ]
        assert store.read_stream("elsewhere") == []

    @pytest.mark.parametrize(
        "bad",
        [
            pytest.param(event("naive", at=datetime(2026, 3, 1, 12, 0)), id="naive-time"),
            pytest.param(event(""), id="empty-id"),
            pytest.param(event("x", stream=""), id="empty-stream"),
            pytest.param(event("x", type=""), id="empty-type"),
            pytest.param(event("x" * (MAX_NAME_BYTES + 1)), id="long-id"),
            pytest.param(event("é" * (MAX_NAME_BYTES // 2 + 1)), id="long-id-in-utf8-bytes"),
            pytest.param(event("\ud800", payload=b"x"), id="lone-surrogate-id"),
            pytest.param(event("x", payload=b"x" * (MAX_PAYLOAD_BYTES + 1)), id="big-payload"),
            pytest.param(replace(event("x"), payload="text"), id="str-payload"),  # type: ignore[arg-type]
        ],
    )
    def test_invalid_record_rejects_the_whole_batch(
        self, store: EventStore, bad: EventRecord
    ) -> None:
        with pytest.raises(InvalidRecordError):
            store.append([event("fine"), bad])

        assert list(store.read_all()) == []

    def test_limits_are_inclusive(self, store: EventStore) -> None:
        biggest = event(
            "i" * MAX_NAME_BYTES, stream="s" * MAX_NAME_BYTES, payload=b"p" * MAX_PAYLOAD_BYTES
        )

        assert store.append([biggest]).written == [biggest.event_id]
        assert unstored(store.read_stream(biggest.stream)) == [biggest]

    def test_non_ascii_names_round_trip(self, store: EventStore) -> None:
        record = event("ünïcødé-🙂", stream="stream/ß", type="Typ-ä")

        store.append([record])

        assert unstored(store.read_stream("stream/ß")) == [record]
        assert list(store.streams()) == ["stream/ß"]

    # -- read_stream ----------------------------------------------------------------------------

    def test_read_stream_orders_by_time_then_id(self, store: EventStore) -> None:
        later = T0 + timedelta(minutes=1)
        store.append(
            [
                event("m", at=later),
                event("z", at=T0),
                event("a", at=T0),
                event("other", stream="druid:zz999zz9999", at=T0 - timedelta(days=1)),
                event("b", at=later.astimezone(PLUS_TWO)),
                event("early", at=T0 - timedelta(microseconds=1)),
            ]
        )

        assert ids(store.read_stream("druid:bc123df4567")) == ["early", "a", "z", "b", "m"]
        assert ids(store.read_stream("druid:bc123df4567", descending=True)) == [
            "m",
            "b",
            "z",
            "a",
            "early",
        ]
        assert ids(store.read_stream("druid:zz999zz9999")) == ["other"]
        assert store.read_stream("druid:nothing") == []

    def test_read_stream_does_not_match_stream_prefixes(self, store: EventStore) -> None:
        store.append([event("a", stream="druid:a"), event("b", stream="druid:ab")])

        assert ids(store.read_stream("druid:a")) == ["a"]

    @pytest.mark.parametrize("limit", [0, 1, 6, 7, 8, None])
    @pytest.mark.parametrize("descending", [False, True])
    def test_read_stream_limit_is_exact(
        self, store: EventStore, limit: int | None, descending: bool
    ) -> None:
        records = [event(f"e{i}", at=T0 + timedelta(seconds=i // 2)) for i in range(7)]
        store.append(records)
        expected = stream_order(records)
        if descending:
            expected.reverse()

        got = store.read_stream("druid:bc123df4567", limit=limit, descending=descending)

        assert ids(got) == ids(expected[:limit])

    @pytest.mark.parametrize("descending", [False, True])
    def test_paging_with_cursors_yields_every_record_once_in_order(
        self, store: EventStore, descending: bool
    ) -> None:
        # Seven records share each instant, so page boundaries fall inside runs of ties.
        records = [
            event(f"e{(i * 7919) % 1001:04d}", at=T0 + timedelta(seconds=i // 7))
            for i in range(1001)
        ]
        store.append(records)
        store.append([event("noise", stream="druid:other"), event("noise2", stream="druid:c")])

        pages: list[list[EventRecord]] = []
        after = None
        while True:
            page = store.read_stream(
                "druid:bc123df4567", after=after, limit=100, descending=descending
            )
            if not page:
                break
            pages.append(page)
            after = page[-1].cursor

        expected = stream_order(records)
        if descending:
            expected.reverse()
        assert [len(page) for page in pages] == [100] * 10 + [1]
        assert ids([record for page in pages for record in page]) == ids(expected)

    def test_after_the_last_record_there_is_nothing(self, store: EventStore) -> None:
        store.append([event("a"), event("b")])
        first, last = store.read_stream("druid:bc123df4567")

        assert store.read_stream("druid:bc123df4567", after=last.cursor) == []
        assert store.read_stream("druid:bc123df4567", after=first.cursor, descending=True) == []

    def test_a_cursor_is_a_place_not_a_record(self, store: EventStore) -> None:
        store.append([event("a"), event("c"), event("d", at=T0 + timedelta(seconds=1))])
        between = event("b").cursor  # never stored

        assert ids(store.read_stream("druid:bc123df4567", after=between)) == ["c", "d"]
        assert ids(store.read_stream("druid:bc123df4567", after=between, descending=True)) == ["a"]

    @pytest.mark.parametrize(
        "cursor",
        [
            "",
            "garbage",
            "#a",
            "2026-03-01T22:14:05.123456Z",
            "2026-03-01T22:14:05.123456Z#",
            "2026-03-01T22:14:05Z#a",
            "2026-03-01 22:14:05.123456#a",
        ],
    )
    def test_malformed_cursor_is_refused(self, store: EventStore, cursor: str) -> None:
        store.append([event("a")])

        with pytest.raises(InvalidRequestError, match="cursor"):
            store.read_stream("druid:bc123df4567", after=cursor)

    def test_negative_limit_is_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidRequestError):
            store.read_stream("druid:bc123df4567", limit=-1)

    def test_the_largest_limit_is_taken_and_a_larger_one_refused(self, store: EventStore) -> None:
        store.append([event("a"), event("b")])

        assert ids(store.read_stream("druid:bc123df4567", limit=MAX_LIMIT)) == ["a", "b"]
        for limit in (MAX_LIMIT + 1, 2**63, 10**20):
            with pytest.raises(InvalidRequestError, match="limit"):
                store.read_stream("druid:bc123df4567", limit=limit)

    def test_event_ids_containing_the_cursor_separator_page_correctly(
        self, store: EventStore
    ) -> None:
        store.append([event("a#1"), event("a#2"), event("a#3")])
        first = store.read_stream("druid:bc123df4567", limit=1)

        assert ids(store.read_stream("druid:bc123df4567", after=first[0].cursor)) == ["a#2", "a#3"]

    # -- read_all -------------------------------------------------------------------------------

    def test_read_all_is_append_order_with_increasing_positions(self, store: EventStore) -> None:
        first = [event("x", at=T0 + timedelta(days=2)), event("y", stream="druid:other")]
        second = [event("a", at=T0 - timedelta(days=2)), event("x"), event("b")]
        store.append(first)
        store.append(second)

        feed = list(store.read_all())

        assert ids(feed) == ["x", "y", "a", "b"]
        positions = [record.position for record in feed]
        assert all(isinstance(p, int) for p in positions)
        assert positions == sorted(set(positions))  # type: ignore[type-var]

    def test_read_all_streams_a_large_feed_completely(self, store: EventStore) -> None:
        records = [
            event(f"e{i:06d}", stream=f"s{i % 13}", at=T0 - timedelta(seconds=i))
            for i in range(self.large_feed_size)
        ]
        for start in range(0, len(records), 5000):
            store.append(records[start : start + 5000])

        feed = store.read_all()

        assert isinstance(feed, Iterator)
        got = list(feed)
        assert ids(got) == ids(records)
        assert all(a.position < b.position for a, b in itertools.pairwise(got))  # type: ignore[operator]

    def test_read_all_after_position(self, store: EventStore) -> None:
        store.append([event(name) for name in "abcde"])
        feed = list(store.read_all())
        third = feed[2].position

        assert ids(list(store.read_all(after_position=third))) == ["d", "e"]
        assert list(store.read_all(after_position=feed[-1].position)) == []
        assert ids(list(store.read_all(after_position=0))) == list("abcde")

    def test_read_all_resumes_from_a_checkpoint_without_gaps(self, store: EventStore) -> None:
        store.append([event("a"), event("b")])
        checkpoint = list(store.read_all())[-1].position

        store.append([event("c"), event("a")])

        assert ids(list(store.read_all(after_position=checkpoint))) == ["c"]

    def test_read_all_filters_types(self, store: EventStore) -> None:
        store.append(
            [
                event("f1", type="FixityChecked"),
                event("s1", type="ServiceAccessed"),
                event("r1", type="ReplicationCompleted"),
                event("f2", type="FixityChecked"),
            ]
        )

        assert ids(list(store.read_all(types=["FixityChecked"]))) == ["f1", "f2"]
        assert ids(list(store.read_all(types={"ReplicationCompleted", "FixityChecked"}))) == [
            "f1",
            "r1",
            "f2",
        ]
        assert ids(list(store.read_all(types=(t for t in ["ServiceAccessed"])))) == ["s1"]
        assert list(store.read_all(types=[])) == []
        assert list(store.read_all(types=["Unknown"])) == []

    def test_read_all_time_window_is_since_inclusive_until_exclusive(
        self, store: EventStore
    ) -> None:
        store.append(
            [event(f"t{i}", at=T0 + timedelta(microseconds=i)) for i in range(5)]
            + [
                event(
                    "late-in-other-zone", at=(T0 + timedelta(microseconds=2)).astimezone(PLUS_TWO)
                )
            ]
        )
        since, until = T0 + timedelta(microseconds=1), T0 + timedelta(microseconds=3)

        assert ids(list(store.read_all(since=since, until=until))) == [
            "t1",
            "t2",
            "late-in-other-zone",
        ]
        assert ids(list(store.read_all(since=since.astimezone(PLUS_TWO)))) == [
            "t1",
            "t2",
            "t3",
            "t4",
            "late-in-other-zone",
        ]
        assert ids(list(store.read_all(until=since))) == ["t0"]
        assert list(store.read_all(since=until, until=since)) == []

    def test_read_all_combines_filters(self, store: EventStore) -> None:
        store.append(
            [
                event("old-f", type="F", at=T0 - timedelta(days=1)),
                event("new-f", type="F"),
                event("new-s", type="S"),
                event("newer-f", type="F", at=T0 + timedelta(days=1)),
            ]
        )
        after = next(store.read_all()).position

        got = store.read_all(types=["F"], since=T0, after_position=after)

        assert ids(list(got)) == ["new-f", "newer-f"]

    def test_read_all_refuses_naive_bounds_before_iterating(self, store: EventStore) -> None:
        with pytest.raises(InvalidRequestError):
            store.read_all(since=datetime(2026, 1, 1))
        with pytest.raises(InvalidRequestError):
            store.read_all(until=datetime(2026, 1, 1))

    # -- streams --------------------------------------------------------------------------------

    def test_streams_are_distinct_and_sorted(self, store: EventStore) -> None:
        names = ["b", "a/b", "ab", "a", "a0", "ä", "B", "a"]
        store.append([event(f"e{i}", stream=name) for i, name in enumerate(names)])

        assert list(store.streams()) == ["B", "a", "a/b", "a0", "ab", "b", "ä"]
        assert list(store.streams(prefix="a")) == ["a", "a/b", "a0", "ab"]
        assert list(store.streams(prefix="a/")) == ["a/b"]
        assert list(store.streams(prefix="ä")) == ["ä"]
        assert list(store.streams(prefix="c")) == []

    def test_streams_of_an_empty_store(self, store: EventStore) -> None:
        assert list(store.streams()) == []

    # -- projections ----------------------------------------------------------------------------

    def test_projection_row_lifecycle(self, store: EventStore) -> None:
        assert store.get_projection("state", "druid:a") is None

        store.write_projection("state", [ProjectionWrite("druid:a", b"v1", expected_version=0)])
        assert store.get_projection("state", "druid:a") == ProjectionRow("druid:a", b"v1", 1)

        store.write_projection("state", [ProjectionWrite("druid:a", b"\xffv2", expected_version=1)])
        assert store.get_projection("state", "druid:a") == ProjectionRow("druid:a", b"\xffv2", 2)
        assert store.get_projection("other", "druid:a") is None

    @pytest.mark.parametrize(
        ("existing", "expected_version"),
        [(None, 1), (None, 5), (b"v", 0), (b"v", 2)],
        ids=["update-missing", "update-missing-far", "create-existing", "stale-update"],
    )
    def test_version_mismatch_raises_and_writes_nothing(
        self, store: EventStore, existing: bytes | None, expected_version: int
    ) -> None:
        if existing is not None:
            store.write_projection("state", [ProjectionWrite("k", existing, 0)])
        before = list(store.read_projection("state"))

        with pytest.raises(ConcurrencyError, match="'k'"):
            store.write_projection("state", [ProjectionWrite("k", b"new", expected_version)])

        assert list(store.read_projection("state")) == before

    def test_one_stale_row_fails_the_whole_write(self, store: EventStore) -> None:
        store.write_projection("state", [ProjectionWrite("k0", b"old", 0)])
        writes = [ProjectionWrite(f"k{i:03d}", b"new", 0) for i in range(1, 250)]
        writes.append(ProjectionWrite("k0", b"new", 7))  # stale: k0 is at version 1

        with pytest.raises(ConcurrencyError):
            store.write_projection("state", writes)

        assert list(store.read_projection("state")) == [ProjectionRow("k0", b"old", 1)]

    def test_many_rows_in_one_write(self, store: EventStore) -> None:
        writes = [ProjectionWrite(f"k{i:04d}", str(i).encode(), 0) for i in range(1200)]

        store.write_projection("counts", writes)
        store.write_projection("counts", [ProjectionWrite(w.key, b"again", 1) for w in writes])

        rows = list(store.read_projection("counts"))
        assert [row.key for row in rows] == [w.key for w in writes]
        assert {(row.value, row.version) for row in rows} == {(b"again", 2)}

    def test_put_projection_writes_rows_whatever_they_held(self, store: EventStore) -> None:
        store.write_projection("counts", [ProjectionWrite("k001", b"old", 0)])
        store.write_projection("counts", [ProjectionWrite("k001", b"older", 1)])
        rows = {f"k{i:03d}": bytes([i % 256]) * (i + 1) for i in range(60)}

        store.put_projection("counts", rows)
        store.put_projection("counts", rows)  # again: the same rows
        store.put_projection("counts", {})

        stored = list(store.read_projection("counts"))
        assert [(row.key, row.value) for row in stored] == sorted(rows.items())
        assert {row.version for row in stored} == {1}
        # None deletes, whether the row is there or not.
        store.put_projection("counts", {"k001": None, "k002": None, "never": None})
        assert store.get_projection("counts", "k001") is None
        assert len(list(store.read_projection("counts"))) == len(rows) - 2
        assert store.get_projection("other", "k001") is None
        with pytest.raises(InvalidRecordError):
            store.put_projection("counts", {"": b"x"})
        with pytest.raises(InvalidRecordError):
            store.put_projection("counts", {"big": b"x" * (MAX_PAYLOAD_BYTES + 1)})

    def test_read_projection_is_sorted_by_key_and_scoped(self, store: EventStore) -> None:
        keys = ["m", "a", "z", "B", "ä", "a/1"]
        store.write_projection("p", [ProjectionWrite(key, key.encode(), 0) for key in keys])
        store.write_projection("p2", [ProjectionWrite("a", b"not in p", 0)])

        rows = list(store.read_projection("p"))

        assert [row.key for row in rows] == sorted(keys)
        assert all(row.value == row.key.encode() and row.version == 1 for row in rows)
        assert list(store.read_projection("absent")) == []

    def test_get_projections_returns_the_rows_that_exist(self, store: EventStore) -> None:
        keys = [f"k{n:04d}" for n in range(1200)]
        store.write_projection("p", [ProjectionWrite(key, key.encode(), 0) for key in keys])
        store.write_projection("q", [ProjectionWrite("k0001", b"other projection", 0)])

        found = store.get_projections("p", [*keys[::2], "absent", keys[0]])

        assert set(found) == set(keys[::2])
        assert found["k0002"] == ProjectionRow("k0002", b"k0002", 1)
        assert store.get_projections("p", []) == {}

    def test_read_projection_key_range_is_start_inclusive_stop_exclusive(
        self, store: EventStore
    ) -> None:
        keys = [f"2026-03-0{day}T{hour:02d}|svc" for day in (1, 2, 3) for hour in (0, 23)]
        store.write_projection("p", [ProjectionWrite(key, b"", 0) for key in keys])

        def between(start: str | None, stop: str | None) -> list[str]:
            return [row.key for row in store.read_projection("p", start=start, stop=stop)]

        assert between("2026-03-02", "2026-03-03") == keys[2:4]
        assert between(keys[2], keys[4]) == keys[2:4]
        assert between(None, "2026-03-02") == keys[:2]
        assert between("2026-03-03", None) == keys[4:]
        assert between("2026-03-04", None) == []
        assert between("b", "a") == []

    def test_read_projection_range_pages_completely(self, store: EventStore) -> None:
        keys = [f"k{n:06d}" for n in range(self.large_feed_size)]
        store.write_projection("p", [ProjectionWrite(key, b"", 0) for key in keys])

        got = [row.key for row in store.read_projection("p", start="k000001", stop=keys[-1])]

        assert got == keys[1:-1]

    # -- retention ------------------------------------------------------------------------------

    def test_expire_deletes_exactly_the_records_due(self, store: EventStore) -> None:
        due = T0 + timedelta(days=90)
        store.append(
            [
                replace(event("old-1", at=T0), expires_at=due),
                replace(event("old-2", at=T0 + timedelta(hours=1)), expires_at=due),
                replace(event("later", at=T0), expires_at=due + timedelta(microseconds=1)),
                event("kept", at=T0 - timedelta(days=999)),
            ]
        )

        assert store.expire(due - timedelta(microseconds=1)) == ExpireResult(0, None)
        result = store.expire(due.astimezone(PLUS_TWO))

        assert result == ExpireResult(deleted=2, latest=T0 + timedelta(hours=1))
        assert set(ids(store.read_all())) == {"later", "kept"}
        assert ids(store.read_stream("druid:bc123df4567")) == ["kept", "later"]
        assert store.expire(due) == ExpireResult(0, None)

    def test_expires_at_round_trips(self, store: EventStore) -> None:
        record = replace(event("a"), expires_at=(T0 + timedelta(days=1)).astimezone(PLUS_TWO))
        store.append([record])

        (stored,) = store.read_all()

        assert stored.expires_at == record.expires_at
        assert stored.expires_at is not None and stored.expires_at.utcoffset() is not None

    def test_an_expired_id_may_be_appended_again(self, store: EventStore) -> None:
        # Expiry forgets the record entirely: a later re-delivery is stored anew (and will
        # expire again), which is what retention asks for.
        record = replace(event("a"), expires_at=T0)
        store.append([record])
        store.expire(T0)

        assert store.append([record]).written == ["a"]

    def test_naive_expiry_is_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidRecordError, match="expires_at"):
            store.append([replace(event("a"), expires_at=datetime(2026, 1, 1))])
        with pytest.raises(InvalidRequestError, match="now"):
            store.expire(datetime(2026, 1, 1))

    def test_expire_through_a_position_spares_later_records(self, store: EventStore) -> None:
        store.append([replace(event("a"), expires_at=T0)])
        store.append([replace(event("b"), expires_at=T0)])
        (first, _) = store.read_all()

        result = store.expire(T0, through_position=first.position)

        assert result.deleted == 1
        assert ids(store.read_all()) == ["b"]

    def test_a_none_value_deletes_the_row_after_the_version_check(self, store: EventStore) -> None:
        store.write_projection("p", [ProjectionWrite("a", b"1", 0), ProjectionWrite("b", b"2", 0)])
        with pytest.raises(ConcurrencyError):
            store.write_projection("p", [ProjectionWrite("a", None, 7)])

        store.write_projection("p", [ProjectionWrite("a", None, 1), ProjectionWrite("c", b"3", 0)])

        assert [row.key for row in store.read_projection("p")] == ["b", "c"]
        assert store.get_projection("p", "a") is None
        store.write_projection("p", [ProjectionWrite("a", b"again", 0)])
        assert store.get_projection("p", "a") == ProjectionRow("a", b"again", 1)

    def test_a_row_written_with_an_expiry_reads_back_like_any_other(
        self, store: EventStore
    ) -> None:
        # In the future: a backend that honours expiry may drop a row once it has passed.
        due = datetime.now(UTC) + timedelta(days=2)
        store.write_projection("p", [ProjectionWrite("$applied/a", b"", 0, expires_at=due)])

        assert store.get_projection("p", "$applied/a") == ProjectionRow("$applied/a", b"", 1)
        store.write_projection("p", [ProjectionWrite("$applied/a", b"kept", 1)])
        assert store.get_projection("p", "$applied/a") == ProjectionRow("$applied/a", b"kept", 2)
        store.write_projection("p", [ProjectionWrite("$applied/a", None, 2)])
        assert list(store.read_projection("p")) == []
        assert isinstance(store.expires_projection_rows, bool)

    @pytest.mark.parametrize(
        "write",
        [
            ProjectionWrite("a", b"1", 0, expires_at=datetime(2026, 3, 1)),
            ProjectionWrite("a", b"1", 0, expires_at="2026-03-01T00:00:00Z"),  # type: ignore[arg-type]
            ProjectionWrite("a", None, 1, expires_at=T0),
        ],
        ids=["naive", "not-a-datetime", "on-a-delete"],
    )
    def test_invalid_row_expiry_is_refused_and_writes_nothing(
        self, store: EventStore, write: ProjectionWrite
    ) -> None:
        store.write_projection("p", [ProjectionWrite("a", b"0", 0)])

        with pytest.raises(InvalidRecordError, match="expires_at"):
            store.write_projection("p", [ProjectionWrite("b", b"2", 0), write])

        assert list(store.read_projection("p")) == [ProjectionRow("a", b"0", 1)]

    def test_clear_projection_empties_only_that_projection(self, store: EventStore) -> None:
        store.write_projection("p", [ProjectionWrite("a", b"1", 0), ProjectionWrite("b", b"2", 0)])
        store.write_projection("q", [ProjectionWrite("a", b"kept", 0)])

        store.clear_projection("p")

        assert list(store.read_projection("p")) == []
        assert store.get_projection("q", "a") == ProjectionRow("a", b"kept", 1)
        store.write_projection("p", [ProjectionWrite("a", b"rebuilt", 0)])
        assert store.get_projection("p", "a") == ProjectionRow("a", b"rebuilt", 1)

    def test_empty_projection_write_is_a_no_op(self, store: EventStore) -> None:
        store.write_projection("p", [])

        assert list(store.read_projection("p")) == []

    def test_same_key_twice_in_one_write_is_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidRequestError):
            store.write_projection(
                "p", [ProjectionWrite("a", b"1", 0), ProjectionWrite("a", b"2", 1)]
            )

        assert list(store.read_projection("p")) == []

    @pytest.mark.parametrize(
        ("projection", "write"),
        [
            ("", ProjectionWrite("a", b"1", 0)),
            ("p", ProjectionWrite("", b"1", 0)),
            ("p", ProjectionWrite("a", b"1", -1)),
            ("p", ProjectionWrite("a", b"x" * (MAX_PAYLOAD_BYTES + 1), 0)),
        ],
        ids=["empty-projection", "empty-key", "negative-version", "big-value"],
    )
    def test_invalid_projection_write_is_refused(
        self, store: EventStore, projection: str, write: ProjectionWrite
    ) -> None:
        with pytest.raises(InvalidRecordError):
            store.write_projection(projection, [write])

    # -- several handles ------------------------------------------------------------------------

    def test_another_handle_sees_appends_and_versions(
        self, store: EventStore, other_handle: EventStore
    ) -> None:
        store.append([event("a")])
        assert ids(other_handle.read_stream("druid:bc123df4567")) == ["a"]
        assert other_handle.append([event("a"), event("b")]) == AppendResult(["b"], ["a"])

        store.write_projection("p", [ProjectionWrite("k", b"1", 0)])
        other_handle.write_projection("p", [ProjectionWrite("k", b"2", 1)])
        with pytest.raises(ConcurrencyError):
            store.write_projection("p", [ProjectionWrite("k", b"lost update", 1)])
        assert store.get_projection("p", "k") == ProjectionRow("k", b"2", 2)

    def test_a_closed_store_refuses_work(self) -> None:
        store = self.create_store()
        store.close()

        with pytest.raises(StoreUnavailableError):
            store.append([event("a")])
        with pytest.raises(EventStoreError):
            store.read_stream("druid:bc123df4567")

    def test_two_processes_appending_overlapping_ids(self, store: EventStore) -> None:
        n = self.concurrent_ids
        overlap = range(n // 2, n)
        plans = {
            # Both start with the shared ids, in batches whose boundaries do not line up.
            "A": _batches([*overlap, *range(n // 2)], 1000),
            "B": _batches([*overlap, *range(n, n + n // 2)], 1000, first=500),
        }

        results = _run_in_processes(_append_worker, self.store_opener(), plans)

        written = {name: set(result["written"]) for name, result in results.items()}
        distinct = set(range(n + n // 2))
        assert not written["A"] & written["B"]
        assert {int(i) for i in written["A"] | written["B"]} == distinct
        assert sum(len(result["written"]) for result in results.values()) == len(distinct)
        for name, result in results.items():
            sent = Counter(str(i) for batch in plans[name] for i in batch)
            assert Counter(result["written"]) + Counter(result["duplicates"]) == sent
        feed = list(store.read_all())
        assert sorted(int(record.event_id) for record in feed) == sorted(distinct)
        # The writer that reported an id as written is the one whose payload was stored.
        for record in feed:
            assert record.event_id in written[record.payload.decode()]

    def test_two_processes_incrementing_one_projection_row(self, store: EventStore) -> None:
        plans = {"A": self.concurrent_increments, "B": self.concurrent_increments}

        _run_in_processes(_increment_worker, self.store_opener(), plans)

        total = 2 * self.concurrent_increments
        assert store.get_projection("counters", "shared") == ProjectionRow(
            "shared", str(total).encode(), total
        )

    # -- properties -----------------------------------------------------------------------------

    @given(
        batches=st.lists(
            st.lists(
                st.tuples(
                    st.sampled_from(["a", "b", "c", "d", "e", "f", "a#b", "é"]),
                    st.sampled_from(["s1", "s2", "s1/x"]),
                    st.integers(min_value=0, max_value=3),
                    st.binary(max_size=8),
                ),
                max_size=8,
            ),
            max_size=6,
        )
    )
    # create_store gives every example its own store, so the function-scoped fixtures of the
    # subclass (a temporary directory) are not state shared between examples. Each backend's
    # subclass runs this one property (differing executors, when both run in one process):
    # that is the contract suite's design, not state leaking between them.
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    def test_any_sequence_of_appends(
        self, batches: list[list[tuple[str, str, int, bytes]]]
    ) -> None:
        first: dict[str, EventRecord] = {}
        written: list[str] = []
        with self.create_store() as store:
            for batch in batches:
                records = [
                    event(i, stream=s, at=T0 + timedelta(seconds=t), payload=p)
                    for i, s, t, p in batch
                ]
                result = store.append(records)
                new = [r for r in records if r.event_id not in first]
                for record in new:
                    first.setdefault(record.event_id, record)
                expected_written = list(dict.fromkeys(ids(new)))
                assert result.written == expected_written
                assert len(result.duplicates) == len(records) - len(expected_written)
                written += result.written

            feed = list(store.read_all())
            assert ids(feed) == written
            assert unstored(feed) == [first[i] for i in written]
            for name in {r.stream for r in first.values()}:
                expected = stream_order([r for r in first.values() if r.stream == name])
                assert unstored(store.read_stream(name)) == expected
                assert unstored(store.read_stream(name, descending=True)) == expected[::-1]
            assert list(store.streams()) == sorted({r.stream for r in first.values()})


# -- workers for other processes --------------------------------------------------------------


def _batches(numbers: Sequence[int], size: int, *, first: int | None = None) -> list[list[int]]:
    cut = [0, first] if first else [0]
    cut += list(range(cut[-1] + size, len(numbers), size))
    return [list(numbers[a:b]) for a, b in zip(cut, [*cut[1:], len(numbers)], strict=True)]


def _run_in_processes(
    worker: Callable[..., Any], opener: StoreOpener, plans: dict[str, Any]
) -> dict[str, Any]:
    """Run `worker(opener, name, plan, start, results)` in one spawned process per plan, all
    starting together; return each one's result or fail with the worker's error."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(plans))
    results = context.Queue()
    processes = [
        context.Process(target=worker, args=(opener, name, plan, start, results), daemon=True)
        for name, plan in plans.items()
    ]
    for process in processes:
        process.start()
    outcomes: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    try:
        while len(outcomes) < len(processes):
            try:
                name, ok, value = results.get(timeout=0.5)
            except queue.Empty:
                if not any(process.is_alive() for process in processes) and results.empty():
                    codes = [process.exitcode for process in processes]
                    pytest.fail(f"worker processes exited without reporting (exit codes {codes})")
                if time.monotonic() > deadline:
                    pytest.fail("the worker processes did not finish within 120 s")
                continue
            assert ok, f"worker {name} failed: {value}"
            outcomes[name] = value
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return outcomes


def _numbered(i: int, writer: str) -> EventRecord:
    return event(
        str(i), stream=f"s{i % 37}", at=T0 + timedelta(seconds=i % 101), payload=writer.encode()
    )


def _append_worker(
    opener: StoreOpener, name: str, plan: list[list[int]], start: Any, results: Any
) -> None:
    try:
        with opener() as store:
            written: list[str] = []
            duplicates: list[str] = []
            start.wait(timeout=60)
            for batch in plan:
                result = store.append([_numbered(i, name) for i in batch])
                written += result.written
                duplicates += result.duplicates
        results.put((name, True, {"written": written, "duplicates": duplicates}))
    except Exception as exc:  # reported to the test, which fails with it
        results.put((name, False, repr(exc)))


def _increment_worker(opener: StoreOpener, name: str, plan: int, start: Any, results: Any) -> None:
    try:
        with opener() as store:
            start.wait(timeout=60)
            done = conflicts = 0
            while done < plan:
                row = store.get_projection("counters", "shared")
                count, version = (int(row.value), row.version) if row else (0, 0)
                try:
                    store.write_projection(
                        "counters", [ProjectionWrite("shared", str(count + 1).encode(), version)]
                    )
                except ConcurrencyError:
                    conflicts += 1
                else:
                    done += 1
        results.put((name, True, conflicts))
    except Exception as exc:  # reported to the test, which fails with it
        results.put((name, False, repr(exc)))
