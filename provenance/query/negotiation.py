"""HTTP content negotiation and conditional requests, as the query API answers them: which
offered media type an Accept header prefers (RFC 9110, 12.5.1), whether gzip is acceptable, and
whether an If-None-Match names the current ETag."""

from __future__ import annotations

from collections.abc import Sequence


def qualities(header: str | None) -> list[tuple[str, float]]:
    """An Accept-style header as (lower-cased value, q) pairs; a malformed q counts as 0."""
    pairs: list[tuple[str, float]] = []
    for part in (header or "").split(","):
        value, *params = (item.strip() for item in part.split(";"))
        if not value:
            continue
        q = 1.0
        for param in params:
            key, _, raw = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(raw), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        pairs.append((value.lower(), q))
    return pairs


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offered media type the client prefers (RFC 9110: the most specific matching range
    gives an offer its q), the first offer on a tie or without Accept; None if none is
    acceptable."""
    ranges = qualities(accept)
    if not ranges:
        return offers[0]
    best: tuple[float, int] | None = None
    chosen = None
    for order, offer in enumerate(offers):
        kind = offer.split("/", 1)[0]
        matches = [
            (specificity, q)
            for value, q in ranges
            for specificity, pattern in ((3, offer), (2, f"{kind}/*"), (1, "*/*"))
            if value == pattern
        ]
        if not matches:
            continue
        q = max(matches)[1]
        if q > 0 and (best is None or (q, -order) > best):
            best, chosen = (q, -order), offer
    return chosen


def accepts_gzip(accept_encoding: str | None) -> bool:
    codings = dict(qualities(accept_encoding))
    return codings.get("gzip", codings.get("*", 0.0)) > 0


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    # Weak comparison (RFC 9110, 13.1.2), as If-None-Match asks.
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags
