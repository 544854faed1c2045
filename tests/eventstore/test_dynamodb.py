"""The DynamoDB backend over the wire (a moto server on 127.0.0.1): the shared contract, plus
what only DynamoDB can get wrong (pages, unprocessed items, throttling, the table itself)."""

from __future__ import annotations

import random
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from eventstore import (
    AppendResult,
    EventStoreError,
    ProjectionRow,
    ProjectionWrite,
    StoreUnavailableError,
    open_store,
    schema,
)
from eventstore.dynamodb import DynamoDBEventStore, create_table
from eventstore.dynamodb.dictionary import CURRENT, DICTIONARIES
from eventstore.dynamodb.items import item_key, pack, record_from_image, row_from_item
from eventstore.dynamodb.store import dynamodb_client as _store_client
from eventstore.store import EventStore
from eventstore.url import init_store
from tests.aws_server import REGION, MotoServer, Throttle, unique_name
from tests.eventstore.contract import T0, EventStoreContract, StoreOpener, event, ids


class TestDynamoDBStore(EventStoreContract):
    # Every item is an HTTP round trip to moto: smaller sizes, the same shapes.
    large_feed_size = 2_500
    concurrent_ids = 1_500
    concurrent_increments = 40

    @pytest.fixture(autouse=True)
    def _server(self, moto: MotoServer) -> Iterator[None]:
        self.moto = moto
        self.tables: list[str] = []
        yield
        self._drop_tables()

    def create_store(self) -> EventStore:
        # A new store means the previous one is done with (hypothesis makes one per example):
        # dropping it keeps the moto server small.
        self._drop_tables()
        self.table = unique_name("events")
        create_table(self.table, region=REGION, endpoint_url=self.moto.endpoint_url)
        self.tables.append(self.table)
        return self.store_opener()()

    def _drop_tables(self) -> None:
        client = boto3.client("dynamodb", region_name=REGION, endpoint_url=self.moto.endpoint_url)
        for table in self.tables:
            client.delete_table(TableName=table)
        self.tables.clear()

    def store_opener(self) -> StoreOpener:
        return partial(
            DynamoDBEventStore, self.table, region=REGION, endpoint_url=self.moto.endpoint_url
        )


# -- what only DynamoDB can get wrong ------------------------------------------------------------


@pytest.fixture
def table(moto: MotoServer) -> Iterator[str]:
    name = unique_name("events")
    create_table(name, region=REGION, endpoint_url=moto.endpoint_url)
    yield name
    _client(moto).delete_table(TableName=name)


def _client(moto: MotoServer, **config: Any) -> Any:
    """A client as the store makes it, or with other botocore settings."""
    if not config:
        return _store_client(REGION, moto.endpoint_url)
    return boto3.client(
        "dynamodb", region_name=REGION, endpoint_url=moto.endpoint_url, config=Config(**config)
    )


class _Flaky:
    """A DynamoDB client that really performs each call but, as a throttled table does,
    leaves part of a batch unprocessed or cancels a transaction the first `times` times."""

    def __init__(self, real: Any, times: int = 2) -> None:
        self._real = real
        self.left = {"batch_write_item": times, "batch_get_item": times, "transact": times}
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls["batch_write_item"] += 1
        ((table, requests),) = RequestItems.items()
        if self.left["batch_write_item"] and len(requests) > 1:
            self.left["batch_write_item"] -= 1
            half = len(requests) // 2
            self._real.batch_write_item(RequestItems={table: requests[:half]})
            return {"UnprocessedItems": {table: requests[half:]}}
        return self._real.batch_write_item(RequestItems=RequestItems)  # type: ignore[no-any-return]

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.calls["batch_get_item"] += 1
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        if self.left["batch_get_item"] and len(keys) > 1:
            self.left["batch_get_item"] -= 1
            half = len(keys) // 2
            done = self._real.batch_get_item(RequestItems={table: {**request, "Keys": keys[:half]}})
            return {
                "Responses": done["Responses"],
                "UnprocessedKeys": {table: {**request, "Keys": keys[half:]}},
            }
        return self._real.batch_get_item(RequestItems=RequestItems)  # type: ignore[no-any-return]

    def transact_write_items(self, TransactItems: list[Any]) -> dict[str, Any]:  # noqa: N803
        self.calls["transact"] += 1
        if self.left["transact"]:
            self.left["transact"] -= 1
            reasons = [{"Code": "ThrottlingError"}] + [{"Code": "None"}] * (len(TransactItems) - 1)
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "throttled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return self._real.transact_write_items(TransactItems=TransactItems)  # type: ignore[no-any-return]


