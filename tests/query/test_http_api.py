"""The query API's Lambda handler, given real-shaped API Gateway HTTP API (payload 2.0) events,
answers what the `prov` commands answer over the same store."""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

import handlers.api as api_handler
from eventstore import open_store
from handlers import container
from provenance.cli.demo.tour import run_demo
from provenance.domain.agent_registry import load_registry
from provenance.query.http_api import QueryApi
from provenance.query.negotiation import negotiate
from provenance.query.views import object_history
from tests.aws_lambda import Params, http_event
from tests.cli.test_cli import run
from tests.premis_helpers import assert_valid_premis

Call = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Demo:
    url: str
    druid: str  # the object with the most events
    events: int  # its actions: the entries of its history
    reports: int  # its stored events (a notification repeating an action is one more)


def make_demo(directory: Path) -> Demo:
    """A small `prov demo` store (4 objects, 30 days: preservation and access logs)."""
    run_demo(directory, objects=4, days=30, echo=lambda line: None)
    url = f"sqlite:///{directory / 'provenance.db'}"
    with open_store(url, create=False) as store:
        counts = {
            stream: len(store.read_stream(stream)) for stream in store.streams(prefix="druid:")
        }
        druid = max(counts, key=lambda stream: counts[stream])
        actions = len(object_history(store, druid))
    assert actions > 100, "the paging tests need an object with more than one default page"
    return Demo(url, druid, actions, counts[druid])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return make_demo(tmp_path_factory.mktemp("api-demo"))


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "prov-api"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-2:123456789012:function:prov-api"
    aws_request_id: str = "6f2ce5a1-7a5b-4f5e-9f2c-1d0f1c0e5a11"


@pytest.fixture
def call(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> Iterator[Call]:
    """The Lambda handler as API Gateway invokes it, over the demo store (PROV_STORE)."""
    monkeypatch.setenv("PROV_STORE", demo.url)
    monkeypatch.delenv("PROV_ORGANIZATION", raising=False)

    def invoke(path: str, params: Params | None = None, **options: Any) -> dict[str, Any]:
        return api_handler.handler(http_event(path, params, **options), LambdaContext())

    yield invoke
    container.close()


def body_json(response: dict[str, Any]) -> Any:
    assert not response["isBase64Encoded"]
    return json.loads(response["body"])


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args)
    assert (code, err) == (0, "")
    return json.loads(out)


