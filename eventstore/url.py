"""Opening a store by URL (the CLI's `--store`, `PROV_STORE`): the one map from URL to backend.

Also the one rule of an endpoint URL requests are sent to (`endpoint_url_problem`): a store
URL's `endpoint_url=` here, and, since `provenance` may import `eventstore` but not the other
way round, `--endpoint-url`, `--api` and the endpoint of every AWS client made in `provenance`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from eventstore.errors import StoreUnavailableError
from eventstore.sqlite_files import MEMORY, STORE_FILE_NAME
from eventstore.store import EventStore

ACCEPTED_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db "
    "or dynamodb://TABLE?region=R&endpoint_url=URL"
)

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# `name:` without `//`: a URL written wrong rather than a path, so no path form is suggested.
_SCHEME_WITHOUT_SLASHES = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


# A DNS name as botocore accepts one (labels of ASCII letters, digits and inner hyphens); ASCII
# only, where botocore's `\d` would take any Unicode digit that no request could then carry.
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def endpoint_url_problem(url: str) -> str | None:
    """What is wrong with `url` as an endpoint to send AWS or API requests to (`--endpoint-url`,
    `--api`, a store URL's `endpoint_url=`), in a few words; None when it can be used.

    The one check of every such URL, made before a client is built: botocore and urllib
    otherwise raise ValueError from deep inside a request for a malformed host or a port out
    of range, or send a request somewhere other than what was typed. Usable means an http(s)
    URL of a host (a DNS name or an IP address), a port from 1 to 65535 if any, and a path;
    nothing else (no user, query or fragment, which an endpoint never has)."""
    if not url.isascii() or not url.isprintable() or any(char.isspace() for char in url):
        return "spaces, control characters or non-ASCII characters in a URL"
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # "Invalid IPv6 URL": a bracket without its pair
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "not an http(s) URL: give one like https://HOST or http://127.0.0.1:PORT"
    if parts.username is not None or parts.query or parts.fragment or "#" in url or "?" in url:
        return "give scheme, host, port and path only: no user, query or fragment"
    # A bracketed host is an IPv6 address, and an IPv6 address is bracketed.
    bracketed = "[" in parts.netloc
    if not hostname or bracketed != (":" in hostname) or not _valid_host(hostname):
        return "no valid host name or IP address in the URL"
    try:
        port = parts.port
    except ValueError:  # not digits, or past 65535
        port = 0
    if port == 0 or parts.netloc.endswith(":"):
        return "the port must be a number from 1 to 65535"
    return None


def check_client_endpoint(endpoint: str) -> None:
    """Raise ValueError when the endpoint a botocore client was made for cannot be used. An
    endpoint given on the command line is checked at the edge; this catches the ones botocore
    takes from AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> or the profile's endpoint_url,
    which it otherwise fails on inside a request (a port out of range is a ValueError there)."""
    problem = endpoint_url_problem(endpoint)
    if problem is not None:
        raise ValueError(
            f"the endpoint {endpoint!r} (AWS_ENDPOINT_URL or the AWS configuration): {problem}"
        )


def _valid_host(host: str) -> bool:
    if ":" in host:  # from between brackets: an IPv6 address (a zone id is not for endpoints)
        try:
            return "%" not in host and isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
        except ValueError:
            return False
    name = host[:-1] if host.endswith(".") else host
    return len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in name.split("."))


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


def open_store(
    url: str, *, create: bool = True, bundled_prefixes: Sequence[str] = ()
) -> EventStore:
    """Open the store `url` names; `create=False` refuses to start a new, empty store.

    `bundled_prefixes`: streams whose records DynamoDB writes in bundles (one compressed item
    per stream, hour and append, deduplicated per stream-hour: `eventstore.dynamodb`'s notes)
    instead of an item and an id guard each. The embedded store ignores it: a record there
    costs little, and its guarantees are the stronger ones.

    As in SQLAlchemy, the path of an `sqlite:` URL is what follows its third slash:
    `sqlite:///events.db` is `events.db` in the working directory and
    `sqlite:////var/lib/prov/events.db` is absolute. `sqlite:///:memory:` is a private
    in-memory store. A string without a scheme is refused, not taken for a file path: a typo
    (`--store garbage`) would otherwise create a new, empty store wherever it was run.
    """
    if check_store_url(url) == "sqlite":
        # Imported here: the Lambda functions open DynamoDB only, and sqlite3 costs them start-up.
        from eventstore.sqlite import SQLiteEventStore  # noqa: PLC0415

        return SQLiteEventStore(_sqlite_path(url, url[len("sqlite://") :]), create=create)
    # Imported here: boto3 costs ~100 ms of start-up the embedded store never needs.
    from eventstore.dynamodb import DynamoDBEventStore  # noqa: PLC0415

    location = dynamodb_location(url)
    return DynamoDBEventStore(
        location["table"] or "",
        region=location["region"],
        endpoint_url=location["endpoint_url"],
        bundled_prefixes=bundled_prefixes,
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
    problem = None if endpoint is None else endpoint_url_problem(endpoint)
    if problem is not None:
        raise StoreUnavailableError(f"{url!r}: endpoint_url {endpoint!r}: {problem}")
    return {"table": table, "region": region, "endpoint_url": endpoint}
