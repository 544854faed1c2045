"""Ingest: raw log lines -> sources -> identified domain events -> the event store.

Owns the accounting (every line is consumed, ignored or quarantined), the event envelope
(id, recorded_at, source) and batching. Keeps the ObjectState projection current after each
batch. Imports the sources, identity, events, projections, the record envelope, how lines are
read (`provenance.records.lines`) and `eventstore`; `premis.escaping` only when it is needed.

Lines are read by `provenance.records.lines` (line ends, a byte-order mark, the 512 KiB cap). A line
that is not UTF-8 goes to its parser all the same, decoded with `surrogateescape` (identity hashes
its original bytes); the fields of the events it gives have each undecodable byte spelled
visibly (`\\xNN`, `premis.escaping.visible_surrogates`), so no payload holds a lone surrogate.
An over-long line is quarantined on its own, kept in part (`Entry.too_long`).

Times: an entry whose event time lies outside the window of `provenance.domain.event_time` (a day
inside the calendar, 0001-01-02 to 9999-12-30 UTC) is quarantined as "time out of range",
whatever its source: the one rule, checked here for every draft.

Inputs: a whole file or stream (`ingest_stream`), a part of one (`ingest_lines`: a shipped
record's lines, with the occurrence counts that came before them), a `prov ship` envelope
(`ingest_envelope`), messages that each carry their own identity (`ingest_messages`:
CloudWatch Logs events), and data that could not be read as lines at all (`quarantine_data`).

Events too large for the store: `eventstore.store.MAX_PAYLOAD_BYTES` (256 KiB) is the largest
payload any backend accepts (a DynamoDB item holds 400 KB). An entry whose event would be
larger is not stored as an event: the entry is quarantined ("event too large for the store
(N bytes > 262144)"). A quarantine record that would itself be too large keeps the first part
of the entry's bytes, marked `truncated` with the whole entry's size and SHA-256, so nothing is
cut silently; `replay_quarantine` passes truncated entries by (they would give wrong events)
and counts them as still quarantined.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, BinaryIO, cast

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from eventstore import AppendResult, EventRecord, EventStore, InvalidRecordError
from eventstore.store import MAX_PAYLOAD_BYTES
from provenance.access.policy import AccessPolicy
from provenance.domain.event_time import TIME_OUT_OF_RANGE, in_window
from provenance.domain.events import (
    QUARANTINE_STREAM,
    AgentRef,
    DomainEvent,
    LineQuarantined,
    ServiceAccessed,
    SourceRef,
    access_stream,
    dump_event,
    load_event,
)
from provenance.domain.identity import QUARANTINE_INDEX, OccurrenceCounter, event_id, line_digest
from provenance.ingest.inputs import InputError
from provenance.projections import access_counts, object_state
from provenance.projections.base import Appended
from provenance.records.envelope import Envelope
from provenance.records.lines import CutLine, Line, OverlongLine, capped, read_lines, strip_line_end
from provenance.sources import SOURCE_NAMES, create_source
from provenance.sources.base import Entry, SourceContext

BATCH_SIZE = 20_000
BATCH_BYTES = 16 * 1024 * 1024
"""A batch is also written once its records' payloads pass this many bytes: records of long
lines (quarantined ones hold their bytes twice, as base64 and as text) would otherwise hold
up to BATCH_SIZE times 256 KiB in memory."""
# The service of access events when neither --service nor --host names one.
UNKNOWN_SERVICE = "unknown"
_INGEST_AGENT = AgentRef(name="prov ingest", kind="software")
UNDECODED = "undecoded"
"""The `source_type` of data quarantined before any parser saw it (`quarantine_data`)."""
MESSAGE_KEY_SHIFT = 20
"""`ingest_messages`: an entry's occurrence is `key << 20` plus the number of identical entry
heads before it in the same message (a message of at most 256 KiB has fewer than 2**20)."""

Progress = Callable[[int], None]


@dataclass
class IngestReport:
    """What one ingest did; `lines == consumed + ignored + quarantined` always holds."""

    lines: int = 0
    consumed: int = 0
    ignored: int = 0
    quarantined: int = 0
    events: int = 0
    duplicates: int = 0
    quarantine_records: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    ignored_by_reason: Counter[str] = field(default_factory=Counter)
    quarantined_by_reason: Counter[str] = field(default_factory=Counter)
    # Lines by the source (parser) that read them, `auto` for lines no format claimed.
    lines_by_source: Counter[str] = field(default_factory=Counter)
    quarantined_by_source: Counter[str] = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)
    # Files found below a directory and not read, with why (they looked binary).
    passed_by: dict[str, str] = field(default_factory=dict)
    # The access policy's fingerprint when requests were read: another value on a later
    # ingest means agents or pseudonyms may not match those stored before.
    access_policy: str | None = None

    def add(self, other: IngestReport) -> None:
        """Count what `other` counted too (a batch's total over its records)."""
        self.lines += other.lines
        self.consumed += other.consumed
        self.ignored += other.ignored
        self.quarantined += other.quarantined
        self.events += other.events
        self.duplicates += other.duplicates
        self.quarantine_records += other.quarantine_records
        self.by_type.update(other.by_type)
        self.ignored_by_reason.update(other.ignored_by_reason)
        self.quarantined_by_reason.update(other.quarantined_by_reason)
        self.lines_by_source.update(other.lines_by_source)
        self.quarantined_by_source.update(other.quarantined_by_source)
        # Names as they come (a batch of many records would pay quadratically to dedupe).
        self.files.extend(other.files)
        self.passed_by.update(other.passed_by)
        self.access_policy = self.access_policy or other.access_policy

    def as_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "events": self.events,
            "duplicates": self.duplicates,
            "consumed": self.consumed,
            "ignored": self.ignored,
            "quarantined": self.quarantined,
            "events_by_type": dict(sorted(self.by_type.items())),
            "ignored_by_reason": dict(natural_order(self.ignored_by_reason)),
            "quarantined_by_reason": dict(natural_order(self.quarantined_by_reason)),
            "lines_by_source": dict(sorted(self.lines_by_source.items())),
            "quarantined_by_source": dict(sorted(self.quarantined_by_source.items())),
            "files": self.files,
            "passed_by": self.passed_by,
            "access_policy": self.access_policy,
        }


