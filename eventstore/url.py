"""Opening a store by URL (the CLI's `--store`, `PROV_STORE`): the one map from URL to backend.

Imports the backends it opens and `eventstore.errors`; nothing of `provenance` or `premis`.
"""

from __future__ import annotations

import re

from eventstore.errors import StoreUnavailableError
from eventstore.sqlite import SQLiteEventStore
from eventstore.store import EventStore

ACCEPTED_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, a plain file path, "
    "or dynamodb://TABLE?region=R&endpoint_url=URL"
)

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def open_store(url: str, *, create: bool = True) -> EventStore:
    """Open the store `url` names; `create=False` refuses to start a new, empty store.

    As in SQLAlchemy, the path of an `sqlite:` URL is what follows its third slash:
    `sqlite:///events.db` is `events.db` in the working directory and
    `sqlite:////var/lib/prov/events.db` is absolute. A string without a scheme is a file path.
    `sqlite:///:memory:` is a private in-memory store.
    """
    match = _SCHEME.match(url)
    if match is None:
        if not url.strip():
            raise StoreUnavailableError(f"no store given: use {ACCEPTED_FORMS}")
        return SQLiteEventStore(url, create=create)
    scheme, rest = match.group(1).lower(), url[match.end() :]
    if scheme == "sqlite":
        if not rest.startswith("/") or len(rest) == 1:
            raise StoreUnavailableError(
                f"{url!r} names no SQLite file: use sqlite:///relative/path.db "
                "or sqlite:////absolute/path.db"
            )
        return SQLiteEventStore(rest[1:], create=create)
    if scheme == "dynamodb":
        raise StoreUnavailableError("the DynamoDB store is not available in this build yet")
    raise StoreUnavailableError(f"unknown store URL {url!r}: use {ACCEPTED_FORMS}")
