"""Reading events from the DynamoDB table: one stream, the feed (the GSI, by position), the
stream names, and `expire`, which deletes what the feed says is due.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from eventstore import schema
from eventstore.dynamodb.calls import Calls
from eventstore.dynamodb.items import item_key, record_from_item
from eventstore.errors import InvalidRequestError
from eventstore.records import EventRecord, ExpireResult
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
        return [record_from_item(item) for item in self._query(query, "read", limit=limit)]

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
            yield from map(record_from_item, self._query(query, "read"))
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
                item_key(schema.EVENT_PREFIX + record.stream, record.cursor),
                item_key(schema.EVENT_ID_PREFIX + record.event_id, schema.GUARD_SORT_KEY),
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
