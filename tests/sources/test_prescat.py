"""The `prescat` source: preservation catalog audit results -> domain events.

Example lines are built from the catalog's message templates (`Audit::Results`, its logger
reporter, Ruby's Logger and Rails' tagged formatter); none is a captured production line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.domain.events import (
    AuditSkipped,
    CatalogUpdated,
    DomainEvent,
    FixityChecked,
    LinkedObject,
    ObjectValidated,
    PreservationStatusChanged,
    ReplicaAudited,
    VersionAudited,
)
from provenance.sources.auto import AutoSource
from provenance.sources.base import Entry, SourceContext
from provenance.sources.prescat import PrescatSource
from provenance.sources.prescat_messages import moab_errors, recognise
from tests.sources.helpers import build_events, feed_source

LA = ZoneInfo("America/Los_Angeles")
DRUID = "bj102hs9687"
ROOT = "fixture_sr3"
MOAB = f"/services-disk02/sdr2objects/bj/102/hs/9687/{DRUID}"
FILE = f"{MOAB}/v0001/data/content/eric-smith-dissertation.pdf"
MANIFEST = f"{MOAB}/v0002/manifests/manifestInventory.xml"
SIGCAT = f"{MOAB}/v0003/manifests/signatureCatalog.xml"
KEY = f"bj/102/hs/9687/{DRUID}.v0002.zip"
MD5 = "00112233445566778899aabbccddeeff"
OTHER_MD5 = "ffeeddccbbaa99887766554433221100"
WEST = "aws_s3_west_2"
BUCKET = "sul-sdr-aws-us-west-2-archive"
WINTER = "2026-03-01T22:14:05.123456"


def ruby(message: str, severity: str = "INFO", ts: str = WINTER) -> str:
    """Ruby Logger's default layout: `%s, [%s #%d] %5s -- %s: %s`."""
    return f"{severity[0]}, [{ts} #4711] {severity:>5} -- : {message}"


def rails(message: str, severity: str = "INFO", ts: str = "2026-03-01T22:14:05.123-08:00") -> str:
    """Rails' tagged layout with the request id tag."""
    return f"[{ts}] [{severity}] [3f2a9c0e-1b3d-4f5a-8c7e-0a1b2c3d4e5f] {message}"


def feed(lines: list[str], tz: Any = LA) -> list[Entry]:
    return feed_source(PrescatSource, lines, tz, "prescat-host")


def build(entries: list[Entry]) -> list[DomainEvent]:
    return build_events(entries, PrescatSource.name)


def assert_accounted(lines: list[str], entries: list[Entry]) -> None:
    assert sum(len(entry.lines) for entry in entries) == len(lines)
    assert [text for entry in entries for text in entry.lines] == lines
    for entry in entries:
        kinds = [bool(entry.drafts), entry.ignored is not None, entry.quarantined is not None]
        assert kinds.count(True) == 1, entry
        assert len(entry.drafts) <= 1


def one(lines: list[str]) -> DomainEvent:
    entries = feed(lines)
    assert_accounted(lines, entries)
    (event,) = build(entries)
    return event


def reasons(lines: list[str]) -> list[tuple[str | None, str | None]]:
    entries = feed(lines)
    assert_accounted(lines, entries)
    return [(entry.ignored, entry.quarantined) for entry in entries]


def link(kind: str, identifier: str) -> LinkedObject:
    return LinkedObject(kind=kind, identifier=identifier, role="source")


SR = link("storage_root", ROOT)
EP = link("endpoint", WEST)


# --- one example per result code and variant --------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One audit result line (without layout) and the event it must give."""

    check: str
    message: str
    code: str
    model: type[DomainEvent]
    premis: str | None
    outcome: str | None
    version: int | None
    links: tuple[LinkedObject, ...]
    area: str = ROOT
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        """The level the catalog logs the code at (the outcome must not depend on it)."""
        return {"success": "INFO", "warning": "WARN"}.get(self.outcome or "success", "ERROR")

    @property
    def result(self) -> str:
        return f"{self.check}({DRUID}, {self.area}) {self.message}"


CHECKSUM = "validate_checksums"
CATALOG = "check_catalog_version"
EXISTENCE = "check_existence"
REPLICATION = "ReplicationAudit"
INVALID_MOAB_QUOTED = (
    "Invalid Moab, validation errors: "
    "[\"Version directory name not in 'v00xx' format: original-v1\", "
    '"Missing directory: [\\"data\\", \\"manifests\\"] Version: v0002"]'
)
MOAB_ERRORS = (
    "Version directory name not in 'v00xx' format: original-v1",
    'Missing directory: ["data", "manifests"] Version: v0002',
)
DB_ERROR = "#<ActiveRecord::RecordInvalid: Validation failed: Version must be greater than 0>"