def cli_premis(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> bytes:
    target = tmp_path / "cli-premis.out"
    code, _, _ = run(capsys, "premis", *args, "-o", str(target))
    assert code == 0
    return target.read_bytes()


# -- events -------------------------------------------------------------------------------------


def test_events_pages_give_the_cli_history_once_each(call, capsys, demo) -> None:
    pages = []
    after = None
    while True:
        response = call(
            f"/objects/{demo.druid}/events", {"limit": "7", **({"after": after} if after else {})}
        )
        assert response["statusCode"] == 200
        assert response["headers"]["Content-Type"] == "application/json"
        page = body_json(response)
        assert page["object"] == demo.druid
        pages.append(page["events"])
        after = page["next"]
        if after is None:
            break
        assert after == page["events"][-1]["cursor"]

    events = [event for page in pages for event in page]
    assert events == cli_json(
        capsys, "history", demo.druid, "--store", demo.url, "--format", "json"
    )
    # One entry per action: the notifications that repeat one are inside it, not beside it.
    joined = {notice["event_id"] for event in events for notice in event["also_reported_by"]}
    assert joined and len({event["event_id"] for event in events}) == len(events)
    assert len(events) == demo.events and len(events) + len(joined) == demo.reports
    assert [len(page) for page in pages] == [7] * (demo.events // 7) + (
        [demo.events % 7] if demo.events % 7 else []
    )


def test_events_default_page_is_100_and_says_where_to_go_on(call, demo) -> None:
    page = body_json(call(f"/objects/{demo.druid}/events"))

    assert len(page["events"]) == 100
    assert page["next"] == page["events"][99]["cursor"]
    rest = body_json(call(f"/objects/{demo.druid}/events", {"after": page["next"]}))
    assert len(rest["events"]) == demo.events - 100
    assert rest["next"] is None


def test_a_page_that_ends_the_history_exactly_has_no_next(call, demo) -> None:
    page = body_json(call(f"/objects/{demo.druid}/events", {"limit": str(demo.events)}))

    assert (len(page["events"]), page["next"]) == (demo.events, None)


def test_bare_prefixed_and_upper_case_druids_name_the_same_object(call, demo) -> None:
    bare = demo.druid.removeprefix("druid:")
    bodies = {
        call(f"/objects/{form}/events", {"limit": "3"})["body"]
        for form in (demo.druid, bare, bare.upper(), f"druid%3A{bare}")
    }

    assert len(bodies) == 1


def test_a_named_stage_prefix_is_not_part_of_the_route(call, demo) -> None:
    response = call(f"/prod/objects/{demo.druid}/state", stage="prod")

    assert response["statusCode"] == 200
    assert body_json(response)["object"] == demo.druid


# -- state and PREMIS ---------------------------------------------------------------------------


def test_state_is_the_cli_state(call, capsys, demo) -> None:
    response = call(f"/objects/{demo.druid}/state")

    assert response["statusCode"] == 200
    assert body_json(response) == cli_json(
        capsys, "state", demo.druid, "--store", demo.url, "--format", "json"
    )


def test_premis_is_xml_by_default_valid_and_the_cli_bytes(call, capsys, tmp_path, demo) -> None:
    response = call(f"/objects/{demo.druid}/premis")

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/xml"
    document = response["body"].encode()
    assert_valid_premis(document)
    assert document == cli_premis(capsys, tmp_path, demo.druid, "--store", demo.url)


@pytest.mark.parametrize(
    ("accept", "media_type", "fmt"),
    [
        ("text/turtle", "text/turtle", "turtle"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/xml;q=0.5, text/turtle;q=0.9", "text/turtle", "turtle"),
        ("text/turtle;q=0, */*;q=0.1", "application/xml", "xml"),
        ("application/*, text/turtle;q=0.8", "application/xml", "xml"),
        ("application/ld+json;q=0.4, application/*;q=0.3, text/*;q=0.2", "application/ld+json",
         "json-ld"),
    ],
)  # fmt: skip
def test_premis_by_accept_with_q_values_is_the_cli_format(
    call, capsys, tmp_path, demo, accept, media_type, fmt
) -> None:
    response = call(f"/objects/{demo.druid}/premis", headers={"Accept": accept})

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].split(";")[0] == media_type
    expected = cli_premis(capsys, tmp_path, demo.druid, "--store", demo.url, "--format", fmt)
    assert response["body"].encode() == expected


def test_premis_names_the_agents_it_is_given_as_the_cli_does(capsys, tmp_path, demo) -> None:
    agents = tmp_path / "agents.toml"
    agents.write_text('[agents.preservation_catalog]\nname = "SDR Preservation Catalog"\n')
    with open_store(demo.url, create=False) as store:
        api = QueryApi(
            lambda: store, organization="Stanford Libraries", agents=load_registry(agents)
        )
        response = api.handle(http_event(f"/objects/{demo.druid}/premis"))

    assert response["statusCode"] == 200
    document = response["body"].encode()
    assert b"<premis:agentName>SDR Preservation Catalog</premis:agentName>" in document
    assert document == cli_premis(
        capsys, tmp_path, demo.druid, "--store", demo.url,
        "--agents", str(agents), "--organization", "Stanford Libraries",
    )  # fmt: skip


def test_premis_format_parameter_overrides_accept(call, demo) -> None:
    response = call(
        f"/objects/{demo.druid}/premis", {"format": "turtle"}, headers={"Accept": "text/html"}
    )

    assert response["headers"]["Content-Type"] == "text/turtle; charset=utf-8"


def test_premis_base_uri_parameter_is_the_cli_base_uri(call, capsys, tmp_path, demo) -> None:
    base = "https://sdr.example.edu/premis/"
    response = call(f"/objects/{demo.druid}/premis", {"format": "turtle", "base_uri": base})

    assert response["statusCode"] == 200
    expected = cli_premis(
        capsys, tmp_path, demo.druid, "--store", demo.url, "--format", "turtle", "--base-uri", base
    )
    assert response["body"].encode() == expected
    assert f"<{base}druid/" in response["body"]


def test_gzip_for_clients_that_take_it(call, demo) -> None:
    plain = call(f"/objects/{demo.druid}/premis")
    packed = call(f"/objects/{demo.druid}/premis", headers={"Accept-Encoding": "gzip, br"})

    assert "Content-Encoding" not in plain["headers"]
    assert packed["headers"]["Content-Encoding"] == "gzip"
    assert packed["isBase64Encoded"] is True
    assert gzip.decompress(base64.b64decode(packed["body"])).decode() == plain["body"]
    assert packed["headers"]["ETag"] == plain["headers"]["ETag"]


def test_an_unchanged_answer_is_304_for_its_etag(call, demo) -> None:
    first = call(f"/objects/{demo.druid}/state")
    etag = first["headers"]["ETag"]
    assert first["headers"]["Cache-Control"] == "no-cache"

    again = call(f"/objects/{demo.druid}/state", headers={"If-None-Match": etag})
    other = call(f"/objects/{demo.druid}/state", headers={"If-None-Match": 'W/"0000"'})

    assert (again["statusCode"], again["body"], again["headers"]["ETag"]) == (304, "", etag)
    assert other["statusCode"] == 200


# -- access reports -----------------------------------------------------------------------------

REPORTS = [
    ({}, []),
    (
        {"by": "agent,service", "bucket": "day", "tz": "America/Los_Angeles", "top": "5"},
        ["--by", "agent,service", "--bucket", "day", "--tz", "America/Los_Angeles", "--top", "5"],
    ),
    (
        {"by": "path", "service": ["stacks", "purl"], "from": "2026-01-05", "to": "2026-01-12",
         "tz": "UTC"},
        ["--by", "path", "--service", "stacks", "--service", "purl", "--from", "2026-01-05",
         "--to", "2026-01-12", "--tz", "UTC"],
    ),
    (
        {"by": "status_class", "service": "stacks,sdr-api", "agent": "user:argo", "tz": "UTC"},
        ["--by", "status_class", "--service", "stacks", "--service", "sdr-api", "--agent",
         "user:argo", "--tz", "UTC"],
    ),
    ({"by": "druid", "top": "3", "tz": "UTC"}, ["--by", "druid", "--top", "3", "--tz", "UTC"]),
]  # fmt: skip


@pytest.mark.parametrize(("params", "options"), REPORTS)
def test_access_report_json_is_the_cli_report(call, capsys, demo, params, options) -> None:
    response = call("/reports/access", params)

    assert response["statusCode"] == 200
    rows = body_json(response)
    assert rows == cli_json(
        capsys, "report", "access", "--store", demo.url, *options, "--format", "json"
    )
    assert rows, "a report over the demo store has rows"


@pytest.mark.parametrize(
    ("params", "headers"),
    [({"format": "csv"}, {}), ({}, {"Accept": "text/csv"}), ({}, {"Accept": "text/*"})],
)
def test_access_report_csv_is_the_cli_csv(call, capsys, demo, params, headers) -> None:
    response = call("/reports/access", {"by": "agent", "tz": "UTC", **params}, headers=headers)

    assert response["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    code, out, _ = run(
        capsys, "report", "access", "--store", demo.url, "--by", "agent", "--tz", "UTC",
        "--format", "csv",
    )  # fmt: skip
    assert code == 0
    assert response["body"] == out


# -- errors -------------------------------------------------------------------------------------


def assert_error(response: dict[str, Any], status: int, *words: str) -> str:
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert "\n" not in response["body"]
    message = body_json(response)["error"]
    for word in words:
        assert word in message
    return str(message)


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("/objects/xx/events", {}, ["not a druid", "'xx'"]),
        ("/objects/druid:ae123cd4567x/state", {}, ["not a druid"]),
        ("/objects/bc123df4567/premis", {"format": "pdf"}, ["format", "'pdf'"]),
        (
            "/objects/{druid}/premis",
            {"format": "turtle", "base_uri": "sdr/"},
            ["base_uri", "'sdr/'", "absolute IRI"],
        ),
        (
            "/objects/{druid}/premis",
            {"format": "json-ld", "base_uri": "urn:sdr"},
            ["base_uri", "end with '/'"],
        ),
        ("/objects/{druid}/premis", {"base_uri": "urn:sdr:"}, ["base_uri names RDF resources"]),
        ("/objects/{druid}/events", {"limit": "0"}, ["limit", "1 to 1000"]),
        ("/objects/{druid}/events", {"limit": "1001"}, ["limit"]),
        ("/objects/{druid}/events", {"limit": "ten"}, ["limit", "'ten'"]),
        ("/objects/{druid}/events", {"limit": ["5", "6"]}, ["limit", "'5,6'"]),
        ("/objects/{druid}/events", {"after": "yesterday"}, ["not a paging cursor"]),
        ("/objects/{druid}/events", {"lmit": "5"}, ["unknown parameter 'lmit'", "limit, after"]),
        ("/objects/{druid}/state", {"limit": "5"}, ["unknown parameter 'limit'"]),
        ("/reports/access", {"bucket": "year"}, ["bucket", "'year'"]),
        ("/reports/access", {"by": "colour"}, ["unknown dimension 'colour'"]),
        ("/reports/access", {"from": "last week"}, ["'last week'", "ISO date"]),
        ("/reports/access", {"from": "2026-01-05T10:30", "tz": "UTC"}, ["on the hour"]),
        ("/reports/access", {"from": "2026-01-05", "to": "2026-01-01"}, ["before"]),
        ("/reports/access", {"top": "0"}, ["top", "from 1 to 2147483647"]),
        ("/reports/access", {"top": "99999999999999999999"}, ["top", "from 1 to 2147483647"]),
        ("/reports/access", {"from": "9999-12-31T23:00-05:00"}, ["after the last time"]),
        ("/reports/access", {"to": "0001-01-01T00:00+01:00"}, ["before the first time"]),
        ("/reports/access", {"tz": "Mars/Olympus"}, ["unknown time zone"]),
        ("/reports/access", {"format": "xml"}, ["format", "'xml'"]),
    ],
)
def test_malformed_druids_and_parameters_are_400(call, demo, path, params, words) -> None:
    assert_error(call(path.format(druid=demo.druid), params), 400, *words)


