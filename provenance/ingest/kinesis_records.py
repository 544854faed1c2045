"""One Kinesis record's data -> what to ingest, and ingesting it (the ingest handler's core).

What a record holds is decided from its bytes, in this order:

1. compressed, recognised by its first bytes (`provenance.ingest.compression`: gzip, and bzip2 or xz
   from producers of their own): decompressed, at most `envelope.MAX_DECODED_BYTES` (8 MiB:
   what real producers send stays well below, see there), then read as below. CloudWatch Logs
   always compresses (gzip); `prov ship` does by default. A UTF-8 byte-order mark at the
   start of what it holds is no part of it (`provenance.records.lines`).
2. a JSON object with a `prov_envelope` key: a `prov ship` envelope (`provenance.records.envelope`).
3. a JSON object with a `messageType` key: a CloudWatch Logs subscription payload.
   DATA_MESSAGE: each of its `logEvents` is a message of one or more lines (origin = the
   log group, file = the log stream). CONTROL_MESSAGE: a reachability check, skipped.
4. anything else: raw log text, one or more lines split at "\\n" (UTF-8 or not; a line
   longer than the cap is quarantined in part, as from a file), read by `auto` with origin =
   the Kinesis stream's name.

Identity (DESIGN.md: replays are free, real repeats are kept):

- envelope: as `prov ingest` of the whole file: the envelope's lines, starting line number and
  occurrence counts give every entry the id it has when the file is read whole.
- CloudWatch Logs: an entry's occurrence comes from the CloudWatch event `id` (unique, and the
  same when a payload is delivered again): `int(id) << 20` plus the number of identical entry
  heads before it in the same log event (`provenance.ingest.pipeline.ingest_messages`). A
  redelivered payload adds nothing; the same message logged twice is two log events, so two events.
- raw text: content and occurrence within the record. A redelivered record, or the same data
  put again by a retrying producer, adds nothing. The other side of that coin: identical
  lines sent in separate raw records count once (each record starts counting at 0), so two
  real repeats of a line in two records become one event. Producers that can should send
  envelopes (`prov ship`), which carry the file's occurrence counts.

Data that cannot be read as lines (damaged compressed data, a malformed envelope or CloudWatch
payload, an envelope naming an unknown source) is quarantined verbatim, the whole record as one
entry with the reason (`provenance.ingest.pipeline.quarantine_data`, kept truncated with its size
and digest where it is larger than a record of the store holds); so is a record whose ingest failed
for a reason that is not the store's, and one past what a record of a real producer holds:
more than `envelope.MAX_DECODED_BYTES` once decompressed, or more than
`envelope.MAX_RECORD_LINES` lines (a record of a few kilobytes can decompress to millions of
lines, each a store write, and Lambda retries a batch whole). Such content never fails a
record: only the store (`EventStoreError`, after its own retries) and the configuration
(`AccessPolicyError`) do, and the handler reports those for Lambda to deliver again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from eventstore import EventStore, EventStoreError
from provenance.access.rules import AccessPolicyError
from provenance.ingest.compression import MAGIC_BYTES, CompressionError, decompress, detect
from provenance.ingest.pipeline import (
    ingest_envelope,
    ingest_lines,
    ingest_messages,
    quarantine_data,
)
from provenance.ingest.reader import IngestOptions
from provenance.ingest.report import IngestReport
from provenance.records.envelope import (
    MAX_DECODED_BYTES,
    MAX_RECORD_LINES,
    Envelope,
    EnvelopeError,
    from_json,
    is_envelope,
)
from provenance.records.lines import strip_bom
from provenance.sources import SOURCE_NAMES

# What a record was, as counted in the handler's logs and metrics.
ENVELOPE = "envelope"
CLOUDWATCH = "cloudwatch"
CONTROL = "control"
RAW = "raw"
UNDECODABLE = "undecodable"
KINDS = (ENVELOPE, CLOUDWATCH, CONTROL, RAW, UNDECODABLE)

_JSON_OBJECT = re.compile(rb"\s*\{")


@dataclass(frozen=True, slots=True)
class RecordOrigin:
    """Where a record came from: the stream's name and the record's sequence number."""

    stream: str
    sequence_number: str

    @property
    def name(self) -> str:
        """The `file` of what is read from a raw or undecodable record: where to find it
        in the stream while the stream keeps it (not part of any identity)."""
        return f"kinesis:{self.stream}:{self.sequence_number}"


def stream_name(arn: str | None) -> str:
    """`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME` -> NAME (the whole string if not an ARN):
    the stream's name in a `RecordOrigin`, from a Lambda event record's event source ARN."""
    if not arn:
        return "kinesis"
    _, separator, name = arn.partition(":stream/")
    return name if separator and name else arn


@dataclass(frozen=True, slots=True)
class RawText:
    lines: list[bytes]


@dataclass(frozen=True, slots=True)
class LogEvents:
    """A CloudWatch Logs DATA_MESSAGE: (identity key, lines) per log event, in order."""

    log_group: str
    log_stream: str
    messages: list[tuple[int, list[bytes]]]


@dataclass(frozen=True, slots=True)
class ControlMessage:
    """A CloudWatch Logs CONTROL_MESSAGE: the subscription checking it can deliver."""


@dataclass(frozen=True, slots=True)
class Undecodable:
    reason: str


Decoded = Envelope | LogEvents | ControlMessage | RawText | Undecodable


@dataclass
class RecordResult:
    """What one record was, what its ingest counted, and the unexpected error (if any) that
    made it quarantine the record whole."""

    kind: str
    report: IngestReport = field(default_factory=IngestReport)
    error: Exception | None = None


class _UndecodableError(Exception):
    """Data that cannot be read; the message is the quarantine reason."""


def decode(data: bytes) -> Decoded:
    """What a record's data holds (see the module doc); never raises for bad content."""
    try:
        content = data
        kind = detect(data[:MAGIC_BYTES])
        if kind is not None:
            try:
                content = decompress(data, kind, MAX_DECODED_BYTES)
            except CompressionError as exc:
                raise _UndecodableError(str(exc)) from None
        content = strip_bom(content)
        document = _json_object(content)
        if document is None:
            return _raw_text(content)
        if is_envelope(document):
            try:
                envelope = from_json(document)
            except EnvelopeError as exc:
                raise _UndecodableError(str(exc)) from None
            _check_lines(len(envelope.lines))
            return envelope
        if "messageType" in document:
            return _cloudwatch(document)
        return _raw_text(content)
    except _UndecodableError as exc:
        return Undecodable(str(exc))


