"""Ingest: raw log lines -> sources -> identified domain events -> the event store.

Owns the accounting (every line is consumed, ignored or quarantined), the event envelope
(id, recorded_at, source) and batching. Keeps the ObjectState projection current after each
batch. Imports the sources, identity, events, projections and `eventstore`.
"""

from __future__ import annotations

import base64
import gc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, BinaryIO

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from eventstore import AppendResult, EventRecord, EventStore, InvalidRecordError
from eventstore.store import check_record
from provenance.access_policy import AccessPolicy
from provenance.events import (
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
from provenance.identity import QUARANTINE_INDEX, OccurrenceCounter, event_id, line_digest
from provenance.projections import access_counts, object_state
from provenance.projections.base import Appended
from provenance.sources import create_source
from provenance.sources.base import Entry, SourceContext

BATCH_SIZE = 20_000
# Years whose times every store can keep whatever the zone offset (time_key's range is 1-9999).
_SAFE_YEARS = (1, 9999)
# The service of access events when neither --service nor --host names one.
UNKNOWN_SERVICE = "unknown"
_INGEST_AGENT = AgentRef(name="prov ingest", kind="software")

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
    files: list[str] = field(default_factory=list)
    # The access policy's fingerprint when requests were read: another value on a later
    # ingest means agents or pseudonyms may not match those stored before.
    access_policy: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "events": self.events,
            "duplicates": self.duplicates,
            "consumed": self.consumed,
            "ignored": self.ignored,
            "quarantined": self.quarantined,
            "events_by_type": dict(sorted(self.by_type.items())),
            "ignored_by_reason": dict(sorted(self.ignored_by_reason.items())),
            "quarantined_by_reason": dict(sorted(self.quarantined_by_reason.items())),
            "files": self.files,
            "access_policy": self.access_policy,
        }


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
        self.projectors = (
            object_state.ObjectStateProjector(store),
            access_counts.AccessCountsProjector(store),
        )

    def add(self, record: EventRecord) -> None:
        self.records.append(record)

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
        for projector in self.projectors:
            projector.catch_up(appended)


def ingest_stream(
    store: EventStore,
    stream: BinaryIO | Iterable[bytes],
    name: str | None,
    options: IngestOptions,
    report: IngestReport | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Read one input (a file or stdin) to its end and store what it holds."""
    report = report if report is not None else IngestReport()
    batch = _Batch(store, report)
    with _bulk_allocation():
        _Reader(batch, name, options, progress).run(stream)
        batch.flush()
    if name is not None:
        report.files.append(name)
    return report


def replay_quarantine(store: EventStore, options: IngestOptions) -> IngestReport:
    """Run every quarantined entry through today's parsers again (after a parser fix).

    Each entry keeps the identity it would have had at ingest (same source, origin, head line
    and occurrence index), so a replay adds only what the fix newly understands: replaying
    twice, or after re-ingesting the original file, adds nothing. Quarantine records are never
    removed; an entry that still fails is counted as quarantined again. Zone-less times are
    read in `options.tz`, as at ingest.
    """
    report = IngestReport()
    batch = _Batch(store, report)
    for record in store.read_stream(QUARANTINE_STREAM):
        kept = load_event(record.payload)
        if not isinstance(kept, LineQuarantined):
            continue
        lines = base64.b64decode(kept.raw).split(b"\n")
        entry_options = replace(options, source=kept.source_type, origin=kept.source.origin)
        reader = _Reader(batch, kept.source.file, entry_options, None)
        head = lines[0].decode("utf-8", "surrogateescape")
        reader.counter = OccurrenceCounter({line_digest(head)[:8]: kept.occurrence})
        reader.run(lines, first_line=kept.source.line or 1)
    batch.flush()
    return report


class _Reader:
    """One pass over one input: decode, feed the source, turn entries into records."""

    def __init__(
        self, batch: _Batch, name: str | None, options: IngestOptions, progress: Progress | None
    ) -> None:
        self.batch = batch
        self.report = batch.report
        self.name = name
        self.options = options
        self.progress = progress
        self.counter = OccurrenceCounter()
        self.recorded_at = datetime.now(UTC)
        self.policy = options.access_policy
        self.service = options.service or options.origin or UNKNOWN_SERVICE
        context = SourceContext(
            tz=options.tz, origin=options.origin, service=options.service, file=name
        )
        self.source = create_source(options.source, context)

    def run(self, stream: BinaryIO | Iterable[bytes], first_line: int = 1) -> None:
        source = self.source
        report = self.report
        handle = self.handle
        batch_size = self.options.batch_size
        progress = self.progress
        for line_no, raw in enumerate(stream, start=first_line):
            report.lines += 1
            raw_line = raw.rstrip(b"\n")
            if raw_line.endswith(b"\r"):
                raw_line = raw_line[:-1]
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                handle(
                    Entry(
                        line_no,
                        [raw_line.decode("utf-8", "surrogateescape")],
                        quarantined=f"invalid UTF-8 at byte {exc.start}",
                    )
                )
            else:
                for entry in source.feed(line_no, line):
                    handle(entry)
            if len(self.batch.records) >= batch_size:
                self.batch.flush()
                if progress is not None:
                    progress(report.lines)
        for entry in source.finish():
            handle(entry)

    def handle(self, entry: Entry) -> None:
        report = self.report
        source_name = entry.source or self.source.name
        digest = line_digest(entry.head)
        occurrence = self.counter.next(digest)
        count = len(entry.lines)
        if entry.drafts:
            records = self._records(entry, source_name, digest, occurrence)
            if records is not None:
                report.consumed += count
                for record in records:
                    self.batch.add(record)
                return
            reason = "event rejected by its model"
        elif entry.ignored is not None:
            report.ignored += count
            report.ignored_by_reason[entry.ignored] += count
            return
        else:
            reason = entry.quarantined or "not understood"
        report.quarantined += count
        report.quarantined_by_reason[reason] += count
        self.batch.add(self._quarantine_record(entry, source_name, digest, occurrence, reason))

    def _records(
        self, entry: Entry, source_name: str, digest: bytes, occurrence: int
    ) -> list[EventRecord] | None:
        origin = self.options.origin
        # Built from this module's own typed values, so not validated again (once per line).
        source_ref = SourceRef.model_construct(
            type=source_name, origin=origin, file=self.name, line=entry.line_no
        )
        records = []
        try:
            for index, draft in enumerate(entry.drafts):
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
                        return None
                    record = _record(event, event.object)
                # Times the store cannot sort (before year 1 or after 9999 in UTC): rare, so a
                # cheap year test here, and the store's own check decides the near misses.
                if not _SAFE_YEARS[0] < record.occurred_at.year < _SAFE_YEARS[1]:
                    check_record(record)
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
            return None
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
        event = LineQuarantined(
            event_id=event_id(source_name, origin, digest, occurrence, QUARANTINE_INDEX),
            object=None,
            occurred_at=self.recorded_at,
            recorded_at=self.recorded_at,
            source=SourceRef(type=source_name, origin=origin, file=self.name, line=entry.line_no),
            agent=_INGEST_AGENT,
            reason=reason,
            raw=base64.b64encode(raw).decode("ascii"),
            text=raw.decode("utf-8", "backslashreplace"),
            source_type=source_name,
            occurrence=occurrence,
            line_count=len(entry.lines),
        )
        return _record(event, QUARANTINE_STREAM)


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
