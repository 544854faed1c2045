"""Which of AccessCounts' kept breakdowns answer a report, and which of their rows it reads.

A breakdown (`View`) is kept in hourly rows and, for most, in daily rows too: a report reads a
whole UTC day's row wherever the day lies within its range and within one of its buckets, and
the hourly rows of the rest. The breakdowns of layout 3 (`access_counts.Layout`: hourly totals,
daily clients) are read only for the hours the projection has them for, the older rows
elsewhere, so a projection made before them answers as it did. Rows of other services, and
daily rows of days that do not qualify, are passed by unparsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eventstore import EventStore
from provenance.projections import access_counts
from provenance.projections.access_counts import (
    CELLS,
    CLIENTS,
    DAILY,
    SUMMARIES,
    TOTALS,
    Layout,
)

# A kind of row and the field of it that holds a breakdown.
Field = tuple[str, str]
KEY_PARTS = {
    "agent": ("agent",),
    "status": ("status",),
    "path": ("path",),
    "agent_path": ("agent", "path"),
    "agent_client": ("agent", "client"),
    "cells": ("agent", "client", "status", "path"),
}
"""The parts of a breakdown's keys, by its field's name. Every breakdown of one view keeps its
parts at the same places, so a report cuts their keys alike."""


@dataclass(frozen=True, slots=True)
class View:
    """A breakdown of the requests and where it is kept: `hourly` rows for every hour (and
    `since_layout_3` instead where the layout has those), `daily` rows for whole UTC days
    (`daily_layout_3`: only where the layout has them). `kinds`: its rows hold their agents'
    kinds (what `agent_kind` is read from)."""

    parts: tuple[str, ...]
    hourly: Field
    daily: Field | None = None
    since_layout_3: Field | None = None
    daily_layout_3: bool = False
    kinds: bool = True


VIEWS: tuple[View, ...] = (
    View(
        ("agent",),
        (SUMMARIES, "agent"),
        (DAILY, "agent"),
        since_layout_3=(TOTALS, "agent"),
        kinds=False,
    ),
    View(("agent",), (SUMMARIES, "agent"), (DAILY, "agent")),
    View(("status",), (SUMMARIES, "status"), (DAILY, "status"), (TOTALS, "status"), kinds=False),
    View(("path",), (SUMMARIES, "path"), (DAILY, "path"), (TOTALS, "path"), kinds=False),
    View(("agent", "path"), (SUMMARIES, "agent_path"), (DAILY, "agent_path")),
    View(
        ("agent", "client"),
        (CELLS, "cells"),
        (CLIENTS, "agent_client"),
        daily_layout_3=True,
        kinds=False,
    ),
    View(("agent", "client", "status", "path"), (CELLS, "cells")),
)
"""Smallest first: a report reads the first that holds what it needs."""


def choose_view(parts: set[str], kinds: bool) -> View:
    """The smallest view whose keys hold `parts` (and its agents' kinds, if `kinds`)."""
    return next(view for view in VIEWS if parts <= set(view.parts) and (view.kinds or not kinds))


def view_rows(
    store: EventStore,
    view: View,
    layout: Layout,
    start: datetime | None,
    stop: datetime | None,
    services: frozenset[str],
    bucket_of: Callable[[datetime], str],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows a report over [start, stop) sums from `view`, each with the field that holds
    the breakdown (see the module docstring)."""
    if view.daily is None or not _may_hold_whole_days(start, stop, bucket_of):
        yield from _hourly_rows(store, view, layout, start, stop, services)
        return
    daily_kind, daily_field = view.daily
    covered: list[datetime] = []

    def whole(day: datetime) -> bool:
        if whole_day(day, start, stop, bucket_of) and (
            not view.daily_layout_3 or layout.has_views(day)
        ):
            covered.append(day)
            return True
        return False

    for row in access_counts.rows(
        store, day_floor(start), stop, kind=daily_kind, services=services, days=whole
    ):
        yield daily_field, row
    # The hours outside the days read whole: between the covered days, and at both ends.
    since = start
    for day in covered:
        if since is None or since < day:
            yield from _hourly_rows(store, view, layout, since, day, services)
        since = day + timedelta(days=1)
    if since is None or stop is None or since < stop:
        yield from _hourly_rows(store, view, layout, since, stop, services)


def _hourly_rows(
    store: EventStore,
    view: View,
    layout: Layout,
    start: datetime | None,
    stop: datetime | None,
    services: frozenset[str],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The hourly rows of [start, stop): those of layout 3 from the hour the layout has them."""
    spans: list[tuple[Field, datetime | None, datetime | None]] = []
    newer = view.since_layout_3
    if newer is None or layout.version < 3:
        spans.append((view.hourly, start, stop))
    else:
        since = layout.since
        if since is not None and (start is None or start < since):
            spans.append((view.hourly, start, since if stop is None or since < stop else stop))
        later = start if since is None or (start is not None and start >= since) else since
        if later is None or stop is None or later < stop:
            spans.append((newer, later, stop))
    for (kind, field), first, last in spans:
        for row in access_counts.rows(store, first, last, kind=kind, services=services):
            yield field, row


# The most days a range's own days are probed for; a longer or open range probes the last
# two years'.
_PROBED_DAYS = 731


def _may_hold_whole_days(
    start: datetime | None, stop: datetime | None, bucket_of: Callable[[datetime], str]
) -> bool:
    """Whether a UTC day of [start, stop) may lie within one bucket (an hour never does, a
    local day only where the zone's midnight is UTC's), probed day by day. Only decides
    whether the daily rows are read at all (every one of them is fetched to be passed by): a
    day that they would answer is otherwise read from its hours, with the same result."""
    first = day_floor(start)
    last = day_floor(stop)
    if first is None or last is None or last - first > timedelta(days=_PROBED_DAYS):
        last = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        first = last - timedelta(days=_PROBED_DAYS)
    days = (first + timedelta(days=offset) for offset in range((last - first).days + 1))
    return any(whole_day(day, None, None, bucket_of) for day in days)


def day_floor(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def whole_day(
    day: datetime,
    start: datetime | None,
    stop: datetime | None,
    bucket_of: Callable[[datetime], str],
) -> bool:
    """Whether the UTC day starting at `day` lies within [start, stop) and within one bucket."""
    if day.date() == date.max:
        return False
    end = day + timedelta(days=1)
    return (
        (start is None or start <= day)
        and (stop is None or end <= stop)
        and bucket_of(day) == bucket_of(end - timedelta(hours=1))
    )