LONG = "x" * 3_000


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/objects/{druid}/events", {"after": LONG}),
        ("/objects/{druid}/events", {"limit": LONG}),
        ("/objects/{druid}/events", {LONG: "1"}),
        (f"/objects/{LONG}/events", {}),
        ("/objects/{druid}/premis", {"format": LONG}),
        ("/objects/{druid}/premis", {"format": "turtle", "base_uri": LONG}),
        ("/reports/access", {"by": LONG}),
        ("/reports/access", {"bucket": LONG}),
        ("/reports/access", {"from": LONG}),
        ("/reports/access", {"from": "9999-12-31T23:00-05:00" + " " * 3_000}),
        ("/reports/access", {"tz": LONG}),
        ("/reports/access", {"format": LONG}),
    ],
)
def test_a_400_shows_a_long_value_cut_to_its_start(call, demo, path, params) -> None:
    """A 3,000-character value is named by its start (`provenance.domain.shown`), not echoed
    whole."""
    message = assert_error(call(path.format(druid=demo.druid), params), 400)

    assert "…" in message and len(message) < 300, message


def test_the_cli_shows_a_long_cursor_cut_to_its_start(capsys, demo) -> None:
    code, out, err = run(capsys, "history", demo.druid, "--store", demo.url, "--after", LONG)

    assert (code, out) == (1, "")
    assert "is not a paging cursor" in err and "…" in err and len(err) < 200, err


