"""The projector Lambda: the event table's stream -> ObjectState and AccessCounts.

`handler(event, context)` takes a DynamoDB Streams batch (the table's `NEW_IMAGE` stream) and
answers with a partial batch response (the event source mapping needs
`ReportBatchItemFailures`).

- Only new event items are applied: guards, counters, stream names and projection rows are
  passed by. Removals are the TTL expiring access events: their counts stay, and the
  projection is sealed up to their day, so a rebuild keeps those days' counts.
- Each event is applied exactly once, however often the stream delivers it:
  `Projector.apply_changes` leaves a marker per applied event in the same atomic write as the
  rows it changed, and rereads and retries when another invocation changed a row first
  (optimistic concurrency; several shards update the same hourly rows).
- The batch is applied in order, in slices. If a slice fails, its first record's sequence
  number is reported: Lambda checkpoints before it and delivers it and everything after it
  again; what was applied already is skipped by its marker.
- Markers expire 48 hours after their change's hour (twice the stream's retention): the
  table's TTL deletes them in the background, for free, and the event source mapping's filter
  keeps those removals from invoking this function. On a store that does not expire rows by
  itself (SQLite, in tests) they are pruned instead, at most once an hour per container.

Configuration (environment): `PROV_STORE` (the table's store URL), Powertools'
`POWERTOOLS_SERVICE_NAME` (default `prov-projector`) and `POWERTOOLS_METRICS_NAMESPACE`
(default `Provenance`). Metrics: Changes, Applied, AlreadyApplied, Conflicts, FailedSlices,
and ProjectionLag (seconds from the newest record's write to its projection).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from eventstore import EventStoreError, schema
from eventstore.dynamodb import record_from_image
from handlers.container import store
from provenance.domain.events import ACCESS_STREAM_PREFIX
from provenance.projections import access_counts
from provenance.projections.access_counts import AccessCountsProjector
from provenance.projections.base import Change, ChangeReport, Projector
from provenance.projections.object_state import ObjectStateProjector

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "prov-projector"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Provenance"
SLICE = 25
"""Records applied together: small enough that a failure redelivers little, large enough that
an hour's counts are written once for many requests."""

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

_pruned_hour: str | None = None


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    changes = [_change(record) for record in records]
    projectors: Sequence[Projector] = (
        ObjectStateProjector(store()),
        AccessCountsProjector(store()),
    )
    total = ChangeReport()
    failures: list[dict[str, str]] = []
    started = time.monotonic()
    for start in range(0, len(records), SLICE):
        piece = [c for c in changes[start : start + SLICE] if c is not None]
        try:
            for projector in projectors:
                _add(total, projector.apply_changes(piece))
        except EventStoreError as exc:
            sequence = records[start]["dynamodb"]["SequenceNumber"]
            logger.error(
                "projection failed; Lambda will deliver again from this record",
                extra={"sequence_number": sequence, "error": str(exc)},
            )
            failures.append({"itemIdentifier": sequence})
            metrics.add_metric(name="FailedSlices", unit=MetricUnit.Count, value=1)
            break
    if not failures:
        _seal_expired(records)
    _prune()
    event_changes = sum(1 for change in changes if change is not None)
    metrics.add_metric(name="Changes", unit=MetricUnit.Count, value=event_changes)
    metrics.add_metric(name="Applied", unit=MetricUnit.Count, value=total.applied)
    metrics.add_metric(name="AlreadyApplied", unit=MetricUnit.Count, value=total.already_applied)
    metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=total.conflicts)
    if records and not failures:
        newest = max(float(r["dynamodb"].get("ApproximateCreationDateTime") or 0) for r in records)
        if newest:
            metrics.add_metric(
                name="ProjectionLag", unit=MetricUnit.Seconds, value=max(0.0, time.time() - newest)
            )
    logger.info(
        "projector batch",
        extra={
            "records": len(records),
            "event_changes": event_changes,
            "applied": total.applied,
            "already_applied": total.already_applied,
            "conflicts": total.conflicts,
            "failed_from": failures[0]["itemIdentifier"] if failures else None,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
    return {"batchItemFailures": failures}


def _change(record: dict[str, Any]) -> Change | None:
    """The change a stream record brings, or None when it is not a new event."""
    if record.get("eventName") != "INSERT":
        return None
    data = record.get("dynamodb") or {}
    image = data.get("NewImage")
    if not image:
        return None
    event = record_from_image(_decoded(image))
    if event is None:
        return None
    written = float(data.get("ApproximateCreationDateTime") or time.time())
    return Change(event, datetime.fromtimestamp(written, UTC).strftime("%Y-%m-%dT%H"))


def _seal_expired(records: list[dict[str, Any]]) -> None:
    """Access events the table's TTL removed: their days' counts must survive a rebuild."""
    latest: str | None = None
    for record in records:
        if record.get("eventName") != "REMOVE":
            continue
        keys = (record.get("dynamodb") or {}).get("Keys") or {}
        pk = keys.get(schema.PARTITION_KEY, {}).get("S", "")
        if pk.startswith(schema.EVENT_PREFIX + ACCESS_STREAM_PREFIX):
            occurred = keys.get(schema.SORT_KEY, {}).get("S", "").partition("#")[0]
            latest = max(latest or occurred, occurred)
    if latest:
        access_counts.seal_through(store(), datetime.fromisoformat(latest.replace("Z", "+00:00")))


def _decoded(image: dict[str, Any]) -> dict[str, Any]:
    """Lambda delivers binary attributes base64-encoded in its JSON; the store wants bytes."""
    return {
        name: {"B": base64.b64decode(value["B"])}
        if "B" in value and isinstance(value["B"], str)
        else value
        for name, value in image.items()
    }


def _add(total: ChangeReport, part: ChangeReport) -> None:
    total.applied += part.applied
    total.already_applied += part.already_applied
    total.passed_by += part.passed_by
    total.conflicts += part.conflicts


def _prune() -> None:
    """Delete old applied-markers where the store does not expire them itself."""
    global _pruned_hour  # noqa: PLW0603  (once an hour per container)
    hour = datetime.now(UTC).strftime("%Y-%m-%dT%H")
    if hour == _pruned_hour:
        return
    try:
        opened = store()
        if not opened.expires_projection_rows:
            for projector in (ObjectStateProjector(opened), AccessCountsProjector(opened)):
                projector.prune_markers(hour)
    except EventStoreError as exc:  # pruning is housekeeping: try again next hour
        logger.warning("pruning applied-markers failed", extra={"error": str(exc)})
    _pruned_hour = hour