CASES: dict[str, Case] = {
    # fixity
    "MOAB_CHECKSUM_VALID": Case(
        CHECKSUM, "checksum(s) match", "MOAB_CHECKSUM_VALID",
        FixityChecked, "fix", "success", None, (SR,), fields={"file_path": None},
    ),
    "MOAB_FILE_CHECKSUM_MISMATCH": Case(
        CHECKSUM,
        f"checksums or size for {FILE} version 1 do not match entry in latest "
        "signatureCatalog.xml.",
        "MOAB_FILE_CHECKSUM_MISMATCH", FixityChecked, "fix", "fail", 1,
        (SR, link("file", FILE)), fields={"file_path": FILE},
    ),
    "MOAB_FILE_CHECKSUM_MISMATCH (old wording)": Case(
        CHECKSUM, f"checksums for {FILE} version 4 do not match.",
        "MOAB_FILE_CHECKSUM_MISMATCH", FixityChecked, "fix", "fail", 4,
        (SR, link("file", FILE)), fields={"file_path": FILE},
    ),
    "FILE_NOT_IN_MANIFEST": Case(
        CHECKSUM, f"Moab file {FILE} was not found in Moab manifest {MANIFEST}",
        "FILE_NOT_IN_MANIFEST", FixityChecked, "fix", "fail", 1,
        (SR, link("file", FILE), link("manifest", MANIFEST)), fields={"file_path": FILE},
    ),
    "FILE_NOT_IN_MOAB": Case(
        CHECKSUM, f"{SIGCAT} refers to file ({FILE}) not found in Moab",
        "FILE_NOT_IN_MOAB", FixityChecked, "fix", "fail", 1,
        (SR, link("file", FILE), link("manifest", SIGCAT)), fields={"file_path": FILE},
    ),
    "FILE_NOT_IN_SIGNATURE_CATALOG": Case(
        CHECKSUM, f"Moab file {FILE} was not found in Moab signature catalog {SIGCAT}",
        "FILE_NOT_IN_SIGNATURE_CATALOG", FixityChecked, "fix", "fail", 1,
        (SR, link("file", FILE), link("manifest", SIGCAT)), fields={"file_path": FILE},
    ),
    "SIGNATURE_CATALOG_NOT_IN_MOAB": Case(
        CHECKSUM, f"{SIGCAT} not found in Moab",
        "SIGNATURE_CATALOG_NOT_IN_MOAB", FixityChecked, "fix", "fail", 3,
        (SR, link("manifest", SIGCAT)), fields={"file_path": SIGCAT},
    ),
    "INVALID_MANIFEST": Case(
        CHECKSUM, f"unable to parse {MANIFEST} in Moab",
        "INVALID_MANIFEST", FixityChecked, "fix", "fail", 2,
        (SR, link("manifest", MANIFEST)), fields={"file_path": MANIFEST},
    ),
    "MANIFEST_NOT_IN_MOAB": Case(
        CHECKSUM, f"{MANIFEST} not found in Moab",
        "MANIFEST_NOT_IN_MOAB", FixityChecked, "fix", "fail", 2,
        (SR, link("manifest", MANIFEST)), fields={"file_path": MANIFEST},
    ),
    # validation
    "INVALID_MOAB": Case(
        CHECKSUM, INVALID_MOAB_QUOTED, "INVALID_MOAB",
        ObjectValidated, "val", "fail", None, (SR,), fields={"errors": MOAB_ERRORS},
    ),
    "INVALID_MOAB (unquoted, under check_existence)": Case(
        EXISTENCE,
        "Invalid Moab, validation errors: "
        "[Version directory name not in 'v00xx' format: original-v1]",
        "INVALID_MOAB", ObjectValidated, "val", "fail", None, (SR,),
        fields={"errors": (MOAB_ERRORS[0],)},
    ),
    "INVALID_MOAB (under create_after_validation)": Case(
        "create_after_validation", INVALID_MOAB_QUOTED, "INVALID_MOAB",
        ObjectValidated, "val", "fail", None, (SR,), fields={"errors": MOAB_ERRORS},
    ),
    # status
    "MOAB_RECORD_STATUS_CHANGED": Case(
        CHECKSUM, "MoabRecord status changed from ok to invalid_checksum",
        "MOAB_RECORD_STATUS_CHANGED", PreservationStatusChanged, None, None, None, (SR,),
        fields={"old_status": "ok", "new_status": "invalid_checksum"},
    ),
    "MOAB_RECORD_STATUS_CHANGED (CompleteMoab)": Case(
        CATALOG, "CompleteMoab status changed from validity_unknown to ok",
        "MOAB_RECORD_STATUS_CHANGED", PreservationStatusChanged, None, None, None, (SR,),
        fields={"old_status": "validity_unknown", "new_status": "ok"},
    ),
    # replication
    "ZIP_PART_CHECKSUM_FILE_MISMATCH": Case(
        "ZipPartsToZipFilesAudit",
        f"{KEY} catalog md5 ({MD5}) doesn't match the local zip file md5 ({OTHER_MD5})",
        "ZIP_PART_CHECKSUM_FILE_MISMATCH", ReplicaAudited, "fix", "fail", 2,
        (EP, link("zip_part", KEY)), area=WEST,
        fields={"endpoint": WEST, "zip_part": KEY, "storage_root": None},
    ),
    "ZIP_PART_CHECKSUM_MISMATCH": Case(
        REPLICATION,
        f"replicated md5 mismatch on {WEST}: {KEY} catalog md5 ({MD5}) doesn't match the "
        f"replicated md5 ({OTHER_MD5}) on {BUCKET}",
        "ZIP_PART_CHECKSUM_MISMATCH", ReplicaAudited, "fix", "fail", 2,
        (EP, link("zip_part", KEY)), area=WEST,
        fields={"endpoint": WEST, "zip_part": KEY, "storage_root": None},
    ),
    "ZIP_PART_NOT_FOUND": Case(
        REPLICATION, f"replicated part not found on {WEST}: {KEY} was not found on {BUCKET}",
        "ZIP_PART_NOT_FOUND", ReplicaAudited, "fix", "fail", 2,
        (EP, link("zip_part", KEY)), area=WEST,
        fields={"endpoint": WEST, "zip_part": KEY, "storage_root": None},
    ),
    "ZIP_PARTS_COUNT_DIFFERS_FROM_ACTUAL": Case(
        REPLICATION,
        f"2 on {WEST}: ZippedMoabVersion stated parts count (3) doesn't match actual number of "
        "zip parts rows (2)",
        "ZIP_PARTS_COUNT_DIFFERS_FROM_ACTUAL", ReplicaAudited, "val", "fail", 2, (EP,),
        area=WEST, fields={"endpoint": WEST, "zip_part": None, "storage_root": None},
    ),
    "ZIP_PARTS_SIZE_INCONSISTENCY": Case(
        REPLICATION,
        f"2 on {WEST}: Sum of ZippedMoabVersion child part sizes (1024) is less than what is in "
        "the Moab: 2048",
        "ZIP_PARTS_SIZE_INCONSISTENCY", ReplicaAudited, "val", "fail", 2, (EP,),
        area=WEST, fields={"endpoint": WEST},
    ),
    "ZIP_PARTS_NOT_ALL_REPLICATED": Case(
        REPLICATION, f"2 on {WEST}: not all ZippedMoabVersion parts are replicated yet",
        "ZIP_PARTS_NOT_ALL_REPLICATED", ReplicaAudited, "val", "warning", 2, (EP,),
        area=WEST, fields={"endpoint": WEST},
    ),
    "ZIP_PARTS_NOT_ALL_REPLICATED (with parts list)": Case(
        REPLICATION,
        f"2 on {WEST}: not all ZippedMoabVersion parts are replicated yet: "
        '[#<ZipPart id: 7, size: 1024, suffix: ".z01", status: "unreplicated">]',
        "ZIP_PARTS_NOT_ALL_REPLICATED", ReplicaAudited, "val", "warning", 2, (EP,),
        area=WEST, fields={"endpoint": WEST},
    ),
    "ZIP_PARTS_NOT_CREATED": Case(
        REPLICATION, "3 on gcp_s3_south_1: no zip_parts exist yet for this ZippedMoabVersion",
        "ZIP_PARTS_NOT_CREATED", ReplicaAudited, "val", "warning", 3,
        (link("endpoint", "gcp_s3_south_1"),), area="gcp_s3_south_1",
        fields={"endpoint": "gcp_s3_south_1"},
    ),
    "ZIP_PARTS_COUNT_INCONSISTENCY": Case(
        REPLICATION, f"2 on {WEST}: ZippedMoabVersion has variation in child parts_counts: [2, 3]",
        "ZIP_PARTS_COUNT_INCONSISTENCY", ReplicaAudited, "val", "fail", 2, (EP,),
        area=WEST, fields={"endpoint": WEST},
    ),
    # versions
    "VERSION_MATCHES": Case(
        CATALOG, "actual version (3) matches MoabRecord db version",
        "VERSION_MATCHES", VersionAudited, "val", "success", 3, (SR,),
        fields={"actual_version": 3, "db_version": 3},
    ),
    "ACTUAL_VERS_GT_DB_OBJ": Case(
        CATALOG, "actual version (3) greater than MoabRecord db version (2)",
        "ACTUAL_VERS_GT_DB_OBJ", VersionAudited, "val", "success", 3, (SR,),
        fields={"actual_version": 3, "db_version": 2},
    ),
    "ACTUAL_VERS_LT_DB_OBJ": Case(
        EXISTENCE, "actual version (2) less than PreservedObject db version (3); ERROR!",
        "ACTUAL_VERS_LT_DB_OBJ", VersionAudited, "val", "fail", 2, (SR,),
        fields={"actual_version": 2, "db_version": 3},
    ),
    "UNEXPECTED_VERSION": Case(
        CATALOG,
        "actual version (2) has unexpected relationship to MoabRecord db version (3); ERROR!",
        "UNEXPECTED_VERSION", VersionAudited, "val", "fail", 2, (SR,),
        fields={"actual_version": 2, "db_version": 3},
    ),
    "MOAB_NOT_FOUND": Case(
        CATALOG,
        "db MoabRecord (created 2025-01-02 03:04:05 UTC; last updated 2026-01-02 03:04:05 UTC) "
        "exists but Moab not found",
        "MOAB_NOT_FOUND", VersionAudited, "val", "fail", None, (SR,),
        fields={"actual_version": None, "db_version": None},
    ),
    "MOAB_NOT_FOUND (CompleteMoab)": Case(
        CATALOG,
        "db CompleteMoab (created 2019-01-02 03:04:05 UTC; last updated 2020-01-02 03:04:05 UTC) "
        "exists but Moab not found",
        "MOAB_NOT_FOUND", VersionAudited, "val", "fail", None, (SR,),
    ),
    # the catalog's own records: bookkeeping and database errors, whichever check
    "DB_VERSIONS_DISAGREE": Case(
        CATALOG, "MoabRecord version 2 does not match PreservedObject current_version 3",
        "DB_VERSIONS_DISAGREE", CatalogUpdated, None, "fail", None, (SR,),
    ),
    "DB_VERSIONS_DISAGREE (CompleteMoab)": Case(
        CATALOG,
        "CompleteMoab online Moab version 2 does not match PreservedObject current_version 3",
        "DB_VERSIONS_DISAGREE", CatalogUpdated, None, "fail", None, (SR,),
    ),
    "CREATED_NEW_OBJECT": Case(
        EXISTENCE, "added object to db as it did not exist",
        "CREATED_NEW_OBJECT", CatalogUpdated, None, "success", None, (SR,),
    ),
    "DB_OBJ_DOES_NOT_EXIST (validate_checksums)": Case(
        CHECKSUM, "PreservedObject db object does not exist",
        "DB_OBJ_DOES_NOT_EXIST", CatalogUpdated, None, "warning", None, (SR,),
    ),
    "DB_OBJ_DOES_NOT_EXIST (check_catalog_version)": Case(
        CATALOG, "MoabRecord db object does not exist",
        "DB_OBJ_DOES_NOT_EXIST", CatalogUpdated, None, "warning", None, (SR,),
    ),
    "DB_OBJ_ALREADY_EXISTS": Case(
        EXISTENCE, "MoabRecord db object already exists",
        "DB_OBJ_ALREADY_EXISTS", CatalogUpdated, None, "fail", None, (SR,),
    ),
    "DB_UPDATE_FAILED": Case(
        CATALOG, f"db update failed: {DB_ERROR}",
        "DB_UPDATE_FAILED", CatalogUpdated, None, "fail", None, (SR,),
    ),
    "INVALID_ARGUMENTS": Case(
        CHECKSUM, 'encountered validation error(s): ["Druid is invalid"]',
        "INVALID_ARGUMENTS", CatalogUpdated, None, "fail", None, (SR,),
    ),
    "INVALID_ARGUMENTS (ReplicationAudit: the argument is an endpoint)": Case(
        REPLICATION, 'encountered validation error(s): ["Druid is invalid"]',
        "INVALID_ARGUMENTS", CatalogUpdated, None, "fail", None, (EP,), area=WEST,
    ),
    "ZMV_BACKFILL (retired)": Case(
        "backfill", "backfilled the following ZippedMoabVersions: 1 on aws_s3_west_2",
        "ZMV_BACKFILL", CatalogUpdated, None, "warning", None, (SR,),
    ),
    # a check that did not run
    "UNABLE_TO_CHECK_STATUS": Case(
        CHECKSUM, "unable to validate when MoabRecord status is invalid_moab",
        "UNABLE_TO_CHECK_STATUS", AuditSkipped, None, "warning", None, (SR,),
    ),
    "UNABLE_TO_CHECK_STATUS (CompleteMoab, check_catalog_version)": Case(
        CATALOG, "unable to validate when CompleteMoab status is invalid_checksum",
        "UNABLE_TO_CHECK_STATUS", AuditSkipped, None, "warning", None, (SR,),
    ),
    # the catalog's own bookkeeping after ingest
    "CREATED_NEW_OBJECT (create)": Case(
        "create", "added object to db as it did not exist",
        "CREATED_NEW_OBJECT", CatalogUpdated, None, "success", None, (SR,),
    ),
    "ACTUAL_VERS_GT_DB_OBJ (update)": Case(
        "update", "actual version (3) greater than MoabRecord db version (2)",
        "ACTUAL_VERS_GT_DB_OBJ", CatalogUpdated, None, "success", 3, (SR,),
    ),
    "DB_UPDATE_FAILED (update_after_validation)": Case(
        "update_after_validation", f"db update failed: {DB_ERROR}",
        "DB_UPDATE_FAILED", CatalogUpdated, None, "fail", None, (SR,),
    ),
    "DB_OBJ_ALREADY_EXISTS (create_after_validation)": Case(
        "create_after_validation", "PreservedObject db object already exists",
        "DB_OBJ_ALREADY_EXISTS", CatalogUpdated, None, "fail", None, (SR,),
    ),
    "MOAB_RECORD_STATUS_CHANGED (update_after_validation)": Case(
        "update_after_validation", "MoabRecord status changed from validity_unknown to ok",
        "MOAB_RECORD_STATUS_CHANGED", PreservationStatusChanged, None, None, None, (SR,),
    ),
}  # fmt: skip

