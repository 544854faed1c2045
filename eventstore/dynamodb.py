"""The DynamoDB backend: one table (layout in `eventstore.schema`), spoken to with boto3.

Owns the item layout and the translation of botocore errors into the store's errors
(`_translate`, the only place that looks at them). Imports boto3/botocore, `eventstore.store`,
`eventstore.records`, `eventstore.errors`, `eventstore.schema` and `eventstore.aws_region` (the
client's region: the store URL's `region=`, else AWS_REGION, else botocore's).

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
- **Retries.** botocore retries whole calls that were throttled (standard mode, 5 attempts);
  this module retries `UnprocessedItems`/`UnprocessedKeys` and transactions cancelled by
  throttling or conflicts, with exponential backoff and jitter. What still fails is raised as
  `StoreUnavailableError`; nothing is reported written that was not.
- **Compression.** Payloads and projection values of 256 bytes or more are stored
  zlib-compressed when that saves a tenth or more (`payload_z`/`value_z` instead of
  `payload`/`value`): write units are counted per started KB and doubled in transactions, and
  an event's JSON or an object's state row shrinks to about half.
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

import heapq
import itertools
import random
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from botocore.exceptions import BotoCoreError, ClientError

from eventstore import schema
from eventstore.aws_client import AwsClientError, aws_client
from eventstore.aws_region import NoRegionError
from eventstore.errors import (
    ConcurrencyError,
    EventStoreError,
    InvalidRequestError,
    StoreUnavailableError,
)
from eventstore.records import (
    AppendResult,
    EventRecord,
    ExpireResult,
    ProjectionRow,
    ProjectionWrite,
    time_key,
)
from eventstore.store import (
    EventStore,
    bound_key,
    check_limit,
    check_projection_writes,
    check_record,
    conflict_error,
    parse_cursor,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

Item = dict[str, Any]
T = TypeVar("T")

MAX_TRANSACTION_ITEMS = 100
MAX_TRANSACTION_BYTES = 4_000_000
"""DynamoDB's 4 MB per transaction, with room for keys and request overhead."""
_BATCH_GET_KEYS = 100
_BATCH_WRITE_ITEMS = 25
_ATTEMPTS = 10
COMPRESS_FROM = 256
_KNOWN_STREAMS = 100_000
CALL_ATTEMPTS = 6
"""Attempts per DynamoDB call, the first included (botocore's standard retries)."""
_BACKOFF_BASE_S = 0.05
_BACKOFF_CAP_S = 5.0
# Cancellation reasons that say "try again later", not "your condition failed".
_TRANSIENT_REASONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
_THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
_UNAVAILABLE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        *_THROTTLING_CODES,
    }
)


def _client(region: str | None, endpoint_url: str | None) -> DynamoDBClient:
    """A DynamoDB client in `region` (the store URL's), else the configured one
    (`eventstore.aws_region`: AWS_REGION before botocore's own resolution).

    Six attempts per call with botocore's standard (jittered, exponential) backoff ride out
    throttling bursts (the store retries transactions and unprocessed items on top), while
    an unreachable endpoint fails within about half a minute instead of many minutes: a
    person at a terminal wants the error, and Lambda retries the batch itself.
    """
    return cast(
        "DynamoDBClient",
        aws_client(
            "dynamodb",
            region=region,
            endpoint_url=endpoint_url,
            how="region=R in the store URL",
            attempts=CALL_ATTEMPTS,
            connect_timeout=3,
            read_timeout=30,
            max_pool_connections=20,
        ),
    )


