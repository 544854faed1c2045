"""The preservation catalog's result messages: the result codes, the message templates that
recognise them (`recognise`), the outcome each code's documented severity gives (`outcome_of`),
and the INVALID_MOAB error arrays (`moab_errors`).

The catalog's wordings, current and older: the `CompleteMoab` (before 2022-12) and
`PreservedCopy` record names, `checksums for {file} version {n} do not match.`,
ZIP_PARTS_COUNT_INCONSISTENCY, ZIP_PARTS_NOT_ALL_REPLICATED ending with the unreplicated parts,
and ZMV_BACKFILL. What each code means (its event, PREMIS type and outcome) is the reviewed
table `provenance.domain.result_codes`, which `provenance.sources.prescat` applies; its outcomes
follow `outcome_of` but for the exceptions it states.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provenance.domain.events import Outcome

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
FIXED_MESSAGES: dict[str, str] = {
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
    code = FIXED_MESSAGES.get(message)
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
