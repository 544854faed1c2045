"""Access reports: who queries which services, how often, with what queries.

A report groups requests by one or more dimensions (`DIMENSIONS`), optionally per time bucket
(hour, day, week, month in a chosen zone), between two times, for some services or agents, and
keeps the top N groups (the rest are summed into one `(other)` group, so every report adds up
to the same total). It is answered from the AccessCounts projection: the smallest breakdown
it keeps that holds what the report groups by, from its daily rows for whole UTC days and its
hourly rows for the rest (`report_views`), summed by `report_counts`. Reports by `druid`
count the stored access events, so they cover only what retention has kept: they read the
projection's daily druid counts for the whole UTC days whose events are all still stored
(from the day retention sealed on) and the events themselves for the rest (part-days at the
ends, days split by a bucket, days before the seal, stores whose projection predates the druid
counts); the numbers are the events' either way.

No presentation: tables and charts are the CLI's (`provenance.cli.render`,
`provenance.access.chart`); `report_json` writes the rows as `--format json` prints them.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from eventstore import EventStore
from eventstore.store import MAX_LIMIT
from provenance.access.report_counts import Key, add, count_totals, status_class
from provenance.access.report_views import day_floor, whole_day
from provenance.domain.errors import ProvenanceError
from provenance.domain.event_time import WINDOW_TEXT, clamp
from provenance.domain.events import load_payload
from provenance.domain.shown import shown
from provenance.projections import access_counts
from provenance.projections.access_counts import DRUIDS, NONE

Bucket = Literal["hour", "day", "week", "month"]
BUCKETS: tuple[str, ...] = ("hour", "day", "week", "month")
# Grouping dimensions, named as the report's keys. `path` is the normalised query template.
DIMENSIONS: tuple[str, ...] = (
    "service",
    "agent",
    "agent_kind",
    "client",
    "path",
    "druid",
    "status",
    "status_class",
)
OTHER = "(other)"
MAX_TOP = MAX_LIMIT
"""The largest --top: the largest count any option takes."""


class ReportError(ProvenanceError):
    """A report that cannot be made as asked (bad times, unknown dimension, ...)."""


@dataclass(frozen=True)
class Names:
    """What the asker calls a report's start, stop and top N, for messages that name them."""

    start: str
    stop: str
    top: str


OPTION_NAMES = Names("--from", "--to", "--top")
"""`prov report access`'s options."""
PARAMETER_NAMES = Names("from", "to", "top")
"""The query API's parameters (`/reports/access?from=&to=&top=`)."""


@dataclass(frozen=True)
class ReportQuery:
    by: tuple[str, ...] = ("service",)
    bucket: Bucket | None = None
    start: datetime | None = None  # inclusive
    stop: datetime | None = None  # exclusive
    top: int | None = None
    services: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    tz: tzinfo = UTC


@dataclass
class Report:
    """The rows (dicts named after their dimensions, `bucket`, `requests`, `bytes`), totals,
    and where the numbers came from."""

    query: ReportQuery
    rows: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    bytes: int = 0
    groups: int = 0  # distinct groups before the top-N cut
    basis: Literal["counts", "events"] = "counts"
    events_since: datetime | None = None  # for event-based reports: older events have expired


def access_report(store: EventStore, query: ReportQuery, *, names: Names = OPTION_NAMES) -> Report:
    """Answer one report query (see the module docstring); messages call its times and top N
    by `names`."""
    for dimension in query.by:
        if dimension not in DIMENSIONS:
            raise ReportError(
                f"unknown dimension {shown(dimension)!r}: choose from {', '.join(DIMENSIONS)}"
            )
    if query.top is not None and not 1 <= query.top <= MAX_TOP:
        raise ReportError(f"{names.top} must be from 1 to {MAX_TOP:,}, got {query.top}")
    if query.start is not None and query.stop is not None and query.start >= query.stop:
        raise ReportError(f"{names.start} must be before {names.stop}")
    report = Report(query)
    if "druid" in query.by:
        report.basis = "events"
        report.events_since = access_counts.sealed_before(store)
        with _collector_paused():
            totals = _druid_totals(store, query, report.events_since)
            _finish(report, totals)
        return report
    for name, moment in ((names.start, query.start), (names.stop, query.stop)):
        if moment is not None and moment != _hour_floor(moment):
            raise ReportError(
                f"{name} {moment.isoformat()} is not on the hour: counts are kept per hour "
                "(give a date, or a time on the hour)"
            )
    access_counts.catch_up(store)
    with _collector_paused():
        totals = count_totals(store, query, _bucketer(query.bucket, query.tz))
        _finish(report, totals)
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a report is summed and its rows made. A report
    makes hundreds of thousands of small dicts, lists and tuples that live until it is done
    and hold no cycles (freed by their counts as ever): the collector would walk them again
    at every few hundred allocations, for nothing, half the CPU time of a report per local
    day over a million requests (BENCHMARKS.md section 5)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# Dimensions the daily druid counts hold (service is the row's own).
