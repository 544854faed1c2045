"""Druid reports from the daily druid counts: the numbers the stored events give, every time.

`access_report` answers `--by druid` from AccessCounts' daily druid rows where whole UTC days
allow and from the events elsewhere; these tests hold it to the report counted from the
events alone (the store with its druid counts taken away, which is how a store made before
them is read) and to a count written out here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import EventRecord, EventStore, ProjectionWrite, SQLiteEventStore
from provenance.access.report import Bucket, ReportQuery, access_report, bucket_start
from provenance.domain.events import load_payload
from provenance.projections import access_counts
from provenance.projections.access_counts import DRUIDS, LAYOUT, PROJECTION, AccessCountsProjector
from provenance.projections.base import Change, Projector
from tests.access_helpers import AGENTS, T0, access_record, random_records, summed_views
from tests.access_helpers import DRUIDS as SOME_DRUIDS

ZONES: tuple[tzinfo, ...] = (UTC, ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Kolkata"))
BUCKETS: tuple[Bucket | None, ...] = (None, "hour", "day", "week", "month")


def drop_druid_counts(store: EventStore) -> None:
    """Make `store`'s projection what the code before the druid counts left."""
    gone = [
        ProjectionWrite(row.key, None, row.version)
        for row in store.read_projection(PROJECTION)
        if row.key.startswith(DRUIDS) or row.key == LAYOUT
    ]
    store.write_projection(PROJECTION, gone)


def expected_rows(records: Sequence[EventRecord], query: ReportQuery) -> list[dict[str, Any]]:
    """The report's rows counted straight from the events (no top N: every group)."""
    totals: dict[tuple[str, ...], list[int]] = {}
    for record in records:
        at = record.occurred_at
        if (query.start is not None and at < query.start) or (
            query.stop is not None and at >= query.stop
        ):
            continue
        event = load_payload(record.payload)
        if query.services and event["service"] not in query.services:
            continue
        values = {"druid": event.get("druid") or "-", "service": event["service"]}
        # Counts are kept per UTC hour: an hour's requests fall in the bucket its start is in.
        hour = at.replace(minute=0, second=0, microsecond=0)
        bucket = bucket_start(hour, query.bucket, query.tz).isoformat() if query.bucket else ""
        key = (bucket, *(values[name] for name in query.by))
        counts = totals.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += event.get("bytes") or 0
    return as_compared(
        [
            {
                **dict(zip(query.by, key[1:], strict=True)),
                **({"bucket": key[0]} if query.bucket else {}),
                "requests": requests,
                "bytes": size,
            }
            for key, (requests, size) in totals.items()
        ]
    )


def as_compared(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, Any], ...]]:
    return sorted(tuple(row.items()) for row in rows)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EventStore, EventStore]]:
    """The same 1,500 requests over ten days in two stores: one with the druid counts, one
    whose projection predates them."""
    records = random_records(1500, seed=13)
    directory = tmp_path_factory.mktemp("druids")
    with (
        SQLiteEventStore(directory / "counts.db") as counted,
        SQLiteEventStore(directory / "events.db") as events,
    ):
        for store in (counted, events):
            store.append(records)
            access_counts.catch_up(store)
        drop_druid_counts(events)
        yield counted, events


