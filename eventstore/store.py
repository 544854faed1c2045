"""The event store interface: append-only events, per-stream and global reads, projection rows.

Imports only `eventstore.records` and `eventstore.errors`. Backends implement `EventStore`;
every backend must pass `tests/eventstore/contract.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType

from eventstore.records import AppendResult, EventRecord, ProjectionRow, ProjectionWrite


class EventStore(ABC):
    """An append-only event store.

    Guarantees every backend gives (the contract suite pins each one):
    - `append` is idempotent on `event_id`: a record whose id is stored already is reported as a
      duplicate and changes nothing, also when two writers race; nothing is lost or shown twice.
    - `read_stream` returns one stream's records in (`occurred_at`, `event_id`) order, or the
      reverse, starting strictly after the `after` cursor, and exactly `limit` records when that
      many remain.
    - `read_all` returns every record once, in increasing `position` (append order).
    - projection rows are written with optimistic concurrency, all rows of one call atomically.
    """

    @abstractmethod
    def append(self, records: Sequence[EventRecord]) -> AppendResult:
        """Store records not stored yet; report the others as duplicates."""

    @abstractmethod
    def read_stream(
        self,
        stream: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[EventRecord]:
        """One stream's records in time order (ties by id); `after` is a record's `cursor`."""

    @abstractmethod
    def read_all(
        self,
        *,
        types: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_position: int | None = None,
    ) -> Iterator[EventRecord]:
        """The global feed in append order; `since` inclusive, `until` exclusive, by occurred_at."""

    @abstractmethod
    def streams(self, *, prefix: str = "") -> Iterator[str]:
        """Names of the streams that hold at least one record, sorted."""

    @abstractmethod
    def get_projection(self, projection: str, key: str) -> ProjectionRow | None:
        """One projection row, or None."""

    @abstractmethod
    def read_projection(self, projection: str) -> Iterator[ProjectionRow]:
        """Every row of a projection, sorted by key."""

    @abstractmethod
    def write_projection(self, projection: str, writes: Sequence[ProjectionWrite]) -> None:
        """Write rows atomically; raise ConcurrencyError (writing nothing) if any row's version
        is not its `expected_version`. Each written row's version becomes expected_version + 1."""

    @abstractmethod
    def clear_projection(self, projection: str) -> None:
        """Delete every row of a projection (before a rebuild)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
