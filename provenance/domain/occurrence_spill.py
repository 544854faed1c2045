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
from collections.abc import Iterator, Mapping

# Bits of the filter per digest it is sized for, and positions per digest: 3 of 8 bits give
# about one false positive in 30 new lines at full capacity (a lookup each; the filter is
# resized by doubling, so it is at most full). Past `_MAX_BITS` (4 MiB, full at 4M digests) it
# stops growing: memory stays flat and the false positives, lookups that find nothing, grow
# instead (one new line in five at 10M digests, nine in ten at 40M).
_BITS_PER_DIGEST = 8
_POSITIONS = 3
_MAX_BITS = 1 << 25


def digest_number(key: bytes) -> int:
    """The 8-byte digest key as SQLite stores it: a signed 64-bit integer."""
    return int.from_bytes(key, "big", signed=True)


def digest_key(number: int) -> bytes:
    return number.to_bytes(8, "big", signed=True)


class DigestFilter:
    """A Bloom filter of 8-byte digests. They are SHA-1 bits already, so the positions are the
    digest's own two 32-bit halves combined (double hashing), not hashes of it."""

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
        bits, mask = self.bits, self.mask
        low, step = number & 0xFFFFFFFF, (number >> 32) | 1
        for _ in range(_POSITIONS):
            position = low & mask
            bits[position >> 3] |= 1 << (position & 7)
            low += step

    def __contains__(self, number: int) -> bool:
        bits, mask = self.bits, self.mask
        low, step = number & 0xFFFFFFFF, (number >> 32) | 1
        for _ in range(_POSITIONS):
            position = low & mask
            if not bits[position >> 3] >> (position & 7) & 1:
                return False
            low += step
        return True


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
        bloom = self._filter

        def rows() -> Iterator[tuple[int, int]]:
            # In key order: the inserts then walk the table's pages once, in order.
            for key in sorted(counts):
                number = digest_number(key)
                bloom.add(number)
                yield number, counts[key]

        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO counts VALUES (?, ?)", rows())
        self._written += len(counts)

    def count(self, key: bytes) -> int:
        """The count stored for `key`, 0 if none."""
        number = digest_number(key)
        if number not in self._filter:
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
        add = grown.add
        for (number,) in self._db.execute("SELECT digest FROM counts"):
            add(number)
        self._filter = grown