# What int() takes and a person does not mean: a sign, underscores, blanks, other scripts' digits.
NOT_WHOLE_NUMBERS = ["+5", "1_0", "\u0665", "\uff15", " 5", "5 ", "5.0", "0x5", "-0", "²"]


@pytest.mark.parametrize("value", NOT_WHOLE_NUMBERS)
def test_a_count_is_the_digits_0_9_alone_as_on_the_command_line(
    capsys, call, demo, value: str
) -> None:
    path = f"/objects/{demo.druid}/events"
    assert_error(call(path, {"limit": value}), 400, "limit", "digits 0-9", repr(value))
    assert_error(call("/reports/access", {"top": value}), 400, "top", "digits 0-9")
    # The CLI takes the same texts (`prov history --limit`): the rule is one function.
    code, out, err = run(capsys, "history", demo.druid, "--store", demo.url, "--limit", value)
    assert (code, out) == (1, "") and "'--limit'" in err and "digits 0-9" in err


def test_leading_zeros_are_still_the_number(call, demo) -> None:
    page = body_json(call(f"/objects/{demo.druid}/events", {"limit": "0003"}))
    assert len(page["events"]) == 3


@pytest.mark.parametrize(
    ("params", "said", "not_said"),
    [
        (
            {"from": "2026-01-05T10:30", "tz": "UTC"},
            "from 2026-01-05T10:30:00+00:00 is not on",
            "--",
        ),
        ({"to": "2026-01-05T10:30", "tz": "UTC"}, "to 2026-01-05T10:30:00+00:00 is not on", "--"),
        ({"from": "2026-01-05", "to": "2026-01-01"}, "from must be before to", "--"),
        ({"from": "9999-12-31T23:00-05:00"}, "from '9999-12-31T23:00-05:00' is after", "--"),
        ({"to": "0001-01-01T00:00+01:00"}, "to '0001-01-01T00:00+01:00' is before", "--"),
        ({"from": "last week"}, "from 'last week' is not an ISO date", "--"),
    ],
)
def test_report_errors_name_the_api_parameter(call, params, said: str, not_said: str) -> None:
    message = assert_error(call("/reports/access", params), 400, said)
    assert not_said not in message


