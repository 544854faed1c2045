"""The table's change stream as Lambda delivers it (DynamoDB Streams records, in JSON): what a
record says happened to an event, without its reader knowing the table's key layout.

Lambda delivers binary attributes base64-encoded; the images are decoded here, into the same
`EventRecord`s the store reads.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from eventstore import schema
from eventstore.dynamodb.items import record_from_image
from eventstore.records import EventRecord


def inserted_record(change: Mapping[str, Any]) -> EventRecord | None:
    """The event a stream record inserted, or None when it is not a new event (another kind
    of change, or an item that is not an event: guards, counters, stream names, projection
    rows)."""
    if change.get("eventName") != "INSERT":
        return None
    data = change.get("dynamodb") or {}
    image = data.get("NewImage")
    if not image:
        return None
    return record_from_image(_decoded(image))


def removed_event(change: Mapping[str, Any]) -> tuple[str, str] | None:
    """The stream and time key (`occurred_at`) of the event a REMOVE record deleted (the
    table's TTL expiring it), or None when the record removed no event."""
    if change.get("eventName") != "REMOVE":
        return None
    keys = (change.get("dynamodb") or {}).get("Keys") or {}
    pk = keys.get(schema.PARTITION_KEY, {}).get("S", "")
    if not pk.startswith(schema.EVENT_PREFIX):
        return None
    occurred = keys.get(schema.SORT_KEY, {}).get("S", "").partition("#")[0]
    return pk[len(schema.EVENT_PREFIX) :], occurred


def written_at(change: Mapping[str, Any]) -> float:
    """When the record's change was written, in epoch seconds (DynamoDB's approximate
    creation time); 0.0 when the record does not say."""
    return float(change["dynamodb"].get("ApproximateCreationDateTime") or 0)


def sequence_number(change: Mapping[str, Any]) -> str:
    """The record's sequence number: a failed batch item names it, and Lambda delivers the
    stream again from there."""
    return str(change["dynamodb"]["SequenceNumber"])


def _decoded(image: dict[str, Any]) -> dict[str, Any]:
    """Lambda delivers binary attributes base64-encoded in its JSON; the store wants bytes."""
    return {
        name: {"B": base64.b64decode(value["B"])}
        if "B" in value and isinstance(value["B"], str)
        else value
        for name, value in image.items()
    }
