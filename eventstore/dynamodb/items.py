"""The item layout of the DynamoDB backend (key names in `eventstore.schema`): keys, event
items, compression of payloads and values, the TTL attribute, and items (or a stream's images)
back to records and projection rows.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from eventstore import schema
from eventstore.dynamodb.dictionary import CURRENT, DICTIONARIES
from eventstore.errors import EventStoreError
from eventstore.records import EventRecord, ProjectionRow, time_key

Item = dict[str, Any]

COMPRESS_FROM = 32
"""Shorter data is stored as it is: the compressed form has 11 bytes of framing (the
dictionary's number, zlib's header, dictionary id and checksum)."""
_PACKER = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS, 6, zdict=DICTIONARIES[CURRENT])
"""Copied for each item: a copy starts primed, where a new object would hash the whole
dictionary again (a sixth of the time). Memory level 6, not zlib's default 8: the state is
copied per item, and at level 8 the copy alone took ~75 µs (its large buffers are fresh
pages each time), at 6 ~2 µs, for the same bytes within 1%. The level changes nothing a
reader needs (`eventstore.sqlite_codec` does the same)."""


def record_from_image(image: Item) -> EventRecord | None:
    """The record a table stream image holds (DynamoDB JSON), or None for items that are not
    event items (guards, counters, stream names, projection rows, bundles)."""
    pk = image.get(schema.PARTITION_KEY, {}).get("S", "")
    if not pk.startswith(schema.EVENT_PREFIX) or schema.ATTR_BUNDLE in image:
        return None  # a bundle's records: `stream.inserted_bundle`
    return record_from_item(image)


def item_key(pk: str, sk: str) -> Item:
    return {schema.PARTITION_KEY: {"S": pk}, schema.SORT_KEY: {"S": sk}}


def stream_bucket(name: str) -> int:
    return zlib.crc32(name.encode()) % schema.STREAM_NAME_BUCKETS


def event_item(record: EventRecord, key: str, position: int) -> Item:
    # The id and the stream are read from the keys: attributes repeating them would be stored
    # twice (item and feed index) and billed with every write.
    item = item_key(schema.EVENT_PREFIX + record.stream, f"{key}#{record.event_id}")
    item[schema.ATTR_TYPE] = {"S": record.type}
    name, data = pack(record.payload, schema.ATTR_PAYLOAD, schema.ATTR_PAYLOAD_DICT)
    item[name] = {"B": data}
    item[schema.FEED_PARTITION_KEY] = {"N": str(position >> schema.FEED_BUCKET_BITS)}
    item[schema.FEED_SORT_KEY] = {"N": str(position)}
    expires = record.expires_at
    if expires is not None:
        item[schema.ATTR_EXPIRES_KEY] = {"S": time_key(expires)}
        item[schema.TTL_ATTRIBUTE] = {"N": ttl_seconds(expires)}
    return item


def ttl_seconds(expires: datetime) -> str:
    """The TTL attribute's value: whole epoch seconds, rounded up so that DynamoDB never
    deletes an item before it is due."""
    return str(-int(-expires.timestamp() // 1))


def record_from_item(item: Item) -> EventRecord:
    sk = item[schema.SORT_KEY]["S"]
    expires = item.get(schema.ATTR_EXPIRES_KEY)
    payload = _unpacked(
        item, schema.ATTR_PAYLOAD, schema.ATTR_PAYLOAD_ZLIB, schema.ATTR_PAYLOAD_DICT
    )
    # A time key has no "#": the id is everything after the first one (ids may hold "#").
    cut = sk.index("#")
    return EventRecord(
        event_id=sk[cut + 1 :],
        stream=item[schema.PARTITION_KEY]["S"][len(schema.EVENT_PREFIX) :],
        type=item[schema.ATTR_TYPE]["S"],
        occurred_at=_from_time_key(sk[:cut]),
        payload=payload,
        position=int(item[schema.FEED_SORT_KEY]["N"]),
        expires_at=_from_time_key(expires["S"]) if expires else None,
    )


def pack(data: bytes, plain: str, compressed: str) -> tuple[str, bytes]:
    """The attribute name and bytes to store `data` under: compressed with the current preset
    dictionary (`eventstore.dynamodb.dictionary`) when that is smaller.

    Writes are billed per started KB and storage per byte, and a payload's JSON is short:
    alone, zlib finds little to repeat in it (about 900 bytes to 520), with a dictionary of
    typical payloads it refers back to that (to 150-220)."""
    if len(data) >= COMPRESS_FROM:
        packer = _PACKER.copy()
        packed = bytes((CURRENT,)) + packer.compress(data) + packer.flush()
        if len(packed) < len(data):
            return compressed, packed
    return plain, data


def _unpacked(item: Item, plain: str, zlib_only: str, with_dictionary: str) -> bytes:
    packed = item.get(with_dictionary)
    if packed is not None:
        data = bytes(packed["B"])
        dictionary = DICTIONARIES.get(data[0]) if data else None
        if dictionary is None:
            number = data[0] if data else None
            raise EventStoreError(
                f"an item was compressed with dictionary {number}, which this version does not "
                "have: it was written by a newer version of the store"
            )
        unpacker = zlib.decompressobj(zdict=dictionary)
        return unpacker.decompress(data[1:]) + unpacker.flush()
    packed = item.get(zlib_only)  # items written before the dictionary
    if packed is not None:
        return zlib.decompress(bytes(packed["B"]))
    data = item[plain]["B"]
    return data if isinstance(data, bytes) else bytes(data)


def _from_time_key(key: str) -> datetime:
    return datetime.fromisoformat(key[:-1]).replace(tzinfo=UTC)


def row_from_item(item: Item) -> ProjectionRow:
    return ProjectionRow(
        key=item[schema.SORT_KEY]["S"],
        value=_unpacked(item, schema.ATTR_VALUE, schema.ATTR_VALUE_ZLIB, schema.ATTR_VALUE_DICT),
        version=int(item[schema.ATTR_VERSION]["N"]),
    )