def natural_order(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """`counts` by key in natural order: numbers compare as numbers, so a reason with "byte 9"
    comes before one with "byte 10", and "600,000 bytes" before "2,000,001 bytes" (the
    reasons write their numbers with thousands separators)."""
    return sorted(counts.items(), key=lambda item: _natural_key(item[0]))


def _natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    # re.split with one group: the numbers are the parts at odd positions.
    return tuple(
        (1, int(part.replace(",", "")), part) if index % 2 else (0, 0, part)
        for index, part in enumerate(_NUMBER.split(text))
        if part
    )


# Digits in groups of three after the first, separated by commas ("10,000,001"), are one
# number; any other comma separates two ("1,2" is 1 then 2).
_NUMBER = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)")


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How to read an input. `access_policy` decides agents, pseudonyms and retention of access
    events; None loads the configured one (`AccessPolicy.load`) when the first request is read."""

    source: str = "auto"
    origin: str = ""
    service: str | None = None
    tz: tzinfo = UTC
    batch_size: int = BATCH_SIZE
    access_policy: AccessPolicy | None = None


class _Batch:
    """Records waiting to be appended, with what the report needs to know about them."""

    def __init__(self, store: EventStore, report: IngestReport) -> None:
        self.store = store
        self.report = report
        self.records: list[EventRecord] = []
        self.payload_bytes = 0
        self.projectors = (
            object_state.ObjectStateProjector(store),
            access_counts.AccessCountsProjector(store),
        )

    def add(self, record: EventRecord) -> None:
        self.records.append(record)
        self.payload_bytes += len(record.payload)

    def full(self, size: int) -> bool:
        """Whether to write the batch now: `size` records, or `BATCH_BYTES` of payloads."""
        return len(self.records) >= size or self.payload_bytes >= BATCH_BYTES

    def flush(self) -> None:
        if not self.records:
            return
        result = self.store.append(self.records)
        written = set(result.written)
        appended = _appended(self.records, result)
        report = self.report
        for record in self.records:
            is_new = record.event_id in written
            if record.stream == QUARANTINE_STREAM:
                report.quarantine_records += is_new
            elif is_new:
                report.events += 1
                report.by_type[record.type] += 1
            else:
                report.duplicates += 1
        self.records = []
        self.payload_bytes = 0
        for projector in self.projectors:
            projector.catch_up(appended)


def ingest_stream(
    store: EventStore,
    stream: BinaryIO,
    name: str | None,
    options: IngestOptions,
    report: IngestReport | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Read one input (a file or stdin, binary, decompressed already) to its end and store
    what it holds; its lines are read as `provenance.records.lines` says (byte-order mark, line
    ends, the line length cap).

    An `InputError` the stream raises part-way (damaged compressed data) is raised again
    once the lines read before it are stored and counted.
    """
    report = report if report is not None else IngestReport()
    batch = _Batch(store, report)
    try:
        with _bulk_allocation():
            _Reader(batch, name, options, progress).run(read_lines(stream), line_ends=False)
            batch.flush()
    except InputError:
        batch.flush()
        raise
    finally:
        if name is not None:
            report.files.append(_shown(name))
    return report


