"""Access reports: who queries which services, how often, with what queries.

A report groups requests by one or more dimensions (`DIMENSIONS`), optionally per time bucket
(hour, day, week, month in a chosen zone), between two times, for some services or agents, and
keeps the top N groups (the rest are summed into one `(other)` group, so every report adds up
to the same total). It is answered from the AccessCounts projection (hourly rows), except
when grouping by `druid`, which only the access events themselves carry: those reports read
the events and so cover only what retention has kept.

Imports `eventstore`, the AccessCounts projection and the errors; no presentation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

from pydantic_core import from_json

from eventstore import EventStore
from provenance.errors import ProvenanceError
from provenance.projections import access_counts
from provenance.projections.access_counts import NONE, SEP

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


class ReportError(ProvenanceError):
    """A report that cannot be made as asked (bad times, unknown dimension, ...)."""


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


def access_report(store: EventStore, query: ReportQuery) -> Report:
    """Answer one report query (see the module docstring)."""
    for dimension in query.by:
        if dimension not in DIMENSIONS:
            raise ReportError(
                f"unknown dimension {dimension!r}: choose from {', '.join(DIMENSIONS)}"
            )
    if query.top is not None and query.top < 1:
        raise ReportError(f"--top must be at least 1, got {query.top}")
    if query.start is not None and query.stop is not None and query.start >= query.stop:
        raise ReportError("--from must be before --to")
    report = Report(query)
    if "druid" in query.by:
        report.basis = "events"
        report.events_since = access_counts.sealed_before(store)
        cells = _event_cells(store, query)
    else:
        for name, moment in (("--from", query.start), ("--to", query.stop)):
            if moment is not None and moment != _hour_floor(moment):
                raise ReportError(
                    f"{name} {moment.isoformat()} is not on the hour: counts are kept per hour "
                    "(give a date, or a time on the hour)"
                )
        access_counts.catch_up(store)
        cells = _count_cells(store, query)
    totals = _group(cells, query)
    _finish(report, totals)
    return report


# A cell: (hour row start, {dimension: value}, requests, bytes).
Cell = tuple[datetime, dict[str, str], int, int]


def _count_cells(store: EventStore, query: ReportQuery) -> Iterator[Cell]:
    services = set(query.services)
    agents = set(query.agents)
    for row in access_counts.rows(store, query.start, query.stop):
        service = row["service"]
        if services and service not in services:
            continue
        hour = datetime.fromisoformat(row["hour"])
        kinds = row["agents"]
        for key, (requests, size) in row["cells"].items():
            agent, client, status, template = key.split(SEP)
            if agents and agent not in agents:
                continue
            yield (
                hour,
                {
                    "service": service,
                    "agent": agent,
                    "agent_kind": kinds.get(agent, NONE),
                    "client": client,
                    "path": template,
                    "status": status,
                    "status_class": _status_class(status),
                },
                requests,
                size,
            )


def _event_cells(store: EventStore, query: ReportQuery) -> Iterator[Cell]:
    services = set(query.services)
    agents = set(query.agents)
    for record in store.read_all(types=("ServiceAccessed",), since=query.start, until=query.stop):
        event = from_json(record.payload)
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
                "status_class": _status_class(status),
            },
            1,
            event.get("bytes") or 0,
        )


def _status_class(status: str) -> str:
    return f"{status[0]}xx" if status != NONE else NONE


Key = tuple[str, ...]


def _group(cells: Iterable[Cell], query: ReportQuery) -> dict[tuple[str, Key], list[int]]:
    """Sum requests and bytes per (bucket, group)."""
    by = query.by
    bucket_of = _bucketer(query.bucket, query.tz)
    totals: dict[tuple[str, Key], list[int]] = {}
    for moment, values, requests, size in cells:
        key = (bucket_of(moment), tuple(values[name] for name in by))
        counts = totals.get(key)
        if counts is None:
            totals[key] = [requests, size]
        else:
            counts[0] += requests
            counts[1] += size
    return totals


def _finish(report: Report, totals: dict[tuple[str, Key], list[int]]) -> None:
    """Rank groups by their requests over the whole range, cut at top N, and order rows."""
    query = report.query
    per_group: dict[Key, int] = {}
    for (_bucket, group), (requests, size) in totals.items():
        per_group[group] = per_group.get(group, 0) + requests
        report.requests += requests
        report.bytes += size
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
    ordered = sorted(totals.items(), key=lambda item: (item[0][0], rank[item[0][1]]))
    for (bucket, group), (requests, size) in ordered:
        row: dict[str, Any] = dict(zip(query.by, group, strict=True))
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
    """The start of the bucket holding `moment`, as a local time in `tz` (weeks start Monday)."""
    local = moment.astimezone(tz)
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


def parse_time(text: str, tz: tzinfo, *, end: bool = False) -> datetime:
    """An ISO date or time given on the command line, as an aware datetime.

    A date means its start in `tz` for `--from`, and the start of the next day for `--to`
    (so `--to 2026-03-05` includes the 5th); a time without a zone is read in `tz`.
    """
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return day.replace(tzinfo=tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(
            f"{text!r} is not an ISO date or time (e.g. 2026-03-02 or 2026-03-02T10:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def csv_rows(report: Report) -> Sequence[Sequence[Any]]:
    """The report as CSV rows, header first."""
    columns = [*report.query.by, *(["bucket"] if report.query.bucket else []), "requests", "bytes"]
    return [columns, *([row[column] for column in columns] for row in report.rows)]
