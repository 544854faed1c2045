"""Bundles: the records of one stream and one UTC hour that one append wrote, in one item.

A store opened with `bundled_prefixes` writes the records of streams starting with one of them
this way (the package's notes say why and what it changes). A bundle item lives in its stream's
partition, next to event items:

- `pk` = `EVENT_PREFIX` + stream; `sk` = the hour (`YYYY-MM-DDTHH`, the first 13 characters of
  its records' time keys), `#`, and a digest of its records' ids. An event item's sort key has
  `:` where a bundle's has `#`, so one Query on a stream's partition finds both, and `#`
  sorting before `:` puts an hour's bundles just before that hour's event items. The digest
  makes a bundle's key a function of what it holds: the same records written again (a retried
  append) collide with it, and the conditional put that writes a bundle refuses them.
- `bundle`: its records, encoded as columns (`_encode`) and compressed as a whole with zlib and
  the store's preset dictionary (the dictionary's number first), in position order.
- the feed keys of its first record's position: its records hold consecutive positions, so
  `read_all` finds a bundle that starts at most `MAX_RECORDS - 1` positions before the one it
  resumes after.
- `expires_key` and the TTL attribute of its last record's expiry, when every record has one:
  the bundle goes when all its records are due, not before.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime

from eventstore import schema
from eventstore.dynamodb.dictionary import CURRENT, DICTIONARIES
from eventstore.dynamodb.items import Item, item_key, ttl_seconds
from eventstore.errors import EventStoreError
from eventstore.records import EventRecord, time_key

HOUR_LENGTH = 13
"""`YYYY-MM-DDTHH`: the hour a time key starts with (time keys are always four-digit years)."""
SEPARATOR = "#"
"""What follows the hour in a bundle's sort key; an event item's has `:` there."""
MAX_RECORDS = 1_000
"""Records in one bundle at most: `read_all(after_position=p)` looks this far back for a
bundle that starts before `p` and ends after it."""
MAX_RAW_BYTES = 300_000
"""Encoded bytes in one bundle at most, before compression: deflate never grows data by more
than a few bytes per 16 KB, so the item stays under DynamoDB's 400 KB with its keys."""
_FORMAT = 1
_HEAD = struct.Struct(">BI")
_SIZES = struct.Struct(">HHIB")
_TIME_KEY_LENGTH = 27


def is_bundle_key(sort_key: str) -> bool:
    """Whether an item of a stream's partition is a bundle (else an event item)."""
    return len(sort_key) > HOUR_LENGTH and sort_key[HOUR_LENGTH] == SEPARATOR


def encoded_size(record: EventRecord) -> int:
    """What a record adds to a bundle before compression (for `MAX_RAW_BYTES`)."""
    return (
        _SIZES.size
        + 2 * _TIME_KEY_LENGTH
        + len(record.event_id.encode())
        + len(record.type.encode())
        + len(record.payload)
    )


def bundle_item(stream: str, hour: str, records: Sequence[EventRecord], first: int) -> Item:
    """The item of `records` (one stream, one hour, in position order from `first`)."""
    digest = hashlib.blake2b(
        "\n".join(sorted(record.event_id for record in records)).encode(), digest_size=16
    ).hexdigest()
    item = item_key(schema.EVENT_PREFIX + stream, f"{hour}{SEPARATOR}{digest}")
    raw = _encode(records)
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS, 9, zdict=DICTIONARIES[CURRENT])
    item[schema.ATTR_BUNDLE] = {"B": bytes((CURRENT,)) + packer.compress(raw) + packer.flush()}
    item[schema.FEED_PARTITION_KEY] = {"N": str(first >> schema.FEED_BUCKET_BITS)}
    item[schema.FEED_SORT_KEY] = {"N": str(first)}
    expiries = [record.expires_at for record in records]
    if all(expires is not None for expires in expiries):
        last = max(expires for expires in expiries if expires is not None)
        item[schema.ATTR_EXPIRES_KEY] = {"S": time_key(last)}
        item[schema.TTL_ATTRIBUTE] = {"N": ttl_seconds(last)}
    return item


def records_from_bundle(item: Item) -> list[EventRecord]:
    """A bundle item's records, in position order, each with its position."""
    stream = item[schema.PARTITION_KEY]["S"][len(schema.EVENT_PREFIX) :]
    first = int(item[schema.FEED_SORT_KEY]["N"])
    data = bytes(item[schema.ATTR_BUNDLE]["B"])
    dictionary = DICTIONARIES.get(data[0]) if data else None
    if dictionary is None:
        raise EventStoreError(
            f"a bundle was compressed with dictionary {data[0] if data else None}, which this "
            "version does not have: it was written by a newer version of the store"
        )
    unpacker = zlib.decompressobj(zdict=dictionary)
    return _decode(unpacker.decompress(data[1:]) + unpacker.flush(), stream, first)


def ids_in_bundle(item: Item) -> list[str]:
    return [record.event_id for record in records_from_bundle(item)]


def _encode(records: Sequence[EventRecord]) -> bytes:
    # Columns, not rows: deflate finds the repeats of times, ids, types and payloads best
    # when like follows like.
    sizes: list[bytes] = []
    times: list[bytes] = []
    expiries: list[bytes] = []
    names: list[bytes] = []
    payloads: list[bytes] = []
    for record in records:
        event_id, type_ = record.event_id.encode(), record.type.encode()
        expires = record.expires_at
        sizes.append(
            _SIZES.pack(len(event_id), len(type_), len(record.payload), expires is not None)
        )
        times.append(time_key(record.occurred_at).encode())
        if expires is not None:
            expiries.append(time_key(expires).encode())
        names.append(event_id + type_)
        payloads.append(record.payload)
    return b"".join(
        [_HEAD.pack(_FORMAT, len(records)), *sizes, *times, *expiries, *names, *payloads]
    )


def _decode(raw: bytes, stream: str, first: int) -> list[EventRecord]:
    version, count = _HEAD.unpack_from(raw)
    if version != _FORMAT:
        raise EventStoreError(
            f"a bundle has format {version}, which this version does not read: it was written "
            "by a newer version of the store"
        )
    offset = _HEAD.size
    sizes = [_SIZES.unpack_from(raw, offset + i * _SIZES.size) for i in range(count)]
    offset += count * _SIZES.size
    times = offset
    offset += count * _TIME_KEY_LENGTH
    expiry = offset
    offset += sum(1 for size in sizes if size[3]) * _TIME_KEY_LENGTH
    names = offset
    offset += sum(size[0] + size[1] for size in sizes)
    payload = offset
    records: list[EventRecord] = []
    for i, (id_length, type_length, payload_length, expires) in enumerate(sizes):
        occurred = raw[times + i * _TIME_KEY_LENGTH : times + (i + 1) * _TIME_KEY_LENGTH]
        expires_at = None
        if expires:
            expires_at = _from_time_key(raw[expiry : expiry + _TIME_KEY_LENGTH].decode())
            expiry += _TIME_KEY_LENGTH
        event_id = raw[names : names + id_length].decode()
        type_ = raw[names + id_length : names + id_length + type_length].decode()
        names += id_length + type_length
        records.append(
            EventRecord(
                event_id=event_id,
                stream=stream,
                type=type_,
                occurred_at=_from_time_key(occurred.decode()),
                payload=raw[payload : payload + payload_length],
                position=first + i,
                expires_at=expires_at,
            )
        )
        payload += payload_length
    return records


def _from_time_key(key: str) -> datetime:
    return datetime.fromisoformat(key[:-1]).replace(tzinfo=UTC)
