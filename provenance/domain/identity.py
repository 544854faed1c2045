"""Deterministic event identity: replays are free, real repeats are kept.

An event id is a UUIDv5 over (source, origin, the entry's head line, the line's occurrence index
among identical lines earlier in the same input, the event's index within the line). So
re-reading a file, or part of it, under any name gives the same ids, while two identical lines
that really happened twice get two ids. The file name is deliberately not part of it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provenance.domain import occurrence_spill

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
    return event_ids(source, origin)(digest, occurrence, index)


EventIdOf = Callable[[bytes, int, int], str]
"""`event_id` of (digest, occurrence, index) for one source and origin (`event_ids`)."""


def event_ids(source: str, origin: str) -> EventIdOf:
    """`event_id` for one source and origin, the parts of the name they fix encoded once: what
    the reader calls for every event. A function rather than an object with `__call__`: half
    the cost of the call."""
    # The namespace and the key's fixed parts; each event's part of the name is appended to
    # it, ASCII (hex digits and numbers): no encoding error handler needed per event.
    prefix = _NAMESPACE_BYTES + f"{source}{_SEP}{origin}{_SEP}".encode("utf-8", "surrogateescape")

    def event_id_of(digest: bytes, occurrence: int, index: int) -> str:
        h = _sha1(prefix + f"{digest.hex()}{_SEP}{occurrence}{_SEP}{index}".encode()).hexdigest()
        # The first 16 bytes, with RFC 9562's version (5) and variant bits set as uuid.UUID
        # does, written straight from the hex digits: the version is the 13th digit, the
        # variant the top two bits of the 17th (a fifth less time than setting the bits in
        # bytes, then formatting).
        return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"

    return event_id_of


# Distinct lines an `OccurrenceCounter` keeps in memory (about 100 bytes each); past it the
# counts move to disk (`occurrence_spill`). Read when a counter is made.
MEMORY_BOUND = 1 << 16


class OccurrenceCounter:
    """Counts identical lines seen so far in one input.

    Keyed by 8 bytes of the line's digest rather than the line itself: about 100 bytes per
    distinct line instead of the line's size (a collision needs ~4e9 distinct lines to be
    likely, and is deterministic, so ids stay stable across runs). `seen` is a plain dict, so
    a producer can seed a counter with the counts it persisted with its file offsets.

    The count of every distinct line must be kept to the end of the input, which is memory
    that grows with it: past `bound` distinct lines in memory, the counts are moved to a
    temporary file (`occurrence_spill.SpilledCounts`) and `seen` starts empty again; a count
    read back from there is kept in `seen` until the next move. Below the bound no file is
    made, and counting costs what a dict does. `items` gives every count; `close` drops the
    file at once (it also goes when the counter is garbage, or the process ends).
    """

    __slots__ = ("bound", "seen", "spilled")

    def __init__(self, seen: dict[bytes, int] | None = None, *, bound: int | None = None) -> None:
        self.seen: dict[bytes, int] = seen if seen is not None else {}
        self.bound = MEMORY_BOUND if bound is None else max(1, bound)
        self.spilled: occurrence_spill.SpilledCounts | None = None

    def next(self, digest: bytes) -> int:
        """The occurrence index (0 the first time) of the line with this digest, counting it."""
        key = digest[:8]
        seen = self.seen
        occurrence = seen.get(key)
        if occurrence is None:
            if len(seen) < self.bound:
                spilled = self.spilled
                occurrence = 0 if spilled is None else spilled.count(key)
            else:
                occurrence = self._earlier(key)
                seen = self.seen
        seen[key] = occurrence + 1
        return occurrence

    def _earlier(self, key: bytes) -> int:
        """The count of a key not in memory: 0, or what was moved to disk. Moves `seen` there
        first when it is full."""
        spilled = self.spilled
        if len(self.seen) >= self.bound:
            if spilled is None:
                # Imported here: only an input past the bound spills, and sqlite3 costs the
                # ingest function's cold start.
                from provenance.domain.occurrence_spill import SpilledCounts  # noqa: PLC0415

                spilled = self.spilled = SpilledCounts(4 * self.bound)
            spilled.write(self.seen)
            # A new dict rather than the old one cleared: a seed the caller gave is not
            # emptied under it.
            self.seen = {}
        return 0 if spilled is None else spilled.count(key)

    def items(self) -> Iterator[tuple[bytes, int]]:
        """Every count: (digest key, how many identical lines were counted)."""
        seen = self.seen
        yield from seen.items()
        if self.spilled is not None:
            for key, count in self.spilled.items():
                if key not in seen:
                    yield key, count

    def close(self) -> None:
        """Drop the counts moved to disk (the counter is not used after)."""
        if self.spilled is not None:
            self.spilled.close()
            self.spilled = None