def ingest_lines(
    store: EventStore,
    lines: Iterable[bytes],
    name: str | None,
    options: IngestOptions,
    *,
    first_line: int = 1,
    occurrences: Mapping[bytes, int] | None = None,
    report: IngestReport | None = None,
) -> IngestReport:
    """Ingest `lines` (bytes, with or without their line end) as the part of input `name`
    that starts at line number `first_line`, the occurrence counter starting from
    `occurrences` (first 8 bytes of a line_digest -> how many identical entries came before).

    A line loses a trailing "\\n" and then one "\\r", and one longer than the cap is
    quarantined, as when a file is read (`provenance.records.lines`). The part is
    read to its end (entries still open at its last line are completed there), so a file
    ingested in parts cut where no entry is open gets the ids `ingest_stream` gives it whole.
    """
    return _ingest_part(store, lines, name, options, first_line, occurrences, report, True)


def ingest_envelope(
    store: EventStore,
    envelope: Envelope,
    options: IngestOptions,
    report: IngestReport | None = None,
) -> IngestReport:
    """Ingest a `prov ship` record: `options.source`/`origin`/`service` are taken from the
    envelope (source, host, service); tz and access_policy from `options`.

    The envelope's lines are taken exactly as shipped (the shipper already removed the line
    ends, and sent over-long lines as such), and its `occurrences` seed the counter: the same
    ids as `prov ingest` of the file. The source first takes in the envelope's `memory`
    (what the shipper's source remembered where the record begins: not counted, it was read
    in an earlier record); a `cut` line is quarantined after the lines, as ingest of a damaged
    file quarantines it.
    UnknownSourceError if the envelope names no known source.
    """
    part_options = replace(
        options, source=envelope.source, origin=envelope.host, service=envelope.service
    )
    lines: list[Line | CutLine] = list(envelope.lines)
    if envelope.cut is not None:
        lines.append(CutLine(envelope.cut))
    return _ingest_part(
        store,
        lines,
        envelope.file,
        part_options,
        envelope.first_line,
        envelope.occurrences,
        report,
        False,
        memory=envelope.memory,
    )


def ingest_messages(
    store: EventStore,
    messages: Sequence[tuple[int, Sequence[bytes]]],
    name: str | None,
    options: IngestOptions,
    report: IngestReport | None = None,
) -> IngestReport:
    """Ingest messages that each carry a stable identity key (CloudWatch Logs events: the
    key is the event's id), as one input: `(key, lines)` pairs, lines as in `ingest_lines`.

    The lines are read in order by one source, so a continuation line may join the entry of
    the message before it. An entry's occurrence is `key << MESSAGE_KEY_SHIFT` plus the number
    of identical entry heads before it in the message its head came in, so a message delivered
    again gives the same ids, and identical messages with different keys are separate events.
    """
    report = report if report is not None else IngestReport()
    batch = _Batch(store, report)
    starts: list[int] = []
    counters: list[OccurrenceCounter] = []
    line_no = 1
    for key, lines in messages:
        starts.append(line_no)
        counters.append(_KeyedCounter(key << MESSAGE_KEY_SHIFT))
        line_no += len(lines)
    with _bulk_allocation():
        reader = _MessageReader(batch, name, options, starts, counters)
        reader.run(line for _, lines in messages for line in lines)
        batch.flush()
    _add_file(report, name)
    return report


