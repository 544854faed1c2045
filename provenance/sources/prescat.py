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

Mapping, by result code first (the code is recognised from the message template; the outcome
comes from the code's documented severity, never from the level it was logged at):

| result code                                    | domain event              | PREMIS | outcome |
| ---------------------------------------------- | ------------------------- | ------ | ------- |
| MOAB_CHECKSUM_VALID                            | FixityChecked             | fix    | success |
| MOAB_FILE_CHECKSUM_MISMATCH, FILE_NOT_IN_*,    | FixityChecked             | fix    | fail    |
|   SIGNATURE_CATALOG_NOT_IN_MOAB,               |                           |        |         |
|   INVALID_MANIFEST, MANIFEST_NOT_IN_MOAB       |                           |        |         |
| INVALID_MOAB (any check)                       | ObjectValidated           | val    | fail    |
| MOAB_RECORD_STATUS_CHANGED                     | PreservationStatusChanged | -      | -       |
| ZIP_* (ZIP_PARTS_NOT_ALL_REPLICATED and        | ReplicaAudited            | fix    | fail    |
|   ZIP_PARTS_NOT_CREATED: warning)              |                           |        |         |
| VERSION_MATCHES, ACTUAL_VERS_GT_DB_OBJ;        | VersionAudited            | val    | success |
|   ACTUAL_VERS_LT_DB_OBJ, UNEXPECTED_VERSION,   |                           |        | fail    |
|   MOAB_NOT_FOUND, DB_VERSIONS_DISAGREE         |                           |        |         |
| CREATED_NEW_OBJECT; DB_OBJ_DOES_NOT_EXIST;     | validate_checksums:       | fix    | success |
|   DB_OBJ_ALREADY_EXISTS, DB_UPDATE_FAILED,     |   FixityChecked;          |        | warning |
|   INVALID_ARGUMENTS, UNABLE_TO_CHECK_STATUS    | replication checks:       | fix    | fail    |
|                                                |   ReplicaAudited;         |        |         |
|                                                | otherwise VersionAudited  | val    |         |
| version and other codes under the catalog's    | CatalogUpdated            | -      | by code |
|   bookkeeping checks (create, update, ...)     |                           |        |         |

Older wordings are recognised too: the `CompleteMoab` (before 2022-12) and `PreservedCopy`
record names, `checksums for {file} version {n} do not match.`, ZIP_PARTS_COUNT_INCONSISTENCY,
ZIP_PARTS_NOT_ALL_REPLICATED ending with the unreplicated parts, and ZMV_BACKFILL
(CatalogUpdated, warning).

Imports only `provenance.domain.events`, `provenance.domain.druid`, `provenance.sources.base` and
stdlib.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from provenance.domain.druid import Druid, druid_or_none
from provenance.domain.events import (
    AgentRef,
    AuditResult,
    CatalogUpdated,
    FixityChecked,
    LinkedObject,
    LinkKind,
    ObjectValidated,
    Outcome,
    PreservationStatusChanged,
    ReplicaAudited,
    VersionAudited,
)
from provenance.sources.base import Draft, Entry, MultilineSource, SourceContext

AGENT = AgentRef(name="preservation_catalog", kind="software")
NOT_AN_AUDIT_RESULT = "not an audit result"

_SEVERITY = r"(?:DEBUG|INFO|WARN|ERROR|FATAL|UNKNOWN|ANY)"
_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]{1,9})?"
_ZONE = r"(?: ?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?))?"
# Both layouts in one pattern: the first character decides which branch can match, cheaply.
_HEAD = re.compile(
    # Ruby Logger: `%s, [%s #%d] %5s -- %s: %s` (severity initial, time, pid, level, progname).
    rf"[DIWEFAU], \[(?P<rts>{_TIME}{_ZONE}) ?#[0-9]+\] +{_SEVERITY} -- (?P<prog>.*?):(?: |$)"
    r"(?P<rmsg>.*)"
    # Rails tagged logging: `[time] [LEVEL] [request id] ...` (any number of tags, or none).
    rf"|\[(?P<ts>{_TIME}{_ZONE})\] \[{_SEVERITY}\](?: \[[^\]]*\])*(?: |$)(?P<msg>.*)"
    # The first line Ruby's Logger writes into every new log file.
    r"|(?P<header># Logfile created on .*)",
    re.DOTALL,
)
# `check_name(druid, storage root or endpoint) message`; the second argument may be empty.
_AUDIT = re.compile(
    r"(?P<check>[A-Za-z_][A-Za-z0-9_:]*)\((?P<druid>[^,()]*),(?P<area>[^()]*)\)(?: (?P<msg>.*))?",
    re.DOTALL,
)
_VERSION_DIR = re.compile(r"/v([0-9]{4,9})(?:/|\Z)")
_ZIP_KEY_VERSION = re.compile(r"\.v([0-9]{1,9})\.z(?:ip|[0-9]{2,})\Z")
_SIGNATURE_CATALOG = "signatureCatalog.xml"

