"""`prov ... --api URL`: SigV4-signed requests over real HTTP to the query API answer exactly what
the commands answer over the store.

The API runs behind waitress on 127.0.0.1 (as `prov serve` does) with a gate in front that checks
every signature as API Gateway's IAM authorization would: it recomputes the SigV4 signature with
botocore from the request as received (method, raw path, query re-encoded and sorted, the signed
headers) for the known fake credentials, and answers 403 `{"message": "Forbidden"}` otherwise.
"""

from __future__ import annotations

import hmac
import io
import json
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aws_lambda_powertools import Logger
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eventstore import open_store
from provenance.aws import api_client
from provenance.aws.api_client import (
    ApiClient,
    ApiClientError,
    api_base_url,
    is_loopback,
    query_string,
    region_from_host,
    signing_region,
)
from provenance.domain.errors import NotFoundError
from provenance.projections import access_counts
from provenance.query.http_api import (
    PREMIS_TYPES,
    REPORT_EVENTS_SINCE_HEADER,
    REPORT_GROUPS_HEADER,
    QueryApi,
)
from provenance.query.serve import LocalServer, PerThreadStore, wsgi_app
from tests.aws_server import FAKE_CREDENTIALS, REGION
from tests.cli.test_cli import run
from tests.query.test_http_api import Demo, make_demo

ACCESS_KEY = FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]
SECRET_KEY = FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
TOKEN = FAKE_CREDENTIALS["AWS_SESSION_TOKEN"]
STAGE = "/prod"  # a named stage's path: the gate strips it, as API Gateway routes without it
MAX_SKEW = timedelta(minutes=5)
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass
class Seen:
    """One request as the gate received it, and what was answered."""

    path: str
    query: str
    headers: dict[str, str]
    status: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)


