"""The Kinesis ingest Lambda: each record's data -> events in the store named by `PROV_STORE`.

`handler(event, context)` takes a Kinesis batch through Powertools' `BatchProcessor` and
answers with a partial batch response (the event source mapping needs
`ReportBatchItemFailures`). Per record: decode and ingest (`provenance.ingest.kinesis_records`),
with one store append per record (more only for a record of over 20,000 lines).

- Content never fails a record: lines that are not understood, and data that is not lines at
  all, are quarantined verbatim in the store (`prov quarantine --store ...` lists them).
- A record whose events could not be stored (the store's `EventStoreError` after its own
  retries) is reported in `batchItemFailures`, so Lambda delivers it again (and, as Kinesis
  does, everything after it). When every record of a batch fails (the store is down),
  Powertools raises instead, and Lambda retries the whole batch; the function's Errors metric
  then shows the outage too.
- A redelivered batch adds nothing: every event id is deterministic (DESIGN.md, identity).

Configuration (environment): `PROV_STORE` (the store URL; it must exist already: the function
never creates a store), `PROV_TZ` (zone of zone-less log times; default UTC in Lambda),
the access policy as for `prov ingest` (`PROV_ACCESS_POLICY`; `PROV_ACCESS_EVENT_DAYS`, a
whole number of days from 1 to 36525 or `never`, overrides its access-event expiry), and
Powertools' `POWERTOOLS_SERVICE_NAME` (default `prov-ingest`) and
`POWERTOOLS_METRICS_NAMESPACE` (default `Provenance`).

The pseudonym key (client addresses in access logs are stored as keyed pseudonyms) comes from
the Secrets Manager secret whose ARN or name is `PROV_PSEUDONYM_KEY_SECRET` (its SecretString,
used as is: at least 16 characters; the role needs `secretsmanager:GetSecretValue` on it, and
`kms:Decrypt` if a customer-managed key encrypts it), else from `PROV_PSEUDONYM_KEY` (visible
to anyone who can read the function's configuration) or the policy's `clients.key_file`;
setting both variables is an error. The function never makes a key itself: a key made per
container would give each container its own pseudonyms for the same client. So without a key
(and unless the policy shows raw addresses) every invocation fails at setup with a one-line
error, as it does when the secret cannot be read (missing, access denied, too short): Lambda
retries the batch, which is right, as events stored under another key would carry wrong
pseudonyms for good. The store, zone, policy and key are set up once per container, on the
first invocation, and kept (the secret is read once per container); a failed setup is tried
again on the next invocation.

Observability: one structured JSON log line per batch (`ingest batch`: records by kind,
lines, events, duplicates, ignored, quarantined with reasons, lines by source, failed sequence
numbers, duration), plus an error line per failed or force-quarantined record. Metrics (EMF,
dimension `service`): Records, FailedRecords, ControlMessages, UndecodableRecords, Lines,
Events, Duplicates, Ignored, Quarantined; and per source (parser) `Lines` and `Quarantined`
with a `Source` dimension. A dimension rather than a metric name per source, so that one
graph or alarm covers every source (metric math, SEARCH) and a new source needs no dashboard
change; its values are the registry's source names, so the number of metrics stays bounded.
The cold start is a metric too (Powertools' ColdStart). The counts and the log line's fields
are `provenance.ingest.batch_report`'s; the options are the deployment's, built as
`prov redrive` builds them (`provenance.aws.deployment`); the store is the container's
(`handlers.container`). Of Powertools, only its batch, logger and metrics are imported: its
parser and tracer are slow to import. Its batch utility is imported before pydantic is: it
imports (and builds) the parser's models when pydantic is already loaded. The event models
are built on first use (`provenance.domain.events`), so the init phase builds none.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

# Powertools first, before anything that imports pydantic (see the module doc; isort keeps it).
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from handlers import container
from provenance.aws.deployment import SETTINGS, ingest_options
from provenance.domain.errors import ProvenanceError
from provenance.ingest.batch_report import BatchReport
from provenance.ingest.kinesis_records import RecordOrigin, ingest_record, stream_name
from provenance.ingest.reader import IngestOptions

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "prov-ingest"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Provenance"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
processor = BatchProcessor(event_type=EventType.KinesisDataStreams)


# The options are made on first use and kept for the container's life; Lambda's environment is
# fixed for it, and a change (tests, or a local run) makes new options rather than using stale
# ones. An error is not kept: a failed setup is tried again on the next invocation.
@functools.lru_cache(maxsize=1)
def _options(settings: tuple[str | None, ...]) -> IngestOptions:
    """The deployment's ingest options for these settings (`SETTINGS`' values)."""
    return ingest_options(in_function=True)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ingest a Kinesis batch; the partial batch response names the records to deliver again."""
    started = time.perf_counter()
    batch = BatchReport(records=len(event.get("Records") or ()))
    try:
        try:
            store = container.store()
            options = _options(tuple(os.environ.get(name) for name in SETTINGS))
        except ProvenanceError as exc:
            # A setting to fix, not an outage: the one line says which (a traceback would not).
            logger.error(
                "configuration not usable: the batch will come again", extra={"error": str(exc)}
            )
            raise
        except Exception:
            logger.exception("store or configuration not available: the batch will come again")
            raise

        def handle(record: KinesisStreamRecord) -> None:
            payload = record.kinesis
            origin = RecordOrigin(stream_name(record.event_source_arn), payload.sequence_number)
            where = {"sequence_number": origin.sequence_number, "event_id": record.event_id}
            try:
                result = ingest_record(store, payload.data_as_bytes(), origin, options)
            except Exception:
                batch.failed.append(origin.sequence_number)
                logger.exception("record not stored: Lambda will deliver it again", extra=where)
                raise
            batch.add(result)
            if result.error is not None:
                logger.error(
                    "record could not be ingested: kept whole in the quarantine",
                    exc_info=result.error,
                    extra=where,
                )

        response = process_partial_response(
            event=event, record_handler=handle, processor=processor, context=context
        )
        return dict(response)
    finally:
        logger.info("ingest batch", extra=batch.log_fields(time.perf_counter() - started))
        _add_metrics(batch)


def _add_metrics(batch: BatchReport) -> None:
    count = MetricUnit.Count
    for name, value in batch.metrics():
        metrics.add_metric(name=name, unit=count, value=value)
    for source, lines, quarantined in batch.source_metrics():
        # One EMF document per source: dimensions apply to a whole document.
        per_source = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        per_source.add_dimension(name="Source", value=source)
        per_source.add_metric(name="Lines", unit=count, value=lines)
        per_source.add_metric(name="Quarantined", unit=count, value=quarantined)
        per_source.flush_metrics()