ALL_CODES = {
    "ACTUAL_VERS_GT_DB_OBJ", "ACTUAL_VERS_LT_DB_OBJ", "CREATED_NEW_OBJECT",
    "DB_OBJ_ALREADY_EXISTS", "DB_OBJ_DOES_NOT_EXIST", "DB_UPDATE_FAILED", "DB_VERSIONS_DISAGREE",
    "FILE_NOT_IN_MANIFEST", "FILE_NOT_IN_MOAB", "FILE_NOT_IN_SIGNATURE_CATALOG",
    "INVALID_ARGUMENTS", "INVALID_MANIFEST", "INVALID_MOAB", "MANIFEST_NOT_IN_MOAB",
    "MOAB_CHECKSUM_VALID", "MOAB_FILE_CHECKSUM_MISMATCH", "MOAB_NOT_FOUND",
    "MOAB_RECORD_STATUS_CHANGED", "SIGNATURE_CATALOG_NOT_IN_MOAB", "UNABLE_TO_CHECK_STATUS",
    "UNEXPECTED_VERSION", "VERSION_MATCHES", "ZIP_PART_CHECKSUM_FILE_MISMATCH",
    "ZIP_PART_CHECKSUM_MISMATCH", "ZIP_PART_NOT_FOUND", "ZIP_PARTS_COUNT_DIFFERS_FROM_ACTUAL",
    "ZIP_PARTS_SIZE_INCONSISTENCY", "ZIP_PARTS_NOT_ALL_REPLICATED", "ZIP_PARTS_NOT_CREATED",
}  # fmt: skip


