"""The event store interface: append-only events, per-stream and global reads, projection rows.

Also the argument checks every backend runs (`check_record`, `parse_cursor`, ...), so that all
backends accept and refuse exactly the same things.

Backends implement `EventStore`; every backend must pass `tests/eventstore/contract.py`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType

from eventstore.errors import ConcurrencyError, InvalidRecordError, InvalidRequestError
from eventstore.records import (
    AppendResult,
    EventRecord,
    ExpireResult,
    IndexEntry,
    ProjectionRow,
    ProjectionWrite,
    time_key,
)

MAX_PAYLOAD_BYTES = 256 * 1024
"""Largest event payload or projection value any backend accepts. A DynamoDB item holds at most
400 KB with its keys; the embedded store refuses the same sizes so nothing that works locally
fails in AWS."""

MAX_LIMIT = 2**31 - 1
"""Largest `limit` a read takes: DynamoDB's Query `Limit` is a 32-bit integer (SQLite's LIMIT
would take 64 bits), so both backends take this one."""

MAX_NAME_BYTES = 512
"""Longest event id, stream, type, projection name or projection key, in UTF-8 bytes (DynamoDB
limits key attributes: 2,048 bytes for a partition key, 1,024 for a sort key of time + id)."""


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
    - the only deletion of records is `expire`: records whose `expires_at` has passed, nothing
      else. Projection rows go when deleted or cleared, or, on a backend with
      `expires_projection_rows`, some time after an `expires_at` they were written with.
    """

    projected_by_stream: bool = False
    """True when the backend's own change stream keeps projections current (DynamoDB Streams
    feeding the projector handler). Callers then never catch projections up from `read_all`,
    which would apply the same events a second time."""

    expires_projection_rows: bool = False
    """True when the backend deletes projection rows written with an `expires_at` by itself
    once it has passed (DynamoDB's TTL, in the background, for free). Otherwise such rows stay
    until deleted, and whoever writes them deletes them when due (`Projector.prune_markers`)."""

    max_atomic_writes: int | None = None
    """How many rows one `write_projection` call writes atomically (None: any number). Above
    it a backend checks every version first and then writes in atomic groups, so a conflict
    that arises in between can leave earlier groups written; callers that need all-or-nothing
    keep their writes within it."""

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
    def expire(self, now: datetime, *, through_position: int | None = None) -> ExpireResult:
        """Delete the records whose `expires_at` is at or before `now` (retention); with
        `through_position`, only those at or before that position (the ones a projection has
        already counted)."""

    @abstractmethod
    def streams(self, *, prefix: str = "") -> Iterator[str]:
        """Names of the streams that hold at least one record, sorted."""

    @abstractmethod
    def get_projection(self, projection: str, key: str) -> ProjectionRow | None:
        """One projection row, or None."""

    @abstractmethod
    def get_projections(self, projection: str, keys: Iterable[str]) -> dict[str, ProjectionRow]:
        """The rows of these keys that exist, by key (one round trip per few hundred keys)."""

    @abstractmethod
    def read_projection(
        self, projection: str, *, start: str | None = None, stop: str | None = None
    ) -> Iterator[ProjectionRow]:
        """The rows of a projection sorted by key: all, or those with `start <= key < stop`."""

    @abstractmethod
    def write_projection(self, projection: str, writes: Sequence[ProjectionWrite]) -> None:
        """Write rows atomically; raise ConcurrencyError (writing nothing) if any row's version
        is not its `expected_version`. Each written row's version becomes expected_version + 1;
        a write whose value is None deletes its row instead (its version starts again at 0).
        A write's `expires_at` lets a backend with `expires_projection_rows` delete the row
        once it has passed."""

    @abstractmethod
    def read_index(
        self,
        projection: str,
        index: str,
        *,
        start: str | None = None,
        stop: str | None = None,
        after: IndexEntry | None = None,
        limit: int,
        descending: bool = False,
    ) -> list[IndexEntry]:
        """Up to `limit` entries of one of a projection's indexes (see `ProjectionWrite`), in
        (term, key) order or its reverse: those with `start <= term < stop`, strictly after
        `after` in the order asked for (the last entry of the previous page)."""

    @abstractmethod
    def projection_totals(self, projection: str, *, prefix: str = "") -> dict[str, int]:
        """The projection's totals: the sum of every `totals` delta written, by name; names
        whose sum is 0 are left out. With `prefix`, only the names that start with it (what
        a caller needs of many)."""

    @abstractmethod
    def put_projection(self, projection: str, rows: Mapping[str, bytes | None]) -> None:
        """Write rows whatever they held, without comparing versions; each row's version
        becomes 1; a value of None deletes its row (if there is one). Not atomic across rows:
        for rows that are written once and whose value is fixed by their key (a repeated put
        writes the same bytes), which need no read before their write and no transaction (on
        DynamoDB, half the write units)."""

    @abstractmethod
    def clear_projection(self, projection: str) -> None:
        """Delete every row of a projection, its index entries and its totals (before a
        rebuild)."""

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


