"""Reports from layout 3's views (hourly totals, daily clients) against the events by hand.

Whether a projection has the views from its first event, has never had them (made by the code
before them), or has them only from a rebuild's floor on (days before it sealed, their events
expired), every report must give the numbers of the events: the views are read only where
`access_counts.Layout` says they are complete.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import EventRecord, EventStore, ProjectionWrite, SQLiteEventStore
from provenance.access import report as report_module
from provenance.access.report import Bucket, ReportQuery, access_report
from provenance.projections import access_counts
from provenance.projections.access_counts import CLIENTS, LAYOUT, PROJECTION, TOTALS, Layout
from tests.access.test_report_from_counts import by_hand
from tests.access_helpers import AGENTS as SOME_AGENTS
from tests.access_helpers import T0, random_records

ZONES: tuple[tzinfo, ...] = (UTC, ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Kolkata"))
# Every grouping the views can answer, and some they cannot (status, path: other views).
GROUPINGS = (
    ("agent",),
    ("agent_kind",),
    ("service", "agent"),
    ("client",),
    ("agent", "client"),
    ("service", "agent", "client"),
    ("agent_kind", "client"),
    ("client", "status"),
)
SEALED_DAY = T0 + timedelta(days=4)


def as_before_the_views(store: EventStore) -> None:
    """Make `store`'s projection what the code before layout 3 left: no hourly totals or
    daily clients, `$layout` 2."""
    writes = [
        ProjectionWrite(row.key, None, row.version)
        for row in store.read_projection(PROJECTION)
        if row.key.startswith((TOTALS, CLIENTS))
    ]
    layout = store.get_projection(PROJECTION, LAYOUT)
    assert layout is not None
    writes.append(ProjectionWrite(LAYOUT, b"2", layout.version))
    store.write_projection(PROJECTION, writes)


@pytest.fixture(scope="module")
def stores(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[EventRecord], list[EventStore]]]:
    """The same 1,500 requests over ten days in four stores: with the views from the start;
    made before them; made before them and carried on by today's code; made before them,
    its first days expired and sealed, then rebuilt (views from the seal on only)."""
    records = random_records(1500, seed=31)
    early = [
        replace(record, expires_at=SEALED_DAY) if record.occurred_at < SEALED_DAY else record
        for record in records
    ]
    directory = tmp_path_factory.mktemp("views")
    with (
        SQLiteEventStore(directory / "new.db") as new,
        SQLiteEventStore(directory / "old.db") as old,
        SQLiteEventStore(directory / "carried.db") as carried,
        SQLiteEventStore(directory / "sealed.db") as sealed,
    ):
        for store in (new, old):
            store.append(records)
            access_counts.catch_up(store)
        as_before_the_views(old)
        carried.append(records[:700])
        access_counts.catch_up(carried)
        as_before_the_views(carried)
        carried.append(records[700:])
        access_counts.catch_up(carried)
        # Carried on by today's code too: its days before the seal have some of the views'
        # rows, not all.
        sealed.append(early[:700])
        access_counts.catch_up(sealed)
        as_before_the_views(sealed)
        sealed.append(early[700:])
        access_counts.catch_up(sealed)
        access_counts.expire(sealed, SEALED_DAY)
        access_counts.rebuild(sealed)
        yield records, [new, old, carried, sealed]


def test_the_layouts_are_what_the_stores_were_made_with(
    stores: tuple[list[EventRecord], list[EventStore]],
) -> None:
    _records, (new, old, carried, sealed) = stores
    seal = access_counts.sealed_before(sealed)

    assert seal is not None and seal > T0
    assert [access_counts.layout(store) for store in (new, old, carried, sealed)] == [
        Layout(3),
        Layout(2),
        Layout(2),
        Layout(3, since=seal),
    ]
    assert not Layout(3, since=seal).has_views(None)
    assert not Layout(3, since=seal).has_views(seal - timedelta(hours=1))
    assert Layout(3, since=seal).has_views(seal)
    assert Layout.loads(Layout(3, since=seal).dumps()) == Layout(3, since=seal)
    assert not Layout(2).has_views(seal)
    # The sealed store's days before the seal have some of the views' rows (incomplete).
    keys = [row.key for row in sealed.read_projection(PROJECTION, start=TOTALS, stop="a}")]
    assert keys and min(keys) < f"{TOTALS}{seal:%Y-%m-%dT%H}"


hours = st.one_of(
    st.none(),
    st.integers(min_value=-24, max_value=11 * 24).map(lambda h: T0 + timedelta(hours=h)),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    by=st.sampled_from(GROUPINGS),
    bucket=st.sampled_from([None, "hour", "day", "week", "month"]),
    tz=st.sampled_from(ZONES),
    bounds=st.tuples(hours, hours),
    services=st.sampled_from([(), ("stacks",), ("purl", "sdr-api")]),
    agents=st.sampled_from(
        [(), (SOME_AGENTS[0].name,), (SOME_AGENTS[1].name, SOME_AGENTS[3].name)]
    ),
    top=st.sampled_from([None, None, 2]),
)
def test_a_report_from_the_views_is_the_events_counted_by_hand(
    stores: tuple[list[EventRecord], list[EventStore]],
    by: tuple[str, ...],
    bucket: Bucket | None,
    tz: tzinfo,
    bounds: tuple[datetime | None, datetime | None],
    services: tuple[str, ...],
    agents: tuple[str, ...],
    top: int | None,
) -> None:
    records, (new, *others) = stores
    start, stop = bounds
    if start is not None and stop is not None and start >= stop:
        start, stop = stop, start + timedelta(hours=1)
    query = ReportQuery(
        by=by,
        bucket=bucket,
        start=start,
        stop=stop,
        top=top,
        services=services,
        agents=agents,
        tz=tz,
    )

    report = access_report(new, query)

    for other in others:
        assert access_report(other, query) == report
    if top is None:
        rows = {
            (row.get("bucket", ""), *(row[name] for name in by)): [row["requests"], row["bytes"]]
            for row in report.rows
        }
        assert len(rows) == len(report.rows)
        assert rows == by_hand(records, query)


def kinds_read(store: EventStore, query: ReportQuery, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The kinds of AccessCounts rows a report reads."""
    read: set[str] = set()
    rows = access_counts.rows

    def recording(*args: Any, **options: Any) -> Iterator[dict[str, Any]]:
        for row in rows(*args, **options):
            read.add(options.get("kind", access_counts.CELLS))
            yield row

    with monkeypatch.context() as patch:
        patch.setattr(access_counts, "rows", recording)
        access_report(store, query)
    return read


