"""The AccessCounts projection: exact, order-independent, rebuildable, and it outlives retention."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from eventstore import EventRecord, EventStore, ProjectionWrite, SQLiteEventStore
from provenance.access.report import ReportQuery, access_report
from provenance.projections import access_counts, base
from provenance.projections.access_counts import AccessCountsProjector
from provenance.projections.base import APPLIED, CHECKPOINT, Change, Projector
from tests.access_helpers import (
    T0,
    access_record,
    busy_records,
    random_records,
    summed_views,
)


def counts(store: EventStore) -> dict[str, object]:
    from pydantic_core import from_json

    return {
        row.key: from_json(row.value)
        for row in store.read_projection(access_counts.PROJECTION)
        if row.key != CHECKPOINT
    }


def total(store: EventStore, **query: object) -> tuple[int, int]:
    report = access_report(store, ReportQuery(**query))  # type: ignore[arg-type]
    return report.requests, report.bytes


def test_rebuild_equals_incremental_whatever_the_arrival_order(store: EventStore) -> None:
    records = random_records(3000, seed=7)
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    for start in range(0, len(shuffled), 250):
        store.append(shuffled[start : start + 250])
        access_counts.catch_up(store)
    incremental = counts(store)

    access_counts.rebuild(store)

    assert counts(store) == incremental
    cells = [row for key, row in incremental.items() if key.startswith(access_counts.CELLS)]
    summaries = [row for key, row in incremental.items() if key.startswith(access_counts.SUMMARIES)]
    assert sum(c[0] for row in cells for c in row["cells"].values()) == len(records)  # type: ignore[index, attr-defined]
    for view in access_counts.SUMMARY_VIEWS:
        assert sum(c[0] for row in summaries for c in row[view].values()) == len(records)  # type: ignore[index, attr-defined]
    # Layout 3's views: an hour's agents, a day's (agent, client) pairs.
    for kind, view in ((access_counts.TOTALS, "agent"), (access_counts.CLIENTS, "agent_client")):
        rows = [row for key, row in incremental.items() if key.startswith(kind)]
        assert sum(c[0] for row in rows for c in row[view].values()) == len(records)  # type: ignore[index, attr-defined]


def test_every_request_is_counted_with_its_bytes(store: EventStore) -> None:
    store.append(
        [
            access_record(1, size=100),
            access_record(2, size=None),
            access_record(3, size=50, at=T0 + timedelta(minutes=59, seconds=59)),
            access_record(4, size=7, at=T0 + timedelta(hours=1)),
        ]
    )
    access_counts.catch_up(store)

    rows = list(access_counts.rows(store, None, None))

    assert [row["hour"] for row in rows] == [
        "2026-03-01T00:00:00.000000Z",
        "2026-03-01T01:00:00.000000Z",
    ]
    assert [sum(c[0] for c in row["cells"].values()) for row in rows] == [3, 1]
    assert [sum(c[1] for c in row["cells"].values()) for row in rows] == [150, 7]


def test_catching_up_twice_counts_once(store: EventStore) -> None:
    store.append(random_records(200, seed=3))
    access_counts.catch_up(store)
    first = counts(store)

    assert access_counts.catch_up(store) == 0
    assert counts(store) == first


def test_two_projectors_racing_count_each_event_once(store: EventStore) -> None:
    first = access_counts.AccessCountsProjector(store, chunk=50)
    second = access_counts.AccessCountsProjector(store, chunk=70)
    records = random_records(600, seed=11)
    for start in range(0, 600, 100):
        store.append(records[start : start + 100])
        first.catch_up()
        second.catch_up()

    assert total(store) == (600, sum_bytes(records))


def sum_bytes(records: list) -> int:  # type: ignore[type-arg]
    from pydantic_core import from_json

    return sum(from_json(record.payload)["bytes"] or 0 for record in records)


def test_expired_events_keep_their_counts_through_a_rebuild(store: EventStore) -> None:
    due = T0 + timedelta(days=30)
    old = [access_record(n, at=T0 + timedelta(minutes=n), expires_at=due) for n in range(90)]
    recent = [access_record(100 + n, at=due + timedelta(hours=n)) for n in range(5)]
    store.append(old + recent)
    before = total(store)

    result = access_counts.expire(store, due)

    assert result.deleted == 90
    assert len(list(store.read_all())) == 5
    # The last expired event is at 01:29 on T0's day: sealed up to the next UTC midnight.
    assert access_counts.sealed_before(store) == T0 + timedelta(days=1)
    assert total(store) == before
    access_counts.rebuild(store)
    assert total(store) == before


def test_a_late_event_before_the_sealed_hour_is_counted_once(store: EventStore) -> None:
    store.append([access_record(1, expires_at=T0 + timedelta(days=1))])
    access_counts.expire(store, T0 + timedelta(days=1))
    # A log from before the sealed hour arrives after the expiry: it is counted...
    store.append([access_record(2, at=T0 + timedelta(minutes=5))])
    assert total(store) == (2, 2000)
    # ...and a rebuild neither drops nor doubles it (or the expired one).
    access_counts.rebuild(store)
    assert total(store) == (2, 2000)
    store.append([access_record(3, at=T0 + timedelta(minutes=6))])
    assert total(store) == (3, 3000)


def test_expire_never_deletes_what_is_not_counted_yet(store: EventStore) -> None:
    store.append([access_record(1, expires_at=T0)])
    # expire() brings the counts up to date before deleting.
    access_counts.expire(store, T0 + timedelta(days=1))

    assert total(store) == (1, 1000)
    assert list(store.read_all()) == []


def test_ingest_keeps_the_counts_a_rebuild_gives(store: EventStore) -> None:
    # Ingest applies each batch from memory (the store told where it went); the counts must
    # be what reading everything back gives, duplicates within and across batches included.
    import io

    from provenance.ingest.pipeline import ingest_stream
    from provenance.ingest.reader import IngestOptions
    from tests.cli.test_cli_access import ACCESS_LOG

    lines = ACCESS_LOG.splitlines()
    data = "\n".join(lines * 5 + lines[:2]).encode() + b"\n"
    options = IngestOptions("clf", service="stacks", batch_size=3)
    first = ingest_stream(store, io.BytesIO(data), "a.log", options)
    again = ingest_stream(store, io.BytesIO(data), "b.log", options)
    incremental = counts(store)

    access_counts.rebuild(store)

    assert first.events == 17 and again.events == 0
    assert counts(store) == incremental
    assert total(store) == (17, 5 * 2500 + 2 * 1000)


def test_projections_and_reports_read_stored_payloads_through_the_upcaster(
    store: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every reader of stored payloads goes through `events.load_payload`: a field renamed by
    a (pretended) schema version 2 is seen under its new name by the projection (following
    the feed and the change stream) and by the report that reads the events themselves."""
    from provenance.domain import events

    records = random_records(200, seed=9)
    with SQLiteEventStore(tmp_path / "current.db") as current:
        current.append(records)
        access_counts.catch_up(current)
        expected = counts(current)
        expected_sums = summed_views(current)
        expected_report = access_report(current, ReportQuery(by=("druid", "service"))).rows

    def old(record: EventRecord) -> EventRecord:
        # Version 1 of this pretended history called the service `service_name`.
        data = json.loads(record.payload)
        data["service_name"] = data.pop("service")
        return replace(record, payload=json.dumps(data).encode())

    def to_next(data: dict[str, Any]) -> dict[str, Any]:
        data["service"] = data.pop("service_name")
        return data

    now = events.CURRENT_SCHEMA_VERSION
    monkeypatch.setattr(events, "CURRENT_SCHEMA_VERSION", now + 1)
    monkeypatch.setitem(events.UPCASTERS, ("ServiceAccessed", now), to_next)
    stored = [old(record) for record in records]
    store.append(stored)

    access_counts.catch_up(store)
    report = access_report(store, ReportQuery(by=("druid", "service")))
    with SQLiteEventStore(tmp_path / "stream.db") as streamed:
        AccessCountsProjector(streamed).apply_changes(
            [Change(record, "2026-03-11T10") for record in store.read_all()]
        )
        keys = [row.key for row in streamed.read_projection(access_counts.PROJECTION)]
        from_the_stream = summed_views(streamed)

    assert counts(store) == expected
    # The change-stream projector counts each change in rows of its own, no markers, and
    # never writes `$layout` (it cannot tell a new table).
    assert keys and all(key.startswith(access_counts.CHANGES) for key in keys)
    assert from_the_stream == expected_sums
    assert report.rows == expected_report
    assert {row["service"] for row in report.rows} == {"stacks", "purl", "sdr-api"}
    assert events.load_event(stored[0].payload).schema_version == now + 1