def test_the_table_covers_every_documented_code() -> None:
    assert len(ALL_CODES) == 29
    assert {case.code for case in CASES.values()} >= ALL_CODES


LAYOUTS = {"ruby": ruby, "rails": rails}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", list(CASES))
def test_result_line(name: str, layout: str) -> None:
    case = CASES[name]
    event = one([LAYOUTS[layout](case.result, case.severity)])
    assert isinstance(event, case.model)
    assert type(event) is case.model
    assert event.result_code == case.code  # type: ignore[attr-defined]
    assert event.check == case.check  # type: ignore[attr-defined]
    assert event.premis_type == case.premis
    assert event.outcome == case.outcome
    assert event.version == case.version
    assert event.linked_objects == case.links
    assert event.object == f"druid:{DRUID}" and event.object_conforming
    assert event.agent.name == "preservation_catalog" and event.agent.kind == "software"
    assert event.detail is not None
    assert event.detail.startswith(f"{case.check}: {case.message}")
    on_endpoint = case.model is ReplicaAudited or case.check == REPLICATION
    expected_root = None if on_endpoint else case.area
    assert event.storage_root == expected_root  # type: ignore[attr-defined]
    for key, value in case.fields.items():
        assert getattr(event, key) == value, key
    # 22:14:05.123 in Los Angeles in March (PST, UTC-8).
    assert event.occurred_at.astimezone(UTC) == datetime(2026, 3, 2, 6, 14, 5, 123000, UTC) + (
        timedelta(microseconds=456) if layout == "ruby" else timedelta()
    )


