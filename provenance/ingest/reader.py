"""One pass over one input: lines -> the source -> entries -> records, written in batches.

Owns the accounting (every line is consumed, ignored or quarantined), the event envelope (id,
recorded_at, source) and batching; keeps the ObjectState and access-count projections current
after each batch written.

Lines are read by `provenance.records.lines` (line ends, a byte-order mark, the 512 KiB cap). A
line that is not UTF-8 goes to its parser all the same, decoded with `surrogateescape` (identity
hashes its original bytes), and the entries from then on are made visible
(`provenance.ingest.event_records`). An over-long line is quarantined on its own, kept in part
(`Entry.too_long`).

Times: an entry whose event time lies outside the window of `provenance.domain.event_time` (a day
inside the calendar, 0001-01-02 to 9999-12-30 UTC) is quarantined as "time out of range",
whatever its source: the one rule, checked here for every draft.

An entry whose event would be larger than `eventstore.store.MAX_PAYLOAD_BYTES` is not stored as
an event: the entry is quarantined ("event too large for the store (N bytes > 262144)").
"""

from __future__ import annotations

import gc
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, to_json

from eventstore import AppendResult, EventRecord, EventStore, InvalidRecordError
from eventstore.store import MAX_PAYLOAD_BYTES
from provenance.access.policy import AccessPolicy
from provenance.domain.event_shapes import source_ref as built_source_ref
from provenance.domain.event_time import TIME_OUT_OF_RANGE, in_window
from provenance.domain.events import (
    ACCESS_STREAM_PREFIX,
    QUARANTINE_STREAM,
    ServiceAccessed,
    SourceRef,
    access_stream,
)
from provenance.domain.identity import (
    QUARANTINE_INDEX,
    EventIdOf,
    OccurrenceCounter,
    event_id,
    event_ids,
)
from provenance.ingest.access_event import access_event, time_text, typed_fields
from provenance.ingest.event_records import (
    event_record,
    make_visible,
    quarantine_record,
    spelled_bytes,
)
from provenance.ingest.inputs import InputError
from provenance.ingest.report import IngestReport
from provenance.records.lines import CutLine, Line, OverlongLine, capped, strip_line_end
from provenance.sources import create_source
from provenance.sources.base import Entry, SourceContext

if TYPE_CHECKING:
    from provenance.projections.base import Appended, Projector

BATCH_SIZE = 20_000
BATCH_BYTES = 8 * 1024 * 1024
"""A batch is also written once its records' payloads pass this many bytes: records of long
lines (quarantined ones hold their bytes twice, as base64 and as text) would otherwise hold
up to BATCH_SIZE times 256 KiB in memory. An access event's payload is about 1 KB, and the
batch holds each one's event and parsed fields too (about 3 KB a request in all), so at
16 MiB a batch of access events alone took some 50 MiB; at 8 MiB ingest of a 1M-line access
log peaks 34 MiB lower for the same CPU time within the noise (BENCHMARKS.md section 8)."""
# The service of access events when neither --service nor --host names one.
UNKNOWN_SERVICE = "unknown"

Progress = Callable[[int], None]


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


class Batch:
    """Records waiting to be appended, with what the report needs to know about them."""

    def __init__(self, store: EventStore, report: IngestReport) -> None:
        self.store = store
        self.report = report
        self.records: list[EventRecord] = []
        # Each record's event as `load_payload` reads it, where the reader has it (access
        # events built from typed values), else None: the projections fold these from memory.
        self.events: list[dict[str, Any] | None] = []
        self.payload_bytes = 0
        # A store whose change stream keeps the projections (DynamoDB: the projector function)
        # needs none here, and the ingest function's cold start does not import them.
        self.projectors = () if store.projected_by_stream else _projectors(store)

    def add(self, record: EventRecord, event: dict[str, Any] | None = None) -> None:
        self.records.append(record)
        self.events.append(event)
        self.payload_bytes += len(record.payload)

    def full(self, size: int) -> bool:
        """Whether to write the batch now: `size` records, or `BATCH_BYTES` of payloads."""
        return len(self.records) >= size or self.payload_bytes >= BATCH_BYTES

    def flush(self) -> None:
        if not self.records:
            return
        result = self.store.append(self.records)
        written = set(result.written)
        appended = _appended(self.records, self.events, result) if self.projectors else None
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
        self.events = []
        self.payload_bytes = 0
        for projector in self.projectors:
            projector.catch_up(appended)


