"""The store's own errors: one root, so callers never see a backend's exception types."""

from __future__ import annotations


class EventStoreError(Exception):
    """Root of every error the store raises."""


class StoreUnavailableError(EventStoreError):
    """The store cannot be opened or reached (missing file, bad URL, network, permissions)."""


class ConcurrencyError(EventStoreError):
    """A projection row changed since it was read (optimistic concurrency); re-read and retry."""


class InvalidRecordError(EventStoreError):
    """A record the store cannot accept (naive time, empty id, oversized payload, ...)."""


class InvalidRequestError(EventStoreError, ValueError):
    """A call the store cannot answer as asked (a malformed cursor, a negative limit, a naive
    time filter, one projection key written twice in one call); fix the arguments."""
