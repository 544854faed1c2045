"""Opening a store by URL (the CLI's `--store`, `PROV_STORE`): the one map from URL to backend.

Imports the backends it opens and `eventstore.errors`; nothing of `provenance` or `premis`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

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
        # Imported here: boto3 costs ~100 ms of start-up the embedded store never needs.
        from eventstore.dynamodb import DynamoDBEventStore  # noqa: PLC0415

        location = dynamodb_location(url)
        return DynamoDBEventStore(
            location["table"] or "",
            region=location["region"],
            endpoint_url=location["endpoint_url"],
        )
    raise StoreUnavailableError(f"unknown store URL {url!r}: use {ACCEPTED_FORMS}")


def init_store(url: str) -> str:
    """Create the store `url` names unless it exists (a file, or a table with its index,
    stream and TTL); return what was done, for people."""
    if _SCHEME.match(url) and url.lower().startswith("dynamodb://"):
        from eventstore.dynamodb import create_table  # noqa: PLC0415

        location = dynamodb_location(url)
        created = create_table(
            location["table"] or "",
            region=location["region"],
            endpoint_url=location["endpoint_url"],
        )
        return f"{'created' if created else 'found'} table {location['table']}"
    with open_store(url, create=True):
        return "store ready"


def dynamodb_location(url: str) -> dict[str, str | None]:
    """The table, region and endpoint of a `dynamodb://TABLE?region=R&endpoint_url=URL` URL."""
    rest = url[len("dynamodb://") :]
    table, _, query = rest.partition("?")
    table = table.rstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,255}", table):
        raise StoreUnavailableError(
            f"{url!r} names no valid DynamoDB table: use dynamodb://TABLE?region=R"
            "&endpoint_url=URL (3-255 letters, digits, '_', '-' or '.')"
        )
    try:
        options = parse_qs(query, keep_blank_values=False, strict_parsing=bool(query))
    except ValueError as exc:
        raise StoreUnavailableError(f"{url!r}: malformed query string ({exc})") from exc
    unknown = sorted(set(options) - {"region", "endpoint_url"})
    if unknown:
        raise StoreUnavailableError(
            f"{url!r}: unknown option(s) {', '.join(unknown)}; use region and endpoint_url"
        )
    region = options.get("region", [None])[-1]
    endpoint = options.get("endpoint_url", [None])[-1]
    return {"table": table, "region": region, "endpoint_url": endpoint}
