"""A generic append-only event store: records, the interface, SQLite and DynamoDB backends.

Callers use the names below; `open_store` picks the backend from a URL.
"""

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
    ProjectionRow,
    ProjectionWrite,
    time_key,
)
from eventstore.sqlite import SQLiteEventStore
from eventstore.store import EventStore
from eventstore.url import open_store

__all__ = [
    "AppendResult",
    "ConcurrencyError",
    "EventRecord",
    "EventStore",
    "EventStoreError",
    "ExpireResult",
    "InvalidRecordError",
    "InvalidRequestError",
    "ProjectionRow",
    "ProjectionWrite",
    "SQLiteEventStore",
    "StoreUnavailableError",
    "open_store",
    "time_key",
]