def quarantine_data(
    store: EventStore,
    data: bytes,
    name: str | None,
    reason: str,
    *,
    origin: str = "",
    report: IngestReport | None = None,
) -> IngestReport:
    """Keep data that could not be read as lines at all (say, a record that claims to be
    gzip and is not) verbatim in the quarantine, as one entry counted as one line.

    Its identity is its content (source `undecoded`, `origin`, the data's digest): the same
    data again adds nothing. A replay passes it by: no parser reads it.
    """
    report = report if report is not None else IngestReport()
    batch = _Batch(store, report)
    recorded_at = datetime.now(UTC)
    digest = hashlib.sha1(data).digest()
    source_ref = SourceRef(type=UNDECODED, origin=origin, file=name, line=None)
    key = event_id(UNDECODED, origin, digest, 0, QUARANTINE_INDEX)
    batch.add(_quarantine_record(key, source_ref, reason, data, UNDECODED, 0, 1, recorded_at))
    report.lines += 1
    report.quarantined += 1
    report.quarantined_by_reason[reason] += 1
    report.lines_by_source[UNDECODED] += 1
    report.quarantined_by_source[UNDECODED] += 1
    batch.flush()
    _add_file(report, name)
    return report


def _ingest_part(
    store: EventStore,
    lines: Iterable[Line | CutLine],
    name: str | None,
    options: IngestOptions,
    first_line: int,
    occurrences: Mapping[bytes, int] | None,
    report: IngestReport | None,
    line_ends: bool,
    *,
    memory: Sequence[bytes] = (),
) -> IngestReport:
    report = report if report is not None else IngestReport()
    batch = _Batch(store, report)
    counter = OccurrenceCounter(dict(occurrences) if occurrences else None)
    with _bulk_allocation():
        reader = _Reader(batch, name, options, None, counter)
        if memory:
            reader.recall(memory)
        reader.run(lines, first_line, line_ends=line_ends)
        batch.flush()
    _add_file(report, name)
    return report


def _add_file(report: IngestReport, name: str | None) -> None:
    if name is not None:
        name = _shown(name)
        if name not in report.files:
            report.files.append(name)


def replay_quarantine(store: EventStore, options: IngestOptions) -> IngestReport:
    """Run every quarantined entry through today's parsers again (after a parser fix).

    Each entry keeps the identity it would have had at ingest (same source, origin, head line
    and occurrence index), so a replay adds only what the fix newly understands: replaying
    twice, or after re-ingesting the original file, adds nothing. Quarantine records are never
    removed; an entry that still fails is counted as quarantined again. Zone-less times are
    read in `options.tz`, as at ingest.

    Entries that cannot be replayed stay quarantined and are counted by why: those kept
    truncated (their first part alone would give wrong events) and data no parser read
    (`quarantine_data`, or a source that no longer exists).
    """
    report = IngestReport()
    batch = _Batch(store, report)
    for record in store.read_stream(QUARANTINE_STREAM):
        kept = load_event(record.payload)
        if not isinstance(kept, LineQuarantined):
            continue
        unreplayable = _unreplayable(kept)
        if unreplayable is not None:
            count = kept.line_count
            report.lines += count
            report.quarantined += count
            report.quarantined_by_reason[unreplayable] += count
            report.lines_by_source[kept.source_type] += count
            report.quarantined_by_source[kept.source_type] += count
            continue
        lines = base64.b64decode(kept.raw).split(b"\n")
        entry_options = replace(options, source=kept.source_type, origin=kept.source.origin)
        reader = _Reader(batch, kept.source.file, entry_options, None)
        head = lines[0].decode("utf-8", "surrogateescape")
        reader.counter = OccurrenceCounter({line_digest(head)[:8]: kept.occurrence})
        # The kept lines lost their ends at ingest already: a "\r" left is part of the line.
        reader.run(lines, first_line=kept.source.line or 1, line_ends=False)
    batch.flush()
    return report


