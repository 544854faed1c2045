"""Reports and actions: when two sources report the same real action, it is one action.

A stored domain event is one *report*. Most actions have one report. Two kinds are reported
twice, by the system that did the work (in its log) and again by a notification it sent to the
repository's event service:

- a catalog audit of one Moab (fixity, validation, version checks): primary, the catalog's result
  line (`prescat`); notification, `preservation_audit_failure` / `preservation_audit_success`
  (`sdr-events`);
- shelving and publishing: primary, the robot's `shelve` / `publish` step (`robots`);
  notification, `shelving_complete` / `publishing_complete` (`sdr-events`).

The log line is primary because it is the action's own record: it has the result code, the file,
the run's time, and it is the only record of the daily successful checks. A notification is
matched to primaries of the same object within `WINDOW` of it; it joins them and never stands for
an action of its own. A notification no primary matches (the logs were not loaded) is the event.

Matching, for a notification N and a candidate primary P of the same object, |time| <= WINDOW:
- audit failures: P is a catalog result (`prescat`) with outcome fail or warning, on N's storage
  root (when both name one), of the same audit (`moab-valid` failures: P's code is INVALID_MOAB;
  `preservation-audit` failures: P's check is the audit N's message names). Of those, N joins
  every P whose result message N's message quotes (one notification carries all the failures of
  one run, joined by ` && `); when it quotes none, the nearest P.
- audit successes (sent when a Moab's status returns to ok): the nearest catalog result with
  outcome success on that storage root.
- shelving_complete / publishing_complete: the nearest completed `shelve` / `publish` step.
"Nearest" breaks ties by the report's cursor (time, then event id). The result is a function of
the set of reports alone: whatever order they were ingested in, history, state and PREMIS show
the same actions (the tests feed the same reports in both orders).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar, get_args

from provenance.domain.result_codes import AuditEvent

WINDOW = timedelta(hours=2)
"""How far apart (by occurred_at) a notification and the report it repeats may be. A catalog
notification is sent within seconds of its log line and a robot's within seconds of its step;
the same audit of the same Moab runs again days later at the earliest, and two accessions of
one object are hours apart. Two hours leave room for clock skew, a slow message queue and the
hour a zone-less log time is ambiguous in when clocks go back (read as its first occurrence);
where two runs do fall inside it, the nearest (or the quoted) one is joined."""

PRIMARY_SOURCE = "prescat"
NOTIFYING_SOURCE = "sdr-events"
# The events a catalog notification can be (the result-code table's), as stored payloads say.
_AUDIT_TYPES = frozenset(get_args(AuditEvent))
# The robot step a repository notification repeats.
_NOTIFIED_STEPS = {"shelving_complete": "shelve", "publishing_complete": "publish"}
_STEPS_NOTIFIED = frozenset(_NOTIFIED_STEPS.values())
_INVALID_MOAB = "INVALID_MOAB"
_NOTICE_PREFIX = re.compile(r"[^\s(]+ \([^)]*\) ?(?:\|\| ?)?")
_FAILED = ("fail", "warning")


@dataclass(frozen=True, slots=True)
class Facts:
    """What matching needs of one report, from a stored payload or a typed event alike."""

    event_id: str
    type: str
    at: datetime
    source: str
    outcome: str | None
    check: str | None
    storage_root: str | None
    result_code: str | None
    premis_type: str | None
    detail: str
    step: str | None
    status: str | None
    event_type: str | None

    @property
    def notice_kind(self) -> str | None:
        """ "audit" or "step" for a notification, None for a report that can be primary."""
        if self.source != NOTIFYING_SOURCE:
            return None
        if self.type in _AUDIT_TYPES:
            return "audit"
        if self.type == "RepositoryEventRecorded" and self.event_type in _NOTIFIED_STEPS:
            return "step"
        return None

    @property
    def message(self) -> str:
        """A catalog result's message: its detail after `<check>: ` (first line)."""
        head = self.detail.split("\n", 1)[0]
        prefix = f"{self.check}: "
        return head[len(prefix) :] if head.startswith(prefix) else head


def is_notice(event: Mapping[str, Any]) -> bool:
    """`facts_of(event).notice_kind is not None` for a stored payload, without building facts
    (every report applied to the object state asks)."""
    source = event.get("source")
    if not isinstance(source, Mapping) or source.get("type") != NOTIFYING_SOURCE:
        return False
    kind = event.get("type")
    return kind in _AUDIT_TYPES or (
        kind == "RepositoryEventRecorded" and event.get("event_type") in _NOTIFIED_STEPS
    )


def may_repeat(event: Mapping[str, Any]) -> bool:
    """Whether a stored payload could be the report a notification repeats (`candidate`'s
    conditions on the report alone): most reports cannot, and need no facts built."""
    source = event.get("source")
    kind = source.get("type") if isinstance(source, Mapping) else None
    if kind == PRIMARY_SOURCE:
        return event.get("premis_type") is not None
    return event.get("step") in _STEPS_NOTIFIED and event.get("status") == "completed"


def facts_of(event: Mapping[str, Any] | Any) -> Facts:
    """The facts of a stored payload (`load_payload`'s dict) or of a typed domain event."""
    values: Mapping[str, Any] = event if isinstance(event, Mapping) else event.__dict__
    get = values.get
    source: Any = values["source"]
    source_type: str = source["type"] if isinstance(source, Mapping) else source.type
    at: Any = values["occurred_at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return Facts(
        event_id=values["event_id"],
        type=values["type"],
        at=at,
        source=source_type,
        outcome=get("outcome"),
        check=get("check"),
        storage_root=get("storage_root"),
        result_code=get("result_code"),
        premis_type=get("premis_type"),
        detail=get("detail") or "",
        step=get("step"),
        status=get("status"),
        event_type=get("event_type"),
    )


