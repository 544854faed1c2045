"""The whole repository at a glance: lists of objects and totals across every ObjectState row,
answered from the indexes and totals the projector keeps with the rows
(`projections.object_fleet`), never by reading every row or event.

A list is driven by one index (the most selective filter asked for) and read a page at a
time; other filters asked for at the same time are checked on the rows of each page, reading
at most `MAX_ENTRIES_READ` entries of the index per request (a page can then come back short,
with a `next` token to go on from). Paging tokens are opaque: where the last page stopped in
that index, and which list (index, range, direction) it belongs to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eventstore import EventStore, IndexEntry
from provenance.domain.errors import ProvenanceError
from provenance.projections import object_state
from provenance.projections.object_fleet import (
    ACTIVITY,
    COPIES_DIGITS,
    FAILING,
    FAILING_KIND,
    FAILURE_KINDS,
    FIXITY,
    FIXITY_ROOT,
    REPLICAS,
    ROOT,
    STATUS,
    failure_kind,
    last_fixity,
    part_name,
    replication_gaps,
    root_statuses,
    term_part,
)

__all__ = [
    "DEFAULT_LIMIT",
    "FAILURE_KINDS",
    "MAX_LIMIT",
    "FleetPage",
    "FleetQuery",
    "fleet_objects",
    "fleet_report",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1_000
MAX_ENTRIES_READ = 2_000
"""How many index entries (and so rows) one request reads at most while other filters reject
rows: the page then comes back short, with a token to go on from."""
OVERDUE_DAYS = 90
"""SDR audits every Moab on a cycle: an object not checked for this long is overdue."""
RECENT_FAILURES = 10


class FleetQueryError(ProvenanceError):
    """A list asked for with a filter or token that cannot be answered."""


@dataclass(frozen=True)
class FleetQuery:
    """Which objects to list (filters combine with AND) and which page."""

    failing: bool = False
    kind: str | None = None
    status: str | None = None
    root: str | None = None
    not_checked_since: date | None = None
    unreplicated: bool = False
    limit: int = DEFAULT_LIMIT
    after: str | None = None


@dataclass(frozen=True)
class FleetPage:
    """A page of objects (`object_view`s) and the token of the next page (None: the last)."""

    objects: list[dict[str, Any]]
    next: str | None


@dataclass(frozen=True)
class _Scan:
    """The index a query is read from, its term range and direction."""

    index: str
    start: str | None = None
    stop: str | None = None
    descending: bool = False


def fleet_objects(
    store: EventStore, query: FleetQuery, *, endpoints: Sequence[str] | None = None
) -> FleetPage:
    """A page of the objects `query` asks for, brought up to date first."""
    check_query(query)
    object_state.catch_up(store)
    return _page(store, query, _endpoints(store, endpoints))


def _page(store: EventStore, query: FleetQuery, wanted: list[str]) -> FleetPage:
    """`fleet_objects` on a projection already caught up, for these endpoints."""
    scan = _scan(query, len(wanted))
    if scan is None:
        return FleetPage([], None)
    after = _token_entry(query.after, scan)
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    read = 0
    while read < MAX_ENTRIES_READ:
        remaining = min(query.limit - len(found), MAX_ENTRIES_READ - read)
        # One more than needed: whether it comes says if there is a next page.
        entries = store.read_index(
            object_state.PROJECTION,
            scan.index,
            start=scan.start,
            stop=scan.stop,
            after=after,
            limit=remaining + 1,
            descending=scan.descending,
        )
        mine = entries[:remaining]
        read += len(mine)
        rows = store.get_projections(object_state.PROJECTION, {e.key for e in mine})
        for entry in mine:
            row = rows.get(entry.key)
            if row is None or entry.key in seen:
                continue
            seen.add(entry.key)
            state = object_state.with_lone_notices(object_state.from_value(row.value))
            view = object_view(state, wanted)
            if _matches(view, query, len(wanted)):
                found.append(view)
        if len(entries) <= remaining:
            return FleetPage(found, None)
        after = mine[-1]
        if len(found) >= query.limit:
            break
    return FleetPage(found, _token(scan, after) if after is not None else None)


def check_query(query: FleetQuery) -> None:
    if not 1 <= query.limit <= MAX_LIMIT:
        raise FleetQueryError(f"limit must be from 1 to {MAX_LIMIT}, got {query.limit}")
    if query.kind is not None and query.kind not in FAILURE_KINDS:
        raise FleetQueryError(f"kind must be one of {', '.join(FAILURE_KINDS)}, got {query.kind!r}")
    for name, value in (("status", query.status), ("root", query.root)):
        if value is not None and not value:
            raise FleetQueryError(f"{name} must not be empty")


def _scan(query: FleetQuery, copies: int) -> _Scan | None:
    """The index to read: the most selective filter's."""
    if query.kind is not None:
        return _Scan(FAILING_KIND, *_prefix(f"{query.kind}|"), descending=True)
    if query.failing:
        return _Scan(FAILING, descending=True)
    if query.unreplicated:
        if copies == 0:
            return None
        return _Scan(REPLICAS, stop=f"{copies:0{COPIES_DIGITS}d}")
    # Names as the index holds them (`term_part`); the rows a page gives are checked against
    # the names themselves (`_matches`).
    root = term_part(query.root) if query.root is not None else None
    status = term_part(query.status) if query.status is not None else None
    if query.not_checked_since is not None:
        day = query.not_checked_since.isoformat()
        if root is not None:
            return _Scan(FIXITY_ROOT, f"{root}|", f"{root}|{day}")
        return _Scan(FIXITY, stop=day)
    if status is not None:
        if root is None:
            return _Scan(STATUS, *_prefix(f"{status}|"))
        # One term: from it to the smallest term after it (a space is the lowest character
        # a term may hold).
        exact = f"{status}|{root}"
        return _Scan(STATUS, exact, exact + " ")
    if root is not None:
        return _Scan(ROOT, *_prefix(f"{root}|"))
    return _Scan(ACTIVITY, descending=True)


