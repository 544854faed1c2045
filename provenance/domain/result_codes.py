"""The reviewed result-code table: what each preservation catalog result means.

One row per result code the catalog logs (reference/sdr-logs.md, section 1: 29 codes) and per
retired code still found in older logs (ZIP_PARTS_COUNT_INCONSISTENCY, ZMV_BACKFILL; the
`CompleteMoab` and `PreservedCopy` wordings are older spellings of the same codes and share
their rows). A row gives the domain event a result makes, its PREMIS eventType (None: no PREMIS
event) and its outcome, with the reason: what the catalog means by the code and why that is
the event. `provenance.sources.prescat` (log lines) and the preservation-audit notifications of
`provenance.sources.sdr_events` take their decisions from here, and so does the schema-2
upcaster of `provenance.domain.events`, which reads results stored before the table with the
table's meaning: the table is domain knowledge, below the sources and the stored events alike.
Result codes are named here by their text (`provenance.sources.prescat_messages` recognises
them in messages; a test holds the two to the same set).

The principles (issue 14, defect 5):
- a PREMIS event only when an action was performed on or with the object (its Moab on a storage
  root, or a replica); the catalog's own bookkeeping and database errors are CatalogUpdated with
  no PREMIS type: still in history and state, not in PREMIS;
- fixity (`fix`) only where checksums or file presence are compared against manifests;
- a check that did not run is AuditSkipped (no PREMIS type, outcome warning);
- outcomes follow the severity the catalog logs a code at (INFO success, WARN warning, ERROR
  fail), except UNABLE_TO_CHECK_STATUS (logged at ERROR, but no check failed: warning) and
  MOAB_RECORD_STATUS_CHANGED (a status, not a check: no outcome).

A code whose meaning depends on the check it came from says so in its row (`bookkeeping`: the
meaning under the catalog's create/update checks after ingest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    # Types only: `provenance.domain.events` reads stored results through this table.
    from provenance.domain.events import Outcome

# The domain events an audit result can be (their `type` literals in provenance.domain.events).
AuditEvent = Literal[
    "FixityChecked",
    "ReplicaAudited",
    "ObjectValidated",
    "VersionAudited",
    "CatalogUpdated",
    "AuditSkipped",
    "PreservationStatusChanged",
]

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


@dataclass(frozen=True, slots=True)
class Meaning:
    """The event a result makes: domain event, PREMIS eventType (None: none) and outcome."""

    event: AuditEvent
    premis_type: str | None
    outcome: Outcome | None


@dataclass(frozen=True, slots=True)
class ResultCode:
    """One row of the table: a code, its meaning, and why (`reason`: what the catalog means by
    it, then why that is the event). `bookkeeping` is the meaning under the catalog's
    create/update checks when that differs."""

    code: str
    meaning: Meaning
    reason: str
    bookkeeping: Meaning | None = None
    retired: bool = False

    def under(self, check: str) -> Meaning:
        """The meaning of this code reported by `check`."""
        if self.bookkeeping is not None and check in BOOKKEEPING_CHECKS:
            return self.bookkeeping
        return self.meaning


_FIX_OK = Meaning("FixityChecked", "fix", "success")
_FIX_FAIL = Meaning("FixityChecked", "fix", "fail")
_REPLICA_FIX_FAIL = Meaning("ReplicaAudited", "fix", "fail")
_REPLICA_VAL_FAIL = Meaning("ReplicaAudited", "val", "fail")
_REPLICA_VAL_WARN = Meaning("ReplicaAudited", "val", "warning")
_VERSION_OK = Meaning("VersionAudited", "val", "success")
_VERSION_FAIL = Meaning("VersionAudited", "val", "fail")
_CATALOG_OK = Meaning("CatalogUpdated", None, "success")
_CATALOG_WARN = Meaning("CatalogUpdated", None, "warning")
_CATALOG_FAIL = Meaning("CatalogUpdated", None, "fail")
# Under create/update after ingest, comparing versions is how the catalog records a new one.
_BOOKKEEPING_NOTE = " Under create/update after ingest: the catalog recording a version."

_ROWS: tuple[ResultCode, ...] = (
    # --- fixity of the Moab on a storage root (validate_checksums) ---------------------------
    ResultCode(
        "MOAB_CHECKSUM_VALID", _FIX_OK,
        "Every file's checksum and size match the Moab's manifests: a fixity check passed.",
    ),
    ResultCode(
        "MOAB_FILE_CHECKSUM_MISMATCH", _FIX_FAIL,
        "A file's checksum or size differs from its signatureCatalog.xml entry.",
    ),
    ResultCode(
        "FILE_NOT_IN_MANIFEST", _FIX_FAIL,
        "A file on storage is not listed in its version's manifest: presence against a"
        " manifest.",
    ),
    ResultCode(
        "FILE_NOT_IN_MOAB", _FIX_FAIL,
        "A manifest lists a file that is not on storage: presence against a manifest.",
    ),
    ResultCode(
        "FILE_NOT_IN_SIGNATURE_CATALOG", _FIX_FAIL,
        "A file on storage has no entry in the signature catalog, so no checksum to compare.",
    ),
    ResultCode(
        "SIGNATURE_CATALOG_NOT_IN_MOAB", _FIX_FAIL,
        "The signature catalog (the Moab's checksum list) is missing: fixity cannot be shown.",
    ),
    ResultCode(
        "INVALID_MANIFEST", _FIX_FAIL,
        "A manifest cannot be parsed, so the checksums it holds cannot be compared.",
    ),
    ResultCode(
        "MANIFEST_NOT_IN_MOAB", _FIX_FAIL,
        "A manifest the check compares against is missing from the Moab.",
    ),
    ResultCode(
        "UNABLE_TO_CHECK_STATUS", Meaning("AuditSkipped", None, "warning"),
        "The check did not run: the Moab's status (e.g. invalid_moab) forbids it. No check"
        " happened, so no PREMIS event; a warning (logged at ERROR) so state shows it.",
    ),
    # --- structure of the Moab -----------------------------------------------------------------
    ResultCode(
        "INVALID_MOAB", Meaning("ObjectValidated", "val", "fail"),
        "moab-versioning's structural validation of the Moab on storage found errors (any"
        " check that validates).",
    ),
    # --- catalog vs Moab on storage (check_catalog_version, check_existence) ------------------
    ResultCode(
        "VERSION_MATCHES", _VERSION_OK,
        "The Moab's version on storage matches the catalog's." + _BOOKKEEPING_NOTE,
        bookkeeping=_CATALOG_OK,
    ),
    ResultCode(
        "ACTUAL_VERS_GT_DB_OBJ", _VERSION_OK,
        "The Moab on storage is newer than the catalog, which catches up (INFO)."
        + _BOOKKEEPING_NOTE,
        bookkeeping=_CATALOG_OK,
    ),
    ResultCode(
        "ACTUAL_VERS_LT_DB_OBJ", _VERSION_FAIL,
        "The Moab on storage is older than the catalog says: a version is missing."
        + _BOOKKEEPING_NOTE,
        bookkeeping=_CATALOG_FAIL,
    ),
    ResultCode(
        "UNEXPECTED_VERSION", _VERSION_FAIL,
        "The Moab's version on storage relates to the catalog's in no expected way."
        + _BOOKKEEPING_NOTE,
        bookkeeping=_CATALOG_FAIL,
    ),
    ResultCode(
        "MOAB_NOT_FOUND", _VERSION_FAIL,
        "The catalog has a record but no Moab is on the storage root (older: CompleteMoab)."
        + _BOOKKEEPING_NOTE,
        bookkeeping=_CATALOG_FAIL,
    ),
    ResultCode(
        "MOAB_RECORD_STATUS_CHANGED", Meaning("PreservationStatusChanged", None, None),
        "The catalog's status for the Moab changed (older: CompleteMoab, PreservedCopy): a"
        " consequence of a check reported on its own line; feeds object state.",
    ),
    # --- the catalog's own records --------------------------------------------------------------
    ResultCode(
        "CREATED_NEW_OBJECT", _CATALOG_OK,
        "The catalog added a record for a Moab it found: the catalog changed, not the object.",
    ),
    ResultCode(
        "DB_OBJ_ALREADY_EXISTS", _CATALOG_FAIL,
        "A create found the catalog record already there: a catalog database error.",
    ),
    ResultCode(
        "DB_OBJ_DOES_NOT_EXIST", _CATALOG_WARN,
        "The catalog has no record (PreservedObject or MoabRecord) to work with (WARN).",
    ),
    ResultCode(
        "DB_UPDATE_FAILED", _CATALOG_FAIL,
        "The catalog could not save its record: a database error, not a finding on the object.",
    ),
    ResultCode(
        "INVALID_ARGUMENTS", _CATALOG_FAIL,
        "The catalog refused its own arguments (model validation): nothing was done to the"
        " object.",
    ),
    ResultCode(
        "DB_VERSIONS_DISAGREE", _CATALOG_FAIL,
        "MoabRecord and PreservedObject versions disagree (older: CompleteMoab): two catalog"
        " records disagree with each other, not with storage.",
    ),
    # --- replicas on cloud endpoints ----------------------------------------------------------
    ResultCode(
        "ZIP_PART_CHECKSUM_MISMATCH", _REPLICA_FIX_FAIL,
        "The md5 of a zip part on the endpoint differs from the catalog's.",
    ),
    ResultCode(
        "ZIP_PART_CHECKSUM_FILE_MISMATCH", _REPLICA_FIX_FAIL,
        "The catalog's md5 of a zip part differs from the md5 of the zip file made for it.",
    ),
    ResultCode(
        "ZIP_PART_NOT_FOUND", _REPLICA_FIX_FAIL,
        "A zip part the catalog lists is not on the endpoint: presence of a replica's file.",
    ),
    ResultCode(
        "ZIP_PARTS_COUNT_DIFFERS_FROM_ACTUAL", _REPLICA_VAL_FAIL,
        "The stated parts count differs from the parts recorded: a consistency check of the"
        " copy, no checksum compared.",
    ),
    ResultCode(
        "ZIP_PARTS_SIZE_INCONSISTENCY", _REPLICA_VAL_FAIL,
        "The parts' total size is less than the Moab version's: sizes, not checksums.",
    ),
    ResultCode(
        "ZIP_PARTS_NOT_ALL_REPLICATED", _REPLICA_VAL_WARN,
        "Some parts are not yet confirmed on the endpoint: replication under way (WARN; older"
        " lines end with the parts).",
    ),
    ResultCode(
        "ZIP_PARTS_NOT_CREATED", _REPLICA_VAL_WARN,
        "No zip parts exist yet for the version on the endpoint: replication not started"
        " (WARN).",
    ),
    ResultCode(
        "ZIP_PARTS_COUNT_INCONSISTENCY", _REPLICA_VAL_FAIL,
        "Retired (before 2026-01): the parts of one version disagree on their parts count.",
        retired=True,
    ),
    ResultCode(
        "ZMV_BACKFILL", _CATALOG_WARN,
        "Retired: the catalog backfilled its ZippedMoabVersion records (bookkeeping, WARN).",
        retired=True,
    ),
)  # fmt: skip

RESULT_CODES: Mapping[str, ResultCode] = {row.code: row for row in _ROWS}


def meaning(code: str, check: str) -> Meaning:
    """The meaning of result `code` reported by `check` (KeyError: not a code of the table)."""
    return RESULT_CODES[code].under(check)


def markdown_table() -> str:
    """The table as the README shows it: one row per code (code, domain event, PREMIS
    eventType, outcome, reason), current codes first, each group sorted by code."""
    lines = [
        "| code | domain event | PREMIS eventType | outcome | reason |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in sorted(_ROWS, key=lambda row: (row.retired, row.code)):
        cells = [_cells(part) for part in (row.meaning, row.bookkeeping)]
        event, premis, outcome = cells[0] or ("", "", "")
        if cells[1] is not None:
            event += f"; under create/update: {cells[1][0]}"
            premis += f"; under create/update: {cells[1][1]}"
        code = f"{row.code} (retired)" if row.retired else row.code
        lines.append(f"| {code} | {event} | {premis} | {outcome} | {row.reason} |")
    return "\n".join(lines) + "\n"


def _cells(part: Meaning | None) -> tuple[str, str, str] | None:
    if part is None:
        return None
    return part.event, part.premis_type or "none", part.outcome or "none"


# --- the catalog's notifications to the repository (sdr-events) ------------------------------
# A preservation_audit_failure names `moab-valid` (one INVALID_MOAB) or `preservation-audit`
# (every other failure of one audit run, joined by ` && `). Its meaning is the table's meaning
# of the results it carries; when none is recognised, the audit it names decides.
MOAB_VALID = "moab-valid"
PRESERVATION_AUDIT = "preservation-audit"
# A status that became `ok` after a run (the only successes notified): a validation passed.
NOTIFIED_SUCCESS = Meaning("ObjectValidated", "val", "success")
# What an unrecognised failure of a named audit is (the messages do not say more).
_UNRECOGNISED_FAILURE = {FIXITY_CHECK: _FIX_FAIL} | dict.fromkeys(
    REPLICATION_CHECKS, _REPLICA_VAL_FAIL
)
_UNKNOWN_NOTIFICATION = Meaning("ObjectValidated", "val", "fail")


@dataclass(frozen=True, slots=True)
class Notified:
    """What a failure notification means: the deciding result code (None: none recognised),
    its meaning, and the values its message names (endpoint, key, file, ...)."""

    code: str | None
    meaning: Meaning
    values: Mapping[str, str | None]


# A result a notification carries: its code and the values its message names.
NotifiedResult = tuple[str, Mapping[str, str | None]]


def notified_failure(
    check_name: str | None, audit: str | None, results: Sequence[NotifiedResult]
) -> Notified:
    """The meaning of a preservation_audit_failure naming `check_name` (and, for
    preservation-audit, the `audit` its error names and the `results` its messages were
    recognised as, in their order).

    The first result (in message order) that makes a PREMIS event decides, else the first
    recognised one: a run that found a fixity failure next to a catalog error is a fixity
    check. A notified result is a failure: a row's success becomes fail.
    """
    if check_name == MOAB_VALID:
        return Notified("INVALID_MOAB", RESULT_CODES["INVALID_MOAB"].meaning, {})
    if check_name != PRESERVATION_AUDIT:
        return Notified(None, _UNKNOWN_NOTIFICATION, {})
    check = audit or PRESERVATION_AUDIT
    found = [
        (code, RESULT_CODES[code].under(check), values)
        for code, values in results
        if RESULT_CODES[code].meaning.event != "PreservationStatusChanged"
    ]
    if not found:
        return Notified(None, _UNRECOGNISED_FAILURE.get(check, _VERSION_FAIL), {})
    code, chosen, values = next((item for item in found if item[1].premis_type), found[0])
    if chosen.outcome not in ("fail", "warning"):
        chosen = Meaning(chosen.event, chosen.premis_type, "fail")
    return Notified(code, chosen, values)
