"""Reading events from the DynamoDB table: one stream, the feed (the GSI, by position), the
stream names, and `expire`, which deletes what the feed says is due. Bundles
(`eventstore.dynamodb.bundles`) are read as the records they hold.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from eventstore import schema
from eventstore.dynamodb.bundles import (
    HOUR_LENGTH,
    MAX_RECORDS,
    SEPARATOR,
    is_bundle_key,
    records_from_bundle,
)
from eventstore.dynamodb.calls import Calls
from eventstore.dynamodb.items import Item, item_key, record_from_item
from eventstore.errors import InvalidRequestError
from eventstore.records import EventRecord, ExpireResult, time_key
from eventstore.store import bound_key, check_after_position, check_limit, parse_cursor


class Reading(Calls):
    """`DynamoDBEventStore`'s reads of events, and `expire`."""

    def read_stream(
        self,
        stream: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[EventRecord]:
        check_limit(limit)
        if after is not None:
            parse_cursor(after)
        if limit == 0:
            return []
        if not self._bundled(stream):
            bound = None if after is None else ("<" if descending else ">", after)
            items = list(self._partition_items(stream, bound, descending, limit))
            if not any(is_bundle_key(item[schema.SORT_KEY]["S"]) for item in items):
                return [record_from_item(item) for item in items]
            # Bundles in a stream this handle was not told to bundle (another handle wrote
            # them): read it hour by hour like a bundled one.
        return list(itertools.islice(self._bundled_stream(stream, after, descending), limit))

    def _partition_items(
        self,
        stream: str,
        bound: tuple[str, str] | None,
        descending: bool,
        limit: int | None = None,
    ) -> Iterator[Item]:
        """The stream partition's items in sort-key order, those whose sort key stands in
        `bound` (an operator and a key) only."""
        names = {"#pk": schema.PARTITION_KEY}
        values: dict[str, Any] = {":pk": {"S": schema.EVENT_PREFIX + stream}}
        condition = "#pk = :pk"
        if bound is not None:
            operator, key = bound
            names["#sk"] = schema.SORT_KEY
            values[":bound"] = {"S": key}
            condition += f" AND #sk {operator} :bound"
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not descending,
            "ConsistentRead": True,
        }
        return self._query(query, "read", limit=limit)

    def _bundled_stream(
        self, stream: str, after: str | None, descending: bool
    ) -> Iterator[EventRecord]:
        """A stream's records, bundled or not, in order after the cursor: an hour's items are
        read whole (its bundles sort before its event items, and their records interleave),
        sorted, and the next hour is read only if more are wanted."""
        start = None
        if after is not None:
            # Every item of the cursor's hour: its bundles ("H#...") sort before the cursor.
            hour = after[:HOUR_LENGTH]
            start = hour + (";" if descending else SEPARATOR)
        bound = None if start is None else ("<" if descending else ">=", start)
        items = self._partition_items(stream, bound, descending)
        for _hour, group in itertools.groupby(
            items, key=lambda item: item[schema.SORT_KEY]["S"][:HOUR_LENGTH]
        ):
            records: list[EventRecord] = []
            for item in group:
                if is_bundle_key(item[schema.SORT_KEY]["S"]):
                    records += records_from_bundle(item)
                else:
                    records.append(record_from_item(item))
            records.sort(key=_cursor, reverse=descending)
            for record in records:
                if after is None or (
                    record.cursor < after if descending else record.cursor > after
                ):
                    yield record

    def read_all(
        self,
        *,
        types: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_position: int | None = None,
    ) -> Iterator[EventRecord]:
        check_after_position(after_position)
        filters: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        wanted: frozenset[str] | None = None
        if types is not None:
            wanted = frozenset({types} if isinstance(types, str) else set(types))
            if not wanted:
                return iter(())
            names["#type"] = schema.ATTR_TYPE
            for i, name in enumerate(sorted(wanted)):
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
        if filters:
            # Bundles pass the filter whole; their records are filtered one by one.
            names["#bundle"] = schema.ATTR_BUNDLE
            where = f"attribute_exists(#bundle) OR ({' AND '.join(filters)})"
        else:
            where = ""

        def keep(record: EventRecord) -> bool:
            key = time_key(record.occurred_at)
            return (
                (wanted is None or record.type in wanted)
                and (since_key is None or key >= since_key)
                and (until_key is None or key < until_key)
            )

        after = after_position or 0
        return self._feed_records(after, self._feed(after, where, names, values), keep)

    def _feed_records(
        self, after: int, items: Iterator[Item], keep: Callable[[EventRecord], bool]
    ) -> Iterator[EventRecord]:
        """The records of feed items: a bundle's records after `after` that `keep` keeps."""
        if after:
            # A bundle holding `after` starts before it: it is the last item at or before it.
            straddling = self._bundle_at(after)
            if straddling is not None:
                for record in records_from_bundle(straddling):
                    if (record.position or 0) > after and keep(record):
                        yield record
        for item in items:
            if schema.ATTR_BUNDLE in item:
                yield from filter(keep, records_from_bundle(item))
            else:
                yield record_from_item(item)

    def _bundle_at(self, position: int) -> Item | None:
        """The bundle that holds `position` (and may hold later ones), if any: the last feed
        item at or before it, when that is a bundle starting less than `MAX_RECORDS` before."""
        bucket = position >> schema.FEED_BUCKET_BITS
        for looked in (bucket, bucket - 1):
            if looked < 0:
                return None
            query: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": schema.FEED_INDEX,
                "KeyConditionExpression": "#bucket = :bucket AND #position <= :at",
                "ExpressionAttributeNames": {
                    "#bucket": schema.FEED_PARTITION_KEY,
                    "#position": schema.FEED_SORT_KEY,
                },
                "ExpressionAttributeValues": {
                    ":bucket": {"N": str(looked)},
                    ":at": {"N": str(position)},
                },
                "ScanIndexForward": False,
                "Limit": 1,
            }
            items = self._call("read", "query", **query).get("Items", [])
            if items:
                item: Item = items[0]
                first = int(item[schema.FEED_SORT_KEY]["N"])
                if schema.ATTR_BUNDLE in item and first + MAX_RECORDS > position:
                    return item
                return None
        return None

    def _feed(
        self, after: int, filters: str, names: dict[str, str], values: dict[str, Any]
    ) -> Iterator[Item]:
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
            yield from self._query(query, "read")
            bucket += 1

    def _last_position(self) -> int:
        response = self._call(
            "read",
            "get_item",
            TableName=self.table,
            Key=item_key(schema.COUNTER_KEY, schema.SINGLE_SORT_KEY),
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
        deletes: list[Any] = []
        deleted = 0
        latest: datetime | None = None
        for item in self._feed(
            0,
            "#expires <= :due",
            {"#expires": schema.ATTR_EXPIRES_KEY},
            {":due": {"S": due}},
        ):
            # A bundle goes when every record in it is due (its expiry is its last record's).
            if schema.ATTR_BUNDLE in item:
                records = records_from_bundle(item)
                keys = [item_key(item[schema.PARTITION_KEY]["S"], item[schema.SORT_KEY]["S"])]
            else:
                records = [record_from_item(item)]
                keys = [
                    item_key(schema.EVENT_PREFIX + records[0].stream, records[0].cursor),
                    item_key(schema.EVENT_ID_PREFIX + records[0].event_id, schema.GUARD_SORT_KEY),
                ]
            if through_position is not None and (records[-1].position or 0) > through_position:
                continue
            deletes += [{"DeleteRequest": {"Key": key}} for key in keys]
            deleted += len(records)
            newest = max(record.occurred_at for record in records)
            latest = newest if latest is None else max(latest, newest)
        self._batch_write(deletes, "expire records in")
        return ExpireResult(deleted=deleted, latest=latest)

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


def _cursor(record: EventRecord) -> str:
    return record.cursor