def _unreplayable(kept: LineQuarantined) -> str | None:
    """Why a quarantined entry cannot go through the parsers again, or None if it can."""
    if kept.truncated:
        return "kept truncated: cannot be replayed"
    if kept.source_type == UNDECODED:
        return "not read as lines: cannot be replayed"
    if kept.source_type not in SOURCE_NAMES:
        return f"source {kept.source_type!r} no longer exists: cannot be replayed"
    return None


class _Reader:
    """One pass over one input: decode, feed the source, turn entries into records."""

    def __init__(
        self,
        batch: _Batch,
        name: str | None,
        options: IngestOptions,
        progress: Progress | None,
        counter: OccurrenceCounter | None = None,
    ) -> None:
        self.batch = batch
        self.report = batch.report
        # A file name with bytes that are not UTF-8 is shown the way such bytes are in events.
        self.name = name if name is None else _shown(name)
        # Whether a line of this input was not UTF-8 (only then can an entry's fields hold
        # undecodable bytes, to be made visible before they are stored).
        self.undecodable = False
        self.options = options
        self.progress = progress
        self.counter = counter if counter is not None else OccurrenceCounter()
        self.recorded_at = datetime.now(UTC)
        self.policy = options.access_policy
        self.service = options.service or options.origin or UNKNOWN_SERVICE
        context = SourceContext(
            tz=options.tz, origin=options.origin, service=options.service, file=self.name
        )
        self.source = create_source(options.source, context)

    def recall(self, memory: Sequence[bytes]) -> None:
        """Give the source what the source of the lines before these remembered (their
        entries were counted where those lines were read)."""
        texts = []
        for line in memory:
            try:
                texts.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(line.decode("utf-8", "surrogateescape"))
                self.undecodable = True  # remembered bytes may reach an event's fields
        self.source.recall(texts)

    def run(
        self, lines: Iterable[Line | CutLine], first_line: int = 1, *, line_ends: bool = True
    ) -> None:
        """Read every line. `line_ends=True`: raw lines in memory, which lose their line ends
        and are capped here; False: lines as `provenance.records.lines` gives them.

        An `InputError` from `lines` (the input failed part-way) ends the input there: the
        line it cut short is quarantined, the source finishes what it holds, then the error is
        raised again.
        """
        source = self.source
        report = self.report
        handle = self.handle
        batch = self.batch
        batch_size = self.options.batch_size
        progress = self.progress
        try:
            for line_no, read in enumerate(lines, start=first_line):
                report.lines += 1
                item = capped(strip_line_end(cast(bytes, read))) if line_ends else read
                if isinstance(item, OverlongLine):
                    handle(Entry.too_long(line_no, item))
                elif isinstance(item, CutLine):
                    handle(Entry.cut_short(line_no, item))
                else:
                    try:
                        line = item.decode("utf-8")
                    except UnicodeDecodeError:
                        # Read all the same: a parser may understand it, and identity hashes
                        # the original bytes.
                        line = item.decode("utf-8", "surrogateescape")
                        self.undecodable = True
                    for entry in source.feed(line_no, line):
                        handle(entry)
                if batch.full(batch_size):
                    batch.flush()
                    if progress is not None:
                        progress(report.lines)
        except InputError:
            for entry in source.finish():
                handle(entry)
            raise
        for entry in source.finish():
            handle(entry)

    def handle(self, entry: Entry) -> None:
        report = self.report
        source_name = entry.source or self.source.name
        digest = entry.digest
        occurrence = self.counter.next(digest)
        count = len(entry.lines)
        report.lines_by_source[source_name] += count
        if entry.drafts:
            if self.undecodable:
                # Any entry from here on may carry such bytes, from its own lines or from
                # what the source remembers of earlier ones.
                _make_visible(entry)
            records = self._records(entry, source_name, digest, occurrence)
            if isinstance(records, list):
                report.consumed += count
                for record in records:
                    self.batch.add(record)
                return
            reason = records
        elif entry.ignored is not None:
            report.ignored += count
            report.ignored_by_reason[entry.ignored] += count
            return
        else:
            reason = entry.quarantined or "not understood"
        report.quarantined += count
        report.quarantined_by_reason[reason] += count
        report.quarantined_by_source[source_name] += count
        self.batch.add(self._quarantine_record(entry, source_name, digest, occurrence, reason))

    def _records(
        self, entry: Entry, source_name: str, digest: bytes, occurrence: int
    ) -> list[EventRecord] | str:
        """The entry's records, or why there are none (the reason it is quarantined)."""
        origin = self.options.origin
        # Built from this module's own typed values, so not validated again (once per line).
        source_ref = SourceRef.model_construct(
            type=source_name, origin=origin, file=self.name, line=entry.line_no
        )
        records = []
        try:
            for index, draft in enumerate(entry.drafts):
                # One window for every source (provenance.domain.event_time), checked before the
                # time is used: the stream of an access event is its UTC day.
                occurred_at = draft.fields.get("occurred_at")
                if isinstance(occurred_at, datetime) and not in_window(occurred_at):
                    return TIME_OUT_OF_RANGE
                key = event_id(source_name, origin, digest, occurrence, index)
                if draft.model is ServiceAccessed:
                    record = self._access_record(draft.fields, source_ref, key)
                else:
                    event: DomainEvent = draft.model(
                        event_id=key,
                        recorded_at=self.recorded_at,
                        source=source_ref,
                        **draft.fields,
                    )
                    if event.object is None:
                        return _REJECTED
                    record = _record(event, event.object)
                if len(record.payload) > MAX_PAYLOAD_BYTES:
                    return (
                        f"event too large for the store "
                        f"({len(record.payload)} bytes > {MAX_PAYLOAD_BYTES})"
                    )
                records.append(record)
        except (
            ValidationError,
            PydanticSerializationError,
            TypeError,
            ValueError,
            OverflowError,
            InvalidRecordError,
        ):
            # A source produced something its model or the store refuses: keep the line,
            # don't guess.
            return _REJECTED
        return records

    def _access_record(
        self, fields: dict[str, Any], source_ref: SourceRef, key: str
    ) -> EventRecord:
        """A request: the access policy says who made it, how to name the client and when the
        event may expire; it lands in its service's stream of the day."""
        policy = self.policy
        if policy is None:
            policy = self.policy = AccessPolicy.load()
        if self.report.access_policy is None:
            self.report.access_policy = policy.fingerprint
        get = fields.get
        resolution = policy.resolve(get("client"), get("user"), get("user_agent"))
        event = ServiceAccessed(
            event_id=key,
            recorded_at=self.recorded_at,
            source=source_ref,
            agent=resolution.agent,
            client_id=resolution.client_id,
            **{"service": self.service, **fields},
        )
        record = _record(event, access_stream(event.service, event.occurred_at))
        expires_at = policy.expires_at(event.occurred_at)
        return record if expires_at is None else replace(record, expires_at=expires_at)

    def _quarantine_record(
        self, entry: Entry, source_name: str, digest: bytes, occurrence: int, reason: str
    ) -> EventRecord:
        raw = "\n".join(entry.lines).encode("utf-8", "surrogateescape")
        origin = self.options.origin
        overlong = entry.overlong
        return _quarantine_record(
            event_id(source_name, origin, digest, occurrence, QUARANTINE_INDEX),
            SourceRef(type=source_name, origin=origin, file=self.name, line=entry.line_no),
            reason,
            raw,
            source_name,
            occurrence,
            len(entry.lines),
            self.recorded_at,
            whole=None if overlong is None else (overlong.length, overlong.sha256),
        )