def _same_root(notice: Facts, primary: Facts) -> bool:
    return (
        not notice.storage_root
        or not primary.storage_root
        or (notice.storage_root == primary.storage_root)
    )


def candidate(notice: Facts, primary: Facts) -> bool:
    """Whether `primary` could be the action `notice` repeats (time aside)."""
    if primary.notice_kind is not None:
        return False
    if notice.notice_kind == "step":
        return (
            primary.type in ("WorkflowStepRecorded", "IngestStepRecorded")
            and primary.step == _NOTIFIED_STEPS[notice.event_type or ""]
            and primary.status == "completed"
        )
    # Only a result that is a PREMIS event can stand for the notified audit: a bookkeeping line
    # of the same moment (`update_after_validation`, no PREMIS type) would swallow it.
    if primary.source != PRIMARY_SOURCE or primary.premis_type is None:
        return False
    if not _same_root(notice, primary):
        return False
    if notice.outcome == "success":
        return primary.outcome == "success"
    if primary.outcome not in _FAILED:
        return False
    if notice.check == "moab-valid" or notice.result_code == _INVALID_MOAB:
        return primary.result_code == _INVALID_MOAB
    return notice.check is None or notice.check == primary.check


def _distance(notice: Facts, primary: Facts) -> tuple[timedelta, datetime, str]:
    return abs(primary.at - notice.at), primary.at, primary.event_id


def matched(notice: Facts, neighbours: Iterable[Facts]) -> list[Facts]:
    """The primaries `notice` repeats, among reports of its object (any order); [] for none."""
    candidates = [
        primary
        for primary in neighbours
        if abs(primary.at - notice.at) <= WINDOW and candidate(notice, primary)
    ]
    if not candidates:
        return []
    if notice.notice_kind == "audit" and notice.outcome in _FAILED:
        messages = quoted_messages(notice)
        quoted = [p for p in candidates if p.message in messages]
        if quoted:
            return sorted(quoted, key=lambda p: (p.at, p.event_id))
    return [min(candidates, key=lambda p: _distance(notice, p))]


def quoted_messages(notice: Facts) -> frozenset[str]:
    """The result messages a catalog notification carries: its error after the
    `<audit> (actual location: ...; actual version: ...)` prefix (and a moab-valid `|| `), split
    at ` && ` (one message per result of the run)."""
    text = _NOTICE_PREFIX.sub("", notice.detail, count=1)
    return frozenset(part.strip() for part in text.split(" && ") if part.strip())


T = TypeVar("T")


@dataclass(slots=True)
class Action(Generic[T]):
    """One real action: its primary report and the notifications that repeat it."""

    report: T
    notices: list[T] = field(default_factory=list)


def actions(reports: Iterable[T], facts: Callable[[T], Facts] = facts_of) -> Iterator[Action[T]]:
    """The actions of one object's reports, given in time order (as `read_stream` reads them).

    Each action comes out once, in its report's time order, with the notifications that repeat
    it (a notification that repeats several primaries is attached to each); a notification that
    repeats none is an action of its own. Streams: a report is settled once reports more than
    two windows later have been read (a primary needs every notification within a window of it,
    and each of those every primary within a window of *it*), so memory holds about four
    windows of one object's reports, never its whole history.
    """
    window: deque[tuple[Facts, T]] = deque()  # reports read and not forgotten, in time order
    notices: deque[Facts] = deque()  # the notifications among them
    settled = 0  # how many of `window` (from the left) have been settled

    # What each notification repeats, worked out once, not once per primary near it. The first
    # ask comes when the notification or a primary within WINDOW of it is settled: reports are
    # then read two windows past that report and kept two windows behind it, so the window
    # holds every report within WINDOW of the notification, and the answer cannot change.
    repeats: dict[str, frozenset[str]] = {}

    def repeated_by(notice: Facts) -> frozenset[str]:
        found = repeats.get(notice.event_id)
        if found is None:
            neighbours = [f for f, _ in window]
            found = repeats[notice.event_id] = frozenset(
                primary.event_id for primary in matched(notice, neighbours)
            )
        return found

    def settle(fact: Facts, item: T) -> Action[T] | None:
        if fact.notice_kind is not None:
            return None if repeated_by(fact) else Action(item)
        action = Action(item)
        for notice in notices:
            if abs(notice.at - fact.at) <= WINDOW and fact.event_id in repeated_by(notice):
                action.notices.append(items[notice.event_id])
        return action

    items: dict[str, T] = {}

    def drain(until: datetime | None) -> Iterator[Action[T]]:
        nonlocal settled
        while settled < len(window):
            fact, item = window[settled]
            if until is not None and until - fact.at <= 2 * WINDOW:
                break
            settled += 1
            action = settle(fact, item)
            if action is not None:
                yield action
        # Forget what no unsettled report can still need (two windows before the oldest).
        horizon = window[settled][0].at if settled < len(window) else until
        while window and settled and (horizon is None or horizon - window[0][0].at > 2 * WINDOW):
            old, _ = window.popleft()
            settled -= 1
            if old.notice_kind is not None:
                notices.popleft()
                del items[old.event_id]
                repeats.pop(old.event_id, None)

    for item in reports:
        fact = facts(item)
        yield from drain(fact.at)
        window.append((fact, item))
        if fact.notice_kind is not None:
            notices.append(fact)
            items[fact.event_id] = item
    yield from drain(None)
