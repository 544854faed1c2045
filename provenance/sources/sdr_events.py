"""The `sdr-events` source: JSON lines of repository object events -> domain events.

Owns the format of dor-services-app's object events, one JSON object per line:

    {"druid": "druid:bc123df4567", "event_type": "...", "data": {"host": ..., "invoked_by": ...},
     "created_at": "2026-02-01T10:00:00Z"}

and their mapping:

| event_type, data                         | domain event            | PREMIS    | outcome |
| ---------------------------------------- | ----------------------- | --------- | ------- |
| druid_version_replicated                 | ReplicationCompleted    | rep       | success |
| preservation_audit_failure, check_name:  |                         |           |         |
|   moab-valid                             | INVALID_MOAB's row of the result-code table |
|   preservation-audit                     | the row of its deciding result (below)      |
|   any other check_name                   | ObjectValidated         | val       | fail    |
| preservation_audit_success               | ObjectValidated         | val       | success |
| anything else                            | RepositoryEventRecorded | see below | below   |

The audit named in a preservation-audit failure is the start of `data.error`
(`validate_checksums (actual location: fixture_sr1; actual version: 6) <msg> && <msg>`). Its
meaning comes from the reviewed table (`provenance.domain.result_codes.notified_failure`):
the first of its messages whose result code makes a PREMIS event decides, else the first
recognised one (a catalog database error is CatalogUpdated, a check that could not run
AuditSkipped), and its code is the event's `result_code`; with none recognised (no result
code), a validate_checksums failure is a failed fixity check and any other a failed version
audit.
`storage_root` is `data.storage_area` (older events: `data.storage_root`) or that location,
`version` is `data.actual_version` or that version. Replication links the endpoint and every zip
part as outcome objects.

For RepositoryEventRecorded the PREMIS type comes from REPOSITORY_PREMIS; the outcome is
"fail" for `*_errored` / `*-error` types, "success" for `*_success` / `*-success` types, None
otherwise; unknown (future) types are kept, without a PREMIS type. The agent is
`data.invoked_by` (software) on `data.host`.

Time: `created_at` is ISO 8601 (a zone-less value is read in the context's zone). When it is
absent the event's time is taken from `data.created_at`, `data.timestamp` or `data.occurred_at`;
with none of those the line is quarantined ("no created_at"): the time an event happened cannot
be made up (the ingest time would differ between replays and break idempotence).

Versions (`data.version`, `data.actual_version`, the `actual version:` of an audit message) are
whole numbers from 0 to 2**31 - 1, as JSON numbers or decimal strings (dor-services-app sends
some as strings); absent, null or "" means unknown. Any other value quarantines the line
(`malformed version`, `version out of range`, ...) instead of becoming an unknown version.

Every line is one entry (no continuation lines).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from provenance.domain.druid import Druid, druid_or_none
from provenance.domain.events import (
    EVENT_TYPES,
    AgentRef,
    LinkedObject,
    ObjectValidated,
    ReplicaAudited,
    ReplicationCompleted,
    RepositoryEventRecorded,
    VersionAudited,
    ZipPart,
)
from provenance.domain.result_codes import (
    NOTIFIED_SUCCESS,
    PRESERVATION_AUDIT,
    NotifiedResult,
    notified_failure,
)
from provenance.sources.base import Draft, Entry, Source, SourceContext
from provenance.sources.prescat_messages import recognise

# PREMIS eventType code of the repository event types that have one.
REPOSITORY_PREMIS: dict[str, str] = {
    "registration": "cre",
    "update": "mem",
    "publishing_complete": "dis",
    "shelving_complete": "dis",
    "delete": "del",
    "embargo_released": "poa",
}
_FAIL_SUFFIXES = ("_errored", "-error", "_error")
_SUCCESS_SUFFIXES = ("_success", "-success")
# Where the time may be when `created_at` is missing, in order of preference.
_DATA_TIME_KEYS = ("created_at", "timestamp", "occurred_at")

_EVENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}", re.ASCII)
# The preservation catalog's message prefix: `<audit> (actual location: <root>; actual version:
# <n>) <messages joined by ' && '>`; moab-valid messages put ` || ` before the message. The
# version is taken whatever it is (`1e23`, `-1`, 13 digits) and judged by `_version`, so a bad
# one quarantines the line rather than making the prefix, and with it the audit, unreadable.
_AUDIT_PREFIX = re.compile(
    r"(?P<audit>[^\s(]+) \((?:actual location: (?P<root>[^;)]*))?; ?"
    r"(?:actual version: (?P<version>[^)]*))?\) ?(?:\|\| ?)?(?P<messages>.*)",
    re.DOTALL,
)
_MOAB_ERRORS = re.compile(r"validation errors: \[(.*)\]\s*\Z", re.DOTALL)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
# What bytes that are not UTF-8 become in a line decoded with surrogateescape.
_UNDECODED = re.compile("[\udc80-\udcff]")
# pydantic refuses JSON nested deeper than this; such a line is kept in quarantine instead.
_MAX_DEPTH = 64
_MAX_INT = 2**31 - 1
_MAX_VERSION_DIGITS = 12  # past _MAX_INT already: "out of range" rather than "malformed"
_MAX_CACHED = 10_000


class _RejectError(ValueError):
    """A line that is JSON but not a usable repository event; the message is the reason."""


def _no_constants(name: str) -> Any:
    # NaN and Infinity are not JSON and cannot be stored as JSON payloads.
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # `1e400` would become infinity, which the stored payload would silently turn into null.
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text} is out of range")
    return value


class SdrEventsSource(Source):
    """One JSON line -> one event (or a quarantine reason); keeps only small lookup caches."""

    name: ClassVar[str] = "sdr-events"

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self._tz = context.tz
        self._agents: dict[tuple[str, str | None], AgentRef] = {}
        # The same objects recur in a log: parsing a druid costs more than looking it up.
        self._druids: dict[str, Druid] = {}
        self._endpoints: dict[str, LinkedObject] = {}
        self._handlers: dict[str, Callable[[Druid, str, dict[str, Any], dict[str, Any]], Draft]] = {
            "druid_version_replicated": self._replicated,
            "preservation_audit_failure": self._audit_failure,
            "preservation_audit_success": self._audit_success,
        }

    @classmethod
    def detect(cls, line: str) -> bool:
        return line.lstrip().startswith("{")

    def feed(self, line_no: int, line: str) -> list[Entry]:
        entry = Entry(line_no, [line])
        try:
            draft = self._parse(line)
        except _RejectError as reject:
            entry.quarantined = str(reject)
            return [entry]
        if draft is None:
            entry.ignored = "blank line"
        else:
            entry.drafts.append(draft)
        return [entry]

    def flush(self) -> list[Entry]:
        return []

    # --- parsing ---------------------------------------------------------------------------

    def _parse(self, line: str) -> Draft | None:
        text = line.strip().lstrip("\ufeff")
        if not text:
            return None
        try:
            record = _DECODER.decode(text)
        except (ValueError, RecursionError):
            raise _RejectError("malformed JSON") from None
        if not isinstance(record, dict):
            raise _RejectError("not a JSON object")
        if "\\u" in text and _has_lone_surrogate(text, record):
            raise _RejectError("malformed JSON")
        if text.count("[") + text.count("{") > _MAX_DEPTH and _depth(record) > _MAX_DEPTH:
            raise _RejectError("JSON nested too deeply")

        raw_druid = record.get("druid")
        if not isinstance(raw_druid, str) or not raw_druid.strip():
            raise _RejectError("missing druid")
        druid = self._druids.get(raw_druid)
        if druid is None:
            druid = _parse_druid(raw_druid)
            if len(self._druids) < _MAX_CACHED:
                self._druids[raw_druid] = druid
        event_type = record.get("event_type")
        if not isinstance(event_type, str) or not event_type.strip():
            raise _RejectError("missing event_type")
        if _EVENT_TYPE.fullmatch(event_type) is None:
            raise _RejectError("malformed event_type")
        data = record.get("data")
        if data is None:
            data = {}
        elif not isinstance(data, dict):
            raise _RejectError("malformed data")

        fields: dict[str, Any] = {
            "object": druid.value,
            "object_conforming": druid.conforming,
            "occurred_at": self._occurred_at(record, data),
            "agent": self._agent(data),
        }
        handler = self._handlers.get(event_type, self._repository_event)
        return handler(druid, event_type, data, fields)

    def _occurred_at(self, record: dict[str, Any], data: dict[str, Any]) -> datetime:
        value = record.get("created_at")
        if value is None:
            for key in _DATA_TIME_KEYS:
                value = data.get(key)
                if value is not None:
                    break
            else:
                raise _RejectError("no created_at")
        if not isinstance(value, str):
            raise _RejectError("malformed created_at")
        text = value.strip()
        # Rails' default Time#to_s form ("2026-02-01 10:00:00 UTC") is common in dumps.
        if text.endswith(" UTC"):
            text = text[:-4] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _RejectError("malformed created_at") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self._tz)
        return moment

    def _agent(self, data: dict[str, Any]) -> AgentRef:
        invoked_by = data.get("invoked_by")
        host = data.get("host")
        name = invoked_by if isinstance(invoked_by, str) and invoked_by.strip() else "unknown"
        host = host if isinstance(host, str) and host.strip() else None
        key = (name, host)
        agent = self._agents.get(key)
        if agent is None:
            agent = AgentRef(name=name, kind="software", host=host)
            if len(self._agents) < _MAX_CACHED:
                self._agents[key] = agent
        return agent

    # --- the event types -------------------------------------------------------------------

    def _replicated(
        self, druid: Druid, event_type: str, data: dict[str, Any], fields: dict[str, Any]
    ) -> Draft:
        endpoint = data.get("endpoint_name")
        if not isinstance(endpoint, str) or not endpoint.strip():
            raise _RejectError("replication without endpoint_name")
        parts = _zip_parts(data.get("parts_info"))
        version = _version(data.get("version"), "version")
        link = self._endpoints.get(endpoint)
        if link is None:
            link = LinkedObject(kind="endpoint", identifier=endpoint, role="outcome")
            if len(self._endpoints) < _MAX_CACHED:
                self._endpoints[endpoint] = link
        links = [link]
        links.extend(
            LinkedObject(kind="zip_part", identifier=p.s3_key, role="outcome") for p in parts
        )
        shown = f"version {version}" if version is not None else "a version"
        fields.update(
            version=version,
            premis_type="rep",
            outcome="success",
            detail=f"{shown} replicated to {endpoint} ({len(parts)} zip part(s))",
            linked_objects=tuple(links),
            endpoint=endpoint,
            parts=parts,
        )
        return Draft(ReplicationCompleted, fields)

    def _audit_failure(
        self, druid: Druid, event_type: str, data: dict[str, Any], fields: dict[str, Any]
    ) -> Draft:
        check_name = _text(data.get("check_name"))
        error = _text(data.get("error")) or ""
        prefix = _AUDIT_PREFIX.match(error)
        audit = prefix["audit"] if prefix is not None else None
        messages = prefix["messages"] if prefix is not None else error
        storage_root = _text(data.get("storage_area")) or _text(data.get("storage_root"))
        if storage_root is None and prefix is not None and prefix["root"]:
            storage_root = prefix["root"].strip() or None
        version = _version(data.get("actual_version"), "actual_version")
        if version is None and prefix is not None and prefix["version"] is not None:
            version = _version(prefix["version"].strip(), "actual version in error")
        notified = notified_failure(check_name, audit, notified_results(messages))
        row = notified.meaning
        fields.update(
            version=version,
            premis_type=row.premis_type,
            outcome=row.outcome,
            detail=error or f"{check_name or 'preservation audit'} failed",
            storage_root=storage_root,
            result_code=notified.code,
        )
        model = EVENT_TYPES[row.event]
        if check_name == PRESERVATION_AUDIT:
            fields["check"] = audit or check_name
        else:
            fields["check"] = check_name or "unknown"
        if model is VersionAudited:
            fields["actual_version"] = version
        elif model is ObjectValidated:
            fields["errors"] = _moab_errors(messages)
        elif model is ReplicaAudited:
            # A replication audit's place is the endpoint its message names.
            fields["endpoint"] = notified.values.get("endpoint") or storage_root
            fields["zip_part"] = notified.values.get("key")
            fields["storage_root"] = None
        return Draft(model, fields)

    def _audit_success(
        self, druid: Druid, event_type: str, data: dict[str, Any], fields: dict[str, Any]
    ) -> Draft:
        check_name = _text(data.get("check_name")) or "unknown"
        row = NOTIFIED_SUCCESS
        fields.update(
            version=_version(data.get("actual_version"), "actual_version"),
            premis_type=row.premis_type,
            outcome=row.outcome,
            detail=f"{check_name} passed",
            check=check_name,
            storage_root=_text(data.get("storage_area")) or _text(data.get("storage_root")),
        )
        return Draft(EVENT_TYPES[row.event], fields)

    def _repository_event(
        self, druid: Druid, event_type: str, data: dict[str, Any], fields: dict[str, Any]
    ) -> Draft:
        outcome = None
        if event_type.endswith(_FAIL_SUFFIXES):
            outcome = "fail"
        elif event_type.endswith(_SUCCESS_SUFFIXES):
            outcome = "success"
        detail = event_type
        note = _text(data.get("error")) or _text(data.get("message"))
        if note:
            detail = f"{event_type}: {note}"
        fields.update(
            version=_version(data.get("version"), "version"),
            premis_type=REPOSITORY_PREMIS.get(event_type),
            outcome=outcome,
            detail=detail,
            event_type=event_type,
            data=data,
        )
        return Draft(RepositoryEventRecorded, fields)


_DECODER = json.JSONDecoder(parse_constant=_no_constants, parse_float=_finite_float)


def notified_results(messages: str) -> list[NotifiedResult]:
    """The result codes of a failure's messages (joined by ` && `), in order, each with the
    values its message names (an endpoint, a zip part key, a file)."""
    results: list[NotifiedResult] = []
    for part in messages.split(" && "):
        recognised = recognise(part.strip())
        if recognised is not None:
            code, match = recognised
            results.append((code, match.groupdict() if match is not None else {}))
    return results


def _parse_druid(text: str) -> Druid:
    druid = druid_or_none(text)
    if druid is None:
        raise _RejectError("malformed druid")
    return druid


def _text(value: Any) -> str | None:
    """A non-blank string value, stripped; anything else is None."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _version(value: Any, field: str) -> int | None:
    """The object version in `data[field]`: None when absent, null or empty.

    A JSON whole number, or its decimal digits as a string (dor-services-app sends
    `version_open`/`version_close` versions as `version.to_s`; an empty string is Ruby's
    `nil.to_s`), from 0 (what moab-versioning reports for a Moab without a version directory)
    to 2**31 - 1. Anything else (`1.5`, `1e23`, `-1`, `true`, `"v2"`, a huge number) is not
    a version that can be trusted, and is not made null: the line is quarantined, saying which
    field it was."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise _RejectError(f"malformed {field}")
        # Bounded before int(): a digit flood must not reach int()'s size limit.
        if len(value) > _MAX_VERSION_DIGITS:
            raise _RejectError(f"{field} out of range")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _RejectError(f"malformed {field}")
    if not 0 <= value <= _MAX_INT:
        raise _RejectError(f"{field} out of range")
    return value


def _zip_parts(value: Any) -> tuple[ZipPart, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _RejectError("malformed parts_info")
    parts = []
    for item in value:
        if not isinstance(item, dict):
            raise _RejectError("malformed parts_info")
        key = _text(item.get("s3_key"))
        size = item.get("size")
        md5 = item.get("md5")
        if key is None:
            raise _RejectError("malformed parts_info")
        if size is not None:
            size = _as_size(size)
        if md5 is not None and not isinstance(md5, str):
            raise _RejectError("malformed parts_info")
        parts.append(ZipPart(s3_key=key, size=size, md5=md5))
    return tuple(parts)


def _as_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    raise _RejectError("malformed parts_info")


def _moab_errors(messages: str) -> tuple[str, ...]:
    """The individual errors of a failure message.

    `Invalid Moab, validation errors: [a, b]` lists them in brackets (as Ruby string literals
    when they are quoted); other messages are joined by ` && `.
    """
    listed = _MOAB_ERRORS.search(messages)
    if listed is not None:
        inner = listed[1].strip()
        if inner.startswith('"'):
            quoted = _QUOTED.findall(inner)
            if quoted:
                return tuple(item.replace('\\"', '"') for item in quoted)
        return (inner,) if inner else ()
    return tuple(part.strip() for part in messages.split(" && ") if part.strip())


def _has_lone_surrogate(text: str, record: Any) -> bool:
    # `\ud800` escapes decode to lone surrogates, which cannot be stored as UTF-8 later.
    if "\\ud" not in text.lower():
        return False
    if _UNDECODED.search(text) is not None:
        # Bytes of the line that are not UTF-8 are lone surrogates too, but they are the
        # line's own (ingest shows them visibly): look for those the escapes made.
        record = _DECODER.decode(_UNDECODED.sub("?", text))
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iteratively: no recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if level > deepest:
            deepest = level
            if deepest > _MAX_DEPTH:
                return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
