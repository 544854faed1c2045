"""What the store keeps: tiny, opaque records. The store knows nothing of the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


def time_key(moment: datetime) -> str:
    """The sortable UTC form of an aware datetime, to the microsecond.

    For example `2026-03-01T22:14:05.123456Z`. Lexicographic order of these strings is time
    order, which both backends rely on.
    """
    if moment.utcoffset() is None:
        raise ValueError("event times must be timezone-aware")
    # isoformat, not strftime: glibc's %Y does not pad years before 1000 to four digits, which
    # would break the ordering; isoformat always does, and is faster on this hot path.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored event.

    `stream` is the object the event belongs to (a druid) or another stream name; `payload` is
    opaque bytes (the domain's JSON). `position` is the global append order, set by the store on
    read (None on records not yet stored). `expires_at`, when set, is when the store may delete
    the record (`EventStore.expire`; DynamoDB's TTL): for data a retention policy lets go.
    """

    event_id: str
    stream: str
    type: str
    occurred_at: datetime
    payload: bytes
    position: int | None = None
    expires_at: datetime | None = None

    @property
    def cursor(self) -> str:
        """Opaque paging cursor for `read_stream(after=...)`: this record's place in its stream."""
        return f"{time_key(self.occurred_at)}#{self.event_id}"


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did: ids newly written, and ids that were already stored.

    A backend that knows may also say where the written records went: `positions` (one per
    written id, in order) and `previous`, the newest position before them, given only when no
    other record can lie between it and them. Then `read_all(after_position=previous)` starts
    with exactly these records, and a projector that had applied everything up to `previous`
    can apply them from memory instead of reading them back.
    """

    written: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    positions: list[int] | None = field(default=None, compare=False)
    previous: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ExpireResult:
    """What an `expire` did: how many records it deleted, and the latest `occurred_at` among
    them (None when it deleted nothing), so projections know which past is gone for good."""

    deleted: int = 0
    latest: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProjectionRow:
    """A projection row as stored: the value and the version it was written with (1, 2, ...)."""

    key: str
    value: bytes
    version: int


@dataclass(frozen=True, slots=True)
class ProjectionWrite:
    """One row to write: `expected_version` is the version read (0 when the row did not exist).
    A `value` of None deletes the row (after the same version check).

    `expires_at`, when set, is when the store may delete the row by itself: bookkeeping rows
    that are useless after a while (applied-markers). A backend with `expires_projection_rows`
    deletes it some time after that (never before); the others keep it until it is deleted.
    Each write sets the expiry anew: a rewrite without one keeps the row until deleted.

    A projection may keep **indexes** of its rows and **totals** over them, written in the same
    atomic call as the rows (what fleet-wide lists and counts are answered from, with no scan):
    `index_add`/`index_drop` are the (index, term) entries this row gains and loses (the writer
    knows them: it read the row it changes), `totals` what to add to the projection's totals
    (name, delta). The store keeps no memory of a row's entries besides the entries: a writer
    that deletes a row drops its entries itself."""

    key: str
    value: bytes | None
    expected_version: int
    expires_at: datetime | None = None
    index_add: frozenset[tuple[str, str]] = frozenset()
    index_drop: frozenset[tuple[str, str]] = frozenset()
    totals: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class IndexEntry:
    """One entry of a projection's index (`EventStore.read_index`): row `key` under `term`,
    ordered as the index is (term, then key)."""

    term: str
    key: str
