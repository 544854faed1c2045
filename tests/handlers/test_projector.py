"""Projections fed by the store's change stream (`Projector.apply_changes`, the projector
Lambda): every event counted exactly once however often and in whatever order it arrives,
also with several consumers at once, and equal to a replay of the store."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventstore import EventRecord, EventStore, SQLiteEventStore, schema
from eventstore.dynamodb import DynamoDBEventStore, create_table
from provenance.projections import access_counts
from provenance.projections.access_counts import AccessCountsProjector
from provenance.projections.base import APPLIED, Change, ChangeReport, Projector
from tests.access_helpers import random_records, replayed_views, summed_views
from tests.aws_server import REGION, MotoServer, unique_name


class MarkedCounts(AccessCountsProjector):
    """AccessCounts through the projectors' shared change-stream path (an applied-marker per
    change, rows read and written back under their versions), which ObjectState takes:
    AccessCounts itself puts each change in rows of its own."""

    def apply_changes(self, changes: Sequence[Change]) -> ChangeReport:
        return Projector.apply_changes(self, changes)


PROJECTORS = pytest.mark.parametrize(
    "projector_class", [MarkedCounts, AccessCountsProjector], ids=["marked", "rows-per-change"]
)


def _rows(store: EventStore) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """The projection's counts as readers sum them (whatever rows hold them; not its markers
    or checkpoint)."""
    return summed_views(store)


def _changes(records: list[EventRecord], hour: str = "2026-03-11T10") -> list[Change]:
    return [Change(record, hour) for record in records]


@pytest.fixture
def dynamodb(moto: MotoServer) -> Iterator[DynamoDBEventStore]:
    table = unique_name("events")
    create_table(table, region=REGION, endpoint_url=moto.endpoint_url)
    with DynamoDBEventStore(table, region=REGION, endpoint_url=moto.endpoint_url) as store:
        yield store


@PROJECTORS
def test_redelivered_and_reordered_changes_are_counted_once(
    tmp_path: Path, projector_class: type[AccessCountsProjector]
) -> None:
    records = random_records(300, seed=7)
    with SQLiteEventStore(tmp_path / "stream.db") as store:
        projector = projector_class(store)
        first = projector.apply_changes(_changes(records[:200]))
        # Lambda delivers again from a failed record on; other shards' records come between.
        shuffled = records[100:]
        random.Random(3).shuffle(shuffled)
        second = projector.apply_changes(_changes(shuffled))

        assert (first.applied, first.already_applied) == (200, 0)
        if projector_class is MarkedCounts:
            assert (second.applied, second.already_applied) == (100, 100)
        else:  # a change delivered again is put again, the same rows
            assert (second.applied, second.already_applied) == (200, 0)
        assert _rows(store) == replayed_views(records, tmp_path / "replayed.db")


@PROJECTORS
def test_concurrent_consumers_over_the_wire_count_each_event_once(
    dynamodb: DynamoDBEventStore, tmp_path: Path, projector_class: type[AccessCountsProjector]
) -> None:
    # Two shards' consumers, both touching the same hourly rows, and one of them delivered
    # twice: conflicts are read again and retried, markers stop the second delivery.
    records = random_records(240, seed=11, days=1)
    shards = [records[0::2], records[1::2]]
    errors: list[BaseException] = []

    def consume(part: list[EventRecord]) -> None:
        try:
            projector = projector_class(dynamodb)
            for start in range(0, len(part), 25):
                projector.apply_changes(_changes(part[start : start + 25]))
            projector.apply_changes(_changes(part[:50]))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(part,)) for part in shards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors
    assert _rows(dynamodb) == replayed_views(records, tmp_path / "replayed.db")


def test_each_atomic_write_stays_within_the_store_limit(
    dynamodb: DynamoDBEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real = dynamodb.write_projection

    def counting(projection: str, writes: list) -> None:  # type: ignore[type-arg]
        sizes.append(len(writes))
        real(projection, writes)

    monkeypatch.setattr(dynamodb, "write_projection", counting)
    report = MarkedCounts(dynamodb).apply_changes(_changes(random_records(400, seed=5, days=30)))

    assert report.applied == 400
    assert max(sizes) <= dynamodb.max_atomic_writes
    assert len(sizes) > 1


def test_markers_older_than_the_stream_retention_are_pruned(tmp_path: Path) -> None:
    records = random_records(30, seed=2)
    with SQLiteEventStore(tmp_path / "stream.db") as store:
        projector: Projector = MarkedCounts(store)
        projector.apply_changes(_changes(records[:10], hour="2026-03-01T00"))
        projector.apply_changes(_changes(records[10:], hour="2026-03-02T23"))
        counts = _rows(store)

        deleted = projector.prune_markers("2026-03-03T01")

        markers = [
            row.key
            for row in store.read_projection(access_counts.PROJECTION)
            if row.key.startswith(APPLIED)
        ]
        assert deleted == 10
        assert len(markers) == 20
        assert all(key.startswith(APPLIED + "2026-03-02T23/") for key in markers)
        assert _rows(store) == counts


def test_markers_on_dynamodb_expire_48_hours_after_their_changes_hour(
    dynamodb: DynamoDBEventStore, moto: MotoServer
) -> None:
    records = random_records(30, seed=4)
    projector = MarkedCounts(dynamodb)
    projector.apply_changes(_changes(records[:20], hour="2026-03-11T10"))
    projector.apply_changes(_changes(records[20:], hour="2026-03-11T23"))

    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto.endpoint_url)
    items = client.scan(TableName=dynamodb.table)["Items"]
    ttl = {
        item[schema.SORT_KEY]["S"]: int(item[schema.TTL_ATTRIBUTE]["N"])
        for item in items
        if item[schema.SORT_KEY]["S"].startswith(APPLIED)
    }
    ten, eleven_pm = datetime(2026, 3, 13, 10, tzinfo=UTC), datetime(2026, 3, 13, 23, tzinfo=UTC)
    assert len(ttl) == 30
    assert Counter(ttl.values()) == {int(ten.timestamp()): 20, int(eleven_pm.timestamp()): 10}
    # The count rows are provenance's, not bookkeeping: they never expire.
    assert all(
        schema.TTL_ATTRIBUTE not in item
        for item in items
        if not item[schema.SORT_KEY]["S"].startswith(APPLIED)
    )
    # A redelivery within the stream's retention finds its marker.
    report = projector.apply_changes(_changes(records[:20], hour="2026-03-11T10"))
    assert (report.applied, report.already_applied) == (0, 20)


@pytest.mark.parametrize("expires", [False, True], ids=["store-keeps-rows", "store-expires-rows"])
def test_the_handler_prunes_markers_only_where_the_store_does_not_expire_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expires: bool
) -> None:
    import handlers.projector
    from provenance.projections import change_stream
    from tests.aws_lambda import LambdaContext

    path = tmp_path / "store.db"
    with SQLiteEventStore(path) as store:
        MarkedCounts(store).apply_changes(
            _changes(random_records(10, seed=6), hour="2026-03-01T00")
        )
    monkeypatch.setenv("PROV_STORE", f"sqlite:///{path}")
    monkeypatch.setattr(SQLiteEventStore, "expires_projection_rows", expires)
    monkeypatch.setattr(change_stream, "_pruned_hour", None)

    # markers of March 2026 are long past 48 hours
    handlers.projector.handler({"Records": []}, LambdaContext())

    with SQLiteEventStore(path) as store:
        markers = list(
            store.read_projection(access_counts.PROJECTION, start=APPLIED, stop=APPLIED + "~")
        )
    assert len(markers) == (10 if expires else 0)


def test_catching_up_from_the_feed_is_left_to_the_stream_on_dynamodb(
    dynamodb: DynamoDBEventStore,
) -> None:
    dynamodb.append(random_records(5, seed=1))

    assert access_counts.catch_up(dynamodb) == 0
    assert not any(_rows(dynamodb).values())
    assert access_counts.rebuild(dynamodb) == 5
    assert all(_rows(dynamodb).values())


def test_the_handler_seals_days_whose_access_events_the_ttl_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.projector
    from tests.aws_lambda import LambdaContext

    monkeypatch.setenv("PROV_STORE", f"sqlite:///{tmp_path / 'store.db'}")
    SQLiteEventStore(tmp_path / "store.db").close()
    removed = {
        "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "Keys": {
                "pk": {"S": "stream#$access/stacks/2026-03-01"},
                "sk": {"S": "2026-03-01T22:14:05.123456Z#00000000-0000-5000-8000-000000000001"},
            },
            "SequenceNumber": "100",
            "ApproximateCreationDateTime": 1775000000.0,
        },
    }

    response = handlers.projector.handler({"Records": [removed]}, LambdaContext())

    assert response == {"batchItemFailures": []}
    with SQLiteEventStore(tmp_path / "store.db") as store:
        assert access_counts.sealed_before(store) == datetime(2026, 3, 2, tzinfo=UTC)


def test_object_state_writes_stay_atomic_with_their_index_entries_and_totals(
    dynamodb: DynamoDBEventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each object row's write carries its index entries and totals, items of their own on
    DynamoDB: a chunk whose write would not fit one transaction is applied in halves, so every
    call stays all-or-nothing, and the fleet's indexes and totals are the replay's."""
    from zoneinfo import ZoneInfo

    from provenance.cli.demo.world import generate
    from provenance.ingest.pipeline import ingest_stream
    from provenance.ingest.reader import IngestOptions
    from provenance.projections import object_state
    from provenance.projections.base import store_items

    data = generate(tmp_path / "world", objects=6, days=12)
    embedded = SQLiteEventStore(tmp_path / "embedded.db")
    for file in data.files:
        with file.path.open("rb") as stream:
            ingest_stream(
                embedded, stream, file.path.name, IngestOptions(tz=ZoneInfo("America/Los_Angeles"))
            )
    records = [r for r in embedded.read_all() if r.type in object_state.OBJECT_EVENT_TYPES]
    dynamodb.append(records)
    items: list[int] = []
    real = dynamodb.write_projection

    def counting(projection: str, writes: list) -> None:  # type: ignore[type-arg]
        items.append(store_items(writes))
        real(projection, writes)

    monkeypatch.setattr(dynamodb, "write_projection", counting)
    projector = object_state.ObjectStateProjector(dynamodb)
    for start in range(0, len(records), 100):
        projector.apply_changes(_changes(records[start : start + 100]))

    assert dynamodb.max_atomic_writes is not None
    assert max(items) <= dynamodb.max_atomic_writes and len(items) > len(records) // 100
    object_state.catch_up(embedded)
    totals = embedded.projection_totals(object_state.PROJECTION)
    assert dynamodb.projection_totals(object_state.PROJECTION) == totals
    for index in ("failing", "status", "fixity", "replicas", "activity"):
        assert dynamodb.read_index(object_state.PROJECTION, index, limit=1000) == (
            embedded.read_index(object_state.PROJECTION, index, limit=1000)
        ), index
    embedded.close()
