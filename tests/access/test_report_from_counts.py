"""Reports from AccessCounts' rows against the same report counted from the events by hand.

Whichever kept breakdown a report reads (hourly or daily summaries, cells) and however it sums
them, every grouping, bucket, zone, range and filter must give the numbers of the events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import EventRecord, EventStore, SQLiteEventStore
from provenance.access.report import Bucket, ReportQuery, access_report, bucket_start
from provenance.domain.events import load_payload
from provenance.projections import access_counts
from tests.access_helpers import AGENTS, T0, random_records

ZONES: tuple[tzinfo, ...] = (UTC, ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Kolkata"))
COUNTED = ("service", "agent", "agent_kind", "client", "path", "status", "status_class")


def dimensions(event: dict[str, Any]) -> dict[str, str]:
    status = "-" if event.get("status") is None else str(event["status"])
    return {
        "service": event["service"],
        "agent": event["agent"]["name"],
        "agent_kind": event["agent"].get("kind", "-"),
        "client": event.get("client_id") or "-",
        "path": event.get("template") or "-",
        "status": status,
        "status_class": "-" if status == "-" else f"{status[0]}xx",
    }


def by_hand(records: Sequence[EventRecord], query: ReportQuery) -> dict[tuple[str, ...], list[int]]:
    totals: dict[tuple[str, ...], list[int]] = {}
    for record in records:
        at = record.occurred_at
        if (query.start is not None and at < query.start) or (
            query.stop is not None and at >= query.stop
        ):
            continue
        event = load_payload(record.payload)
        values = dimensions(event)
        if (query.services and values["service"] not in query.services) or (
            query.agents and values["agent"] not in query.agents
        ):
            continue
        hour = at.replace(minute=0, second=0, microsecond=0)
        bucket = bucket_start(hour, query.bucket, query.tz).isoformat() if query.bucket else ""
        counts = totals.setdefault((bucket, *(values[name] for name in query.by)), [0, 0])
        counts[0] += 1
        counts[1] += event.get("bytes") or 0
    return totals


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EventStore, list[Any]]]:
    records = random_records(1500, seed=17)
    with SQLiteEventStore(tmp_path_factory.mktemp("counts") / "store.db") as store:
        store.append(records)
        access_counts.catch_up(store)
        yield store, records


hours = st.one_of(
    st.none(),
    st.integers(min_value=-24, max_value=11 * 24).map(lambda h: T0 + timedelta(hours=h)),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    by=st.lists(st.sampled_from(COUNTED), min_size=1, max_size=3, unique=True),
    bucket=st.sampled_from([None, "hour", "day", "week", "month"]),
    tz=st.sampled_from(ZONES),
    bounds=st.tuples(hours, hours),
    services=st.sampled_from([(), ("stacks",), ("purl", "sdr-api")]),
    agents=st.sampled_from([(), (AGENTS[0].name,), (AGENTS[1].name, AGENTS[3].name)]),
)
def test_a_report_from_the_counts_is_the_events_counted_by_hand(
    counted: tuple[EventStore, list[EventRecord]],
    by: list[str],
    bucket: Bucket | None,
    tz: tzinfo,
    bounds: tuple[datetime | None, datetime | None],
    services: tuple[str, ...],
    agents: tuple[str, ...],
) -> None:
    store, records = counted
    start, stop = bounds
    if start is not None and stop is not None and start >= stop:
        start, stop = stop, start + timedelta(hours=1)
    query = ReportQuery(
        by=tuple(by), bucket=bucket, start=start, stop=stop, services=services, agents=agents, tz=tz
    )

    report = access_report(store, query)

    rows = {
        (row.get("bucket", ""), *(row[name] for name in by)): [row["requests"], row["bytes"]]
        for row in report.rows
    }
    assert len(rows) == len(report.rows)
    assert rows == by_hand(records, query)