def test_the_row_cache_stays_within_its_bytes_and_counts_the_same(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A row grows with what its key gathers (a busy hour), so the cache is bounded by the
    # rows' bytes too: with a small bound it is dropped every few batches, and the counts
    # must not care. Past the bound it keeps only the rows the last batch wrote.
    bound = 20_000
    monkeypatch.setattr(AccessCountsProjector, "MAX_CACHED_BYTES", bound)
    last_written: list[str] = []
    write = store.write_projection

    def spy(projection: str, writes: Any) -> None:
        last_written[:] = [w.key for w in writes if w.key != CHECKPOINT]
        write(projection, writes)

    monkeypatch.setattr(store, "write_projection", spy)
    projector = AccessCountsProjector(store)
    records = sorted(random_records(3000, seed=11, days=1), key=lambda r: r.occurred_at)
    dropped = 0
    for start in range(0, len(records), 100):
        before = len(projector._rows)
        store.append(records[start : start + 100])
        projector.catch_up()
        cached = projector._rows.keys()
        assert projector._sizes.keys() == cached
        assert projector._cached_bytes == sum(projector._sizes.values())
        assert projector._cached_bytes <= bound or set(cached) == set(last_written)
        dropped += len(cached) < before
    incremental = counts(store)

    access_counts.rebuild(store)

    assert counts(store) == incremental
    assert dropped > 0  # the bound was reached, and the counts are still exact


REPORTS = [
    ReportQuery(by=by, bucket=bucket)
    for by in (
        ("service",),
        ("agent",),
        ("agent_kind", "service"),
        ("client",),
        ("path", "status"),
        ("druid",),
        ("agent", "client"),
    )
    for bucket in (None, "hour", "day")
]


def reports(store: EventStore) -> list[list[dict[str, Any]]]:
    return [access_report(store, query).rows for query in REPORTS]


@pytest.fixture
def small_rows(monkeypatch: pytest.MonkeyPatch) -> int:
    """Rows split at a few kilobytes, into pieces of about one, so a test's thousands of
    requests split every kind of row, most of them many times."""
    monkeypatch.setattr(AccessCountsProjector, "SPLIT_BYTES", 2_000)
    monkeypatch.setattr(base, "PIECE_BYTES", 700)
    return 2_000


def test_rows_past_their_bound_split_and_every_report_stays_the_same(
    tmp_path: Path, store: EventStore, monkeypatch: pytest.MonkeyPatch, small_rows: int
) -> None:
    records = busy_records(4000, seed=3)
    monkeypatch.setattr(AccessCountsProjector, "SPLIT_BYTES", None)
    with SQLiteEventStore(tmp_path / "whole.db") as whole:
        whole.append(records)
        access_counts.catch_up(whole)
        largest = max(len(row.value) for row in whole.read_projection("access_counts"))
        assert largest > 2 * small_rows
        expected = reports(whole)
    monkeypatch.setattr(AccessCountsProjector, "SPLIT_BYTES", small_rows)

    projector = AccessCountsProjector(store)
    for start in range(0, len(records), 300):
        store.append(records[start : start + 300])
        projector.catch_up()

    stored = counts(store)
    continued = [key for key in stored if "+" in key]
    assert {key[:2] for key in continued} == set(access_counts.KINDS)
    # A split row's entries moved on: what it holds now came after.
    for key, row in stored.items():
        if not key.startswith("$"):
            assert len(json.dumps(row, separators=(",", ":"))) <= small_rows + 300 * 120
    assert reports(store) == expected
    access_counts.rebuild(store)
    assert reports(store) == expected


class Limited(SQLiteEventStore):
    """The embedded store as the stream's projector sees DynamoDB: atomic up to a few rows at
    a time, and its projections kept by the change stream, not by catching up."""

    max_atomic_writes = 40
    projected_by_stream = True


def test_the_change_stream_counts_each_change_in_rows_of_its_own(
    tmp_path: Path, small_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = busy_records(1500, seed=5)
    with SQLiteEventStore(tmp_path / "whole.db") as whole:
        whole.append(records)
        access_counts.catch_up(whole)
        expected = reports(whole)
    hour = "2026-03-01T00"
    bundles = [
        Change.of_bundle(f"{start:024x}", records[start : start + 100], hour)
        for start in range(0, len(records), 100)
    ]
    with Limited(tmp_path / "stream.db") as streamed:
        streamed.append(records)
        # Marked as `prov rebuild` marks a table the stream feeds: every view is complete.
        streamed.write_projection("access_counts", [ProjectionWrite(access_counts.LAYOUT, b"3", 0)])
        projector = AccessCountsProjector(streamed)
        # The version before rows per change applied the first bundles with its markers (a
        # bundle's rows past one atomic write cut into parts, each marked), and a failure
        # redelivers them with the rest: what they marked is not counted again.
        earlier = Projector.apply_changes(projector, bundles[:4])
        parts = [r.key for r in streamed.read_projection("access_counts", start=APPLIED)]
        first = projector.apply_changes(bundles)
        stored = {row.key: row.value for row in streamed.read_projection("access_counts")}
        again = projector.apply_changes(bundles[2:])

        assert earlier.applied == 400 and any(key.count("/") == 3 for key in parts)
        assert (first.applied, first.already_applied) == (1100, 400)
        # A redelivery puts the same bytes again (it cannot tell, and need not: the report
        # says applied).
        assert (again.applied, again.already_applied) == (1100, 200)
        assert {row.key: row.value for row in streamed.read_projection("access_counts")} == stored
        own = [key for key in stored if "|~b" in key]
        assert own and all(key.startswith(access_counts.CHANGES) for key in own)
        # A change's row past the bound is put in pieces, each well within it.
        pieces = [key for key in own if key.rsplit("|", 1)[1].count(".")]
        assert pieces and all(len(stored[key]) <= small_rows for key in pieces)
        assert reports(streamed) == expected