# --- result codes ----------------------------------------------------------------------------

ACTUAL_VERS_GT_DB_OBJ = "ACTUAL_VERS_GT_DB_OBJ"
ACTUAL_VERS_LT_DB_OBJ = "ACTUAL_VERS_LT_DB_OBJ"
CREATED_NEW_OBJECT = "CREATED_NEW_OBJECT"
DB_OBJ_ALREADY_EXISTS = "DB_OBJ_ALREADY_EXISTS"
DB_OBJ_DOES_NOT_EXIST = "DB_OBJ_DOES_NOT_EXIST"
DB_UPDATE_FAILED = "DB_UPDATE_FAILED"
DB_VERSIONS_DISAGREE = "DB_VERSIONS_DISAGREE"
FILE_NOT_IN_MANIFEST = "FILE_NOT_IN_MANIFEST"
FILE_NOT_IN_MOAB = "FILE_NOT_IN_MOAB"
FILE_NOT_IN_SIGNATURE_CATALOG = "FILE_NOT_IN_SIGNATURE_CATALOG"
INVALID_ARGUMENTS = "INVALID_ARGUMENTS"
INVALID_MANIFEST = "INVALID_MANIFEST"
INVALID_MOAB = "INVALID_MOAB"
MANIFEST_NOT_IN_MOAB = "MANIFEST_NOT_IN_MOAB"
MOAB_CHECKSUM_VALID = "MOAB_CHECKSUM_VALID"
MOAB_FILE_CHECKSUM_MISMATCH = "MOAB_FILE_CHECKSUM_MISMATCH"
MOAB_NOT_FOUND = "MOAB_NOT_FOUND"
MOAB_RECORD_STATUS_CHANGED = "MOAB_RECORD_STATUS_CHANGED"
SIGNATURE_CATALOG_NOT_IN_MOAB = "SIGNATURE_CATALOG_NOT_IN_MOAB"
UNABLE_TO_CHECK_STATUS = "UNABLE_TO_CHECK_STATUS"
UNEXPECTED_VERSION = "UNEXPECTED_VERSION"
VERSION_MATCHES = "VERSION_MATCHES"
ZIP_PART_CHECKSUM_FILE_MISMATCH = "ZIP_PART_CHECKSUM_FILE_MISMATCH"
ZIP_PART_CHECKSUM_MISMATCH = "ZIP_PART_CHECKSUM_MISMATCH"
ZIP_PART_NOT_FOUND = "ZIP_PART_NOT_FOUND"
ZIP_PARTS_COUNT_DIFFERS_FROM_ACTUAL = "ZIP_PARTS_COUNT_DIFFERS_FROM_ACTUAL"
ZIP_PARTS_SIZE_INCONSISTENCY = "ZIP_PARTS_SIZE_INCONSISTENCY"
ZIP_PARTS_NOT_ALL_REPLICATED = "ZIP_PARTS_NOT_ALL_REPLICATED"
ZIP_PARTS_NOT_CREATED = "ZIP_PARTS_NOT_CREATED"
# Retired codes still found in older logs.
ZIP_PARTS_COUNT_INCONSISTENCY = "ZIP_PARTS_COUNT_INCONSISTENCY"
ZMV_BACKFILL = "ZMV_BACKFILL"

