"""The `clf` source: Common / Combined Log Format access lines -> `ServiceAccessed`.

Lines follow Apache's `common`, `combined` and `vhost_combined` formats and Rack's
CommonLogger (sdr-services-app, duration in seconds last); none is a captured production line.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import EventStore
from eventstore.sqlite import MEMORY, SQLiteEventStore
from provenance.domain.events import DomainEvent, ServiceAccessed, load_event
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.ingest.report import IngestReport
from provenance.sources.base import Entry
from provenance.sources.clf import NOT_A_REQUEST, ClfSource
from tests.sources.helpers import assert_accounted as accounted
from tests.sources.helpers import build_events, feed_source, mutated

LA = ZoneInfo("America/Los_Angeles")
PST = timezone(timedelta(hours=-8))
TIME = "02/Mar/2026:10:01:02 -0800"
AT = datetime(2026, 3, 2, 10, 1, 2, tzinfo=PST)
PATH = "/objects/druid:bb123cd4567/content/file.pdf"
RACK = f'171.64.1.2 - - [{TIME}] "GET {PATH} HTTP/1.1" 200 12345 0.0123'
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0"


def clf(
    request: str = f"GET {PATH} HTTP/1.1",
    *,
    client: str = "171.64.1.2",
    user: str = "-",
    time: str = TIME,
    status: str = "200",
    size: str = "12345",
    tail: str = "",
) -> str:
    return f'{client} - {user} [{time}] "{request}" {status} {size}{tail}'


def feed(lines: list[str], tz: Any = LA) -> list[Entry]:
    return feed_source(ClfSource, lines, tz, "stacks")


def build(entries: list[Entry]) -> list[DomainEvent]:
    return build_events(entries, ClfSource.name)


def assert_accounted(lines: list[str], entries: list[Entry]) -> None:
    """Every line in exactly one entry, one line and at most one request per entry."""
    accounted(lines, entries)
    assert all(len(entry.lines) == 1 and len(entry.drafts) <= 1 for entry in entries)


def one(line: str) -> ServiceAccessed:
    entries = feed([line])
    assert_accounted([line], entries)
    [event] = build(entries)
    assert isinstance(event, ServiceAccessed)
    return event


def request_fields(event: ServiceAccessed) -> dict[str, Any]:
    """What the source decides (ingest adds agent, client_id and service)."""
    return event.model_dump(
        exclude={
            "schema_version",
            "event_id",
            "type",
            "recorded_at",
            "source",
            "agent",
            "service",
            "client_id",
            "object_conforming",
            "version",
            "linked_objects",
        }
    )


EXPECTED_RACK: dict[str, Any] = {
    "object": None,
    "occurred_at": AT,
    "premis_type": None,
    "outcome": None,
    "detail": None,
    "host": None,
    "client": "171.64.1.2",
    "user": None,
    "method": "GET",
    "path": PATH,
    "template": "/objects/druid:{druid}/content/{file}",
    "protocol": "HTTP/1.1",
    "status": 200,
    "bytes": 12345,
    "duration_ms": 12.3,
    "referer": None,
    "user_agent": None,
    "druid": "druid:bb123cd4567",
    "request_id": None,
    "controller": None,
    "response_format": None,
    "complete": True,
}


# --- the formats ------------------------------------------------------------------------------


def test_rack_common_logger_line() -> None:
    event = one(RACK)
    assert request_fields(event) == EXPECTED_RACK
    assert event.occurred_at.utcoffset() == timedelta(hours=-8)


def test_common_log_format() -> None:
    event = one(clf())
    assert request_fields(event) == {**EXPECTED_RACK, "duration_ms": None}


def test_combined_log_format() -> None:
    event = one(clf(tail=f' "https://purl.stanford.edu/bb123cd4567" "{UA}"'))
    assert request_fields(event) == {
        **EXPECTED_RACK,
        "duration_ms": None,
        "referer": "https://purl.stanford.edu/bb123cd4567",
        "user_agent": UA,
    }


@pytest.mark.parametrize(
    ("tail", "referer", "agent", "duration_ms"),
    [
        (" 0.0123", None, None, 12.3),
        (" 2", None, None, 2000.0),
        (" 0.0007", None, None, 0.7),
        (f' "-" "{UA}" 1.5', None, UA, 1500.0),
        (f' "https://x.example/" "{UA}" 0.0005', "https://x.example/", UA, 0.5),
        (' "" "" 0.1', None, None, 100.0),
        (" 0.0123  ", None, None, 12.3),
    ],
)
def test_trailing_duration_after_common_or_combined_fields(
    tail: str, referer: str | None, agent: str | None, duration_ms: float
) -> None:
    event = one(clf(tail=tail))
    assert (event.referer, event.user_agent, event.duration_ms) == (referer, agent, duration_ms)


@pytest.mark.parametrize(
    "client",
    [
        "171.64.1.2",
        "2001:db8::1",
        "::1",
        "fe80::1%eth0",
        "crawl-66-249-66-1.googlebot.com",
        "localhost",
    ],
)
def test_clients_as_logged(client: str) -> None:
    assert one(clf(client=client)).client == client


def test_x_forwarded_for_list_names_the_first_address() -> None:
    # Rack < 3 logs X-Forwarded-For as is: the client, then the proxies it went through.
    assert one(clf(client="171.64.1.2, 10.0.0.5, 10.0.0.6")).client == "171.64.1.2"


def test_unknown_client_and_sizes() -> None:
    event = one(clf(client="-", size="-"))
    assert (event.client, event.bytes) == (None, None)
    assert one(clf(size="0")).bytes == 0


def test_authenticated_user() -> None:
    assert one(clf(user="frank")).user == "frank"
    assert one(clf(user="argo@stanford.edu")).user == "argo@stanford.edu"


def test_vhost_combined_sets_the_server_host() -> None:
    line = "sdr-services.stanford.edu:443 " + clf(tail=f' "-" "{UA}"')
    event = one(line)
    assert (event.host, event.client, event.user_agent) == (
        "sdr-services.stanford.edu",
        "171.64.1.2",
        UA,
    )


def test_vhost_with_ipv6_client() -> None:
    event = one("www.example.com:80 " + clf(client="2001:db8::7"))
    assert (event.host, event.client) == ("www.example.com", "2001:db8::7")


# --- escapes ----------------------------------------------------------------------------------


def test_escaped_quotes_and_backslashes_in_referer_and_user_agent() -> None:
    tail = r' "https://x.example/?q=\"maps\"" "Bot \"quoted\" C:\\path\\"'
    event = one(clf(tail=tail))
    assert event.referer == 'https://x.example/?q="maps"'
    assert event.user_agent == 'Bot "quoted" C:\\path\\'


def test_escaped_quote_and_backslash_in_the_request_target() -> None:
    event = one(clf(r"GET /search?q=\"a\\b\" HTTP/1.1"))
    assert event.path == '/search?q="a\\b"'
    assert event.template == "/search?q={}"


def test_nginx_hex_escapes_that_are_utf8_text_are_decoded() -> None:
    event = one(clf(tail=r' "-" "caf\xC3\xA9 \x22bot\x22"'))
    assert event.user_agent == 'café "bot"'


def test_other_escapes_stay_as_logged() -> None:
    # A control character or a byte that is no UTF-8 would not be text: keep what was logged.
    event = one(clf(tail=r' "-" "a\x07b \xFF c\nd \\x41"'))
    assert event.user_agent == r"a\x07b \xFF c\nd \x41"


def test_unescaped_quote_in_a_field_is_quarantined() -> None:
    [entry] = feed([clf(tail=' "-" "say "hi" bot"')])
    assert entry.quarantined == "malformed referer, user agent or duration"


# --- times ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "offset"),
    [
        ("+0000", timedelta(0)),
        ("-0000", timedelta(0)),
        ("-0800", timedelta(hours=-8)),
        ("-0700", timedelta(hours=-7)),
        ("+0530", timedelta(hours=5, minutes=30)),
        ("+1345", timedelta(hours=13, minutes=45)),
        ("-0930", timedelta(hours=-9, minutes=-30)),
        ("+2359", timedelta(hours=23, minutes=59)),
    ],
)
def test_any_zone_offset(zone: str, offset: timedelta) -> None:
    event = one(clf(time=f"29/Feb/2024:23:59:59 {zone}"))
    assert event.occurred_at == datetime(2024, 2, 29, 23, 59, 59, tzinfo=timezone(offset))
    assert event.occurred_at.utcoffset() == offset


def test_the_logged_offset_wins_over_the_context_zone() -> None:
    [entry] = feed([clf(time="02/Jul/2026:10:00:00 +0000")], tz=LA)
    assert entry.drafts[0].fields["occurred_at"] == datetime(2026, 7, 2, 10, tzinfo=UTC)


def test_times_change_from_line_to_line() -> None:
    times = [
        "02/Mar/2026:10:01:02 -0800",
        "02/Mar/2026:10:01:02 -0800",
        "02/Mar/2026:10:01:03 -0800",
        "02/Mar/2026:18:01:02 +0000",
        "02/Mar/2026:10:01:02 -0800",
    ]
    events = build(feed([clf(time=time) for time in times]))
    assert [event.occurred_at for event in events] == [
        AT,
        AT,
        AT + timedelta(seconds=1),
        datetime(2026, 3, 2, 18, 1, 2, tzinfo=UTC),
        AT,
    ]
    assert [event.occurred_at.utcoffset() for event in events][3] == timedelta(0)


# --- requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_line", "method", "path", "template", "protocol"),
    [
        ("GET / HTTP/1.0", "GET", "/", "/", "HTTP/1.0"),
        ("HEAD /bb123cd4567.xml HTTP/2.0", "HEAD", "/bb123cd4567.xml", "/{druid}.xml", "HTTP/2.0"),
        ("POST /v1/objects HTTP/2", "POST", "/v1/objects", "/v1/objects", "HTTP/2"),
        ("PROPFIND /dav/ HTTP/1.1", "PROPFIND", "/dav/", "/dav/", "HTTP/1.1"),
        ("OPTIONS * HTTP/1.1", "OPTIONS", "*", "*", "HTTP/1.1"),
        (
            "CONNECT example.com:443 HTTP/1.1",
            "CONNECT",
            "example.com:443",
            "{authority}",
            "HTTP/1.1",
        ),
        (
            "GET http://purl.stanford.edu/bb123cd4567 HTTP/1.1",
            "GET",
            "http://purl.stanford.edu/bb123cd4567",
            "/{druid}",
            "HTTP/1.1",
        ),
        # HTTP/0.9: no protocol field, and the target is a path.
        ("GET /bb123cd4567", "GET", "/bb123cd4567", "/{druid}", None),
    ],
)
def test_request_lines(
    request_line: str, method: str, path: str, template: str, protocol: str | None
) -> None:
    event = one(clf(request_line))
    assert (event.method, event.path, event.template, event.protocol) == (
        method,
        path,
        template,
        protocol,
    )


def test_iiif_request_names_the_druid() -> None:
    event = one(clf("GET /image/iiif/bb123cd4567%2Fimg_001/full/!400,400/0/default.jpg HTTP/1.1"))
    assert event.path == "/image/iiif/bb123cd4567%2Fimg_001/full/!400,400/0/default.jpg"
    assert event.template == "/image/iiif/{druid}%2F{file}/full/{id}/{n}/default.jpg"
    assert event.druid == "druid:bb123cd4567"


@pytest.mark.parametrize("status", ["100", "200", "206", "304", "404", "499", "599"])
def test_statuses(status: str) -> None:
    assert one(clf(status=status)).status == int(status)


# --- what is not a request --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (clf("-", status="400", size="0"), NOT_A_REQUEST),
        (clf("", status="408", size="-"), NOT_A_REQUEST),
        (clf(r"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", status="400"), NOT_A_REQUEST),
        (clf("GET /a b HTTP/1.1", status="400"), NOT_A_REQUEST),
        (clf("GET HTTP/1.1", status="400"), NOT_A_REQUEST),
        (clf("GET  HTTP/1.1", status="400"), NOT_A_REQUEST),
        (clf("get / HTTP/1.1", status="400"), NOT_A_REQUEST),
        (clf("GET / HTTP/1.1 extra", status="400"), NOT_A_REQUEST),
        (clf("GET example.com", status="400"), NOT_A_REQUEST),
        (clf(time="32/Feb/2026:10:01:02 -0800"), "invalid date or time"),
        (clf(time="29/Feb/2025:10:01:02 -0800"), "invalid date or time"),
        (clf(time="02/Mar/2026:24:00:00 -0800"), "invalid date or time"),
        (clf(time="02/Mar/2026:10:60:00 -0800"), "invalid date or time"),
        (clf(time="02/Mar/2026:10:01:60 -0800"), "invalid date or time"),
        (clf(time="00/Mar/2026:10:01:02 -0800"), "invalid date or time"),
        (clf(time="02/Mrz/2026:10:01:02 -0800"), "malformed timestamp"),
        (clf(time="02/mar/2026:10:01:02 -0800"), "malformed timestamp"),
        (clf(time="2026-03-02T10:01:02-08:00"), "malformed timestamp"),
        (clf(time="02/Mar/2026:10:01:02"), "malformed timestamp"),
        (clf(time="02/Mar/2026:10:01:02 -0860"), "invalid zone offset"),
        (clf(time="02/Mar/2026:10:01:02 +2400"), "invalid zone offset"),
        # Times near the ends of the calendar are ingest's to refuse, for every source alike
        # (tests/domain/test_event_time.py).
        (clf(status="099"), "status out of range"),
        (clf(status="600"), "status out of range"),
        (clf(status="20"), "malformed status"),
        (clf(status="-"), "malformed status"),
        (clf(size="12a"), "malformed bytes"),
        (clf(size="1" * 19), "malformed bytes"),
        (clf(tail=" fast"), "malformed referer, user agent or duration"),
        (clf(tail=' "-"'), "malformed referer, user agent or duration"),
        (clf(tail=' "-" "ua" 1.5 more'), "malformed referer, user agent or duration"),
        ("171.64.1.2 - - 02/Mar/2026:10:01:02 GET /", "not a Common or Combined Log Format line"),
        ('{"druid": "druid:bb123cd4567"}', "not a Common or Combined Log Format line"),
        ("\x00\x01\x02", "not a Common or Combined Log Format line"),
    ],
)
def test_quarantined(line: str, reason: str) -> None:
    [entry] = feed([line])
    assert entry.quarantined == reason
    assert entry.lines == [line]


@pytest.mark.parametrize("line", ["", " ", "\t", "  \t  "])
def test_blank_lines_are_ignored(line: str) -> None:
    [entry] = feed([line])
    assert entry.ignored == "blank line"


# --- detection (used per line by `auto`) -------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        RACK,
        clf(client="2001:db8::1", user="frank"),
        clf(client="171.64.1.2, 10.0.0.5"),
        "www.example.com:443 " + clf(),
        clf("-", status="400"),
        clf(time="32/Feb/2026:10:01:02 -0800"),
    ],
)
def test_detects_access_lines(line: str) -> None:
    assert ClfSource.detect(line)


@pytest.mark.parametrize(
    "line",
    [
        "",
        '{"druid": "druid:bb123cd4567", "event_type": "shelve"}',
        "2026-02-01T09:00:00.000Z pid=12 tid=abc INFO: druid:bb123cd4567 processing x (aWF)",
        "I, [2026-03-02T10:01:02.123456 #12345]  INFO -- : Validating druid:bb123cd4567",
        "[2026-03-02T10:01:02.123+00:00] [INFO] [abc-123] method=GET path=/v1/objects status=200",
        'I, [2026-03-02T10:01:02.123456 #1]  INFO -- : [abc] Started GET "/x" for 1.2.3.4 at now',
        '171.64.1.2 - - [2026-03-02 10:01:02] "GET / HTTP/1.1" 200 5',
    ],
)
def test_does_not_detect_other_formats(line: str) -> None:
    assert not ClfSource.detect(line)


# --- fuzzing: the source ------------------------------------------------------------------------

VALID = [
    RACK,
    clf(),
    clf(tail=f' "-" "{UA}"'),
    clf(tail=f' "https://x.example/" "{UA}" 0.25'),
    clf(client="2001:db8::1", user="frank", size="-"),
    "www.example.com:443 " + clf(tail=' "-" "-"'),
    clf(r"GET /q?x=\"1\" HTTP/1.1", tail=r' "-" "a \"b\" \\ \xC3\xA9"'),
    clf("GET /image/iiif/bb123cd4567%2Fimg/0,0,10,10/full/0/default.jpg HTTP/1.1"),
    clf("GET /bb123cd4567"),
    clf("-", status="400"),
    clf(time="02/Mar/2026:10:01:02 +0530"),
    "",
]
_varied_lines = st.builds(
    lambda client, user, day, year, zone, request, status, size, tail: clf(
        request,
        client=client,
        user=user,
        time=f"{day}/Dec/{year}:23:59:59 {zone}",
        status=status,
        size=size,
        tail=tail,
    ),
    st.sampled_from(["1.2.3.4", "::1", "-", "a, b", "h.example"]),
    st.sampled_from(["-", "u"]) | st.text(max_size=5),
    st.sampled_from(["01", "31", "32", "00", "99"]),
    # The ends of what datetime can hold: no UTC day or expiry could be computed for them.
    st.sampled_from(["2026", "0001", "9999", "1969", "3000"]),
    st.sampled_from(["+0000", "-0800", "+1345", "+9999", "-0060"]),
    st.text(max_size=40) | st.sampled_from(["GET / HTTP/1.1", "GET /x", "-", "GET \\"]),
    st.sampled_from(["200", "000", "999", "2000", "-"]),
    st.sampled_from(["0", "-", "1" * 25]),
    st.text(max_size=30) | st.sampled_from([' "-" "-"', " 0.5", ' "\\" "\\"', ' "a" "b" 1']),
)
_mutated = mutated(VALID, 160)
_any_line = st.one_of(st.sampled_from(VALID), _varied_lines, _mutated, st.text(max_size=200))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_any_line, max_size=30))
def test_any_sequence_of_lines_is_accounted_and_valid(lines: list[str]) -> None:
    entries = feed(lines, tz=UTC)
    assert_accounted(lines, entries)
    assert sum(len(entry.lines) for entry in entries) == len(lines)
    build(entries)


# --- ingest -----------------------------------------------------------------------------------


def ingest(store: EventStore, data: bytes, name: str = "access.log") -> IngestReport:
    return ingest_stream(store, io.BytesIO(data), name, IngestOptions("clf", tz=UTC))


def test_identical_lines_in_one_second_are_two_requests() -> None:
    data = f"{RACK}\n{RACK}\n".encode()
    with SQLiteEventStore(MEMORY) as store:
        report = ingest(store, data)
        assert (report.lines, report.consumed, report.events) == (2, 2, 2)
        events = [load_event(record.payload) for record in store.read_all()]
        assert [event.type for event in events] == ["ServiceAccessed", "ServiceAccessed"]
        assert len({event.event_id for event in events}) == 2
        again = ingest(store, data, "rotated.log")
        assert (again.events, again.duplicates) == (0, 2)


_bytes_lines = st.one_of(
    st.sampled_from(VALID).map(str.encode),
    _varied_lines.map(str.encode),
    st.builds(
        lambda line, at, junk: line[:at] + junk + line[at + len(junk) :],
        st.sampled_from(VALID).map(str.encode),
        st.integers(0, 160),
        st.binary(max_size=4),
    ),
    st.binary(max_size=200),
).map(lambda raw: raw.replace(b"\n", b""))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_bytes_lines, max_size=30))
def test_ingest_never_raises_and_accounts_for_every_line(lines: list[bytes]) -> None:
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    with SQLiteEventStore(MEMORY) as store:
        report = ingest(store, data, "fuzz.log")
        assert report.lines == len(lines)
        assert report.lines == report.consumed + report.ignored + report.quarantined
        again = ingest(store, data, "again.log")
        assert again.events == 0
        assert again.duplicates == report.events