class DynamoDBEventStore(EventStore):
    """The event store in one DynamoDB table. One object may be shared by threads (boto3
    clients are thread-safe); open one per process."""

    projected_by_stream = True
    expires_projection_rows = True
    max_atomic_writes = MAX_TRANSACTION_ITEMS

    def __init__(
        self,
        table: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: DynamoDBClient | None = None,
    ) -> None:
        self.table = table
        self.region = region
        self.endpoint_url = endpoint_url
        where = f"dynamodb://{table}" + (f" at {endpoint_url}" if endpoint_url else "")
        self._where = where
        if client is None:
            try:
                client = _client(region, endpoint_url)
            except (AwsClientError, NoRegionError) as exc:
                detail = exc.detail if isinstance(exc, AwsClientError) else str(exc)
                raise StoreUnavailableError(
                    f"cannot open the event store {where}: {detail}"
                ) from exc
            self.region = client.meta.region_name
        self._client: DynamoDBClient | None = client
        self._known_streams: set[str] = set()
        self._sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"DynamoDBEventStore({self._where!r})"

    # -- events ---------------------------------------------------------------------------------

    def append(self, records: Sequence[EventRecord]) -> AppendResult:
        first: dict[str, tuple[EventRecord, str]] = {}
        for record in records:
            key = check_record(record)
            if record.event_id not in first:
                first[record.event_id] = (record, key)
        if not first:
            return AppendResult()
        stored = self._existing_ids(list(first))
        new = [entry for event_id, entry in first.items() if event_id not in stored]
        written: list[str] = []
        positions: list[int] = []
        previous: int | None = None
        if new:
            self._register_streams({record.stream for record, _ in new})
            last = self._reserve_positions(len(new))
            previous = last - len(new)
            placed = [(record, key, previous + 1 + i) for i, (record, key) in enumerate(new)]
            won = self._write_events(placed)
            for record, _key, position in placed:
                if record.event_id in won:
                    written.append(record.event_id)
                    positions.append(position)
        # The first occurrence of a newly written id is the write; every other one a duplicate.
        unclaimed = set(written)
        duplicates: list[str] = []
        for record in records:
            if record.event_id in unclaimed:
                unclaimed.remove(record.event_id)
            else:
                duplicates.append(record.event_id)
        if not written:
            return AppendResult(duplicates=duplicates)
        return AppendResult(
            written=written, duplicates=duplicates, positions=positions, previous=previous
        )

    def _existing_ids(self, event_ids: list[str]) -> set[str]:
        keys = [_key(schema.EVENT_ID_PREFIX + i, schema.GUARD_SORT_KEY) for i in event_ids]
        found = self._batch_get(keys, projection=schema.ATTR_EVENT_ID, action="append to")
        return {item[schema.ATTR_EVENT_ID]["S"] for item in found}

    def _register_streams(self, streams: set[str]) -> None:
        # Written before the events, so a listed stream may (after a crash) hold no record,
        # but a record's stream is always listed. Names this handle wrote already are not
        # written again (a Lambda container appends to the same objects' streams often).
        new = streams - self._known_streams
        if not new:
            return
        items = [_key(schema.STREAM_NAME_PREFIX + str(_stream_bucket(name)), name) for name in new]
        self._batch_write([{"PutRequest": {"Item": item}} for item in items], "append to")
        if len(self._known_streams) + len(new) > _KNOWN_STREAMS:
            self._known_streams.clear()
        self._known_streams |= new

    def _reserve_positions(self, count: int) -> int:
        response = self._call(
            "append to",
            "update_item",
            TableName=self.table,
            Key=_key(schema.COUNTER_KEY, schema.SINGLE_SORT_KEY),
            UpdateExpression="ADD #last :n",
            ExpressionAttributeNames={"#last": schema.ATTR_COUNTER},
            ExpressionAttributeValues={":n": {"N": str(count)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"][schema.ATTR_COUNTER]["N"])

    def _write_events(self, placed: list[tuple[EventRecord, str, int]]) -> set[str]:
        """Write each event with its guard; return the ids this call wrote (the others were
        written by someone else meanwhile)."""
        won: set[str] = set()
        group: list[tuple[EventRecord, str, int]] = []
        size = 0
        for entry in placed:
            record = entry[0]
            bytes_ = len(record.payload) + 2 * len(record.event_id) + len(record.stream) + 200
            full = len(group) * 2 + 2 > MAX_TRANSACTION_ITEMS
            if group and (full or size + bytes_ > MAX_TRANSACTION_BYTES):
                won |= self._write_event_group(group)
                group, size = [], 0
            group.append(entry)
            size += bytes_
        if group:
            won |= self._write_event_group(group)
        return won

    def _write_event_group(self, group: list[tuple[EventRecord, str, int]]) -> set[str]:
        pending = list(group)
        for attempt in range(_ATTEMPTS):
            actions: list[Any] = []
            for record, key, position in pending:
                guard = _key(schema.EVENT_ID_PREFIX + record.event_id, schema.GUARD_SORT_KEY)
                guard[schema.ATTR_EVENT_ID] = {"S": record.event_id}
                item = _event_item(record, key, position)
                if schema.TTL_ATTRIBUTE in item:
                    guard[schema.TTL_ATTRIBUTE] = item[schema.TTL_ATTRIBUTE]
                    guard[schema.ATTR_EXPIRES_KEY] = item[schema.ATTR_EXPIRES_KEY]
                actions.append(
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": guard,
                            "ConditionExpression": "attribute_not_exists(#pk)",
                            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
                        }
                    }
                )
                actions.append({"Put": {"TableName": self.table, "Item": item}})
            try:
                self._call("append to", "transact_write_items", TransactItems=actions)
            except _CancelledError as cancelled:
                reasons = cancelled.reasons
                lost = {
                    pending[i // 2][0].event_id
                    for i, reason in enumerate(reasons)
                    if reason == "ConditionalCheckFailed"
                }
                if lost:
                    # Another writer stored these ids first: they are its events, not ours.
                    pending = [entry for entry in pending if entry[0].event_id not in lost]
                    if not pending:
                        return set()
                    continue
                self._backoff(attempt)
                continue
            return {entry[0].event_id for entry in pending}
        raise StoreUnavailableError(
            f"cannot append to the event store {self._where}: transactions kept being cancelled "
            f"(throttling or conflicts) after {_ATTEMPTS} attempts; nothing of this group "
            "was written"
        )

    def read_stream(
        self,
        stream: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[EventRecord]:
        check_limit(limit)
        names = {"#pk": schema.PARTITION_KEY}
        values: dict[str, Any] = {":pk": {"S": schema.EVENT_PREFIX + stream}}
        condition = "#pk = :pk"
        if after is not None:
            parse_cursor(after)
            names["#sk"] = schema.SORT_KEY
            values[":after"] = {"S": after}
            condition += " AND #sk " + ("< :after" if descending else "> :after")
        if limit == 0:
            return []
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not descending,
            "ConsistentRead": True,
        }
        return [_record(item) for item in self._query(query, "read", limit=limit)]

    def read_all(
        self,
        *,
        types: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_position: int | None = None,
    ) -> Iterator[EventRecord]:
        if after_position is not None and (
            not isinstance(after_position, int)
            or isinstance(after_position, bool)
            or after_position < 0
        ):
            raise InvalidRequestError(
                f"after_position must be None or an integer >= 0, got {after_position!r}"
            )
        filters: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if types is not None:
            wanted = sorted({types} if isinstance(types, str) else set(types))
            if not wanted:
                return iter(())
            names["#type"] = schema.ATTR_TYPE
            for i, name in enumerate(wanted):
                values[f":t{i}"] = {"S": name}
            filters.append(f"#type IN ({', '.join(f':t{i}' for i in range(len(wanted)))})")
        since_key, until_key = bound_key("since", since), bound_key("until", until)
        # The sort key starts with the time key, so comparing it with a bare time key is
        # comparing times (`until` excludes that instant: "T#id" sorts after "T").
        if since_key is not None:
            names["#sk"] = schema.SORT_KEY
            values[":since"] = {"S": since_key}
            filters.append("#sk >= :since")
        if until_key is not None:
            names["#sk"] = schema.SORT_KEY
            values[":until"] = {"S": until_key}
            filters.append("#sk < :until")
        return self._feed(after_position or 0, " AND ".join(filters), names, values)

    def _feed(
        self, after: int, filters: str, names: dict[str, str], values: dict[str, Any]
    ) -> Iterator[EventRecord]:
        last = self._last_position()
        bucket = (after + 1) >> schema.FEED_BUCKET_BITS
        while bucket <= last >> schema.FEED_BUCKET_BITS:
            query: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": schema.FEED_INDEX,
                "KeyConditionExpression": "#bucket = :bucket AND #position > :after",
                "ExpressionAttributeNames": {
                    **names,
                    "#bucket": schema.FEED_PARTITION_KEY,
                    "#position": schema.FEED_SORT_KEY,
                },
                "ExpressionAttributeValues": {
                    **values,
                    ":bucket": {"N": str(bucket)},
                    ":after": {"N": str(after)},
                },
            }
            if filters:
                query["FilterExpression"] = filters
            yield from map(_record, self._query(query, "read"))
            bucket += 1

    def _last_position(self) -> int:
        response = self._call(
            "read",
            "get_item",
            TableName=self.table,
            Key=_key(schema.COUNTER_KEY, schema.SINGLE_SORT_KEY),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return int(item[schema.ATTR_COUNTER]["N"]) if item else 0

    def expire(self, now: datetime, *, through_position: int | None = None) -> ExpireResult:
        due = bound_key("now", now)
        if through_position is not None and (
            not isinstance(through_position, int) or isinstance(through_position, bool)
        ):
            raise InvalidRequestError(
                f"through_position must be None or an integer, got {through_position!r}"
            )
        doomed: list[EventRecord] = []
        for record in self._feed(
            0,
            "#expires <= :due",
            {"#expires": schema.ATTR_EXPIRES_KEY},
            {":due": {"S": due}},
        ):
            if through_position is None or (record.position or 0) <= through_position:
                doomed.append(record)
        deletes: list[Any] = []
        for record in doomed:
            for key in (
                _key(schema.EVENT_PREFIX + record.stream, record.cursor),
                _key(schema.EVENT_ID_PREFIX + record.event_id, schema.GUARD_SORT_KEY),
            ):
                deletes.append({"DeleteRequest": {"Key": key}})
        self._batch_write(deletes, "expire records in")
        latest = max((record.occurred_at for record in doomed), default=None)
        return ExpireResult(deleted=len(doomed), latest=latest)

    def streams(self, *, prefix: str = "") -> Iterator[str]:
        return heapq.merge(
            *(self._stream_names(bucket, prefix) for bucket in range(schema.STREAM_NAME_BUCKETS))
        )

    def _stream_names(self, bucket: int, prefix: str) -> Iterator[str]:
        condition = "#pk = :pk" + (" AND begins_with(#sk, :prefix)" if prefix else "")
        names = {"#pk": schema.PARTITION_KEY, **({"#sk": schema.SORT_KEY} if prefix else {})}
        values: dict[str, Any] = {":pk": {"S": schema.STREAM_NAME_PREFIX + str(bucket)}}
        if prefix:
            values[":prefix"] = {"S": prefix}
        query = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        for item in self._query(query, "read"):
            yield item[schema.SORT_KEY]["S"]

    # -- projections ----------------------------------------------------------------------------

    def get_projection(self, projection: str, key: str) -> ProjectionRow | None:
        response = self._call(
            "read",
            "get_item",
            TableName=self.table,
            Key=_key(schema.PROJECTION_PREFIX + projection, key),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _row(item) if item else None

    def get_projections(self, projection: str, keys: Iterable[str]) -> dict[str, ProjectionRow]:
        pk = schema.PROJECTION_PREFIX + projection
        wanted = [_key(pk, key) for key in set(keys)]
        return {row.key: row for row in map(_row, self._batch_get(wanted, action="read"))}

    def read_projection(
        self, projection: str, *, start: str | None = None, stop: str | None = None
    ) -> Iterator[ProjectionRow]:
        for name, bound in (("start", start), ("stop", stop)):
            if bound is not None and not isinstance(bound, str):
                raise InvalidRequestError(f"{name} must be None or a string, got {bound!r}")
        if start is not None and stop is not None and stop <= start:
            return iter(())
        names = {"#pk": schema.PARTITION_KEY}
        values: dict[str, Any] = {":pk": {"S": schema.PROJECTION_PREFIX + projection}}
        condition = "#pk = :pk"
        if start is not None:
            names["#sk"] = schema.SORT_KEY
            values[":start"] = {"S": start}
            condition += " AND #sk >= :start"
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        rows = map(_row, self._query(query, "read"))
        if stop is None:
            return rows
        # A key condition takes one range operator: the upper bound ends the (lazy) walk here.
        return itertools.takewhile(lambda row: row.key < stop, rows)

    def write_projection(self, projection: str, writes: Sequence[ProjectionWrite]) -> None:
        check_projection_writes(projection, writes)
        if not writes:
            return
        groups = _groups(writes, MAX_TRANSACTION_ITEMS, MAX_TRANSACTION_BYTES)
        if len(groups) > 1:
            # Not atomic as a whole (see max_atomic_writes): check every version first, so a
            # write that is stale from the start changes nothing.
            current = {
                key: row.version
                for key, row in self.get_projections(projection, [w.key for w in writes]).items()
            }
            stale = [w for w in writes if current.get(w.key, 0) != w.expected_version]
            if stale:
                raise conflict_error(projection, stale, current)
        for number, group in enumerate(groups):
            try:
                self._write_rows(projection, group)
            except ConcurrencyError as exc:
                if number == 0:
                    raise
                written = sum(len(done) for done in groups[:number])
                raise ConcurrencyError(
                    f"{exc} (the first {written} of {len(writes)} rows were written: a write "
                    f"of more than {MAX_TRANSACTION_ITEMS} rows is not atomic)"
                ) from exc

    def _write_rows(self, projection: str, writes: Sequence[ProjectionWrite]) -> None:
        pk = schema.PROJECTION_PREFIX + projection
        actions: list[Any] = []
        for write in writes:
            if write.expected_version == 0:
                condition = "attribute_not_exists(#pk)"
                names = {"#pk": schema.PARTITION_KEY}
                values: dict[str, Any] = {}
            else:
                condition = "#version = :expected"
                names = {"#version": schema.ATTR_VERSION}
                values = {":expected": {"N": str(write.expected_version)}}
            common: dict[str, Any] = {
                "TableName": self.table,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
            }
            if values:
                common["ExpressionAttributeValues"] = values
            if write.value is None:
                actions.append({"Delete": {**common, "Key": _key(pk, write.key)}})
            else:
                item = _key(pk, write.key)
                name, data = _packed(write.value, schema.ATTR_VALUE, schema.ATTR_VALUE_ZLIB)
                item[name] = {"B": data}
                item[schema.ATTR_VERSION] = {"N": str(write.expected_version + 1)}
                if write.expires_at is not None:
                    # A Put replaces the whole item: a rewrite without expiry drops the TTL.
                    item[schema.TTL_ATTRIBUTE] = {"N": _ttl_seconds(write.expires_at)}
                actions.append({"Put": {**common, "Item": item}})
        for attempt in range(_ATTEMPTS):
            try:
                self._call(
                    "write a projection to",
                    "transact_write_items",
                    TransactItems=actions,
                )
                return
            except _CancelledError as cancelled:
                stale = [
                    write
                    for write, reason in zip(writes, cancelled.reasons, strict=False)
                    if reason == "ConditionalCheckFailed"
                ]
                if stale:
                    current = {
                        key: row.version
                        for key, row in self.get_projections(
                            projection, [w.key for w in stale]
                        ).items()
                    }
                    raise conflict_error(projection, stale, current) from None
                self._backoff(attempt)
        raise StoreUnavailableError(
            f"cannot write a projection to the event store {self._where}: transactions kept "
            f"being cancelled (throttling or conflicts) after {_ATTEMPTS} attempts"
        )

    def clear_projection(self, projection: str) -> None:
        query = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY, "#sk": schema.SORT_KEY},
            "ExpressionAttributeValues": {":pk": {"S": schema.PROJECTION_PREFIX + projection}},
            "ProjectionExpression": "#pk, #sk",
            "ConsistentRead": True,
        }
        deletes = [{"DeleteRequest": {"Key": item}} for item in self._query(query, "read")]
        self._batch_write(deletes, "clear a projection in")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, action: str, operation: str, **request: Any) -> Any:
        """Call one DynamoDB operation (a client method name) with the store's error handling."""
        client = self._client
        if client is None:
            raise StoreUnavailableError(f"the event store {self._where} is closed")
        try:
            return getattr(client, operation)(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "TransactionCanceledException":
                reasons = [
                    str(reason.get("Code") or "None")
                    for reason in exc.response.get("CancellationReasons", [])
                ]
                if any(r == "ConditionalCheckFailed" or r in _TRANSIENT_REASONS for r in reasons):
                    raise _CancelledError(reasons) from exc
            raise _translate(exc, self._where, action) from exc
        except BotoCoreError as exc:
            raise _translate(exc, self._where, action) from exc

    def _query(
        self, query: dict[str, Any], action: str, *, limit: int | None = None
    ) -> Iterator[Item]:
        """Every item a Query matches, page after page (1 MB each), at most `limit`."""
        remaining = limit
        while True:
            if remaining is not None:
                query["Limit"] = remaining
            response = self._call(action, "query", **query)
            items = response.get("Items", [])
            yield from items
            if remaining is not None:
                remaining -= len(items)
                if remaining <= 0:
                    return
            start = response.get("LastEvaluatedKey")
            if not start:
                return
            query["ExclusiveStartKey"] = start

    def _batch_get(
        self, keys: list[Item], *, action: str, projection: str | None = None
    ) -> list[Item]:
        found: list[Item] = []
        for offset in range(0, len(keys), _BATCH_GET_KEYS):
            request: dict[str, Any] = {
                "Keys": keys[offset : offset + _BATCH_GET_KEYS],
                "ConsistentRead": True,
            }
            if projection is not None:
                request["ProjectionExpression"] = "#wanted"
                request["ExpressionAttributeNames"] = {"#wanted": projection}
            pending: dict[str, Any] = {self.table: request}
            for attempt in range(_ATTEMPTS + 1):
                response = self._call(action, "batch_get_item", RequestItems=pending)
                found += response.get("Responses", {}).get(self.table, [])
                pending = dict(response.get("UnprocessedKeys") or {})
                if not pending:
                    break
                if attempt == _ATTEMPTS:
                    raise StoreUnavailableError(
                        f"cannot {action} the event store {self._where}: keys stayed "
                        f"unprocessed after {_ATTEMPTS} retries (throttled)"
                    )
                self._backoff(attempt)
        return found

    def _batch_write(self, requests: list[Any], action: str) -> None:
        for offset in range(0, len(requests), _BATCH_WRITE_ITEMS):
            pending: dict[str, Any] = {self.table: requests[offset : offset + _BATCH_WRITE_ITEMS]}
            for attempt in range(_ATTEMPTS + 1):
                response = self._call(action, "batch_write_item", RequestItems=pending)
                pending = dict(response.get("UnprocessedItems") or {})
                if not pending:
                    break
                if attempt == _ATTEMPTS:
                    raise StoreUnavailableError(
                        f"cannot {action} the event store {self._where}: items stayed "
                        f"unprocessed after {_ATTEMPTS} retries (throttled)"
                    )
                self._backoff(attempt)

    def _backoff(self, attempt: int) -> None:
        # "Full jitter": concurrent writers that collided do not retry in step.
        self._sleep(random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)))