# The level the catalog logs each code at (its `logger_severity_level`): INFO, WARN, else ERROR.
_SUCCESS_CODES = frozenset(
    {VERSION_MATCHES, ACTUAL_VERS_GT_DB_OBJ, CREATED_NEW_OBJECT, MOAB_CHECKSUM_VALID}
)
_WARNING_CODES = frozenset(
    {DB_OBJ_DOES_NOT_EXIST, ZIP_PARTS_NOT_CREATED, ZIP_PARTS_NOT_ALL_REPLICATED, ZMV_BACKFILL}
)
_FIXITY_CODES = frozenset(
    {
        MOAB_CHECKSUM_VALID,
        MOAB_FILE_CHECKSUM_MISMATCH,
        FILE_NOT_IN_MANIFEST,
        FILE_NOT_IN_MOAB,
        FILE_NOT_IN_SIGNATURE_CATALOG,
        SIGNATURE_CATALOG_NOT_IN_MOAB,
        INVALID_MANIFEST,
        MANIFEST_NOT_IN_MOAB,
    }
)
_VERSION_CODES = frozenset(
    {
        VERSION_MATCHES,
        ACTUAL_VERS_GT_DB_OBJ,
        ACTUAL_VERS_LT_DB_OBJ,
        UNEXPECTED_VERSION,
        MOAB_NOT_FOUND,
        DB_VERSIONS_DISAGREE,
    }
)
_ZIP_CODES = frozenset(
    {
        ZIP_PART_CHECKSUM_FILE_MISMATCH,
        ZIP_PART_CHECKSUM_MISMATCH,
        ZIP_PART_NOT_FOUND,
        ZIP_PARTS_COUNT_DIFFERS_FROM_ACTUAL,
        ZIP_PARTS_SIZE_INCONSISTENCY,
        ZIP_PARTS_NOT_ALL_REPLICATED,
        ZIP_PARTS_NOT_CREATED,
        ZIP_PARTS_COUNT_INCONSISTENCY,
    }
)
# The catalog's own bookkeeping after ingest (the `update_version*` names are the older ones).
BOOKKEEPING_CHECKS = frozenset(
    {
        "create",
        "update",
        "create_after_validation",
        "update_after_validation",
        "update_version",
        "update_version_after_validation",
    }
)
# Checks whose second argument is a zip endpoint rather than a Moab storage root.
REPLICATION_CHECKS = frozenset(
    {"ReplicationAudit", "ReplicateZipPartService", "ZipPartsToZipFilesAudit"}
)
FIXITY_CHECK = "validate_checksums"
_GT_NOTE = " (the catalog was behind the Moab on storage and is updated to the actual version)"

# --- message templates -----------------------------------------------------------------------
# Group names say what a value is: file, manifest, version, actual, db, endpoint, key, old, new,
# errors. `{n}` fields are bounded so that a digit flood cannot reach int()'s size limit.

_RECORD = r"(?:MoabRecord|CompleteMoab|PreservedCopy)"
_N = r"[0-9]{1,12}"


@dataclass(frozen=True, slots=True)
class _Template:
    code: str
    pattern: re.Pattern[str]


def _t(code: str, pattern: str) -> _Template:
    return _Template(code, re.compile(pattern, re.DOTALL))


