"""The projector Lambda: the event table's stream -> ObjectState and AccessCounts.

`handler(event, context)` takes a DynamoDB Streams batch (the table's `NEW_IMAGE` stream) and
answers with a partial batch response (the event source mapping needs
`ReportBatchItemFailures`). The algorithm (slices, the failed slice's sequence number, sealing
the days whose access events the TTL removed, pruning applied-markers) is
`provenance.projections.change_stream.apply_batch`, with the store `PROV_STORE` names.

Configuration (environment): `PROV_STORE` (the table's store URL), Powertools'
`POWERTOOLS_SERVICE_NAME` (default `prov-projector`) and `POWERTOOLS_METRICS_NAMESPACE`
(default `Provenance`). Metrics: Changes, Applied, AlreadyApplied, Conflicts, FailedSlices,
and ProjectionLag (seconds from the newest record's write to its projection).
"""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from handlers.container import store
from provenance.projections.change_stream import apply_batch

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "prov-projector"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Provenance"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    started = time.monotonic()
    batch = apply_batch(store(), records)
    total = batch.total
    failures = [{"itemIdentifier": batch.failed_from}] if batch.failed_from is not None else []
    if failures:
        logger.error(
            "projection failed; Lambda will deliver again from this record",
            extra={"sequence_number": batch.failed_from, "error": batch.error},
        )
        metrics.add_metric(name="FailedSlices", unit=MetricUnit.Count, value=1)
    if batch.prune_error is not None:
        logger.warning("pruning applied-markers failed", extra={"error": batch.prune_error})
    if batch.fold_error is not None:
        logger.warning("folding access counts failed", extra={"error": batch.fold_error})
    metrics.add_metric(name="Changes", unit=MetricUnit.Count, value=batch.event_changes)
    metrics.add_metric(name="Applied", unit=MetricUnit.Count, value=total.applied)
    metrics.add_metric(name="AlreadyApplied", unit=MetricUnit.Count, value=total.already_applied)
    metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=total.conflicts)
    if batch.newest:
        metrics.add_metric(
            name="ProjectionLag",
            unit=MetricUnit.Seconds,
            value=max(0.0, time.time() - batch.newest),
        )
    logger.info(
        "projector batch",
        extra={
            "records": len(records),
            "event_changes": batch.event_changes,
            "applied": total.applied,
            "already_applied": total.already_applied,
            "conflicts": total.conflicts,
            "folded": batch.folded,
            "failed_from": batch.failed_from,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
    return {"batchItemFailures": failures}
