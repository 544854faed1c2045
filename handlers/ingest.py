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
The cold start is a metric too (Powertools' ColdStart).

Imports the Kinesis record reader, the pseudonym key secret's reader (shared with
`prov redrive`), `eventstore` and Powertools' batch, logger and metrics
(nothing else of Powertools: its parser and tracer are slow to import).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from eventstore import EventStore, StoreUnavailableError, open_store
from provenance.access.policy import AccessPolicy
from provenance.access.pseudonym_key import KEY_ENV, MissingKeyError
from provenance.access.rules import POLICY_ENV, RETENTION_ENV
from provenance.aws.pseudonym_secret import SECRET_ENV, PseudonymSecretError, read_pseudonym_key
from provenance.domain.errors import ProvenanceError
from provenance.domain.timezones import resolve_zone
from provenance.ingest.kinesis_records import (
    CONTROL,
    KINDS,
    UNDECODABLE,
    RecordOrigin,
    RecordResult,
    ingest_record,
)
from provenance.ingest.pipeline import UNDECODED, IngestOptions, IngestReport
from provenance.sources import SOURCE_NAMES

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "prov-ingest"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Provenance"
# Reasons listed in the batch log line; the rest are summed under "(other reasons)".
_LOGGED_REASONS = 20

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
processor = BatchProcessor(event_type=EventType.KinesisDataStreams)


class ConfigurationError(ProvenanceError):
    """The function's configuration cannot be used (one line, says why)."""


# The environment a runtime is made from. Lambda's is fixed for a container's life; a change
# (tests, or a local run) makes a new runtime rather than using a stale one.
_SETTINGS = ("PROV_STORE", "PROV_TZ", POLICY_ENV, RETENTION_ENV, KEY_ENV, SECRET_ENV)


@dataclass
class _Runtime:
    """What every invocation of this container shares: the open store and ingest options."""

    settings: tuple[str | None, ...]
    store: EventStore
    options: IngestOptions


_runtimes: dict[str, _Runtime] = {}


def _runtime() -> _Runtime:
    """The store `PROV_STORE` names and the ingest options, made on first use and kept for the
    container's life."""
    settings = tuple(os.environ.get(name) for name in _SETTINGS)
    runtime = _runtimes.get("current")
    if runtime is None or runtime.settings != settings:
        url = os.environ.get("PROV_STORE", "")
        if not url:
            raise StoreUnavailableError("PROV_STORE is not set: give the store URL")
        options = IngestOptions(tz=resolve_zone(None), access_policy=_access_policy())
        runtime = _Runtime(settings, open_store(url, create=False), options)
        old = _runtimes.pop("current", None)
        if old is not None:
            old.store.close()
        _runtimes["current"] = runtime
    return runtime


def _access_policy() -> AccessPolicy:
    """The access policy with the deployment's pseudonym key; never a key made here."""
    secret_id = os.environ.get(SECRET_ENV)
    if secret_id is None:
        try:
            return AccessPolicy.load(allow_default_key=False)
        except MissingKeyError:
            raise ConfigurationError(
                f"no pseudonym key: set {SECRET_ENV} to the ARN of a Secrets Manager secret "
                f"holding it (or set {KEY_ENV}, or clients.key_file in the access policy); "
                "a key made in each container would give each container other pseudonyms"
            ) from None
    if KEY_ENV in os.environ:
        raise ConfigurationError(
            f"both {SECRET_ENV} and {KEY_ENV} are set: give the pseudonym key one way only"
        )
    try:
        key = read_pseudonym_key(secret_id)
    except PseudonymSecretError as exc:
        raise ConfigurationError(str(exc)) from None
    return AccessPolicy.load(environ={**os.environ, KEY_ENV: key}, allow_default_key=False)


