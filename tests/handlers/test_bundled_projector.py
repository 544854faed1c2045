"""Bundles of access events through the table's stream into AccessCounts: one change per
bundle, counted in rows of its own (no marker, no transaction), every record counted exactly
once however often it is delivered, summing to what a replay of the same events gives
(`prov rebuild`'s counting)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import EventStore, SQLiteEventStore
from eventstore.dynamodb import DynamoDBEventStore, create_table
from provenance.domain.events import ACCESS_STREAM_PREFIX
from provenance.projections import access_counts
from provenance.projections.access_counts import PROJECTION, AccessCountsProjector
from provenance.projections.base import APPLIED, Change
from provenance.projections.change_stream import apply_batch
from tests.access_helpers import random_records, replayed_views, summed_views
from tests.aws_lambda import TableStreamPoller
from tests.aws_server import REGION, MotoServer, unique_name

HOUR = "2026-03-11T10"


def _rows(store: EventStore) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """The counts as any reader sums them (shards, continuations and rows per change
    merged)."""
    return summed_views(store)


def _markers(store: EventStore) -> list[str]:
    return [
        row.key
        for row in store.read_projection(access_counts.PROJECTION)
        if row.key.startswith(APPLIED)
    ]


@contextmanager
def _bundled_table(moto: MotoServer) -> Iterator[DynamoDBEventStore]:
    """A fresh table whose access streams are bundled, deleted afterwards (a context manager,
    not only a fixture: hypothesis examples each need their own)."""
    table = unique_name("events")
    create_table(table, region=REGION, endpoint_url=moto.endpoint_url)
    try:
        with DynamoDBEventStore(
            table,
            region=REGION,
            endpoint_url=moto.endpoint_url,
            bundled_prefixes=(ACCESS_STREAM_PREFIX,),
        ) as store:
            yield store
    finally:
        boto3.client("dynamodb", region_name=REGION, endpoint_url=moto.endpoint_url).delete_table(
            TableName=table
        )


@pytest.fixture
def dynamodb(moto: MotoServer) -> Iterator[DynamoDBEventStore]:
    with _bundled_table(moto) as store:
        yield store


def test_a_bundle_is_counted_once_in_rows_of_its_own(tmp_path: Path) -> None:
    records = random_records(60, seed=3, days=1)
    bundle = Change.of_bundle("b1", records, HOUR)
    with SQLiteEventStore(tmp_path / "stream.db") as store:
        projector = AccessCountsProjector(store)

        first = projector.apply_changes([bundle])
        stored = list(store.read_projection(PROJECTION))
        again = projector.apply_changes([bundle])

        assert (first.applied, again.applied) == (60, 60)
        # Delivered again, it is put again: the same rows, the same bytes.
        assert list(store.read_projection(PROJECTION)) == stored
        assert _markers(store) == []
        assert stored and all(
            row.key.startswith(access_counts.CHANGES) and row.key.endswith("|~bb1")
            for row in stored
        )
        assert _rows(store) == replayed_views(records, tmp_path / "replayed.db")


def test_a_bundle_with_more_rows_than_one_transaction_is_counted_once(
    dynamodb: DynamoDBEventStore, tmp_path: Path
) -> None:
    # A month of varied requests makes far more rows than one transaction holds: they are
    # put (a batch write, no transaction), and a redelivery puts the same ones.
    records = random_records(300, seed=8, days=30)
    bundle = Change.of_bundle("big", records, HOUR)
    projector = AccessCountsProjector(dynamodb)

    first = projector.apply_changes([bundle])
    again = projector.apply_changes([bundle])

    rows = list(dynamodb.read_projection(PROJECTION))
    assert (first.applied, again.applied) == (300, 300)
    assert len(rows) > dynamodb.max_atomic_writes
    assert _markers(dynamodb) == []
    assert _rows(dynamodb) == replayed_views(records, tmp_path / "replayed.db")


def _project(store: DynamoDBEventStore, moto: MotoServer, *, twice: bool = False) -> int:
    """Feed the table's stream to the projector as Lambda does (redelivering it all once more
    when `twice`); return how many bundles it carried."""
    batches = list(TableStreamPoller(moto.endpoint_url, store.table).batches())
    bundles = 0
    for _ in range(2 if twice else 1):
        for batch in batches:
            result = apply_batch(store, batch["Records"])
            assert result.failed_from is None, result.error
            bundles += sum(
                1 for r in batch["Records"] if "bundle" in (r["dynamodb"].get("NewImage") or {})
            )
    return bundles


@given(
    appends=st.lists(
        st.lists(st.integers(min_value=0, max_value=59), min_size=1, max_size=25),
        min_size=1,
        max_size=4,
    ),
    seed=st.integers(min_value=0, max_value=2**16),
)
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_bundled_appends_through_the_stream_count_like_a_replay(
    moto: MotoServer, tmp_path_factory: pytest.TempPathFactory, appends: list[list[int]], seed: int
) -> None:
    """Any appends of access events (repeated within and across appends, over hours,
    services and days), bundled, fed to the projector from the table's stream (and delivered
    twice), give the AccessCounts rows a replay of the distinct events gives."""
    pool = random_records(60, seed=seed, days=2)
    with _bundled_table(moto) as store:
        for numbers in appends:
            store.append([pool[n] for n in numbers])
        distinct = sorted({n for numbers in appends for n in numbers})

        bundles = _project(store, moto, twice=random.Random(seed).random() < 0.5)

        assert bundles >= 1
        assert sorted(r.event_id for r in store.read_all()) == sorted(
            pool[n].event_id for n in distinct
        )
        replayed = replayed_views(
            [pool[n] for n in distinct], tmp_path_factory.mktemp("replay") / "r.db"
        )
        assert _rows(store) == replayed
