"""The reviewed result-code table: complete, applied by both sources that read catalog results,
and applied to stored version-1 results on read (schema 2).

The example lines are test_prescat's (built from the catalog's templates; none is captured).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import provenance.sources.prescat_messages as messages
from premis.vocabulary import EventType
from provenance.domain.events import (
    CURRENT_SCHEMA_VERSION,
    EVENT_TYPES,
    UPCASTERS,
    AuditResult,
    DomainEvent,
    dump_event,
    load_event,
    load_payload,
)
from provenance.domain.result_codes import (
    BOOKKEEPING_CHECKS,
    NOTIFIED_SUCCESS,
    RESULT_CODES,
    Meaning,
    markdown_table,
)
from provenance.sources.sdr_events import SdrEventsSource
from tests.sources.helpers import build_events, feed_source
from tests.sources.test_prescat import ALL_CODES, CASES, LA, ROOT, Case, one, ruby
from tests.sources.test_sdr_events import event_line

# Codes the catalog no longer logs but older logs hold.
RETIRED = {"ZIP_PARTS_COUNT_INCONSISTENCY", "ZMV_BACKFILL"}


def _code_constants() -> set[str]:
    return {
        value
        for name, value in vars(messages).items()
        if name.isupper() and isinstance(value, str) and value == name
    }


def test_the_table_covers_every_code_constant_and_every_documented_code() -> None:
    assert len(ALL_CODES) == 29
    assert set(RESULT_CODES) == _code_constants() == ALL_CODES | RETIRED
    assert {code for code, row in RESULT_CODES.items() if row.retired} == RETIRED


def test_the_readme_table_has_one_row_per_code_with_the_tables_meaning() -> None:
    rows = markdown_table().splitlines()[2:]
    assert len(rows) == len(RESULT_CODES)
    for line in rows:
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        row = RESULT_CODES[cells[0].removesuffix(" (retired)")]
        assert cells[1].startswith(row.meaning.event)
        assert cells[2].startswith(row.meaning.premis_type or "none")
        assert cells[3] == (row.meaning.outcome or "none")
        assert cells[4] == row.reason


@pytest.mark.parametrize("code", sorted(RESULT_CODES))
def test_every_row_states_a_one_line_reason_and_a_known_premis_type(code: str) -> None:
    row = RESULT_CODES[code]
    assert row.reason.strip() and "\n" not in row.reason and len(row.reason) <= 200
    for meaning in (row.meaning, row.bookkeeping):
        if meaning is not None and meaning.premis_type is not None:
            EventType.from_code(meaning.premis_type)
    # A PREMIS event has an outcome; a status change is not a check, so has neither.
    assert (row.meaning.premis_type is None) or row.meaning.outcome is not None


@pytest.mark.parametrize("code", sorted(RESULT_CODES))
def test_outcomes_follow_the_catalog_severity_but_for_the_stated_exceptions(code: str) -> None:
    expected = {"UNABLE_TO_CHECK_STATUS": "warning", "MOAB_RECORD_STATUS_CHANGED": None}
    assert RESULT_CODES[code].meaning.outcome == expected.get(code, messages.outcome_of(code))


def test_the_principles_of_the_review_hold_row_by_row() -> None:
    fixity = {code for code, row in RESULT_CODES.items() if row.meaning.premis_type == "fix"}
    assert fixity == {
        "MOAB_CHECKSUM_VALID", "MOAB_FILE_CHECKSUM_MISMATCH", "FILE_NOT_IN_MANIFEST",
        "FILE_NOT_IN_MOAB", "FILE_NOT_IN_SIGNATURE_CATALOG", "SIGNATURE_CATALOG_NOT_IN_MOAB",
        "INVALID_MANIFEST", "MANIFEST_NOT_IN_MOAB", "ZIP_PART_CHECKSUM_MISMATCH",
        "ZIP_PART_CHECKSUM_FILE_MISMATCH", "ZIP_PART_NOT_FOUND",
    }  # fmt: skip
    catalog = {code for code, row in RESULT_CODES.items() if row.meaning.event == "CatalogUpdated"}
    assert catalog == {
        "CREATED_NEW_OBJECT", "DB_OBJ_ALREADY_EXISTS", "DB_OBJ_DOES_NOT_EXIST",
        "DB_UPDATE_FAILED", "INVALID_ARGUMENTS", "DB_VERSIONS_DISAGREE", "ZMV_BACKFILL",
    }  # fmt: skip
    for code in catalog:
        assert RESULT_CODES[code].meaning.premis_type is None
    skipped = Meaning("AuditSkipped", None, "warning")
    assert RESULT_CODES["UNABLE_TO_CHECK_STATUS"].meaning == skipped
    # Under the catalog's create/update after ingest, nothing is a version audit.
    for row in RESULT_CODES.values():
        for check in BOOKKEEPING_CHECKS:
            assert row.under(check).event != "VersionAudited"


# --- the prescat source gives each row's meaning ---------------------------------------------


def _cases_of(code: str) -> list[Case]:
    return [case for case in CASES.values() if case.code == code]


def _assert_means(event: DomainEvent, expected: Meaning) -> None:
    assert type(event) is EVENT_TYPES[expected.event]
    assert (event.premis_type, event.outcome) == (expected.premis_type, expected.outcome)


@pytest.mark.parametrize("code", sorted(RESULT_CODES))
def test_a_line_of_each_code_gives_the_tables_meaning(code: str) -> None:
    cases = _cases_of(code)
    assert cases, f"no example line for {code}"
    for case in cases:
        # The line logged at the level the catalog logs it at, and at the others.
        for severity in ("INFO", "WARN", "ERROR"):
            event = one([ruby(case.result, severity)])
            _assert_means(event, RESULT_CODES[code].under(case.check))
            assert isinstance(event, AuditResult) and event.result_code == code


@pytest.mark.parametrize(
    "code", sorted(code for code, row in RESULT_CODES.items() if row.bookkeeping is not None)
)
@pytest.mark.parametrize("check", ["update", "update_version_after_validation"])
def test_a_code_that_depends_on_its_check_says_so_and_the_source_follows(
    code: str, check: str
) -> None:
    row = RESULT_CODES[code]
    assert row.bookkeeping is not None and row.bookkeeping != row.meaning
    assert "create/update" in row.reason
    assert "under create/update: CatalogUpdated" in markdown_table()
    case = _cases_of(code)[0]
    event = one([ruby(f"{check}(bj102hs9687, {ROOT}) {case.message}")])
    _assert_means(event, row.bookkeeping)


# --- the preservation-audit notifications agree with the table -------------------------------

AUDIT_HEAD = "(actual location: fixture_sr1; actual version: 6)"


def _notified(check_name: str, error: str) -> DomainEvent:
    data = {"storage_area": "fixture_sr1", "actual_version": 6, "check_name": check_name}
    line = event_line("preservation_audit_failure", {**data, "error": error})
    [event] = build_events(feed_source(SdrEventsSource, [line], LA, "dsa"), "sdr-events")
    return event


# The failures a run can notify: every case whose code is a failure or warning of a check.
NOTIFIABLE = {
    name: case
    for name, case in CASES.items()
    if case.outcome in ("fail", "warning") and case.code != "INVALID_MOAB"
}


@pytest.mark.parametrize("name", sorted(NOTIFIABLE))
def test_a_preservation_audit_failure_means_what_the_table_says_of_its_result(name: str) -> None:
    case = NOTIFIABLE[name]
    event = _notified("preservation-audit", f"{case.check} {AUDIT_HEAD} {case.message}")
    expected = RESULT_CODES[case.code].under(case.check)
    _assert_means(event, expected)
    assert isinstance(event, AuditResult)
    assert (event.result_code, event.check) == (case.code, case.check)


def test_moab_valid_is_the_invalid_moab_row_and_a_success_a_passed_validation() -> None:
    error = f"validate_checksums {AUDIT_HEAD} || Invalid Moab, validation errors: [x]"
    failed = _notified("moab-valid", error)
    _assert_means(failed, RESULT_CODES["INVALID_MOAB"].meaning)
    data = {"storage_area": "fixture_sr1", "check_name": "moab-valid"}
    line = event_line("preservation_audit_success", data)
    [passed] = build_events(feed_source(SdrEventsSource, [line], LA, "dsa"), "sdr-events")
    _assert_means(passed, NOTIFIED_SUCCESS)


def test_in_a_run_of_several_results_the_first_that_is_a_premis_event_decides() -> None:
    mismatch = CASES["MOAB_FILE_CHECKSUM_MISMATCH"].message
    skipped = CASES["UNABLE_TO_CHECK_STATUS"].message
    event = _notified(
        "preservation-audit", f"validate_checksums {AUDIT_HEAD} {skipped} && {mismatch}"
    )
    _assert_means(event, RESULT_CODES["MOAB_FILE_CHECKSUM_MISMATCH"].meaning)
    only_skipped = _notified("preservation-audit", f"validate_checksums {AUDIT_HEAD} {skipped}")
    _assert_means(only_skipped, Meaning("AuditSkipped", None, "warning"))


# --- schema 2: stored version-1 results read back with the table's meaning --------------------

# What the first-draft mapping (schema 1) made of the cases whose meaning the table changed:
# (model, PREMIS type, outcome, the fields that model had).
OLD: dict[str, tuple[str, str | None, str | None, dict[str, Any]]] = {
    "ZIP_PARTS_COUNT_DIFFERS_FROM_ACTUAL": ("ReplicaAudited", "fix", "fail", {}),
    "ZIP_PARTS_SIZE_INCONSISTENCY": ("ReplicaAudited", "fix", "fail", {}),
    "ZIP_PARTS_NOT_ALL_REPLICATED": ("ReplicaAudited", "fix", "warning", {}),
    "ZIP_PARTS_NOT_ALL_REPLICATED (with parts list)": ("ReplicaAudited", "fix", "warning", {}),
    "ZIP_PARTS_NOT_CREATED": ("ReplicaAudited", "fix", "warning", {}),
    "ZIP_PARTS_COUNT_INCONSISTENCY": ("ReplicaAudited", "fix", "fail", {}),
    "DB_VERSIONS_DISAGREE": (
        "VersionAudited", "val", "fail", {"actual_version": None, "db_version": 3},
    ),
    "DB_VERSIONS_DISAGREE (CompleteMoab)": (
        "VersionAudited", "val", "fail", {"actual_version": None, "db_version": 3},
    ),
    "CREATED_NEW_OBJECT": (
        "VersionAudited", "val", "success", {"actual_version": None, "db_version": None},
    ),
    "DB_OBJ_DOES_NOT_EXIST (validate_checksums)": (
        "FixityChecked", "fix", "warning", {"file_path": None},
    ),
    "DB_OBJ_DOES_NOT_EXIST (check_catalog_version)": (
        "VersionAudited", "val", "warning", {"actual_version": None, "db_version": None},
    ),
    "DB_OBJ_ALREADY_EXISTS": (
        "VersionAudited", "val", "fail", {"actual_version": None, "db_version": None},
    ),
    "DB_UPDATE_FAILED": (
        "VersionAudited", "val", "fail", {"actual_version": None, "db_version": None},
    ),
    "INVALID_ARGUMENTS": ("FixityChecked", "fix", "fail", {"file_path": None}),
    "INVALID_ARGUMENTS (ReplicationAudit: the argument is an endpoint)": (
        "ReplicaAudited", "fix", "fail", {"endpoint": "aws_s3_west_2", "zip_part": None},
    ),
    "UNABLE_TO_CHECK_STATUS": ("FixityChecked", "fix", "fail", {"file_path": None}),
    "UNABLE_TO_CHECK_STATUS (CompleteMoab, check_catalog_version)": (
        "VersionAudited", "val", "fail", {"actual_version": None, "db_version": None},
    ),
}  # fmt: skip


def _as_v1(event: DomainEvent, model: str, premis: str | None, outcome: str | None,
           fields: dict[str, Any]) -> bytes:  # fmt: skip
    """The payload schema 1 stored for the line `event` was read from."""
    data = json.loads(dump_event(event))
    new_only = set(type(event).model_fields) - set(EVENT_TYPES[model].model_fields)
    for name in new_only:
        del data[name]
    data.update(fields, schema_version=1, type=model, premis_type=premis, outcome=outcome)
    return json.dumps(data).encode()


def test_every_case_listed_as_changed_did_change() -> None:
    for name, (model, premis, outcome, _) in OLD.items():
        case = CASES[name]
        assert (model, premis, outcome) != (case.model.__name__, case.premis, case.outcome)


@pytest.mark.parametrize("name", sorted(OLD))
def test_a_stored_v1_prescat_result_reads_back_with_the_tables_meaning(name: str) -> None:
    case = CASES[name]
    fresh = one([ruby(case.result, case.severity)])
    old_model, premis, outcome, fields = OLD[name]
    v1 = _as_v1(fresh, old_model, premis, outcome, fields)
    assert json.loads(v1)["schema_version"] == 1
    upcast = load_event(v1)
    assert upcast == fresh
    assert load_payload(v1) == load_payload(dump_event(fresh))


@pytest.mark.parametrize(
    "name", ["UNABLE_TO_CHECK_STATUS", "DB_VERSIONS_DISAGREE", "MOAB_FILE_CHECKSUM_MISMATCH"]
)
def test_a_stored_v1_preservation_audit_failure_keeps_the_meaning_it_was_stored_with(
    name: str,
) -> None:
    # Its result codes are in its message text, which only the sources read (the domain,
    # where stored payloads are upcast, is below them): the catalog's own log line of the
    # same run carries the table's meaning.
    case = CASES[name]
    fresh = _notified("preservation-audit", f"{case.check} {AUDIT_HEAD} {case.message}")
    old_model = "FixityChecked" if case.check == "validate_checksums" else "VersionAudited"
    old_premis = "fix" if old_model == "FixityChecked" else "val"
    fields = {"file_path": None} if old_model == "FixityChecked" else {"actual_version": 6}
    v1 = json.loads(_as_v1(fresh, old_model, old_premis, "fail", fields))
    v1.update(result_code=None, storage_root="fixture_sr1")
    upcast = load_payload(json.dumps(v1).encode())
    assert upcast == {**v1, "schema_version": 2}


def test_a_v1_payload_of_any_other_type_is_upcast_unchanged() -> None:
    from tests.samples import OBJECT_LOG

    assert CURRENT_SCHEMA_VERSION == 2
    assert {name for name, _ in UPCASTERS} == set(EVENT_TYPES)
    from eventstore.sqlite import SQLiteEventStore
    from tests.conftest import ingest_bytes

    with SQLiteEventStore(":memory:") as store:
        ingest_bytes(store, OBJECT_LOG.encode())
        records = list(store.read_all())
    assert {json.loads(record.payload)["schema_version"] for record in records} == {2}
    for record in records:
        current = load_payload(record.payload)
        data = json.loads(record.payload)
        data["schema_version"] = 1
        assert load_payload(json.dumps(data).encode()) == current


# --- state: a skipped check is open until that check runs ------------------------------------


@pytest.mark.parametrize(
    ("check", "passed"),
    [
        ("validate_checksums", "checksum(s) match"),
        ("check_catalog_version", "actual version (2) matches MoabRecord db version"),
        ("check_existence", "actual version (2) matches PreservedObject db version"),
    ],
)
def test_a_skipped_check_is_an_open_warning_until_that_check_passes(
    store: Any, check: str, passed: str
) -> None:
    from provenance.projections.object_state import get_state, open_failures
    from tests.conftest import ingest_bytes

    skipped = ruby(
        f"{check}(bj102hs9687, {ROOT}) unable to validate when MoabRecord status is invalid_moab",
        "ERROR",
        ts="2026-03-01T10:00:00.000000",
    )
    ingest_bytes(store, f"{skipped}\n".encode(), source="prescat")
    state = get_state(store, "druid:bj102hs9687")
    assert state is not None
    [open_one] = open_failures(state)
    assert (open_one["outcome"], open_one["result_code"]) == ("warning", "UNABLE_TO_CHECK_STATUS")
    assert state["events_by_type"] == {"AuditSkipped": 1}

    later = ruby(f"{check}(bj102hs9687, {ROOT}) {passed}", ts="2026-03-02T10:00:00.000000")
    ingest_bytes(store, f"{later}\n".encode(), source="prescat", name="later.log")
    state = get_state(store, "druid:bj102hs9687")
    assert state is not None and open_failures(state) == []


def test_the_readme_shows_the_table_as_the_code_has_it() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert markdown_table().rstrip("\n") in readme