def check_record(record: EventRecord) -> str:
    """Check a record before `append` and return its `time_key`; raise InvalidRecordError."""
    event_id, stream, type_, payload = record.event_id, record.stream, record.type, record.payload
    # Fast path for the usual record (ASCII names, one byte per character, and a small payload):
    # this runs once per appended record, so the full checks run only when it fails.
    if not (
        type(event_id) is str
        and type(stream) is str
        and type(type_) is str
        and type(payload) is bytes
        and 0 < len(event_id) <= MAX_NAME_BYTES
        and 0 < len(stream) <= MAX_NAME_BYTES
        and 0 < len(type_) <= MAX_NAME_BYTES
        and len(payload) <= MAX_PAYLOAD_BYTES
        and event_id.isascii()
        and stream.isascii()
        and type_.isascii()
    ):
        for what, value in (("event_id", event_id), ("stream", stream), ("type", type_)):
            problem = _name_problem(what, value)
            if problem:
                raise InvalidRecordError(f"event {event_id!r}: {problem}")
        problem = _blob_problem("payload", payload)
        if problem:
            raise InvalidRecordError(f"event {event_id!r}: {problem}")
    expires_at = record.expires_at
    if expires_at is not None:
        try:
            time_key(expires_at)
        except (AttributeError, ValueError, OverflowError) as exc:
            raise InvalidRecordError(
                f"event {event_id!r}: expires_at must be None or a timezone-aware datetime "
                f"within the years 1-9999 in UTC, got {expires_at!r}"
            ) from exc
    try:
        return time_key(record.occurred_at)
    except (AttributeError, ValueError, OverflowError) as exc:
        raise InvalidRecordError(
            f"event {event_id!r}: occurred_at must be a timezone-aware datetime "
            f"within the years 1-9999 in UTC, got {record.occurred_at!r}"
        ) from exc


def check_projection_writes(projection: str, writes: Sequence[ProjectionWrite]) -> None:
    """Check the arguments of `write_projection`: names, values, versions, no key twice."""
    problem = _name_problem("projection", projection)
    if problem:
        raise InvalidRecordError(problem)
    seen: set[str] = set()
    for write in writes:
        problem = _name_problem("projection key", write.key) or (
            None if write.value is None else _blob_problem("projection value", write.value)
        )
        if problem:
            raise InvalidRecordError(f"projection {projection!r}: {problem}")
        version = write.expected_version
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise InvalidRecordError(
                f"projection {projection!r}, key {write.key!r}: expected_version must be an "
                f"integer >= 0 (0 = the row must not exist yet), got {version!r}"
            )
        _check_row_expiry(projection, write)
        _check_row_index(projection, write)
        if write.key in seen:
            raise InvalidRequestError(
                f"projection {projection!r}: key {write.key!r} is written twice in one call; "
                "merge the writes"
            )
        seen.add(write.key)


def summed_totals(writes: Sequence[ProjectionWrite]) -> dict[str, int]:
    """What the writes add to each total, those that add nothing left out (every backend
    adds these to its totals in the writes' atomic call)."""
    deltas: dict[str, int] = {}
    for write in writes:
        for name, delta in write.totals:
            deltas[name] = deltas.get(name, 0) + delta
    return {name: delta for name, delta in deltas.items() if delta}


def _check_row_index(projection: str, write: ProjectionWrite) -> None:
    where = f"projection {projection!r}, key {write.key!r}"
    for index, term in write.index_add | write.index_drop:
        problem = index_name_problem(index) or term_problem(term)
        if problem:
            raise InvalidRecordError(f"{where}: {problem}")
    if write.index_add & write.index_drop:
        raise InvalidRecordError(f"{where}: an index entry is both added and dropped")
    for name, delta in write.totals:
        problem = _name_problem("total's name", name)
        if problem or not isinstance(delta, int) or isinstance(delta, bool):
            raise InvalidRecordError(
                f"{where}: {problem or f'the delta of total {name!r} must be an integer'}"
            )


def index_name_problem(index: object) -> str | None:
    problem = _name_problem("index name", index)
    if problem is None and isinstance(index, str) and "#" in index:
        return f"index name {index!r} has a '#', which separates names in keys"
    return problem