class Reader:
    """One pass over one input: decode, feed the source, turn entries into records."""

    def __init__(
        self,
        batch: Batch,
        name: str | None,
        options: IngestOptions,
        progress: Progress | None,
        counter: OccurrenceCounter | None = None,
    ) -> None:
        self.batch = batch
        self.report = batch.report
        # A file name with bytes that are not UTF-8 is shown the way such bytes are in events.
        self.name = name if name is None else spelled_bytes(name)
        # Whether a line of this input was not UTF-8 (only then can an entry's fields hold
        # undecodable bytes, to be made visible before they are stored).
        self.undecodable = False
        self.options = options
        self.progress = progress
        self.counter = counter if counter is not None else OccurrenceCounter()
        # `event_id` by source name (`auto` reads several formats), its fixed part encoded once.
        self._event_ids: dict[str, EventIdOf] = {}
        self.recorded_at = datetime.now(UTC)
        self._recorded_at_text = time_text(self.recorded_at)
        # The last access event's time, its text, its stream's day and its expiry: a busy log
        # has many requests per second, and the clf parser gives them the same time object.
        self._last_moment: tuple[datetime, str, str, datetime | None] | None = None
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
                make_visible(entry)
            records = self._records(entry, source_name, digest, occurrence)
            if isinstance(records, list):
                report.consumed += count
                for record, event in records:
                    self.batch.add(record, event)
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
    ) -> list[tuple[EventRecord, dict[str, Any] | None]] | str:
        """The entry's records (each with its event as plain data where that was built
        without the model), or why there are none (the reason it is quarantined)."""
        origin = self.options.origin
        ids = self._event_ids.get(source_name)
        if ids is None:
            ids = self._event_ids[source_name] = event_ids(source_name, origin)
        # Built from this module's own typed values, so not validated again (once per line);
        # made when a draft needs it (access events are mostly built without, and so are
        # events of a shape, with its fields as a dict).
        source_ref: SourceRef | None = None
        source_fields: dict[str, Any] | None = None
        records = []
        try:
            for index, draft in enumerate(entry.drafts):
                # One window for every source (provenance.domain.event_time), checked before the
                # time is used: the stream of an access event is its UTC day.
                occurred_at = draft.fields.get("occurred_at")
                if isinstance(occurred_at, datetime) and not in_window(occurred_at):
                    return TIME_OUT_OF_RANGE
                key = ids(digest, occurrence, index)
                data = None
                if draft.model is ServiceAccessed:
                    record, data = self._access_record(
                        draft.fields, source_name, entry.line_no, key
                    )
                elif draft.shape is not None:
                    # The event's field values as its model would hold them, stored without
                    # making the model's instance (`EventShape.values`: the same payload).
                    if source_fields is None:
                        source_fields = {
                            "type": source_name,
                            "origin": origin,
                            "file": self.name,
                            "line": entry.line_no,
                        }
                    shape = draft.shape
                    fields = shape.values(draft.fields, key, self.recorded_at, source_fields)
                    stream = fields["object"]
                    if stream is None:
                        return _REJECTED
                    record = EventRecord(
                        event_id=key,
                        stream=stream,
                        type=shape.type_name,
                        occurred_at=fields["occurred_at"],
                        payload=to_json(fields),
                    )
                else:
                    if source_ref is None:
                        source_ref = built_source_ref(source_name, origin, self.name, entry.line_no)
                    event = draft.event(key, self.recorded_at, source_ref)
                    if event.object is None:
                        return _REJECTED
                    record = event_record(event, event.object)
                if len(record.payload) > MAX_PAYLOAD_BYTES:
                    return (
                        f"event too large for the store "
                        f"({len(record.payload)} bytes > {MAX_PAYLOAD_BYTES})"
                    )
                records.append((record, data))
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
        self, fields: dict[str, Any], source_name: str, line_no: int, key: str
    ) -> tuple[EventRecord, dict[str, Any] | None]:
        """A request: the access policy says who made it, how to name the client and when the
        event may expire; it lands in its service's stream of the day. Fields of the exact
        types the model keeps make the event without it (`access_event`); any others go
        through the model, which validates them."""
        policy = self.policy
        if policy is None:
            policy = self.policy = AccessPolicy.load()
        if self.report.access_policy is None:
            self.report.access_policy = policy.fingerprint
        get = fields.get
        resolution = policy.resolve(get("client"), get("user"), get("user_agent"))
        if typed_fields(fields):
            occurred_at: datetime = fields["occurred_at"]
            service: str = get("service", self.service)
            last = self._last_moment
            if last is None or last[0] is not occurred_at:
                last = self._last_moment = (
                    occurred_at,
                    time_text(occurred_at),
                    occurred_at.astimezone(UTC).date().isoformat(),
                    policy.expires_at(occurred_at),
                )
            data, payload = access_event(
                fields,
                event_id=key,
                occurred_at=last[1],
                recorded_at=self._recorded_at_text,
                source={
                    "type": source_name,
                    "origin": self.options.origin,
                    "file": self.name,
                    "line": line_no,
                },
                agent=resolution.agent_data,
                client_id=resolution.client_id,
                service=self.service,
            )
            stream = f"{ACCESS_STREAM_PREFIX}{service}/{last[2]}"
            record = EventRecord(
                event_id=key,
                stream=stream,
                type="ServiceAccessed",
                occurred_at=occurred_at,
                payload=payload,
                expires_at=last[3],
            )
            return record, data
        event = ServiceAccessed(
            event_id=key,
            recorded_at=self.recorded_at,
            source=SourceRef.model_construct(
                type=source_name, origin=self.options.origin, file=self.name, line=line_no
            ),
            agent=resolution.agent,
            client_id=resolution.client_id,
            **{"service": self.service, **fields},
        )
        record = event_record(event, access_stream(event.service, event.occurred_at))
        expires_at = policy.expires_at(event.occurred_at)
        return (record if expires_at is None else replace(record, expires_at=expires_at)), None

    def _quarantine_record(
        self, entry: Entry, source_name: str, digest: bytes, occurrence: int, reason: str
    ) -> EventRecord:
        raw = "\n".join(entry.lines).encode("utf-8", "surrogateescape")
        origin = self.options.origin
        overlong = entry.overlong
        return quarantine_record(
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


class KeyedCounter(OccurrenceCounter):
    """Occurrences that start from a message's own key instead of 0."""

    __slots__ = ("base",)

    def __init__(self, base: int) -> None:
        super().__init__()
        self.base = base

    def next(self, digest: bytes) -> int:
        return self.base + super().next(digest)


class MessageReader(Reader):
    """A reader whose entries count their occurrence within the message their head came in."""

    def __init__(
        self,
        batch: Batch,
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


@contextmanager
def bulk_allocation() -> Iterator[None]:
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


def _projectors(store: EventStore) -> tuple[Projector, ...]:
    """The projectors ingest keeps current itself (imported here: the ingest function, whose
    store's change stream feeds them instead, never loads them)."""
    from provenance.projections import access_counts, object_state  # noqa: PLC0415

    # A new store's object state is marked with its row layout before its first rows; an old
    # one's is rebuilt when the state is next read (`object_state.catch_up`).
    if not store.projected_by_stream:
        object_state.layout_is_current(store)
    return (object_state.ObjectStateProjector(store), access_counts.AccessCountsProjector(store))


def _appended(
    records: list[EventRecord], events: list[dict[str, Any] | None], result: AppendResult
) -> Appended | None:
    """The newly written records (with the events the reader has of them), in position order,
    when the store told where they went."""
    from provenance.projections.base import Appended  # noqa: PLC0415

    if not result.positions or result.previous is None:
        return None
    position = dict(zip(result.written, result.positions, strict=True))
    placed: list[tuple[int, EventRecord, dict[str, Any] | None]] = []
    for record, event in zip(records, events, strict=True):
        # A record whose id came twice in the batch was written once: take the first.
        at = position.pop(record.event_id, None)
        if at is not None:
            placed.append((at, record, event))
    placed.sort(key=lambda item: item[0])
    return Appended(
        result.previous,
        [record for _, record, _ in placed],
        max(result.positions),
        [event for _, _, event in placed],
    )