# Templates that start with a fixed word, looked up by that word (one dict lookup per line).
_BY_FIRST_WORD: dict[str, tuple[_Template, ...]] = {
    "checksum(s)": (_t(MOAB_CHECKSUM_VALID, r"checksum\(s\) match"),),
    "checksums": (
        _t(
            MOAB_FILE_CHECKSUM_MISMATCH,
            rf"checksums or size for (?P<file>.+) version (?P<version>{_N}) do not match entry in"
            r" latest signatureCatalog\.xml\.?",
        ),
        _t(
            MOAB_FILE_CHECKSUM_MISMATCH,
            rf"checksums for (?P<file>.+) version (?P<version>{_N}) do not match\.?",
        ),
    ),
    "Moab": (
        _t(
            FILE_NOT_IN_MANIFEST,
            r"Moab file (?P<file>.+?) was not found in Moab manifest (?P<manifest>.+)",
        ),
        _t(
            FILE_NOT_IN_SIGNATURE_CATALOG,
            r"Moab file (?P<file>.+?) was not found in Moab signature catalog (?P<manifest>.+)",
        ),
    ),
    "unable": (
        _t(INVALID_MANIFEST, r"unable to parse (?P<manifest>.+) in Moab"),
        _t(UNABLE_TO_CHECK_STATUS, rf"unable to validate when {_RECORD} status is (?P<status>\S*)"),
    ),
    "Unable": (_t(INVALID_MANIFEST, r"Unable to parse (?P<manifest>.+) in Moab"),),
    "Invalid": (_t(INVALID_MOAB, r"Invalid [Mm]oab, validation errors: ?(?P<errors>.*)"),),
    "actual": (
        _t(
            VERSION_MATCHES,
            rf"actual version \((?P<actual>{_N})?\) matches (?P<addl>.*?) ?db version",
        ),
        _t(
            ACTUAL_VERS_GT_DB_OBJ,
            rf"actual version \((?P<actual>{_N})?\) greater than \S* ?db version"
            rf" \((?P<db>{_N})?\)",
        ),
        _t(
            ACTUAL_VERS_LT_DB_OBJ,
            rf"actual version \((?P<actual>{_N})?\) less than \S* ?db version"
            rf" \((?P<db>{_N})?\); ERROR!",
        ),
        _t(
            UNEXPECTED_VERSION,
            rf"actual version \((?P<actual>{_N})?\) has unexpected relationship to \S* ?db version"
            rf" \((?P<db>{_N})?\); ERROR!",
        ),
    ),
    "added": (_t(CREATED_NEW_OBJECT, r"added object to db as it did not exist"),),
    "db": (
        _t(DB_UPDATE_FAILED, r"db update failed: ?(?P<addl>.*)"),
        _t(
            MOAB_NOT_FOUND,
            rf"db {_RECORD} \(created [^;]*; last updated .*\) exists but Moab not found",
        ),
    ),
    "encountered": (_t(INVALID_ARGUMENTS, r"encountered validation error\(s\): ?(?P<addl>.*)"),),
    "replicated": (
        _t(
            ZIP_PART_CHECKSUM_MISMATCH,
            r"replicated md5 mismatch on (?P<endpoint>\S+?): (?P<key>\S+) catalog md5"
            r" \([^()]*\) doesn't match the replicated md5 \([^()]*\) on \S*",
        ),
        _t(
            ZIP_PART_NOT_FOUND,
            r"replicated part not found on (?P<endpoint>\S+?): (?P<key>\S+) was not found on \S*",
        ),
    ),
    "backfilled": (_t(ZMV_BACKFILL, r"backfilled the following ZippedMoabVersions: .*"),),
}
for _record in ("MoabRecord", "CompleteMoab", "PreservedCopy"):
    _BY_FIRST_WORD[_record] = (
        _t(
            MOAB_RECORD_STATUS_CHANGED,
            rf"{_record} status changed from (?P<old>\S*) to (?P<new>\S+)",
        ),
        _t(
            DB_VERSIONS_DISAGREE,
            # Both versions are the catalog's own: the PreservedObject's becomes `db_version`.
            rf"{_record} (?:online Moab )?version {_N} does not match"
            rf" PreservedObject current_version (?P<db>{_N})",
        ),
    )

# Messages without values, matched whole.
_FIXED_MESSAGES: dict[str, str] = {
    "checksum(s) match": MOAB_CHECKSUM_VALID,
    "added object to db as it did not exist": CREATED_NEW_OBJECT,
}
# `{version} on {endpoint_name}: ...`: the replication audit's per-version results.
_ZIP_VERSION = rf"(?P<version>{_N}) on (?P<endpoint>\S+?): "
_STARTS_WITH_VERSION: tuple[_Template, ...] = (
    _t(
        ZIP_PARTS_COUNT_DIFFERS_FROM_ACTUAL,
        rf"{_ZIP_VERSION}ZippedMoabVersion stated parts count \([0-9]*\) doesn't match actual"
        r" number of zip parts rows \([0-9]*\)",
    ),
    _t(
        ZIP_PARTS_SIZE_INCONSISTENCY,
        rf"{_ZIP_VERSION}Sum of ZippedMoabVersion child part sizes \([0-9]*\) is less than what"
        r" is in the Moab: [0-9]*",
    ),
    _t(
        ZIP_PARTS_NOT_ALL_REPLICATED,
        rf"{_ZIP_VERSION}not all ZippedMoabVersion parts are replicated yet(?:: .*)?",
    ),
    _t(ZIP_PARTS_NOT_CREATED, rf"{_ZIP_VERSION}no zip_parts exist yet for this ZippedMoabVersion"),
    _t(
        ZIP_PARTS_COUNT_INCONSISTENCY,
        rf"{_ZIP_VERSION}ZippedMoabVersion has variation in child parts_counts: .*",
    ),
)
# Templates that start with a value (a path, an s3 key, a free-text argument); order matters:
# the more specific `refers to file (...)` before the bare `not found in Moab`.
_STARTS_WITH_VALUE: tuple[_Template, ...] = (
    # The manifest may not contain the separator: one split point, so linear on long lines.
    _t(
        FILE_NOT_IN_MOAB,
        r"(?P<manifest>(?:(?! refers to file \().)+) refers to file \((?P<file>.+)\)"
        r" not found in Moab",
    ),
    _t(SIGNATURE_CATALOG_NOT_IN_MOAB, r"(?P<manifest>.*signatureCatalog\.xml) not found in Moab"),
    _t(MANIFEST_NOT_IN_MOAB, r"(?P<manifest>.+) not found in Moab"),
    _t(
        ZIP_PART_CHECKSUM_FILE_MISMATCH,
        r"(?P<key>\S+) catalog md5 \([^()]*\) doesn't match the local zip file md5 \([^()]*\)",
    ),
    _t(DB_OBJ_ALREADY_EXISTS, r"(?P<addl>.*?) ?db object already exists"),
    _t(DB_OBJ_DOES_NOT_EXIST, r"(?P<addl>.*?) ?db object does not exist"),
)


