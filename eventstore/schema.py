"""Names of the DynamoDB table, its keys, index and attributes: shared by the DynamoDB backend,
`cdk/` and the test fixtures, so that none of them can drift from the others.

Plain constants.

One table holds every kind of item, told apart by the partition key's prefix:
- an event: `pk` = `EVENT_PREFIX` + stream, `sk` = `time_key#event_id` (the record's `cursor`),
  so one Query reads a stream in time order, ties by id, in either direction;
- an id guard: `pk` = `EVENT_ID_PREFIX` + event_id, `sk` = `SINGLE_SORT_KEY`, written in the
  same transaction as its event with a condition that it does not exist yet: what makes append
  idempotent on the id alone, whatever stream or time a repeated id comes with;
- the position counter: `pk` = `COUNTER_KEY`: the last position handed out;
- a stream name: `pk` = `STREAM_NAME_PREFIX` + a bucket (0..STREAM_NAME_BUCKETS-1, by a hash of
  the name), `sk` = the stream: what `streams()` lists, spread so no one key is hot;
- a projection row: `pk` = `PROJECTION_PREFIX` + projection, `sk` = the row's key;
- a projection's index entry or total: see `INDEX_PREFIX` below;
- a bundle (streams the store was told to bundle): `pk` = `EVENT_PREFIX` + stream, `sk` = the
  records' UTC hour (`YYYY-MM-DDTHH`), `#` and a digest of their ids: the records of one
  stream-hour that one append wrote, in one compressed item with no guards
  (`eventstore.dynamodb.bundles`).

The global feed (`read_all`) is the `FEED_INDEX` GSI over event items only (the other items do
not carry its keys): partition key the position's bucket (`position >> FEED_BUCKET_BITS`, so
consecutive events share a partition and the index never has one constant key), sort key the
position itself.
"""

from __future__ import annotations

from typing import Final

TABLE_NAME_DEFAULT = "provenance-events"

PARTITION_KEY = "pk"
SORT_KEY = "sk"
KEY_TYPE: Final = "S"  # both keys are strings

EVENT_PREFIX = "stream#"
EVENT_ID_PREFIX = "event#"
PROJECTION_PREFIX = "projection#"
STREAM_NAME_PREFIX = "streams#"
COUNTER_KEY = "counter#position"
SINGLE_SORT_KEY = "-"
GUARD_SORT_KEY = SINGLE_SORT_KEY
STREAM_NAME_BUCKETS = 16

# A projection's indexes and totals (`ProjectionWrite`): an index entry is an item of its own,
# `pk` = `INDEX_PREFIX` + projection + `#` + a shard (0..INDEX_SHARDS-1, by a hash of the row's
# key), `sk` = index + `#` + term + `INDEX_TERM_SEPARATOR` + the row's key, so a page of one
# index is one Query per shard, merged; no one key takes every write. A total is kept in
# TOTALS_SHARDS items, `pk` = `TOTALS_PREFIX` + projection + `#` + a shard, `sk` = its name,
# each transaction adding its deltas to the shard its first row's key picks: concurrent
# projectors rarely touch the same item or partition, and one Query per shard reads them.
INDEX_PREFIX = "index#"
INDEX_SHARDS = 8
INDEX_TERM_SEPARATOR = "\x1f"
TOTALS_PREFIX = "totals#"
TOTALS_SHARDS = 8
ATTR_TOTAL = "total"

FEED_INDEX = "feed"
FEED_PARTITION_KEY = "feed_bucket"
FEED_SORT_KEY = "feed_position"  # the record's position in the global feed
FEED_KEY_TYPE: Final = "N"
FEED_BUCKET_BITS = 16

# What the table's stream carries: new images are enough for the projector (an event item is
# written once and never changed; removals are expiry, which counts survive).
STREAM_VIEW_TYPE: Final = "NEW_IMAGE"

# Attributes of an event item. The id and the stream are in its keys; items written before
# issue 13 also carry them as attributes (ATTR_EVENT_ID, ATTR_STREAM), and so do id guards
# written before it (ATTR_EVENT_ID): readers take the keys.
ATTR_EVENT_ID = "event_id"
ATTR_STREAM = "stream"
ATTR_TYPE = "type"
ATTR_PAYLOAD = "payload"
ATTR_PAYLOAD_ZLIB = "payload_z"  # the payload zlib-compressed, instead of ATTR_PAYLOAD (read only)
ATTR_PAYLOAD_DICT = "payload_d"  # a dictionary's number, then the payload compressed with it
ATTR_EXPIRES_KEY = "expires_key"  # the exact expiry (time_key); TTL_ATTRIBUTE is whole seconds
ATTR_COUNTER = "last"
# A bundle's records (`eventstore.dynamodb.bundles`): a dictionary's number, then the records
# compressed with it.
ATTR_BUNDLE = "bundle"

# Attributes of a projection row.
ATTR_VALUE = "value"
ATTR_VALUE_ZLIB = "value_z"  # the value zlib-compressed, instead of ATTR_VALUE (read only)
ATTR_VALUE_DICT = "value_d"  # a dictionary's number, then the value compressed with it
ATTR_VERSION = "version"

# Epoch seconds after which DynamoDB may delete the item; set only where retention policy allows.
TTL_ATTRIBUTE = "expires_at"
