"""The DynamoDB backend: one table (layout in `eventstore.schema`), spoken to with boto3.

One module per job: `items` (the item layout: keys, compression, TTL, items back to records
and rows), `calls` (one DynamoDB call with the store's error handling, paging, retries of
unprocessed items, backoff, and the translation of botocore errors into the store's errors:
`translate`, the only place that looks at them), `append`, `reads` and `projections` (the
store's operations, one mixin each), `store` (`DynamoDBEventStore` and its client: the store
URL's `region=`, else AWS_REGION, else botocore's), `table` (`create_table`) and `stream`
(decoding the table's change-stream records, for the projector).

How the contract is kept:
- **Idempotent append.** Each event is written in a transaction with its id guard item, on
  the condition that the guard does not exist. A batch first asks which guards exist
  (BatchGetItem, strongly consistent) so the usual duplicate costs no write; a writer that
  loses a race finds out from the transaction's cancellation reasons and reports that id as a
  duplicate. Transactions hold at most 100 items and 4 MB, so a batch is written in groups;
  a group is all-or-nothing, and a failed group is retried, never half-written.
- **Positions.** A counter item hands each append a block of positions (one UpdateItem per
  call). Positions grow in the order blocks are taken, not in commit order: a reader paging
  `read_all` by position while two writers commit could pass a block still being written.
  That is why projections on DynamoDB follow the table's stream (`projected_by_stream`), which
  delivers every change exactly once, and `read_all` serves rebuilds and reports.
- **The feed** is a GSI, so `read_all` is eventually consistent (typically well under a
  second behind); everything else reads strongly consistently.
- **Projection rows** are written in transactions with a version condition per row: atomic up
  to `max_atomic_writes` rows (DynamoDB's 100 items per transaction, and 4 MB). A bigger write
  checks every version first, then writes in groups.
- **Retries.** botocore retries whole calls that were throttled (standard mode, 6 attempts,
  the first included); this module retries `UnprocessedItems`/`UnprocessedKeys` and
  transactions cancelled by throttling or conflicts, with exponential backoff and jitter. What
  still fails is raised as `StoreUnavailableError`; nothing is reported written that was not.
- **Compression.** Payloads and projection values of 32 bytes or more are stored
  zlib-compressed with a preset dictionary of typical payloads (`dictionary`) when that is
  smaller (`payload_d`/`value_d`, the dictionary's number first, instead of
  `payload`/`value`): write units are counted per started KB and doubled in transactions,
  storage per byte, and an event's JSON shrinks to about a quarter (zlib alone: a half).
  Items written before (`payload_z`/`value_z`, zlib alone) are read as they are.
- **Item size.** An event item's id and stream are its keys' (after `stream#`, and after the
  sort key's time key and `#`), a guard's id its key's: no attribute repeats them (items
  written before do, and are read the same way).
- **Size.** An event item is its payload (at most `MAX_PAYLOAD_BYTES`, 256 KiB) plus names of
  at most 512 bytes each, so it always fits DynamoDB's 400 KB item limit; `check_record`
  refuses anything bigger before any write (ingest quarantines such an entry instead).
- **Retention.** Records with `expires_at` carry the TTL attribute (epoch seconds), on the
  event and its guard, so DynamoDB deletes them for free once due; `expire` does the same
  deletion at once (for tests and for the CLI) by reading the feed. Projection rows written
  with `expires_at` carry it too (`expires_projection_rows`): applied-markers go by themselves
  instead of costing a transactional delete each. This relies on the table's TTL being
  enabled on `schema.TTL_ATTRIBUTE`, as `create_table` and the CDK app do.
"""

from __future__ import annotations

from eventstore.dynamodb.store import DynamoDBEventStore
from eventstore.dynamodb.table import create_table

__all__ = ["DynamoDBEventStore", "create_table"]