moments = st.one_of(
    st.none(),
    st.integers(min_value=-2 * 24, max_value=12 * 24).map(lambda h: T0 + timedelta(hours=h)),
    st.integers(min_value=-86_400, max_value=12 * 86_400).map(lambda s: T0 + timedelta(seconds=s)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    by=st.sampled_from([("druid",), ("druid", "service"), ("service", "druid")]),
    bucket=st.sampled_from(BUCKETS),
    tz=st.sampled_from(ZONES),
    bounds=st.tuples(moments, moments),
    services=st.sampled_from([(), ("stacks",), ("purl", "sdr-api")]),
    top=st.sampled_from([None, 1, 3]),
)
def test_a_report_from_the_druid_counts_is_the_report_from_the_events(
    stores: tuple[EventStore, EventStore],
    by: tuple[str, ...],
    bucket: Bucket | None,
    tz: tzinfo,
    bounds: tuple[datetime | None, datetime | None],
    services: tuple[str, ...],
    top: int | None,
) -> None:
    counted, events = stores
    start, stop = bounds
    if start is not None and stop is not None and start >= stop:
        start, stop = stop - timedelta(hours=1), start + timedelta(hours=1)
    query = ReportQuery(
        by=by, bucket=bucket, start=start, stop=stop, top=top, services=services, tz=tz
    )

    report = access_report(counted, query)
    from_events = access_report(events, query)

    assert access_counts.has_druid_counts(counted)
    assert not access_counts.has_druid_counts(events)
    assert report == from_events
    assert report.basis == "events"
    if top is None:
        records = list(counted.read_all())
        assert as_compared(report.rows) == expected_rows(records, query)


druids = st.sampled_from([*SOME_DRUIDS, "druid:dd345ff6789"])
requests = st.lists(
    st.tuples(
        # Times near UTC midnights and far outside the usual range.
        st.integers(min_value=0, max_value=6).map(lambda d: T0 + timedelta(days=d))
        | st.just(datetime(9999, 12, 31, 23, 30, tzinfo=UTC)),
        st.integers(min_value=-3600, max_value=3600),
        st.sampled_from(["stacks", "purl"]),
        druids,
        st.sampled_from([None, 0, 7, 1_000_000]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=requests, bucket=st.sampled_from(BUCKETS), tz=st.sampled_from(ZONES))
def test_druid_counts_count_every_request_whatever_arrives(
    tmp_path_factory: pytest.TempPathFactory,
    requests: list[tuple[datetime, int, str, str | None, int | None]],
    bucket: Bucket | None,
    tz: tzinfo,
) -> None:
    records = []
    for number, (day, offset, service, druid, size) in enumerate(requests):
        at = day + timedelta(seconds=-abs(offset) if day.year == 9999 else offset)
        records.append(access_record(number, at=at, service=service, druid=druid, size=size))
    query = ReportQuery(by=("druid", "service"), bucket=bucket, tz=tz)
    with SQLiteEventStore(tmp_path_factory.mktemp("druid") / "store.db") as store:
        # In two batches, the later first: the counts must not depend on arrival order.
        half = len(records) // 2
        store.append(records[half:])
        access_counts.catch_up(store)
        store.append(records[:half])

        report = access_report(store, query)

    assert as_compared(report.rows) == expected_rows(records, query)


def test_whole_days_are_read_from_the_counts_not_the_events(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(random_records(500, seed=3))
    whole = access_report(store, ReportQuery(by=("druid",)))

    feed = store.read_all

    def no_events(**options: Any) -> Iterator[EventRecord]:
        if options.get("types"):  # the projection's catch-up reads the feed, the report not
            raise AssertionError("the events were read")
        return feed(**options)

    monkeypatch.setattr(store, "read_all", no_events)

    assert access_report(store, ReportQuery(by=("druid",))) == whole
    # Whole UTC days within the range, and buckets that hold whole UTC days.
    access_report(store, ReportQuery(by=("druid",), start=T0, stop=T0 + timedelta(days=3)))
    access_report(store, ReportQuery(by=("druid", "service"), bucket="week"))
    # A report the counts cannot answer (by agent too) reads the events.
    with pytest.raises(AssertionError, match="the events were read"):
        access_report(store, ReportQuery(by=("druid", "agent")))


class BeforeDruidCounts(AccessCountsProjector):
    """AccessCounts as the code before the daily druid counts kept it: cells and (daily)
    summaries, no druid rows, no `$layout`."""

    def catch_up(self, appended: Any = None, *, replay: bool = False) -> int:
        return Projector.catch_up(self, appended, replay=replay)

    def apply_changes(self, changes: Sequence[Change]) -> Any:
        return Projector.apply_changes(self, changes)

    def row_keys(self, record: EventRecord, event: dict[str, Any]) -> Sequence[str]:
        return [key for key in super().row_keys(record, event) if not key.startswith(DRUIDS)]


def test_a_store_made_before_the_druid_counts_is_read_from_its_events(tmp_path: Path) -> None:
    records = random_records(600, seed=21)
    with SQLiteEventStore(tmp_path / "old.db") as old:
        old.append(records[:400])
        BeforeDruidCounts(old).catch_up()
    query = ReportQuery(by=("druid", "service"))

    with SQLiteEventStore(tmp_path / "old.db") as store:
        # Today's code carries on with it: new requests are counted, druids too, but the
        # druid counts of its past are missing, so a druid report must not use them.
        store.append(records[400:])
        AccessCountsProjector(store).catch_up()
        assert not access_counts.has_druid_counts(store)
        assert any(row.key.startswith(DRUIDS) for row in store.read_projection(PROJECTION))
        before = access_report(store, query)
        assert as_compared(before.rows) == expected_rows(records, query)
        assert before.requests == len(records)

        access_counts.rebuild(store)

        assert access_counts.has_druid_counts(store)
        assert access_report(store, query) == before


def test_a_projection_kept_by_the_change_stream_has_the_druid_counts(tmp_path: Path) -> None:
    records = random_records(300, seed=4)
    with (
        SQLiteEventStore(tmp_path / "fed.db") as fed,
        SQLiteEventStore(tmp_path / "streamed.db") as streamed,
    ):
        fed.append(records)
        access_counts.catch_up(fed)
        streamed.append(records)
        changes = [Change(record, "2026-03-01T00") for record in streamed.read_all()]
        for first in range(0, len(changes), 50):
            AccessCountsProjector(streamed).apply_changes(changes[first : first + 50])

        # Counted in rows of their own per change, read with the druid counts: the same sums.
        assert any("|~" in row.key for row in streamed.read_projection(PROJECTION))
        assert summed_views(streamed)[DRUIDS] == summed_views(fed)[DRUIDS]
        # It cannot tell whether the table is new (it only gets rows by key): until a rebuild
        # marks the counts complete, druid reports read the events.
        query = ReportQuery(by=("druid", "service"))
        assert not access_counts.has_druid_counts(streamed)
        before = access_report(streamed, query)
        access_counts.rebuild(streamed)
        assert access_counts.has_druid_counts(streamed)
        assert access_report(streamed, query) == before == access_report(fed, query)


def test_an_old_projection_followed_by_the_change_stream_is_not_taken_as_new(
    tmp_path: Path,
) -> None:
    records = random_records(200, seed=6)
    with SQLiteEventStore(tmp_path / "streamed.db") as store:
        store.append(records)
        changes = [Change(record, "2026-03-01T00") for record in store.read_all()]
        BeforeDruidCounts(store).apply_changes(changes[:100])
        AccessCountsProjector(store).apply_changes(changes[100:])

        assert not access_counts.has_druid_counts(store)
        report = access_report(store, ReportQuery(by=("druid",)))
        assert report.requests == len(records)


def test_expired_days_are_counted_from_what_is_stored_through_a_rebuild(
    store: EventStore,
) -> None:
    due = T0 + timedelta(days=3)
    old = [
        access_record(n, at=T0 + timedelta(hours=n), expires_at=due, druid=SOME_DRUIDS[n % 3])
        for n in range(40)
    ]
    kept = [
        access_record(100 + n, at=T0 + timedelta(hours=n), druid=SOME_DRUIDS[n % 2])
        for n in range(40, 100)
    ]
    store.append(old + kept)
    access_counts.catch_up(store)
    query = ReportQuery(by=("druid",), bucket="day", tz=UTC)

    access_counts.expire(store, due)
    after_expiry = access_report(store, query)
    sealed_rows = {
        row.key: row.value
        for row in store.read_projection(PROJECTION, start=DRUIDS)
        if row.key < f"{DRUIDS}2026-03-03"
    }
    access_counts.rebuild(store)

    # Only what is stored is counted, as before the druid counts: the expired requests are
    # not, the day they share with kept ones is read from the events.
    assert access_counts.sealed_before(store) == T0 + timedelta(days=2)
    assert as_compared(after_expiry.rows) == expected_rows(kept, query)
    assert access_report(store, query) == after_expiry
    # The days before the seal keep their druid counts through the rebuild.
    assert (
        sealed_rows
        and {
            row.key: row.value
            for row in store.read_projection(PROJECTION, start=DRUIDS)
            if row.key < f"{DRUIDS}2026-03-03"
        }
        == sealed_rows
    )


def test_druid_reports_take_any_time_and_agree_with_the_events(store: EventStore) -> None:
    records = [
        access_record(n, at=T0 + timedelta(minutes=37 * n), agent=AGENTS[n % 4]) for n in range(200)
    ]
    store.append(records)
    query = ReportQuery(
        by=("druid",),
        start=T0 + timedelta(hours=5, minutes=13),
        stop=T0 + timedelta(days=3, hours=2, seconds=1),
    )

    report = access_report(store, query)

    assert as_compared(report.rows) == expected_rows(records, query)