class _CancelledError(Exception):
    """A transaction was cancelled for reasons the caller handles (conditions, throttling)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


def create_table(
    table: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    client: DynamoDBClient | None = None,
) -> bool:
    """Create the store's table (on-demand, with its feed index, stream and TTL) unless it
    exists; wait until it is active. Return True if this call created it."""
    where = f"dynamodb://{table}"
    if client is None:
        try:
            client = _client(region, endpoint_url)
        except (BotoCoreError, ValueError) as exc:
            raise StoreUnavailableError(f"cannot create {where}: {exc}") from exc
    created = True
    try:
        client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": schema.PARTITION_KEY, "AttributeType": schema.KEY_TYPE},
                {"AttributeName": schema.SORT_KEY, "AttributeType": schema.KEY_TYPE},
                {"AttributeName": schema.FEED_PARTITION_KEY, "AttributeType": schema.FEED_KEY_TYPE},
                {"AttributeName": schema.FEED_SORT_KEY, "AttributeType": schema.FEED_KEY_TYPE},
            ],
            KeySchema=[
                {"AttributeName": schema.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": schema.SORT_KEY, "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": schema.FEED_INDEX,
                    "KeySchema": [
                        {"AttributeName": schema.FEED_PARTITION_KEY, "KeyType": "HASH"},
                        {"AttributeName": schema.FEED_SORT_KEY, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": schema.STREAM_VIEW_TYPE},
            SSESpecification={"Enabled": True},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise _translate(exc, where, "create") from exc
        created = False
    except BotoCoreError as exc:
        raise _translate(exc, where, "create") from exc
    try:
        client.get_waiter("table_exists").wait(
            TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.TTL_ATTRIBUTE},
            )
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, where, "create") from exc
    return created


def record_from_image(image: Item) -> EventRecord | None:
    """The record a table stream image holds (DynamoDB JSON), or None for items that are not
    events (guards, counters, stream names, projection rows)."""
    pk = image.get(schema.PARTITION_KEY, {}).get("S", "")
    if not pk.startswith(schema.EVENT_PREFIX):
        return None
    return _record(image)


# -- items ----------------------------------------------------------------------------------


def _key(pk: str, sk: str) -> Item:
    return {schema.PARTITION_KEY: {"S": pk}, schema.SORT_KEY: {"S": sk}}


def _stream_bucket(name: str) -> int:
    return zlib.crc32(name.encode()) % schema.STREAM_NAME_BUCKETS


def _event_item(record: EventRecord, key: str, position: int) -> Item:
    item = _key(schema.EVENT_PREFIX + record.stream, f"{key}#{record.event_id}")
    item[schema.ATTR_EVENT_ID] = {"S": record.event_id}
    item[schema.ATTR_STREAM] = {"S": record.stream}
    item[schema.ATTR_TYPE] = {"S": record.type}
    name, data = _packed(record.payload, schema.ATTR_PAYLOAD, schema.ATTR_PAYLOAD_ZLIB)
    item[name] = {"B": data}
    item[schema.FEED_PARTITION_KEY] = {"N": str(position >> schema.FEED_BUCKET_BITS)}
    item[schema.FEED_SORT_KEY] = {"N": str(position)}
    expires = record.expires_at
    if expires is not None:
        item[schema.ATTR_EXPIRES_KEY] = {"S": time_key(expires)}
        item[schema.TTL_ATTRIBUTE] = {"N": _ttl_seconds(expires)}
    return item


def _ttl_seconds(expires: datetime) -> str:
    """The TTL attribute's value: whole epoch seconds, rounded up so that DynamoDB never
    deletes an item before it is due."""
    return str(-int(-expires.timestamp() // 1))


def _record(item: Item) -> EventRecord:
    sk = item[schema.SORT_KEY]["S"]
    expires = item.get(schema.ATTR_EXPIRES_KEY)
    payload = _unpacked(item, schema.ATTR_PAYLOAD, schema.ATTR_PAYLOAD_ZLIB)
    return EventRecord(
        event_id=item[schema.ATTR_EVENT_ID]["S"],
        stream=item[schema.ATTR_STREAM]["S"],
        type=item[schema.ATTR_TYPE]["S"],
        occurred_at=_from_time_key(sk[: sk.index("#")]),
        payload=payload,
        position=int(item[schema.FEED_SORT_KEY]["N"]),
        expires_at=_from_time_key(expires["S"]) if expires else None,
    )


def _packed(data: bytes, plain: str, compressed: str) -> tuple[str, bytes]:
    """The attribute name and bytes to store `data` under: compressed when that pays."""
    if len(data) >= COMPRESS_FROM:
        packed = zlib.compress(data, 6)
        if len(packed) <= len(data) * 0.9:
            return compressed, packed
    return plain, data


def _unpacked(item: Item, plain: str, compressed: str) -> bytes:
    packed = item.get(compressed)
    if packed is not None:
        return zlib.decompress(bytes(packed["B"]))
    data = item[plain]["B"]
    return data if isinstance(data, bytes) else bytes(data)


def _from_time_key(key: str) -> datetime:
    return datetime.fromisoformat(key[:-1]).replace(tzinfo=UTC)


def _row(item: Item) -> ProjectionRow:
    return ProjectionRow(
        key=item[schema.SORT_KEY]["S"],
        value=_unpacked(item, schema.ATTR_VALUE, schema.ATTR_VALUE_ZLIB),
        version=int(item[schema.ATTR_VERSION]["N"]),
    )


def _groups(
    writes: Sequence[ProjectionWrite], most: int, most_bytes: int
) -> list[Sequence[ProjectionWrite]]:
    groups: list[Sequence[ProjectionWrite]] = []
    start = size = 0
    for i, write in enumerate(writes):
        bytes_ = len(write.value or b"") + len(write.key) + 100
        if i > start and (i - start >= most or size + bytes_ > most_bytes):
            groups.append(writes[start:i])
            start, size = i, 0
        size += bytes_
    groups.append(writes[start:])
    return groups


def _translate(exc: ClientError | BotoCoreError, where: str, action: str) -> EventStoreError:
    """The one place that turns botocore exceptions into the store's errors."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = " ".join(str(error.get("Message", "")).split())
        if code == "ResourceNotFoundException":
            return StoreUnavailableError(
                f"cannot {action} the event store {where}: the table does not exist "
                "(create it with `prov init --store URL`, or deploy the stack)"
            )
        if code in _THROTTLING_CODES:
            return StoreUnavailableError(
                f"cannot {action} the event store {where}: still throttled after "
                f"{CALL_ATTEMPTS} attempts ({code})"
            )
        if code in _UNAVAILABLE_CODES:
            return StoreUnavailableError(
                f"cannot {action} the event store {where}: {code}: {message}"
            )
        if code == "ValidationException":
            return InvalidRequestError(f"cannot {action} the event store {where}: {message}")
        return EventStoreError(f"cannot {action} the event store {where}: {code}: {message}")
    detail = " ".join(str(exc).split())
    return StoreUnavailableError(f"cannot {action} the event store {where}: {detail}")
