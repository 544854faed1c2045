"""Opening a store by URL (the CLI's `--store`, `PROV_STORE`): the one map from URL to backend.

Imports the backends it opens and `eventstore.errors`; nothing of `provenance` or `premis`.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs

from eventstore.errors import StoreUnavailableError
from eventstore.sqlite import MEMORY, STORE_FILE_NAME, SQLiteEventStore
from eventstore.store import EventStore

ACCEPTED_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db "
    "or dynamodb://TABLE?region=R&endpoint_url=URL"
)

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# `name:` without `//`: a URL written wrong rather than a path, so no path form is suggested.
_SCHEME_WITHOUT_SLASHES = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def check_store_url(url: str) -> str:
    """The backend `url` names (`sqlite` or `dynamodb`), or a `StoreUnavailableError` saying
    what is wrong with it and what the accepted forms are. Opens and creates nothing: the CLI
    checks `--store` with it before doing any work."""
    match = _SCHEME.match(url)
    if match is None:
        raise StoreUnavailableError(_not_a_url(url))
    scheme = match.group(1).lower()
    if scheme == "sqlite":
        _sqlite_path(url, url[match.end() :])
    elif scheme == "dynamodb":
        dynamodb_location(url)
    else:
        raise StoreUnavailableError(f"unknown store URL {url!r}: use {ACCEPTED_FORMS}")
    return scheme


def open_store(url: str, *, create: bool = True) -> EventStore:
    """Open the store `url` names; `create=False` refuses to start a new, empty store.

    As in SQLAlchemy, the path of an `sqlite:` URL is what follows its third slash:
    `sqlite:///events.db` is `events.db` in the working directory and
    `sqlite:////var/lib/prov/events.db` is absolute. `sqlite:///:memory:` is a private
    in-memory store. A string without a scheme is refused, not taken for a file path: a typo
    (`--store garbage`) would otherwise create a new, empty store wherever it was run.
    """
    if check_store_url(url) == "sqlite":
        return SQLiteEventStore(_sqlite_path(url, url[len("sqlite://") :]), create=create)
    # Imported here: boto3 costs ~100 ms of start-up the embedded store never needs.
    from eventstore.dynamodb import DynamoDBEventStore  # noqa: PLC0415

    location = dynamodb_location(url)
    return DynamoDBEventStore(
        location["table"] or "",
        region=location["region"],
        endpoint_url=location["endpoint_url"],
    )


def sqlite_file(url: str) -> str | None:
    """The file an `sqlite:` URL names, or None for another backend or an in-memory store."""
    if check_store_url(url) != "sqlite":
        return None
    path = _sqlite_path(url, url[len("sqlite://") :])
    return None if path == MEMORY else path


def _sqlite_path(url: str, rest: str) -> str:
    """The file path of an `sqlite:` URL, given what follows its `sqlite://`."""
    if not rest.startswith("/") or len(rest) == 1:
        raise StoreUnavailableError(
            f"{url!r} names no SQLite file: use sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db"
        )
    return rest[1:]


def _not_a_url(url: str) -> str:
    """Why `url`, which has no scheme, is refused, with the URL of the file it may have meant."""
    if not url.strip():
        return f"no store given: use {ACCEPTED_FORMS}"
    if _SCHEME_WITHOUT_SLASHES.match(url):
        return f"{url!r} is not a store URL: use {ACCEPTED_FORMS}"
    # sqlite:/// + a relative path stays relative; + /an/absolute/path makes the four slashes.
    if os.path.isdir(url):
        # The URL of the folder itself would be refused next ("it is a directory"): suggest
        # the store file inside it, the name `prov demo` and the examples use.
        return (
            f"{url!r} is not a store URL (a store URL needs a scheme): it is a directory; for "
            f"a store in it, give sqlite:///{os.path.join(url, STORE_FILE_NAME)}; the forms "
            f"are {ACCEPTED_FORMS}"
        )
    return (
        f"{url!r} is not a store URL (a store URL needs a scheme): for an SQLite file there, "
        f"give sqlite:///{url}; the forms are {ACCEPTED_FORMS}"
    )


def init_store(url: str) -> str:
    """Create the store `url` names unless it exists (a file, or a table with its index,
    stream and TTL); return what was done, for people."""
    if check_store_url(url) == "dynamodb":
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