_DRUID_COUNTS_HOLD = frozenset({"druid", "service"})
# A span of time, either end open (None).
Span = tuple[datetime | None, datetime | None]


def _druid_totals(
    store: EventStore, query: ReportQuery, sealed: datetime | None
) -> dict[tuple[str, Key], list[int]]:
    """Sum a druid report per (bucket, group): from the daily druid counts for the days they
    answer exactly, from the events for the rest of the range."""
    spans: list[Span] = [(query.start, query.stop)]
    days: list[dict[str, Any]] = []
    bucket_of = _bucketer(query.bucket, query.tz)
    if not query.agents and set(query.by) <= _DRUID_COUNTS_HOLD:
        access_counts.catch_up(store)
        if access_counts.has_druid_counts(store):
            spans, days = _druid_days(store, query, sealed, bucket_of)
    totals = _group((cell for span in spans for cell in _event_cells(store, query, span)), query)
    # Summed per (bucket, service) first: a druid is in a row per day it was asked for.
    sums: dict[tuple[str, str], dict[str, list[int]]] = {}
    for row in days:  # of the services asked for only
        place = (bucket_of(datetime.fromisoformat(row["hour"])), row["service"])
        target = sums.get(place)
        if target is None:
            target = sums[place] = {}
        for druid, (requests, size) in row["druid"].items():
            add(target, druid, requests, size)
    for (bucket, service), druids in sums.items():
        for druid, (requests, size) in druids.items():
            group = tuple(druid if name == "druid" else service for name in query.by)
            add(totals, (bucket, group), requests, size)
    return totals


def _druid_days(
    store: EventStore,
    query: ReportQuery,
    sealed: datetime | None,
    bucket_of: Callable[[datetime], str],
) -> tuple[list[Span], list[dict[str, Any]]]:
    """The daily druid rows that answer whole days of the range, and the spans of the range
    left to the events: before the seal (some of those days' events have expired, and the
    report counts what is stored), and every day with requests that the range or a bucket cuts.
    A day without rows had no requests (the counts are complete from the seal on)."""
    start, stop = query.start, query.stop
    spans: list[Span] = []
    if sealed is not None and (start is None or start < sealed):
        if stop is not None and stop <= sealed:
            return [(start, stop)], []
        spans.append((start, sealed))
        start = sealed
    # Spans that meet, or have only days without requests between them, are read as one.
    joins = bool(spans)

    def answered(day: datetime) -> bool:
        nonlocal joins
        if whole_day(day, start, stop, bucket_of):
            joins = False
            return True
        # A day stored before the time window (provenance.domain.event_time) has no midnight
        # to end it.
        end = None if day.date() == date.max else day + timedelta(days=1)
        since = day if start is None or start < day else start
        until = stop if end is None or (stop is not None and stop < end) else end
        if joins:
            spans[-1] = (spans[-1][0], until)
        else:
            spans.append((since, until))
        joins = True
        return False

    days = list(
        access_counts.rows(
            store,
            day_floor(start),
            _day_ceiling(stop),
            kind=DRUIDS,
            services=frozenset(query.services),
            days=answered,
        )
    )
    return spans, days


def _day_ceiling(moment: datetime | None) -> datetime | None:
    """The first UTC midnight at or after `moment` (None: no end, or none in the window)."""
    floor = day_floor(moment)
    if floor is None or moment is None or floor == moment:
        return floor
    try:
        return floor + timedelta(days=1)
    except OverflowError:
        return None


