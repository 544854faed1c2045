"""Names of the DynamoDB table, its keys, index and attributes: shared by the DynamoDB backend,
`cdk/` and the test fixtures, so that none of them can drift from the others.

Plain constants; imports nothing.

One table holds every kind of item, told apart by the partition key's prefix:
- an event: `pk` = `EVENT_PREFIX` + stream, `sk` = `time_key#event_id` (the record's `cursor`),
  so one Query reads a stream in time order, ties by id, in either direction;
- an id guard: `pk` = `EVENT_ID_PREFIX` + event_id, `sk` = `GUARD_SORT_KEY`, written in the
  same transaction as its event with a condition that it does not exist yet: what makes append
  idempotent on the id alone, whatever stream or time a repeated id comes with;
- a projection row: `pk` = `PROJECTION_PREFIX` + projection, `sk` = the row's key.
The global feed (`read_all`) is the `FEED_INDEX` GSI on event items. Its partition key is a
bucket (e.g. the UTC hour of appending; never one constant value, which would make the index a
hot partition) and its sort key orders events within a bucket.
"""

from __future__ import annotations

TABLE_NAME_DEFAULT = "provenance-events"

PARTITION_KEY = "pk"
SORT_KEY = "sk"

EVENT_PREFIX = "stream#"
EVENT_ID_PREFIX = "event#"
PROJECTION_PREFIX = "projection#"
GUARD_SORT_KEY = "-"

FEED_INDEX = "feed"
FEED_PARTITION_KEY = "feed_bucket"
FEED_SORT_KEY = "feed_position"

# Attributes of an event item.
ATTR_EVENT_ID = "event_id"
ATTR_STREAM = "stream"
ATTR_TYPE = "type"
ATTR_OCCURRED_AT = "occurred_at"
ATTR_PAYLOAD = "payload"

# Attributes of a projection row.
ATTR_VALUE = "value"
ATTR_VERSION = "version"

# Epoch seconds after which DynamoDB may delete the item; set only where retention policy allows.
TTL_ATTRIBUTE = "expires_at"
