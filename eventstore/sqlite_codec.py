"""How the embedded store packs a record's fields into few bytes, and unpacks them.

What an access log of millions of lines a day costs on disk is mostly what each row repeats:
a 36-character id (in the row and in two indexes), the stream and type names, a 27-character
time key, and a JSON payload whose keys and most values recur in every record of its type.
So, in the file (schema version 3, `eventstore.sqlite_schema`):

- an event id that is a canonical UUID (lower-case, hyphenated: every id `provenance` makes)
  is kept as its 16 bytes, in a BLOB; any other id as the TEXT itself. SQLite never finds a
  BLOB equal to a TEXT, so the two kinds cannot collide in the unique index, and each kind
  sorts as its text does (16 big-endian bytes in the order of their hex). Between the kinds,
  every TEXT id sorts before every BLOB id: a stream mixing both kinds of id at one
  microsecond orders its ties that way (ids made by `provenance` are all UUIDs);
- a time is an INTEGER: microseconds since 1970-01-01 UTC (negative before), the order of
  `records.time_key`;
- a payload is compressed with zlib (raw deflate) against a preset dictionary of its record
  type, trained from the first payloads of that type the store was given (`Dictionaries`):
  an access event's 1 KB of JSON becomes about 150 bytes, for ~12 µs of CPU. Payloads
  that would not shrink, and those of types with no dictionary yet, are kept as they are.
  Dictionaries are never changed once stored, so every row can always be read back;
- a projection row's value of `PACK_AT` bytes or more is compressed with zlib (no
  dictionary): rows of counts repeat their keys.

The stream and type names are numbered in tables of their own (`sqlite.SQLiteEventStore`).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from eventstore.errors import EventStoreError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")

RAW = 0
"""The `dictionary` column of a payload kept as it was given."""
_WBITS = -15  # raw deflate, 32 KiB window: no zlib header and checksum per payload (6 bytes)
_LEVEL = 3
# The compressor is copied (primed with its dictionary) for every payload; at zlib's default
# memory level, 8, the copy alone took ~75 µs of CPU (its big buffers are fresh pages every
# time), at 6 about 2 µs, for payloads within 1% of the same size.
_MEMORY_LEVEL = 6
DICTIONARY_BYTES = 24 * 1024
"""A dictionary's size: the last 24 KiB of the sample payloads. The window is 32 KiB, so a
payload of up to 8 KiB still sees all of it."""
SAMPLE_BYTES = DICTIONARY_BYTES
"""Payloads of a type the store must have seen (in this process) before it trains a
dictionary for it: enough text to hold the type's keys and its common values."""
PACK_AT = 128
"""Projection values from this size on are compressed."""


def id_value(event_id: str) -> bytes | str:
    """What the store keeps for an event id: 16 bytes for a canonical UUID, else the text."""
    if len(event_id) == 36 and _UUID.match(event_id):
        return bytes.fromhex(event_id.replace("-", ""))
    return event_id


def event_id_of(value: bytes | str) -> str:
    """The event id back from `id_value`."""
    if type(value) is bytes:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return value  # type: ignore[return-value]


