"""The `robots` source: lyber-core workflow robot logs (Sidekiq layout) -> workflow step events.

Owns the robot log format and its mapping to `IngestStepRecorded` (preservationIngestWF) and
`WorkflowStepRecorded` (any other workflow). A line looks like

    2026-02-01T09:00:00.000Z pid=12 tid=abc [class=... jid=... elapsed=...] INFO: <message>

(Sidekiq >= 6; the older `<pid> TID-<tid>` form is accepted too). The messages that matter,
from lyber-core's `LyberCore::Robot#perform` and the preservation robots:

- `<druid> processing <step> (<workflow>)`           -> status "started" (no PREMIS type yet)
- `Finished <druid> in <seconds>s`                   -> status "completed", `duration_s`
- an ERROR/FATAL message, backtrace on the lines after it (the same entry) -> status "failed"
- `Started by|Completed by preservation_catalog on <host>.` and
  `Problem with Moab validation run on <host>: <errors>`   -> validate-moab started/completed/failed

`Finished` and most failures do not name the step: the source remembers the last `processing`
line per (pid, tid) and per druid. Sidekiq's context (`class=Robots::SdrRepo::PreservationIngest::
TransferObject`) names the robot too and is used when nothing was remembered. Only the first
failure of one `processing` attempt becomes an event: robots such as update-catalog log the
error themselves before lyber-core logs it again with the backtrace.

What it remembers (the job each thread and druid was last seen processing) it states as lines
(`memory`) and takes in again (`recall`): `provenance.sources.robots_memory` owns both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from provenance.domain.druid import Druid, druid_or_none, find_druid
from provenance.domain.events import (
    AgentRef,
    DomainEvent,
    IngestStepRecorded,
    LinkedObject,
    StepStatus,
    WorkflowStepRecorded,
)
from provenance.sources.base import Draft, Entry, MultilineSource, SourceContext
from provenance.sources.robots_memory import MAX_REMEMBERED, Job, RobotJobs

INGEST_WORKFLOW = "preservationIngestWF"
# StepRecorded.workflow is required; a failure or `Finished` whose workflow nobody named.
UNKNOWN_WORKFLOW = "unknown"

# PREMIS eventType code per step, given when a step completes or fails (a started step is not
# yet a PREMIS event). Steps not listed map to None; in preservationIngestWF every `validate-*`
# step is a validation.
INGEST_PREMIS: dict[str, str | None] = {
    "start-ingest": "ins",
    "transfer-object": "tra",
    "validate-bag": "val",
    "validate-moab": "val",
    "update-moab": "ing",
    "update-catalog": None,
    "complete-ingest": "ine",
}
OTHER_PREMIS: dict[str, str] = {
    "technical-metadata": "mee",
    "shelve": "dis",
    "publish": "dis",
}

# Deposit bag validation codes (preservation_robots' DepositBagValidator), as logged in the
# `Bag validation failure(s)` message: Ruby symbols (`:bag_dir_not_found=>` or
# `bag_dir_not_found:`); the constant names are accepted as well.
BAG_CODES: dict[str, str] = {
    "bag_dir_not_found": "BAG_DIR_NOT_FOUND",
    "checksum_mismatch": "CHECKSUM_MISMATCH",
    "checksum_type_unrecognized": "CHECKSUM_TYPE_UNRECOGNIZED",
    "invalid_versionxxx_xml": "INVALID_VERSION_XXX_XML",
    "invalid_version_xxx_xml": "INVALID_VERSION_XXX_XML",
    "payload_size_mismatch": "PAYLOAD_SIZE_MISMATCH",
    "required_file_not_found": "REQUIRED_FILE_NOT_FOUND",
    "version_mismatch_to_moab": "VERSION_MISMATCH_TO_MOAB",
    "version_missing_from_file": "VERSION_MISSING_FROM_FILE",
}
_BAG_CODE = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(BAG_CODES) + r")(?![A-Za-z0-9])", re.I)
_BAG_DIR = re.compile(r"Deposit bag directory (\S+) does not exist")

_HEAD = re.compile(
    r"(?P<ts>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?) "
    r"(?:pid=(?P<pid>[0-9]+) tid=(?P<tid>\S+)|(?P<opid>[0-9]+) TID-(?P<otid>\S+))"
    # Context pairs (`class=... jid=...`): lazy, so the severity token ends them.
    r"(?P<ctx>(?: \S+)*?) "
    r"(?P<sev>DEBUG|INFO|WARN|ERROR|FATAL|UNKNOWN|ANY): ?(?P<msg>.*)",
    re.ASCII | re.DOTALL,
)
_PROCESSING = re.compile(r"(\S+) processing (\S+) \(([^()\s]+)\)\s*", re.DOTALL)
_FINISHED = re.compile(r"Finished (\S+?)(?: in ([0-9]{1,12}(?:\.[0-9]{1,12})?)s)?\s*", re.DOTALL)
_NOTE = re.compile(r"(Started|Completed) by preservation_catalog on (\S*?)\.?\s*", re.DOTALL)
_MOAB_PROBLEM = re.compile(r"Problem with Moab validation run on ([^:\s]*): ")
_NOT_QUEUED = re.compile(r"Item (?:(\S+) )?is not queued")
_ROBOT_CLASS = re.compile(r"Robots::[A-Za-z]+::([A-Za-z0-9]+)::([A-Za-z0-9]+)\Z")
_CAMEL_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

# Failure messages of the preservationIngestWF robots: (prefix, step, regex naming the druid).
_FAILURE_TEMPLATES: tuple[tuple[str, str, re.Pattern[str] | None], ...] = (
    (
        "Error transferring bag",
        "transfer-object",
        re.compile(r"Error transferring bag \(via .*?\) for (\S+?): "),
    ),
    (
        "Bag validation failure",
        "validate-bag",
        re.compile(r"Bag validation failure\(s\) for (\S+?): "),
    ),
    ("Failed verification for", "update-moab", None),
    (
        "Error completing ingest for",
        "update-catalog",
        re.compile(r"Error completing ingest for (\S+?): "),
    ),
    ("Problem with Moab validation", "validate-moab", None),
)
# Sidekiq's own per-job lines (JobLogger): carry no step information of their own.
_SIDEKIQ_JOB_LINES = frozenset({"start", "done", "fail"})
_FAILURE_SEVERITIES = frozenset({"ERROR", "FATAL"})
_OUTCOMES: dict[str, str | None] = {"started": None, "completed": "success", "failed": "fail"}
_MAX_DETAIL_LINE = 500


@dataclass(slots=True)
class _Line:
    """The parts of one head line the handlers share."""

    thread: tuple[str, str]
    occurred_at: datetime
    ctx: str
    msg: str
    lines: list[str]


class RobotsSource(MultilineSource):
    """Robot log lines -> step events; remembers what each thread and druid is processing."""

    name: ClassVar[str] = "robots"
    HEAD: ClassVar[re.Pattern[str]] = _HEAD

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self._tz = context.tz
        self._jobs = RobotJobs()
        self._agents: dict[tuple[str, str | None, str | None, str | None], AgentRef] = {}
        self._robot_classes: dict[str, tuple[str, str] | None] = {}

    def memory(self) -> tuple[str, ...]:
        return self._jobs.memory()

    def recall(self, memory: Sequence[str]) -> None:
        self._jobs.recall(memory)

    def make_entry(self, line_no: int, head: re.Match[str], lines: list[str]) -> Entry:
        entry = Entry(line_no, lines)
        self._jobs.seq += 1
        try:
            occurred_at = datetime.fromisoformat(head["ts"])
        except ValueError:
            entry.quarantined = "malformed timestamp"
            return entry
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=self._tz)
        pid = head["pid"]
        thread = (pid, head["tid"]) if pid is not None else (head["opid"], head["otid"])
        msg: str = head["msg"]
        severity: str = head["sev"]
        line = _Line(thread, occurred_at, head["ctx"], msg, lines)

        if msg.startswith("Finished "):
            match = _FINISHED.fullmatch(msg)
            if match is not None:
                return self._finished(entry, line, match)
        elif " processing " in msg:
            match = _PROCESSING.fullmatch(msg)
            if match is not None:
                return self._processing(entry, line, match)
        elif msg.startswith(("Started by", "Completed by")):
            match = _NOTE.fullmatch(msg)
            if match is not None:
                return self._note(entry, line, match)
        if severity in _FAILURE_SEVERITIES:
            return self._failure(entry, line)
        return self._other(entry, line)

    # --- the messages --------------------------------------------------------------------

    def _processing(self, entry: Entry, line: _Line, match: re.Match[str]) -> Entry:
        druid = druid_or_none(match[1])
        if druid is None:
            entry.quarantined = "malformed druid"
            return entry
        step, workflow = match[2], match[3]
        job = Job(druid, step, workflow)
        self._jobs.remember(line.thread, job)
        entry.drafts.append(
            self._draft(line, job, "started", premis=False, detail=line.msg.rstrip())
        )
        return entry

    def _finished(self, entry: Entry, line: _Line, match: re.Match[str]) -> Entry:
        druid = druid_or_none(match[1])
        if druid is None:
            entry.quarantined = "malformed druid"
            return entry
        job = self._jobs.by_thread.get(line.thread)
        if job is None or job.druid != druid:
            job = self._jobs.by_druid.get(druid.value)
        if job is None:
            step, workflow = self._robot_from_context(line.ctx)
            job = Job(druid, step, workflow)
        job.done = True
        self._jobs.changed(job)
        popped = self._jobs.by_druid.pop(druid.value, None)
        if popped is not None:
            self._jobs.changed(popped)
        duration = float(match[2]) if match[2] is not None else None
        entry.drafts.append(
            self._draft(
                line,
                job,
                "completed",
                # The validate-moab robot only asks preservation_catalog to validate; the
                # result arrives as the catalog's workflow note, which is the PREMIS event.
                premis=job.step != "validate-moab",
                detail=line.msg.rstrip(),
                duration=duration,
            )
        )
        return entry

    def _note(self, entry: Entry, line: _Line, match: re.Match[str]) -> Entry:
        # validate-moab runs in preservation_catalog, which writes these workflow notes.
        druid = self._druid_for(line, "validate-moab")
        if druid is None:
            entry.quarantined = "validate-moab note without druid"
            return entry
        job = Job(druid, "validate-moab", INGEST_WORKFLOW)
        status: StepStatus = "started" if match[1] == "Started" else "completed"
        if status == "started":
            self._jobs.remember(line.thread, job)
        else:
            job.done = True
        entry.drafts.append(
            self._draft(
                line,
                job,
                status,
                premis=status == "completed",
                detail=line.msg.rstrip(),
                host=match[2] or None,
            )
        )
        return entry

    def _failure(self, entry: Entry, line: _Line) -> Entry:
        msg = line.msg
        template_step: str | None = None
        druid: Druid | None = None
        for prefix, known_step, druid_at in _FAILURE_TEMPLATES:
            if msg.startswith(prefix):
                template_step = known_step
                if druid_at is not None and (named := druid_at.match(msg)) is not None:
                    druid = druid_or_none(named[1])
                break
        job = self._jobs.by_thread.get(line.thread)
        if job is not None and job.done:
            job = None
        if druid is None:
            druid = job.druid if job is not None else self._druid_in_context(line.ctx)
            if druid is None:
                druid = find_druid(msg)
        if druid is None:
            entry.quarantined = "failure without druid"
            return entry
        if job is not None and job.druid != druid:
            job = None
        if job is not None:
            if job.failed:
                entry.ignored = "repeated failure"
                return entry
            job.failed = True
            self._jobs.changed(job)
        else:
            job = self._jobs.by_druid.get(druid.value)
            if template_step is not None and (job is None or job.step != template_step):
                job = Job(druid, template_step, INGEST_WORKFLOW)
            elif job is None:
                step, workflow = self._robot_from_context(line.ctx)
                job = Job(druid, step, workflow)

        error = msg.rstrip()
        backtrace = _first_backtrace_line(line.lines)
        detail = error
        links: tuple[LinkedObject, ...] = ()
        if job.step == "validate-bag":
            codes = _bag_codes(error)
            if codes:
                detail = f"bag validation failed: {', '.join(codes)}: {error}"
            bag_dir = _BAG_DIR.search(error)
            if bag_dir is not None:
                links = (LinkedObject(kind="bag", identifier=bag_dir[1], role="source"),)
        if backtrace:
            detail = f"{detail} (at {backtrace})"
        host = None
        if job.step == "validate-moab" and (problem := _MOAB_PROBLEM.match(msg)) is not None:
            host = problem[1] or None
        entry.drafts.append(
            self._draft(line, job, "failed", detail=detail, error=error, links=links, host=host)
        )
        return entry

    def _other(self, entry: Entry, line: _Line) -> Entry:
        msg = line.msg.strip()
        if msg in _SIDEKIQ_JOB_LINES:
            entry.ignored = "sidekiq job lifecycle"
        elif (skipped := _NOT_QUEUED.match(msg)) is not None:
            # lyber-core skips a job whose step is not queued: nothing happened to the object.
            job = self._jobs.by_thread.get(line.thread)
            if job is not None and (skipped[1] is None or druid_or_none(skipped[1]) == job.druid):
                job.done = True
                self._jobs.changed(job)
            entry.ignored = "step skipped (not queued)"
        else:
            entry.ignored = "no step information"
        return entry

    # --- state -----------------------------------------------------------------------------

    def _druid_for(self, line: _Line, step: str) -> Druid | None:
        """The druid a step note is about: the context's, else the thread's job of that step."""
        druid = self._druid_in_context(line.ctx)
        if druid is not None:
            return druid
        job = self._jobs.by_thread.get(line.thread)
        if job is not None and job.step == step:
            return job.druid
        return None

    @staticmethod
    def _druid_in_context(ctx: str) -> Druid | None:
        if "druid=" not in ctx:
            return None
        return druid_or_none(_context(ctx).get("druid", ""))

    def _robot_from_context(self, ctx: str) -> tuple[str | None, str | None]:
        """(step, workflow) from Sidekiq's `class=Robots::<Repo>::<Workflow>::<Step>` context."""
        if "class=" not in ctx:
            return None, None
        name = _context(ctx).get("class", "")
        if name in self._robot_classes:
            robot = self._robot_classes[name]
        else:
            robot = _robot_class(name)
            if len(self._robot_classes) < MAX_REMEMBERED:
                self._robot_classes[name] = robot
        return robot if robot is not None else (None, None)

    # --- drafts ----------------------------------------------------------------------------

    def _draft(
        self,
        line: _Line,
        job: Job,
        status: StepStatus,
        *,
        detail: str,
        premis: bool = True,
        duration: float | None = None,
        error: str | None = None,
        links: tuple[LinkedObject, ...] = (),
        host: str | None = None,
    ) -> Draft:
        workflow = job.workflow or UNKNOWN_WORKFLOW
        step = job.step
        model: type[DomainEvent] = (
            IngestStepRecorded if workflow == INGEST_WORKFLOW else WorkflowStepRecorded
        )
        fields: dict[str, Any] = {
            "object": job.druid.value,
            "object_conforming": job.druid.conforming,
            "version": None,
            "occurred_at": line.occurred_at,
            "agent": self._agent(workflow, step, line.ctx, host),
            "premis_type": premis_type(workflow, step) if premis else None,
            "outcome": _OUTCOMES[status],
            "detail": detail,
            "linked_objects": links,
            "workflow": workflow,
            "step": step,
            "status": status,
            "duration_s": duration,
            "error": error,
        }
        return Draft(model, fields)

    def _agent(self, workflow: str, step: str | None, ctx: str, host: str | None) -> AgentRef:
        version = _context(ctx).get("version") if "version=" in ctx else None
        key = (workflow, step, version, host)
        agent = self._agents.get(key)
        if agent is None:
            name = f"{workflow}/{step}" if step else workflow
            agent = AgentRef(name=name, kind="software", version=version, host=host)
            if len(self._agents) < MAX_REMEMBERED:
                self._agents[key] = agent
        return agent