@pytest.mark.parametrize("route", ["events", "state", "premis"])
def test_an_unknown_object_is_404(call, route) -> None:
    assert_error(call(f"/objects/bc123df4567/{route}"), 404, "druid:bc123df4567")


def test_an_unknown_object_is_404_on_later_pages_too(call, demo) -> None:
    page = body_json(call(f"/objects/{demo.druid}/events", {"limit": "1"}))

    response = call("/objects/bc123df4567/events", {"after": page["next"]})

    assert_error(response, 404, "druid:bc123df4567")


@pytest.mark.parametrize(
    "path",
    ["/index.html", "/objects/bc123df4567/other", "/objects/bc123df4567/events/", "/reports/other"],
)
def test_an_unknown_route_is_404(call, path) -> None:
    assert_error(call(path), 404, "no such resource", "/objects/{druid}/events")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_another_method_is_405(call, demo, method) -> None:
    response = call(f"/objects/{demo.druid}/state", method=method)

    assert_error(response, 405, method)
    assert response["headers"]["Allow"] == "GET, HEAD"


def head_cases(druid: str) -> list[tuple[str, Params | None, dict[str, str] | None]]:
    """Every route, negotiated and compressed answers, a 304 and each kind of error."""
    return [
        (f"/objects/{druid}/events", {"limit": "5"}, None),
        (f"/objects/{druid}/state", None, None),
        (f"/objects/{druid}/premis", None, None),
        (f"/objects/{druid}/premis", None, {"accept": "text/turtle"}),
        (f"/objects/{druid}/premis", None, {"accept-encoding": "gzip"}),
        ("/reports/access", {"by": "agent", "tz": "UTC"}, None),
        ("/reports/access", {"by": "path", "format": "csv", "tz": "UTC"}, None),
        ("/objects/bc123df4567/state", None, None),
        ("/objects/not-a-druid/events", None, None),
        (f"/objects/{druid}/events", {"limit": "abc"}, None),
        (f"/objects/{druid}/premis", None, {"accept": "text/html"}),
        ("/nothing/here", None, None),
    ]


