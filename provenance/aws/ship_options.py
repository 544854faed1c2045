"""The terms of a `prov ship` run: what to ship where (`ShipOptions`), the limits records and
calls are held to, and the error that stops it (`ShipError`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo

from provenance.domain.errors import ProvenanceError
from provenance.records.envelope import MAX_RECORD_BYTES

DEFAULT_RECORD_BYTES = 256 * 1024
"""Aim for this many bytes of lines per record (some 30-60 KB once compressed)."""
MAX_CALL_RECORDS = 500
MAX_CALL_BYTES = 5_000_000
"""Kinesis takes 5 MiB per PutRecords call, partition keys included; this leaves room."""
DEFAULT_MAX_ATTEMPTS = 8

Warn = Callable[[str], None]


class ShipError(ProvenanceError):
    """Shipping cannot go on (one-line reason); what was acknowledged is saved."""


@dataclass(frozen=True, slots=True)
class ShipOptions:
    """What to ship where, and how big records and calls may get."""

    stream: str
    source: str = "auto"
    service: str | None = None
    host: str = ""
    tz: tzinfo = UTC
    compress: bool = True
    record_bytes: int = DEFAULT_RECORD_BYTES
    max_record_bytes: int = MAX_RECORD_BYTES
    max_call_records: int = MAX_CALL_RECORDS
    max_call_bytes: int = MAX_CALL_BYTES
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base: float = 0.1
    backoff_cap: float = 5.0
    poll_seconds: float = 1.0
    idle_flush_seconds: float = 30.0
    force: bool = False
    """Ship files that look binary (NUL bytes in their first 8 KiB) all the same."""

    @property
    def stretch_limit(self) -> int:
        """The most a stretch of lines may add to a record (`encoded_size`) before it is cut
        anyway: 7/8 of a record, which leaves the rest (125 KB) for the source's memory
        (`MAX_MEMORY_BYTES`) and the envelope's own fields (host, service, file name)."""
        return self.max_record_bytes * 7 // 8