@dataclass
class _Batch:
    """What one invocation did, for its log line and metrics."""

    records: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    report: IngestReport = field(default_factory=IngestReport)
    failed: list[str] = field(default_factory=list)

    def add(self, result: RecordResult) -> None:
        self.kinds[result.kind] += 1
        self.report.add(result.report)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ingest a Kinesis batch; the partial batch response names the records to deliver again."""
    started = time.perf_counter()
    batch = _Batch(records=len(event.get("Records") or ()))
    try:
        try:
            runtime = _runtime()
        except ProvenanceError as exc:
            # A setting to fix, not an outage: the one line says which (a traceback would not).
            logger.error(
                "configuration not usable: the batch will come again", extra={"error": str(exc)}
            )
            raise
        except Exception:
            logger.exception("store or configuration not available: the batch will come again")
            raise
        response = process_partial_response(
            event=event,
            record_handler=_record_handler(runtime, batch),
            processor=processor,
            context=context,
        )
        return dict(response)
    finally:
        _log_batch(batch, time.perf_counter() - started)
        _add_metrics(batch)


def _record_handler(runtime: _Runtime, batch: _Batch) -> Callable[[KinesisStreamRecord], None]:
    def handle(record: KinesisStreamRecord) -> None:
        payload = record.kinesis
        origin = RecordOrigin(_stream_name(record.event_source_arn), payload.sequence_number)
        try:
            result = ingest_record(runtime.store, payload.data_as_bytes(), origin, runtime.options)
        except Exception:
            batch.failed.append(origin.sequence_number)
            logger.exception(
                "record not stored: Lambda will deliver it again",
                extra={"sequence_number": origin.sequence_number, "event_id": record.event_id},
            )
            raise
        batch.add(result)
        if result.error is not None:
            logger.error(
                "record could not be ingested: kept whole in the quarantine",
                exc_info=result.error,
                extra={"sequence_number": origin.sequence_number, "event_id": record.event_id},
            )

    return handle


def _stream_name(arn: str | None) -> str:
    """`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME` -> NAME (the whole string if not an ARN)."""
    if not arn:
        return "kinesis"
    _, separator, name = arn.partition(":stream/")
    return name if separator and name else arn


def _log_batch(batch: _Batch, seconds: float) -> None:
    report = batch.report
    reasons = report.quarantined_by_reason.most_common()
    logged = dict(reasons[:_LOGGED_REASONS])
    if len(reasons) > _LOGGED_REASONS:
        logged["(other reasons)"] = sum(n for _, n in reasons[_LOGGED_REASONS:])
    logger.info(
        "ingest batch",
        extra={
            "records": batch.records,
            "records_by_kind": {kind: batch.kinds[kind] for kind in KINDS if batch.kinds[kind]},
            "failed_records": len(batch.failed),
            "failed_sequence_numbers": batch.failed,
            "lines": report.lines,
            "consumed": report.consumed,
            "ignored": report.ignored,
            "quarantined": report.quarantined,
            "events": report.events,
            "duplicates": report.duplicates,
            "quarantine_records": report.quarantine_records,
            "events_by_type": dict(report.by_type),
            "ignored_by_reason": dict(report.ignored_by_reason),
            "quarantined_by_reason": logged,
            "lines_by_source": dict(report.lines_by_source),
            "duration_ms": round(seconds * 1000, 1),
        },
    )


def _add_metrics(batch: _Batch) -> None:
    report = batch.report
    count = MetricUnit.Count
    for name, value in (
        ("Records", batch.records),
        ("FailedRecords", len(batch.failed)),
        ("ControlMessages", batch.kinds[CONTROL]),
        ("UndecodableRecords", batch.kinds[UNDECODABLE]),
        ("Lines", report.lines),
        ("Events", report.events),
        ("Duplicates", report.duplicates),
        ("Ignored", report.ignored),
        ("Quarantined", report.quarantined),
    ):
        metrics.add_metric(name=name, unit=count, value=value)
    for source, lines in sorted(report.lines_by_source.items()):
        # One EMF document per source: dimensions apply to a whole document.
        per_source = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        per_source.add_dimension(name="Source", value=_metric_source(source))
        per_source.add_metric(name="Lines", unit=count, value=lines)
        per_source.add_metric(
            name="Quarantined", unit=count, value=report.quarantined_by_source[source]
        )
        per_source.flush_metrics()


def _metric_source(source: str) -> str:
    # Only known names become dimension values: each value is a metric CloudWatch bills.
    return source if source in SOURCE_NAMES or source == UNDECODED else "other"
