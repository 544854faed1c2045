"""What the `robots` source remembers: the job each Sidekiq thread and each druid was last
seen processing, and those jobs stated as lines (`memory`) for a record of `prov ship`.

One JSON object per remembered job, in the order the jobs were remembered (the thread it
holds, if it still does; its druid, and whether it is still the druid's job; step, workflow,
done, failed), within `MEMORY_BYTES` of a record: the newest jobs still open first (a
`Finished`, a failure or a catalog note is still to come for them), then the newest done. A
fresh source that takes them in (`recall`) holds the same jobs in the same places; a record of
`prov ship` carries them, so a `Finished` in one record gets the step its `processing` line
named in an earlier one. (The state, not the log lines that made it: read again without the
lines of jobs since forgotten, those lines need not leave the same state.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from provenance.domain.druid import Druid, druid_or_none
from provenance.records.envelope import MAX_MEMORY_BYTES, memory_size

_SURROGATE = re.compile("[\ud800-\udfff]")
# Bounds on what is remembered, so a huge log of jobs that never finish cannot grow memory.
MAX_REMEMBERED = 10_000
MEMORY_BYTES = MAX_MEMORY_BYTES - 4 * 1024  # 2 KiB for rails', 2 KiB for auto's own lines
"""At most what `memory()` adds to a record (`envelope.memory_size`): some 300 jobs (a busy
robot host has a few dozen threads, some 200 bytes a job), the rest of `MAX_MEMORY_BYTES` left
for `auto`'s own lines and other sources' memories. Open jobs are kept before done ones; past
this the oldest are forgotten there."""


@dataclass(slots=True)
class Job:
    """What one Sidekiq thread (or one druid) was last seen processing."""

    druid: Druid
    step: str | None
    workflow: str | None
    done: bool = False
    failed: bool = False
    # When it was remembered (the entry's number), on which thread, and its line of
    # `RobotsSource.memory` once made (None: to be made again, something changed).
    seq: int = 0
    thread: tuple[str, str] | None = None
    memory_line: str | None = None


class RobotJobs:
    """The jobs the robots source remembers, by thread and by druid, and its `memory()`."""

    def __init__(self) -> None:
        self.by_thread: dict[tuple[str, str], Job] = {}
        self.by_druid: dict[str, Job] = {}
        # Entries made (numbering the jobs remembered); the jobs either map holds, still open
        # in the order they were remembered, done in the order they were done; and
        # `memory()` of them until something changes.
        self.seq = 0
        self._open: dict[int, Job] = {}
        self._done: dict[int, Job] = {}
        self._memory_lines: tuple[str, ...] | None = None

    def memory(self) -> tuple[str, ...]:
        lines = self._memory_lines
        if lines is None:
            kept: list[Job] = []
            size = 0
            # Open jobs first: a job forgotten while open leaves its `Finished`, failure or
            # catalog note without a step or a druid (a note is then quarantined). Each pass
            # stops at the first job that does not fit: the older ones are forgotten, as if
            # the log began after them.
            for held in (self._open, self._done):
                for job in reversed(held.values()):
                    line = job.memory_line
                    if line is None:
                        line = job.memory_line = self._described(job)
                    size += memory_size((line,))
                    if size > MEMORY_BYTES:
                        break
                    kept.append(job)
            kept.sort(key=lambda job: job.seq)
            lines = self._memory_lines = tuple(cast(str, job.memory_line) for job in kept)
        return lines

    def _hold(self, job: Job) -> None:
        (self._done if job.done else self._open)[job.seq] = job

    def recall(self, memory: Sequence[str]) -> None:
        for line in memory:
            described = _job_from(line)
            if described is None:
                continue  # not a job this source described: nothing to remember
            job, holds_druid = described
            thread = job.thread
            if thread is None and not holds_druid:
                continue  # held by neither map: nothing to remember it by
            self.seq += 1
            job.seq = self.seq
            self._hold(job)
            # A memory of this source names a thread or a druid once; another's may not.
            replaced = []
            if thread is not None:
                replaced.append(self.by_thread.get(thread))
                self.by_thread[thread] = job
            if holds_druid:
                replaced.append(self.by_druid.get(job.druid.value))
                self.by_druid[job.druid.value] = job
            for old in replaced:
                if old is not None and old is not job:
                    self.changed(old)
        self._memory_lines = None

    def _described(self, job: Job) -> str:
        """A job as a line of `memory()`."""
        thread = job.thread
        holds_thread = thread is not None and self.by_thread.get(thread) is job
        return json.dumps(
            {
                "thread": list(thread) if holds_thread and thread is not None else None,
                "druid": job.druid.value,
                "by_druid": self.by_druid.get(job.druid.value) is job,
                "step": job.step,
                "workflow": job.workflow,
                "done": job.done,
                "failed": job.failed,
            },
            separators=(",", ":"),
            # An undecodable byte of the log (a lone surrogate) stays one in the line, so it
            # travels as that byte (a record's memory goes as bytes, `binary` where they are
            # not UTF-8) and the reader recalling it knows the memory was not UTF-8 and spells
            # such bytes visibly in events, as ingest of the whole log does. Escaped (`\udcff`,
            # json's default) it reached an event's field as a lone surrogate unannounced:
            # the event was rejected by its model, quarantined.
            ensure_ascii=False,
        )

    def remember(self, thread: tuple[str, str], job: Job) -> None:
        by_thread, by_druid = self.by_thread, self.by_druid
        job.seq, job.thread = self.seq, thread
        replaced = [by_thread.pop(thread, None), by_druid.pop(job.druid.value, None)]
        by_thread[thread] = job
        by_druid[job.druid.value] = job
        self._hold(job)
        # Dicts keep insertion order: the first key is the least recently remembered.
        if len(by_thread) > MAX_REMEMBERED:
            replaced.append(by_thread.pop(next(iter(by_thread))))
        if len(by_druid) > MAX_REMEMBERED:
            replaced.append(by_druid.pop(next(iter(by_druid))))
        for old in replaced:
            if old is not None:
                self.changed(old)
        self._memory_lines = None

    def changed(self, job: Job) -> None:
        """`job` changed (done, failed, or a map no longer holds it): describe it again, and
        forget it when neither map holds it."""
        held = self._open if job.seq in self._open else self._done
        if job.seq not in held:
            return  # not remembered (a `Finished` without its `processing`)
        job.memory_line = None
        self._memory_lines = None
        thread = job.thread
        if (thread is None or self.by_thread.get(thread) is not job) and self.by_druid.get(
            job.druid.value
        ) is not job:
            del held[job.seq]
        elif job.done and held is self._open:
            del held[job.seq]
            self._done[job.seq] = job


def _job_from(line: str) -> tuple[Job, bool] | None:
    """The job a line of `memory()` describes, and whether it was its druid's job; None when
    the line is not one (records come from the network: never trusted)."""
    try:
        state = json.loads(line)
        druid = druid_or_none(state["druid"])
        thread, step, workflow = state["thread"], state["step"], state["workflow"]
        done, failed, by_druid = state["done"], state["failed"], state["by_druid"]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None  # RecursionError: nested a hundred thousand deep
    if druid is None or not all(isinstance(flag, bool) for flag in (done, failed, by_druid)):
        return None
    if _escaped_surrogate(line, (druid.value, step, workflow, *(thread or ()))):
        return None
    if not all(value is None or isinstance(value, str) for value in (step, workflow)):
        return None
    if thread is not None and not (
        isinstance(thread, list) and len(thread) == 2 and all(isinstance(t, str) for t in thread)
    ):
        return None
    job = Job(druid, step, workflow, done, failed)
    job.thread = (thread[0], thread[1]) if thread is not None else None
    return job, by_druid


def _escaped_surrogate(line: str, values: Sequence[object]) -> bool:
    """Whether `values` hold a surrogate the line does not hold as one: spelled as a JSON
    escape, which `memory()` never writes (an undecodable byte stays the lone surrogate it was
    read as, and the line goes as bytes). The reader spells undecodable bytes visibly only
    when the bytes it was given say there were some: a surrogate smuggled in an escape would
    reach an event's field as it is."""
    return any(
        char not in line
        for value in values
        if isinstance(value, str)
        for char in _SURROGATE.findall(value)
    )
