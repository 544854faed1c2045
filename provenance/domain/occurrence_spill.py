"""The part of an occurrence counter moved out of memory (`identity.OccurrenceCounter`).

An input of 10M distinct lines would need a dict of 10M digests (about 1 GB) for the whole
input. Past its bound the counter moves its counts here: a private temporary SQLite database
(an empty file name: SQLite makes it in the temporary directory and unlinks it at once, so it
is gone when the connection closes or the process dies, whatever ends it), keyed by the 8-byte
digest read as a signed 64-bit integer (the table's own row id, the most compact key SQLite
has), with a Bloom filter over the digests written. A line whose digest the filter has never
seen, nearly every new line of a log, costs no lookup; a false positive costs one lookup that
finds nothing, never a wrong count.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from operator import itemgetter

# Bits of the filter per digest it is sized for, and two positions per digest: about one false
# positive in 70 new lines at full capacity (a lookup each; the filter is resized by doubling,
# so it is at most full). Past `_MAX_BITS` (4 MiB, full at 2M digests) it stops growing: memory
# stays flat and the false positives, lookups that find nothing, grow instead (one new line in
# twenty at 4M digests, one in five at 10M, eight in ten at 40M).
_BITS_PER_DIGEST = 16
_MAX_BITS = 1 << 25
_signed = partial(int.from_bytes, byteorder="big", signed=True)
_first = itemgetter(0)


def digest_number(key: bytes) -> int:
    """The 8-byte digest key as SQLite stores it: a signed 64-bit integer."""
    return _signed(key)


def digest_key(number: int) -> bytes:
    return number.to_bytes(8, "big", signed=True)


class DigestFilter:
    """A Bloom filter of 8-byte digests. They are SHA-1 bits already, so the two positions of a
    digest are its own two 32-bit halves (masked to the filter's size), not hashes of it: two
    positions rather than more keep a test to a few operations (it is made for every new line
    once the counter has moved counts out), at twice the bits a digest."""

    __slots__ = ("bits", "capacity", "mask")

    def __init__(self, capacity: int) -> None:
        size = 64
        while size < capacity * _BITS_PER_DIGEST and size < _MAX_BITS:
            size *= 2
        # Digests it holds before it is full (`SpilledCounts` grows it then), none once the
        # filter has its largest size.
        self.capacity = capacity if size < _MAX_BITS else 1 << 62
        self.mask = size - 1
        self.bits = bytearray(size // 8)

    def add(self, number: int) -> None:
        self.add_all((number,))

    def add_all(self, numbers: Iterable[int]) -> None:
        bits, mask = self.bits, self.mask
        for number in numbers:
            position = number & mask
            bits[position >> 3] |= 1 << (position & 7)
            position = (number >> 32) & mask
            bits[position >> 3] |= 1 << (position & 7)

    def __contains__(self, number: int) -> bool:
        bits, mask = self.bits, self.mask
        position = number & mask
        if not bits[position >> 3] >> (position & 7) & 1:
            return False
        position = (number >> 32) & mask
        return bool(bits[position >> 3] >> (position & 7) & 1)


class SpilledCounts:
    """Occurrence counts by digest key, on disk, with a filter that answers "never written"
    without reading it. `write` replaces the counts of the keys it is given."""

    __slots__ = ("_db", "_filter", "_written")

    def __init__(self, capacity: int) -> None:
        # A private temporary database (""): only this connection sees it, no journal is
        # needed (a failed write ends the ingest that owns it).
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE counts (digest INTEGER PRIMARY KEY, count INTEGER)")
        self._filter = DigestFilter(capacity)
        # Keys written, at most (a key written again is counted again): sizes the filter.
        self._written = 0

    def write(self, counts: Mapping[bytes, int]) -> None:
        """Store `counts` (key -> count), each replacing what the key had."""
        if self._written + len(counts) > self._filter.capacity:
            self._grow(self._written + len(counts))
        # Each row made in C (`map`, `zip`: no Python frame per key), in key order: the inserts
        # walk the table's pages once, in order.
        numbers = list(map(_signed, counts))
        self._filter.add_all(numbers)
        rows = sorted(zip(numbers, counts.values(), strict=True), key=_first)
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO counts VALUES (?, ?)", rows)
        self._written += len(counts)

    def count(self, key: bytes) -> int:
        """The count stored for `key`, 0 if none."""
        # `key in self._filter`, written out: asked for nearly every new line.
        number = _signed(key)
        bloom = self._filter
        bits, mask = bloom.bits, bloom.mask
        position = number & mask
        if not bits[position >> 3] >> (position & 7) & 1:
            return 0
        position = (number >> 32) & mask
        if not bits[position >> 3] >> (position & 7) & 1:
            return 0
        row = self._db.execute("SELECT count FROM counts WHERE digest = ?", (number,)).fetchone()
        return 0 if row is None else int(row[0])

    def items(self) -> Iterator[tuple[bytes, int]]:
        for number, count in self._db.execute("SELECT digest, count FROM counts"):
            yield digest_key(number), count

    def close(self) -> None:
        """Drop the counts (SQLite deletes the file)."""
        self._db.close()

    def _grow(self, needed: int) -> None:
        """A filter twice as large (or more, up to its largest) for the keys written and to
        come."""
        capacity = self._filter.capacity
        while capacity < needed:
            capacity *= 2
        grown = DigestFilter(capacity)
        grown.add_all(number for (number,) in self._db.execute("SELECT digest FROM counts"))
        self._filter = grown