def term_problem(term: object) -> str | None:
    """Terms are text without control characters: a backend may append a control character
    and the row's key to a term and sort on that (DynamoDB's sort keys)."""
    if not isinstance(term, str):
        return f"an index term must be a string, got {term!r}"
    if any(char < " " for char in term):
        return f"index term {term!r} has a control character"
    if len(term.encode(errors="replace")) > MAX_NAME_BYTES:
        return f"an index term is at most {MAX_NAME_BYTES} bytes long"
    return None


def check_index_query(
    projection: str, index: str, start: str | None, stop: str | None, limit: int
) -> None:
    """Check the arguments of `read_index`; raise InvalidRequestError."""
    problem = _name_problem("projection", projection) or index_name_problem(index)
    for name, bound in (("start", start), ("stop", stop)):
        if bound is not None:
            # Bounds are terms too: a backend compares them with terms that have a key
            # appended after a control character.
            found = term_problem(bound)
            problem = problem or (f"{name}: {found}" if found else None)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= MAX_LIMIT:
        problem = problem or f"limit must be an integer from 0 to {MAX_LIMIT:,}, got {limit!r}"
    if problem:
        raise InvalidRequestError(problem)


def _check_row_expiry(projection: str, write: ProjectionWrite) -> None:
    expires = write.expires_at
    if expires is None:
        return
    where = f"projection {projection!r}, key {write.key!r}"
    if write.value is None:
        raise InvalidRecordError(
            f"{where}: a delete (value None) takes no expires_at; it is for rows written"
        )
    try:
        time_key(expires)
    except (AttributeError, ValueError, OverflowError) as exc:
        raise InvalidRecordError(
            f"{where}: expires_at must be None or a timezone-aware datetime within the years "
            f"1-9999 in UTC, got {expires!r}"
        ) from exc


_CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)#(.+)\Z", re.DOTALL)


def parse_cursor(cursor: str) -> tuple[str, str]:
    """Split a record's `cursor` into (time_key, event_id); InvalidRequestError if it is not one."""
    match = _CURSOR.match(cursor) if isinstance(cursor, str) else None
    if match is None:
        raise InvalidRequestError(
            f"{cursor!r} is not a paging cursor: pass the `cursor` of the last record "
            "of the previous page (<time_key>#<event_id>)"
        )
    return match.group(1), match.group(2)


def check_after_position(after_position: int | None) -> None:
    """`after_position` of `read_all` is None or an integer >= 0; raise InvalidRequestError
    otherwise."""
    if after_position is not None and (
        not isinstance(after_position, int)
        or isinstance(after_position, bool)
        or after_position < 0
    ):
        raise InvalidRequestError(
            f"after_position must be None or an integer >= 0, got {after_position!r}"
        )


def check_limit(limit: int | None) -> None:
    """`limit` is None (no limit) or an integer from 0 to MAX_LIMIT; raise InvalidRequestError
    otherwise."""
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= MAX_LIMIT
    ):
        raise InvalidRequestError(
            f"limit must be None or an integer from 0 to {MAX_LIMIT:,}, got {limit!r}"
        )


def bound_key(name: str, moment: datetime | None) -> str | None:
    """The `time_key` of a `since`/`until` bound (None stays None); InvalidRequestError if naive."""
    if moment is None:
        return None
    try:
        return time_key(moment)
    except (AttributeError, ValueError, OverflowError) as exc:
        raise InvalidRequestError(
            f"{name} must be a timezone-aware datetime, got {moment!r}"
        ) from exc


def _name_problem(what: str, value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{what} must be a non-empty string, got {value!r}"
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        return f"{what} {value!r} is not valid Unicode text"
    if size > MAX_NAME_BYTES:
        return f"{what} is {size} bytes long; at most {MAX_NAME_BYTES} are allowed"
    return None


def _blob_problem(what: str, value: object) -> str | None:
    if not isinstance(value, bytes):
        return f"{what} must be bytes, got {type(value).__name__}"
    if len(value) > MAX_PAYLOAD_BYTES:
        return f"{what} is {len(value)} bytes long; at most {MAX_PAYLOAD_BYTES} are allowed"
    return None


def conflict_error(
    projection: str, stale: Sequence[ProjectionWrite], current: dict[str, int]
) -> ConcurrencyError:
    """The error for a projection write whose rows changed since they were read: names the
    first few rows with the versions expected and found."""
    shown = ", ".join(
        f"{w.key!r} (expected version {w.expected_version}, found {current.get(w.key, 0)})"
        for w in stale[:3]
    )
    more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
    return ConcurrencyError(
        f"projection {projection!r} changed since it was read: {shown}{more}; "
        "nothing was written, re-read and retry"
    )