# An event's contribution: (when, {dimension: value}, requests, bytes).
Cell = tuple[datetime, dict[str, str], int, int]


def _event_cells(store: EventStore, query: ReportQuery, span: Span) -> Iterator[Cell]:
    services = set(query.services)
    agents = set(query.agents)
    since, until = span
    for record in store.read_all(types=("ServiceAccessed",), since=since, until=until):
        event = load_payload(record.payload)
        service = event["service"]
        agent = event["agent"]
        if (services and service not in services) or (agents and agent["name"] not in agents):
            continue
        status = NONE if event.get("status") is None else str(event["status"])
        yield (
            record.occurred_at,
            {
                "service": service,
                "agent": agent["name"],
                "agent_kind": agent.get("kind", NONE),
                "client": event.get("client_id") or NONE,
                "path": event.get("template") or NONE,
                "druid": event.get("druid") or NONE,
                "status": status,
                "status_class": status_class(status),
            },
            1,
            event.get("bytes") or 0,
        )


def _group(cells: Iterable[Cell], query: ReportQuery) -> dict[tuple[str, Key], list[int]]:
    """Sum requests and bytes per (bucket, group)."""
    by = query.by
    bucket_of = _bucketer(query.bucket, query.tz)
    totals: dict[tuple[str, Key], list[int]] = {}
    for moment, values, requests, size in cells:
        add(totals, (bucket_of(moment), tuple(values[name] for name in by)), requests, size)
    return totals


def _finish(report: Report, totals: dict[tuple[str, Key], list[int]]) -> None:
    """Rank groups by their requests over the whole range, cut at top N, and order rows."""
    query = report.query
    per_group: dict[Key, int] = {}
    for (_bucket, group), (requests, _size) in totals.items():
        per_group[group] = per_group.get(group, 0) + requests
    report.requests = sum(per_group.values())
    report.bytes = sum(size for _requests, size in totals.values())
    report.groups = len(per_group)
    ranked = sorted(per_group, key=lambda group: (-per_group[group], group))
    rank = {group: index for index, group in enumerate(ranked)}
    other: Key = tuple(OTHER for _ in query.by)
    if query.top is not None and len(ranked) > query.top:
        kept = set(ranked[: query.top])
        merged: dict[tuple[str, Key], list[int]] = {}
        for (bucket, group), (requests, size) in totals.items():
            target = (bucket, group if group in kept else other)
            counts = merged.setdefault(target, [0, 0])
            counts[0] += requests
            counts[1] += size
        totals = merged
        rank[other] = len(ranked)
    # (bucket, rank) is unique: the tuples are ordered without comparing the groups.
    ordered = sorted(
        [(bucket, rank[group], group, counts) for (bucket, group), counts in totals.items()]
    )
    by = query.by
    if len(by) == 1:  # the usual report, its rows made without zipping
        (name,) = by
        if query.bucket is None:
            report.rows = [
                {name: group[0], "requests": counts[0], "bytes": counts[1]}
                for _bucket, _rank, group, counts in ordered
            ]
        else:
            report.rows = [
                {name: group[0], "bucket": bucket, "requests": counts[0], "bytes": counts[1]}
                for bucket, _rank, group, counts in ordered
            ]
        return
    for bucket, _rank, group, (requests, size) in ordered:
        row: dict[str, Any] = dict(zip(by, group, strict=True))
        if query.bucket is not None:
            row["bucket"] = bucket
        row["requests"] = requests
        row["bytes"] = size
        report.rows.append(row)


def _hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _bucketer(bucket: Bucket | None, tz: tzinfo) -> Callable[[datetime], str]:
    """The function naming a moment's bucket (ISO start in `tz`), cached per hour."""
    if bucket is None:
        return lambda moment: ""
    cache: dict[datetime, str] = {}

    def bucket_of(moment: datetime) -> str:
        hour = _hour_floor(moment)
        name = cache.get(hour)
        if name is None:
            name = cache[hour] = bucket_start(hour, bucket, tz).isoformat()
        return name

    return bucket_of


