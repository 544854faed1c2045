"""Deterministic event identity: replays are free, real repeats are kept.

An event id is a UUIDv5 over (source, origin, the entry's head line, the line's occurrence index
among identical lines earlier in the same input, the event's index within the line). So
re-reading a file, or part of it, under any name gives the same ids, while two identical lines
that really happened twice get two ids. The file name is deliberately not part of it.

Imports nothing of the project.
"""

from __future__ import annotations

import hashlib
import uuid

# Fixed forever: changing it would give every stored event a new identity.
NAMESPACE = uuid.UUID("6f1d8a52-3c1e-5b8e-9a57-5f0c2d3e4b61")
_NAMESPACE_BYTES = NAMESPACE.bytes
_SEP = "\x1f"
QUARANTINE_INDEX = -1  # quarantine records never share an id with the events a replay yields


def event_id(source: str, origin: str, line: str, occurrence: int, index: int) -> str:
    """The id of event number `index` of the `occurrence`-th instance of `line`.

    A UUIDv5 (RFC 9562) computed over the line's original bytes: lines holding invalid UTF-8
    arrive decoded with `surrogateescape`, and must hash as the bytes they were.
    """
    name = f"{source}{_SEP}{origin}{_SEP}{line}{_SEP}{occurrence}{_SEP}{index}"
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8", "surrogateescape")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


class OccurrenceCounter:
    """Counts identical lines seen so far in one input.

    Keyed by 64 bits of the line's SHA-1 rather than the line itself: about 70 bytes per
    distinct line instead of the line's size (a collision needs ~4e9 distinct lines to be
    likely, and is deterministic, so ids stay stable across runs). The state is a plain dict
    so a producer can persist it with its file offsets.
    """

    __slots__ = ("seen",)

    def __init__(self, seen: dict[int, int] | None = None) -> None:
        self.seen: dict[int, int] = seen if seen is not None else {}

    def next(self, line: str) -> int:
        """This line's occurrence index (0 the first time), counting it."""
        key = int.from_bytes(
            hashlib.sha1(line.encode("utf-8", "surrogateescape")).digest()[:8], "big"
        )
        seen = self.seen
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        return occurrence