def _prefix(prefix: str) -> tuple[str, str]:
    """The term range of every term that starts with `prefix`."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _matches(view: dict[str, Any], query: FleetQuery, copies: int) -> bool:
    """Whether an object the index gave meets every other filter too."""
    if (query.failing or query.kind) and not view["open_failures"]:
        return False
    if query.kind and all(f["kind"] != query.kind for f in view["open_failures"]):
        return False
    if query.status is not None and query.status not in view["status"].values():
        return False
    if query.root is not None and query.root not in view["status"]:
        return False
    if (
        query.status is not None
        and query.root is not None
        and view["status"].get(query.root) != query.status
    ):
        return False
    if query.not_checked_since is not None:
        day = query.not_checked_since.isoformat()
        checked = view["last_fixity"]
        if query.root is not None:
            checked = {query.root: checked.get(query.root)} if query.root in checked else {}
        if not checked or all(when is not None and when >= day for when in checked.values()):
            return False
    return not query.unreplicated or (copies > 0 and bool(view["unreplicated"]))


def object_view(state: dict[str, Any], endpoints: Sequence[str]) -> dict[str, Any]:
    """One object as the lists show it (see fleet-spec in the README)."""
    # Failures before warnings (a skipped check's warning follows from a failure), newest
    # first within each.
    failures = sorted(
        (_failure_view(item) for item in object_state.open_failures(state)),
        key=lambda failure: failure["outcome"] != "fail",
    )
    fixity = last_fixity(state)
    # The oldest of its roots' last checks; none (never) if a root was never checked.
    checked = [when for when in fixity.values() if when is not None]
    oldest = min(checked) if checked and len(checked) == len(fixity) else None
    gaps = []
    for gap in replication_gaps(state):
        missing = [endpoint for endpoint in endpoints if endpoint not in gap["endpoints"]]
        if missing:
            gaps.append(
                {
                    "version": gap["version"],
                    "endpoints": gap["endpoints"],
                    "missing": missing,
                    "waiting_since": gap["since"],
                }
            )
    return {
        "druid": state["object"],
        "latest_version": state["latest_version"],
        "versions": len(state["versions"]),
        "status": root_statuses(state),
        "open_failures": failures,
        "failing_since": min((f["since"] for f in failures), default=None),
        "last_fixity": fixity,
        "last_fixity_at": oldest,
        "unreplicated": gaps,
        "last_event": _time(state["last_event"]) if state["last_event"] else None,
    }


def _failure_view(failure: dict[str, Any]) -> dict[str, Any]:
    parts = failure["check"].split("|")
    place = parts[1] if parts[0] == "replication" else parts[-1]
    return {
        "kind": failure_kind(failure["check"]),
        "check": failure["check"],
        "place": place or None,
        "since": _time(failure["cursor"]),
        "outcome": failure["outcome"],
        "result_code": failure.get("result_code"),
        "version": failure.get("version"),
        "detail": failure.get("detail"),
    }


def fleet_report(
    store: EventStore,
    *,
    endpoints: Sequence[str] | None = None,
    overdue_days: int = OVERDUE_DAYS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The totals of the whole repository, from the totals the projector keeps.

    Overdue audits are counted back from `now`, by default the newest event's time: a store
    loaded from old logs reads as the repository was then (`as_of` says when that is)."""
    object_state.catch_up(store)
    totals = store.projection_totals(object_state.PROJECTION)
    wanted = _endpoints(store, endpoints, totals)
    recent = _page(store, FleetQuery(failing=True, limit=RECENT_FAILURES), wanted).objects
    active = _page(store, FleetQuery(limit=RECENT_FAILURES), wanted).objects
    # The newest event of the objects active in the newest hour (the index orders by hour):
    # exact unless more than RECENT_FAILURES objects were active in that hour, and then
    # within it.
    as_of = max((item["last_event"] for item in active if item["last_event"]), default=None)
    moment = now or (datetime.fromisoformat(as_of.replace("Z", "+00:00")) if as_of else None)
    moment = moment or datetime.now(UTC)
    before = (moment - timedelta(days=overdue_days)).date().isoformat()
    by_root: dict[str, dict[str, int]] = {}
    for name, count in _named(totals, "root:"):
        root, _, status = name.rpartition("|")
        by_root.setdefault(part_name(root), {})[part_name(status)] = count
    copies = len(wanted)
    return {
        "objects": totals.get("objects", 0),
        "versions": totals.get("versions", 0),
        "events": totals.get("events", 0),
        "failing": totals.get("failing", 0),
        "failing_by_kind": {
            k: totals[f"failing:{k}"] for k in FAILURE_KINDS if totals.get(f"failing:{k}")
        },
        "by_status": dict(sorted((part_name(name), n) for name, n in _named(totals, "status:"))),
        "by_root": dict(sorted(by_root.items())),
        "by_endpoint": {ep: totals.get(f"endpoint:{term_part(ep)}", 0) for ep in wanted},
        "endpoints": list(wanted),
        "unreplicated": sum(n for c, n in _named(totals, "least_copies:") if int(c) < copies),
        "unreplicated_versions": sum(
            n for c, n in _named(totals, "version_copies:") if int(c) < copies
        ),
        "overdue": {
            "days": overdue_days,
            "before": before,
            "count": sum(
                n for day, n in _named(totals, "fixity_on:") if day < before or day == "never"
            ),
            "never": totals.get("fixity_on:never", 0),
        },
        "failures_by_day": dict(sorted(_named(totals, "failures_on:"))),
        "recent_failures": recent,
        "recent_activity": active,
        "as_of": as_of,
    }


