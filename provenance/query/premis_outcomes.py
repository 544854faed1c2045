"""What a PREMIS event says about one domain event (one report): detail, outcome, their parts.

Functions of ONE domain event, so a caller that unites several reports of one action can take
each report's parts and merge them. `describe(event, agent)` gives them all:

- `eventDetail`: `program="<agent name>"; version="<agent version>"` (`version=` left out when
  no source stated one), the form Archivematica writes and metsrw 0.7's
  `PREMISEvent.parsed_event_detail` reads. metsrw splits on `;` and `=` and strips `"` and
  outer whitespace with no escape of its own, so in a value `%`, `"` and `;`, and whitespace at
  either end, are percent-encoded (`%25`, `%22`, `%3B`, `%20`, ...: UTF-8, reversible with
  `urllib.parse.unquote`; plain names are unchanged).
- `eventDetailExtension`: what was done, where and on which host (below).
- `eventOutcome`: the source's outcome; for a repository event that states none, its type's
  (`outcome_of_repository_event`).
- `eventOutcomeDetailNote`: human text only: the log message, or the repository event's
  `data.error` / `data.message` (never its type name alone: that is `event_type` below).
- `eventOutcomeDetailExtension`: the result code and the other structured facts of the result.

Both extensions hold elements of one namespace, `NAMESPACE` (`urn:sdr-provenance:premis:`,
prefix `sdrprov`), each element a plain text value, present only when the report states it:

| element (eventDetailExtension) | meaning |
| --- | --- |
| `check` | the catalog's audit or check (`validate_checksums`, `moab-valid`, ...) |
| `workflow` | the robot's workflow (`preservationIngestWF`, `accessionWF`, ...) |
| `step` | the robot's step (`transfer-object`, `validate-moab`, ...) |
| `storage_root` | the storage root the audit looked at |
| `endpoint` | the replication endpoint (cloud copy) acted on |
| `event_type` | the repository event's own type (`registration`, `shelving_complete`, ...) |
| `host` | the host the agent ran on (sdr-events `data.host`, a robot's `... on <host>`) |

When other reports repeat the action (`provenance.domain.actions`: a notification after the
catalog's log line or the robot's step), each adds one more `eventDetailExtension`
(`repeated_by`): `report_id` (that report's event identifier, a UUID), `report_source` (the
source that read it, e.g. `sdr-events`), then that report's own elements from the table above.

| element (eventOutcomeDetailExtension) | meaning |
| --- | --- |
| `result_code` | the preservation catalog's result code (`MOAB_FILE_CHECKSUM_MISMATCH`, ...) |
| `status` | a robot step's status (`completed`, `failed`) |
| `duration_s` | a robot step's run time in seconds, as logged |
| `actual_version` | the version found on storage (version audits) |
| `db_version` | the version the catalog's database holds (version audits) |
| `file_path` | the file a fixity result names, as logged |
| `zip_part` | the zip part a replication audit result names |
| `old_status`, `new_status` | a catalog status change |
| `error` | one per error the report lists (Moab validation errors, ...) |
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from premis import EventOutcome, Extension
from provenance.domain.agent_registry import ResolvedAgent
from provenance.domain.events import (
    AnyEvent,
    AuditResult,
    FixityChecked,
    ObjectValidated,
    PreservationStatusChanged,
    ReplicaAudited,
    ReplicationCompleted,
    RepositoryEventRecorded,
    StepRecorded,
    VersionAudited,
)

NAMESPACE = "urn:sdr-provenance:premis:"
PREFIX = "sdrprov"

OUTCOMES = {
    "success": EventOutcome.SUCCESS,
    "fail": EventOutcome.FAIL,
    "warning": EventOutcome.WARNING,
}
# Repository event types that state their result, by the end of the type (fail checked first).
# The sdr-events source already reads `_success`/`-success` and `_errored`/`-error`/`_error`;
# `_complete` (`publishing_complete`, `shelving_complete`) says the action finished as asked.
_SUCCESS_ENDINGS = ("_complete", "-complete", "_completed", "_success", "-success")
_FAIL_ENDINGS = ("_errored", "-error", "_error", "_failed", "-failed", "_failure")
_ENCODE = str.maketrans({"%": "%25", '"': "%22", ";": "%3B"})


@dataclass(frozen=True, slots=True)
class Description:
    """The detail and outcome parts of one report's PREMIS event (see the module docstring)."""

    detail: str
    detail_extensions: tuple[Extension, ...]
    outcome: EventOutcome | None
    outcome_notes: tuple[str, ...]
    outcome_extensions: tuple[Extension, ...]


def describe(event: AnyEvent, agent: ResolvedAgent) -> Description:
    """The parts of `event`'s PREMIS event; `agent` is the registry's agent of `event.agent`."""
    return Description(
        detail=event_detail(agent),
        detail_extensions=_extension(detail_fields(event)),
        outcome=outcome(event),
        outcome_notes=outcome_notes(event),
        outcome_extensions=_extension(outcome_fields(event)),
    )