def time_value(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC of an aware datetime (checked by the caller)."""
    return (moment - _EPOCH) // _MICROSECOND


def moment_of(value: int) -> datetime:
    """The UTC datetime back from `time_value`."""
    return _EPOCH + timedelta(microseconds=value)


def time_value_of_key(key: str) -> int:
    """`time_value` of a `records.time_key` (a cursor's time)."""
    return time_value(datetime.fromisoformat(key))


def pack_value(value: bytes) -> tuple[bytes, int]:
    """A projection value as stored, and whether it is compressed (1) or not (0)."""
    if len(value) >= PACK_AT:
        packed = zlib.compress(value, 1, _WBITS)
        if len(packed) < len(value):
            return packed, 1
    return value, 0


def unpack_value(value: bytes, packed: int) -> bytes:
    if not packed:
        return value
    try:
        return zlib.decompress(value, _WBITS)
    except zlib.error as exc:
        raise EventStoreError(f"a stored projection value is damaged: {exc}") from exc


class Dictionaries:
    """The preset dictionaries of one store file, as far as this process knows them.

    `known` holds every dictionary read or written (id -> bytes; they never change);
    `current` the one to compress each type with. A type without one collects samples of
    its payloads until `SAMPLE_BYTES` are there (`wants`/`offer`); the store then writes a
    dictionary made of them (`train`) in the same transaction as the records it packs, and
    `adopt`s it once that commits.
    """

    def __init__(self) -> None:
        self.known: dict[int, bytes] = {}
        self.current: dict[str, int] = {}
        self._compressors: dict[int, zlib._Compress] = {}
        self._last: zlib._Compress | None = None
        self._samples: dict[str, list[bytes]] = {}
        self._sampled: dict[str, int] = {}

    def pack(self, type_: str, payload: bytes) -> tuple[int, bytes]:
        """(dictionary id, stored bytes): compressed with the type's dictionary when it has
        one and that makes the payload smaller, else (RAW, payload)."""
        number = self.current.get(type_)
        if number is None:
            return RAW, payload
        compressor = self._compressors[number].copy()
        packed = compressor.compress(payload) + compressor.flush()
        # Kept until the next payload's copy exists: freeing a state before making the next
        # one lets the allocator hand its pages back to the system and fault them in again,
        # which at times tripled the cost of a payload.
        self._last = compressor
        if len(packed) < len(payload):
            return number, packed
        return RAW, payload

    def unpack(self, number: int, data: bytes) -> bytes:
        """A payload back; `number` must be known (`EventStoreError` if the data is damaged)."""
        if number == RAW:
            return data
        inflater = zlib.decompressobj(_WBITS, self.known[number])
        try:
            payload = inflater.decompress(data)
        except zlib.error as exc:
            raise EventStoreError(f"a stored payload is damaged: {exc}") from exc
        if not inflater.eof or inflater.unused_data:
            raise EventStoreError("a stored payload is damaged: its compressed data is cut short")
        return payload

    def wants(self, type_: str) -> bool:
        return type_ not in self.current and self._sampled.get(type_, 0) < SAMPLE_BYTES

    def offer(self, type_: str, payloads: Iterable[bytes]) -> None:
        """Keep payloads of a type without a dictionary as samples to train one from."""
        samples = self._samples.setdefault(type_, [])
        total = self._sampled.get(type_, 0)
        for payload in payloads:
            if total >= SAMPLE_BYTES:
                break
            samples.append(payload)
            total += len(payload)
        self._sampled[type_] = total

    def ready(self, type_: str) -> bool:
        """Whether enough samples of a type without a dictionary are there to train one."""
        return type_ not in self.current and self._sampled.get(type_, 0) >= SAMPLE_BYTES

    def train(self, type_: str) -> bytes:
        """A dictionary from the samples of a type: its payloads' text, the latest last (zlib
        finds matches near the end of its window cheapest)."""
        return b"".join(self._samples.get(type_, ()))[-DICTIONARY_BYTES:]

    def adopt(self, type_: str, number: int, data: bytes) -> None:
        """Use dictionary `number` for `type_` from now on (it is stored)."""
        self.known[number] = data
        self.current[type_] = number
        self._compressors[number] = zlib.compressobj(
            _LEVEL, zlib.DEFLATED, _WBITS, _MEMORY_LEVEL, zlib.Z_DEFAULT_STRATEGY, data
        )
        self._samples.pop(type_, None)
        self._sampled.pop(type_, None)

    def drop(self, type_: str) -> None:
        """Forget the dictionary of `type_`: it was trained in a transaction that did not
        commit (its samples are gone too; new ones will be taken)."""
        number = self.current.pop(type_, None)
        if number is not None:
            self.known.pop(number, None)
            self._compressors.pop(number, None)