def _named(totals: dict[str, int], prefix: str) -> Iterator[tuple[str, int]]:
    for name, count in totals.items():
        if name.startswith(prefix):
            yield name[len(prefix) :], count


def _endpoints(
    store: EventStore, given: Sequence[str] | None, totals: dict[str, int] | None = None
) -> list[str]:
    """The endpoints every version should be on: those given (configuration), or every
    endpoint any version was replicated to."""
    if given:
        return list(dict.fromkeys(given))
    if totals is None:
        totals = store.projection_totals(object_state.PROJECTION, prefix="endpoint:")
    return sorted(part_name(name) for name, _ in _named(totals, "endpoint:"))


def _time(cursor: str) -> str:
    return cursor.partition("#")[0]


def _scan_tag(scan: _Scan) -> str:
    """What a token belongs to: the index, range and direction its list reads (a token of
    another list would start outside the range, which DynamoDB refuses)."""
    text = f"{scan.index}\x1f{scan.start}\x1f{scan.stop}\x1f{scan.descending}"
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _token(scan: _Scan, entry: IndexEntry) -> str:
    raw = f"{_scan_tag(scan)}\x1f{entry.term}\x1f{entry.key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _token_entry(token: str | None, scan: _Scan) -> IndexEntry | None:
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        tag, term, key = raw.split("\x1f")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise FleetQueryError("after must be the `next` token the previous page gave") from None
    if tag != _scan_tag(scan):
        raise FleetQueryError(
            "after is the token of a list with other filters: start that list again"
        )
    return IndexEntry(term, key)


CSV_HEADER = (
    "druid",
    "status",
    "open_failures",
    "failing_since",
    "last_fixity_at",
    "unreplicated_versions",
    "latest_version",
    "last_event",
)


def csv_rows(objects: Sequence[dict[str, Any]]) -> Iterator[Sequence[Any]]:
    """The objects of a page as CSV rows (several values in a cell joined by spaces)."""
    yield CSV_HEADER
    for item in objects:
        yield (
            item["druid"],
            " ".join(f"{root}={status}" for root, status in item["status"].items()),
            " ".join(
                f"{f['kind']}:{f['result_code'] or f['outcome']}" for f in item["open_failures"]
            ),
            item["failing_since"] or "",
            item["last_fixity_at"] or "",
            " ".join(f"v{gap['version']}" for gap in item["unreplicated"]),
            "" if item["latest_version"] is None else item["latest_version"],
            item["last_event"] or "",
        )