@pytest.mark.parametrize("name", ["MOAB_CHECKSUM_VALID", "MOAB_FILE_CHECKSUM_MISMATCH"])
@pytest.mark.parametrize("severity", ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"])
def test_outcome_comes_from_the_code_not_from_the_logged_level(name: str, severity: str) -> None:
    case = CASES[name]
    assert one([ruby(case.result, severity)]).outcome == case.outcome


def test_catalog_catching_up_says_so_in_the_detail() -> None:
    event = one([ruby(CASES["ACTUAL_VERS_GT_DB_OBJ"].result)])
    assert event.detail is not None
    assert "catalog was behind" in event.detail and "updated" in event.detail


def test_recognise_names_every_code() -> None:
    for case in CASES.values():
        recognised = recognise(case.message)
        assert recognised is not None and recognised[0] == case.code, case.message


# --- time ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("2026-01-15T09:00:00.000001", datetime(2026, 1, 15, 17, 0, 0, 1, UTC)),  # PST
        ("2026-07-15T09:00:00.000000", datetime(2026, 7, 15, 16, 0, tzinfo=UTC)),  # PDT
        # The repeated hour when DST ends reads as its first occurrence (PDT).
        ("2026-11-01T01:30:00.000000", datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
        # The hour skipped when DST starts: read with the offset before the change (PST).
        ("2026-03-08T02:30:00.000000", datetime(2026, 3, 8, 10, 30, tzinfo=UTC)),
    ],
)
def test_zone_less_time_is_read_in_the_context_zone(local: str, utc: datetime) -> None:
    event = one([ruby(CASES["MOAB_CHECKSUM_VALID"].result, ts=local)])
    assert event.occurred_at.utcoffset() is not None
    assert event.occurred_at.astimezone(UTC) == utc
    assert event.occurred_at.replace(tzinfo=None) == datetime.fromisoformat(local)


def test_zone_less_time_in_another_configured_zone() -> None:
    entries = feed([ruby(CASES["MOAB_CHECKSUM_VALID"].result, ts=WINTER)], tz=UTC)
    (event,) = build(entries)
    assert event.occurred_at == datetime(2026, 3, 1, 22, 14, 5, 123456, UTC)