def _store(moto: MotoServer, table: str, client: Any = None) -> DynamoDBEventStore:
    store = DynamoDBEventStore(table, region=REGION, endpoint_url=moto.endpoint_url, client=client)
    store._sleep = lambda seconds: None  # backoff is tested by counting retries, not waiting
    return store


def test_reads_page_across_1mb_responses_and_honour_limit_exactly(
    moto: MotoServer, table: str
) -> None:
    # 150 KB payloads: DynamoDB (and moto) return at most 1 MB per Query page, ~6 records.
    big = [
        event(f"e{i:02d}", at=T0 + timedelta(seconds=i), payload=bytes([i]) * 150_000)
        for i in range(20)
    ]
    with _store(moto, table) as store:
        store.append(big)

        assert ids(store.read_stream("druid:bc123df4567", limit=13)) == ids(big[:13])
        assert ids(store.read_stream("druid:bc123df4567")) == ids(big)
        assert ids(store.read_stream("druid:bc123df4567", descending=True, limit=9)) == ids(
            big[::-1][:9]
        )
        assert ids(list(store.read_all())) == ids(big)
        assert [r.payload for r in store.read_all()] == [r.payload for r in big]


def test_unprocessed_items_and_keys_are_retried_until_none_is_lost(
    moto: MotoServer, table: str
) -> None:
    flaky = _Flaky(_client(moto), times=3)
    records = [event(f"e{i:03d}", stream=f"s{i % 40}") for i in range(150)]
    with _store(moto, table, client=flaky) as store:
        store.append(records)  # guards read and stream names written in part, then the rest
        store.write_projection("p", [ProjectionWrite(f"k{i}", b"v", 0) for i in range(30)])
        found = store.get_projections("p", [f"k{i}" for i in range(30)])
        store.clear_projection("p")

        assert flaky.left == {"batch_write_item": 0, "batch_get_item": 0, "transact": 0}
        assert len(found) == 30
        assert list(store.read_projection("p")) == []
        assert ids(list(store.read_all())) == ids(records)
        assert list(store.streams()) == sorted({r.stream for r in records})


def test_transactions_cancelled_by_throttling_are_retried_and_written_once(
    moto: MotoServer, table: str
) -> None:
    flaky = _Flaky(_client(moto), times=2)
    with _store(moto, table, client=flaky) as store:
        result = store.append([event("a"), event("b")])

        assert result.written == ["a", "b"]
        assert flaky.calls["transact"] == 3
        assert ids(list(store.read_all())) == ["a", "b"]


def test_transactions_that_stay_cancelled_raise_store_unavailable_and_write_nothing(
    moto: MotoServer, table: str
) -> None:
    flaky = _Flaky(_client(moto), times=1000)
    with _store(moto, table, client=flaky) as store:
        with pytest.raises(StoreUnavailableError, match="after 10 attempts"):
            store.append([event("a")])
        flaky.left["transact"] = 0

        assert list(store.read_all()) == []
        assert store.append([event("a")]).written == ["a"]


def test_throttled_calls_are_retried_by_botocore_with_backoff(moto: MotoServer, table: str) -> None:
    client = _client(moto, retries={"mode": "standard", "max_attempts": 4})
    throttle = Throttle(times=3)
    client.meta.events.register("before-send.dynamodb.*", throttle)
    with _store(moto, table, client=client) as store:
        assert store.append([event("a")]).written == ["a"]
        assert throttle.left == 0

        throttle.left = 100
        with pytest.raises(StoreUnavailableError, match="throttled"):
            store.read_stream("druid:bc123df4567")


def test_a_missing_table_is_a_one_line_unavailable_error(moto: MotoServer) -> None:
    with (
        _store(moto, unique_name("absent")) as store,
        pytest.raises(StoreUnavailableError, match=r"does not exist.*prov init"),
    ):
        store.append([event("a")])


def test_create_table_is_idempotent_and_sets_stream_index_and_ttl(moto: MotoServer) -> None:
    name = unique_name("events")
    client = _client(moto)

    assert create_table(name, region=REGION, endpoint_url=moto.endpoint_url) is True
    assert create_table(name, region=REGION, endpoint_url=moto.endpoint_url) is False

    table = client.describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        schema.PARTITION_KEY: "HASH",
        schema.SORT_KEY: "RANGE",
    }
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == [schema.FEED_INDEX]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": schema.STREAM_VIEW_TYPE,
    }
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == schema.TTL_ATTRIBUTE
    client.delete_table(TableName=name)


