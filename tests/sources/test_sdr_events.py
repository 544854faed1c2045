"""The `sdr-events` source: JSON lines of repository object events -> domain events.

Example events follow the shapes preservation_catalog and dor-services-app send
(reference/sdr-logs.md, section 3); none is a captured production event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.domain.events import (
    DomainEvent,
    FixityChecked,
    LinkedObject,
    ObjectValidated,
    ReplicationCompleted,
    RepositoryEventRecorded,
    VersionAudited,
    ZipPart,
)
from provenance.sources.base import Entry
from provenance.sources.sdr_events import SdrEventsSource
from tests.sources.helpers import build_events, feed_source

LA = ZoneInfo("America/Los_Angeles")
HOST = "preservation-catalog-prod-04.stanford.edu"
CREATED = "2026-02-01T10:00:00.123Z"


def event_line(
    event_type: str,
    data: dict[str, Any] | None = None,
    *,
    druid: Any = "druid:bj102hs9687",
    created_at: Any = CREATED,
) -> str:
    record: dict[str, Any] = {"druid": druid, "event_type": event_type}
    record["data"] = {"host": HOST, "invoked_by": "preservation-catalog", **(data or {})}
    if created_at is not None:
        record["created_at"] = created_at
    return json.dumps(record)


def feed(lines: list[str], tz: Any = LA) -> list[Entry]:
    return feed_source(SdrEventsSource, lines, tz, "dsa")


def build(entries: list[Entry]) -> list[DomainEvent]:
    return build_events(entries, SdrEventsSource.name)


def one(text: str) -> DomainEvent:
    [event] = build(feed([text]))
    return event


def assert_accounted(lines: list[str], entries: list[Entry]) -> None:
    assert [text for entry in entries for text in entry.lines] == lines
    for entry in entries:
        kinds = [bool(entry.drafts), entry.ignored is not None, entry.quarantined is not None]
        assert kinds.count(True) == 1, entry


# --- druid_version_replicated -----------------------------------------------------------------

PARTS = [
    {"s3_key": "bj/102/hs/9687/bj102hs9687.v0003.zip", "size": 10737418240, "md5": "0" * 32},
    {"s3_key": "bj/102/hs/9687/bj102hs9687.v0003.z01", "size": 2048, "md5": "1" * 32},
]


def test_replication_completed() -> None:
    data = {"version": 3, "endpoint_name": "aws_s3_west_2", "parts_info": PARTS}
    event = one(event_line("druid_version_replicated", data))
    assert isinstance(event, ReplicationCompleted)
    assert (event.object, event.version, event.endpoint) == (
        "druid:bj102hs9687",
        3,
        "aws_s3_west_2",
    )
    assert (event.premis_type, event.outcome) == ("rep", "success")
    assert event.parts == tuple(ZipPart(**part) for part in PARTS)
    assert event.linked_objects == (
        LinkedObject(kind="endpoint", identifier="aws_s3_west_2", role="outcome"),
        LinkedObject(kind="zip_part", identifier=PARTS[0]["s3_key"], role="outcome"),
        LinkedObject(kind="zip_part", identifier=PARTS[1]["s3_key"], role="outcome"),
    )
    assert event.agent.name == "preservation-catalog"
    assert event.agent.kind == "software"
    assert event.agent.host == HOST
    assert event.occurred_at == datetime(2026, 2, 1, 10, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"version": 1}, "replication without endpoint_name"),
        ({"version": 1, "endpoint_name": ""}, "replication without endpoint_name"),
        ({"endpoint_name": "aws_s3_west_2", "parts_info": "x"}, "malformed parts_info"),
        ({"endpoint_name": "aws_s3_west_2", "parts_info": [1]}, "malformed parts_info"),
        ({"endpoint_name": "aws_s3_west_2", "parts_info": [{"size": 1}]}, "malformed parts_info"),
        (
            {"endpoint_name": "e", "parts_info": [{"s3_key": "k", "size": -1}]},
            "malformed parts_info",
        ),
        ({"endpoint_name": "e", "parts_info": [{"s3_key": "k", "md5": 5}]}, "malformed parts_info"),
    ],
)
def test_malformed_replication_is_quarantined(data: dict[str, Any], reason: str) -> None:
    [entry] = feed([event_line("druid_version_replicated", data)])
    assert entry.quarantined == reason


def test_replication_version_as_string_and_no_parts() -> None:
    event = one(event_line("druid_version_replicated", {"version": "2", "endpoint_name": "e"}))
    assert isinstance(event, ReplicationCompleted)
    assert event.version == 2
    assert event.parts == ()


# --- preservation audits ----------------------------------------------------------------------


def audit_failure(check_name: str, error: str, **more: Any) -> str:
    data = {"storage_area": "fixture_sr1", "actual_version": 6, "check_name": check_name}
    return event_line("preservation_audit_failure", {**data, "error": error, **more})


@pytest.mark.parametrize(
    ("error", "model", "premis", "check"),
    [
        (
            "validate_checksums (actual location: fixture_sr1; actual version: 6) checksums or "
            "size for /fixture_sr1/sdr2objects/bj/102/hs/9687/bj102hs9687/v0001/manifests/"
            "signatureCatalog.xml version 1 do not match entry in latest signatureCatalog.xml. && "
            "/fixture_sr1/.../manifestInventory.xml not found in Moab",
            FixityChecked,
            "fix",
            "validate_checksums",
        ),
        (
            "check_catalog_version (actual location: fixture_sr1; actual version: 6) actual "
            "version (6) less than MoabRecord db version (7); ERROR!",
            VersionAudited,
            "val",
            "check_catalog_version",
        ),
        (
            "check_existence (actual location: fixture_sr1; actual version: 6) db MoabRecord "
            "(created 2026-01-01T00:00:00Z; last updated 2026-01-02T00:00:00Z) exists but Moab "
            "not found",
            VersionAudited,
            "val",
            "check_existence",
        ),
        ("something unparseable", VersionAudited, "val", "preservation-audit"),
    ],
)
def test_preservation_audit_failure(
    error: str, model: type[DomainEvent], premis: str, check: str
) -> None:
    event = one(audit_failure("preservation-audit", error))
    assert isinstance(event, model)
    assert isinstance(event, FixityChecked | VersionAudited)
    assert (event.premis_type, event.outcome, event.check) == (premis, "fail", check)
    assert event.storage_root == "fixture_sr1"
    assert event.version == 6
    assert event.detail == error
    if isinstance(event, VersionAudited):
        assert event.actual_version == 6


def test_audit_location_and_version_come_from_the_message_when_data_lacks_them() -> None:
    error = "validate_checksums (actual location: services-disk02; actual version: 4) x"
    data = {"check_name": "preservation-audit", "error": error}
    event = one(event_line("preservation_audit_failure", data))
    assert isinstance(event, FixityChecked)
    assert (event.storage_root, event.version) == ("services-disk02", 4)


def test_older_events_name_the_storage_root_field() -> None:
    data = {"storage_root": "fixture_sr2", "check_name": "preservation-audit", "error": "x"}
    event = one(event_line("preservation_audit_failure", data))
    assert isinstance(event, VersionAudited)
    assert event.storage_root == "fixture_sr2"
    assert event.version is None


@pytest.mark.parametrize(
    ("error", "errors"),
    [
        (
            "validate_checksums (actual location: fixture_sr1; actual version: 6) || Invalid Moab, "
            "validation errors: [Version directory name not in 'v00xx' format: original-v1]",
            ("Version directory name not in 'v00xx' format: original-v1",),
        ),
        (
            "check_catalog_version (actual location: fixture_sr1; ) || Invalid Moab, validation "
            'errors: ["Missing directory: [\\"data\\"] Version: v0001", "v0002 is missing"]',
            ('Missing directory: [\\"data\\"] Version: v0001', "v0002 is missing"),
        ),
        ("", ()),
    ],
)
def test_moab_valid_failure(error: str, errors: tuple[str, ...]) -> None:
    event = one(audit_failure("moab-valid", error))
    assert isinstance(event, ObjectValidated)
    assert (event.premis_type, event.outcome, event.check) == ("val", "fail", "moab-valid")
    assert event.result_code == "INVALID_MOAB"
    assert event.storage_root == "fixture_sr1"
    assert event.errors == tuple(e.replace('\\"', '"') for e in errors)


def test_unknown_check_name_is_still_a_failed_validation() -> None:
    event = one(audit_failure("new-check", "a && b"))
    assert isinstance(event, ObjectValidated)
    assert (event.check, event.outcome, event.errors) == ("new-check", "fail", ("a", "b"))


@pytest.mark.parametrize("check_name", ["moab-valid", "preservation-audit"])
def test_preservation_audit_success(check_name: str) -> None:
    data = {"storage_area": "fixture_sr1", "actual_version": 2, "check_name": check_name}
    event = one(event_line("preservation_audit_success", data))
    assert isinstance(event, ObjectValidated)
    assert (event.premis_type, event.outcome, event.check) == ("val", "success", check_name)
    assert (event.storage_root, event.version) == ("fixture_sr1", 2)


# --- other repository events ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "premis", "outcome"),
    [
        ("registration", "cre", None),
        ("update", "mem", None),
        ("publishing_complete", "dis", None),
        ("shelving_complete", "dis", None),
        ("delete", "del", None),
        ("embargo_released", "poa", None),
        ("version_open", None, None),
        ("version_close", None, None),
        ("accession_request", None, None),
        ("cleanup-workspace", None, None),
        ("indexing_success", None, "success"),
        ("indexing_errored", None, "fail"),
        ("ocr_success", None, "success"),
        ("ocr_errored", None, "fail"),
        ("stt-create-success", None, "success"),
        ("stt-create-error", None, "fail"),
        ("some_future_type", None, None),
    ],
)
def test_repository_events(event_type: str, premis: str | None, outcome: str | None) -> None:
    data = {"invoked_by": "argo", "version": 3, "who": "jdoe", "nested": {"a": [1, 2.5, None]}}
    event = one(event_line(event_type, data))
    assert isinstance(event, RepositoryEventRecorded)
    assert (event.event_type, event.premis_type, event.outcome) == (event_type, premis, outcome)
    assert event.data == {"host": HOST, **data}
    assert event.version == 3
    assert event.agent.name == "argo"
    assert event.detail == event_type


def test_error_text_goes_into_the_detail() -> None:
    event = one(event_line("indexing_errored", {"message": "Solr timed out"}))
    assert event.detail == "indexing_errored: Solr timed out"


@pytest.mark.parametrize(
    ("data", "name", "host"),
    [
        ({"invoked_by": None}, "unknown", HOST),
        ({"invoked_by": "", "host": ""}, "unknown", None),
        ({"invoked_by": 5, "host": ["x"]}, "unknown", None),
    ],
)
def test_agent_without_a_name(data: dict[str, Any], name: str, host: str | None) -> None:
    event = one(event_line("update", data))
    assert (event.agent.name, event.agent.host) == (name, host)


@pytest.mark.parametrize(
    ("druid", "expected", "conforming"),
    [
        ("druid:bj102hs9687", "druid:bj102hs9687", True),
        ("bj102hs9687", "druid:bj102hs9687", True),
        ("DRUID:BJ102HS9687", "druid:bj102hs9687", True),
        ("ab123cd4567", "druid:ab123cd4567", False),
    ],
)
def test_druid_forms(druid: str, expected: str, conforming: bool) -> None:
    event = one(event_line("update", druid=druid))
    assert (event.object, event.object_conforming) == (expected, conforming)


# --- time -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2026-02-01T10:00:00Z", datetime(2026, 2, 1, 10, tzinfo=UTC)),
        ("2026-02-01T10:00:00.5-08:00", datetime(2026, 2, 1, 18, 0, 0, 500000, tzinfo=UTC)),
        ("2026-02-01 10:00:00 UTC", datetime(2026, 2, 1, 10, tzinfo=UTC)),
        # zone-less: local to the configured zone, DST included
        ("2026-01-15T12:00:00", datetime(2026, 1, 15, 20, tzinfo=UTC)),
        ("2026-07-15T12:00:00", datetime(2026, 7, 15, 19, tzinfo=UTC)),
    ],
)
def test_created_at(created_at: str, expected: datetime) -> None:
    assert one(event_line("update", created_at=created_at)).occurred_at == expected


def test_offset_is_kept() -> None:
    [entry] = feed([event_line("update", created_at="2026-02-01T10:00:00+05:30")])
    offset = entry.drafts[0].fields["occurred_at"].utcoffset()
    assert offset == timezone(timedelta(hours=5, minutes=30)).utcoffset(None)


def test_missing_created_at_falls_back_to_the_data() -> None:
    text = event_line("update", {"timestamp": "2026-02-01T10:00:00Z"}, created_at=None)
    assert one(text).occurred_at == datetime(2026, 2, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("created_at", "reason"),
    [
        (None, "no created_at"),
        ("yesterday", "malformed created_at"),
        ("2026-02-30T10:00:00Z", "malformed created_at"),
        (1767261600, "malformed created_at"),
    ],
)
def test_unusable_created_at_is_quarantined(created_at: Any, reason: str) -> None:
    [entry] = feed([event_line("update", created_at=created_at)])
    assert entry.quarantined == reason


# --- what is not an event ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"druid": "druid:bj102hs9687", "event_type": "update"', "malformed JSON"),
        ("not json at all", "malformed JSON"),
        (
            '{"druid": "druid:bj102hs9687", "event_type": "update", "data": {"x": NaN}}',
            "malformed JSON",
        ),
        (
            '{"druid": "druid:bj102hs9687", "event_type": "update", "data": {"x": 1e400}}',
            "malformed JSON",
        ),
        (event_line("update", {"x": "\ud800"}), "malformed JSON"),
        ('["druid:bj102hs9687", "update"]', "not a JSON object"),
        ('"druid:bj102hs9687"', "not a JSON object"),
        (event_line("update", druid=None), "missing druid"),
        (event_line("update", druid=12), "missing druid"),
        (event_line("update", druid=" "), "missing druid"),
        (event_line("update", druid="druid:bj102hs968"), "malformed druid"),
        (event_line("update", druid="druid:bj102hs9687 extra"), "malformed druid"),
        (
            '{"druid": "bj102hs9687", "data": {}, "created_at": "2026-02-01T10:00:00Z"}',
            "missing event_type",
        ),
        (event_line(""), "missing event_type"),
        (event_line("two words"), "malformed event_type"),
        (
            '{"druid": "bj102hs9687", "event_type": "update", "data": [1], '
            '"created_at": "2026-02-01T10:00:00Z"}',
            "malformed data",
        ),
        (event_line("update", {"deep": json.loads("[" * 80 + "]" * 80)}), "JSON nested too deeply"),
    ],
)
def test_quarantined(text: str, reason: str) -> None:
    [entry] = feed([text])
    assert entry.quarantined == reason


def test_missing_data_is_an_empty_object() -> None:
    text = '{"druid": "bj102hs9687", "event_type": "version_open", "created_at": "2026-02-01"}'
    event = one(text)
    assert isinstance(event, RepositoryEventRecorded)
    assert event.data == {}
    assert event.agent.name == "unknown"


def test_a_valid_surrogate_pair_is_fine() -> None:
    event = one(
        event_line("update", {"title": "\U0001f600"}).replace("\U0001f600", "\\ud83d\\ude00")
    )
    assert isinstance(event, RepositoryEventRecorded)
    assert event.data["title"] == "\U0001f600"


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_blank_lines_are_ignored(text: str) -> None:
    [entry] = feed([text])
    assert entry.ignored == "blank line"


def test_byte_order_mark_and_surrounding_space_are_tolerated() -> None:
    assert isinstance(one("\ufeff" + event_line("update") + "  "), RepositoryEventRecorded)


def test_detect() -> None:
    assert SdrEventsSource.detect(event_line("update"))
    assert SdrEventsSource.detect('  {"druid"')
    assert not SdrEventsSource.detect("2026-02-01T09:00:00.000Z pid=1 tid=a INFO: start")
    assert not SdrEventsSource.detect("")


def test_each_line_is_its_own_entry() -> None:
    lines = [event_line("update"), "", "garbage", event_line("registration")]
    entries = feed(lines)
    assert [entry.line_no for entry in entries] == [1, 2, 3, 4]
    assert_accounted(lines, entries)


# --- fuzzing ----------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_event_types = st.sampled_from(
    [
        "druid_version_replicated",
        "preservation_audit_failure",
        "preservation_audit_success",
        "registration",
        "indexing_errored",
        "x",
    ]
) | st.text(max_size=12)
_data = st.fixed_dictionaries(
    {},
    optional={
        "host": _json_values,
        "invoked_by": _json_values,
        "version": st.integers() | st.text(max_size=4),
        "actual_version": st.integers() | st.text(max_size=4),
        "endpoint_name": st.text(max_size=10) | _json_values,
        "parts_info": st.lists(
            st.fixed_dictionaries(
                {"s3_key": st.text(max_size=10)},
                optional={"size": st.integers() | st.text(max_size=5), "md5": _json_values},
            ),
            max_size=3,
        )
        | _json_values,
        "check_name": st.sampled_from(["moab-valid", "preservation-audit"]) | _json_values,
        "error": st.text(max_size=80)
        | st.builds(
            lambda audit, rest: f"{audit} (actual location: sr1; actual version: 2) {rest}",
            st.sampled_from(["validate_checksums", "check_existence"]),
            st.text(max_size=40),
        ),
        "storage_area": _json_values,
        "timestamp": st.text(max_size=25),
        "extra": _json_values,
    },
)
_events = st.fixed_dictionaries(
    {},
    optional={
        "druid": st.sampled_from(["druid:bj102hs9687", "ab123cd4567", "bj102hs968"]) | _json_values,
        "event_type": _event_types | _json_values,
        "data": _data | _json_values,
        "created_at": st.sampled_from(["2026-02-01T10:00:00Z", "2026-02-01T10:00:00", "x"])
        | _json_values,
    },
).map(json.dumps)
_any_line = st.one_of(
    _events,
    st.text(max_size=200),
    st.builds(lambda s: "{" + s, st.text(max_size=100)),
    _json_values.map(json.dumps),
    st.text(min_size=5_000, max_size=20_000, alphabet=st.characters(codec="utf-8")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_any_line, max_size=20))
def test_any_sequence_of_lines_is_accounted_and_valid(lines: list[str]) -> None:
    entries = feed(lines)
    assert_accounted(lines, entries)
    build(entries)


@settings(max_examples=300, deadline=None)
@given(_events)
def test_any_event_shaped_object_is_accounted_and_valid(text: str) -> None:
    entries = feed([text], tz=UTC)
    assert_accounted([text], entries)
    build(entries)


# --- versions ---------------------------------------------------------------------------------

VERSIONED = [
    ("druid_version_replicated", "version", {"endpoint_name": "aws_s3_west_2"}),
    ("version_close", "version", {}),
    ("preservation_audit_failure", "actual_version", {"check_name": "moab-valid"}),
    ("preservation_audit_success", "actual_version", {"check_name": "moab-valid"}),
]


@pytest.mark.parametrize(("event_type", "field", "data"), VERSIONED)
@pytest.mark.parametrize(
    ("value", "version"),
    [(1, 1), (0, 0), (2**31 - 1, 2**31 - 1), ("3", 3), ("0003", 3), ("", None), (None, None)],
)
def test_a_version_is_a_whole_number_or_its_digits(
    event_type: str, field: str, data: dict[str, Any], value: Any, version: int | None
) -> None:
    event = one(event_line(event_type, {**data, field: value}))
    assert event.version == version


@pytest.mark.parametrize(("event_type", "field", "data"), VERSIONED)
@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("1e23", "malformed"),
        ("1.5", "malformed"),
        ("3.0", "malformed"),
        ("-1", "out of range"),
        ("true", "malformed"),
        ("false", "malformed"),
        ('"v2"', "malformed"),
        ('" 3"', "malformed"),
        ('"1e3"', "malformed"),
        ('"-1"', "malformed"),
        ('"\\uff13"', "malformed"),  # a fullwidth digit: not ASCII
        ("[1]", "malformed"),
        ("{}", "malformed"),
        (str(2**31), "out of range"),
        ("1" + "0" * 40, "out of range"),
        ('"' + "9" * 13 + '"', "out of range"),
        ('"' + "9" * 5000 + '"', "out of range"),  # past int()'s digit limit
    ],
)
def test_any_other_version_quarantines_the_line_with_a_reason(
    event_type: str, field: str, data: dict[str, Any], raw: str, problem: str
) -> None:
    """Written into the JSON text as it is, so `1e23` is the number a log would carry."""
    marker = '"__VERSION__"'
    text = event_line(event_type, {**data, field: "__VERSION__"}).replace(marker, raw)

    [entry] = feed([text])

    assert not entry.drafts
    reason = f"malformed {field}" if problem == "malformed" else f"{field} out of range"
    assert entry.quarantined == reason


def _audit_error(version: str, audit: str = "validate_checksums") -> dict[str, Any]:
    message = f"{audit} (actual location: sr1; actual version: {version}) x && y"
    return {"check_name": "preservation-audit", "error": message}


def test_the_version_in_an_audit_message_follows_the_same_rule() -> None:
    event = one(event_line("preservation_audit_failure", _audit_error("12")))
    assert isinstance(event, FixityChecked)
    assert (event.version, event.storage_root, event.check) == (12, "sr1", "validate_checksums")
    assert one(event_line("preservation_audit_failure", _audit_error(" 7 "))).version == 7
    assert one(event_line("preservation_audit_failure", _audit_error(""))).version is None


@pytest.mark.parametrize("audit", ["validate_checksums", "check_catalog_version"])
@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("1e23", "malformed"),
        ("-1", "malformed"),
        ("1.5", "malformed"),
        ("v2", "malformed"),
        ("9" * 12, "out of range"),
        ("1" + "0" * 12, "out of range"),  # 13 digits: past what the old pattern took
        ("9" * 5000, "out of range"),
        (str(2**31), "out of range"),
    ],
)
def test_an_untrustworthy_version_in_an_audit_message_quarantines_the_line(
    audit: str, version: str, reason: str
) -> None:
    """Not a VersionAudited event with version, storage root and check all unknown (the
    prefix used to fail to match as a whole)."""
    [entry] = feed([event_line("preservation_audit_failure", _audit_error(version, audit))])
    assert not entry.drafts
    field = "actual version in error"
    assert entry.quarantined == (
        f"malformed {field}" if reason == "malformed" else f"{field} out of range"
    )


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.text(max_size=15),
        st.integers(min_value=0).map(str),
    )
)
def test_a_version_is_kept_exactly_or_the_line_quarantined(value: Any) -> None:
    [entry] = feed(
        [event_line("druid_version_replicated", {"endpoint_name": "e", "version": value})]
    )
    exact = (
        value
        if isinstance(value, int) and not isinstance(value, bool)
        else int(value)
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12
        else None
    )
    if value == "" or (exact is not None and 0 <= exact < 2**31):
        [event] = build([entry])
        assert event.version == (None if value == "" else exact)
    else:
        assert not entry.drafts and entry.quarantined in {
            "malformed version",
            "version out of range",
        }
