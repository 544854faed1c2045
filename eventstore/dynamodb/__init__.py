"""The DynamoDB backend: one table (layout in `eventstore.schema`), spoken to with boto3.

One module per job: `items` (the item layout: keys, compression, TTL, items back to records
and rows), `bundles` (the records of a bundled stream-hour in one item), `calls` (one
DynamoDB call with the store's error handling, paging, retries of unprocessed items, backoff,
and the translation of botocore errors into the store's errors: `translate`, the only place
that looks at them), `append`, `reads` and `projections` (the
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
- **Bundled streams** (`bundled_prefixes`; provenance bundles access events, `$access/`:
  one stream per service and UTC day). An event item with its id guard, written in a
  transaction, costs 5 write units whatever its size (item 2 and guard 2, the transaction
  doubling both, and the feed index's copy); an access event's payload compresses to about
  200 bytes. So the new records of one stream and one UTC hour that one append brings go into
  one item (`bundles`: compressed as a whole, with the preset dictionary, which measured
  smaller than zlib alone), cut only to stay under DynamoDB's 400 KB item limit and
  `bundles.MAX_RECORDS`; the item's sort key starts with the hour. No guards, no transaction:
  **dedup rule: an id is stored at most once per (stream, UTC hour)**. Before writing, the
  writer reads the ids the stream-hour holds (one strongly consistent Query: bundles, and
  event items written before the stream was bundled), drops those (reported as
  duplicates), and writes each bundle with a conditional put on a key that is a digest of its
  ids: a retried or redelivered append (Lambda retries, bisection, redrive) adds nothing,
  also after a crash between two of its bundles, since the retry reads what the first wrote.
  What is weaker than the id guard, and stated rather than hidden: the same id in another
  stream or hour is another record (access event ids include the line's content, time and
  service, so a real repeat never crosses a stream-hour); and two writers adding the same
  new id to the same stream-hour at the same instant, in bundles of different content (the
  same log line shipped on two shards at once), can both store it. Positions: the append's
  block is reserved from the counter as for any append; a bundle's records take consecutive
  positions, its feed keys carry the first, and `read_all(after_position=p)` also reads the
  one feed item before `p` in case a bundle straddles it. `read_stream` reads a bundled
  stream hour by hour (an hour's bundles sort just before its event items: `#` < `:`),
  expands and sorts them, so order, cursors and `limit` are exact; `read_all` filters a
  bundle's records one by one. A bundle expires when all its records are due (its TTL is its
  last record's expiry). The table's stream gives a bundle's records in one INSERT
  (`stream.inserted_bundle`) and its stream and hour in one REMOVE; the projector counts a
  bundle in rows of its own (`put_projection`: a batch write, no transaction).
  The embedded store ignores `bundled_prefixes`.
  Known limits, from a review (not fixed yet): the dedup Query reads every bundle of the
  stream-hour, so its cost grows with the square of an hour's appends (live traffic makes
  hundreds: a small per-hour id item would bound it); a `put_item` whose response was lost
  and that botocore retried fails its condition, and the append then reports records it
  stored as duplicates (counts only: nothing is lost or doubled); a handle opened without
  `bundled_prefixes` reading after a cursor misses that cursor's hour's bundles (every
  handle the application opens passes them).
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
