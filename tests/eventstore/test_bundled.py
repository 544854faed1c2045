"""Bundled streams (`open_store(url, bundled_prefixes=...)`): the contract's behaviours on
streams whose records DynamoDB writes in bundles (`eventstore.dynamodb.bundles`), on both
backends. The embedded store ignores the option, so it must give the same results wherever
the bundle's documented differences allow it:

- an id is stored at most once per stream and UTC hour (not once in the whole store): the
  same id in another stream-hour is stored again on DynamoDB, a duplicate on SQLite;
- the records of one append take positions bundle by bundle (stream-hour by stream-hour in
  the order each first appears), so `read_all`'s order is the order of what appends reported
  written, not the order records were given in;
- a bundle expires when its last record is due;
- two writers adding the same new id to the same stream-hour at the same instant may both
  store it (the residual case: the same log line shipped on two shards at once).

Here every stream is bundled (prefix ""), so the whole contract suite also runs on bundles.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any, ClassVar

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import AppendResult, EventRecord, EventStore, ExpireResult, open_store, schema
from eventstore.dynamodb import DynamoDBEventStore, create_table
from eventstore.dynamodb import append as append_module
from eventstore.dynamodb.bundles import MAX_RECORDS
from eventstore.dynamodb.stream import inserted_bundle, inserted_record, removed_event
from eventstore.records import time_key
from tests.aws_lambda import TableStreamPoller
from tests.aws_server import REGION, MotoServer, unique_name
from tests.eventstore import test_dynamodb, test_sqlite
from tests.eventstore.contract import (
    PLUS_TWO,
    T0,
    EventStoreContract,
    StoreOpener,
    _append_worker,
    _batches,
    _run_in_processes,
    event,
    ids,
    stream_order,
    unstored,
)

EVERY_STREAM = ("",)
ACCESS_STREAM = "$access/stacks/2026-03-01"


class BundledContract(EventStoreContract):
    """The contract's tests whose expectations bundles change, in the form both backends
    meet; everything else is the contract suite's own test, run on bundled streams."""

    dedup_per_stream_hour: ClassVar[bool]
    """True where an id is stored once per stream-hour (DynamoDB's bundles), False where
    once in the store (SQLite, which ignores the option)."""

    def test_same_id_with_other_content_keeps_the_first(self, store: EventStore) -> None:
        store.append([event("a", payload=b"first")])

        result = store.append(
            [event("a", payload=b"second"), event("b", payload=b"one"), event("b", payload=b"two")]
        )

        assert result == AppendResult(written=["b"], duplicates=["a", "b"])
        stored = {r.event_id: r.payload for r in store.read_stream("druid:bc123df4567")}
        assert stored == {"a": b"first", "b": b"one"}
        # The same id in another hour or stream: stored once per stream-hour on bundles.
        later = store.append([event("a", payload=b"later", at=T0 + timedelta(hours=1))])
        elsewhere = store.append([event("a", payload=b"elsewhere", stream="other")])
        again = ["a"] if self.dedup_per_stream_hour else []
        assert (later.written, elsewhere.written) == (again, again)
        assert later.written + later.duplicates == elsewhere.written + elsewhere.duplicates == ["a"]

    def test_read_all_is_append_order_with_increasing_positions(self, store: EventStore) -> None:
        first = [event("x", at=T0 + timedelta(days=2)), event("y", stream="druid:other")]
        second = [event("a", at=T0 - timedelta(days=2)), event("x"), event("b")]
        reported = store.append(first).written + store.append(second).written

        feed = list(store.read_all())

        assert ids(feed) == reported
        assert reported[:2] == ["x", "y"]
        assert sorted(reported[2:]) == (
            ["a", "b", "x"] if self.dedup_per_stream_hour else ["a", "b"]
        )
        positions = [record.position for record in feed]
        assert positions == sorted(set(positions))  # type: ignore[type-var]

    def test_read_all_streams_a_large_feed_completely(self, store: EventStore) -> None:
        records = [
            event(f"e{i:06d}", stream=f"s{i % 13}", at=T0 - timedelta(seconds=i))
            for i in range(2_500)
        ]
        reported: list[str] = []
        for start in range(0, len(records), 1000):
            reported += store.append(records[start : start + 1000]).written

        got = list(store.read_all())

        assert ids(got) == reported
        assert sorted(reported) == ids(records)
        assert all(a.position < b.position for a, b in itertools.pairwise(got))  # type: ignore[operator]
        # Resuming after any position gives exactly the rest (inside a bundle too).
        for cut in (1, 7, 999, 1000, 1001, 2_499):
            after = got[cut - 1].position
            assert ids(store.read_all(after_position=after)) == reported[cut:]

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

        if self.dedup_per_stream_hour:
            # old-1 shares its bundle (stream, hour) with later: it goes with later's expiry.
            assert result == ExpireResult(deleted=1, latest=T0 + timedelta(hours=1))
            assert set(ids(store.read_all())) == {"old-1", "later", "kept"}
            result = store.expire(due + timedelta(microseconds=1))
            assert result == ExpireResult(deleted=2, latest=T0)
        else:
            assert result == ExpireResult(deleted=2, latest=T0 + timedelta(hours=1))
            store.expire(due + timedelta(microseconds=1))
        assert ids(store.read_stream("druid:bc123df4567")) == ["kept"]

    def test_two_processes_appending_overlapping_ids(self, store: EventStore) -> None:
        n = 600
        overlap = range(n // 2, n)
        plans = {
            "A": _batches([*overlap, *range(n // 2)], 100),
            "B": _batches([*overlap, *range(n, n + n // 2)], 100, first=50),
        }

        results = _run_in_processes(_append_worker, self.store_opener(), plans)

        distinct = set(range(n + n // 2))
        for name, result in results.items():
            sent = Counter(str(i) for batch in plans[name] for i in batch)
            assert Counter(result["written"]) + Counter(result["duplicates"]) == sent
        feed = list(store.read_all())
        stored = Counter(int(record.event_id) for record in feed)
        # Nothing is lost; an id is stored twice only where both writers reported it written
        # (the residual case of bundles, which the embedded store does not have).
        assert set(stored) == distinct
        both = {int(i) for i in results["A"]["written"]} & {int(i) for i in results["B"]["written"]}
        assert {i for i, count in stored.items() if count > 1} == both
        assert all(count <= 2 for count in stored.values())
        if not self.dedup_per_stream_hour:
            assert not both
        for record in feed:
            assert record.event_id in results[record.payload.decode()]["written"]

    @given(
        batches=st.lists(
            st.lists(
                st.tuples(
                    st.sampled_from(["a", "b", "c", "d", "e", "a#b", "é"]),
                    st.sampled_from(["s1", "s2", "s1/x"]),
                    st.integers(min_value=0, max_value=3),  # 40 minutes apart: 3 hours
                    st.binary(max_size=8),
                ),
                max_size=8,
            ),
            max_size=6,
        )
    )
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    def test_any_sequence_of_appends(
        self, batches: list[list[tuple[str, str, int, bytes]]]
    ) -> None:
        """Whatever is appended, with repeats across appends, hours and streams, each record
        is stored once per its dedup scope (stream-hour, or the store), the first one given,
        and reads back once, in order, from `read_stream` (paged too) and `read_all`."""
        stored: dict[tuple[str, ...], EventRecord] = {}
        reported: list[str] = []
        with self.create_store() as store:
            for batch in batches:
                records = [
                    event(i, stream=s, at=T0 + timedelta(minutes=40 * t), payload=p)
                    for i, s, t, p in batch
                ]
                expected: list[EventRecord] = []
                for record in {r.event_id: r for r in reversed(records)}.values():
                    scope = self._scope(record)
                    if scope not in stored:
                        expected.append(record)
                for record in expected:
                    stored[self._scope(record)] = record
                result = store.append(records)
                assert sorted(result.written) == sorted(ids(expected))
                assert len(result.duplicates) == len(records) - len(expected)
                reported += result.written

            feed = list(store.read_all())
            assert ids(feed) == reported
            assert sorted(unstored(feed), key=_identity) == sorted(stored.values(), key=_identity)
            for name in {r.stream for r in stored.values()}:
                want = stream_order([r for r in stored.values() if r.stream == name])
                assert unstored(store.read_stream(name)) == want
                assert unstored(store.read_stream(name, descending=True)) == want[::-1]
                paged: list[EventRecord] = []
                while page := store.read_stream(
                    name, after=paged[-1].cursor if paged else None, limit=2
                ):
                    paged += page
                assert unstored(paged) == want
            assert list(store.streams()) == sorted({r.stream for r in stored.values()})

    def _scope(self, record: EventRecord) -> tuple[str, ...]:
        if self.dedup_per_stream_hour:
            return (record.stream, time_key(record.occurred_at)[:13], record.event_id)
        return (record.event_id,)


def _identity(record: EventRecord) -> tuple[str, str, str]:
    return (record.stream, record.cursor, record.event_id)


# The backends' contract classes by module: imported by name, pytest would run them here too.
class TestBundledDynamoDBStore(BundledContract, test_dynamodb.TestDynamoDBStore):
    dedup_per_stream_hour = True

    def store_opener(self) -> StoreOpener:
        return partial(
            DynamoDBEventStore,
            self.table,
            region=REGION,
            endpoint_url=self.moto.endpoint_url,
            bundled_prefixes=EVERY_STREAM,
        )


class TestBundledSQLiteStore(BundledContract, test_sqlite.TestSQLiteStore):
    dedup_per_stream_hour = False

    def create_store(self) -> EventStore:
        self.created += 1
        self.path = self.directory / f"events-{self.created}.db"
        return open_store(f"sqlite:///{self.path}", bundled_prefixes=EVERY_STREAM)

    def store_opener(self) -> StoreOpener:
        return partial(
            open_store, f"sqlite:///{self.path}", create=False, bundled_prefixes=EVERY_STREAM
        )


# -- what only DynamoDB's bundles can get wrong --------------------------------------------------


@pytest.fixture
def table(moto: MotoServer) -> Iterator[str]:
    name = unique_name("events")
    create_table(name, region=REGION, endpoint_url=moto.endpoint_url)
    yield name
    boto3.client("dynamodb", region_name=REGION, endpoint_url=moto.endpoint_url).delete_table(
        TableName=name
    )


def _open(moto: MotoServer, table: str, *prefixes: str) -> DynamoDBEventStore:
    return DynamoDBEventStore(
        table, region=REGION, endpoint_url=moto.endpoint_url, bundled_prefixes=prefixes
    )


def _access(
    number: int, minutes: int = 0, stream: str = "$access/stacks/2026-03-01"
) -> EventRecord:
    return event(
        f"00000000-0000-5000-8000-{number:012d}",
        stream=stream,
        type="ServiceAccessed",
        at=T0 + timedelta(minutes=minutes),
    )


def _items(moto: MotoServer, table: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto.endpoint_url)
    return list(client.scan(TableName=table)["Items"])


def test_only_streams_with_a_bundled_prefix_are_bundled(moto: MotoServer, table: str) -> None:
    with _open(moto, table, "$access/") as store:
        store.append([_access(i) for i in range(5)] + [event("p1"), event("p2")])

        items = _items(moto, table)
        bundles = [i for i in items if schema.ATTR_BUNDLE in i]
        guards = [i for i in items if i[schema.PARTITION_KEY]["S"].startswith("event#")]
        assert len(bundles) == 1
        assert sorted(g[schema.PARTITION_KEY]["S"] for g in guards) == ["event#p1", "event#p2"]
        assert len(store.read_stream("$access/stacks/2026-03-01")) == 5


def test_a_store_written_by_the_previous_layout_reads_as_before(
    moto: MotoServer, table: str
) -> None:
    """Access events written one item each (as before bundles) stay single items: reads
    merge them with bundles of the same hours, and their ids are duplicates to a bundled
    append of the same stream-hour."""
    old = [_access(i, minutes=10 * i) for i in range(8)]
    with _open(moto, table) as before:
        before.append(old)
    new = [_access(100 + i, minutes=10 * i + 5) for i in range(8)]
    with _open(moto, table, "$access/") as store:
        result = store.append([*old[2:5], *new])

        assert sorted(result.written) == sorted(ids(new))
        assert result.duplicates == ids(old[2:5])
        want = stream_order([*old, *new])
        stream = "$access/stacks/2026-03-01"
        assert unstored(store.read_stream(stream)) == want
        assert unstored(store.read_stream(stream, descending=True)) == want[::-1]
        assert unstored(store.read_stream(stream, after=want[4].cursor, limit=5)) == want[5:10]
        assert ids(store.read_all()) == ids(old) + result.written
    # A handle not told about bundles still reads them.
    with _open(moto, table) as plain:
        assert unstored(plain.read_stream(stream, limit=3)) == want[:3]


def test_a_retried_append_after_a_crash_between_bundles_adds_nothing_twice(
    moto: MotoServer, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [_access(i, minutes=20 * i) for i in range(9)]  # three hours: three bundles
    with _open(moto, table, "$access/") as store:
        real = append_module.Appending._write_bundle
        calls = 0

        def crash_after_one(self: Any, *args: Any) -> bool:
            nonlocal calls
            calls += 1
            if calls > 1:
                raise RuntimeError("the function timed out")
            return real(self, *args)

        monkeypatch.setattr(append_module.Appending, "_write_bundle", crash_after_one)
        with pytest.raises(RuntimeError):
            store.append(records)
        monkeypatch.setattr(append_module.Appending, "_write_bundle", real)

        retried = store.append(records)
        again = store.append(records)

        assert len(retried.written) == 6 and len(retried.duplicates) == 3
        assert again.written == []
        assert unstored(store.read_stream("$access/stacks/2026-03-01")) == records
        assert sorted(ids(store.read_all())) == sorted(ids(records))


def test_a_bundle_written_twice_at_once_is_stored_once(moto: MotoServer, table: str) -> None:
    """Two writers that read the stream-hour before either wrote make the same bundle of the
    same records: its key is a digest of their ids, so the second put finds it."""
    records = [_access(i) for i in range(4)]
    with _open(moto, table, "$access/") as first, _open(moto, table, "$access/") as second:
        seen = first._new_bundles({("$access/stacks/2026-03-01", records[0].cursor[:13]): records})
        assert second.append(records).written == ids(records)
        ((stream, hour, bundle),) = seen
        assert not first._write_bundle(stream, hour, bundle, 1)
        assert len(first.read_stream(stream)) == 4


def test_big_appends_are_cut_into_bundles_that_fit_an_item(moto: MotoServer, table: str) -> None:
    big = [replace(_access(i), payload=bytes([i]) * 120_000) for i in range(5)]
    many = [_access(1000 + i, minutes=1) for i in range(MAX_RECORDS + 5)]
    with _open(moto, table, "$access/") as store:
        result = store.append([*big, *many])

        assert len(result.written) == len(big) + len(many)
        bundles = [i for i in _items(moto, table) if schema.ATTR_BUNDLE in i]
        assert len(bundles) >= 4
        assert all(len(i[schema.ATTR_BUNDLE]["B"]) < 350_000 for i in bundles)
        assert unstored(store.read_stream("$access/stacks/2026-03-01")) == stream_order(
            [*big, *many]
        )
        feed = list(store.read_all())
        assert ids(feed) == result.written
        assert [r.position for r in feed] == result.positions


def test_read_all_filters_the_records_of_bundles(moto: MotoServer, table: str) -> None:
    records = [
        replace(_access(i, minutes=15 * i), type="ServiceAccessed" if i % 2 else "Other")
        for i in range(12)
    ]
    with _open(moto, table, "$access/") as store:
        store.append(records)
        since, until = T0 + timedelta(minutes=30), T0 + timedelta(minutes=120)

        got = store.read_all(types=["ServiceAccessed"], since=since, until=until)

        assert ids(got) == [
            r.event_id
            for r in records
            if r.type == "ServiceAccessed" and since <= r.occurred_at < until
        ]


def test_the_table_stream_gives_a_bundles_records(moto: MotoServer, table: str) -> None:
    records = [replace(_access(i), expires_at=T0 + timedelta(days=1)) for i in range(3)]
    with _open(moto, table, "$access/") as store:
        store.append([*records, event("p1")])
        store.expire(T0 + timedelta(days=2))
    changes = [
        r
        for batch in TableStreamPoller(moto.endpoint_url, table).batches()
        for r in batch["Records"]
    ]

    bundles = [b for b in map(inserted_bundle, changes) if b is not None]
    singles = [r for r in map(inserted_record, changes) if r is not None]
    removed = [r for r in map(removed_event, changes) if r is not None]

    ((identity, got),) = bundles
    assert unstored(got) == records and len(identity) == 24
    assert ids(singles) == ["p1"]
    assert removed == [("$access/stacks/2026-03-01", "2026-03-01T22:59:59.999999Z")]