def test_reports_read_the_views_where_they_answer(
    stores: tuple[list[EventRecord], list[EventStore]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _records, (new, old, _carried, _sealed) = stores
    la = ZoneInfo("America/Los_Angeles")
    local_days = ReportQuery(by=("agent",), bucket="day", tz=la)
    clients = ReportQuery(by=("service", "agent", "client"), top=20)

    # Local days that are not UTC days: an hour's agents, not its whole summary.
    assert kinds_read(new, local_days, monkeypatch) == {TOTALS}
    assert kinds_read(old, local_days, monkeypatch) == {access_counts.SUMMARIES}
    # The hourly totals do not keep the agents' kinds: per kind of agent, the summaries.
    per_kind = replace(local_days, by=("agent_kind",))
    assert kinds_read(new, per_kind, monkeypatch) == {access_counts.SUMMARIES}
    # Per hour, per status or template: the hourly totals too.
    for per_hour in (("status_class",), ("path",)):
        hourly = ReportQuery(by=per_hour, bucket="hour")
        assert kinds_read(new, hourly, monkeypatch) == {TOTALS}
        assert kinds_read(old, hourly, monkeypatch) == {access_counts.SUMMARIES}
    # Whole UTC days from the daily summaries.
    utc_days = replace(local_days, tz=UTC)
    assert kinds_read(new, utc_days, monkeypatch) == {access_counts.DAILY}
    # Per client: whole UTC days from the daily clients, and the cells only for the hours of
    # part-days at the ends of a range.
    assert kinds_read(new, clients, monkeypatch) == {CLIENTS}
    assert kinds_read(old, clients, monkeypatch) == {access_counts.CELLS}
    part_days = replace(clients, start=T0 + timedelta(hours=5), stop=T0 + timedelta(days=3))
    assert kinds_read(new, part_days, monkeypatch) == {CLIENTS, access_counts.CELLS}
    # agent_kind needs the agents' kinds, which the daily clients do not keep.
    assert kinds_read(new, ReportQuery(by=("agent_kind", "client")), monkeypatch) == {
        access_counts.CELLS
    }


def test_a_rebuild_gives_a_store_made_before_the_views_all_of_them(tmp_path: Path) -> None:
    records = random_records(400, seed=8)
    with SQLiteEventStore(tmp_path / "old.db") as store:
        store.append(records)
        access_counts.catch_up(store)
        views = {
            row.key: row.value
            for row in store.read_projection(PROJECTION)
            if row.key.startswith((TOTALS, CLIENTS))
        }
        query = ReportQuery(by=("agent", "client"), bucket="day", tz=ZoneInfo("Asia/Kolkata"))
        before = access_report(store, query)
        as_before_the_views(store)

        access_counts.rebuild(store)

        assert access_counts.layout(store) == Layout(3)
        assert (
            views
            and {
                row.key: row.value
                for row in store.read_projection(PROJECTION)
                if row.key.startswith((TOTALS, CLIENTS))
            }
            == views
        )
        assert access_report(store, query) == before


def test_a_report_pauses_the_cycle_collector_only_while_it_is_made(
    stores: tuple[list[EventRecord], list[EventStore]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _records, (new, *_others) = stores
    seen: list[bool] = []
    finish = report_module._finish

    def watched(report: Any, totals: Any) -> None:
        seen.append(gc.isenabled())
        finish(report, totals)

    monkeypatch.setattr(report_module, "_finish", watched)
    for by in (("agent",), ("druid",)):
        access_report(new, ReportQuery(by=by))
        assert gc.isenabled()
    gc.disable()
    try:
        access_report(new, ReportQuery(by=("agent",)))
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
    assert seen == [False, False, False]
