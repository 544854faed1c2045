"""The failure queue's messages, and what `prov redrive` did with each.

A message is Lambda's on-failure invocation record of a stream event source: for the ingest
function's Kinesis stream (`KinesisBatchInfo`) or the projector's table stream
(`DDBStreamBatchInfo`), naming the stream, the shard and the sequence numbers of the batch's
first and last records. `parse_failure` reads one (`FailedBatch`, or `MalformedMessageError`
saying what is wrong); `MessageResult` is what became of one message (its outcome, what was read
and stored, whether it was deleted) and `RedriveReport` the run's, as lines for the operator and
as JSON.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventstore.aws_region import arn_region
from provenance.domain.errors import ProvenanceError
from provenance.ingest.report import SUMMARY, IngestReport

KINESIS_INFO = "KinesisBatchInfo"
DYNAMODB_INFO = "DDBStreamBatchInfo"

# What happened to a message.
REDRIVEN = "redriven"
WOULD_REDRIVE = "would redrive"
EXPIRED = "expired"
INCOMPLETE = "incomplete"
UNREADABLE = "unreadable"
PROJECTOR = "projector failure"
MALFORMED = "malformed"
STORE_FAILED = "store failed"
NOT_DELETED = "not deleted"
_DONE = frozenset({REDRIVEN, WOULD_REDRIVE})

REBUILD_HINT = "run `prov rebuild` after fixing the cause"

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):(?P<service>kinesis|dynamodb):(?P<region>[a-z0-9-]+):"
    r"(?P<account>\d{12}):(?:stream/(?P<stream>[^/]+)|table/(?P<table>[^/]+)/stream/[^/]+)"
)


class MalformedMessageError(ProvenanceError):
    """A queue message that is not a Lambda failure record of a stream."""


# --- failure records -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailedBatch:
    """A batch Lambda gave up on: one shard's records from `start` to `end`, inclusive."""

    kind: str  # KINESIS_INFO or DYNAMODB_INFO
    stream_arn: str
    shard_id: str
    start: str
    end: str
    size: int | None = None
    condition: str | None = None

    @property
    def stream_name(self) -> str:
        """The name the ingest function gives the stream (the event source ARN's last part);
        for a table's stream, the table's name."""
        match = _ARN.fullmatch(self.stream_arn)
        if match is None:
            return self.stream_arn
        return match.group("stream") or f"table {match.group('table')}"

    @property
    def region(self) -> str | None:
        return arn_region(self.stream_arn)

    def describe(self) -> str:
        """stream shard start..end (condition, N records), for the report's lines."""
        about = [part for part in (self.condition, _records(self.size)) if part]
        suffix = f" ({', '.join(about)})" if about else ""
        return f"{self.stream_name} {self.shard_id} {self.start}..{self.end}{suffix}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "stream_arn": self.stream_arn,
            "shard_id": self.shard_id,
            "start_sequence_number": self.start,
            "end_sequence_number": self.end,
            "batch_size": self.size,
            "condition": self.condition,
        }