class SigV4Gate:
    """WSGI middleware checking SigV4 as API Gateway's IAM authorization does (see the module
    docstring); it can also answer some requests with a given status first (retries)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.required = True
        self.fail_next: list[tuple[str, list[tuple[str, str]]]] = []
        self.seen: list[Seen] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raw_path, _, query = environ["REQUEST_URI"].partition("?")
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        seen = Seen(raw_path, query, headers)
        self.seen.append(seen)

        def recording_start_response(status: str, response_headers: list[Any], *args: Any) -> Any:
            seen.status = status
            seen.response_headers = {name.lower(): value for name, value in response_headers}
            return start_response(status, response_headers, *args)

        if self.fail_next:
            status, extra = self.fail_next.pop(0)
            body = json.dumps({"message": status}).encode()
            recording_start_response(status, [("Content-Type", "application/json"), *extra])
            return [body]
        if self.required and not self.verify(environ, raw_path, query):
            recording_start_response("403 Forbidden", [("Content-Type", "application/json")])
            return [b'{"message":"Forbidden"}']
        if raw_path.startswith(STAGE + "/"):
            environ["PATH_INFO"] = environ["PATH_INFO"][len(STAGE) :]
        return self.app(environ, recording_start_response)

    def verify(self, environ: dict[str, Any], raw_path: str, query: str) -> bool:
        match = _AUTHORIZATION.fullmatch(environ.get("HTTP_AUTHORIZATION", ""))
        amz_date = environ.get("HTTP_X_AMZ_DATE", "")
        if match is None or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
            return False
        signed = match["signed"].split(";")
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if (
            match["key"] != ACCESS_KEY
            or match["service"] != "execute-api"
            or match["region"] != REGION
            or match["day"] != amz_date[:8]
            or abs(datetime.now(UTC) - when) > MAX_SKEW
            or environ.get("HTTP_X_AMZ_SECURITY_TOKEN") != TOKEN
            or not {"host", "x-amz-date", "x-amz-security-token"} <= set(signed)
        ):
            return False
        headers = {}
        for name in signed:
            value = environ.get("HTTP_" + name.upper().replace("-", "_"))
            if value is None:
                return False
            headers[name] = value
        # API Gateway decodes the query and encodes it afresh (RFC 3986), sorted: a client that
        # signed another spelling than it sent fails here.
        request = AWSRequest(
            method=environ["REQUEST_METHOD"],
            url=f"http://{environ['HTTP_HOST']}{raw_path}",
            headers=headers,
            params=parse_qsl(query, keep_blank_values=True),
        )
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, TOKEN), "execute-api", REGION)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        return hmac.compare_digest(expected, match["signature"])


@dataclass(frozen=True)
class Deployed:
    url: str
    gate: SigV4Gate
    demo: Demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    demo = make_demo(tmp_path_factory.mktemp("api-client-demo"))
    with open_store(demo.url, create=False) as store:
        # Access events before the seal count as expired: reports by druid say so.
        access_counts.seal_through(store, datetime(2026, 1, 3, 12, tzinfo=UTC))
    return demo


@pytest.fixture(scope="module")
def deployed(demo: Demo) -> Iterator[Deployed]:
    # A service name of its own: Powertools loggers of one service share their handler.
    quiet = Logger(service="prov-api-client-test", stream=io.StringIO())
    gate = SigV4Gate(wsgi_app(QueryApi(PerThreadStore(demo.url), logger=quiet).handle))
    server = LocalServer(gate, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield Deployed(server.url, gate, demo)
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def api(deployed: Deployed) -> Iterator[Deployed]:
    deployed.gate.seen.clear()
    deployed.gate.required = True
    deployed.gate.fail_next.clear()
    yield deployed


@pytest.fixture(autouse=True)
def _no_api_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


def both(capsys: Any, api: Deployed, *args: str) -> tuple[tuple[int, str, str], ...]:
    """The command's (exit code, stdout, stderr) with --api, then with --store."""
    return (
        run(capsys, *args, "--api", api.url),
        run(capsys, *args, "--store", api.demo.url),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the same answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_history_is_the_stores_history(capsys, api, fmt) -> None:
    remote, local = both(capsys, api, "history", api.demo.druid, "--format", fmt)

    assert remote == local
    assert remote[0] == 0 and remote[1].count("\n") > 100
    assert all(seen.status.startswith("200") for seen in api.gate.seen)


@pytest.mark.parametrize("limit", [None, 30, 7])
def test_history_pages_through_the_api(capsys, api, monkeypatch, limit) -> None:
    monkeypatch.setattr(api_client, "HISTORY_PAGE", 7)
    options = ["--limit", str(limit)] if limit is not None else []

    remote, local = both(capsys, api, "history", api.demo.druid, *options, "--format", "json")

    assert remote == local
    events = json.loads(remote[1])
    assert len(events) == (limit if limit is not None else api.demo.events)
    pages = [parse_qsl(seen.query) for seen in api.gate.seen]
    assert len(pages) == -(-len(events) // 7)  # ceil: full pages of 7, then the rest
    asked = [dict(page)["limit"] for page in pages]
    rest = len(events) - 7 * (len(pages) - 1)
    assert asked == ["7"] * (len(pages) - 1) + ["7" if limit is None else str(rest)]
    assert [dict(page).get("after") for page in pages[1:]] == [
        events[7 * index - 1]["cursor"] for index in range(1, len(pages))
    ]


def test_history_after_a_cursor_is_the_stores(capsys, api) -> None:
    code, out, _ = run(
        capsys, "history", api.demo.druid, "--store", api.demo.url, "--format", "json"
    )
    cursor = json.loads(out)[40]["cursor"]

    remote, local = both(
        capsys,
        api,
        "history",
        api.demo.druid,
        "--after",
        cursor,
        "--limit",
        "5",
        "--format",
        "json",
    )

    assert code == 0 and remote == local
    assert len(json.loads(remote[1])) == 5


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_state_is_the_stores_state(capsys, api, fmt) -> None:
    remote, local = both(
        capsys, api, "state", api.demo.druid.removeprefix("druid:"), "--format", fmt
    )

    assert remote == local and remote[0] == 0


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
@pytest.mark.parametrize(
    "filters",
    [(), ("--failing",), ("--kind", "fixity"), ("--not-checked-since", "2026-01-02")],
)
def test_objects_are_the_stores_objects(capsys, api, fmt, filters) -> None:
    remote, local = both(capsys, api, "objects", *filters, "--limit", "3", "--format", fmt)

    assert remote == local and remote[0] == 0
    if fmt == "json":
        assert isinstance(json.loads(remote[1]), list)


def test_objects_page_on_through_the_api(capsys, api) -> None:
    code, out, err = run(capsys, "objects", "--limit", "2", "--format", "json", "--api", api.url)
    assert code == 0 and len(json.loads(out)) == 2
    token = err.strip().rpartition("--after ")[2]
    remote, local = both(capsys, api, "objects", "--limit", "2", "--after", token)
    assert remote == local and remote[0] == 0
    assert ("/objects", [("after", token), ("limit", "2")]) in [
        (seen.path, sorted(parse_qsl(seen.query))) for seen in api.gate.seen
    ]


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_fleet_report_is_the_stores_report(capsys, api, fmt) -> None:
    remote, local = both(capsys, api, "report", "fleet", "--format", fmt)

    assert remote == local and remote[0] == 0


def test_a_stage_path_in_the_url_is_kept(capsys, api) -> None:
    code, out, err = run(capsys, "state", api.demo.druid, "--api", f"{api.url}{STAGE}/")

    assert (code, err) == (0, "")
    assert api.gate.seen[0].path == f"{STAGE}/objects/{api.demo.druid}/state"
    assert out == run(capsys, "state", api.demo.druid, "--store", api.demo.url)[1]


@pytest.mark.parametrize("fmt", ["xml", "turtle", "json-ld"])
def test_premis_is_the_stores_document(capsys, api, tmp_path, fmt) -> None:
    remote, local = tmp_path / "remote", tmp_path / "local"
    args = ["premis", api.demo.druid, "--format", fmt]

    assert run(capsys, *args, "-o", str(remote), "--api", api.url) == (0, "", f"wrote {remote}\n")
    assert run(capsys, *args, "-o", str(local), "--store", api.demo.url)[0] == 0

    assert remote.read_bytes() == local.read_bytes()
    request = api.gate.seen[0]
    assert request.headers["accept"] == next(m for m, f in PREMIS_TYPES.items() if f == fmt)
    # The documents are over 1 kB: they came gzipped and were unpacked.
    assert request.headers["accept-encoding"] == "gzip"
    assert request.response_headers["content-encoding"] == "gzip"


def test_premis_base_uri_goes_to_the_api(capsys, api, tmp_path) -> None:
    remote, local = tmp_path / "remote", tmp_path / "local"
    base = ("--base-uri", "https://sdr.example.edu/p/")
    args = ["premis", api.demo.druid, "--format", "json-ld", *base]

    assert run(capsys, *args, "-o", str(remote), "--api", api.url)[0] == 0
    assert run(capsys, *args, "-o", str(local), "--store", api.demo.url)[0] == 0

    assert remote.read_bytes() == local.read_bytes()
    assert b'"@id": "https://sdr.example.edu/p/druid/' in remote.read_bytes()
    assert api.gate.seen[0].query == "base_uri=https%3A%2F%2Fsdr.example.edu%2Fp%2F"


def test_premis_to_stdout_validated_is_the_stores(capsys, api) -> None:
    remote, local = both(capsys, api, "premis", api.demo.druid, "--validate")

    assert remote == local
    assert remote[1].startswith("<?xml")


def test_premis_from_the_api_follows_the_output_file_rule(
    capsys, api, tmp_path, monkeypatch
) -> None:
    """As from a store (tests/files/test_output_file.py): `-` is stdout, a symlink is written
    through and a replaced file keeps its mode."""
    monkeypatch.chdir(tmp_path)
    _, local, _ = run(capsys, "premis", api.demo.druid, "--store", api.demo.url)

    assert run(capsys, "premis", api.demo.druid, "-o", "-", "--api", api.url) == (0, local, "")
    assert list(tmp_path.iterdir()) == []

    real = tmp_path / "real.xml"
    real.write_text("old")
    real.chmod(0o640)
    (tmp_path / "link.xml").symlink_to("real.xml")
    code, _, err = run(capsys, "premis", api.demo.druid, "-o", "link.xml", "--api", api.url)

    assert (code, err) == (0, "wrote link.xml\n")
    assert (tmp_path / "link.xml").is_symlink() and real.read_text() == local
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.xml", "real.xml"]


def test_premis_validation_failure_writes_nothing(capsys, api, tmp_path, monkeypatch) -> None:
    target = tmp_path / "out.xml"
    monkeypatch.setattr(
        ApiClient, "premis", lambda self, druid, fmt, base_uri: b"<premis xmlns='urn:not-premis'/>"
    )

    code, out, err = run(
        capsys, "premis", api.demo.druid, "--validate", "-o", str(target), "--api", api.url
    )

    assert code == 1 and out == ""
    assert err.startswith("prov: error: ") and err.count("\n") == 1
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_premis_options_that_only_a_store_can_honour(capsys, api) -> None:
    code, _, err = run(
        capsys, "premis", api.demo.druid, "--organization", "Other", "--api", api.url
    )
    assert code == 1 and "--organization" in err and err.count("\n") == 1

    code, _, err = run(
        capsys, "premis", api.demo.druid, "--format", "turtle", "--validate", "--api", api.url
    )
    assert code == 1 and "use --format xml" in err
    assert api.gate.seen == []


def test_premis_agents_and_organization_in_the_environment_are_not_the_apis(
    capsys, api, tmp_path, monkeypatch
) -> None:
    """Set for every export, $PROV_AGENTS and $PROV_ORGANIZATION are ignored with --api, as
    $PROV_PREMIS_BASE_URI is with XML: the API's document is its deployment's (not even a file
    that cannot be read stops it), and on the command line they are refused."""
    monkeypatch.delenv("PROV_AGENTS", raising=False)
    monkeypatch.delenv("PROV_ORGANIZATION", raising=False)
    plain = run(capsys, "premis", api.demo.druid, "--api", api.url)
    assert plain[0] == 0
    monkeypatch.setenv("PROV_AGENTS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("PROV_ORGANIZATION", "Other")

    assert run(capsys, "premis", api.demo.druid, "--api", api.url) == plain

    api.gate.seen.clear()
    code, _, err = run(
        capsys, "premis", api.demo.druid, "--agents", str(tmp_path / "a.toml"), "--api", api.url
    )
    assert code == 1 and err.count("\n") == 1
    assert "(stage setting agents_file)" in err
    assert api.gate.seen == []


REPORTS = [
    [],
    ["--by", "agent,service", "--bucket", "day", "--tz", "America/Los_Angeles", "--top", "5"],
    ["--by", "path", "--service", "stacks", "--service", "purl", "--from", "2026-01-05",
     "--to", "2026-01-12", "--tz", "America/Los_Angeles"],
    ["--by", "status_class,agent", "--service", "stacks", "--service", "sdr-api", "--agent",
     "user:argo", "--agent", "stanford", "--tz", "UTC"],
    ["--by", "agent", "--from", "2026-01-05T08:00+01:00", "--tz", "UTC", "--top", "3"],
    ["--by", "druid", "--top", "3", "--tz", "UTC"],
]  # fmt: skip


@pytest.mark.parametrize("options", REPORTS)
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_access_report_is_the_stores_report(capsys, api, options, fmt) -> None:
    remote, local = both(capsys, api, "report", "access", *options, "--format", fmt)

    assert remote == local
    assert remote[0] == 0 and remote[1].count("\n") > 1


def test_report_table_says_what_the_rows_alone_cannot(capsys, api) -> None:
    code, cut, _ = run(capsys, "report", "access", "--by", "agent", "--top", "2", "--api", api.url)
    assert code == 0
    assert re.search(r"top 2 of \d+ groups, the rest as \(other\)", cut)
    assert int(api.gate.seen[0].response_headers[REPORT_GROUPS_HEADER.lower()]) > 2

    code, by_druid, _ = run(capsys, "report", "access", "--by", "druid", "--api", api.url)
    assert code == 0
    assert "(events before 2026-01-04T00:00:00+00:00 have expired)" in by_druid
    assert api.gate.seen[1].response_headers[REPORT_EVENTS_SINCE_HEADER.lower()]


def test_report_chart_from_the_api(capsys, api, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    chart = tmp_path / "agents.svg"

    code, out, err = run(
        capsys, "report", "access", "--by", "agent", "--top", "3", "--tz", "UTC",
        "--chart", str(chart), "--api", api.url,
    )  # fmt: skip

    assert (code, err) == (0, "")
    assert out.endswith(f"chart: {chart}\n")
    assert chart.read_text().count("<svg") == 1


def test_report_parameters_are_sent_as_signed(api) -> None:
    from provenance.access.report import ReportQuery, access_report, parse_time
    from provenance.domain.timezones import resolve_zone

    zone = resolve_zone("America/Los_Angeles")
    query = ReportQuery(
        by=("agent", "service"),
        bucket="week",
        start=parse_time("2026-01-05", zone),
        stop=parse_time("2026-01-11", zone, end=True),
        top=4,
        services=("stacks", "sdr-api"),
        agents=("user:argo", "stanford"),
        tz=zone,
    )

    report = ApiClient(api.url).access_report(query)

    seen = api.gate.seen[0]
    assert parse_qsl(seen.query) == [
        ("by", "agent,service"),
        ("tz", "America/Los_Angeles"),
        ("bucket", "week"),
        ("from", "2026-01-05T00:00:00-08:00"),
        ("to", "2026-01-12T00:00:00-08:00"),  # --to a date: up to the next day's start
        ("top", "4"),
        ("service", "stacks"),
        ("service", "sdr-api"),
        ("agent", "user:argo"),
        ("agent", "stanford"),
    ]
    assert "+" not in seen.query and ":" not in seen.query  # reserved characters encoded
    with open_store(api.demo.url, create=False) as store:
        local = access_report(store, query)
    assert report.rows and report.rows == local.rows
    assert (report.requests, report.bytes, report.groups, report.basis) == (
        local.requests,
        local.bytes,
        local.groups,
        local.basis,
    )


def test_requests_say_who_asks(api) -> None:
    from importlib.metadata import version

    ApiClient(api.url).state(api.demo.druid)

    assert api.gate.seen[0].headers["user-agent"] == f"sdr-provenance/{version('sdr-provenance')}"
    assert api.gate.seen[0].headers["accept"] == "application/json"


# -- errors -------------------------------------------------------------------------------------


def assert_one_line_error(err: str, *fragments: str) -> None:
    assert err.startswith("prov: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_a_wrong_secret_key_is_access_denied(capsys, api, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")

    code, out, err = run(capsys, "state", api.demo.druid, "--api", api.url)

    assert (code, out) == (1, "")
    assert_one_line_error(
        err,
        f"access denied by the API at {api.url}",
        f"key …{ACCESS_KEY[-4:]} (from env)",
        "check your AWS credentials/profile",
        "execute-api:Invoke",
    )
    assert api.gate.seen[0].status.startswith("403")


def test_signing_for_another_region_is_access_denied(capsys, api) -> None:
    code, _, err = run(capsys, "history", api.demo.druid, "--api", api.url, "--region", "eu-west-1")

    assert code == 1
    assert_one_line_error(err, "access denied")


def test_an_unknown_object_is_not_found(capsys, api) -> None:
    unknown = "druid:zz999zz9999"
    for command in ("history", "state", "premis"):
        remote, local = both(capsys, api, command, unknown)
        assert remote[0] == local[0] == 2
        assert remote[2] == local[2]
        assert_one_line_error(remote[2], unknown)


def test_a_bad_request_is_the_stores_error(capsys, api) -> None:
    remote, local = both(capsys, api, "report", "access", "--by", "colour")

    assert remote == local
    assert remote[0] == 1
    assert_one_line_error(remote[2], "unknown dimension 'colour'")


def test_a_malformed_druid_fails_before_any_request(capsys, api) -> None:
    remote, local = both(capsys, api, "state", "not-a-druid")

    assert remote == local and remote[0] == 1
    assert api.gate.seen == []


def test_an_unreachable_api_is_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setattr(api_client, "BACKOFF_SECONDS", 0.001)
    url = f"http://127.0.0.1:{free_port()}"

    code, out, err = run(capsys, "state", "druid:bc123df4567", "--api", url)

    assert (code, out) == (1, "")
    assert_one_line_error(err, f"cannot reach the API at {url}: Connection refused")


def test_connection_failures_are_retried_then_given_up(monkeypatch) -> None:
    sleeps: list[float] = []
    client = ApiClient(f"http://127.0.0.1:{free_port()}", sleep=sleeps.append)

    with pytest.raises(ApiClientError, match="cannot reach"):
        client.state("druid:bc123df4567")

    assert len(sleeps) == api_client.ATTEMPTS - 1
    assert all(
        0 <= pause <= api_client.BACKOFF_SECONDS * 2**index for index, pause in enumerate(sleeps)
    )


def test_throttling_and_gateway_errors_are_retried(api) -> None:
    api.gate.fail_next = [
        ("503 Service Unavailable", []),
        ("429 Too Many Requests", [("Retry-After", "2")]),
    ]
    sleeps: list[float] = []

    view = ApiClient(api.url, sleep=sleeps.append).state(api.demo.druid)

    assert view["object"] == api.demo.druid
    assert len(sleeps) == 2 and sleeps[1] == 2.0
    assert [seen.status[:3] for seen in api.gate.seen] == ["503", "429", "200"]


def test_a_lasting_gateway_error_is_one_line(capsys, api, monkeypatch) -> None:
    monkeypatch.setattr(api_client, "BACKOFF_SECONDS", 0.001)
    api.gate.fail_next = [("502 Bad Gateway", [])] * api_client.ATTEMPTS

    code, _, err = run(capsys, "state", api.demo.druid, "--api", api.url)

    assert code == 1
    assert_one_line_error(err, f"the API at {api.url} answered 502")
    assert len(api.gate.seen) == api_client.ATTEMPTS


def test_a_redirect_is_not_followed(capsys, api) -> None:
    api.gate.fail_next = [("301 Moved Permanently", [("Location", "http://127.0.0.2:1/")])]

    code, _, err = run(capsys, "state", api.demo.druid, "--api", api.url)

    assert code == 1
    assert_one_line_error(err, "answered 301, a redirect")
    assert len(api.gate.seen) == 1


def test_a_client_error_is_not_retried(api) -> None:
    sleeps: list[float] = []
    with pytest.raises(NotFoundError):
        ApiClient(api.url, sleep=sleeps.append).state("druid:zz999zz9999")
    assert sleeps == [] and len(api.gate.seen) == 1


def test_api_and_store_exclude_each_other(capsys, api, monkeypatch) -> None:
    code, _, err = run(capsys, "state", api.demo.druid, "--api", api.url, "--store", api.demo.url)
    assert code == 1
    assert_one_line_error(err, "--api and --store")

    monkeypatch.setenv("PROV_API", api.url)
    monkeypatch.setenv("PROV_STORE", api.demo.url)
    code, _, err = run(capsys, "state", api.demo.druid)
    assert code == 1
    assert_one_line_error(err, "PROV_API and PROV_STORE")
    assert api.gate.seen == []


def test_one_given_on_the_command_line_beats_the_others_variable(
    capsys, api, monkeypatch, tmp_path
) -> None:
    expected = run(capsys, "state", api.demo.druid, "--store", api.demo.url)

    monkeypatch.setenv("PROV_STORE", f"sqlite:///{tmp_path / 'none.db'}")
    assert run(capsys, "state", api.demo.druid, "--api", api.url) == expected
    monkeypatch.setenv("PROV_STORE", "garbage")  # no scheme, but not read with --api either
    assert run(capsys, "state", api.demo.druid, "--api", api.url) == expected
    monkeypatch.setenv("PROV_STORE", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("PROV_API", f"http://127.0.0.1:{free_port()}")
    assert run(capsys, "state", api.demo.druid, "--store", api.demo.url) == expected
    monkeypatch.delenv("PROV_STORE")
    assert run(capsys, "state", api.demo.druid, "--api", api.url) == expected
    assert len(api.gate.seen) == 3


def test_region_without_api_is_a_usage_error(capsys, api) -> None:
    code, _, err = run(capsys, "state", api.demo.druid, "--store", api.demo.url, "--region", "x")
    assert code == 1
    assert_one_line_error(err, "--region goes with --api")


def test_without_credentials_an_aws_api_is_refused_before_any_request(capsys, monkeypatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    url = "https://abc123.execute-api.us-east-1.amazonaws.com"

    code, _, err = run(capsys, "state", "druid:bc123df4567", "--api", url)

    assert code == 1
    assert_one_line_error(err, f"no AWS credentials to sign requests to {url}", "AWS_PROFILE")


def test_without_credentials_a_local_api_is_asked_unsigned(capsys, api, monkeypatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    code, _, err = run(capsys, "state", api.demo.druid, "--api", api.url)
    assert code == 1
    assert_one_line_error(err, "refused an unsigned request", "AWS_PROFILE")
    assert "authorization" not in api.gate.seen[0].headers

    api.gate.required = False  # `prov serve` checks no signature
    remote, local = both(capsys, api, "state", api.demo.druid)
    assert remote == local and remote[0] == 0


def test_a_remote_api_without_a_region_is_refused(capsys, monkeypatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    code, _, err = run(capsys, "state", "druid:bc123df4567", "--api", "https://api.example.org")

    assert code == 1
    assert_one_line_error(err, "cannot tell the AWS region of https://api.example.org", "--region")


@pytest.mark.parametrize(
    "url", ["ftp://example.org", "example.org", "https://", "https://h/?stage=prod", "http://h:x"]
)
def test_a_malformed_api_url_is_one_line(capsys, url) -> None:
    code, _, err = run(capsys, "state", "druid:bc123df4567", "--api", url)

    assert code == 1
    assert_one_line_error(err, "--api")


# -- units --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("abc123.execute-api.us-east-1.amazonaws.com", "us-east-1"),
        ("ABC123.Execute-Api.EU-WEST-2.amazonaws.com.", "eu-west-2"),
        ("abc123-vpce-0a1b2c3d.execute-api.ap-southeast-2.vpce.amazonaws.com", "ap-southeast-2"),
        ("abc123.execute-api.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("abc123.execute-api.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("api.example.org", None),
        ("127.0.0.1", None),
        ("execute-api.us-east-1.amazonaws.com", None),
        ("abc123.execute-api.us-east-1.amazonaws.com.evil.org", None),
        ("abc123.lambda-url.us-east-1.on.aws", None),
    ],
)
def test_region_from_host(host, region) -> None:
    assert region_from_host(host) == region


def test_signing_region_prefers_the_host_then_the_option_then_the_configuration() -> None:
    aws = "abc123.execute-api.us-west-2.amazonaws.com"
    assert signing_region(aws, None, "eu-west-1") == "us-west-2"
    assert signing_region(aws, "us-west-2", None) == "us-west-2"
    assert signing_region("api.example.org", "eu-west-1", "us-east-1") == "eu-west-1"
    assert signing_region("api.example.org", None, "us-east-1") == "us-east-1"
    assert signing_region("api.example.org", None, None) is None
    with pytest.raises(ApiClientError, match="does not match the API's region us-west-2"):
        signing_region(aws, "eu-west-1", None)


def test_the_region_comes_from_aws_region_before_the_default(monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert ApiClient("https://api.example.org").region == "eu-central-1"
    monkeypatch.delenv("AWS_REGION")
    assert ApiClient("https://api.example.org").region == REGION
    assert ApiClient("https://x.execute-api.sa-east-1.amazonaws.com/prod").region == "sa-east-1"


@pytest.mark.parametrize(
    ("url", "base"),
    [
        (
            "https://abc.execute-api.us-east-1.amazonaws.com/",
            "https://abc.execute-api.us-east-1.amazonaws.com",
        ),
        ("https://ABC.example.org/prod/", "https://abc.example.org/prod"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_api_base_url(url, base) -> None:
    assert api_base_url(url) == base


def test_plain_http_is_refused_beyond_this_machine(capsys) -> None:
    # Signed requests and their answers would cross the network in clear.
    with pytest.raises(ApiClientError, match="plain http only to this machine"):
        api_base_url("http://abc.execute-api.us-east-1.amazonaws.com")
    assert api_base_url("http://localhost:8080/") == "http://localhost:8080"

    code, _, err = run(capsys, "state", "druid:bc123df4567", "--api", "http://api.example.org")
    assert code == 1
    assert_one_line_error(err, "use https")


def test_loopback_hosts() -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.8.0.1", "::1", "localhost"))
    assert not any(is_loopback(host) for host in ("10.0.0.1", "example.org", "localhost.org"))


def test_query_string_encodes_as_sigv4_canonicalises() -> None:
    assert query_string([("from", "2026-01-05T00:00:00+01:00"), ("agent", "user:a b/c~d")]) == (
        "from=2026-01-05T00%3A00%3A00%2B01%3A00&agent=user%3Aa%20b%2Fc~d"
    )


def test_the_client_and_the_api_name_things_alike() -> None:
    assert {fmt: media for media, fmt in PREMIS_TYPES.items()} == api_client.PREMIS_MEDIA_TYPES
    assert REPORT_GROUPS_HEADER == api_client.REPORT_GROUPS_HEADER
    assert REPORT_EVENTS_SINCE_HEADER == api_client.REPORT_EVENTS_SINCE_HEADER
    from provenance.query.http_api import NEXT_PAGE_HEADER

    assert NEXT_PAGE_HEADER == api_client.NEXT_PAGE_HEADER


def test_help_does_not_import_botocore() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from provenance.cli.main import main\n"
        "try:\n    main(['history', '--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'botocore' not in sys.modules, 'botocore imported for --help'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "--api URL" in done.stdout
