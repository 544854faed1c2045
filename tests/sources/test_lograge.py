"""The `lograge` source: Rails lograge key=value request lines -> ServiceAccessed drafts.

Lines are built from lograge's KeyValue formatter (and the logfmt style) in the SDR apps'
Rails layout, as in reference/sdr-logs.md; none is a captured production line.
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
from provenance.sources.base import Entry, SourceContext
from provenance.sources.lograge import LogrageSource
from tests.sources.helpers import (
    any_line,
    assert_accounted,
    build_events,
    feed_source,
    log_bytes,
    mutated,
)

LA = ZoneInfo("America/Los_Angeles")
PST = timezone(timedelta(hours=-8))
RID = "3f2a9c1e-7b4d-4e0a-9f1c-2d8e6b5a4c3f"
PREFIX = f"[2026-03-02T10:01:02-08:00] [INFO] [{RID}] "
REQUEST = (
    "method=GET path=/v1/objects/druid:bc123df4567/events format=json "
    "controller=EventsController action=index status=200 duration=58.33 view=40.43 db=15.26"
)
EXAMPLE = PREFIX + REQUEST


def feed(lines: list[str], tz: Any = LA) -> list[Entry]:
    return feed_source(LogrageSource, lines, tz, "sdr-api")


def fields(line: str, tz: Any = LA) -> dict[str, Any]:
    """The draft fields of one request line (and the model accepts them)."""
    entries = feed([line], tz)
    assert len(entries) == 1, entries
    (entry,) = entries
    assert entry.ignored is None and entry.quarantined is None, entry
    build_events(entries, LogrageSource.name)
    (draft,) = entry.drafts
    assert draft.model is ServiceAccessed
    return draft.fields


# --- request lines ----------------------------------------------------------------------------


def test_the_reference_line_gives_every_field() -> None:
    assert fields(EXAMPLE) == {
        "object": None,
        "occurred_at": datetime(2026, 3, 2, 10, 1, 2, tzinfo=PST),
        "host": None,
        "client": None,
        "user": None,
        "method": "GET",
        "path": "/v1/objects/druid:bc123df4567/events",
        "template": "/v1/objects/druid:{druid}/events",
        "druid": "druid:bc123df4567",
        "status": 200,
        "bytes": None,
        "duration_ms": 58.33,
        "referer": None,
        "user_agent": None,
        "request_id": RID,
        "controller": "EventsController#index",
        "response_format": "json",
    }


def test_the_draft_leaves_agent_client_id_and_service_to_ingest() -> None:
    got = fields(EXAMPLE + " remote_ip=171.64.1.2 user=svc")
    assert not {"agent", "client_id", "service"} & set(got)


def test_common_extra_keys_are_mapped() -> None:
    got = fields(
        PREFIX + REQUEST + " remote_ip=171.64.1.2 user=argo host=sdr-api.stanford.edu "
        'user_agent="Faraday v2.9.0" bytes=1234 referer=https://argo.stanford.edu/ '
        'params={"id"=>"druid:bc123df4567"} allocations=2345 request_id=ignored-when-tagged'
    )
    assert got["client"] == "171.64.1.2"
    assert got["user"] == "argo"
    assert got["host"] == "sdr-api.stanford.edu"
    assert got["user_agent"] == "Faraday v2.9.0"
    assert got["bytes"] == 1234
    assert got["referer"] == "https://argo.stanford.edu/"
    assert got["request_id"] == RID
    assert got["status"] == 200


@pytest.mark.parametrize(
    ("extra", "key", "expected"),
    [
        ("ip=10.0.0.1", "client", "10.0.0.1"),
        ("client_ip=10.0.0.2", "client", "10.0.0.2"),
        ("remote_ip=10.0.0.3 ip=10.0.0.4", "client", "10.0.0.3"),
        ("user_id=42", "user", "42"),
        ("sub=sdr-client", "user", "sdr-client"),
        ("current_user=jdoe", "user", "jdoe"),
        ("user=first sub=second", "user", "first"),
        ("user= sub=token-subject", "user", "token-subject"),
        ("ua=curl/8.5.0", "user_agent", "curl/8.5.0"),
        ("length=99", "bytes", 99),
        ("bytes=-", "bytes", None),
        ("referrer=https://purl.stanford.edu/", "referer", "https://purl.stanford.edu/"),
        ("user=", "user", None),
        ("host=", "host", None),
    ],
)
def test_alternative_key_names(extra: str, key: str, expected: object) -> None:
    assert fields(f"{EXAMPLE} {extra}")[key] == expected


def test_request_id_key_is_used_without_a_tag() -> None:
    line = "[2026-03-02T10:01:02-08:00] [INFO] " + REQUEST + " request_id=abc-123"
    assert fields(line)["request_id"] == "abc-123"


def test_controller_without_action_and_action_without_controller() -> None:
    base = "method=GET path=/status time=2026-03-02T10:01:02Z status=200"
    assert fields(f"{base} controller=OkComputer::OkComputerController")["controller"] == (
        "OkComputer::OkComputerController"
    )
    assert fields(f"{base} action=index")["controller"] is None


@pytest.mark.parametrize("status", [200, 201, 204, 302, 304, 401, 403, 404, 409, 422, 500, 503])
def test_every_status(status: int) -> None:
    assert fields(EXAMPLE.replace("status=200", f"status={status}"))["status"] == status


def test_path_with_query_string_is_kept_and_normalised() -> None:
    got = fields(EXAMPLE.replace("/events", "/events?page=2&per=50"))
    assert got["path"] == "/v1/objects/druid:bc123df4567/events?page=2&per=50"
    assert got["template"] == "/v1/objects/druid:{druid}/events?page={}&per={}"


# --- quoting ------------------------------------------------------------------------------------


def test_double_quoted_values_with_spaces_and_escapes() -> None:
    got = fields(
        PREFIX + 'method=GET path="/a b/druid:bc123df4567" format=json status=404 '
        'error="ActiveRecord::RecordNotFound: Couldn\\"t find \\\\ it" duration=1.5'
    )
    assert got["path"] == "/a b/druid:bc123df4567"
    assert got["druid"] == "druid:bc123df4567"
    assert got["status"] == 404
    assert got["duration_ms"] == 1.5


def test_single_quoted_error_with_its_own_quote_does_not_swallow_later_keys() -> None:
    got = fields(
        PREFIX + "method=GET path=/v1/objects/druid:bc123df4567 controller=ObjectsController "
        "action=show status=404 error='ActiveRecord::RecordNotFound: Couldn't find Dro' "
        "duration=3.21 user=argo"
    )
    assert (got["status"], got["duration_ms"], got["user"]) == (404, 3.21, "argo")
    assert got["controller"] == "ObjectsController#show"


def test_ruby_hash_params_with_spaces_and_nesting() -> None:
    got = fields(
        PREFIX + "method=POST path=/v1/objects controller=ObjectsController action=create "
        'params={"object"=>{"label"=>"a b=c", "type"=>"x"}, "format"=>"json"} status=201 '
        "duration=120.5 remote_ip=10.1.1.1"
    )
    assert (got["method"], got["status"], got["duration_ms"]) == ("POST", 201, 120.5)
    assert got["client"] == "10.1.1.1"


def test_quoted_status_and_duration_are_read() -> None:
    got = fields(PREFIX + 'method=GET path=/x controller=A action=b status="200" duration="1.25"')
    assert (got["status"], got["duration_ms"]) == (200, 1.25)


# --- times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("time=2026-03-02T18:01:02Z", datetime(2026, 3, 2, 18, 1, 2, tzinfo=UTC)),
        ("time=2026-03-02T10:01:02.123-08:00", datetime(2026, 3, 2, 10, 1, 2, 123000, PST)),
        ('time="2026-03-02 10:01:02 -0800"', datetime(2026, 3, 2, 10, 1, 2, tzinfo=PST)),
        ('time="2026-03-02 18:01:02 UTC"', datetime(2026, 3, 2, 18, 1, 2, tzinfo=UTC)),
        ("timestamp=2026-03-02T18:01:02+00:00", datetime(2026, 3, 2, 18, 1, 2, tzinfo=UTC)),
        # Zone-less: read in the context's zone.
        ("time=2026-03-02T10:01:02", datetime(2026, 3, 2, 10, 1, 2, tzinfo=LA)),
    ],
)
def test_without_prefix_the_time_key_gives_the_time(time: str, expected: datetime) -> None:
    got = fields(f"{REQUEST} {time}")
    assert got["occurred_at"] == expected
    assert got["occurred_at"].utcoffset() == expected.utcoffset()
    assert got["request_id"] is None


def test_ruby_logger_layout_with_a_request_id_tag_zone_less_time_in_context_zone() -> None:
    got = fields(f"I, [2026-03-02T10:01:02.123456 #1234]  INFO -- : [{RID}] {REQUEST}")
    assert got["occurred_at"] == datetime(2026, 3, 2, 10, 1, 2, 123456, tzinfo=LA)
    assert got["occurred_at"].utcoffset() == timedelta(hours=-8)
    assert got["request_id"] == RID


def test_tag_only_without_time_uses_the_time_key() -> None:
    got = fields(f"[{RID}] {REQUEST} time=2026-03-02T18:01:02Z")
    assert got["request_id"] == RID
    assert got["occurred_at"] == datetime(2026, 3, 2, 18, 1, 2, tzinfo=UTC)


def test_prefix_time_wins_over_the_time_key() -> None:
    got = fields(f"{EXAMPLE} time=2020-01-01T00:00:00Z")
    assert got["occurred_at"] == datetime(2026, 3, 2, 10, 1, 2, tzinfo=PST)


def test_no_time_anywhere_is_quarantined_never_invented() -> None:
    (entry,) = feed([REQUEST])
    assert entry.quarantined == "no time"
    assert not entry.drafts
    (entry,) = feed([f"{REQUEST} time="])
    assert entry.quarantined == "no time"


# --- malformed, ignored, continued --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (EXAMPLE.replace("status=200", "status=abc"), "malformed status"),
        (EXAMPLE.replace("status=200", "status=2000"), "malformed status"),
        (EXAMPLE.replace("status=200", "status="), "malformed status"),
        (EXAMPLE.replace("status=200", "status=２００"), "malformed status"),
        (EXAMPLE.replace("duration=58.33", "duration=fast"), "malformed duration"),
        (EXAMPLE.replace("duration=58.33", "duration=nan"), "malformed duration"),
        (EXAMPLE + " bytes=12k", "malformed bytes"),
        (f"{REQUEST} time=yesterday", "malformed time"),
        (f"{REQUEST} time=2026-02-30T10:00:00Z", "malformed time"),
        (EXAMPLE.replace("2026-03-02T10", "2026-13-02T10"), "malformed time"),
    ],
)
def test_malformed_values_are_quarantined(line: str, reason: str) -> None:
    entries = feed([line])
    assert [(entry.quarantined, entry.lines) for entry in entries] == [(reason, [line])]


@pytest.mark.parametrize(
    "message",
    [
        'Started GET "/v1/objects/druid:bc123df4567" for 10.0.0.1 at 2026-03-02 10:01:02 -0800',
        "Processing by EventsController#index as JSON",
        "method=GET path=/x",  # neither status nor controller
        "path=/x status=200",
        "method= path=/x status=200",
        "  ObjectVersion Load (0.4ms)  SELECT 1",
        "",
    ],
)
def test_other_rails_lines_of_the_app_are_ignored(message: str) -> None:
    line = PREFIX + message
    entries = feed([line])
    assert [(entry.ignored, entry.lines) for entry in entries] == [("not a request line", [line])]


def test_lines_without_layout_continue_the_entry_before_them() -> None:
    lines = [
        "[2026-03-02T10:01:02-08:00] [ERROR] [r1] RuntimeError (boom):",
        "app/controllers/events_controller.rb:12:in 'index'",
        "",
        EXAMPLE,
        "a stray continuation",
    ]
    entries = feed(lines)
    assert_accounted(lines, entries)
    assert [len(entry.lines) for entry in entries] == [3, 2]
    assert entries[0].ignored == "not a request line"
    assert entries[1].drafts


def test_a_line_without_layout_and_nothing_before_it_is_quarantined() -> None:
    lines = ["app/controllers/events_controller.rb:12:in 'index'", "method=GET"]
    entries = feed(lines)
    assert_accounted(lines, entries)
    assert [entry.quarantined for entry in entries] == ["not a lograge line"] * 2


def test_identical_lines_are_two_requests() -> None:
    entries = feed([EXAMPLE, EXAMPLE])
    assert [len(entry.drafts) for entry in entries] == [1, 1]


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        EXAMPLE,
        REQUEST,
        "method=GET path=/x controller=A action=b",
        f"I, [2026-03-02T10:01:02.123456 #1234]  INFO -- : [{RID}] {REQUEST}",
    ],
)
def test_detect_claims_request_lines(line: str) -> None:
    assert LogrageSource.detect(line)


@pytest.mark.parametrize(
    "line",
    [
        "method=GET path=/x format=json",
        "xmethod=GET xpath=/x status=200",
        PREFIX + "Processing by EventsController#index as JSON",
        PREFIX + "validate_checksums(bj102hs9687, fixture_sr1) checksums match",
        '10.0.0.1 - - [02/Mar/2026:10:01:02 -0800] "GET /?method=a&path=b&status=c HTTP/1.1" 200 5',
        "2026-02-01T09:00:00.000Z pid=1 tid=a INFO: Finished druid:bj102hs9687 in 1.0s",
        '{"druid": "druid:bj102hs9687", "event_type": "update", "data": {}}',
    ],
)
def test_detect_leaves_other_lines_alone(line: str) -> None:
    assert not LogrageSource.detect(line)


def test_auto_reads_request_lines_as_lograge() -> None:
    source = create_source("auto", SourceContext(tz=LA))
    entries = source.feed(1, EXAMPLE) + source.finish()
    assert [(entry.source, len(entry.drafts)) for entry in entries] == [("lograge", 1)]


# --- never raises, every line accounted -------------------------------------------------------

REAL = [
    EXAMPLE,
    EXAMPLE.replace("status=200", "status=404") + " error='ActiveRecord::RecordNotFound: x'",
    PREFIX + 'method=POST path="/v1/objects" params={"a"=>"b c"} status=201 controller=O',
    f"{REQUEST} time=2026-03-02T18:01:02Z remote_ip=10.0.0.1 user=argo bytes=12",
    f"I, [2026-03-02T10:01:02.123456 #1234]  INFO -- : [{RID}] {REQUEST}",
    PREFIX + "  Rendered events/index.json.jbuilder (Duration: 1.2ms | Allocations: 300)",
    "app/controllers/events_controller.rb:12:in 'index'",
]


_mutated = mutated(REAL, 260)
_near_misses = st.builds(
    lambda prefix, tail: prefix + tail,
    st.sampled_from(
        [
            PREFIX + "method=GET path=",
            PREFIX + "method=GET path=/x status=",
            PREFIX + "method=GET path=/x controller=A status=200 duration=",
            "method=GET path=/x status=200 time=",
            'method=GET path="/x status=200 time="',
            "method=GET path=/x status=200 error='",
            "method=GET path=/x status=200 params={",
            "[2026-03-02T10:01:02-08:00] [INFO] ",
            "I, [2026-03-02T10:01:02.123456 #1]  INFO -- : ",
            PREFIX + "method=GET path=/x status=200" + " k=v" * 300 + " ",
        ]
    ),
    st.text(max_size=60),
)
_any_line = any_line(REAL, _mutated, _near_misses)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_any_line, max_size=30), st.randoms(use_true_random=False))
def test_any_sequence_of_lines_is_accounted_and_valid(
    lines: list[str], shuffle: random.Random
) -> None:
    shuffle.shuffle(lines)
    entries = feed(lines)
    assert_accounted(lines, entries)
    build_events(entries, LogrageSource.name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(REAL), _mutated, _near_misses), max_size=25))
def test_ingest_never_raises_accounts_and_replays_to_nothing(lines: list[str]) -> None:
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    data = log_bytes(lines)
    with SQLiteEventStore(MEMORY) as store:
        options = IngestOptions("lograge", tz=UTC)
        report = ingest_stream(store, io.BytesIO(data), "fuzz.log", options)
        assert report.lines == len(lines)
        assert report.lines == report.consumed + report.ignored + report.quarantined
        again = ingest_stream(store, io.BytesIO(data), "fuzz.log", options)
        assert again.events == 0
        assert again.quarantine_records == 0


def test_ingest_two_identical_lines_in_the_same_second_are_two_events() -> None:
    data = log_bytes([EXAMPLE, EXAMPLE])
    with SQLiteEventStore(MEMORY) as store:
        report = ingest_stream(store, io.BytesIO(data), "a.log", IngestOptions("lograge", tz=UTC))
        assert (report.consumed, report.quarantined) == (2, 0), report.quarantined_by_reason
        assert report.events == 2
        again = ingest_stream(store, io.BytesIO(data), "b.log", IngestOptions("auto", tz=UTC))
        assert (again.events, again.duplicates) == (0, 2)