def test_head_answers_what_get_answers_without_the_body(call, demo) -> None:
    for path, params, headers in head_cases(demo.druid):
        get = call(path, params, headers=headers)
        head = call(path, params, headers=headers, method="HEAD")

        body = get["body"].encode()
        if get["isBase64Encoded"]:
            body = base64.b64decode(body)
        assert head["statusCode"] == get["statusCode"], path
        assert head["headers"] == {**get["headers"], "Content-Length": str(len(body))}, path
        assert (head["body"], head["isBase64Encoded"]) == ("", False), path
        assert len(body) > 0, path


def test_head_with_a_matching_etag_is_304_like_get(call, demo) -> None:
    path = f"/objects/{demo.druid}/state"
    etag = call(path)["headers"]["ETag"]

    get = call(path, headers={"if-none-match": etag})
    head = call(path, headers={"if-none-match": etag}, method="HEAD")

    assert get["statusCode"] == head["statusCode"] == 304
    # RFC 9110, 8.6: a 304 states no Content-Length (or the 200's, never 0).
    assert head["headers"] == get["headers"] and "Content-Length" not in head["headers"]
    assert head["body"] == get["body"] == ""


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/objects/{druid}/premis", "text/html"),
        ("/objects/{druid}/premis", "application/xml;q=0, text/turtle;q=0, */*;q=0"),
        ("/objects/{druid}/state", "text/csv"),
        ("/reports/access", "application/xml"),
    ],
)
def test_nothing_acceptable_is_406(call, demo, path, accept) -> None:
    response = call(path.format(druid=demo.druid), headers={"Accept": accept})

    assert_error(response, 406, "available as")


def test_an_unreachable_store_is_503(call, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PROV_STORE", f"sqlite:///{tmp_path / 'missing.db'}")

    message = assert_error(call("/objects/bc123df4567/state"), 503, "unavailable")

    assert "missing.db" not in message


def test_an_unexpected_error_is_a_generic_500_and_logged_with_its_traceback() -> None:
    def broken_store() -> Any:
        raise RuntimeError("secret detail of /var/lib/prov")

    log = io.StringIO()
    api = QueryApi(broken_store, logger=Logger(service="prov-api-test", stream=log))

    response = api.handle(http_event("/objects/bc123df4567/state"))

    assert assert_error(response, 500) == "internal error"
    assert "secret" not in response["body"]
    logged = [json.loads(line) for line in log.getvalue().splitlines()]
    failure = next(entry for entry in logged if entry["level"] == "ERROR")
    assert "RuntimeError: secret detail" in failure["exception"]
    assert logged[-1]["status"] == 500


def test_a_response_over_the_body_limit_is_refused_with_advice(demo) -> None:
    with open_store(demo.url, create=False) as store:
        api = QueryApi(lambda: store, max_body_bytes=10_000)

        response = api.handle(http_event(f"/objects/{demo.druid}/premis"))
        small = api.handle(http_event(f"/objects/{demo.druid}/events", {"limit": "2"}))

    assert_error(response, 500, "over the 10,000-byte limit", "Accept-Encoding: gzip")
    assert small["statusCode"] == 200


# -- content negotiation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/xml"),
        ("", "application/xml"),
        ("*/*", "application/xml"),
        ("TEXT/Turtle", "text/turtle"),
        ("text/turtle;q=0.5, application/ld+json;q=0.5", "text/turtle"),
        ("text/*;q=0.9, text/turtle;q=0.1, application/xml;q=0.5", "application/xml"),
        ("application/ld+json;q=bad, text/turtle;q=0.1", "text/turtle"),
        ("image/png", None),
    ],
)
def test_negotiation_honours_the_most_specific_range_and_q(accept, chosen) -> None:
    offers = ("application/xml", "text/turtle", "application/ld+json")

    assert negotiate(accept, offers) == chosen