@pytest.mark.parametrize(
    ("ts", "utc"),
    [
        ("2026-07-02T10:01:02-07:00", datetime(2026, 7, 2, 17, 1, 2, tzinfo=UTC)),
        ("2026-07-02T10:01:02.5Z", datetime(2026, 7, 2, 10, 1, 2, 500000, UTC)),
        ("2026-07-02T10:01:02+0200", datetime(2026, 7, 2, 8, 1, 2, tzinfo=UTC)),
        ("2026-07-02 10:01:02 +0000", datetime(2026, 7, 2, 10, 1, 2, tzinfo=UTC)),
    ],
)
def test_rails_time_keeps_its_own_zone(ts: str, utc: datetime) -> None:
    event = one([rails(CASES["MOAB_CHECKSUM_VALID"].result, ts=ts)])
    assert event.occurred_at == utc
    assert event.occurred_at.utcoffset() == datetime.fromisoformat(ts).utcoffset()


def test_impossible_timestamp_is_quarantined() -> None:
    line = ruby(CASES["MOAB_CHECKSUM_VALID"].result, ts="2026-02-30T10:00:00.000000")
    assert reasons([line]) == [(None, "malformed timestamp")]


# --- layouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        # Rails without the request-id tag, and with ActiveJob's tags.
        f"[2026-03-01T22:14:05-08:00] [INFO] {CASES['MOAB_CHECKSUM_VALID'].result}",
        "[2026-03-01T22:14:05-08:00] [INFO] [ActiveJob] [Audit::ChecksumValidationJob] "
        f"[0f1e2d3c] {CASES['MOAB_CHECKSUM_VALID'].result}",
        # Ruby Logger with a progname.
        f"I, [{WINTER} #4711]  INFO -- Audit::Checksum: {CASES['MOAB_CHECKSUM_VALID'].result}",
    ],
)
def test_layout_variants(line: str) -> None:
    event = one([line])
    assert isinstance(event, FixityChecked) and event.outcome == "success"


def test_druid_prefixed_and_test_style_druids() -> None:
    prefixed = one([ruby(f"{CHECKSUM}(druid:{DRUID}, {ROOT}) checksum(s) match")])
    assert prefixed.object == f"druid:{DRUID}" and prefixed.object_conforming
    test_style = one([ruby(f"{CHECKSUM}(ab123cd4567, {ROOT}) checksum(s) match")])
    assert test_style.object == "druid:ab123cd4567"
    assert test_style.object_conforming is False


def test_empty_second_argument_gives_no_storage_root() -> None:
    event = one([rails(f"{EXISTENCE}({DRUID}, ) added object to db as it did not exist")])
    assert isinstance(event, CatalogUpdated)
    assert event.storage_root is None and event.linked_objects == ()


def test_the_endpoint_the_message_names_wins_over_the_argument() -> None:
    message = f"replicated part not found on aws_s3_east_1: {KEY} was not found on {BUCKET}"
    event = one([ruby(f"{REPLICATION}({DRUID}, {WEST}) {message}", "ERROR")])
    assert isinstance(event, ReplicaAudited)
    assert event.endpoint == "aws_s3_east_1"
    assert event.linked_objects == (link("endpoint", "aws_s3_east_1"), link("zip_part", KEY))


def test_a_catalog_error_under_a_replication_check_names_the_endpoint_not_a_storage_root() -> None:
    event = one([ruby(f"{REPLICATION}({DRUID}, {WEST}) encountered validation error(s): x")])
    assert isinstance(event, CatalogUpdated)
    assert (event.storage_root, event.premis_type, event.outcome) == (None, None, "fail")
    assert event.linked_objects == (EP,)


# --- continuation lines ----------------------------------------------------------------------


def test_invalid_moab_error_array_continues_over_lines() -> None:
    lines = [
        ruby(
            f"{CHECKSUM}({DRUID}, {ROOT}) Invalid Moab, validation errors: "
            '["Version v0001: No files present in content dir",',
            "ERROR",
        ),
        ' "Version v0003: Missing manifestInventory.xml",',
        " \"Version directory name not in 'v00xx' format: original-v1\"]",
        ruby(CASES["MOAB_CHECKSUM_VALID"].result),
    ]
    entries = feed(lines)
    assert_accounted(lines, entries)
    assert [len(entry.lines) for entry in entries] == [3, 1]
    invalid, ok = build(entries)
    assert isinstance(invalid, ObjectValidated)
    assert invalid.errors == (
        "Version v0001: No files present in content dir",
        "Version v0003: Missing manifestInventory.xml",
        "Version directory name not in 'v00xx' format: original-v1",
    )
    assert invalid.detail is not None and invalid.detail.endswith('original-v1"]')
    assert invalid.detail.count("\n") == 2
    assert isinstance(ok, FixityChecked)


