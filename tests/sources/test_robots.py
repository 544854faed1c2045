"""The `robots` source: lyber-core robot logs (Sidekiq layout) -> workflow step events.

Example lines are built from the real templates (lyber-core `LyberCore::Robot#perform`,
preservation_robots, Sidekiq's formatter); none is a captured production line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.domain.events import (
    DomainEvent,
    IngestStepRecorded,
    LinkedObject,
    WorkflowStepRecorded,
)
from provenance.sources.base import Entry
from provenance.sources.robots import RobotsSource, premis_type
from tests.sources.helpers import build_events, feed_source

LA = ZoneInfo("America/Los_Angeles")
T = "2026-02-01T09:00:00.000Z"
CTX = "class=Robots::SdrRepo::PreservationIngest::TransferObject jid=2f4a9c0e1b3d5f7a"


def line(
    message: str, *, severity: str = "INFO", tid: str = "abc", ctx: str = "", ts: str = T
) -> str:
    context = f" {ctx}" if ctx else ""
    return f"{ts} pid=4711 tid={tid}{context} {severity}: {message}"


def feed(lines: list[str], tz: Any = LA) -> list[Entry]:
    return feed_source(RobotsSource, lines, tz, "robots-host")


def build(entries: list[Entry]) -> list[DomainEvent]:
    return build_events(entries, RobotsSource.name)


def one(lines: list[str]) -> DomainEvent:
    """The last event the lines give (the earlier ones set the scene)."""
    events = build(feed(lines))
    assert events
    return events[-1]


def assert_accounted(lines: list[str], entries: list[Entry]) -> None:
    assert sum(len(entry.lines) for entry in entries) == len(lines)
    assert [text for entry in entries for text in entry.lines] == lines
    for entry in entries:
        kinds = [bool(entry.drafts), entry.ignored is not None, entry.quarantined is not None]
        assert kinds.count(True) == 1, entry


# --- step lines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workflow", "step", "model", "premis"),
    [
        ("preservationIngestWF", "start-ingest", IngestStepRecorded, "ins"),
        ("preservationIngestWF", "transfer-object", IngestStepRecorded, "tra"),
        ("preservationIngestWF", "validate-bag", IngestStepRecorded, "val"),
        ("preservationIngestWF", "update-moab", IngestStepRecorded, "ing"),
        (
            "preservationIngestWF",
            "validate-moab",
            IngestStepRecorded,
            None,
        ),  # the catalog note is the event
        ("preservationIngestWF", "validate-something-new", IngestStepRecorded, "val"),
        ("preservationIngestWF", "update-catalog", IngestStepRecorded, None),
        ("preservationIngestWF", "complete-ingest", IngestStepRecorded, "ine"),
        ("preservationIngestWF", "verify-apo", IngestStepRecorded, None),
        ("accessionWF", "technical-metadata", WorkflowStepRecorded, "mee"),
        ("accessionWF", "shelve", WorkflowStepRecorded, "dis"),
        ("accessionWF", "publish", WorkflowStepRecorded, "dis"),
        ("accessionWF", "start-accession", WorkflowStepRecorded, None),
        ("accessionWF", "validate-bag", WorkflowStepRecorded, None),
        ("assemblyWF", "jp2-create", WorkflowStepRecorded, None),
    ],
)
def test_processing_then_finished_gives_started_and_completed(
    workflow: str, step: str, model: type[DomainEvent], premis: str | None
) -> None:
    lines = [
        line(f"druid:bj102hs9687 processing {step} ({workflow})", ctx=CTX),
        line("Finished druid:bj102hs9687 in 12.3456s", ts="2026-02-01T09:00:12.346Z"),
    ]
    started, completed = build(feed(lines))
    assert isinstance(started, model)
    assert isinstance(completed, model)
    assert isinstance(started, IngestStepRecorded | WorkflowStepRecorded)
    assert isinstance(completed, IngestStepRecorded | WorkflowStepRecorded)
    assert (started.status, started.premis_type, started.outcome) == ("started", None, None)
    assert (completed.status, completed.premis_type, completed.outcome) == (
        "completed",
        premis,
        "success",
    )
    for event in (started, completed):
        assert event.object == "druid:bj102hs9687"
        assert event.object_conforming
        assert (event.workflow, event.step) == (workflow, step)
        assert event.agent.name == f"{workflow}/{step}"
        assert event.agent.kind == "software"
    assert completed.duration_s == pytest.approx(12.3456)
    assert completed.occurred_at == datetime(2026, 2, 1, 9, 0, 12, 346000, tzinfo=UTC)
    assert completed.detail == "Finished druid:bj102hs9687 in 12.3456s"


@pytest.mark.parametrize(
    ("workflow", "step", "expected"),
    [
        ("preservationIngestWF", None, None),
        ("preservationIngestWF", "transfer-object", "tra"),
        ("preservationIngestWF", "validate-x", "val"),
        ("accessionWF", "shelve", "dis"),
        ("accessionWF", "validate-x", None),
        ("unknown", "publish", "dis"),
    ],
)
def test_premis_type_table(workflow: str, step: str | None, expected: str | None) -> None:
    assert premis_type(workflow, step) == expected


def test_bare_and_test_style_druids_are_normalised_and_flagged() -> None:
    started = one([line("ab123cd4567 processing shelve (accessionWF)")])
    assert started.object == "druid:ab123cd4567"
    assert started.object_conforming is False


def test_finished_is_matched_by_thread_when_threads_interleave() -> None:
    lines = [
        line("druid:bj102hs9687 processing transfer-object (preservationIngestWF)", tid="t1"),
        line("druid:bc123df4567 processing update-moab (preservationIngestWF)", tid="t2"),
        line("Finished druid:bc123df4567 in 1.0000s", tid="t2"),
        line("Finished druid:bj102hs9687 in 2.0000s", tid="t1"),
    ]
    events = build(feed(lines))
    finished = {e.object: e for e in events if isinstance(e, IngestStepRecorded) and e.duration_s}
    assert finished["druid:bc123df4567"].step == "update-moab"
    assert finished["druid:bj102hs9687"].step == "transfer-object"
    assert finished["druid:bj102hs9687"].premis_type == "tra"


def test_finished_on_another_thread_is_matched_by_druid() -> None:
    lines = [
        line("druid:bj102hs9687 processing complete-ingest (preservationIngestWF)", tid="t1"),
        line("Finished druid:bj102hs9687 in 0.1000s", tid="other"),
    ]
    completed = one(lines)
    assert isinstance(completed, IngestStepRecorded)
    assert completed.step == "complete-ingest"
    assert completed.premis_type == "ine"


def test_finished_without_processing_uses_the_sidekiq_class_context() -> None:
    completed = one([line("Finished druid:bj102hs9687 in 0.5000s", ctx=CTX)])
    assert isinstance(completed, IngestStepRecorded)
    assert (completed.workflow, completed.step) == ("preservationIngestWF", "transfer-object")


def test_finished_with_nothing_known_records_the_step_as_unknown() -> None:
    completed = one([line("Finished druid:bj102hs9687 in 0.5000s")])
    assert isinstance(completed, WorkflowStepRecorded)
    assert completed.step is None
    assert completed.workflow == "unknown"
    assert completed.agent.name == "unknown"
    assert completed.premis_type is None
    assert completed.outcome == "success"


def test_a_finished_job_is_not_reused_for_the_next_finished_of_another_druid() -> None:
    lines = [
        line("druid:bj102hs9687 processing shelve (accessionWF)"),
        line("Finished druid:bj102hs9687 in 0.5000s"),
        line("Finished druid:bc123df4567 in 0.5000s"),
    ]
    last = one(lines)
    assert last.object == "druid:bc123df4567"
    assert isinstance(last, WorkflowStepRecorded)
    assert last.step is None


def test_agent_version_comes_from_the_context() -> None:
    event = one(
        [line("druid:bj102hs9687 processing shelve (accessionWF)", ctx="class=X version=2.4.1")]
    )
    assert event.agent.version == "2.4.1"


def test_older_sidekiq_layout_is_read() -> None:
    event = one([f"{T} 4711 TID-ouy7z7u6k INFO: druid:bj102hs9687 processing shelve (accessionWF)"])
    assert isinstance(event, WorkflowStepRecorded)
    assert event.status == "started"


# --- time -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-02-01T09:00:00.000Z", datetime(2026, 2, 1, 9, tzinfo=UTC)),
        (
            "2026-02-01T09:00:00.000+01:00",
            datetime(2026, 2, 1, 9, tzinfo=timezone(timedelta(hours=1))),
        ),
        # Zone-less times are local to the configured zone, DST included.
        ("2026-01-15T12:00:00.000", datetime(2026, 1, 15, 20, tzinfo=UTC)),
        ("2026-07-15T12:00:00.000", datetime(2026, 7, 15, 19, tzinfo=UTC)),
    ],
)
def test_timestamps(stamp: str, expected: datetime) -> None:
    event = one([line("druid:bj102hs9687 processing shelve (accessionWF)", ts=stamp)])
    assert event.occurred_at == expected


def test_an_explicit_offset_is_kept() -> None:
    stamp = "2026-02-01T09:00:00.000+01:00"
    [entry] = feed([line("druid:bj102hs9687 processing shelve (accessionWF)", ts=stamp)])
    assert entry.drafts[0].fields["occurred_at"].utcoffset() == timedelta(hours=1)


def test_zone_less_time_keeps_the_configured_zone() -> None:
    [entry] = feed(
        [line("druid:bj102hs9687 processing shelve (accessionWF)", ts="2026-07-15T12:00:00.000")]
    )
    assert entry.drafts[0].fields["occurred_at"].utcoffset() == timedelta(hours=-7)


def test_impossible_timestamp_is_quarantined() -> None:
    [entry] = feed(
        [line("druid:bj102hs9687 processing shelve (accessionWF)", ts="2026-13-01T09:00:00.000Z")]
    )
    assert entry.quarantined == "malformed timestamp"


# --- failures ---------------------------------------------------------------------------------

BACKTRACE = [
    "/opt/app/preservation_robots/lib/robots/sdr_repo/preservation_ingest/base.rb:40:in `work'",
    "/opt/app/shared/bundle/ruby/3.3.0/gems/lyber-core-7.6.0/lib/lyber_core/robot.rb:62:in `go'",
]


@pytest.mark.parametrize(
    ("step", "message", "premis"),
    [
        (
            "transfer-object",
            "Error transferring bag (via /dor/export) for druid:bj102hs9687: "
            "/dor/export/bj102hs9687/data/metadata/versionMetadata.xml not found",
            "tra",
        ),
        ("update-moab", "Failed verification for druid:bj102hs9687-v0002", "ing"),
        (
            "update-catalog",
            "Error completing ingest for druid:bj102hs9687: failed to remove deposit bag "
            "(/deposit/bj102hs9687): Permission denied",
            None,
        ),
        ("complete-ingest", "Faraday::ConnectionFailed: Connection refused", "ine"),
        ("start-ingest", "undefined method `size' for nil", "ins"),
    ],
)
def test_failure_after_processing(step: str, message: str, premis: str | None) -> None:
    lines = [
        line(f"druid:bj102hs9687 processing {step} (preservationIngestWF)"),
        line(message, severity="ERROR"),
        *BACKTRACE,
    ]
    entries = feed(lines)
    assert_accounted(lines, entries)
    assert len(entries[1].lines) == 3  # the backtrace belongs to the failure
    failed = build(entries)[-1]
    assert isinstance(failed, IngestStepRecorded)
    assert (failed.status, failed.step, failed.premis_type, failed.outcome) == (
        "failed",
        step,
        premis,
        "fail",
    )
    assert failed.object == "druid:bj102hs9687"
    assert failed.error == message
    assert failed.detail is not None
    assert message in failed.detail
    assert BACKTRACE[0] in failed.detail


def test_failure_names_the_druid_without_a_processing_line() -> None:
    message = "Error transferring bag (via /dor/export) for bc123df4567: cp failed"
    failed = one([line(message, severity="ERROR"), *BACKTRACE])
    assert isinstance(failed, IngestStepRecorded)
    assert failed.object == "druid:bc123df4567"
    assert failed.step == "transfer-object"
    assert failed.premis_type == "tra"


def test_failure_druid_from_the_message_wins_over_a_stale_thread() -> None:
    lines = [
        line("druid:bj102hs9687 processing transfer-object (preservationIngestWF)"),
        line(
            'Bag validation failure(s) for druid:bc123df4567: [{bag_dir_not_found: "x"}]',
            severity="ERROR",
        ),
    ]
    failed = one(lines)
    assert failed.object == "druid:bc123df4567"
    assert isinstance(failed, IngestStepRecorded)
    assert failed.step == "validate-bag"


def test_failure_of_another_workflow_takes_step_from_the_class_context() -> None:
    ctx = "class=Robots::DorRepo::Accession::TechnicalMetadata jid=1"
    failed = one(
        [line("Technical metadata failed for druid:bj102hs9687", severity="ERROR", ctx=ctx)]
    )
    assert isinstance(failed, WorkflowStepRecorded)
    assert (failed.workflow, failed.step, failed.premis_type) == (
        "accessionWF",
        "technical-metadata",
        "mee",
    )


@pytest.mark.parametrize(
    ("errors", "codes"),
    [
        (
            '[{:bag_dir_not_found=>"Deposit bag directory /deposit/bj102hs9687 does not exist"}]',
            ["BAG_DIR_NOT_FOUND"],
        ),
        (
            '[{checksum_mismatch: "Failed manifest verification. Differences: \\n{...}"}, '
            '{payload_size_mismatch: "Failed payload size verification. Expected: {bytes: 1, '
            'files: 1}; found: {bytes: 2, files: 1}"}, '
            '{required_file_not_found: "Deposit bag required file /d/bagit.txt not found"}, '
            '{checksum_mismatch: "again"}]',
            ["CHECKSUM_MISMATCH", "PAYLOAD_SIZE_MISMATCH", "REQUIRED_FILE_NOT_FOUND"],
        ),
        (
            '[{:invalid_versionXxx_xml=>"Unable to parse /d/versionAdditions.xml: boom"}, '
            '{:version_mismatch_to_moab=>"Version mismatch in /v.xml: Moab expected 3; found 2"}, '
            '{:version_missing_from_file=>"Version xml file /d/v.xml missing data"}, '
            '{:checksum_type_unrecognized=>"Checksum type unrecognized: crc; file: x"}]',
            [
                "INVALID_VERSION_XXX_XML",
                "VERSION_MISMATCH_TO_MOAB",
                "VERSION_MISSING_FROM_FILE",
                "CHECKSUM_TYPE_UNRECOGNIZED",
            ],
        ),
    ],
)
def test_bag_validation_codes_go_into_the_detail(errors: str, codes: list[str]) -> None:
    lines = [
        line("druid:bj102hs9687 processing validate-bag (preservationIngestWF)"),
        line(f"Bag validation failure(s) for druid:bj102hs9687: {errors}", severity="ERROR"),
        *BACKTRACE,
    ]
    failed = one(lines)
    assert isinstance(failed, IngestStepRecorded)
    assert failed.premis_type == "val"
    assert failed.detail is not None
    assert failed.detail.startswith(f"bag validation failed: {', '.join(codes)}: ")


def test_missing_bag_directory_is_linked() -> None:
    message = (
        "Bag validation failure(s) for druid:bj102hs9687: "
        '[{:bag_dir_not_found=>"Deposit bag directory /deposit/bj102hs9687 does not exist"}]'
    )
    failed = one([line(message, severity="ERROR")])
    assert failed.linked_objects == (
        LinkedObject(kind="bag", identifier="/deposit/bj102hs9687", role="source"),
    )


def test_second_error_of_the_same_attempt_is_ignored() -> None:
    # update-catalog logs its error itself, then lyber-core logs it again with the backtrace.
    message = "Error completing ingest for druid:bj102hs9687: failed to remove deposit bag (/d): x"
    lines = [
        line("druid:bj102hs9687 processing update-catalog (preservationIngestWF)"),
        line(message + "\\n /opt/app/x.rb:1", severity="ERROR"),
        line(message, severity="ERROR"),
        *BACKTRACE,
    ]
    entries = feed(lines)
    assert_accounted(lines, entries)
    assert [bool(e.drafts) for e in entries] == [True, True, False]
    assert entries[2].ignored == "repeated failure"


def test_a_retry_after_a_failure_is_a_new_attempt() -> None:
    lines = [
        line("druid:bj102hs9687 processing transfer-object (preservationIngestWF)"),
        line("boom", severity="ERROR"),
        line("druid:bj102hs9687 processing transfer-object (preservationIngestWF)"),
        line("boom", severity="ERROR"),
    ]
    statuses = [getattr(e, "status", None) for e in build(feed(lines))]
    assert statuses == ["started", "failed", "started", "failed"]


def test_failure_after_the_job_finished_does_not_reuse_its_druid() -> None:
    lines = [
        line("druid:bj102hs9687 processing transfer-object (preservationIngestWF)"),
        line("Finished druid:bj102hs9687 in 1.0000s"),
        line("Redis::CannotConnectError: Error connecting to Redis", severity="ERROR"),
    ]
    assert feed(lines)[-1].quarantined == "failure without druid"


def test_failure_without_any_druid_is_quarantined_with_its_backtrace() -> None:
    lines = [line("Redis::CannotConnectError: Connection refused", severity="FATAL"), *BACKTRACE]
    entries = feed(lines)
    assert_accounted(lines, entries)
    [entry] = entries
    assert entry.quarantined == "failure without druid"
    assert len(entry.lines) == 3


def test_failure_druid_may_come_from_the_context() -> None:
    failed = one([line("boom", severity="ERROR", ctx="class=Foo druid=druid:bj102hs9687")])
    assert failed.object == "druid:bj102hs9687"
    assert isinstance(failed, WorkflowStepRecorded)
    assert failed.workflow == "unknown"


# --- validate-moab notes from preservation_catalog --------------------------------------------

HOST = "preservation-catalog-prod-02.stanford.edu"


def test_validate_moab_notes_and_problem() -> None:
    lines = [
        line("druid:bj102hs9687 processing validate-moab (preservationIngestWF)"),
        line("Finished druid:bj102hs9687 in 0.2000s"),
        line(f"Started by preservation_catalog on {HOST}."),
        line(f"Completed by preservation_catalog on {HOST}."),
    ]
    events = build(feed(lines))
    started, completed = events[2], events[3]
    assert isinstance(started, IngestStepRecorded)
    assert isinstance(completed, IngestStepRecorded)
    assert (started.step, started.status, started.premis_type) == ("validate-moab", "started", None)
    assert (completed.status, completed.premis_type, completed.outcome) == (
        "completed",
        "val",
        "success",
    )
    assert completed.object == "druid:bj102hs9687"
    assert completed.agent.host == HOST


def test_validate_moab_problem_is_a_failed_validation() -> None:
    message = (
        f"Problem with Moab validation run on {HOST}: "
        '["druid:bj102hs9687-v0001: version_additions: file_differences"]'
    )
    lines = [
        line(f"Started by preservation_catalog on {HOST}.", ctx="druid=bj102hs9687"),
        line(message, severity="ERROR", ctx="druid=bj102hs9687"),
    ]
    failed = one(lines)
    assert isinstance(failed, IngestStepRecorded)
    assert (failed.step, failed.status, failed.premis_type, failed.outcome) == (
        "validate-moab",
        "failed",
        "val",
        "fail",
    )
    assert failed.agent.host == HOST
    assert failed.error == message


def test_validate_moab_note_without_druid_is_quarantined() -> None:
    [entry] = feed([line(f"Completed by preservation_catalog on {HOST}.")])
    assert entry.quarantined == "validate-moab note without druid"


# --- noise and garbage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (line("start", ctx=CTX), "sidekiq job lifecycle"),
        (line("done", ctx=CTX + " elapsed=1.234"), "sidekiq job lifecycle"),
        (line("fail", ctx=CTX + " elapsed=1.234"), "sidekiq job lifecycle"),
        (
            line("Booting Sidekiq 7.2.4 with Sidekiq::RedisClientAdapter options {}"),
            "no step information",
        ),
        (line("Starting processing, hit Ctrl-C to stop"), "no step information"),
        (
            line("transfer-object druid:bj102hs9687 starting", severity="DEBUG"),
            "no step information",
        ),
        (
            line('{"context":"Job raised exception","job":{}}', severity="WARN"),
            "no step information",
        ),
        (
            line(
                "Item druid:bj102hs9687 is not queued for transfer-object (preservationIngestWF), "
                "but has status of 'completed'. Will skip processing",
                severity="WARN",
            ),
            "step skipped (not queued)",
        ),
        (line("", severity="INFO"), "no step information"),
    ],
)
def test_lines_without_step_information_are_ignored(text: str, reason: str) -> None:
    [entry] = feed([text])
    assert entry.ignored == reason


def test_a_skipped_job_does_not_lend_its_druid_to_later_errors() -> None:
    lines = [
        line("druid:bj102hs9687 processing transfer-object (preservationIngestWF)"),
        line(
            "Item druid:bj102hs9687 is not queued for transfer-object (preservationIngestWF), "
            "but has status of 'error'. Will skip processing",
            severity="WARN",
        ),
        line("boom", severity="ERROR"),
    ]
    assert feed(lines)[-1].quarantined == "failure without druid"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "INFO [2017-04-27 11:07:36] (17545)  :: druid:db274ff1758 processing",
            "not a robots line",
        ),
        ("/opt/app/x.rb:1:in `y'", "not a robots line"),
        (line("druid:zz12 processing shelve (accessionWF)"), "malformed druid"),
        (line("Finished notadruid in 1.0000s"), "malformed druid"),
    ],
)
def test_quarantined(text: str, reason: str) -> None:
    [entry] = feed([text])
    assert entry.quarantined == reason


def test_detect_is_true_only_for_the_layout() -> None:
    assert RobotsSource.detect(line("start"))
    assert not RobotsSource.detect("/opt/app/x.rb:1:in `y'")
    assert not RobotsSource.detect('{"druid": "druid:bj102hs9687"}')


# --- fuzzing ----------------------------------------------------------------------------------

VALID = [
    line("druid:bj102hs9687 processing transfer-object (preservationIngestWF)", tid="t1"),
    line("druid:bc123df4567 processing shelve (accessionWF)", tid="t2", ctx=CTX),
    line("Finished druid:bj102hs9687 in 3.5000s", tid="t1"),
    line("Finished druid:bc123df4567 in 0.1000s", tid="t3"),
    line("boom", severity="ERROR", tid="t1"),
    line(
        'Bag validation failure(s) for ab123cd4567: [{:checksum_mismatch=>"x"}]', severity="ERROR"
    ),
    line(f"Started by preservation_catalog on {HOST}.", tid="t1"),
    line(f"Completed by preservation_catalog on {HOST}.", ctx="druid=bj102hs9687"),
    line("start", ctx=CTX),
    line("done", ctx=CTX),
    *BACKTRACE,
    "",
]
_layout_noise = st.builds(
    lambda sev, msg, tid: line(msg, severity=sev, tid=tid),
    st.sampled_from(["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]),
    st.text(max_size=80),
    st.sampled_from(["t1", "t2", "t3"]),
)
_near_misses = st.builds(
    lambda prefix, tail: prefix + tail,
    st.sampled_from(
        [
            "2026-02-01T09:00:00.000Z pid=1 tid=a ",
            "2026-02-01T09:00:00.000Z pid=1 tid=a INFO: Finished ",
            "2026-02-01T09:00:00.000Z pid=1 tid=a INFO: druid:bj102hs9687 processing ",
            "2026-02-01T09:00:00.000Z pid=1 tid=a ERROR: Bag validation failure(s) for ",
            "2026-02-01T09:00:00.000Z pid=1 tid=a INFO: Started by preservation_catalog on ",
            "2026-02-01T99:00:00.000Z pid=1 tid=a INFO: ",
            "2026-02-01T09:00:00.000Z pid=1 tid=a" + " k=v" * 200 + " ",
        ]
    ),
    st.text(max_size=60),
)
_any_line = st.one_of(
    st.sampled_from(VALID),
    _layout_noise,
    _near_misses,
    st.text(max_size=200),
    st.text(min_size=5_000, max_size=20_000, alphabet=st.characters(codec="utf-8")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_any_line, max_size=30))
def test_any_sequence_of_lines_is_accounted_and_valid(lines: list[str]) -> None:
    entries = feed(lines)
    assert_accounted(lines, entries)
    build(entries)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_single_line_is_accounted(text: str) -> None:
    entries = feed([text], tz=UTC)
    assert_accounted([text], entries)
    build(entries)
