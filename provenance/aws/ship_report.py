"""What a `prov ship` run did (`ShipReport`, one `FileReport` per followed path): counts of
acknowledged records only, and where shipping each path would resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class FileReport:
    """One followed path: what was acknowledged, and where shipping would resume."""

    path: str
    file_id: str = ""
    offset: int = 0
    next_line: int = 1
    lines: int = 0
    records: int = 0
    bytes: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "file_id": self.file_id,
            "offset": self.offset,
            "next_line": self.next_line,
            "lines": self.lines,
            "records": self.records,
            "bytes": self.bytes,
        }


@dataclass(slots=True)
class ShipReport:
    """What one `prov ship` run did. Counts are of acknowledged records only."""

    stream: str
    files: list[FileReport] = field(default_factory=list)
    lines: int = 0
    records: int = 0
    bytes: int = 0
    payload_units: int = 0
    put_calls: int = 0
    retried_entries: int = 0
    forced_cuts: int = 0
    # Entries finished after --idle-flush seconds of quiet (split only if they go on later).
    idle_flushes: int = 0
    rotations: int = 0
    truncations: int = 0
    stopped: bool = False
    # Compressed files that were damaged part-way (one line each; what came before is shipped).
    damaged: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "files": [report.as_json() for report in self.files],
            "lines": self.lines,
            "records": self.records,
            "bytes": self.bytes,
            "payload_units": self.payload_units,
            "put_calls": self.put_calls,
            "retried_entries": self.retried_entries,
            "forced_cuts": self.forced_cuts,
            "idle_flushes": self.idle_flushes,
            "rotations": self.rotations,
            "truncations": self.truncations,
            "stopped": self.stopped,
            "damaged": self.damaged,
        }