def ingest_record(
    store: EventStore, data: bytes, origin: RecordOrigin, options: IngestOptions
) -> RecordResult:
    """Decode one record's data and store what it holds; raises only when the store fails
    (`EventStoreError`) or the configuration is wrong (`AccessPolicyError`)."""
    kind = UNDECODABLE
    try:
        decoded = decode(data)
        kind = _kind(decoded)
        return RecordResult(kind, _ingest(store, decoded, data, origin, options))
    except (EventStoreError, AccessPolicyError):
        raise
    except Exception as exc:
        # A bug that some content triggers must not block the shard: keep the record whole.
        reason = f"could not be ingested: {type(exc).__name__}: {exc}"
        report = quarantine_data(store, data, origin.name, reason, origin=origin.stream)
        return RecordResult(kind, report, error=exc)


def split_lines(content: bytes) -> list[bytes]:
    """Raw text as lines: split at "\\n", without the empty piece after a final line end
    (a "\\r" before it stays, for the reader to remove as in a file)."""
    if not content:
        return []
    lines = content.split(b"\n")
    if not lines[-1]:
        lines.pop()
    return lines


def _raw_text(content: bytes) -> RawText:
    # Counted before the lines are made: a million short lines take 50 MB as bytes objects.
    _check_lines(content.count(b"\n") + (not content.endswith(b"\n") and bool(content)))
    return RawText(split_lines(content))


def _check_lines(count: int) -> None:
    if count > MAX_RECORD_LINES:
        raise _UndecodableError(f"too many lines for one record ({count:,} > {MAX_RECORD_LINES:,})")


