"""Summing AccessCounts' kept breakdowns into a report's (bucket, group) totals.

`report_views` says which rows to read; this sums their entries per (bucket, group), the loop
that is the whole cost of a report over a big store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventstore import EventStore
from provenance.access.report_views import KEY_PARTS, View, choose_view, view_rows
from provenance.projections import access_counts
from provenance.projections.access_counts import NONE, SEP

if TYPE_CHECKING:
    from provenance.access.report import ReportQuery

Key = tuple[str, ...]


# The part of a count key each dimension is read from (agent_kind is the agent's, status_class
# the status's; service is the row's own).
_BASE_PART = {
    "agent": "agent",
    "agent_kind": "agent",
    "client": "client",
    "path": "path",
    "status": "status",
    "status_class": "status",
}


def _view(query: ReportQuery) -> View:
    """The smallest kept breakdown that holds every part the query groups or filters by."""
    needed = {_BASE_PART[name] for name in query.by if name in _BASE_PART}
    if query.agents:
        needed.add("agent")
    return choose_view(needed, kinds="agent_kind" in query.by)


def count_totals(
    store: EventStore, query: ReportQuery, bucket_of: Callable[[datetime], str]
) -> dict[tuple[str, Key], list[int]]:
    """Sum the hourly counts per (bucket, group). This loop is the whole cost of a report over
    a big store, so each row is summed on its own first (its entries share service, hour and
    bucket) and a key is split only as far as the grouping needs."""
    view = _view(query)
    position = {part: index for index, part in enumerate(view.parts)}
    by = query.by
    getters = [_getter(name, position) for name in by]
    depth = max((position[_BASE_PART[name]] for name in by if name in _BASE_PART), default=0)
    agent_at = position.get("agent", 0)
    depth = max(depth, agent_at) if query.agents else depth
    services = set(query.services)
    agents = set(query.agents)
    rows = view_rows(
        store,
        view,
        access_counts.layout(store),
        query.start,
        query.stop,
        frozenset(query.services),
        bucket_of,
    )
    if "agent_kind" not in by:
        # Only agent_kind reads a row's own table (its agents' kinds); without it, entries of
        # every row are summed by the leading parts of their keys first.
        return _count_by_prefix(query, rows, position, getters, bucket_of)
    totals: dict[tuple[str, Key], list[int]] = {}
    for field_name, row in rows:
        service = row["service"]
        if services and service not in services:
            continue
        kinds = row["agents"]
        per_group: dict[Key, list[int]] = {}
        for key, (requests, size) in row[field_name].items():
            parts = key.split(SEP, depth + 1)
            if agents and parts[agent_at] not in agents:
                continue
            add(per_group, tuple(get(parts, service, kinds) for get in getters), requests, size)
        bucket = bucket_of(datetime.fromisoformat(row["hour"]))
        for group, (requests, size) in per_group.items():
            add(totals, (bucket, group), requests, size)
    return totals


def _count_by_prefix(
    query: ReportQuery,
    rows: Iterable[tuple[str, dict[str, Any]]],
    position: dict[str, int],
    getters: list[Getter],
    bucket_of: Callable[[datetime], str],
) -> dict[tuple[str, Key], list[int]]:
    """`count_totals` for groupings that read nothing but the key, the service and the bucket:
    each entry costs one cut of its key and one addition (a report over a million requests
    sums about as many entries); keys are split into groups once per distinct (bucket,
    service, leading parts)."""
    width = 1 + max(
        (position[_BASE_PART[name]] for name in query.by if name in _BASE_PART), default=-1
    )
    if query.agents:
        width = max(width, position["agent"] + 1)
    services = set(query.services)
    sums: dict[tuple[str, str], dict[str, list[int]]] = {}
    for field_name, row in rows:
        service = row["service"]
        if services and service not in services:
            continue
        place = (bucket_of(datetime.fromisoformat(row["hour"])), service)
        target = sums.get(place)
        if target is None:
            target = sums[place] = {}
        _sum_prefixes(target, row[field_name], width, len(KEY_PARTS[field_name]))
    agents = set(query.agents)
    agent_at = position.get("agent", 0)
    no_kinds: dict[str, str] = {}
    totals: dict[tuple[str, Key], list[int]] = {}
    # A prefix's group per service, made once: the same prefixes recur in every bucket.
    groups: dict[str, dict[str, Key | None]] = {}
    for (bucket, service), prefixes in sums.items():
        known = groups.setdefault(service, {})
        for prefix, pair in prefixes.items():
            group = known.get(prefix, ())
            if group == ():
                parts = prefix.split(SEP)
                group = known[prefix] = (
                    None
                    if agents and parts[agent_at] not in agents
                    else tuple(get(parts, service, no_kinds) for get in getters)
                )
            if group is None:
                continue
            counts = totals.get((bucket, group))
            if counts is None:
                totals[bucket, group] = pair  # the sums' own list, not used again
            else:
                counts[0] += pair[0]
                counts[1] += pair[1]
    return totals


def _sum_prefixes(
    target: dict[str, list[int]], entries: dict[str, list[int]], width: int, parts: int
) -> None:
    """Add each entry's counts to `target` under the first `width` of its key's `parts`.
    A row is parsed afresh for each report and dropped after: its lists become the sums."""
    if width == parts:
        if not target:
            target.update(entries)
            return
        get = target.get
        for key, pair in entries.items():
            counts = get(key)
            if counts is None:
                target[key] = pair
            else:
                counts[0] += pair[0]
                counts[1] += pair[1]
        return
    for key, (requests, size) in entries.items():
        if width == 1:
            prefix = key.partition(SEP)[0]
        elif width == 0:
            prefix = ""
        else:
            prefix = SEP.join(key.split(SEP, width)[:width])
        summed = target.get(prefix)
        if summed is None:
            target[prefix] = [requests, size]
        else:
            summed[0] += requests
            summed[1] += size


def add(totals: dict[Any, list[int]], key: Any, requests: int, size: int) -> None:
    counts = totals.get(key)
    if counts is None:
        totals[key] = [requests, size]
    else:
        counts[0] += requests
        counts[1] += size


Getter = Callable[[list[str], str, dict[str, str]], str]


def _getter(name: str, position: dict[str, int]) -> Getter:
    """How to read one dimension from a split key, its row's service and agent kinds."""
    if name == "service":
        return lambda parts, service, kinds: service
    index = position[_BASE_PART[name]]
    if name == "agent_kind":
        return lambda parts, service, kinds: kinds.get(parts[index], NONE)
    if name == "status_class":
        return lambda parts, service, kinds: status_class(parts[index])
    return lambda parts, service, kinds: parts[index]


def status_class(status: str) -> str:
    return f"{status[0]}xx" if status != NONE else NONE