def test_expiring_records_carry_the_ttl_attribute_in_epoch_seconds(
    moto: MotoServer, table: str
) -> None:
    due = T0 + timedelta(days=30, microseconds=1)
    with _store(moto, table) as store:
        store.append([replace(event("a"), expires_at=due), event("kept")])

    items = _client(moto).scan(TableName=table)["Items"]
    ttl = {
        item[schema.PARTITION_KEY]["S"]: int(item[schema.TTL_ATTRIBUTE]["N"])
        for item in items
        if schema.TTL_ATTRIBUTE in item
    }
    # The event and its id guard, rounded up: DynamoDB never deletes before the due time.
    assert sorted(ttl) == [schema.EVENT_ID_PREFIX + "a", schema.EVENT_PREFIX + "druid:bc123df4567"]
    assert set(ttl.values()) == {int(due.timestamp()) + 1}


def test_projection_rows_with_an_expiry_carry_the_ttl_attribute(
    moto: MotoServer, table: str
) -> None:
    due = T0 + timedelta(hours=48, microseconds=1)
    later = due + timedelta(hours=1)

    def ttls() -> dict[str, int]:
        items = _client(moto).scan(TableName=table)["Items"]
        return {
            item[schema.SORT_KEY]["S"]: int(item[schema.TTL_ATTRIBUTE]["N"])
            for item in items
            if item[schema.PARTITION_KEY]["S"] == schema.PROJECTION_PREFIX + "p"
            and schema.TTL_ATTRIBUTE in item
        }

    with _store(moto, table) as store:
        assert store.expires_projection_rows
        store.write_projection(
            "p", [ProjectionWrite("marker", b"", 0, expires_at=due), ProjectionWrite("row", b"", 0)]
        )
        # Epoch seconds, rounded up: DynamoDB never deletes before the due time.
        assert ttls() == {"marker": int(due.timestamp()) + 1}

        store.write_projection(
            "p",
            [
                ProjectionWrite("marker", b"", 1, expires_at=later),
                ProjectionWrite("row", b"1", 1, expires_at=later),
            ],
        )
        assert ttls() == {"marker": int(later.timestamp()) + 1, "row": int(later.timestamp()) + 1}

        # Each write sets the expiry anew: one without it keeps the row until deleted.
        store.write_projection("p", [ProjectionWrite("row", b"2", 2)])
        assert ttls() == {"marker": int(later.timestamp()) + 1}
        assert store.get_projection("p", "row") == ProjectionRow("row", b"2", 3)


def test_stream_images_turn_back_into_records(moto: MotoServer, table: str) -> None:
    with _store(moto, table) as store:
        store.append([event("a")])
        (stored,) = store.read_all()
    items = _client(moto).scan(TableName=table)["Items"]

    records = [record_from_image(item) for item in items]

    assert [r for r in records if r is not None] == [stored]


def test_open_store_and_init_store_by_url(moto: MotoServer) -> None:
    name = unique_name("events")
    url = moto.dynamodb_url(name)

    assert init_store(url) == f"created table {name}"
    assert init_store(url) == f"found table {name}"
    with open_store(url) as store:
        assert isinstance(store, DynamoDBEventStore)
        assert store.append([event("a")]).written == ["a"]
    _client(moto).delete_table(TableName=name)


@pytest.mark.parametrize(
    "url",
    [
        "dynamodb://",
        "dynamodb://ab",
        "dynamodb://bad table",
        "dynamodb://table?colour=blue",
    ],
)
def test_malformed_dynamodb_urls_are_refused(url: str) -> None:
    with pytest.raises(StoreUnavailableError):
        open_store(url)


def test_payloads_and_values_are_compressed_with_the_dictionary_when_that_pays(
    moto: MotoServer, table: str
) -> None:
    wordy = b'{"type": "FixityChecked", "detail": "checksums match"}' * 20
    noise = random.Random(1).randbytes(2000)
    with _store(moto, table) as store:
        store.append([event("wordy", payload=wordy), event("tiny"), event("n2", payload=noise)])
        store.write_projection("p", [ProjectionWrite("big", wordy, 0)])

        assert {r.event_id: r.payload for r in store.read_all()} == {
            "wordy": wordy,
            "tiny": b"payload of tiny",
            "n2": noise,
        }
        assert store.get_projection("p", "big") == ProjectionRow("big", wordy, 1)
    items = _client(moto).scan(TableName=table)["Items"]
    stored = {
        item[schema.SORT_KEY]["S"].partition("#")[2]: sorted(set(item) & {"payload", "payload_d"})
        for item in items
        if item[schema.PARTITION_KEY]["S"].startswith(schema.EVENT_PREFIX)
    }
    assert stored == {"wordy": ["payload_d"], "tiny": ["payload"], "n2": ["payload"]}
    (row,) = [i for i in items if i[schema.PARTITION_KEY]["S"] == "projection#p"]
    assert row[schema.ATTR_VALUE_DICT]["B"][0] == CURRENT
    assert len(row[schema.ATTR_VALUE_DICT]["B"]) < len(wordy) // 5
    # The id and the stream are in the keys only (the guard's id too).
    for item in items:
        assert schema.ATTR_EVENT_ID not in item and schema.ATTR_STREAM not in item


