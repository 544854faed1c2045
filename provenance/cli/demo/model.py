"""The simulated repository's things: objects, their versions and checksum incidents, and
the robots' step runs and Sidekiq threads."""

from __future__ import annotations

from dataclasses import dataclass, field


def tree(bare: str) -> str:
    return f"{bare[0:2]}/{bare[2:5]}/{bare[5:7]}/{bare[7:11]}/{bare}"


# --- the simulated repository ----------------------------------------------------------------


@dataclass(slots=True)
class Version:
    number: int
    closed: int
    size: int
    done: int = 0  # when complete-ingest finished: the version is then on disk and catalogued
    parts: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass(slots=True)
class Incident:
    """A checksum validation failure: when it is first seen, repaired (or not), what it says."""

    failed: int
    repaired: int | None
    status: str  # the MoabRecord status it causes
    kind: str


@dataclass(slots=True)
class Object:
    bare: str
    root: str
    files: list[str]
    featured: bool = False
    registered: int = 0
    versions: list[Version] = field(default_factory=list)
    incident: Incident | None = None

    def version_at(self, t: int) -> int:
        current = 0
        for version in self.versions:
            if version.done <= t:
                current = version.number
        return current

    def status_at(self, t: int) -> str:
        incident = self.incident
        if incident is None or t < incident.failed:
            return "ok"
        if incident.repaired is not None and t >= incident.repaired:
            return "ok"
        return incident.status


@dataclass(slots=True)
class Job:
    """One robot step run, placed on a Sidekiq thread once all runs are known."""

    start: int
    end: int
    druid: str
    step: str
    workflow: str
    error: tuple[str, ...] = ()  # the failure message and its backtrace lines


@dataclass(slots=True)
class Thread:
    pid: int
    tid: str
    busy_until: int = 0
