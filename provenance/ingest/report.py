"""What an ingest did: lines consumed, ignored or quarantined (with why), events stored, files read.

`IngestReport` is the one list of the counts: `add` sums two reports field by field, `counts`
gives the plain numbers (the ingest handler's batch log line and metrics, `prov redrive`'s JSON
take theirs from it), `as_json` the whole report (`prov ingest --format json`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

SUMMARY = ("lines", "events", "duplicates", "ignored", "quarantined")
"""The counts a summary shows, in its order (`prov redrive`'s JSON, the ingest metrics)."""


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
        """Count what `other` counted too (a batch's total over its records), field by field."""
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if isinstance(mine, int):
                setattr(self, item.name, mine + theirs)
            elif isinstance(mine, dict):  # the counters add up; passed_by: the latest why
                mine.update(theirs)
            elif isinstance(mine, list):
                # Names as they come (a batch of many records would pay quadratically to dedupe).
                mine.extend(theirs)
            else:  # access_policy: the first fingerprint seen
                setattr(self, item.name, mine or theirs)

    def counts(self, names: Iterable[str] | None = None) -> dict[str, int]:
        """The report's numbers by name: every count in the order of the fields (lines,
        consumed, ignored, quarantined, events, duplicates, quarantine_records), or the ones
        `names` asks for, in its order (`SUMMARY`: the counts a summary shows)."""
        if names is None:
            names = [
                item.name for item in fields(self) if isinstance(getattr(self, item.name), int)
            ]
        return {name: getattr(self, name) for name in names}

    def as_json(self) -> dict[str, Any]:
        return {
            **self.counts(("lines", "events", "duplicates", "consumed", "ignored", "quarantined")),
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