def recognise(message: str) -> tuple[str, re.Match[str] | None] | None:
    """The result code whose template the (first line of the) message fits, with the match.

    The match is None for a message with no values (`checksum(s) match`): the commonest line
    of all is then one dict lookup.
    """
    code = _FIXED_MESSAGES.get(message)
    if code is not None:
        return code, None
    first = message.partition(" ")[0]
    candidates = _BY_FIRST_WORD.get(first)
    if candidates is not None:
        for template in candidates:
            match = template.pattern.fullmatch(message)
            if match is not None:
                return template.code, match
    if first[:1].isdigit():
        for template in _STARTS_WITH_VERSION:
            match = template.pattern.fullmatch(message)
            if match is not None:
                return template.code, match
    for template in _STARTS_WITH_VALUE:
        match = template.pattern.fullmatch(message)
        if match is not None:
            return template.code, match
    return None


def outcome_of(code: str) -> Outcome:
    """The outcome the catalog's documented severity for a code gives (INFO, WARN, ERROR)."""
    if code in _SUCCESS_CODES:
        return "success"
    if code in _WARNING_CODES:
        return "warning"
    return "fail"


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
        self._bases: dict[tuple[str, str, str], tuple[type[AuditResult], dict[str, Any]]] = {}

    def make_entry(self, line_no: int, head: re.Match[str], lines: list[str]) -> Entry:
        entry = Entry(line_no, lines)
        if head["header"] is not None:
            entry.ignored = "logger file header"
            return entry
        ruby_time = head["rts"]
        audit = _AUDIT.fullmatch(head["rmsg"] if ruby_time is not None else head["msg"])
        if audit is None:
            entry.ignored = NOT_AN_AUDIT_RESULT
            return entry
        raw_druid = audit["druid"]
        druid = self._druids.get(raw_druid)
        if druid is None:
            druid = self._druid(raw_druid)
            if druid is None:
                entry.quarantined = "malformed druid"
                return entry
        check, area, result = audit.group("check", "area", "msg")
        area = area.strip()
        if "," in area:
            # The 2017 handlers logged `(druid, version, size, endpoint)`: not this format.
            entry.quarantined = "unknown audit arguments"
            return entry
        result = (result or "").rstrip()
        recognised = recognise(result)
        if recognised is None:
            entry.quarantined = "unknown result message"
            return entry
        try:
            occurred_at = datetime.fromisoformat(ruby_time or head["ts"])
        except ValueError:
            entry.quarantined = "malformed timestamp"
            return entry
        if occurred_at.tzinfo is None:
            # Same as `.replace(tzinfo=...)` (fold 0: the earlier of a repeated DST hour), at a
            # quarter of its cost on Python 3.11.
            occurred_at = datetime.combine(occurred_at, occurred_at.time(), self._tz)
        code, match = recognised

        base = self._bases.get((code, check, area))
        if base is None:
            base = self._base(code, check, area)
        model, static = base
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
            self._add_values(model, code, match, result, fields)
        entry.drafts.append(Draft(model=model, fields=fields))
        return entry

    def _base(self, code: str, check: str, area: str) -> tuple[type[AuditResult], dict[str, Any]]:
        """The model and the fields that depend only on the code, the check and its argument."""
        outcome: Outcome | None = outcome_of(code)
        model: type[AuditResult]
        premis: str | None
        if code == INVALID_MOAB:
            model, premis = ObjectValidated, "val"
        elif code == MOAB_RECORD_STATUS_CHANGED:
            model, premis, outcome = PreservationStatusChanged, None, None
        elif code in _FIXITY_CODES:
            model, premis = FixityChecked, "fix"
        elif code in _ZIP_CODES:
            model, premis = ReplicaAudited, "fix"
        elif check in BOOKKEEPING_CHECKS or code == ZMV_BACKFILL:
            model, premis = CatalogUpdated, None
        elif code in _VERSION_CODES:
            model, premis = VersionAudited, "val"
        elif check == FIXITY_CHECK:
            model, premis = FixityChecked, "fix"
        elif check in REPLICATION_CHECKS:
            model, premis = ReplicaAudited, "fix"
        else:
            model, premis = VersionAudited, "val"
        fields: dict[str, Any] = {
            "version": None,
            "agent": AGENT,
            "premis_type": premis,
            "outcome": outcome,
            "linked_objects": (),
            "check": check,
            "result_code": code,
            "storage_root": None,
        }
        if model is ReplicaAudited:
            # A replication check's second argument is the zip endpoint, not a storage root.
            fields["endpoint"] = area or None
            fields["zip_part"] = None
            if area:
                fields["linked_objects"] = (self._link("endpoint", area),)
        elif area:
            fields["storage_root"] = area
            fields["linked_objects"] = (self._link("storage_root", area),)
        if model is FixityChecked:
            fields["file_path"] = None
        elif model is VersionAudited:
            fields["actual_version"] = None
            fields["db_version"] = None
        if len(self._bases) < _MAX_CACHED:
            self._bases[(code, check, area)] = (model, fields)
        return model, fields

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


