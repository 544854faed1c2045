"""Quarantined entries run through today's parsers again (`prov quarantine --replay`, after a
parser fix), each with the identity it would have had at ingest."""

from __future__ import annotations

import base64
from dataclasses import replace

from eventstore import EventStore
from provenance.domain.events import QUARANTINE_STREAM, LineQuarantined, load_event
from provenance.domain.identity import OccurrenceCounter, line_digest
from provenance.ingest.pipeline import UNDECODED
from provenance.ingest.reader import Batch, IngestOptions, Reader
from provenance.ingest.report import IngestReport
from provenance.sources import SOURCE_NAMES


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
    batch = Batch(store, report)
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
        reader = Reader(batch, kept.source.file, entry_options, None)
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