def premis_type(workflow: str, step: str | None) -> str | None:
    """The PREMIS eventType code of a completed or failed step (None where none fits)."""
    if step is None:
        return None
    if workflow == INGEST_WORKFLOW:
        if step in INGEST_PREMIS:
            return INGEST_PREMIS[step]
        return "val" if step.startswith("validate-") else None
    return OTHER_PREMIS.get(step)


def _context(ctx: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for token in ctx.split():
        key, sep, value = token.partition("=")
        if sep:
            pairs[key] = value
    return pairs


def _robot_class(name: str) -> tuple[str, str] | None:
    """`Robots::SdrRepo::PreservationIngest::TransferObject` -> (step, workflow).

    The inverse of lyber-core's step-to-class naming: the workflow module is the workflow name
    without `WF`, camel-cased; the class is the step name camel-cased.
    """
    match = _ROBOT_CLASS.match(name)
    if match is None:
        return None
    module, cls = match[1], match[2]
    workflow = module[0].lower() + module[1:] + "WF"
    step = _CAMEL_BREAK.sub("-", cls).lower()
    return step, workflow


def _bag_codes(message: str) -> list[str]:
    codes: list[str] = []
    for found in _BAG_CODE.findall(message):
        code = BAG_CODES[found.lower()]
        if code not in codes:
            codes.append(code)
    return codes


def _first_backtrace_line(lines: list[str]) -> str:
    for continuation in lines[1:]:
        text = continuation.strip()
        if text:
            return text[:_MAX_DETAIL_LINE]
    return ""
