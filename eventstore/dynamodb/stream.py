"""The table's change stream as Lambda delivers it (DynamoDB Streams records, in JSON): what a
record says happened to an event, without its reader knowing the table's key layout.

Lambda delivers binary attributes base64-encoded; the images are decoded here, into the same
`EventRecord`s the store reads.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from eventstore import schema
from eventstore.dynamodb.bundles import HOUR_LENGTH, is_bundle_key, records_from_bundle
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


def inserted_bundle(change: Mapping[str, Any]) -> tuple[str, list[EventRecord]] | None:
    """The records a stream record's new bundle holds, in position order, with the bundle's
    identity (the same on every delivery, unique in the table: a digest of its keys), or None
    when the record inserted no bundle."""
    if change.get("eventName") != "INSERT":
        return None
    image = (change.get("dynamodb") or {}).get("NewImage")
    if not image or schema.ATTR_BUNDLE not in image:
        return None
    pk = image.get(schema.PARTITION_KEY, {}).get("S", "")
    if not pk.startswith(schema.EVENT_PREFIX):
        return None
    sk = image[schema.SORT_KEY]["S"]
    identity = hashlib.blake2b(f"{pk}\n{sk}".encode(), digest_size=12).hexdigest()
    return identity, records_from_bundle(_decoded(image))


def removed_event(change: Mapping[str, Any]) -> tuple[str, str] | None:
    """The stream and time key (`occurred_at`) of the event a REMOVE record deleted (the
    table's TTL expiring it), or None when the record removed no event. For a bundle, whose
    keys name only its hour, the time key is the last instant of that hour (its records all
    happened within it)."""
    if change.get("eventName") != "REMOVE":
        return None
    keys = (change.get("dynamodb") or {}).get("Keys") or {}
    pk = keys.get(schema.PARTITION_KEY, {}).get("S", "")
    if not pk.startswith(schema.EVENT_PREFIX):
        return None
    sk = keys.get(schema.SORT_KEY, {}).get("S", "")
    if is_bundle_key(sk):
        return pk[len(schema.EVENT_PREFIX) :], sk[:HOUR_LENGTH] + ":59:59.999999Z"
    occurred = sk.partition("#")[0]
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