def test_a_backtrace_belongs_to_the_result_before_it() -> None:
    lines = [
        ruby(f"{CATALOG}({DRUID}, {ROOT}) db update failed: {DB_ERROR}", "ERROR"),
        "/app/app/services/moab_record_service/check_version.rb:42:in `update'",
        "/app/app/services/moab_record_service/base.rb:12:in `execute'",
    ]
    event = one(lines)
    assert isinstance(event, CatalogUpdated) and event.result_code == "DB_UPDATE_FAILED"
    assert event.detail is not None and event.detail.endswith("in `execute'")


def test_noise_with_its_continuation_is_one_ignored_entry() -> None:
    lines = [
        rails("Error performing Audit::ChecksumValidationJob", "ERROR"),
        "NoMethodError: undefined method `name' for nil",
        "  /app/app/jobs/audit/checksum_validation_job.rb:9:in `perform'",
    ]
    assert reasons(lines) == [("not an audit result", None)]


def test_an_orphan_continuation_line_is_quarantined() -> None:
    assert reasons(["   from /app/app/models/moab_record.rb:3"]) == [(None, "not a prescat line")]


# --- ignored and quarantined -----------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        rails('Started GET "/v1/objects/druid:bj102hs9687/checksum" for 10.0.0.1 at 2026-03-01'),
        rails("Processing by ObjectsController#checksum as JSON"),
        rails("Completed 200 OK in 12ms (Views: 0.2ms | ActiveRecord: 3.1ms)"),
        rails(
            '  PreservedObject Load (0.5ms)  SELECT "preserved_objects".* FROM '
            '"preserved_objects" WHERE "preserved_objects"."druid" = $1',
            "DEBUG",
        ),
        rails("method=GET path=/v1/objects/druid:bj102hs9687 format=json status=200"),
        ruby("Audit::Checksum starting validate_disk on fixture_sr3"),
        ruby(f"⚠️ fixity check failed, investigate errors - validate_checksums - {DRUID}", "WARN"),
        ruby(""),
        f"I, [{WINTER} #4711]  INFO -- :",
    ],
)
def test_layout_lines_that_are_not_results_are_ignored(line: str) -> None:
    assert reasons([line]) == [("not an audit result", None)]


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (f"{CHECKSUM}({DRUID}, {ROOT}) checksums look fine to me", "unknown result message"),
        (f"{CHECKSUM}({DRUID}, {ROOT}) checksum(s) matched", "unknown result message"),
        (f"{CHECKSUM}({DRUID}, {ROOT}) ", "unknown result message"),
        (f"{CHECKSUM}({DRUID}, {ROOT})", "unknown result message"),
        (f"{CATALOG}({DRUID}, {ROOT}) actual version (3) matches", "unknown result message"),
        (f"{CATALOG}({DRUID}, {ROOT}) actual version (x) matches MoabRecord db version",
         "unknown result message"),
        (f"{REPLICATION}({DRUID}, {WEST}) 2 on {WEST}: something else entirely",
         "unknown result message"),
        (f"{CHECKSUM}({DRUID}, {ROOT}) MoabRecord status changed from ok",
         "unknown result message"),
        # Older wordings that are not documented are not guessed at.
        (f"{CATALOG}({DRUID}, {ROOT}) incoming version (3) matches PreservedCopy db version",
         "unknown result message"),
        (f"{CHECKSUM}(bj102hs968, {ROOT}) checksum(s) match", "malformed druid"),
        (f"{CHECKSUM}(, {ROOT}) checksum(s) match", "malformed druid"),
        (f"{CHECKSUM}(druid:BJ102HS96877, {ROOT}) checksum(s) match", "malformed druid"),
        (f"PreservedObjectHandler({DRUID}, 3, 1024, {ROOT}) checksum(s) match",
         "unknown audit arguments"),
    ],
)  # fmt: skip
def test_results_not_understood_are_quarantined(result: str, reason: str) -> None:
    assert reasons([ruby(result, "ERROR")]) == [(None, reason)]
    assert reasons([rails(result, "ERROR")]) == [(None, reason)]


def test_detect_is_true_only_for_the_layouts() -> None:
    assert PrescatSource.detect(ruby(CASES["MOAB_CHECKSUM_VALID"].result))
    assert PrescatSource.detect(rails("Started GET /"))
    assert not PrescatSource.detect("2026-02-01T09:00:00.000Z pid=12 tid=abc INFO: x")
    assert not PrescatSource.detect('{"druid": "druid:bj102hs9687"}')
    assert not PrescatSource.detect(CASES["MOAB_CHECKSUM_VALID"].result)


def test_auto_hands_both_layouts_to_prescat() -> None:
    lines = [ruby(CASES["MOAB_CHECKSUM_VALID"].result), rails(CASES["VERSION_MATCHES"].result)]
    source = AutoSource(SourceContext(tz=LA))
    entries = [entry for n, line in enumerate(lines, 1) for entry in source.feed(n, line)]
    entries += source.finish()
    assert [entry.source for entry in entries] == ["prescat", "prescat"]
    assert [type(event) for event in build(entries)] == [FixityChecked, VersionAudited]