# --- INVALID_MOAB error arrays ---------------------------------------------------------------
# The catalog prints the errors with Ruby's Array#to_s: `["a", "b \"quoted\""]`; older reporters
# print `[a, b]`. Either may continue on the following lines.
_ERROR_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\],\n]|[^"\[\],\n]+', re.DOTALL)
_RUBY_ESCAPE = re.compile(
    r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.DOTALL
)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "e": "\x1b", "s": " ", "a": "\a", "b": "\b"}


def moab_errors(text: str) -> tuple[str, ...]:
    """The items of an INVALID_MOAB error array (its text may run over several lines)."""
    text = text.strip()
    if not text.startswith("["):
        return (text,) if text else ()
    items: list[str] = []
    parts: list[str] = []
    depth = 0
    for token in _ERROR_TOKEN.finditer(text, 1):
        piece = token[0]
        if depth == 0:
            if piece in (",", "\n", "]"):
                item = "".join(parts).strip()
                if item:
                    items.append(item)
                parts = []
                if piece == "]":
                    break
                continue
            if piece.startswith('"'):
                parts.append(_unquote(piece))
                continue
        if piece == "[":
            depth += 1
        elif piece == "]":
            depth -= 1
        parts.append(piece)
    else:
        item = "".join(parts).strip()
        if item:
            items.append(item)
    return tuple(items)


def _unquote(token: str) -> str:
    body = token[1:-1] if len(token) > 1 and token.endswith('"') else token[1:]
    if "\\" not in body:
        return body
    return _RUBY_ESCAPE.sub(_unescape, body)


def _unescape(match: re.Match[str]) -> str:
    escaped = match[1]
    if escaped.startswith("u{"):
        code = int(escaped[2:-1], 16)
    elif escaped[0] in "ux" and len(escaped) > 1:
        code = int(escaped[1:], 16)
    elif escaped[0] in "01234567":
        code = int(escaped, 8)
    else:
        return _SIMPLE_ESCAPES.get(escaped, escaped)
    # Surrogates and out-of-range code points cannot be stored as text: keep the escape.
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return match[0]
    return chr(code)