# An object's events name a handful of agents: each one's detail is written once.
@functools.lru_cache(maxsize=256)
def event_detail(agent: ResolvedAgent) -> str:
    """`program="<name>"; version="<version>"` (see the module docstring for the escaping)."""
    detail = f'program="{_detail_value(agent.name)}"'
    if agent.version is not None:
        detail += f'; version="{_detail_value(agent.version)}"'
    return detail


def _detail_value(value: str) -> str:
    encoded = value.translate(_ENCODE)
    core = encoded.strip()
    if core == encoded:
        return encoded
    lead = len(encoded) - len(encoded.lstrip())
    trail = encoded[lead + len(core) :]
    return quote(encoded[:lead], safe="") + core + quote(trail, safe="")


def outcome_of_repository_event(event_type: str) -> EventOutcome | None:
    """success for `*_complete`/`*_success` types, fail for `*_errored`/`*-error`/`*_failed`
    types; None for the rest (`registration`, `update`, `delete`, `embargo_released`, ...):
    they record that something was done, not a result anyone checked, and an outcome made up
    by this mapping would be read by an auditor as one the repository stated."""
    if event_type.endswith(_FAIL_ENDINGS):
        return EventOutcome.FAIL
    if event_type.endswith(_SUCCESS_ENDINGS):
        return EventOutcome.SUCCESS
    return None


def outcome(event: AnyEvent) -> EventOutcome | None:
    if event.outcome is not None:
        return OUTCOMES[event.outcome]
    if isinstance(event, RepositoryEventRecorded):
        return outcome_of_repository_event(event.event_type)
    return None


def outcome_notes(event: AnyEvent) -> tuple[str, ...]:
    """The human text of the report: a repository event's error or message, else its
    detail (the log message, or the source's sentence of what was done)."""
    if isinstance(event, RepositoryEventRecorded):
        notes = (_text(event.data.get("error")), _text(event.data.get("message")))
        return tuple(note for note in notes if note is not None)
    return (event.detail,) if event.detail and event.detail.strip() else ()


def detail_fields(event: AnyEvent) -> Iterator[tuple[str, object]]:
    """(element, value) of the detail extension, in the table's order (None: left out)."""
    if isinstance(event, AuditResult):
        yield "check", event.check
    if isinstance(event, StepRecorded):
        yield "workflow", event.workflow
        yield "step", event.step
    if isinstance(event, AuditResult):
        yield "storage_root", event.storage_root
    if isinstance(event, ReplicaAudited | ReplicationCompleted):
        yield "endpoint", event.endpoint
    if isinstance(event, RepositoryEventRecorded):
        yield "event_type", event.event_type
    yield "host", event.agent.host


def outcome_fields(event: AnyEvent) -> Iterator[tuple[str, object]]:
    """(element, value) of the outcome extension, in the table's order (None: left out)."""
    if isinstance(event, AuditResult):
        yield "result_code", event.result_code
    if isinstance(event, StepRecorded):
        yield "status", event.status
        yield "duration_s", event.duration_s
    if isinstance(event, VersionAudited):
        yield "actual_version", event.actual_version
        yield "db_version", event.db_version
    if isinstance(event, FixityChecked):
        yield "file_path", event.file_path
    if isinstance(event, ReplicaAudited):
        yield "zip_part", event.zip_part
    if isinstance(event, PreservationStatusChanged):
        yield "old_status", event.old_status
        yield "new_status", event.new_status
    if isinstance(event, ObjectValidated | StepRecorded):
        for error in event.errors:
            yield "error", error


def repeated_by(event: AnyEvent) -> Extension:
    """The detail extension a report adds to the PREMIS event of the action it repeats."""
    fields = [("report_id", event.event_id), ("report_source", event.source.type)]
    fields += ((name, str(value)) for name, value in detail_fields(event) if value is not None)
    # Not through the cache: a report's identifier is never seen twice.
    return Extension.of(NAMESPACE, PREFIX, [(n, v) for n, v in fields if v.strip()])


def _extension(fields: Iterator[tuple[str, object]]) -> tuple[Extension, ...]:
    pairs = tuple((name, str(value)) for name, value in fields if value is not None)
    return _checked_extension(pairs) if pairs else ()


# The same few checks, roots, hosts and codes recur in every object's history: an extension is
# built (and checked by the model) once per distinct set of values, not once per event.
@functools.lru_cache(maxsize=4096)
def _checked_extension(pairs: tuple[tuple[str, str], ...]) -> tuple[Extension, ...]:
    kept = [(name, value) for name, value in pairs if value.strip()]
    return (Extension.of(NAMESPACE, PREFIX, kept),) if kept else ()


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None
