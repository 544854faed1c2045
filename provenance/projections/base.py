"""What every projection shares: following the store's global feed into rows, exactly once.

A projection keeps a checkpoint row (`$checkpoint`: the feed position it has applied through)
next to its rows. Each chunk of touched rows and the new checkpoint are written in one atomic
call with optimistic concurrency, so two processes catching up at once never apply an event
twice: the loser's write fails as a whole, and it starts again from the stored checkpoint.

A rebuild may have to leave part of the past alone (access counts whose events have expired).
It then stores a `floor` in the checkpoint: while replaying up to `replay_through`, events
that happened before the floor are skipped. Any process catching up honours it, so a
concurrent ingest cannot count those events twice.

Imports `eventstore` only. Rows are stored JSON; pydantic-core's parser is used for speed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic_core import from_json, to_json

from eventstore import ConcurrencyError, EventRecord, EventStore, ProjectionWrite, time_key

CHECKPOINT = "$checkpoint"
CHUNK = 50_000
_RETRIES = 50

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a projection has applied the feed, and the floor of a rebuild in progress."""

    position: int = 0
    replay_through: int = 0
    floor: str | None = None  # a time_key: events before it are not replayed

    def dumps(self) -> bytes:
        if self.floor is None:
            return str(self.position).encode()
        return to_json(
            {"position": self.position, "replay_through": self.replay_through, "floor": self.floor}
        )

    @classmethod
    def loads(cls, value: bytes) -> Checkpoint:
        if value.isdigit():
            return cls(int(value))
        data = from_json(value)
        return cls(data["position"], data["replay_through"], data["floor"])

    def skips(self, record: EventRecord, time_key: str) -> bool:
        return (
            self.floor is not None
            and (record.position or 0) <= self.replay_through
            and time_key < self.floor
        )


class Projector(ABC):
    """Follows the store's feed into the rows of one projection.

    Subclasses say which events they read (`TYPES`), which row an event lands in (`row_key`)
    and how it changes that row (`new_row`, `apply`). `apply` must not depend on the order
    events arrive in, so that a rebuild gives exactly what incremental updates gave.

    A long-lived projector (one per ingest run) keeps the rows it wrote, with their versions,
    so the next catch-up does not read them back. That is safe because every write carries
    the checkpoint row's version too: if anyone else wrote the projection in between, the
    write fails as a whole, the cache is dropped, and the catch-up starts again.
    """

    NAME: ClassVar[str]
    TYPES: ClassVar[frozenset[str]]
    MAX_CACHED: ClassVar[int] = 50_000

    def __init__(self, store: EventStore, *, chunk: int = CHUNK) -> None:
        self.store = store
        self.chunk = chunk
        self._rows: dict[str, tuple[Row, int]] = {}
        self._checkpoint: tuple[Checkpoint, int] | None = None

    @abstractmethod
    def row_key(self, record: EventRecord, event: dict[str, Any]) -> str | None:
        """The key of the row this event changes, or None to pass it by."""

    @abstractmethod
    def new_row(self, key: str, record: EventRecord, event: dict[str, Any]) -> Row:
        """An empty row for `key`, before its first event is applied."""

    @abstractmethod
    def apply(self, row: Row, record: EventRecord, event: dict[str, Any]) -> None:
        """Fold one event into its row (order-independent)."""

    def get(self, key: str) -> Row | None:
        row = self.store.get_projection(self.NAME, key)
        return from_json(row.value) if row is not None else None

    def catch_up(self) -> int:
        """Apply every event appended since the checkpoint; return how many were read."""
        for _attempt in range(_RETRIES):
            try:
                return self._catch_up_once()
            except ConcurrencyError:
                # Another writer advanced the projection first: start again from its checkpoint.
                self.forget()
        raise ConcurrencyError(f"projection {self.NAME} kept changing under {_RETRIES} retries")

    def forget(self) -> None:
        """Drop what this projector remembers of the stored rows (they changed elsewhere)."""
        self._rows.clear()
        self._checkpoint = None

    def stored_checkpoint(self) -> tuple[Checkpoint, int]:
        row = self.store.get_projection(self.NAME, CHECKPOINT)
        return (Checkpoint.loads(row.value), row.version) if row else (Checkpoint(), 0)

    def _row(self, key: str, record: EventRecord, event: dict[str, Any]) -> tuple[Row, int]:
        cached = self._rows.pop(key, None)
        if cached is not None:
            return cached
        row = self.store.get_projection(self.NAME, key)
        return (from_json(row.value), row.version) if row else (self.new_row(key, record, event), 0)

    def _catch_up_once(self) -> int:
        applied = 0
        types = self.TYPES
        while True:
            checkpoint, checkpoint_version = self._checkpoint or self.stored_checkpoint()
            touched: dict[str, tuple[Row, int]] = {}
            last = checkpoint.position
            count = 0
            for record in self.store.read_all(after_position=checkpoint.position):
                last = record.position or last
                count += 1
                if record.type in types and not (
                    checkpoint.floor is not None
                    and checkpoint.skips(record, time_key(record.occurred_at))
                ):
                    event = from_json(record.payload)
                    key = self.row_key(record, event)
                    if key is not None:
                        entry = touched.get(key)
                        if entry is None:
                            entry = touched[key] = self._row(key, record, event)
                        self.apply(entry[0], record, event)
                if count >= self.chunk:
                    break
            if count == 0:
                return applied
            writes = [
                ProjectionWrite(key, to_json(row), version)
                for key, (row, version) in touched.items()
            ]
            done = _advance(checkpoint, last)
            writes.append(ProjectionWrite(CHECKPOINT, done.dumps(), checkpoint_version))
            self.store.write_projection(self.NAME, writes)
            if len(self._rows) + len(touched) > self.MAX_CACHED:
                self._rows.clear()
            for key, (row, version) in touched.items():
                self._rows[key] = (row, version + 1)
            self._checkpoint = (done, checkpoint_version + 1)
            applied += count
            if count < self.chunk:
                return applied


def _advance(checkpoint: Checkpoint, position: int) -> Checkpoint:
    if checkpoint.floor is not None and position < checkpoint.replay_through:
        return Checkpoint(position, checkpoint.replay_through, checkpoint.floor)
    return Checkpoint(position)