def test_a_typical_payload_packs_to_a_third_with_the_dictionary() -> None:
    payload = (
        b'{"schema_version":1,"event_id":"4f0c2d4e-9a53-5d27-a0d4-5b8cf3e1f7aa",'
        b'"object":"druid:xy123zz4567","object_conforming":true,"version":3,'
        b'"occurred_at":"2027-02-03T04:05:06Z","recorded_at":"2027-02-03T04:06:00.123456Z",'
        b'"source":{"type":"prescat","origin":"preservation-catalog-prod-02","file":'
        b'"/var/log/preservation_catalog/production.log","line":1234},"agent":{"name":'
        b'"preservation_catalog","kind":"software","version":null,"host":null},'
        b'"premis_type":"fix","outcome":"success","detail":"checksums match",'
        b'"linked_objects":[],"type":"FixityChecked","storage_root":"services-disk02"}'
    )
    name, packed = pack(payload, schema.ATTR_PAYLOAD, schema.ATTR_PAYLOAD_DICT)
    assert name == schema.ATTR_PAYLOAD_DICT
    assert len(packed) < len(payload) // 3
    assert len(packed) < len(zlib.compress(payload, 9)) // 2


@given(st.binary(max_size=3000) | st.sampled_from([d[-1500:] for d in DICTIONARIES.values()]))
def test_any_bytes_round_trip_packed_and_are_never_stored_bigger(data: bytes) -> None:
    name, packed = pack(data, schema.ATTR_VALUE, schema.ATTR_VALUE_DICT)
    assert len(packed) <= len(data)
    item = item_key(schema.PROJECTION_PREFIX + "p", "k")
    item[name] = {"B": packed}
    item[schema.ATTR_VERSION] = {"N": "1"}
    assert row_from_item(item).value == data


def test_items_written_before_issue_13_read_back_as_they_were(moto: MotoServer, table: str) -> None:
    # The layout of commit 328d8ee: id and stream repeated as attributes, payloads and values
    # compressed by zlib alone (`payload_z`, `value_z`), guards carrying the id.
    payload = b'{"type": "FixityChecked", "detail": "checksums match"}' * 10
    time_key = "2026-03-01T12:00:00.000000Z"
    old_items = [
        {
            "pk": {"S": "stream#druid:bc123df4567"},
            "sk": {"S": f"{time_key}#old-1"},
            "event_id": {"S": "old-1"},
            "stream": {"S": "druid:bc123df4567"},
            "type": {"S": "FixityChecked"},
            "payload_z": {"B": zlib.compress(payload, 6)},
            "feed_bucket": {"N": "0"},
            "feed_position": {"N": "1"},
        },
        {"pk": {"S": "event#old-1"}, "sk": {"S": "-"}, "event_id": {"S": "old-1"}},
        {"pk": {"S": "counter#position"}, "sk": {"S": "-"}, "last": {"N": "1"}},
        {
            "pk": {"S": "projection#p"},
            "sk": {"S": "row"},
            "value_z": {"B": zlib.compress(payload, 6)},
            "version": {"N": "4"},
        },
    ]
    client = _client(moto)
    for item in old_items:
        client.put_item(TableName=table, Item=item)
    with _store(moto, table) as store:
        (record,) = store.read_stream("druid:bc123df4567")
        assert (record.event_id, record.stream, record.type, record.payload, record.position) == (
            "old-1",
            "druid:bc123df4567",
            "FixityChecked",
            payload,
            1,
        )
        assert list(store.read_all()) == [record]
        assert store.get_projection("p", "row") == ProjectionRow("row", payload, 4)
        # The old guard still makes the id a duplicate; new records go on from the counter.
        assert store.append([event("old-1"), event("new-1")]) == AppendResult(
            written=["new-1"], duplicates=["old-1"], positions=[2], previous=1
        )


def test_an_item_packed_with_an_unknown_dictionary_is_refused(moto: MotoServer, table: str) -> None:
    item = item_key(schema.PROJECTION_PREFIX + "p", "row")
    item[schema.ATTR_VALUE_DICT] = {"B": bytes((CURRENT + 1,)) + b"\x78\x9c"}
    item[schema.ATTR_VERSION] = {"N": "1"}
    _client(moto).put_item(TableName=table, Item=item)
    with _store(moto, table) as store, pytest.raises(EventStoreError, match="newer version"):
        store.get_projection("p", "row")
