"""The `rails` source: default multi-line Rails request logs -> one ServiceAccessed per request.

Lines are built from Rails' own log subscribers (`Started ...`, `Processing by ...`,
`Completed ...`, ActionDispatch::DebugExceptions' error lines) in the layouts Rails apps use;
none is a captured production line.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore.sqlite import MEMORY, SQLiteEventStore
from provenance.domain.events import ServiceAccessed
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.sources import create_source
from provenance.sources import rails as rails_module
from provenance.sources.base import Entry, SourceContext
from provenance.sources.rails import (
    AFTER_COMPLETED,
    AFTER_INCOMPLETE,
    MALFORMED_STARTED,
    MALFORMED_TIME,
    NO_TIME,
    NOT_A_RAILS_LINE,
    OUTSIDE_REQUEST,
    STARTED_BEFORE_INPUT,
    RailsSource,
)
from tests.sources.helpers import any_line, build_events, feed_source, log_bytes, mutated
from tests.sources.helpers import assert_accounted as accounted

LA = ZoneInfo("America/Los_Angeles")
PST = timezone(timedelta(hours=-8))
A = "8c1d5e2f-0a9b-4c3d-8e7f-6a5b4c3d2e1f"
B = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
STARTED = 'Started GET "/bb123cd4567/iiif/manifest" for 171.64.1.2 at 2026-03-02 10:01:02 -0800'
PROCESSING = "Processing by IiifController#manifest as JSON"
PARAMETERS = '  Parameters: {"id"=>"bb123cd4567"}'
COMPLETED = "Completed 200 OK in 17ms (Views: 1.2ms | ActiveRecord: 3.4ms | Allocations: 2345)"
MESSAGES = [STARTED, PROCESSING, PARAMETERS, COMPLETED]


def tagged(message: str, request_id: str = A, severity: str = "INFO") -> str:
    return f"[2026-03-02T10:01:02.123-08:00] [{severity}] [{request_id}] {message}"


def logger(message: str, severity: str = "INFO") -> str:
    return f"{severity[0]}, [2026-03-02T10:01:02.123456 #1234] {severity:>5} -- : {message}"


def feed(lines: list[str], tz: Any = LA) -> list[Entry]:
    return feed_source(RailsSource, lines, tz, "purl")


def drafts(lines: list[str], tz: Any = LA) -> list[dict[str, Any]]:
    """The draft fields of the requests the lines hold (every draft built by its model)."""
    entries = feed(lines, tz)
    assert_accounted(lines, entries)
    build_events(entries, RailsSource.name)
    assert all(draft.model is ServiceAccessed for entry in entries for draft in entry.drafts)
    return [draft.fields for entry in entries for draft in entry.drafts]


def assert_accounted(lines: list[str], entries: list[Entry]) -> None:
    """Every line in exactly one entry (entries come out when complete, not in input order),
    and at most one request per entry."""
    accounted(lines, entries, in_order=False)
    assert all(len(entry.drafts) <= 1 for entry in entries)


EXPECTED = {
    "object": None,
    "occurred_at": datetime(2026, 3, 2, 10, 1, 2, tzinfo=PST),
    "client": "171.64.1.2",
    "method": "GET",
    "path": "/bb123cd4567/iiif/manifest",
    "template": "/{druid}/iiif/manifest",
    "druid": "druid:bb123cd4567",
    "status": 200,
    "duration_ms": 17.0,
    "request_id": A,
    "controller": "IiifController#manifest",
    "response_format": "JSON",
    "complete": True,
}


# --- one request ------------------------------------------------------------------------------


def test_a_tagged_request_is_one_entry_with_every_field() -> None:
    lines = [tagged(message) for message in MESSAGES]
    entries = feed(lines)
    assert len(entries) == 1
    (entry,) = entries
    assert (entry.line_no, entry.lines) == (1, lines)
    assert drafts(lines) == [EXPECTED]


def test_the_draft_leaves_agent_client_id_and_service_to_ingest() -> None:
    (got,) = drafts([tagged(message) for message in MESSAGES])
    assert not {"agent", "client_id", "service"} & set(got)


def test_untagged_lines_without_layout_join_sequentially() -> None:
    lines = [*MESSAGES, "  Rendered iiif/manifest.json.jbuilder (Duration: 1.0ms)", "", STARTED]
    lines += [PROCESSING, COMPLETED.replace("200 OK", "404 Not Found")]
    first, second = drafts(lines)
    assert first == {**EXPECTED, "request_id": None}
    assert (second["status"], second["request_id"]) == (404, None)
    assert [len(entry.lines) for entry in feed(lines)] == [6, 3]


def test_ruby_logger_layout_untagged_and_tagged() -> None:
    untagged = [logger(message) for message in MESSAGES]
    assert drafts(untagged) == [{**EXPECTED, "request_id": None}]
    with_tags = [logger(f"[{A}] {message}") for message in MESSAGES]
    assert drafts(with_tags) == [EXPECTED]


def test_zone_less_started_time_is_read_in_the_context_zone() -> None:
    lines = [tagged(STARTED.removesuffix(" -0800")), tagged(COMPLETED)]
    (got,) = drafts(lines, tz=LA)
    assert got["occurred_at"] == datetime(2026, 3, 2, 10, 1, 2, tzinfo=LA)
    assert got["occurred_at"].utcoffset() == timedelta(hours=-8)
    (got,) = drafts(lines, tz=UTC)
    assert got["occurred_at"] == datetime(2026, 3, 2, 10, 1, 2, tzinfo=UTC)


def test_started_time_in_utc_as_ruby_writes_it() -> None:
    lines = [tagged(STARTED.replace("10:01:02 -0800", "18:01:02 UTC")), tagged(COMPLETED)]
    (got,) = drafts(lines)
    assert got["occurred_at"] == datetime(2026, 3, 2, 18, 1, 2, tzinfo=UTC)


def test_started_without_at_takes_the_layout_time() -> None:
    started = 'Started GET "/x" for 10.0.0.1'
    (got,) = drafts([tagged(started), tagged(COMPLETED)])
    assert got["occurred_at"] == datetime(2026, 3, 2, 10, 1, 2, 123000, tzinfo=PST)
    (got,) = drafts([logger(started), logger(COMPLETED)])
    assert got["occurred_at"] == datetime(2026, 3, 2, 10, 1, 2, 123456, tzinfo=LA)


@pytest.mark.parametrize(
    ("completed", "status", "duration"),
    [
        (COMPLETED, 200, 17),
        ("Completed 304 Not Modified in 2ms (ActiveRecord: 0.0ms | Allocations: 120)", 304, 2),
        ("Completed 500 Internal Server Error in 30ms (ActiveRecord: 1.1ms)", 500, 30),
        ("Completed 401 Unauthorized in 3ms (Allocations: 333)", 401, 3),
        ("Completed 302 Found in 5ms (ActiveRecord: 0.0ms | Allocations: 200)", 302, 5),
        ("Completed 404 Not Found in 12.5ms (Views: 0.4ms | GC: 0.0ms)", 404, 12.5),
        ("Completed 299  in 1ms", 299, 1),
        ("Completed 204 No Content", 204, None),
    ],
)
def test_every_completed_form(completed: str, status: int, duration: float | None) -> None:
    (got,) = drafts([tagged(STARTED), tagged(completed)])
    assert (got["status"], got["duration_ms"], got["complete"]) == (status, duration, True)


@pytest.mark.parametrize(
    ("started", "method", "path", "client"),
    [
        (
            'Started POST "/v1/objects?a=1&b=2" for ::1 at 2026-03-02 10:01:02 -0800',
            "POST",
            "/v1/objects?a=1&b=2",
            "::1",
        ),
        (
            'Started GET "/cable/" [WebSocket] for 10.0.0.1 at 2026-03-02 10:01:02 -0800',
            "GET",
            "/cable/",
            "10.0.0.1",
        ),
        (
            'Started HEAD "/file/druid:bb123cd4567/a "b".pdf" for 10.0.0.2 at 2026-03-02 10:01:02',
            "HEAD",
            '/file/druid:bb123cd4567/a "b".pdf',
            "10.0.0.2",
        ),
    ],
)
def test_started_forms(started: str, method: str, path: str, client: str) -> None:
    (got,) = drafts([tagged(started), tagged(COMPLETED)])
    assert (got["method"], got["path"], got["client"]) == (method, path, client)


def test_processing_as_any_format() -> None:
    lines = [tagged(STARTED), tagged("Processing by Api::V1::FilesController#show as */*")]
    (got,) = drafts([*lines, tagged(COMPLETED)])
    assert (got["controller"], got["response_format"]) == ("Api::V1::FilesController#show", "*/*")


def test_redirect_and_sql_lines_belong_to_their_request() -> None:
    lines = [
        tagged(STARTED),
        tagged(PROCESSING),
        tagged("  Druid Load (0.4ms)  SELECT 1"),
        "  continued SQL on a line of its own",
        tagged("Redirected to https://purl.stanford.edu/bb123cd4567"),
        tagged("Completed 302 Found in 5ms (ActiveRecord: 0.4ms)"),
    ]
    (entry,) = feed(lines)
    assert entry.lines == lines
    assert entry.drafts[0].fields["status"] == 302


# --- interleaving -----------------------------------------------------------------------------


def test_interleaved_requests_are_joined_by_request_id() -> None:
    other = 'Started GET "/cc234dd5678/iiif/info.json" for 10.0.0.9 at 2026-03-02 10:01:03 -0800'
    lines = [
        tagged(STARTED, A),
        tagged(other, B),
        tagged(PROCESSING, A),
        tagged("Processing by IiifController#info as JSON", B),
        tagged(PARAMETERS, B),
        tagged("Completed 304 Not Modified in 2ms", B),
        tagged(PARAMETERS, A),
        tagged(COMPLETED, A),
    ]
    entries = feed(lines)
    assert_accounted(lines, entries)
    assert [entry.line_no for entry in entries] == [2, 1]
    assert entries[0].lines == [lines[1], lines[3], lines[4], lines[5]]
    assert entries[1].lines == [lines[0], lines[2], lines[6], lines[7]]
    second, first = drafts(lines)
    assert first == EXPECTED
    assert second == {
        **EXPECTED,
        "occurred_at": datetime(2026, 3, 2, 10, 1, 3, tzinfo=PST),
        "client": "10.0.0.9",
        "path": "/cc234dd5678/iiif/info.json",
        "template": "/{druid}/iiif/info.json",
        "druid": "druid:cc234dd5678",
        "status": 304,
        "duration_ms": 2.0,
        "request_id": B,
        "controller": "IiifController#info",
    }


def test_a_line_without_layout_continues_the_request_of_the_line_before() -> None:
    lines = [
        tagged(STARTED, A),
        tagged(STARTED, B),
        tagged(PARAMETERS, A),
        '  "more"=>"of A"}',
        tagged(COMPLETED, B),
        tagged(COMPLETED, A),
    ]
    entries = feed(lines)
    assert [entry.lines for entry in entries] == [
        [lines[1], lines[4]],
        [lines[0], lines[2], lines[3], lines[5]],
    ]


# --- errors after Completed -------------------------------------------------------------------


def test_completed_500_keeps_the_error_and_backtrace_that_follow() -> None:
    # DebugExceptions logs one message whose lines carry the tags but not the time and level.
    lines = [
        tagged(STARTED),
        tagged(PROCESSING),
        tagged("Completed 500 Internal Server Error in 30ms (ActiveRecord: 1.1ms)"),
        tagged("  ", severity="FATAL"),
        f"[{A}] ActionView::Template::Error (undefined method 'title' for nil):",
        f"[{A}] ",
        f"[{A}] app/views/iiif/manifest.json.jbuilder:3",
        "app/controllers/iiif_controller.rb:12:in 'manifest'",
        tagged(STARTED, B),
        tagged(COMPLETED, B),
    ]
    entries = feed(lines)
    assert_accounted(lines, entries)
    assert [entry.lines for entry in entries] == [lines[:8], lines[8:]]
    assert entries[0].drafts[0].fields["status"] == 500
    assert entries[0].drafts[0].fields["complete"] is True


def test_untagged_completed_500_keeps_the_error_lines_until_the_next_request() -> None:
    lines = [
        logger(STARTED),
        logger("Completed 500 Internal Server Error in 30ms"),
        logger("  ", severity="FATAL"),
        "RuntimeError (boom):",
        "app/controllers/iiif_controller.rb:12:in 'manifest'",
        logger(STARTED),
    ]
    entries = feed(lines)
    assert [len(entry.lines) for entry in entries] == [5, 1]
    assert entries[1].drafts[0].fields["complete"] is False


def test_error_lines_after_another_requests_line_are_ignored() -> None:
    lines = [
        tagged(STARTED, A),
        tagged(STARTED, B),
        tagged("Completed 500 Internal Server Error in 30ms", A),
        tagged(PARAMETERS, B),
        tagged("RuntimeError (boom):", A, severity="FATAL"),
        tagged(COMPLETED, B),
    ]
    entries = feed(lines)
    assert_accounted(lines, entries)
    late = [entry for entry in entries if entry.ignored]
    assert [(entry.ignored, entry.lines) for entry in late] == [(AFTER_COMPLETED, [lines[4]])]


# --- lines without their request --------------------------------------------------------------


@pytest.mark.parametrize("message", [PROCESSING, PARAMETERS, COMPLETED])
def test_end_of_a_request_that_started_before_this_input_is_ignored(message: str) -> None:
    line = tagged(message)
    assert [(entry.ignored, entry.lines) for entry in feed([line])] == [
        (STARTED_BEFORE_INPUT, [line])
    ]


@pytest.mark.parametrize("message", [PROCESSING, COMPLETED])
def test_untagged_end_of_a_request_that_started_before_this_input(message: str) -> None:
    for line in (message, logger(message)):
        assert [entry.ignored for entry in feed([line])] == [STARTED_BEFORE_INPUT]


def test_untagged_layout_lines_in_a_log_of_tagged_requests() -> None:
    lines = [tagged(STARTED), "[2026-03-02T10:01:02-08:00] [INFO] Puma starting", tagged(COMPLETED)]
    entries = feed(lines)
    assert_accounted(lines, entries)
    assert [entry.ignored for entry in entries] == [OUTSIDE_REQUEST, None]
    assert entries[1].lines == [lines[0], lines[2]]


def test_a_line_without_layout_and_nothing_before_it_is_quarantined() -> None:
    line = "app/controllers/iiif_controller.rb:12:in 'manifest'"
    assert [(entry.quarantined, entry.lines) for entry in feed([line])] == [
        (NOT_A_RAILS_LINE, [line])
    ]


# --- incomplete requests ----------------------------------------------------------------------


def test_a_request_without_completed_is_emitted_incomplete_at_the_end() -> None:
    lines = [tagged(STARTED), tagged(PROCESSING), tagged(PARAMETERS)]
    entries = feed(lines)
    assert [(entry.line_no, entry.lines) for entry in entries] == [(1, lines)]
    assert drafts(lines) == [{**EXPECTED, "status": None, "duration_ms": None, "complete": False}]


def test_a_second_started_with_the_same_key_emits_the_first_incomplete() -> None:
    lines = [STARTED, PROCESSING, STARTED, COMPLETED]
    first, second = drafts(lines)
    assert (first["complete"], first["status"], first["controller"]) == (
        False,
        None,
        "IiifController#manifest",
    )
    assert (second["complete"], second["status"]) == (True, 200)


def test_flush_emits_every_open_request_and_their_ends_are_then_ignored() -> None:
    source = RailsSource(SourceContext(tz=LA))
    assert source.feed(1, tagged(STARTED, A)) == []
    assert source.feed(2, tagged(STARTED, B)) == []
    flushed = source.flush()
    assert [entry.drafts[0].fields["complete"] for entry in flushed] == [False, False]
    late = source.feed(3, tagged(COMPLETED, A)) + source.finish()
    assert [(entry.ignored, entry.line_no) for entry in late] == [(AFTER_INCOMPLETE, 3)]


def test_open_requests_are_capped_the_oldest_emitted_incomplete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rails_module, "MAX_OPEN_REQUESTS", 2)
    ids = ["r1", "r2", "r3"]
    lines = [tagged(STARTED, rid) for rid in ids] + [tagged(COMPLETED, rid) for rid in ids]
    entries = feed(lines)
    assert_accounted(lines, entries)
    outcome = [
        (entry.line_no, entry.ignored or entry.drafts[0].fields["complete"]) for entry in entries
    ]
    assert outcome == [(1, False), (4, AFTER_INCOMPLETE), (2, True), (3, True)]


# --- malformed ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started", "reason"),
    [
        ('Started GET "/x" for 10.0.0.1 at yesterday', MALFORMED_TIME),
        ('Started GET "/x" for 10.0.0.1 at 2026-02-30 10:01:02 -0800', MALFORMED_TIME),
        ('Started GET "/x" for 10.0.0.1 at ', MALFORMED_TIME),
        ('Started GET "/x for 10.0.0.1 at 2026-03-02 10:01:02 -0800', MALFORMED_STARTED),
        ('Started GET "/x"', MALFORMED_STARTED),
    ],
)
def test_a_malformed_started_quarantines_the_whole_request(started: str, reason: str) -> None:
    lines = [tagged(started), tagged(PROCESSING), tagged(COMPLETED)]
    entries = feed(lines)
    assert [(entry.quarantined, entry.lines) for entry in entries] == [(reason, lines)]


def test_no_time_anywhere_is_quarantined() -> None:
    lines = ['Started GET "/x" for 10.0.0.1', COMPLETED]
    assert [(entry.quarantined, entry.lines) for entry in feed(lines)] == [(NO_TIME, lines)]


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        *(tagged(message) for message in (STARTED, PROCESSING, COMPLETED)),
        *(logger(message) for message in (STARTED, PROCESSING, COMPLETED)),
        *(logger(f"[{A}] {message}") for message in (STARTED, PROCESSING, COMPLETED)),
        STARTED,
        PROCESSING,
        COMPLETED,
        f"[{A}] {STARTED}",
        "Completed 500 Internal Server Error in 30ms",
    ],
)
def test_detect_claims_the_three_request_messages_in_any_layout(line: str) -> None:
    assert RailsSource.detect(line)


@pytest.mark.parametrize(
    "line",
    [
        tagged(PARAMETERS),
        tagged("Redirected to https://purl.stanford.edu/"),
        tagged("method=GET path=/x status=200 controller=A"),
        tagged("validate_checksums(bj102hs9687, fixture_sr1) checksums match"),
        "2026-02-01T09:00:00.000Z pid=1 tid=a INFO: Started by preservation_catalog on h.",
        "2026-02-01T09:00:00.000Z pid=1 tid=a INFO: Completed by preservation_catalog on h.",
        '10.0.0.1 - - [02/Mar/2026:10:01:02 -0800] "GET /Completed 200 HTTP/1.1" 200 5',
        "Completed 20 OK in 1ms",
        'Started get "/x" for 10.0.0.1',
        "The job Completed 200 items",
    ],
)
def test_detect_leaves_other_lines_alone(line: str) -> None:
    assert not RailsSource.detect(line)


def test_auto_reads_untagged_request_logs_as_rails() -> None:
    source = create_source("auto", SourceContext(tz=LA))
    entries = [entry for n, line in enumerate(MESSAGES, 1) for entry in source.feed(n, line)]
    entries += source.finish()
    assert [(entry.source, len(entry.lines), len(entry.drafts)) for entry in entries] == [
        ("rails", 4, 1)
    ]


# --- never raises, every line accounted -------------------------------------------------------

REAL = [
    *(tagged(message, A) for message in MESSAGES),
    *(tagged(message, B) for message in MESSAGES),
    tagged("Completed 500 Internal Server Error in 30ms", B),
    tagged("  ", A, severity="FATAL"),
    f"[{A}] RuntimeError (boom):",
    *(logger(message) for message in MESSAGES),
    *MESSAGES,
    "app/controllers/iiif_controller.rb:12:in 'manifest'",
    "",
]


_mutated = mutated(REAL, 160)
_near_misses = st.builds(
    lambda prefix, tail: prefix + tail,
    st.sampled_from(
        [
            tagged('Started GET "'),
            tagged('Started GET "/x" for '),
            tagged('Started GET "/x" for 1 at 2026-03-02 '),
            tagged("Processing by "),
            tagged("Completed 200 "),
            tagged("Completed 200 OK in "),
            f"[{A}] ",
            logger(""),
            "[2026-03-02T10:01:02-08:00] [INFO] ",
        ]
    ),
    st.text(max_size=60),
)
_any_line = any_line(REAL, _mutated, _near_misses)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_any_line, max_size=40), st.randoms(use_true_random=False))
def test_any_sequence_of_lines_is_accounted_and_valid(
    lines: list[str], shuffle: random.Random
) -> None:
    shuffle.shuffle(lines)
    entries = feed(lines)
    assert_accounted(lines, entries)
    build_events(entries, RailsSource.name)


_ingest_lines = st.lists(
    st.one_of(st.sampled_from(REAL), _mutated, _near_misses).map(
        lambda line: line.replace("\n", " ").replace("\r", " ")
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ingest_lines, st.sampled_from(["rails", "auto"]))
def test_ingest_never_raises_accounts_and_replays_to_nothing(lines: list[str], source: str) -> None:
    data = log_bytes(lines)
    with SQLiteEventStore(MEMORY) as store:
        options = IngestOptions(source, tz=UTC)
        report = ingest_stream(store, io.BytesIO(data), "fuzz.log", options)
        assert report.lines == len(lines)
        assert report.lines == report.consumed + report.ignored + report.quarantined
        again = ingest_stream(store, io.BytesIO(data), "fuzz.log", options)
        assert (again.events, again.quarantine_records) == (0, 0)


_LOGRAGE = (
    "[2026-03-02T10:01:02-08:00] [INFO] [3f2a] method=GET path=/v1/objects/druid:bc123df4567 "
    "format=json controller=ObjectsController action=show status=200 duration=58.33"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_ingest_lines, st.just([_LOGRAGE])), max_size=6))
def test_auto_on_a_mix_of_rails_and_lograge_never_raises_and_accounts(
    chunks: list[list[str]],
) -> None:
    lines = [line for chunk in chunks for line in chunk]
    data = log_bytes(lines)
    with SQLiteEventStore(MEMORY) as store:
        options = IngestOptions("auto", tz=UTC)
        report = ingest_stream(store, io.BytesIO(data), "mix.log", options)
        assert report.lines == len(lines)
        assert report.lines == report.consumed + report.ignored + report.quarantined
        again = ingest_stream(store, io.BytesIO(data), "mix.log", options)
        assert (again.events, again.quarantine_records) == (0, 0)


def test_ingest_identical_requests_in_the_same_second_are_two_events() -> None:
    data = log_bytes([STARTED, COMPLETED, STARTED, COMPLETED])
    with SQLiteEventStore(MEMORY) as store:
        report = ingest_stream(store, io.BytesIO(data), "a.log", IngestOptions("rails", tz=UTC))
        assert (report.consumed, report.events) == (4, 2), report.quarantined_by_reason
        again = ingest_stream(store, io.BytesIO(data), "b.log", IngestOptions("auto", tz=UTC))
        assert (again.events, again.duplicates) == (0, 2)