# --- INVALID_MOAB error arrays ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ('["a", "b"]', ("a", "b")),
        ("[a, b]", ("a", "b")),
        (
            '["Missing directory: [\\"data\\", \\"manifests\\"] Version: v0001"]',
            ('Missing directory: ["data", "manifests"] Version: v0001',),
        ),
        (
            "[Missing directory: [data, manifests] Version: v0001]",
            ("Missing directory: [data, manifests] Version: v0001",),
        ),
        ('["a",\n "b"]', ("a", "b")),
        ("[a\nb]", ("a", "b")),
        ('["line\\nbreak", "tab\\there"]', ("line\nbreak", "tab\there")),
        ('["caf\\u00e9", "\\x41\\101\\e"]', ("café", "AA\x1b")),
        ('["\\ud800"]', ("\\ud800",)),
        ('["unterminated', ("unterminated",)),
        ("[", ()),
        ("[]", ()),
        ("", ()),
        ("plain text error", ("plain text error",)),
        ("[a] trailing", ("a",)),
    ],
)
def test_moab_errors(text: str, items: tuple[str, ...]) -> None:
    assert moab_errors(text) == items


# --- fuzzing ---------------------------------------------------------------------------------

VALID = [
    LAYOUTS[layout](case.result, case.severity) for case in CASES.values() for layout in LAYOUTS
]
CONTINUATIONS = [
    ' "Version v0003: Missing manifestInventory.xml"]',
    "/app/app/services/audit/checksum.rb:42:in `validate'",
    "",
]


def _mutate(line: str, position: int, edit: str, how: int) -> str:
    """Near misses: a valid line cut, with a character replaced, or with text inserted."""
    position %= len(line) + 1
    if how == 0:
        return line[:position]
    if how == 1:
        return line[:position] + edit + line[position + 1 :]
    return line[:position] + edit + line[position:]


_near_misses = st.builds(
    _mutate,
    st.sampled_from(VALID),
    st.integers(min_value=0),
    st.text(max_size=3),
    st.integers(min_value=0, max_value=2),
)
_audit_like = st.builds(
    lambda layout, check, druid, area, text: LAYOUTS[layout](f"{check}({druid},{area}) {text}"),
    st.sampled_from(sorted(LAYOUTS)),
    st.sampled_from([CHECKSUM, CATALOG, REPLICATION, "update", "x"]),
    st.sampled_from([DRUID, f"druid:{DRUID}", "ab123cd4567", "", "bj102"]),
    st.text(max_size=12),
    st.one_of(
        st.sampled_from([case.message for case in CASES.values()]),
        st.text(max_size=60),
        st.builds(lambda a, b: a + b, st.sampled_from([c.message for c in CASES.values()]),
                  st.text(max_size=10)),
    ),
)  # fmt: skip
_long = st.builds(lambda text, n: text * n, st.text(min_size=1, max_size=20), st.integers(0, 3000))
_any_line = st.one_of(
    st.sampled_from(VALID),
    st.sampled_from(CONTINUATIONS),
    _near_misses,
    _audit_like,
    st.text(max_size=200),
    _long,
    st.builds(lambda prefix, text: prefix + text, st.sampled_from(VALID), _long),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_any_line, max_size=25))
def test_any_sequence_of_lines_is_accounted_and_valid(lines: list[str]) -> None:
    entries = feed(lines)
    assert_accounted(lines, entries)
    for event in build(entries):
        assert event.occurred_at.tzinfo is not None
        assert event.object is not None and event.object.startswith("druid:")
        assert event.outcome in {"success", "fail", "warning", None}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_single_line_is_accounted(text: str) -> None:
    entries = feed([text])
    assert_accounted([text], entries)
    build(entries)


@pytest.mark.parametrize(
    "message",
    [
        " refers to file (" * 20_000,
        "a" * 300_000 + " refers to file (" + "b" * 300_000,
        "checksums or size for " + " version 1" * 30_000,
        "x db object already exists" * 20_000,
        "Invalid Moab, validation errors: [" + '"\\"' * 100_000,
        "1 on " + "a" * 300_000,
    ],
)
def test_very_long_adversarial_lines_stay_fast(message: str) -> None:
    line = ruby(f"{CHECKSUM}({DRUID}, {ROOT}) {message}", "ERROR")
    started = time.process_time()
    entries = feed([line, line[:-1]])
    assert time.process_time() - started < 2.0
    assert_accounted([line, line[:-1]], entries)
    build(entries)


def test_fixed_offset_context_zone() -> None:
    tz = timezone(timedelta(hours=1))
    (event,) = build(feed([ruby(CASES["MOAB_CHECKSUM_VALID"].result)], tz=tz))
    assert event.occurred_at.utcoffset() == timedelta(hours=1)


def test_the_ruby_logger_file_header_is_ignored_noise() -> None:
    from zoneinfo import ZoneInfo

    from provenance.sources.base import SourceContext
    from provenance.sources.prescat import PrescatSource

    source = PrescatSource(SourceContext(tz=ZoneInfo("UTC")))
    entries = source.feed(1, "# Logfile created on 2026-01-01 00:00:00 -0800 by logger.rb/v1.6.0")
    entries += source.finish()
    assert [(e.ignored, e.quarantined, e.drafts) for e in entries] == [
        ("logger file header", None, [])
    ]
