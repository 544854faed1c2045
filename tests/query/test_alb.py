"""The dashboard's front door: the api function answers the Application Load Balancer's events
(`provenance.query.alb` translates them) as it answers API Gateway's, within the ALB's 1 MB, and
logs who the ALB signed in; on the IAM HTTP API path, sign-in headers count for nothing."""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import handlers.api as api_handler
from handlers import container
from provenance.cli.main import main
from provenance.query import alb
from tests.aws_lambda import LambdaContext, http_event
from tests.samples import OBJECT_LOG

DRUID = "bj102hs9687"
USER = "8f1c2b9e-35d5-4a3e-9c1f-6a0c1b2d3e4f"
Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def alb_event(
    path: str,
    params: dict[str, str | list[str]] | None = None,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    multi: bool = False,
) -> dict[str, Any]:
    """An event as an ALB target group sends it (the ALB's documented example's fields):
    parameters as the browser sent them (still percent-encoded), the sign-in headers the
    ALB's authenticate action adds; with `multi`, the shape of a target group with
    multi-value headers."""
    sent = {
        "accept": "*/*",
        "host": "dashboard.example.edu",
        "user-agent": "Mozilla/5.0",
        "x-amzn-trace-id": "Root=1-5c536348-3d683b8b04734faae651f476",
        "x-forwarded-for": "72.12.164.125, 10.0.0.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        "x-amzn-oidc-identity": USER,
        "x-amzn-oidc-data": "eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
        "x-amzn-oidc-accesstoken": "eyJraWQiOiJ4In0.e30.c2ln",
        "cookie": "AWSELBAuthSessionCookie-0=opaque; theme=dark",
        **(headers or {}),
    }
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                "targetgroup/prov-dev-dashboard/6d0ecf831eec9f09"
            }
        },
        "httpMethod": method,
        "path": path,
        "body": "",
        "isBase64Encoded": False,
    }
    if multi:
        event["multiValueQueryStringParameters"] = {
            name: value if isinstance(value, list) else [value]
            for name, value in (params or {}).items()
        }
        event["multiValueHeaders"] = {name: [value] for name, value in sent.items()}
    else:
        event["queryStringParameters"] = {
            name: value[-1] if isinstance(value, list) else value
            for name, value in (params or {}).items()
        }
        event["headers"] = sent
    return event


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One object with a short history, and another with a long one (a PREMIS document over
    the ALB's megabyte: 1,500 fixity checks)."""
    directory = tmp_path_factory.mktemp("alb")
    checks = "\n".join(
        f"I, [2026-04-{1 + n // 1000:02d}T{n // 60 % 24:02d}:{n % 60:02d}:00.000000 #4711]  "
        "INFO -- : validate_checksums(bc123df4567, fixture_sr3) checksum(s) match"
        for n in range(1500)
    )
    log = directory / "object.log"
    log.write_text(OBJECT_LOG + checks + "\n")
    url = f"sqlite:///{directory / 'alb.db'}"
    try:
        main(["ingest", "--store", url, "--tz", "UTC", str(log)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    return url


@pytest.fixture
def invoke(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.setenv("PROV_STORE", store_url)

    def call(event: dict[str, Any]) -> dict[str, Any]:
        return api_handler.handler(event, LambdaContext())

    yield call
    container.close()


def body(response: dict[str, Any]) -> bytes:
    raw = response["body"].encode()
    return base64.b64decode(raw) if response["isBase64Encoded"] else raw


# -- the handler, both front doors ------------------------------------------------------------


def test_the_handler_answers_an_alb_event_as_it_answers_the_http_api(invoke) -> None:
    through_alb = invoke(alb_event(f"/objects/{DRUID}/state"))
    through_api = invoke(http_event(f"/objects/{DRUID}/state"))

    assert through_alb["statusCode"] == 200
    assert through_alb["statusDescription"] == "200 OK"
    assert through_alb["headers"]["Content-Type"] == "application/json"
    assert "multiValueHeaders" not in through_alb
    assert json.loads(through_alb["body"]) == json.loads(through_api["body"])
    assert json.loads(through_alb["body"])["object"] == f"druid:{DRUID}"


def test_errors_keep_their_status_and_get_its_description(invoke) -> None:
    missing = invoke(alb_event("/objects/zz999zz9999/state"))
    refused = invoke(alb_event(f"/objects/{DRUID}/state", method="POST"))

    assert (missing["statusCode"], missing["statusDescription"]) == (404, "404 Not Found")
    assert "error" in json.loads(missing["body"])
    assert refused["statusDescription"] == "405 Method Not Allowed"
    assert refused["headers"]["Allow"] == "GET, HEAD"


def test_query_strings_are_decoded_as_api_gateway_decodes_them(invoke) -> None:
    # The ALB passes `tz=America%2FLos_Angeles` undecoded: read as it came, no such zone.
    encoded = {"by": "service", "tz": "America%2FLos_Angeles", "from": "2026-01-01T00%3A00%3A00Z"}
    through_alb = invoke(alb_event("/reports/access", encoded))
    through_api = invoke(
        http_event(
            "/reports/access",
            {"by": "service", "tz": "America/Los_Angeles", "from": "2026-01-01T00:00:00Z"},
        )
    )

    assert through_alb["statusCode"] == 200, through_alb["body"]
    assert through_alb["body"] == through_api["body"]


def test_multi_value_events_join_repeats_and_get_multi_value_headers_back(invoke) -> None:
    through_alb = invoke(alb_event("/reports/access", {"by": ["service", "agent"]}, multi=True))
    through_api = invoke(http_event("/reports/access", {"by": ["service", "agent"]}))

    assert through_alb["statusCode"] == 200, through_alb["body"]
    assert "headers" not in through_alb
    assert through_alb["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert through_alb["body"] == through_api["body"]


def test_head_has_gets_status_and_length_and_no_body(invoke) -> None:
    get = invoke(alb_event(f"/objects/{DRUID}/premis"))
    head = invoke(alb_event(f"/objects/{DRUID}/premis", method="HEAD"))

    assert head["statusDescription"] == "200 OK"
    assert head["body"] == ""
    assert head["isBase64Encoded"] is False
    assert head["headers"]["Content-Length"] == str(len(body(get)))
    assert head["headers"]["ETag"] == get["headers"]["ETag"]


def test_gzip_answers_are_base64_as_the_alb_takes_them(invoke) -> None:
    plain = invoke(alb_event(f"/objects/{DRUID}/premis"))
    zipped = invoke(alb_event(f"/objects/{DRUID}/premis", headers={"accept-encoding": "gzip"}))

    assert zipped["isBase64Encoded"] is True
    assert zipped["headers"]["Content-Encoding"] == "gzip"
    assert gzip.decompress(body(zipped)) == body(plain)


def test_an_answer_over_the_albs_megabyte_gets_the_apis_error_on_that_door_only(invoke) -> None:
    """A PREMIS document of about 1.5 MB: API Gateway returns it, the ALB could not."""
    path = "/objects/bc123df4567/premis"
    through_api = invoke(http_event(path))
    through_alb = invoke(alb_event(path))
    zipped = invoke(alb_event(path, headers={"accept-encoding": "gzip"}))

    assert through_api["statusCode"] == 200
    assert alb.ALB_MAX_BODY < len(through_api["body"]) < 6_000_000
    assert through_alb["statusDescription"] == "500 Internal Server Error"
    error = json.loads(through_alb["body"])["error"]
    assert f"over the {alb.ALB_MAX_BODY:,}-byte limit" in error
    assert "Accept-Encoding: gzip" in error
    assert zipped["statusCode"] == 200  # the advice works


def test_the_signed_in_user_is_logged_with_the_request(invoke) -> None:
    # The function's logger, read as CloudWatch would (it writes to the stdout of its import).
    lines = io.StringIO()
    listener = logging.StreamHandler(lines)
    listener.setFormatter(api_handler.logger.registered_formatter)
    logging.getLogger(api_handler.logger.name).addHandler(listener)
    try:
        invoke(alb_event(f"/objects/{DRUID}/state"))
        invoke(http_event(f"/objects/{DRUID}/state", headers={"x-amzn-oidc-identity": "forged"}))
    finally:
        logging.getLogger(api_handler.logger.name).removeHandler(listener)

    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    requests = [entry for entry in logged if entry.get("message") == "request"]
    assert [entry.get("user") for entry in requests] == [USER, None]
    assert requests[0]["correlation_id"] == "Root=1-5c536348-3d683b8b04734faae651f476"
    # Only the identity: the ALB's tokens are in no log line.
    assert "eyJ" not in "".join(json.dumps(entry) for entry in logged)


# -- the translation --------------------------------------------------------------------------


def test_the_payload_2_event_has_decoded_parameters_and_the_raw_query() -> None:
    event = alb.http_api_event(
        alb_event("/objects/bj102hs9687/events", {"after": "a%2Bb+c", "x%20y": "1"})
    )

    assert event["queryStringParameters"] == {"after": "a+b c", "x y": "1"}
    assert event["rawQueryString"] == "after=a%2Bb+c&x%20y=1"
    assert event["rawPath"] == "/objects/bj102hs9687/events"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["sourceIp"] == "72.12.164.125"
    # The ALB's session cookie stays with the ALB; other cookies pass as payload 2.0 has them.
    assert event["cookies"] == ["theme=dark"]
    assert "cookie" not in event["headers"]


def test_the_sign_in_headers_are_dropped_on_the_iam_path_only() -> None:
    forged = http_event(
        "/reports/access", headers={"X-Amzn-Oidc-Identity": "someone", "x-amzn-oidc-data": "x"}
    )

    kept = alb.without_sign_in_headers(forged)

    assert not [name for name in kept["headers"] if name.lower().startswith("x-amzn-oidc")]
    assert kept["headers"]["user-agent"] == forged["headers"]["user-agent"]
    assert alb.signed_in_user(alb_event("/")) == USER
    assert not alb.is_alb_event(forged)
    assert alb.is_alb_event(alb_event("/"))


def test_a_response_json_over_a_megabyte_is_refused_even_when_the_body_was_not() -> None:
    # A body under the API's body limit whose JSON escaping (every quote doubled) passes 1 MB.
    quoted = '"' * (alb.ALB_MAX_BODY - 1)
    response = {"statusCode": 200, "headers": {}, "body": quoted, "isBase64Encoded": False}

    answer = alb.alb_response(response, multi_value_headers=False)

    assert answer["statusCode"] == 500
    assert (
        f"over the {alb.ALB_MAX_RESPONSE_JSON:,}-byte limit" in json.loads(answer["body"])["error"]
    )
    small = alb.alb_response({**response, "body": "{}"}, multi_value_headers=True)
    assert small["multiValueHeaders"] == {}
    assert small["statusDescription"] == "200 OK"


def test_a_status_without_a_phrase_is_still_described() -> None:
    answer = alb.alb_response({"statusCode": 299, "body": ""}, multi_value_headers=False)

    assert answer["statusDescription"] == "299"
