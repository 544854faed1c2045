"""Deterministic event identity: replays are free, real repeats are kept.

An event id is a UUIDv5 over (source, origin, the entry's head line, the line's occurrence index
among identical lines earlier in the same input, the event's index within the line). So
re-reading a file, or part of it, under any name gives the same ids, while two identical lines
that really happened twice get two ids. The file name is deliberately not part of it.
"""

from __future__ import annotations

import hashlib
import uuid

# Fixed forever: changing it would give every stored event a new identity.
NAMESPACE = uuid.UUID("6f1d8a52-3c1e-5b8e-9a57-5f0c2d3e4b61")
_NAMESPACE_BYTES = NAMESPACE.bytes
_SEP = "\x1f"
_sha1 = hashlib.sha1
# A hex digit with its top two bits set to RFC 9562's variant (binary 10).
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
QUARANTINE_INDEX = -1  # quarantine records never share an id with the events a replay yields


def line_digest(line: str) -> bytes:
    """The SHA-1 of a line's original bytes (lines holding invalid UTF-8 arrive decoded with
    `surrogateescape` and must hash as the bytes they were)."""
    return hashlib.sha1(line.encode("utf-8", "surrogateescape")).digest()


def event_id(source: str, origin: str, digest: bytes, occurrence: int, index: int) -> str:
    """The id of event number `index` of the `occurrence`-th instance of the line whose
    `line_digest` is `digest`: a UUIDv5 (RFC 9562) whose name is the key's parts joined.

    The line enters through its digest so that it is hashed once per line, not once per use.
    """
    name = f"{source}{_SEP}{origin}{_SEP}{digest.hex()}{_SEP}{occurrence}{_SEP}{index}"
    h = _sha1(_NAMESPACE_BYTES + name.encode("utf-8", "surrogateescape")).hexdigest()
    # The first 16 bytes, with RFC 9562's version (5) and variant bits set as uuid.UUID does,
    # written straight from the hex digits: the version is the 13th digit, the variant the top
    # two bits of the 17th (a fifth less time than setting the bits in bytes, then formatting).
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


class OccurrenceCounter:
    """Counts identical lines seen so far in one input.

    Keyed by 8 bytes of the line's digest rather than the line itself: about 80 bytes per
    distinct line instead of the line's size (a collision needs ~4e9 distinct lines to be
    likely, and is deterministic, so ids stay stable across runs). The state is a plain dict
    so a producer can persist it with its file offsets.
    """

    __slots__ = ("seen",)

    def __init__(self, seen: dict[bytes, int] | None = None) -> None:
        self.seen: dict[bytes, int] = seen if seen is not None else {}

    def next(self, digest: bytes) -> int:
        """The occurrence index (0 the first time) of the line with this digest, counting it."""
        key = digest[:8]
        seen = self.seen
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        return occurrence
