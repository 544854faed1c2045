"""The `prescat` source: preservation catalog audit results -> one domain event per result line.

Owns the two layouts the catalog logs in and the mapping of its result messages. A result is

    <check_name>(<bare druid>, <storage root or endpoint>) <result message>

inside either layout:

    E, [2026-03-01T22:14:05.123456 #4711] ERROR -- : <result>    Ruby Logger (zone-less time:
                                                                  read in the context's zone)
    [2026-03-02T10:01:02-08:00] [INFO] [<request id>] <result>    Rails (tags optional)

A line in either layout starts an entry; lines without a layout prefix continue it (the rest of an
INVALID_MOAB error array, a backtrace). A layout line that is not a result (SQL, request lines,
job lines) is ignored ("not an audit result"). A result is quarantined, never guessed at, when its
druid is malformed ("malformed druid"), its message matches no template below ("unknown result
message"), it has more than two arguments (the 2017 handlers: "unknown audit arguments") or its
time is impossible ("malformed timestamp").

Mapping: by result code, and for some codes by the check that reported it, as the reviewed
table `provenance.domain.result_codes` says (the domain event, PREMIS eventType and outcome of
every code, with the reason). The outcome comes from the table (the code's documented severity,
with the exceptions it states), never from the level a line was logged at. A replication
check's second argument is a zip endpoint (linked as such, never a storage root), whatever
event its result makes.

Older wordings are recognised too: the `CompleteMoab` (before 2022-12) and `PreservedCopy`
record names, `checksums for {file} version {n} do not match.`, ZIP_PARTS_COUNT_INCONSISTENCY,
ZIP_PARTS_NOT_ALL_REPLICATED ending with the unreplicated parts, and ZMV_BACKFILL. The codes,
their templates and their severities are `provenance.sources.prescat_messages`; this module owns
the layouts and applies the table.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar, cast, get_args

from provenance.domain.druid import Druid, druid_or_none
from provenance.domain.event_shapes import ENVELOPE, EventShape
from provenance.domain.events import (
    EVENT_TYPES,
    AgentRef,
    AuditResult,
    FixityChecked,
    LinkedObject,
    LinkKind,
    ObjectValidated,
    PreservationStatusChanged,
    ReplicaAudited,
    VersionAudited,
)
from provenance.domain.result_codes import REPLICATION_CHECKS, AuditEvent, meaning
from provenance.sources.base import Draft, Entry, MultilineSource, SourceContext
from provenance.sources.prescat_messages import (
    ACTUAL_VERS_GT_DB_OBJ,
    FIXED_MESSAGES,
    VERSION_MATCHES,
    moab_errors,
    recognise,
)

AGENT = AgentRef(name="preservation_catalog", kind="software")
NOT_AN_AUDIT_RESULT = "not an audit result"

_SEVERITY = r"(?:DEBUG|INFO|WARN|ERROR|FATAL|UNKNOWN|ANY)"
_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]{1,9})?"
_ZONE = r"(?: ?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?))?"
# `check_name(druid, storage root or endpoint) result`; the second argument may be empty.
_AUDIT = (
    r"(?P<check>[A-Za-z_][A-Za-z0-9_:]*)\((?P<druid>[^,()]*),(?P<area>[^()]*)\)"
    r"(?: (?P<result>.*))?\Z"
)
# Both layouts and the result in one pattern, one match per line: the first character decides
# which layout can match, cheaply; the result groups are set only when the rest of the line is
# a result. The atomic groups `(?>...)` keep the layout's split where it is when the result
# does not match: the rest of a line that is not a result is never re-split to make one.
_HEAD = re.compile(
    # Ruby Logger: `%s, [%s #%d] %5s -- %s: %s` (severity initial, time, pid, level, progname).
    rf"(?:[DIWEFAU], \[(?P<rts>{_TIME}{_ZONE}) ?#[0-9]+\] +{_SEVERITY} -- (?>.*?:(?: |$))"
    # Rails tagged logging: `[time] [LEVEL] [request id] ...` (any number of tags, or none).
    rf"|\[(?P<ts>{_TIME}{_ZONE})\] \[{_SEVERITY}\](?>(?: \[[^\]]*\])*(?: |$)))"
    rf"(?:{_AUDIT})?.*"
    # The first line Ruby's Logger writes into every new log file.
    r"|(?P<header># Logfile created on .*)",
    re.DOTALL,
)
_VERSION_DIR = re.compile(r"/v([0-9]{4,9})(?:/|\Z)")
_ZIP_KEY_VERSION = re.compile(r"\.v([0-9]{1,9})\.z(?:ip|[0-9]{2,})\Z")
_SIGNATURE_CATALOG = "signatureCatalog.xml"


# The model of each event the result-code table names.
_MODELS: dict[str, type[AuditResult]] = {
    name: cast("type[AuditResult]", EVENT_TYPES[name]) for name in get_args(AuditEvent)
}
_GT_NOTE = " (the catalog was behind the Moab on storage and is updated to the actual version)"

# The fields a draft of each model gives (every field but the envelope, the version of the
# schema and the type): what `_base`, `make_entry` and `_add_values` set.
_SHAPES: dict[type[AuditResult], EventShape[AuditResult]] = {
    model: EventShape(
        model,
        [name for name in model.model_fields if name not in (*ENVELOPE, "schema_version", "type")],
    )
    for model in _MODELS.values()
}

# What `PrescatSource._base` works out once per (code, check, argument).
_Base = tuple[type[AuditResult], dict[str, Any], EventShape[AuditResult]]
_fromisoformat = datetime.fromisoformat
_combine = datetime.combine

# --- the source ------------------------------------------------------------------------------

_MAX_CACHED = 10_000


class PrescatSource(MultilineSource):
    """Audit result lines (Ruby Logger or Rails layout) -> one event each; small caches only."""

    name: ClassVar[str] = "prescat"
    HEAD: ClassVar[re.Pattern[str]] = _HEAD

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self._tz = context.tz
        # An audit log repeats the same objects, checks and storage roots: what depends only on
        # those is worked out once (this keeps a routine line within the speed budget).
        self._druids: dict[str, Druid | None] = {}
        self._links: dict[tuple[LinkKind, str], LinkedObject] = {}
        self._bases: dict[tuple[str, str, str], _Base] = {}

    def make_entry(self, line_no: int, head: re.Match[str], lines: list[str]) -> Entry:
        # The groups in `_HEAD`'s order (one call instead of one per group).
        ruby_time, rails_time, check, raw_druid, area, result, header = head.groups()
        if check is None:
            if header is not None:
                return Entry(line_no, lines, ignored="logger file header")
            return Entry(line_no, lines, ignored=NOT_AN_AUDIT_RESULT)
        druid = self._druids.get(raw_druid)
        if druid is None:
            druid = self._druid(raw_druid)
            if druid is None:
                return Entry(line_no, lines, quarantined="malformed druid")
        area = area.strip()
        if "," in area:
            # The 2017 handlers logged `(druid, version, size, endpoint)`: not this format.
            return Entry(line_no, lines, quarantined="unknown audit arguments")
        result = result.rstrip() if result else ""
        # `recognise`, its first step written out: the commonest message has no values.
        code = FIXED_MESSAGES.get(result)
        match = None
        if code is None:
            recognised = recognise(result)
            if recognised is None:
                return Entry(line_no, lines, quarantined="unknown result message")
            code, match = recognised
        # The event time; a zone-less one is read in the context's zone.
        try:
            occurred_at = _fromisoformat(ruby_time or rails_time)
        except ValueError:
            return Entry(line_no, lines, quarantined="malformed timestamp")
        if occurred_at.tzinfo is None:
            # Same as `.replace(tzinfo=...)` (fold 0: the earlier of a repeated DST hour), at a
            # quarter of its cost on Python 3.11.
            occurred_at = _combine(occurred_at, occurred_at.time(), self._tz)

        base = self._bases.get((code, check, area))
        if base is None:
            base = self._base(code, check, area)
        model, static, shape = base
        fields = static.copy()
        fields["object"] = druid.value
        fields["object_conforming"] = druid.conforming
        fields["occurred_at"] = occurred_at
        if len(lines) > 1:
            result = "\n".join([result, *lines[1:]]).rstrip()
        fields["detail"] = (
            f"{check}: {result}{_GT_NOTE}"
            if code == ACTUAL_VERS_GT_DB_OBJ
            else f"{check}: {result}"
        )
        if match is not None:
            if code == VERSION_MATCHES and model is VersionAudited:
                # The second commonest result: its one value is all three versions
                # (`_add_values` gives the same, at a third of the cost).
                actual = match["actual"]
                fields["version"] = fields["actual_version"] = fields["db_version"] = (
                    int(actual) if actual else None
                )
            else:
                self._add_values(model, code, match, result, fields)
        # Every field of the model is set, each of its type: built without validation.
        return Entry(line_no, lines, [Draft(model, fields, shape)])

    def _base(self, code: str, check: str, area: str) -> _Base:
        """The model, the fields that depend only on the code, the check and its argument, and
        the model's shape."""
        row = meaning(code, check)
        model = _MODELS[row.event]
        fields: dict[str, Any] = {
            "version": None,
            "agent": AGENT,
            "premis_type": row.premis_type,
            "outcome": row.outcome,
            "linked_objects": (),
            "check": check,
            "result_code": code,
            "storage_root": None,
        }
        # A replication check's second argument is the zip endpoint, not a storage root,
        # whichever event its result makes.
        on_endpoint = model is ReplicaAudited or check in REPLICATION_CHECKS
        if model is ReplicaAudited:
            fields["endpoint"] = area or None
            fields["zip_part"] = None
        if area:
            if on_endpoint:
                fields["linked_objects"] = (self._link("endpoint", area),)
            else:
                fields["storage_root"] = area
                fields["linked_objects"] = (self._link("storage_root", area),)
        if model is FixityChecked:
            fields["file_path"] = None
        elif model is VersionAudited:
            fields["actual_version"] = None
            fields["db_version"] = None
        elif model is ObjectValidated:
            fields["errors"] = ()
        base = (model, fields, _SHAPES[model])
        if len(self._bases) < _MAX_CACHED:
            self._bases[(code, check, area)] = base
        return base

    def _add_values(
        self,
        model: type[AuditResult],
        code: str,
        match: re.Match[str],
        message: str,
        fields: dict[str, Any],
    ) -> None:
        """The fields the message's own values give: versions, paths, keys, statuses, errors."""
        values = match.groupdict()
        file = values.get("file")
        manifest = values.get("manifest")
        key = values.get("key")
        actual = _int(values.get("actual"))
        version = _int(values.get("version"))
        if version is None:
            version = actual if actual is not None else _version_in(file, manifest, key)
        fields["version"] = version

        links = list(fields["linked_objects"])
        endpoint = values.get("endpoint")
        if model is ReplicaAudited:
            if endpoint is not None and endpoint != fields["endpoint"]:
                # The endpoint the message names is the one audited.
                fields["endpoint"] = endpoint
                links = [self._link("endpoint", endpoint)]
            fields["zip_part"] = key
        if file is not None:
            links.append(LinkedObject(kind="file", identifier=file, role="source"))
        if manifest is not None:
            links.append(LinkedObject(kind="manifest", identifier=manifest, role="source"))
        if key is not None:
            links.append(LinkedObject(kind="zip_part", identifier=key, role="source"))
        fields["linked_objects"] = tuple(links)

        if model is FixityChecked:
            # The file the check is about: the named file, else the manifest that failed.
            fields["file_path"] = file if file is not None else manifest
        elif model is VersionAudited:
            fields["actual_version"] = actual
            fields["db_version"] = actual if code == VERSION_MATCHES else _int(values.get("db"))
        elif model is ObjectValidated:
            fields["errors"] = moab_errors(message[match.start("errors") :])
        elif model is PreservationStatusChanged:
            fields["old_status"] = values["old"]
            fields["new_status"] = values["new"]

    def _druid(self, text: str) -> Druid | None:
        """Parse (and remember) the druid argument; None when it is not a druid."""
        if text in self._druids:
            return None  # remembered as malformed: a found druid never reaches here
        druid = druid_or_none(text)
        if len(self._druids) < _MAX_CACHED:
            self._druids[text] = druid
        return druid

    def _link(self, kind: LinkKind, identifier: str) -> LinkedObject:
        link = self._links.get((kind, identifier))
        if link is None:
            link = LinkedObject(kind=kind, identifier=identifier, role="source")
            if len(self._links) < _MAX_CACHED:
                self._links[(kind, identifier)] = link
        return link


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _version_in(file: str | None, manifest: str | None, key: str | None) -> int | None:
    """The object version a path (`.../v0001/...`) or zip part key (`....v0001.zip`) names."""
    for path in (file, manifest):
        if path is not None and (found := _VERSION_DIR.search(path)) is not None:
            return int(found[1])
    if key is not None and (found := _ZIP_KEY_VERSION.search(key)) is not None:
        return int(found[1])
    return None
