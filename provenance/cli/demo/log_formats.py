"""How the demo's logs print: the times of each log layout (`Clock`) and one output file's
lines (`Log`)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from provenance.cli.demo.vocabulary import MONTHS, SECOND


class Clock:
    """The three ways the logs print a time."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def _local(self, t: int) -> datetime:
        return datetime.fromtimestamp(t // SECOND, self.zone)

    def ruby(self, t: int) -> str:
        """Ruby Logger: zone-less local time with microseconds."""
        return f"{self._local(t):%Y-%m-%dT%H:%M:%S}.{t % SECOND:06d}"

    def ruby_time(self, t: int) -> str:
        """Ruby's `Time#to_s`: the Logger file header's time, and Rails' `Started ... at`."""
        return f"{self._local(t):%Y-%m-%d %H:%M:%S %z}"

    def rails(self, t: int) -> str:
        """Rails tagged log: ISO 8601 local time with its offset, whole seconds."""
        return self._local(t).isoformat()

    def utc_ms(self, t: int) -> str:
        """Sidekiq and JSON: UTC with milliseconds and `Z`."""
        moment = datetime.fromtimestamp(t // SECOND, UTC)
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{t % SECOND // 1000:03d}Z"

    def apache(self, t: int) -> str:
        """Apache's `%t` (without brackets): local time; English month names in any locale."""
        local = self._local(t)
        return f"{local.day:02d}/{MONTHS[local.month - 1]}/{local.year}:{local:%H:%M:%S} {local:%z}"


class Log:
    """One output file: (time, sequence, text) records, sorted by time when written."""

    __slots__ = ("records", "relpath", "service", "source")

    def __init__(self, relpath: str, source: str, service: str | None = None) -> None:
        self.relpath = relpath
        self.source = source
        self.service = service
        self.records: list[tuple[int, int, str]] = []

    def add(self, t: int, text: str) -> None:
        self.records.append((t, len(self.records), text))
