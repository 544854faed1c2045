"""Sending records to Kinesis for `prov ship`: PutRecords with retries, then the state file.

Records go up to 500 / 5 MB per PutRecords call. Entries a PutRecords call could not write are
retried alone, with exponential backoff and full jitter, a bounded number of times; botocore's
own retries (set explicitly) cover a call that fails whole (throttling, connection errors). The
client comes from `eventstore.aws_client`, the project's one factory.

After each call, what Kinesis acknowledged is committed to the state file (`ship_state`): the
offset, line number, occurrence counts and source memory at the end of the last acknowledged
record of each file, and the fingerprint of what was shipped (the SHA-1 and size of the first
line and of the line ending at the offset). A crash restarts there with the same counts and
memory: no line is lost, and lines shipped again get the same ids (duplicates, which the store
ignores).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol, cast

from botocore.exceptions import BotoCoreError, ClientError

from eventstore.aws_client import AwsClientError, aws_client, one_line
from eventstore.aws_region import NoRegionError, arn_region
from provenance.aws.ship_options import DEFAULT_MAX_ATTEMPTS, ShipError, ShipOptions
from provenance.aws.ship_records import QueueItem, Record
from provenance.aws.ship_report import FileReport, ShipReport
from provenance.aws.ship_state import Advance, Change, FileKey, Reset, ShipState

PAYLOAD_UNIT = 25 * 1024
# Per-entry error codes that retrying cannot fix: fail at once rather than after the backoff.
_FATAL_CODES_PREFIX = "KMS"
_RETRYABLE_KMS = "KMSThrottlingException"


class KinesisClient(Protocol):
    """The part of a boto3 Kinesis client the shipper uses (tests wrap it to inject faults)."""

    def put_records(self, **kwargs: Any) -> Mapping[str, Any]: ...


def kinesis_client(
    *,
    stream: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> KinesisClient:
    """A boto3 Kinesis client whose own retries (whole-call throttling and connection errors)
    are set explicitly rather than left to the environment's defaults. Its region: the one
    `stream` names when it is an ARN (where the stream is, whatever --region says, as for
    `prov redrive`), else `region` (--region), else AWS_REGION, else botocore's
    (`eventstore.aws_region`)."""
    try:
        client = aws_client(
            "kinesis",
            region=(arn_region(stream) if stream else None) or region,
            endpoint_url=endpoint_url,
            attempts=max_attempts,
            connect_timeout=10,
            read_timeout=60,
            user_agent="prov-ship",
        )
    except NoRegionError as exc:
        raise ShipError(str(exc)) from None
    except AwsClientError as exc:
        raise ShipError(f"cannot make a Kinesis client: {exc.detail}") from None
    return cast("KinesisClient", client)


class Sender:
    """Puts records into the stream, a call at a time, and commits to `state` what each call
    got acknowledged (the part of `Shipper` that speaks to Kinesis)."""

    def __init__(
        self,
        client: KinesisClient,
        state: ShipState,
        options: ShipOptions,
        *,
        progress: Callable[[ShipReport], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.state = state
        self.options = options
        self.report = ShipReport(stream=options.stream)
        self._progress = progress
        self._sleep = sleep
        self._jitter = jitter
        self._stop = False
        self._reports: dict[FileKey, FileReport] = {}
        self._queue: list[QueueItem] = []
        self._queued_records = 0
        self._queued_bytes = 0
        stream_arg = "StreamARN" if options.stream.startswith("arn:") else "StreamName"
        self._stream_arg = {stream_arg: options.stream}

    def request_stop(self) -> None:
        """Stop after the current PutRecords call (safe to call from a signal handler)."""
        self._stop = True

    @property
    def stopping(self) -> bool:
        return self._stop

    def _enqueue(self, item: QueueItem) -> None:
        self._queue.append(item)
        if isinstance(item, Record):
            self._queued_records += 1
            self._queued_bytes += item.size

    def _send(self, *, whole_queue: bool) -> None:
        """Send full calls from the queue (all of it if `whole_queue`), committing each."""
        options = self.options
        while self._queue and not self._stop:
            if not whole_queue and (
                self._queued_records < options.max_call_records
                and self._queued_bytes < options.max_call_bytes
            ):
                return
            call: list[QueueItem] = []
            records: list[Record] = []
            size = 0
            for item in self._queue:
                if isinstance(item, Record):
                    if len(records) == options.max_call_records or (
                        records and size + item.size > options.max_call_bytes
                    ):
                        break
                    records.append(item)
                    size += item.size
                call.append(item)
            del self._queue[: len(call)]
            self._queued_records -= len(records)
            self._queued_bytes -= size
            acknowledged, failure = self._put(records) if records else ([], None)
            self._commit(call, acknowledged)
            if failure is not None:
                raise ShipError(
                    f"{failure}; shipping state saved up to the last acknowledged record"
                )
            if self._progress is not None and records:
                self._progress(self.report)

    def _put(self, records: list[Record]) -> tuple[list[bool], str | None]:
        """PutRecords with retries of the failed entries: which records were acknowledged,
        and why shipping must stop (None if all were)."""
        acknowledged = [False] * len(records)
        pending = list(range(len(records)))
        attempt = 0
        while True:
            entries = [
                {"Data": records[i].data, "PartitionKey": records[i].partition_key} for i in pending
            ]
            try:
                response = self.client.put_records(Records=entries, **self._stream_arg)
            except Exception as exc:
                message = self._call_error(exc)
                if message is None:
                    raise
                return acknowledged, message
            self.report.put_calls += 1
            failed: list[int] = []
            codes: dict[str, str] = {}
            for index, result in zip(pending, response["Records"], strict=True):
                code = result.get("ErrorCode")
                if code:
                    failed.append(index)
                    codes.setdefault(code, str(result.get("ErrorMessage") or ""))
                else:
                    acknowledged[index] = True
            if not failed:
                return acknowledged, None
            attempt += 1
            fatal = any(
                code.startswith(_FATAL_CODES_PREFIX) and code != _RETRYABLE_KMS for code in codes
            )
            if fatal or attempt >= self.options.max_attempts:
                code, text = next(iter(codes.items()))
                after = "" if fatal else f" after {attempt} attempts"
                return acknowledged, one_line(
                    f"PutRecords to {self.options.stream}: {len(failed)} of {len(records)} "
                    f"records not written{after} ({code}: {text})"
                )
            self.report.retried_entries += len(failed)
            ceiling = min(self.options.backoff_cap, self.options.backoff_base * 2 ** (attempt - 1))
            self._sleep(ceiling * self._jitter())
            pending = failed

    def _call_error(self, exc: Exception) -> str | None:
        """The one-line reason of a failed call (after botocore's retries); None if `exc` is
        not an AWS error (a bug or an injected crash: let it through)."""
        stream = self.options.stream
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "error")
            text = error.get("Message", "")
            if code == "ResourceNotFoundException":
                return one_line(f"stream {stream} not found ({text})")
            return one_line(f"PutRecords to {stream} failed: {code}: {text}")
        if isinstance(exc, BotoCoreError):
            return one_line(f"cannot ship to {stream}: {exc}")
        return None

    def _commit(self, call: list[QueueItem], acknowledged: list[bool]) -> None:
        """Save, per file, the end of the last record acknowledged with all before it."""
        changes: list[Change] = []
        open_advance: dict[FileKey, int] = {}
        stopped: set[FileKey] = set()
        ack = iter(acknowledged)
        for item in call:
            key = item.key
            report = self._reports[key]
            if isinstance(item, Reset):
                if key not in stopped:
                    changes.append(item)
                    open_advance.pop(key, None)
                    report.file_id, report.offset, report.next_line = item.file_id, 0, 1
                continue
            if not next(ack) or key in stopped:
                stopped.add(key)
                continue
            self._count(item, report)
            at = open_advance.get(key)
            if at is None:
                open_advance[key] = len(changes)
                changes.append(
                    Advance(
                        key,
                        item.file_id,
                        item.end,
                        item.next_line,
                        dict(item.counts),
                        item.fingerprint,
                        item.memory,
                    )
                )
            else:
                merged = cast(Advance, changes[at])
                merged.counts.update(item.counts)
                changes[at] = replace(
                    merged,
                    offset=item.end,
                    next_line=item.next_line,
                    fingerprint=item.fingerprint,
                    memory=item.memory,
                )
        self.state.commit(changes)

    def _count(self, record: Record, report: FileReport) -> None:
        for counts in (self.report, report):
            counts.lines += record.lines
            counts.records += 1
            counts.bytes += len(record.data)
        self.report.payload_units += math.ceil(record.size / PAYLOAD_UNIT)
        report.file_id, report.offset, report.next_line = (
            record.file_id,
            record.end,
            record.next_line,
        )