def _kind(decoded: Decoded) -> str:
    if isinstance(decoded, Envelope):
        return ENVELOPE if decoded.source in SOURCE_NAMES else UNDECODABLE
    if isinstance(decoded, LogEvents):
        return CLOUDWATCH
    if isinstance(decoded, ControlMessage):
        return CONTROL
    if isinstance(decoded, RawText):
        return RAW
    return UNDECODABLE


def _ingest(
    store: EventStore,
    decoded: Decoded,
    data: bytes,
    origin: RecordOrigin,
    options: IngestOptions,
) -> IngestReport:
    if isinstance(decoded, Envelope):
        if decoded.source not in SOURCE_NAMES:
            reason = f"envelope names an unknown source {decoded.source!r}"
            return quarantine_data(store, data, origin.name, reason, origin=origin.stream)
        return ingest_envelope(store, decoded, options)
    if isinstance(decoded, LogEvents):
        cloudwatch_options = _with_origin(options, decoded.log_group)
        return ingest_messages(store, decoded.messages, decoded.log_stream, cloudwatch_options)
    if isinstance(decoded, ControlMessage):
        return IngestReport()
    if isinstance(decoded, RawText):
        raw_options = _with_origin(options, origin.stream)
        return ingest_lines(store, decoded.lines, origin.name, raw_options)
    return quarantine_data(store, data, origin.name, decoded.reason, origin=origin.stream)


def _with_origin(options: IngestOptions, origin: str) -> IngestOptions:
    return replace(options, origin=origin)


def _json_object(content: bytes) -> dict[str, Any] | None:
    """The JSON object `content` is, or None when it is not exactly one (raw text, then)."""
    if _JSON_OBJECT.match(content) is None:
        return None
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _cloudwatch(document: dict[str, Any]) -> LogEvents | ControlMessage:
    message_type = document.get("messageType")
    if message_type == "CONTROL_MESSAGE":
        return ControlMessage()
    if message_type != "DATA_MESSAGE":
        raise _UndecodableError(f"unknown CloudWatch Logs messageType {message_type!r}")
    log_group, log_stream, log_events = (
        document.get("logGroup"),
        document.get("logStream"),
        document.get("logEvents"),
    )
    if not isinstance(log_group, str) or not isinstance(log_stream, str):
        raise _UndecodableError("malformed CloudWatch Logs payload: logGroup or logStream")
    if not isinstance(log_events, list):
        raise _UndecodableError("malformed CloudWatch Logs payload: logEvents is not a list")
    messages = []
    count = 0
    for index, log_event in enumerate(log_events):
        if not isinstance(log_event, dict):
            raise _UndecodableError(f"malformed CloudWatch Logs payload: logEvents[{index}]")
        event_id, message = log_event.get("id"), log_event.get("message")
        if not isinstance(event_id, str | int) or isinstance(event_id, bool) or event_id == "":
            raise _UndecodableError(f"malformed CloudWatch Logs payload: logEvents[{index}].id")
        if not isinstance(message, str):
            raise _UndecodableError(
                f"malformed CloudWatch Logs payload: logEvents[{index}].message"
            )
        # surrogatepass: a lone surrogate from a JSON escape (`\ud800`) stays, as three bytes
        # that are not UTF-8, and its line is read like any line with such bytes: parsed, with
        # them shown visibly (`\xed\xa0\x80`) in its events.
        lines = message.encode("utf-8", "surrogatepass").split(b"\n")
        if len(lines) > 1 and not lines[-1]:
            lines.pop()
        count += len(lines)
        _check_lines(count)
        messages.append((message_key(event_id), lines))
    return LogEvents(log_group, log_stream, messages)


def message_key(event_id: str | int) -> int:
    """A CloudWatch event id as an identity key: the number it is (a decimal string, so the
    key shows which log event an entry came from), or a hash of an id that is not one."""
    text = str(event_id)
    # Real ids have 56 digits; Python refuses to convert more than 4,300 anyway.
    if text.isascii() and text.isdigit() and len(text) <= 100:
        return int(text)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:16])
