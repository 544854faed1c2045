"""`access_report`: groups add up, buckets fall on local boundaries, options do what they say."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstore import EventStore
from provenance.access.chart import write_chart
from provenance.access.report import (
    DIMENSIONS,
    OTHER,
    ReportError,
    ReportQuery,
    access_report,
    csv_rows,
    parse_time,
)
from provenance.cli.render import access_table
from tests.access_helpers import AGENTS, T0, access_record, random_records

LA = ZoneInfo("America/Los_Angeles")
GROUPINGS = [by for size in (1, 2) for by in itertools.combinations(DIMENSIONS, size)]


@pytest.fixture
def filled(store: EventStore) -> EventStore:
    store.append(random_records(2000, seed=5))
    return store


@pytest.mark.parametrize("by", GROUPINGS, ids="+".join)
def test_every_grouping_adds_up_to_the_total(filled: EventStore, by: tuple[str, ...]) -> None:
    whole = access_report(filled, ReportQuery(by=("service",)))

    report = access_report(filled, ReportQuery(by=by, bucket="day", tz=LA))
    cut = access_report(filled, ReportQuery(by=by, top=2))

    assert whole.requests == 2000
    for result in (report, cut):
        assert sum(row["requests"] for row in result.rows) == whole.requests
        assert sum(row["bytes"] for row in result.rows) == whole.bytes
        assert (result.requests, result.bytes) == (whole.requests, whole.bytes)


WINDOWS: dict[str, dict[str, Any]] = {
    # Whole UTC days are read from daily rows, the rest from hourly ones: every mix must agree.
    "all, no bucket": {},
    "local days": {"bucket": "day", "tz": LA},
    "local weeks": {"bucket": "week", "tz": LA},
    "utc days": {"bucket": "day", "tz": UTC},
    "partial days at both ends": {
        "start": datetime(2026, 3, 2, 5, tzinfo=UTC),
        "stop": datetime(2026, 3, 7, 19, tzinfo=UTC),
    },
    "months from a local date": {
        "bucket": "month",
        "tz": LA,
        "start": datetime(2026, 3, 3, tzinfo=LA),
    },
}


@pytest.mark.parametrize(
    "by",
    [("agent",), ("agent_kind",), ("path",), ("status",), ("status_class",), ("agent", "path")],
)
@pytest.mark.parametrize("window", WINDOWS)
def test_summaries_agree_with_the_cells(
    filled: EventStore, by: tuple[str, ...], window: str
) -> None:
    # Grouping by client too forces the hourly cells; summed over clients they must give what
    # the summary rows (hourly and daily) give.
    options = WINDOWS[window]
    summary = access_report(filled, ReportQuery(by=by, **options))
    cells = access_report(filled, ReportQuery(by=(*by, "client"), **options))

    folded: dict[tuple[object, ...], list[int]] = {}
    for row in cells.rows:
        key = (row.get("bucket"), *(row[name] for name in by))
        pair = folded.setdefault(key, [0, 0])
        pair[0] += row["requests"]
        pair[1] += row["bytes"]
    assert {
        (row.get("bucket"), *(row[name] for name in by)): [row["requests"], row["bytes"]]
        for row in summary.rows
    } == folded
    assert summary.requests > 0


def test_an_agent_filter_reads_views_that_know_the_agent(filled: EventStore) -> None:
    by_path = access_report(filled, ReportQuery(by=("path",), agents=("user:argo",)))
    by_status = access_report(filled, ReportQuery(by=("status",), agents=("user:argo",)))
    argo = access_report(filled, ReportQuery(by=("agent",), agents=("user:argo",)))

    assert by_path.requests == by_status.requests == argo.requests == argo.rows[0]["requests"]


def test_top_keeps_the_largest_groups_and_sums_the_rest(filled: EventStore) -> None:
    full = access_report(filled, ReportQuery(by=("agent",)))
    top = access_report(filled, ReportQuery(by=("agent",), top=2))

    assert [row["agent"] for row in top.rows[:2]] == [row["agent"] for row in full.rows[:2]]
    assert top.rows[2]["agent"] == OTHER
    assert top.rows[2]["requests"] == sum(row["requests"] for row in full.rows[2:])
    assert top.groups == len(full.rows) == len(AGENTS)


def test_rows_are_named_after_their_dimensions(filled: EventStore) -> None:
    report = access_report(filled, ReportQuery(by=("agent", "service"), bucket="week", tz=LA))

    assert set(report.rows[0]) == {"agent", "service", "bucket", "requests", "bytes"}
    assert csv_rows(report)[0] == ["agent", "service", "bucket", "requests", "bytes"]
    assert len(csv_rows(report)) == len(report.rows) + 1


def test_day_buckets_follow_the_local_day_not_utc(store: EventStore) -> None:
    # 07:59 UTC on 2 March is 23:59 on 1 March in Los Angeles (PST, -8); 08:00 UTC is midnight.
    store.append(
        [
            access_record(1, at=datetime(2026, 3, 2, 7, 59, tzinfo=UTC)),
            access_record(2, at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
            access_record(3, at=datetime(2026, 3, 2, 23, 0, tzinfo=UTC)),
        ]
    )

    local = access_report(store, ReportQuery(by=("service",), bucket="day", tz=LA))
    utc = access_report(store, ReportQuery(by=("service",), bucket="day", tz=UTC))

    assert [(row["bucket"], row["requests"]) for row in local.rows] == [
        ("2026-03-01T00:00:00-08:00", 1),
        ("2026-03-02T00:00:00-08:00", 2),
    ]
    assert [(row["bucket"], row["requests"]) for row in utc.rows] == [
        ("2026-03-02T00:00:00+00:00", 3)
    ]


def test_buckets_across_a_daylight_saving_change(store: EventStore) -> None:
    # Los Angeles springs forward on 8 March 2026: that day starts at -08:00, the next at -07:00.
    store.append(
        [
            access_record(1, at=datetime(2026, 3, 8, 8, 30, tzinfo=UTC)),  # 00:30 PST, 8 March
            access_record(2, at=datetime(2026, 3, 9, 6, 30, tzinfo=UTC)),  # 23:30 PDT, 8 March
            access_record(3, at=datetime(2026, 3, 9, 7, 30, tzinfo=UTC)),  # 00:30 PDT, 9 March
        ]
    )

    days = access_report(store, ReportQuery(by=("service",), bucket="day", tz=LA))
    weeks = access_report(store, ReportQuery(by=("service",), bucket="week", tz=LA))
    months = access_report(store, ReportQuery(by=("service",), bucket="month", tz=LA))

    assert [(row["bucket"], row["requests"]) for row in days.rows] == [
        ("2026-03-08T00:00:00-08:00", 2),
        ("2026-03-09T00:00:00-07:00", 1),
    ]
    # 8 March 2026 is a Sunday: its week began Monday 2 March; the 9th starts a new one.
    assert [row["bucket"] for row in weeks.rows] == [
        "2026-03-02T00:00:00-08:00",
        "2026-03-09T00:00:00-07:00",
    ]
    assert [(row["bucket"], row["requests"]) for row in months.rows] == [
        ("2026-03-01T00:00:00-08:00", 3)
    ]


def test_from_and_to_dates_are_local_and_inclusive(store: EventStore) -> None:
    store.append(
        [
            access_record(1, at=datetime(2026, 3, 2, 7, 59, tzinfo=UTC)),  # 1 March local
            access_record(2, at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),  # 2 March local
            access_record(3, at=datetime(2026, 3, 3, 7, 59, tzinfo=UTC)),  # 2 March local
            access_record(4, at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC)),  # 3 March local
        ]
    )
    query = ReportQuery(
        start=parse_time("2026-03-02", LA), stop=parse_time("2026-03-02", LA, end=True), tz=LA
    )

    assert access_report(store, query).requests == 2


def test_times_must_be_on_the_hour_for_counts(store: EventStore) -> None:
    start = parse_time("2026-03-02T10:30", LA)
    with pytest.raises(ReportError, match="not on the hour"):
        access_report(store, ReportQuery(start=start))
    # Events carry exact times, so a druid report accepts any time.
    access_report(store, ReportQuery(by=("druid",), start=start))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (ReportQuery(by=("browser",)), "unknown dimension 'browser'"),
        (ReportQuery(top=0), "from 1 to 2,147,483,647"),
        (ReportQuery(top=2**31), "from 1 to 2,147,483,647"),
        (ReportQuery(start=T0, stop=T0), "before"),
    ],
)
def test_bad_queries_are_refused_with_a_reason(
    store: EventStore, query: ReportQuery, message: str
) -> None:
    with pytest.raises(ReportError, match=message):
        access_report(store, query)


def test_bad_times_are_refused() -> None:
    with pytest.raises(ReportError, match="not an ISO date"):
        parse_time("last tuesday", LA)


TOKYO = ZoneInfo("Asia/Tokyo")


def test_bounds_past_the_times_a_store_holds() -> None:
    # --to 9999-12-31 ends after the last time that can be stored: no end at all.
    for zone in (UTC, LA, TOKYO):
        assert parse_time("9999-12-31", zone, end=True) is None
        assert parse_time("9999-12-31T23:59:59.999999-14:00", zone, end=True) is None
    # A start before the first time: no start.
    assert parse_time("0001-01-01", TOKYO) is None
    assert parse_time("0001-01-01", LA) == datetime(1, 1, 1, tzinfo=LA)
    # Nothing could be reported from after the end, or up to before the start.
    with pytest.raises(ReportError, match="after the last time that can be stored"):
        parse_time("9999-12-31T23:00-05:00", UTC)
    with pytest.raises(ReportError, match="before the first time that can be stored"):
        parse_time("0001-01-01T00:00+01:00", UTC, end=True)
    # Every ISO date form is a date: `--to` includes the day whatever way it is written.
    for written in ("2026-03-02", "20260302", "2026-W10-1"):
        assert parse_time(written, LA, end=True) == datetime(2026, 3, 3, tzinfo=LA)


_zones = st.sampled_from([UTC, LA, TOKYO, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12")])


@settings(max_examples=300, deadline=None)
@given(st.dates(), _zones, st.booleans())
def test_a_date_is_its_local_midnight_or_the_next_or_no_bound(
    day: date, zone: ZoneInfo, end: bool
) -> None:
    moment = parse_time(day.isoformat(), zone, end=end)
    if moment is None:  # only past the first or the last time
        assert day.year in (1, 9999)
        return
    moment.astimezone(UTC)  # a store can take it
    local = moment.replace(tzinfo=None)
    assert local == datetime.combine(day, time()) + timedelta(days=1 if end else 0)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(), st.integers(-(24 * 60 - 1), 24 * 60 - 1), st.booleans())
def test_a_time_is_read_exactly_or_refused_in_one_line(
    moment: datetime, minutes: int, end: bool
) -> None:
    zone = timezone(timedelta(minutes=minutes))
    try:
        parsed = parse_time(moment.replace(tzinfo=zone).isoformat(), UTC, end=end)
    except ReportError as exc:
        assert "\n" not in str(exc) and moment.year in (1, 9999)
        return
    if parsed is None:
        assert moment.year in (1, 9999)
    else:
        assert parsed == moment.replace(tzinfo=zone)


def test_service_and_agent_filters(filled: EventStore) -> None:
    everything = access_report(filled, ReportQuery(by=("service", "agent")))

    stacks = access_report(filled, ReportQuery(by=("agent",), services=("stacks",)))
    argo = access_report(filled, ReportQuery(by=("path",), agents=("user:argo",)))

    assert stacks.requests == sum(
        r["requests"] for r in everything.rows if r["service"] == "stacks"
    )
    assert argo.requests == sum(r["requests"] for r in everything.rows if r["agent"] == "user:argo")


def test_druid_reports_read_the_events(filled: EventStore) -> None:
    report = access_report(filled, ReportQuery(by=("druid",), top=1))

    assert report.basis == "events"
    assert report.requests == 2000
    assert report.rows[0]["druid"].startswith("druid:") or report.rows[0]["druid"] == "-"


def test_table_shows_groups_shares_and_total(filled: EventStore) -> None:
    text = access_table(access_report(filled, ReportQuery(by=("agent",), top=2)))

    lines = text.splitlines()
    assert lines[0].split() == ["agent", "requests", "share", "bytes"]
    assert OTHER in text
    assert lines[-1].startswith("total: 2,000 requests") and "top 2 of 4 groups" in lines[-1]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_chart_is_a_real_picture(filled: EventStore, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"chart{suffix}"
    report = access_report(filled, ReportQuery(by=("agent",), bucket="day", tz=LA, top=3))

    write_chart(report, target)

    data = target.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert b"<svg" in data[:1000] and data.rstrip().endswith(b"</svg>")
    assert len(data) > 5000


def test_chart_needs_a_known_picture_format(filled: EventStore, tmp_path: Path) -> None:
    report = access_report(filled, ReportQuery(bucket="day"))
    with pytest.raises(ReportError, match=r"\.png or \.svg"):
        write_chart(report, tmp_path / "chart.gif")


def test_hour_buckets_in_a_zone(store: EventStore) -> None:
    store.append([access_record(1, at=T0 + timedelta(minutes=30))])

    report = access_report(store, ReportQuery(bucket="hour", tz=LA))

    assert report.rows[0]["bucket"] == "2026-02-28T16:00:00-08:00"
