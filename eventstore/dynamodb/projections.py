"""Projection rows in the DynamoDB table: reads, and writes in transactions with a version
condition per row (atomic up to `max_atomic_writes` rows; a bigger write checks every version
first, then writes in groups).
"""

from __future__ import annotations

import heapq
import itertools
import zlib
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
from eventstore.records import IndexEntry, ProjectionRow, ProjectionWrite
from eventstore.store import (
    check_index_query,
    check_projection_writes,
    conflict_error,
    summed_totals,
)


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
        for number, (group, deltas) in enumerate(groups):
            try:
                self._write_rows(projection, group, deltas)
            except ConcurrencyError as exc:
                if number == 0:
                    raise
                written = sum(len(done) for done, _deltas in groups[:number])
                raise ConcurrencyError(
                    f"{exc} (the first {written} of {len(writes)} rows were written: a write "
                    f"of more than {MAX_TRANSACTION_ITEMS} rows is not atomic)"
                ) from exc

    def _write_rows(
        self, projection: str, writes: Sequence[ProjectionWrite], deltas: dict[str, int]
    ) -> None:
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
            actions += _index_actions(self.table, projection, write)
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
        actions += _totals_actions(self.table, projection, writes, deltas)
        for attempt in range(ATTEMPTS):
            try:
                self._call(
                    "write a projection to",
                    "transact_write_items",
                    TransactItems=actions,
                )
                return
            except CancelledError as cancelled:
                # Only row actions have conditions: the reasons of the others are "None".
                reasons = [
                    reason
                    for action, reason in zip(actions, cancelled.reasons, strict=False)
                    if "ConditionExpression" in next(iter(action.values()))
                ]
                stale = [
                    write
                    for write, reason in zip(writes, reasons, strict=False)
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

    def read_index(
        self,
        projection: str,
        index: str,
        *,
        start: str | None = None,
        stop: str | None = None,
        after: IndexEntry | None = None,
        limit: int,
        descending: bool = False,
    ) -> list[IndexEntry]:
        check_index_query(projection, index, start, stop, limit)
        if limit == 0 or (start is not None and stop is not None and stop <= start):
            return []
        low = f"{index}#{start or ''}"
        # `#` + 1: above every sort key of this index, below those of the next.
        high = f"{index}#{stop}" if stop is not None else f"{index}$"
        start_key = None
        if after is not None:
            # DynamoDB refuses a start key outside the key condition: one before the range
            # reads it from its start, one past it reads nothing.
            start_key = _index_sort_key(index, after)
            if (start_key >= high) if not descending else (start_key <= low):
                return []
            if (start_key < low) if not descending else (start_key > high):
                start_key = None
        pages = []
        for shard in range(schema.INDEX_SHARDS):
            pk = f"{schema.INDEX_PREFIX}{projection}#{shard}"
            query: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
                "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY, "#sk": schema.SORT_KEY},
                "ExpressionAttributeValues": {
                    ":pk": {"S": pk},
                    ":low": {"S": low},
                    ":high": {"S": high},
                },
                "ProjectionExpression": "#sk",
                "ScanIndexForward": not descending,
                # A page of a list may lag a write by a moment: half the read units.
                "ConsistentRead": False,
            }
            if start_key is not None:
                query["ExclusiveStartKey"] = item_key(pk, start_key)
            pages.append([_entry(item, index) for item in self._query(query, "read", limit=limit)])
        merged = heapq.merge(*pages, reverse=descending)
        return list(itertools.islice(merged, limit))

    def projection_totals(self, projection: str, *, prefix: str = "") -> dict[str, int]:
        totals: dict[str, int] = {}
        for shard in range(schema.TOTALS_SHARDS):
            query: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "#pk = :pk",
                "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
                "ExpressionAttributeValues": {
                    ":pk": {"S": f"{schema.TOTALS_PREFIX}{projection}#{shard}"}
                },
                "ConsistentRead": False,
            }
            if prefix:
                query["KeyConditionExpression"] += " AND begins_with(#sk, :prefix)"
                query["ExpressionAttributeNames"]["#sk"] = schema.SORT_KEY
                query["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
            for item in self._query(query, "read"):
                name = item[schema.SORT_KEY]["S"]
                totals[name] = totals.get(name, 0) + int(item[schema.ATTR_TOTAL]["N"])
        return {name: value for name, value in totals.items() if value}

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
        partitions = [
            schema.PROJECTION_PREFIX + projection,
            *(f"{schema.TOTALS_PREFIX}{projection}#{n}" for n in range(schema.TOTALS_SHARDS)),
            *(f"{schema.INDEX_PREFIX}{projection}#{n}" for n in range(schema.INDEX_SHARDS)),
        ]
        for pk in partitions:
            query = {
                "TableName": self.table,
                "KeyConditionExpression": "#pk = :pk",
                "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY, "#sk": schema.SORT_KEY},
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "ProjectionExpression": "#pk, #sk",
                "ConsistentRead": True,
            }
            deletes = [{"DeleteRequest": {"Key": item}} for item in self._query(query, "read")]
            self._batch_write(deletes, "clear a projection in")


def _index_sort_key(index: str, entry: IndexEntry) -> str:
    return f"{index}#{entry.term}{schema.INDEX_TERM_SEPARATOR}{entry.key}"


def _entry(item: dict[str, Any], index: str) -> IndexEntry:
    sort_key = item[schema.SORT_KEY]["S"][len(index) + 1 :]
    term, _, key = sort_key.partition(schema.INDEX_TERM_SEPARATOR)
    return IndexEntry(term, key)


def _index_shard(key: str) -> int:
    return zlib.crc32(key.encode()) % schema.INDEX_SHARDS


def _index_actions(table: str, projection: str, write: ProjectionWrite) -> list[Any]:
    """The index items a row write adds and deletes (no conditions: the row's own condition
    makes the transaction all-or-nothing)."""
    pk = f"{schema.INDEX_PREFIX}{projection}#{_index_shard(write.key)}"
    actions: list[Any] = []
    for index, term in sorted(write.index_drop):
        key = item_key(pk, _index_sort_key(index, IndexEntry(term, write.key)))
        actions.append({"Delete": {"TableName": table, "Key": key}})
    for index, term in sorted(write.index_add):
        item = item_key(pk, _index_sort_key(index, IndexEntry(term, write.key)))
        actions.append({"Put": {"TableName": table, "Item": item}})
    return actions


def _totals_actions(
    table: str, projection: str, writes: Sequence[ProjectionWrite], deltas: dict[str, int]
) -> list[Any]:
    """One ADD per total in `deltas`, to the shard the first row picks (the same rows land
    on the same shard, and concurrent writers of other rows on other shards)."""
    if not deltas:
        return []
    first = writes[0].key if writes else min(deltas)
    shard = zlib.crc32(first.encode()) % schema.TOTALS_SHARDS
    pk = f"{schema.TOTALS_PREFIX}{projection}#{shard}"
    return [
        {
            "Update": {
                "TableName": table,
                "Key": item_key(pk, name),
                "UpdateExpression": "ADD #total :delta",
                "ExpressionAttributeNames": {"#total": schema.ATTR_TOTAL},
                "ExpressionAttributeValues": {":delta": {"N": str(delta)}},
            }
        }
        for name, delta in sorted(deltas.items())
    ]


def _groups(
    writes: Sequence[ProjectionWrite], most: int, most_bytes: int
) -> list[tuple[Sequence[ProjectionWrite], dict[str, int]]]:
    """The writes cut into transactions of at most `most` items (a row, its index entries,
    and one item per total the group changes) and about `most_bytes`, each with the totals it
    adds. A row whose own entries and totals are more than one transaction holds (a rebuild
    writing an object's many days at once) has its totals spread over the transactions
    after its own: no more atomic than any write of several transactions."""
    groups: list[tuple[Sequence[ProjectionWrite], dict[str, int]]] = []
    start = size = items = 0
    names: set[str] = set()

    def close(end: int) -> None:
        if end > start:
            groups.append((writes[start:end], summed_totals(writes[start:end])))

    for i, write in enumerate(writes):
        bytes_ = len(write.value or b"") + len(write.key) + 100
        own = 1 + len(write.index_add) + len(write.index_drop)
        mine = {name for name, _ in write.totals}
        if own >= most:
            raise InvalidRequestError(
                f"projection row {write.key!r} changes {own - 1} index entries: more than one "
                f"transaction holds ({most} items)"
            )
        if own + len(mine) > most:
            close(i)
            ordered = sorted(summed_totals([write]).items())
            room = most - own
            groups.append(([write], dict(ordered[:room])))
            groups.extend(
                ((), dict(ordered[offset : offset + most]))
                for offset in range(room, len(ordered), most)
            )
            start, size, items, names = i + 1, 0, 0, set()
            continue
        more = mine - names
        if i > start and (
            items + own + len(names) + len(more) > most or size + bytes_ > most_bytes
        ):
            close(i)
            start, size, items, names = i, 0, 0, set()
            more = mine
        size += bytes_ + 100 * (own - 1)
        items += own
        names |= more
    close(len(writes))
    return groups