def _shown(text: str) -> str:
    """Text (a file name, an event's field) with bytes that are not UTF-8 spelled visibly."""
    if text.isascii():
        # Nothing to spell, and no need to import the premis package for it: the ingest
        # Lambda's cold start should not pay for it when no line has such bytes.
        return text
    from premis.escaping import visible_surrogates  # noqa: PLC0415

    return visible_surrogates(text)


def _make_visible(entry: Entry) -> None:
    """Undecodable bytes in the entry's event fields spelled visibly (`\\xNN`, the rule PREMIS
    uses too): a stored payload is UTF-8 and never holds a lone surrogate."""
    for draft in entry.drafts:
        draft.fields = _visible(draft.fields)


def _visible(value: Any) -> Any:
    if isinstance(value, str):
        return _shown(value)
    if isinstance(value, dict):
        return {_visible(key): _visible(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_visible(item) for item in value)
    if isinstance(value, BaseModel):
        return value.model_copy(update={key: _visible(item) for key, item in value})
    return value


class _KeyedCounter(OccurrenceCounter):
    """Occurrences that start from a message's own key instead of 0."""

    __slots__ = ("base",)

    def __init__(self, base: int) -> None:
        super().__init__()
        self.base = base

    def next(self, digest: bytes) -> int:
        return self.base + super().next(digest)


class _MessageReader(_Reader):
    """A reader whose entries count their occurrence within the message their head came in."""

    def __init__(
        self,
        batch: _Batch,
        name: str | None,
        options: IngestOptions,
        starts: list[int],
        counters: list[OccurrenceCounter],
    ) -> None:
        super().__init__(batch, name, options, None)
        self.starts = starts  # the line number each message starts at, ascending
        self.counters = counters

    def handle(self, entry: Entry) -> None:
        self.counter = self.counters[bisect_right(self.starts, entry.line_no) - 1]
        super().handle(entry)


_REJECTED = "event rejected by its model"


def _quarantine_record(
    key: str,
    source_ref: SourceRef,
    reason: str,
    raw: bytes,
    source_type: str,
    occurrence: int,
    line_count: int,
    recorded_at: datetime,
    *,
    whole: tuple[int, str] | None = None,
) -> EventRecord:
    """The quarantine record of an entry; one too large for the store keeps the first part of
    `raw` that fits, marked `truncated`, with the whole entry's size and SHA-256. `whole`:
    `raw` is only the first part of the entry already (an over-long line), which has this
    size and SHA-256."""

    def build(kept: bytes, truncated: bool) -> EventRecord:
        event = LineQuarantined(
            event_id=key,
            object=None,
            occurred_at=recorded_at,
            recorded_at=recorded_at,
            source=source_ref,
            agent=_INGEST_AGENT,
            reason=reason,
            raw=base64.b64encode(kept).decode("ascii"),
            text=kept.decode("utf-8", "backslashreplace"),
            source_type=source_type,
            occurrence=occurrence,
            line_count=line_count,
            truncated=truncated,
            raw_bytes=(whole[0] if whole else len(raw)) if truncated else None,
            raw_sha256=(whole[1] if whole else hashlib.sha256(raw).hexdigest())
            if truncated
            else None,
        )
        return _record(event, QUARANTINE_STREAM)

    record = build(raw, whole is not None)
    size = len(record.payload)
    if size <= MAX_PAYLOAD_BYTES:
        return record
    # Aim from the bytes each raw byte cost in the full record (base64 and the escaped text
    # vary with the content), then shrink until it fits; this path is rare.
    overhead = len(build(b"", True).payload)
    per_byte = (size - overhead) / len(raw)
    keep = min(len(raw) - 1, int((MAX_PAYLOAD_BYTES - overhead) / per_byte * 0.95))
    while True:
        record = build(raw[:keep], True)
        if len(record.payload) <= MAX_PAYLOAD_BYTES:
            return record
        keep = keep * 3 // 4


@contextmanager
def _bulk_allocation() -> Iterator[None]:
    """Run the cyclic garbage collector less often while ingesting.

    Ingest makes several short-lived containers per line and keeps large caches (projection
    rows, occurrence counts); at Python's default threshold (700 allocations) the collector
    rescans them so often that it takes about a fifth of ingest time. Reference counting
    still frees nearly everything at once; the collector only has to find cycles.
    """
    saved = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _appended(records: list[EventRecord], result: AppendResult) -> Appended | None:
    """The newly written records, in position order, when the store told where they went."""
    if not result.positions or result.previous is None:
        return None
    position = dict(zip(result.written, result.positions, strict=True))
    placed: list[tuple[int, EventRecord]] = []
    for record in records:
        # A record whose id came twice in the batch was written once: take the first.
        at = position.pop(record.event_id, None)
        if at is not None:
            placed.append((at, record))
    placed.sort(key=lambda item: item[0])
    return Appended(result.previous, [record for _, record in placed], max(result.positions))


def _record(event: DomainEvent, stream: str) -> EventRecord:
    return EventRecord(
        event_id=event.event_id,
        stream=stream,
        type=event.type,  # type: ignore[attr-defined]
        occurred_at=event.occurred_at,
        payload=dump_event(event),
    )
