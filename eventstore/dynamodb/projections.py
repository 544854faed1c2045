"""Projection rows in the DynamoDB table: reads, and writes in transactions with a version
condition per row (atomic up to `max_atomic_writes` rows; a bigger write checks every version
first, then writes in groups).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from eventstore import schema
from eventstore.dynamodb.calls import (
    ATTEMPTS,
    MAX_TRANSACTION_BYTES,
    MAX_TRANSACTION_ITEMS,
    Calls,
    CancelledError,
)
from eventstore.dynamodb.items import item_key, pack, row_from_item, ttl_seconds
from eventstore.errors import ConcurrencyError, InvalidRequestError, StoreUnavailableError
from eventstore.records import ProjectionRow, ProjectionWrite
from eventstore.store import check_projection_writes, conflict_error


class ProjectionRows(Calls):
    """`DynamoDBEventStore`'s projection rows."""

    def get_projection(self, projection: str, key: str) -> ProjectionRow | None:
        response = self._call(
            "read",
            "get_item",
            TableName=self.table,
            Key=item_key(schema.PROJECTION_PREFIX + projection, key),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return row_from_item(item) if item else None

    def get_projections(self, projection: str, keys: Iterable[str]) -> dict[str, ProjectionRow]:
        pk = schema.PROJECTION_PREFIX + projection
        wanted = [item_key(pk, key) for key in set(keys)]
        return {row.key: row for row in map(row_from_item, self._batch_get(wanted, action="read"))}

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
        rows = map(row_from_item, self._query(query, "read"))
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
                actions.append({"Delete": {**common, "Key": item_key(pk, write.key)}})
            else:
                item = item_key(pk, write.key)
                name, data = pack(write.value, schema.ATTR_VALUE, schema.ATTR_VALUE_DICT)
                item[name] = {"B": data}
                item[schema.ATTR_VERSION] = {"N": str(write.expected_version + 1)}
                if write.expires_at is not None:
                    # A Put replaces the whole item: a rewrite without expiry drops the TTL.
                    item[schema.TTL_ATTRIBUTE] = {"N": ttl_seconds(write.expires_at)}
                actions.append({"Put": {**common, "Item": item}})
        for attempt in range(ATTEMPTS):
            try:
                self._call(
                    "write a projection to",
                    "transact_write_items",
                    TransactItems=actions,
                )
                return
            except CancelledError as cancelled:
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
            f"being cancelled (throttling or conflicts) after {ATTEMPTS} attempts"
        )

    def put_projection(self, projection: str, rows: Mapping[str, bytes | None]) -> None:
        check_projection_writes(projection, [ProjectionWrite(k, v, 0) for k, v in rows.items()])
        pk = schema.PROJECTION_PREFIX + projection
        puts: list[Any] = []
        for key, value in rows.items():
            item = item_key(pk, key)
            if value is None:
                puts.append({"DeleteRequest": {"Key": item}})
                continue
            name, data = pack(value, schema.ATTR_VALUE, schema.ATTR_VALUE_DICT)
            item[name] = {"B": data}
            item[schema.ATTR_VERSION] = {"N": "1"}
            puts.append({"PutRequest": {"Item": item}})
        self._batch_write(puts, "write a projection to")

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
