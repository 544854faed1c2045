"""`prov redrive`: the Kinesis records the ingest function gave up on, ingested again.

When Lambda gives up on a batch (a store outage longer than the mapping's retries, or records
older than its maximum record age), its on-failure destination, an SQS queue (`cdk/ingest.py`),
gets one message per batch: metadata only, naming the stream, the shard and the sequence
numbers of the batch's first and last records (`KinesisBatchInfo`). The records themselves stay
in the stream until its retention ends (longer than the record age, checked by the CDK config).

For each message this reads that range again (GetShardIterator AT_SEQUENCE_NUMBER, then
GetRecords until past the last sequence number, compared as integers) and ingests every record
exactly as the ingest function does (`kinesis_records.ingest_record` with the stream's name and
the record's sequence number, and the options the caller builds as the function does), so every
event gets the id it would have had: a record that was stored after all adds duplicates only.
The message is deleted only once every record of its range is stored.

Messages kept in the queue (never deleted), each reported in one line:

- expired: the range's first record is no longer in the stream (the iterator starts past it,
  or the shard or stream is gone). What is still there of the range is ingested first: it is
  about to expire too.
- incomplete: the shard holds nothing more before the range's last sequence number.
- unreadable: the stream could not be read (access denied, throttled past the retries, ...).
- projector failure (`DDBStreamBatchInfo`): the events are stored but a projection missed
  them; `prov rebuild` after fixing the cause (an operator pointed at the wrong queue learns
  what to do).
- malformed: a body that is not a failure record.
- store failed: the store refused a record; the run stops there, as the next messages would
  fail the same way.

Messages are received one at a time and hidden from other readers while handled (SQS
visibility); those kept are made visible again when the run ends, so the queue's depth alarm
stays on until someone deals with them. A dry run reads the records and stores and deletes
nothing. Clients: SQS in `region` (--region), else the queue URL's, else the configured one
(`eventstore.aws_region`: AWS_REGION, then botocore's); Kinesis in the stream ARN's. The
caller builds the ingest options as the function builds them (`provenance.aws.deployment`).
The messages, their outcomes and the run's report are `provenance.aws.failure_messages`'s; the
CLI prints them.

boto3 is imported when the first client is made (only `prov redrive` needs it).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from eventstore import EventStore, EventStoreError
from eventstore.aws_client import AwsClientError, aws_client, error_code, error_text, one_line
from eventstore.aws_region import NoRegionError
from provenance.access.rules import AccessPolicyError
from provenance.aws.failure_messages import (
    DYNAMODB_INFO,
    EXPIRED,
    INCOMPLETE,
    MALFORMED,
    NOT_DELETED,
    PROJECTOR,
    REBUILD_HINT,
    REDRIVEN,
    STORE_FAILED,
    UNREADABLE,
    WOULD_REDRIVE,
    FailedBatch,
    MalformedMessageError,
    MessageResult,
    RedriveReport,
    counted,
    parse_failure,
)
from provenance.domain.errors import ProvenanceError
from provenance.ingest.kinesis_records import RecordOrigin, ingest_record
from provenance.ingest.reader import IngestOptions

DEFAULT_WAIT_SECONDS = 2
"""Long polling per receive: SQS then asks all its servers, so an empty answer means empty."""
DEFAULT_VISIBILITY_SECONDS = 900
"""How long a received message stays hidden while its records are read and stored."""
MAX_GET_RECORDS = 10_000
# A shard with gaps can answer empty pages before the records: this many in a row, and the
# range is reported incomplete rather than read forever.
MAX_EMPTY_READS = 100
# An iterator lasts 5 minutes: a slow store can outlast it; get a new one this many times.
MAX_ITERATOR_RENEWALS = 20
_CALL_ATTEMPTS = 8

# sqs.REGION.amazonaws.com[.cn] and the legacy REGION.queue.amazonaws.com.
_QUEUE_HOST = re.compile(
    r"(?:sqs(?:-fips)?\.(?P<a>[a-z]{2}(?:-[a-z]+)+-\d+)|(?P<b>[a-z]{2}(?:-[a-z]+)+-\d+)\.queue)"
    r"\.amazonaws\.com(?:\.cn)?"
)


class RedriveError(ProvenanceError):
    """The queue, a client or the configuration cannot be used (one line, says why)."""


# --- AWS clients ---------------------------------------------------------------------------


class SqsClient(Protocol):
    """The part of a boto3 SQS client used here."""

    def receive_message(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def delete_message(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def change_message_visibility(self, **kwargs: Any) -> Mapping[str, Any]: ...


class KinesisClient(Protocol):
    """The part of a boto3 Kinesis client used here."""

    def get_shard_iterator(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def get_records(self, **kwargs: Any) -> Mapping[str, Any]: ...


def queue_region(queue_url: str) -> str | None:
    """The region an SQS queue URL names (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)."""
    host = urlsplit(queue_url).hostname or ""
    match = _QUEUE_HOST.fullmatch(host)
    return (match.group("a") or match.group("b")) if match else None


class AwsClients:
    """The queue's SQS client and a Kinesis client per region, made on first use.

    Regions: `region`, else the queue URL's, else the configured one (AWS_REGION, then
    botocore's: AWS_DEFAULT_REGION, the profile); a stream's own region from its ARN.
    `endpoint_url` (or botocore's AWS_ENDPOINT_URL*) points all of them at another endpoint
    (a local stack)."""

    def __init__(
        self, queue_url: str, *, region: str | None = None, endpoint_url: str | None = None
    ) -> None:
        self.queue_url = queue_url
        self.region = region or queue_region(queue_url)
        self.endpoint_url = endpoint_url
        self._sqs: SqsClient | None = None
        self._kinesis: dict[str | None, KinesisClient] = {}

    def sqs(self) -> SqsClient:
        if self._sqs is None:
            # The read timeout outlasts a long poll (at most 20 s).
            self._sqs = _client("sqs", self.region, self.endpoint_url, read_timeout=40)
        return self._sqs

    def kinesis(self, region: str | None) -> KinesisClient:
        region = region or self.region
        client = self._kinesis.get(region)
        if client is None:
            client = self._kinesis[region] = _client("kinesis", region, self.endpoint_url)
        return client


def _client(service: str, region: str | None, endpoint_url: str | None, **timeouts: int) -> Any:
    try:
        return aws_client(
            service,
            region=region,
            endpoint_url=endpoint_url,
            attempts=_CALL_ATTEMPTS,
            connect_timeout=10,
            read_timeout=timeouts.get("read_timeout", 60),
            user_agent="prov-redrive",
        )
    except (NoRegionError, AwsClientError) as exc:
        raise RedriveError(str(exc)) from None


# --- reading a shard's range again ---------------------------------------------------------


class _RangeReader:
    """The records of one shard from `batch.start` to `batch.end` inclusive, in order; once
    read, says whether the range was all there."""

    def __init__(self, kinesis: KinesisClient, batch: FailedBatch) -> None:
        self.kinesis = kinesis
        self.batch = batch
        self.first_readable: int | None = None
        """The first sequence number found at or after the range's start."""
        self.reached_end = False
        self.stopped: str | None = None
        """Why reading ended before the range's last record, if it did."""

    @property
    def complete(self) -> bool:
        return self.reached_end and self.first_readable == int(self.batch.start)

    def records(self) -> Iterator[Mapping[str, Any]]:
        """Botocore errors propagate (the caller reports them)."""
        from botocore.exceptions import ClientError  # noqa: PLC0415

        start, end = int(self.batch.start), int(self.batch.end)
        limit = min(MAX_GET_RECORDS, max(self.batch.size or 1_000, 1))
        iterator: str | None = self._iterator("AT_SEQUENCE_NUMBER", self.batch.start)
        last: str | None = None
        empty = renewals = 0
        while iterator is not None:
            try:
                page = self.kinesis.get_records(
                    ShardIterator=iterator, Limit=limit, StreamARN=self.batch.stream_arn
                )
            except ClientError as exc:
                if error_code(exc) != "ExpiredIteratorException":
                    raise
                renewals += 1
                if renewals > MAX_ITERATOR_RENEWALS:
                    raise
                # Storing took longer than an iterator lives: go on after the last record.
                iterator = (
                    self._iterator("AFTER_SEQUENCE_NUMBER", last)
                    if last is not None
                    else self._iterator("AT_SEQUENCE_NUMBER", self.batch.start)
                )
                continue
            records = page.get("Records") or []
            for record in records:
                sequence = int(record["SequenceNumber"])
                if sequence < start:
                    continue
                if self.first_readable is None:
                    self.first_readable = sequence
                if sequence > end:
                    self.reached_end = True
                    return
                yield record
                last = record["SequenceNumber"]
                if sequence == end:
                    self.reached_end = True
                    return
            iterator = page.get("NextShardIterator")
            if iterator is None:
                self.stopped = "the shard was closed before the range's last record"
                return
            if records:
                empty = 0
                continue
            if not page.get("MillisBehindLatest"):
                self.stopped = "the shard holds nothing more"
                return
            empty += 1
            if empty >= MAX_EMPTY_READS:
                self.stopped = f"{MAX_EMPTY_READS} empty reads in a row"
                return

    def _iterator(self, kind: str, sequence: str) -> str:
        response = self.kinesis.get_shard_iterator(
            StreamARN=self.batch.stream_arn,
            ShardId=self.batch.shard_id,
            ShardIteratorType=kind,
            StartingSequenceNumber=sequence,
        )
        return str(response["ShardIterator"])


# --- the run -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RedriveOptions:
    """Which queue, how many messages, and whether to store and delete at all."""

    queue_url: str
    max_messages: int | None = None
    dry_run: bool = False
    wait_seconds: int = DEFAULT_WAIT_SECONDS
    visibility_seconds: int = DEFAULT_VISIBILITY_SECONDS


class _StoreFailedError(Exception):
    """The store refused a record: the run stops (the next messages would fail the same way)."""


def redrive(
    store: EventStore,
    options: RedriveOptions,
    ingest: IngestOptions,
    clients: AwsClients,
    *,
    on_message: Callable[[MessageResult], None] | None = None,
) -> RedriveReport:
    """Handle the queue's messages one by one (see the module doc); `on_message` hears of
    each as soon as it is done. Raises `RedriveError` when the queue cannot be used."""
    return _Run(store, options, ingest, clients, on_message).run()


class _Run:
    def __init__(
        self,
        store: EventStore,
        options: RedriveOptions,
        ingest: IngestOptions,
        clients: AwsClients,
        on_message: Callable[[MessageResult], None] | None,
    ) -> None:
        self.store = store
        self.options = options
        self.ingest = ingest
        self.clients = clients
        self.on_message = on_message
        self.report = RedriveReport(options.queue_url, dry_run=options.dry_run)
        # Received and not deleted: message id -> its latest receipt handle.
        self.hidden: dict[str, str] = {}
        self.seen: set[str] = set()

    def run(self) -> RedriveReport:
        sqs = self.clients.sqs()
        limit = self.options.max_messages
        try:
            while limit is None or len(self.report.messages) < limit:
                message = self._receive(sqs)
                if message is None:
                    break
                message_id = str(message.get("MessageId", "?"))
                handle = str(message["ReceiptHandle"])
                self.hidden[message_id] = handle
                if message_id in self.seen:
                    # Round again (a run longer than the visibility timeout): all were seen.
                    break
                self.seen.add(message_id)
                try:
                    result = self._handle(sqs, message_id, handle, str(message.get("Body", "")))
                except _StoreFailedError as exc:
                    result = exc.args[0]
                    self.report.stopped = result.detail
                self.report.messages.append(result)
                if result.deleted:
                    self.hidden.pop(message_id, None)
                if self.on_message is not None:
                    self.on_message(result)
                if self.report.stopped:
                    break
        finally:
            self._show_again(sqs)
        return self.report

    def _receive(self, sqs: SqsClient) -> Mapping[str, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            response = sqs.receive_message(
                QueueUrl=self.options.queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=self.options.wait_seconds,
                VisibilityTimeout=self.options.visibility_seconds,
            )
        except ClientError as exc:
            code = error_code(exc)
            if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                raise RedriveError(f"no queue {self.options.queue_url}") from None
            raise RedriveError(
                f"cannot receive from {self.options.queue_url}: {error_text(exc)}"
            ) from None
        except (BotoCoreError, ValueError) as exc:
            raise RedriveError(
                f"cannot receive from {self.options.queue_url}: {one_line(exc)}"
            ) from None
        messages = response.get("Messages") or []
        return messages[0] if messages else None

    def _handle(self, sqs: SqsClient, message_id: str, handle: str, body: str) -> MessageResult:
        try:
            batch = parse_failure(body)
        except MalformedMessageError as exc:
            return MessageResult(message_id, MALFORMED, f"malformed: {exc}")
        if batch.kind == DYNAMODB_INFO:
            return MessageResult(
                message_id,
                PROJECTOR,
                f"projector failure (DynamoDB stream records): {REBUILD_HINT}",
                batch=batch,
            )
        result = self._read_and_ingest(message_id, batch)
        if result.outcome == REDRIVEN:
            self._delete(sqs, handle, result)
        return result

    def _read_and_ingest(self, message_id: str, batch: FailedBatch) -> MessageResult:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        result = MessageResult(message_id, REDRIVEN, "", batch=batch)
        reader = _RangeReader(self.clients.kinesis(batch.region), batch)
        try:
            for record in reader.records():
                data = bytes(record["Data"])
                result.records += 1
                result.bytes += len(data)
                if not self.options.dry_run:
                    self._ingest(result, batch, record["SequenceNumber"], data)
        except (ClientError, BotoCoreError) as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                result.outcome = EXPIRED
                result.detail = f"the stream or shard is gone ({error_text(exc)})"
            elif code == "InvalidArgumentException" and result.records == 0:
                result.outcome = EXPIRED
                result.detail = f"the shard has no such record ({error_text(exc)})"
            else:
                result.outcome = UNREADABLE
                result.detail = f"cannot read the stream: {error_text(exc)}"
            if result.records:
                result.detail += f"; {self._what_was_read(result)} before that"
            return result
        if reader.complete:
            result.outcome = WOULD_REDRIVE if self.options.dry_run else REDRIVEN
            result.detail = self._what_was_read(result)
            if self.options.dry_run:
                result.detail += " to ingest"
            return result
        start = int(batch.start)
        if reader.first_readable is None or reader.first_readable > start:
            result.outcome = EXPIRED
            first = reader.first_readable
            where = (
                "nothing of the range is left"
                if result.records == 0
                else f"the stream starts at {first}"
            )
            result.detail = f"the range's first record is no longer in the stream ({where})"
        else:
            result.outcome = INCOMPLETE
            result.detail = f"the range ends early: {reader.stopped or 'records missing'}"
        if result.records:
            verb = "would ingest" if self.options.dry_run else "ingested"
            result.detail += f"; {verb} what is still there: {self._what_was_read(result)}"
        return result

    def _ingest(
        self, result: MessageResult, batch: FailedBatch, sequence_number: str, data: bytes
    ) -> None:
        origin = RecordOrigin(batch.stream_name, sequence_number)
        try:
            record_result = ingest_record(self.store, data, origin, self.ingest)
        except (EventStoreError, AccessPolicyError) as exc:
            result.outcome = STORE_FAILED
            result.detail = f"record {sequence_number} not stored: {one_line(exc)}" + (
                f" (after {self._what_was_read(result)})" if result.records > 1 else ""
            )
            raise _StoreFailedError(result) from None
        result.report.add(record_result.report)

    def _what_was_read(self, result: MessageResult) -> str:
        records = counted(result.records, "record")
        if self.options.dry_run:
            return f"{records} ({result.bytes:,} bytes)"
        report = result.report
        return (
            f"{records}, {counted(report.lines, 'line')}: {report.events:,} new events, "
            f"{report.duplicates:,} already stored, {report.ignored:,} ignored, "
            f"{report.quarantined:,} quarantined"
        )

    def _delete(self, sqs: SqsClient, handle: str, result: MessageResult) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            sqs.delete_message(QueueUrl=self.options.queue_url, ReceiptHandle=handle)
        except (ClientError, BotoCoreError) as exc:
            result.outcome = NOT_DELETED
            result.detail += f"; stored, but the message could not be deleted: {error_text(exc)}"
            return
        result.deleted = True

    def _show_again(self, sqs: SqsClient) -> None:
        """Kept messages visible again now (not after the visibility timeout): the queue's
        depth alarm stays on, and the next run sees them."""
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        for handle in self.hidden.values():
            # On failure it shows again when its visibility timeout ends anyway.
            with contextlib.suppress(ClientError, BotoCoreError):
                sqs.change_message_visibility(
                    QueueUrl=self.options.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
