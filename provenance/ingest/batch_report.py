"""What one invocation of the ingest function did: its batch's records, by kind, and their ingest.

The ingest handler (`handlers.ingest`) counts each record's `RecordResult` here and hands the
totals to Powertools: one structured log line per batch (`log_fields`: records by kind, lines,
events, duplicates, ignored, quarantined with reasons, lines by source, failed sequence numbers,
duration) and its metrics (`metrics`, and `source_metrics` for the per-source ones, whose
`Source` dimension takes only the registry's source names, so the number of metrics stays
bounded).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from provenance.ingest.kinesis_records import CONTROL, KINDS, UNDECODABLE, RecordResult
from provenance.ingest.pipeline import UNDECODED
from provenance.ingest.report import IngestReport
from provenance.sources import SOURCE_NAMES

# Reasons listed in the batch log line; the rest are summed under "(other reasons)".
_LOGGED_REASONS = 20


@dataclass
class BatchReport:
    """What one invocation did, for its log line and metrics."""

    records: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    report: IngestReport = field(default_factory=IngestReport)
    failed: list[str] = field(default_factory=list)

    def add(self, result: RecordResult) -> None:
        self.kinds[result.kind] += 1
        self.report.add(result.report)

    def log_fields(self, seconds: float) -> dict[str, Any]:
        """The fields of the batch's log line (`ingest batch`), `seconds` its duration."""
        report = self.report
        reasons = report.quarantined_by_reason.most_common()
        logged = dict(reasons[:_LOGGED_REASONS])
        if len(reasons) > _LOGGED_REASONS:
            logged["(other reasons)"] = sum(n for _, n in reasons[_LOGGED_REASONS:])
        return {
            "records": self.records,
            "records_by_kind": {kind: self.kinds[kind] for kind in KINDS if self.kinds[kind]},
            "failed_records": len(self.failed),
            "failed_sequence_numbers": self.failed,
            **report.counts(),
            "events_by_type": dict(report.by_type),
            "ignored_by_reason": dict(report.ignored_by_reason),
            "quarantined_by_reason": logged,
            "lines_by_source": dict(report.lines_by_source),
            "duration_ms": round(seconds * 1000, 1),
        }

    def metrics(self) -> list[tuple[str, int]]:
        """(name, count) of each of the batch's metrics: Records, FailedRecords,
        ControlMessages, UndecodableRecords, Lines, Events, Duplicates, Ignored, Quarantined."""
        # Each name spelled out: a metric's name is what the dashboard and alarms look for
        # (tests/cdk/test_stacks.py checks them against the dashboard).
        report = self.report
        return [
            ("Records", self.records),
            ("FailedRecords", len(self.failed)),
            ("ControlMessages", self.kinds[CONTROL]),
            ("UndecodableRecords", self.kinds[UNDECODABLE]),
            ("Lines", report.lines),
            ("Events", report.events),
            ("Duplicates", report.duplicates),
            ("Ignored", report.ignored),
            ("Quarantined", report.quarantined),
        ]

    def source_metrics(self) -> list[tuple[str, int, int]]:
        """(Source dimension, Lines, Quarantined) per source (parser), sorted by source."""
        report = self.report
        return [
            (_metric_source(source), lines, report.quarantined_by_source[source])
            for source, lines in sorted(report.lines_by_source.items())
        ]


def _metric_source(source: str) -> str:
    # Only known names become dimension values: each value is a metric CloudWatch bills.
    return source if source in SOURCE_NAMES or source == UNDECODED else "other"
