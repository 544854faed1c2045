"""Ingest: raw log lines -> sources -> identified domain events -> the event store.

The entry points, one per kind of input: a whole file or stream (`ingest_stream`), a part of one
(`ingest_lines`: a shipped record's lines, with the occurrence counts that came before them), a
`prov ship` envelope (`ingest_envelope`), messages that each carry their own identity
(`ingest_messages`: CloudWatch Logs events), and data that could not be read as lines at all
(`quarantine_data`). Each reads its input with `provenance.ingest.reader` (the line loop, the
accounting, batching), whose records `provenance.ingest.event_records` builds, and counts what
it did in an `IngestReport` (`provenance.ingest.report`). Quarantined entries are read again by
`provenance.ingest.replay`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import BinaryIO

from eventstore import EventStore
from provenance.domain.events import SourceRef
from provenance.domain.identity import QUARANTINE_INDEX, OccurrenceCounter, event_id
from provenance.ingest.event_records import quarantine_record, spelled_bytes
from provenance.ingest.inputs import InputError
from provenance.ingest.reader import (
    Batch,
    IngestOptions,
    KeyedCounter,
    MessageReader,
    Progress,
    Reader,
    bulk_allocation,
)
from provenance.ingest.report import IngestReport
from provenance.records.envelope import Envelope
from provenance.records.lines import CutLine, Line, read_lines

UNDECODED = "undecoded"
"""The `source_type` of data quarantined before any parser saw it (`quarantine_data`)."""
MESSAGE_KEY_SHIFT = 20
"""`ingest_messages`: an entry's occurrence is `key << 20` plus the number of identical entry
heads before it in the same message (a message of at most 256 KiB has fewer than 2**20)."""


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
    batch = Batch(store, report)
    try:
        with bulk_allocation():
            Reader(batch, name, options, progress).run(read_lines(stream), line_ends=False)
            batch.flush()
    except InputError:
        batch.flush()
        raise
    finally:
        if name is not None:
            report.files.append(spelled_bytes(name))
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
    batch = Batch(store, report)
    starts: list[int] = []
    counters: list[OccurrenceCounter] = []
    line_no = 1
    for key, lines in messages:
        starts.append(line_no)
        counters.append(KeyedCounter(key << MESSAGE_KEY_SHIFT))
        line_no += len(lines)
    with bulk_allocation():
        reader = MessageReader(batch, name, options, starts, counters)
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
    batch = Batch(store, report)
    recorded_at = datetime.now(UTC)
    digest = hashlib.sha1(data).digest()
    source_ref = SourceRef(type=UNDECODED, origin=origin, file=name, line=None)
    key = event_id(UNDECODED, origin, digest, 0, QUARANTINE_INDEX)
    batch.add(quarantine_record(key, source_ref, reason, data, UNDECODED, 0, 1, recorded_at))
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
    batch = Batch(store, report)
    counter = OccurrenceCounter(dict(occurrences) if occurrences else None)
    with bulk_allocation():
        reader = Reader(batch, name, options, None, counter)
        if memory:
            reader.recall(memory)
        reader.run(lines, first_line, line_ends=line_ends)
        batch.flush()
    _add_file(report, name)
    return report


def _add_file(report: IngestReport, name: str | None) -> None:
    if name is not None:
        name = spelled_bytes(name)
        if name not in report.files:
            report.files.append(name)
