"""Appending events to the DynamoDB table: idempotent by each event's id guard, positions
from the counter item, transactions in groups; records of bundled streams in bundles,
idempotent per stream-hour (see the package's notes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventstore import schema
from eventstore.dynamodb.bundles import (
    HOUR_LENGTH,
    MAX_RAW_BYTES,
    MAX_RECORDS,
    bundle_item,
    encoded_size,
    ids_in_bundle,
    is_bundle_key,
)
from eventstore.dynamodb.calls import (
    ATTEMPTS,
    MAX_TRANSACTION_BYTES,
    MAX_TRANSACTION_ITEMS,
    Calls,
    CancelledError,
)
from eventstore.dynamodb.items import event_item, item_key, stream_bucket
from eventstore.errors import StoreUnavailableError
from eventstore.records import AppendResult, EventRecord
from eventstore.store import check_record

_KNOWN_STREAMS = 100_000


class Appending(Calls):
    """`DynamoDBEventStore.append`."""

    _known_streams: set[str]

    def append(self, records: Sequence[EventRecord]) -> AppendResult:
        first: dict[str, tuple[EventRecord, str]] = {}
        for record in records:
            key = check_record(record)
            if record.event_id not in first:
                first[record.event_id] = (record, key)
        if not first:
            return AppendResult()
        singles: list[tuple[EventRecord, str]] = []
        hours: dict[tuple[str, str], list[EventRecord]] = {}
        for record, key in first.values():
            if self._bundled(record.stream):
                hours.setdefault((record.stream, key[:HOUR_LENGTH]), []).append(record)
            else:
                singles.append((record, key))
        if singles:
            stored = self._existing_ids([record.event_id for record, _ in singles])
            singles = [entry for entry in singles if entry[0].event_id not in stored]
        bundles = self._new_bundles(hours)
        count = len(singles) + sum(len(bundle) for _, _, bundle in bundles)
        written: list[str] = []
        positions: list[int] = []
        previous: int | None = None
        if count:
            self._register_streams(
                {record.stream for record, _ in singles} | {stream for stream, _, _ in bundles}
            )
            previous = self._reserve_positions(count) - count
            placed = [(record, key, previous + 1 + i) for i, (record, key) in enumerate(singles)]
            won = self._write_events(placed) if placed else set()
            for record, _key, position in placed:
                if record.event_id in won:
                    written.append(record.event_id)
                    positions.append(position)
            # Bundles take the positions after the single events', each a consecutive block.
            next_position = previous + 1 + len(placed)
            for stream, hour, bundle in bundles:
                if self._write_bundle(stream, hour, bundle, next_position):
                    written += [record.event_id for record in bundle]
                    positions += range(next_position, next_position + len(bundle))
                next_position += len(bundle)
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

    def _new_bundles(
        self, hours: dict[tuple[str, str], list[EventRecord]]
    ) -> list[tuple[str, str, list[EventRecord]]]:
        """The bundles to write: per stream-hour, the records whose ids that stream-hour does
        not hold yet (one strongly consistent Query each), cut to the bundle's bounds."""
        bundles: list[tuple[str, str, list[EventRecord]]] = []
        for (stream, hour), group in hours.items():
            stored = self._ids_in_hour(stream, hour)
            bundle: list[EventRecord] = []
            size = 0
            for record in group:
                if record.event_id in stored:
                    continue
                bytes_ = encoded_size(record)
                if bundle and (len(bundle) >= MAX_RECORDS or size + bytes_ > MAX_RAW_BYTES):
                    bundles.append((stream, hour, bundle))
                    bundle, size = [], 0
                bundle.append(record)
                size += bytes_
            if bundle:
                bundles.append((stream, hour, bundle))
        return bundles

    def _ids_in_hour(self, stream: str, hour: str) -> set[str]:
        """The ids a stream holds in one hour: in its bundles, and in event items (written
        before the stream was bundled, or by an older version)."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :hour)",
            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY, "#sk": schema.SORT_KEY},
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.EVENT_PREFIX + stream},
                ":hour": {"S": hour},
            },
            "ConsistentRead": True,
        }
        ids: set[str] = set()
        for item in self._query(query, "append to"):
            sk = item[schema.SORT_KEY]["S"]
            if is_bundle_key(sk):
                ids.update(ids_in_bundle(item))
            else:
                ids.add(sk[sk.index("#") + 1 :])
        return ids

    def _write_bundle(self, stream: str, hour: str, bundle: list[EventRecord], first: int) -> bool:
        """Write one bundle unless an item of the same key (the same ids) exists: False when
        it does (a retried append that got this far before)."""
        try:
            self._call(
                "append to",
                "put_item",
                TableName=self.table,
                Item=bundle_item(stream, hour, bundle, first),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": schema.PARTITION_KEY},
            )
        except CancelledError:
            return False
        return True

    def _existing_ids(self, event_ids: list[str]) -> set[str]:
        keys = [item_key(schema.EVENT_ID_PREFIX + i, schema.GUARD_SORT_KEY) for i in event_ids]
        # The id from the guard's key: guards no longer repeat it in an attribute.
        found = self._batch_get(keys, projection=schema.PARTITION_KEY, action="append to")
        start = len(schema.EVENT_ID_PREFIX)
        return {item[schema.PARTITION_KEY]["S"][start:] for item in found}

    def _register_streams(self, streams: set[str]) -> None:
        # Written before the events, so a listed stream may (after a crash) hold no record,
        # but a record's stream is always listed. Names this handle wrote already are not
        # written again (a Lambda container appends to the same objects' streams often).
        new = streams - self._known_streams
        if not new:
            return
        items = [
            item_key(schema.STREAM_NAME_PREFIX + str(stream_bucket(name)), name) for name in new
        ]
        self._batch_write([{"PutRequest": {"Item": item}} for item in items], "append to")
        if len(self._known_streams) + len(new) > _KNOWN_STREAMS:
            self._known_streams.clear()
        self._known_streams |= new

    def _reserve_positions(self, count: int) -> int:
        response = self._call(
            "append to",
            "update_item",
            TableName=self.table,
            Key=item_key(schema.COUNTER_KEY, schema.SINGLE_SORT_KEY),
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
        for attempt in range(ATTEMPTS):
            actions: list[Any] = []
            for record, key, position in pending:
                guard = item_key(schema.EVENT_ID_PREFIX + record.event_id, schema.GUARD_SORT_KEY)
                item = event_item(record, key, position)
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
            except CancelledError as cancelled:
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
            f"(throttling or conflicts) after {ATTEMPTS} attempts; nothing of this group "
            "was written"
        )