def parse_failure(body: str) -> FailedBatch:
    """The batch a failure queue message names (Lambda's on-failure invocation record for a
    Kinesis or DynamoDB stream event source); `MalformedMessageError` says what is wrong."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedMessageError("the body is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedMessageError("the body is not a JSON object")
    kinds = [kind for kind in (KINESIS_INFO, DYNAMODB_INFO) if kind in document]
    if len(kinds) != 1:
        keys = ", ".join(sorted(str(key) for key in document)[:6]) or "none"
        raise MalformedMessageError(
            f"not a Lambda failure record of a stream: no {KINESIS_INFO} (keys: {keys})"
        )
    kind = kinds[0]
    info = document[kind]
    if not isinstance(info, dict):
        raise MalformedMessageError(f"{kind} is not an object")
    stream_arn = _text(info, "streamArn", kind)
    shard_id = _text(info, "shardId", kind)
    start = _sequence(info, "startSequenceNumber", kind)
    end = _sequence(info, "endSequenceNumber", kind)
    if int(end) < int(start):
        raise MalformedMessageError(f"{kind}: endSequenceNumber is before startSequenceNumber")
    if kind == KINESIS_INFO:
        match = _ARN.fullmatch(stream_arn)
        if match is None or match.group("service") != "kinesis":
            raise MalformedMessageError(f"{kind}.streamArn is not a Kinesis stream ARN")
    size = info.get("batchSize")
    context = document.get("requestContext")
    condition = context.get("condition") if isinstance(context, dict) else None
    return FailedBatch(
        kind=kind,
        stream_arn=stream_arn,
        shard_id=shard_id,
        start=start,
        end=end,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        condition=condition if isinstance(condition, str) and condition else None,
    )


def _text(info: Mapping[str, Any], key: str, kind: str) -> str:
    value = info.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MalformedMessageError(f"{kind}.{key} is missing")
    return value.strip()


def _sequence(info: Mapping[str, Any], key: str, kind: str) -> str:
    value = _text(info, key, kind)
    # ASCII digits only (int() would take "+5", "5_0" and other scripts' digits); real ones
    # have 56, far below the 4,300 digits Python converts.
    if not (value.isascii() and value.isdigit() and len(value) <= 128):
        raise MalformedMessageError(f"{kind}.{key} is not a sequence number: {value[:60]!r}")
    return value


# --- what happened -------------------------------------------------------------------------


@dataclass
class MessageResult:
    """One queue message: what it named, what was read and stored, and whether it is gone."""

    message_id: str
    outcome: str
    detail: str
    batch: FailedBatch | None = None
    records: int = 0
    bytes: int = 0
    report: IngestReport = field(default_factory=IngestReport)
    deleted: bool = False

    @property
    def kept(self) -> bool:
        """Still in the queue (or would be, in a dry run) for someone to deal with."""
        return self.outcome not in _DONE

    def line(self, *, dry_run: bool = False) -> str:
        """One line for the operator: status, the range, what happened, the message id."""
        if dry_run:
            status = "would keep" if self.kept else "would delete"
        else:
            status = "deleted" if self.deleted else "kept"
        where = self.batch.describe() if self.batch is not None else "message"
        return f"{status:<12} {where}: {self.detail} [message {self.message_id}]"

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "outcome": self.outcome,
            "kept": self.kept,
            "deleted": self.deleted,
            "detail": self.detail,
            "batch": self.batch.as_json() if self.batch is not None else None,
            "records": self.records,
            "bytes": self.bytes,
            **self.report.counts(SUMMARY),
        }


@dataclass
class RedriveReport:
    """What one run did, message by message."""

    queue_url: str
    dry_run: bool = False
    messages: list[MessageResult] = field(default_factory=list)
    stopped: str | None = None
    """Why the run stopped before the queue was empty (a store failure), if it did."""

    @property
    def kept(self) -> list[MessageResult]:
        return [result for result in self.messages if result.kept]

    @property
    def records(self) -> int:
        return sum(result.records for result in self.messages)

    @property
    def ingest(self) -> IngestReport:
        total = IngestReport()
        for result in self.messages:
            total.add(result.report)
        return total

    @property
    def ok(self) -> bool:
        """Every message was redriven (or would be) and the run went to the end."""
        return not self.kept and self.stopped is None

    def summary(self) -> list[str]:
        """The closing lines: messages by outcome, then records, lines and events."""
        kept = Counter(result.outcome for result in self.kept)
        done = len(self.messages) - sum(kept.values())
        verb = "would be redriven and deleted" if self.dry_run else "redriven and deleted"
        line = f"{counted(len(self.messages), 'message')}: {done:,} {verb}"
        if kept:
            reasons = ", ".join(f"{n:,} {outcome}" for outcome, n in sorted(kept.items()))
            kept_verb = "would be kept" if self.dry_run else "kept"
            line += f", {sum(kept.values()):,} {kept_verb} ({reasons})"
        lines = [line]
        if self.dry_run:
            lines.append(
                f"{counted(self.records, 'record')} "
                f"({sum(r.bytes for r in self.messages):,} bytes) would be ingested"
            )
        else:
            report = self.ingest
            lines.append(
                f"{counted(self.records, 'record')}, {counted(report.lines, 'line')}: "
                f"{report.events:,} new events, {report.duplicates:,} already stored, "
                f"{report.ignored:,} ignored, {report.quarantined:,} quarantined"
            )
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
        return lines

    def as_json(self) -> dict[str, Any]:
        report = self.ingest
        kept = Counter(result.outcome for result in self.kept)
        return {
            "queue": self.queue_url,
            "dry_run": self.dry_run,
            "messages": [result.as_json() for result in self.messages],
            "totals": {
                "messages": len(self.messages),
                "redriven": len(self.messages) - len(self.kept),
                "kept": len(self.kept),
                "kept_by_outcome": dict(sorted(kept.items())),
                "records": self.records,
                **report.counts(SUMMARY),
            },
            "stopped": self.stopped,
        }


def counted(n: int, noun: str) -> str:
    """`n` `noun`s, with thousands separators ("1 record", "1,024 records")."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _records(n: int | None) -> str | None:
    return None if n is None else counted(n, "record")