def bucket_start(moment: datetime, bucket: Bucket, tz: tzinfo) -> datetime:
    """The start of the bucket holding `moment`, as a local time in `tz` (weeks start Monday).

    A moment outside the window of `provenance.domain.event_time` (stored before ingest refused such
    times) counts in the first or last bucket of the window: inside it, every zone's local time
    and bucket start is a datetime (0001-01-01 is a Monday)."""
    local = clamp(moment).astimezone(tz)
    if bucket == "hour":
        start = local.replace(minute=0, second=0, microsecond=0)
    else:
        day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        if bucket == "week":
            day -= timedelta(days=day.weekday())
        elif bucket == "month":
            day = day.replace(day=1)
        # Attach the zone afresh: the offset at the bucket's start may differ (DST).
        start = day.replace(tzinfo=tz)
    return start


def read_time(text: str) -> date | datetime:
    """An ISO 8601 date (`2026-03-02`, `20260302`, `2026-W10-1`) or date and time, as written
    (a time may have no zone); ReportError if it is neither. The syntax check `prov report
    access` runs on --from/--to before it knows the zone."""
    try:
        return date.fromisoformat(text)
    except (ValueError, TypeError):
        pass
    try:
        return datetime.fromisoformat(text)
    except (ValueError, TypeError):
        raise ReportError(
            f"{shown(text)!r} is not an ISO date or time (e.g. 2026-03-02 or 2026-03-02T10:00)"
        ) from None


def report_query(
    *,
    by: Iterable[str],
    bucket: str | None,
    start: str | None,
    stop: str | None,
    top: int | None,
    services: Iterable[str],
    agents: Iterable[str],
    tz: tzinfo,
    names: Names = OPTION_NAMES,
) -> ReportQuery:
    """The query the asker's parameters make, `prov report access`'s options or the query API's:
    the one place both build it. `by` is the dimensions as given (blank names dropped), `start`
    and `stop` the times as written (read by `parse_time` in `tz`, its messages calling them
    by `names`); `bucket` and `top` were checked by the asker's own rules."""
    return ReportQuery(
        by=tuple(name.strip() for name in by if name.strip()),
        bucket=bucket,  # type: ignore[arg-type]
        start=parse_time(start, tz, names=names) if start else None,
        stop=parse_time(stop, tz, end=True, names=names) if stop else None,
        top=top,
        services=tuple(services),
        agents=tuple(agents),
        tz=tz,
    )


def parse_time(
    text: str, tz: tzinfo, *, end: bool = False, names: Names = OPTION_NAMES
) -> datetime | None:
    """A report's --from (or, with `end`, --to) as an aware datetime; None for no bound.
    Messages call it by `names`.

    The one rule the CLI and the query API share. A date means its start in `tz` for --from,
    and the start of the next day for --to (so `--to 2026-03-05` includes the 5th); a time
    without a zone is read in `tz`. Times are held from 0001-01-01 to 9999-12-31, in their zone
    and in UTC (what a datetime holds): a --to beyond that (`--to 9999-12-31` ends on the day
    after, and is the usual way of writing "for ever") means no end, a --from before it means
    no start; a --from beyond it or a --to before it is refused, as nothing could be reported.
    """
    name = names.stop if end else names.start
    try:
        written = read_time(text)
    except ReportError as exc:
        raise ReportError(f"{name} {exc}") from None
    try:
        if isinstance(written, datetime):
            moment = written if written.tzinfo is not None else written.replace(tzinfo=tz)
        else:
            # Add the day to the wall-clock date, then attach the zone: a day is not 24 hours
            # across a DST change.
            moment = datetime.combine(written + timedelta(days=1 if end else 0), time(), tz)
        moment.astimezone(UTC)  # every store and report works in UTC from here on
        return moment
    except OverflowError:
        pass
    # Offsets are less than a day, so only the first and the last day can overflow.
    late = written.year == datetime.max.year
    if late == end:
        return None
    side = "after the last" if late else "before the first"
    raise ReportError(
        f"{name} {shown(text)!r} is {side} time that can be stored "
        f"({WINDOW_TEXT}): nothing can be reported {'from' if late else 'up to'} it"
    )


def csv_rows(report: Report) -> Sequence[Sequence[Any]]:
    """The report as CSV rows, header first."""
    columns = [*report.query.by, *(["bucket"] if report.query.bucket else []), "requests", "bytes"]
    return [columns, *([row[column] for column in columns] for row in report.rows)]
