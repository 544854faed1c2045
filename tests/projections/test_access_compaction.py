"""Folding the change-stream projector's rows per change into merged count rows: nothing
counted twice or lost, only rows the stream can no longer put again, within one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from eventstore import (
    EventRecord,
    EventStore,
    ProjectionWrite,
    SQLiteEventStore,
    StoreUnavailableError,
)
from eventstore.dynamodb import DynamoDBEventStore, create_table
from provenance.access.report import ReportQuery, access_report
from provenance.projections import access_counts
from provenance.projections.access_compaction import SETTLED, fold_settled
from provenance.projections.access_counts import CHANGES, PROJECTION, AccessCountsProjector
from provenance.projections.base import Change
from tests.access_helpers import busy_records, random_records, summed_views
from tests.aws_server import REGION, MotoServer, unique_name

WRITTEN = "2026-03-11T10"
WRITTEN_AT = datetime(2026, 3, 11, 10, tzinfo=UTC)
QUERIES = [
    ReportQuery(by=by, bucket=bucket)
    for by in (("service",), ("agent",), ("agent_kind",), ("client",), ("druid",), ("path",))
    for bucket in (None, "hour", "day")
]


def _bundles(records: list[EventRecord], hour: str = WRITTEN, size: int = 7) -> list[Change]:
    return [
        Change.of_bundle(f"{hour}-{start:06d}", records[start : start + size], hour)
        for start in range(0, len(records), size)
    ]


def _reports(store: EventStore) -> list[list[dict[str, object]]]:
    return [access_report(store, query).rows for query in QUERIES]


def _changes(store: EventStore) -> list[str]:
    return [row.key for row in store.read_projection(PROJECTION, start=CHANGES, stop="x}")]


class Streamed(SQLiteEventStore):
    """The embedded store as the stream's projector sees DynamoDB: projections kept by the
    change stream, not by catching up."""

    projected_by_stream = True


@pytest.fixture
def streamed(tmp_path: Path) -> Iterator[Streamed]:
    with Streamed(tmp_path / "streamed.db") as store:
        # Marked as `prov rebuild` marks a table the stream feeds: every view is complete.
        store.write_projection(PROJECTION, [ProjectionWrite(access_counts.LAYOUT, b"3", 0)])
        yield store


def _replayed(records: list[EventRecord], path: Path) -> tuple[object, object]:
    with SQLiteEventStore(path) as store:
        store.append(records)
        access_counts.catch_up(store)
        return summed_views(store), _reports(store)


def test_settled_rows_fold_into_merged_rows_and_count_the_same(
    tmp_path: Path, streamed: Streamed
) -> None:
    records = random_records(800, seed=21, days=3)
    expected_views, expected_reports = _replayed(records, tmp_path / "replayed.db")
    streamed.append(records)
    projector = AccessCountsProjector(streamed)
    old, recent = _bundles(records[:600]), _bundles(records[600:], hour="2026-03-12T09")
    projector.apply_changes(old + recent)
    before = _changes(streamed)
    settled = [
        row.key
        for row in streamed.read_projection(PROJECTION, start=CHANGES, stop="x}")
        if json.loads(row.value)["written"] == WRITTEN
    ]

    too_early = fold_settled(streamed, WRITTEN_AT + SETTLED)
    folded = fold_settled(streamed, WRITTEN_AT + SETTLED + timedelta(hours=1))
    again = fold_settled(streamed, WRITTEN_AT + SETTLED + timedelta(hours=1))

    assert too_early.rows == 0
    assert folded.rows == len(settled) > 0
    left = _changes(streamed)
    # The recent changes may still be delivered again: they stay rows of their own.
    assert left and sorted(left) == sorted(set(before) - set(settled))
    assert again.rows == 0
    merged = [row.key for row in streamed.read_projection(PROJECTION) if "|~m" in row.key]
    assert {key[:2] for key in merged} == set(access_counts.KINDS)
    assert all(key.endswith("|~m" + WRITTEN) for key in merged)
    assert summed_views(streamed) == expected_views
    assert _reports(streamed) == expected_reports


def test_merged_rows_split_as_they_grow(
    tmp_path: Path, streamed: Streamed, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.projections import base

    monkeypatch.setattr(AccessCountsProjector, "SPLIT_BYTES", 2_000)
    monkeypatch.setattr(base, "PIECE_BYTES", 700)
    records = busy_records(600, seed=22)
    expected_views, expected_reports = _replayed(records, tmp_path / "replayed.db")
    streamed.append(records)
    AccessCountsProjector(streamed).apply_changes(_bundles(records))

    folded = fold_settled(streamed, WRITTEN_AT + timedelta(days=3))

    assert folded.rows and not _changes(streamed)
    # Merged rows past the piece size are put in pieces: the first under the bare key.
    keys = [row.key for row in streamed.read_projection(PROJECTION) if "|~m" in row.key]
    pieces = [key for key in keys if "." in key.rsplit("|", 1)[1]]
    assert pieces and all(key.rsplit(".", 1)[0] in keys for key in pieces)
    assert summed_views(streamed) == expected_views
    assert _reports(streamed) == expected_reports


def _stop_before_deletes(
    store: Streamed, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, Mapping[str, bytes | None]], None]:
    """Make the store fail a fold's deletes, as if its process stopped after the merged rows
    were written; return the real `put_projection`."""
    put = store.put_projection

    def merged_only(projection: str, values: Mapping[str, bytes | None]) -> None:
        if any(value is None for value in values.values()):
            raise StoreUnavailableError("the process stopped here")
        put(projection, values)

    monkeypatch.setattr(store, "put_projection", merged_only)
    return put


def test_a_fold_stopped_between_its_writes_counts_every_request_once(
    tmp_path: Path, streamed: Streamed, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = random_records(500, seed=25, days=2)
    expected_views, expected_reports = _replayed(records, tmp_path / "replayed.db")
    streamed.append(records)
    AccessCountsProjector(streamed).apply_changes(_bundles(records))
    rows = _changes(streamed)
    put = _stop_before_deletes(streamed, monkeypatch)
    with pytest.raises(StoreUnavailableError):
        fold_settled(streamed, WRITTEN_AT + timedelta(days=2))
    # Merged rows and rows per change both stored: each request counted once still.
    assert _changes(streamed) == rows
    assert summed_views(streamed) == expected_views
    assert _reports(streamed) == expected_reports

    monkeypatch.setattr(streamed, "put_projection", put)
    again = fold_settled(streamed, WRITTEN_AT + timedelta(days=2))

    assert again.rows == len(rows) and not _changes(streamed)
    assert summed_views(streamed) == expected_views


def test_a_rebuild_replaces_rows_per_change_and_merged_rows(
    tmp_path: Path, streamed: Streamed
) -> None:
    records = random_records(300, seed=23, days=2)
    expected_views, _expected_reports = _replayed(records, tmp_path / "replayed.db")
    streamed.append(records)
    AccessCountsProjector(streamed).apply_changes(_bundles(records))
    fold_settled(streamed, WRITTEN_AT + timedelta(days=2))
    AccessCountsProjector(streamed).apply_changes(_bundles(records, hour="2026-03-13T00"))
    # Both kinds of row exist now, and count every request twice (the same events were
    # delivered as new changes): a rebuild recounts from the events alone.
    assert _changes(streamed)

    access_counts.rebuild(streamed)

    assert not _changes(streamed)
    assert not any("|~m" in row.key for row in streamed.read_projection(PROJECTION))
    assert summed_views(streamed) == expected_views


def test_folding_on_dynamodb_stays_within_its_transactions(
    moto: MotoServer, tmp_path: Path
) -> None:
    table = unique_name("events")
    create_table(table, region=REGION, endpoint_url=moto.endpoint_url)
    records = random_records(900, seed=24, days=1)
    expected_views, _expected_reports = _replayed(records, tmp_path / "replayed.db")
    try:
        with DynamoDBEventStore(table, region=REGION, endpoint_url=moto.endpoint_url) as store:
            AccessCountsProjector(store).apply_changes(_bundles(records, size=3))
            rows = len(_changes(store))

            folded = fold_settled(store, WRITTEN_AT + timedelta(days=2))

            assert folded.rows == rows > 100
            assert not _changes(store)
            assert summed_views(store) == expected_views
    finally:
        boto3.client("dynamodb", region_name=REGION, endpoint_url=moto.endpoint_url).delete_table(
            TableName=table
        )


def test_a_rebuild_with_a_sealed_floor_on_a_stream_fed_store_counts_once(
    tmp_path: Path, streamed: Streamed
) -> None:
    # The stream applied every event (no checkpoint moved); the oldest day's events then
    # expired, its counts sealed. A rebuild keeps the rows before the floor and counts the
    # stored events from the floor on, never the older ones a second time.
    records = random_records(600, seed=26, days=4)
    streamed.append(records)
    AccessCountsProjector(streamed).apply_changes(_bundles(records))
    fold_settled(streamed, WRITTEN_AT + timedelta(days=2))
    expected = summed_views(streamed)
    access_counts.seal_through(streamed, datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert access_counts.sealed_before(streamed) == datetime(2026, 3, 2, tzinfo=UTC)

    access_counts.rebuild(streamed)

    assert summed_views(streamed) == expected


def test_a_fold_that_sees_part_of_a_group_leaves_the_merged_rows_alone(
    tmp_path: Path, streamed: Streamed
) -> None:
    # Two folds at once: one has written the merged rows and deleted some of the rows per
    # change when the other scans, and sees only the rest. It must not write merged rows
    # from that part over the whole.
    records = random_records(400, seed=27, days=2)
    expected_views, _expected_reports = _replayed(records, tmp_path / "replayed.db")
    streamed.append(records)
    AccessCountsProjector(streamed).apply_changes(_bundles(records))
    rows = {row.key: row.value for row in streamed.read_projection(PROJECTION, start=CHANGES)}
    rows = {key: value for key, value in rows.items() if key.startswith(CHANGES)}
    fold_settled(streamed, WRITTEN_AT + timedelta(days=2))
    part = dict(list(rows.items())[: len(rows) // 3])
    streamed.put_projection(PROJECTION, part)  # as the late fold still finds them

    late = fold_settled(streamed, WRITTEN_AT + timedelta(days=2))

    assert late.rows == len(part) and late.merged == 0
    assert not _changes(streamed)
    assert summed_views(streamed) == expected_views


def test_a_reader_whose_clock_is_behind_the_fold_still_counts_once(
    tmp_path: Path, streamed: Streamed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Changes written 25 hours ago: not settled by this clock, settled by a fold whose clock
    # runs two hours ahead, which stops after writing the merged rows.
    records = random_records(300, seed=28, days=1)
    expected_views, _expected_reports = _replayed(records, tmp_path / "replayed.db")
    streamed.append(records)
    written = access_counts.hour_key(datetime.now(UTC) - timedelta(hours=25))
    AccessCountsProjector(streamed).apply_changes(_bundles(records, hour=written))
    _stop_before_deletes(streamed, monkeypatch)
    with pytest.raises(StoreUnavailableError):
        fold_settled(streamed, datetime.now(UTC) + timedelta(hours=2))

    assert _changes(streamed)
    assert summed_views(streamed) == expected_views


def test_rows_per_change_without_their_written_hour_are_counted_and_left_alone(
    tmp_path: Path, streamed: Streamed
) -> None:
    # Rows of a build before `written` was recorded: nobody can tell when they settle.
    records = random_records(200, seed=29, days=1)
    expected_views, _expected_reports = _replayed(records, tmp_path / "replayed.db")
    streamed.append(records)
    AccessCountsProjector(streamed).apply_changes(_bundles(records))
    old = {}
    for row in streamed.read_projection(PROJECTION, start=CHANGES, stop="x}"):
        value = json.loads(row.value)
        del value["written"]
        old[row.key] = json.dumps(value).encode()
    streamed.put_projection(PROJECTION, old)

    folded = fold_settled(streamed, WRITTEN_AT + timedelta(days=3))

    assert folded.rows == 0 and sorted(_changes(streamed)) == sorted(old)
    assert summed_views(streamed) == expected_views


def test_a_fold_with_a_budget_stops_between_days_and_the_next_goes_on(
    tmp_path: Path, streamed: Streamed
) -> None:
    records = random_records(400, seed=30, days=4)
    expected_views, _expected_reports = _replayed(records, tmp_path / "replayed.db")
    streamed.append(records)
    AccessCountsProjector(streamed).apply_changes(_bundles(records))
    days = {key[2:12] for key in _changes(streamed)}

    first = fold_settled(streamed, WRITTEN_AT + timedelta(days=2), budget_s=0)
    left = {key[2:12] for key in _changes(streamed)}
    rest = fold_settled(streamed, WRITTEN_AT + timedelta(days=2))

    assert len(days) > 1 and first.rows > 0 and left == days - {min(days)}
    assert rest.rows > 0 and not _changes(streamed)
    assert summed_views(streamed) == expected_views
