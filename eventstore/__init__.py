"""A generic append-only event store: records, the interface, SQLite and DynamoDB backends.

Callers use the names below; `open_store` picks the backend from a URL. `SQLiteEventStore` is
imported when first named: the Lambda functions never use it, and sqlite3 costs their cold start.
"""

from typing import TYPE_CHECKING, Any

from eventstore.errors import (
    ConcurrencyError,
    EventStoreError,
    InvalidRecordError,
    InvalidRequestError,
    StoreUnavailableError,
)
from eventstore.records import (
    AppendResult,
    EventRecord,
    ExpireResult,
    IndexEntry,
    ProjectionRow,
    ProjectionWrite,
    time_key,
)
from eventstore.store import EventStore
from eventstore.url import open_store

if TYPE_CHECKING:
    from eventstore.sqlite import SQLiteEventStore

__all__ = [
    "AppendResult",
    "ConcurrencyError",
    "EventRecord",
    "EventStore",
    "EventStoreError",
    "ExpireResult",
    "IndexEntry",
    "InvalidRecordError",
    "InvalidRequestError",
    "ProjectionRow",
    "ProjectionWrite",
    "SQLiteEventStore",
    "StoreUnavailableError",
    "open_store",
    "time_key",
]


def __getattr__(name: str) -> Any:
    if name == "SQLiteEventStore":
        from eventstore.sqlite import SQLiteEventStore  # noqa: PLC0415

        return SQLiteEventStore
    raise AttributeError(f"module 'eventstore' has no attribute {name!r}")
