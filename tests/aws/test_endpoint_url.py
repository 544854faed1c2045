"""Every URL requests are sent to is checked before anything is read or sent
(`eventstore.url.endpoint_url_problem`): `--endpoint-url` (ship, redrive), `--api` and
PROV_API, a store URL's `endpoint_url=`, and the endpoint botocore takes from AWS_ENDPOINT_URL.
A malformed one is one line naming the option (or variable) and the value, never a ValueError
from inside urllib or botocore.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import boto3
import botocore.utils
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore.url import endpoint_url_problem
from tests.cli.test_cli import run

PORT_RANGE = "the port must be a number from 1 to 65535"


def one_error_line(err: str) -> str:
    assert err.startswith("prov: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# --- the tester's commands -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "names", "says"),
    [
        (
            ["history", "druid:ng842gm9868", "--api", "http://[::1"],
            {},
            ["'--api'", "'http://[::1'"],
            "not a URL",
        ),
        (
            ["history", "druid:ng842gm9868"],
            {"PROV_API": "http://[::1"},
            ["PROV_API", "'http://[::1'"],
            "not a URL",
        ),
        (
            ["history", "druid:ng842gm9868", "--api", "http://127.0.0.1:99999"],
            {},
            ["'--api'", "'http://127.0.0.1:99999'"],
            PORT_RANGE,
        ),
        (
            ["history", "druid:ng842gm9868", "--api", "http://127.0.0.1:0"],
            {},
            ["'--api'"],
            PORT_RANGE,
        ),
        (
            ["history", "D", "--store", "dynamodb://tbl?endpoint_url=http://127.0.0.1:99999"],
            {},
            ["--store", "endpoint_url 'http://127.0.0.1:99999'"],
            PORT_RANGE,
        ),
        (
            ["history", "D"],
            {"PROV_STORE": "dynamodb://tbl?endpoint_url=http://[::1"},
            ["PROV_STORE", "endpoint_url 'http://[::1'"],
            "not a URL",
        ),
        (
            [
                "ship",
                "--once",
                "--stream",
                "s",
                "--endpoint-url",
                "http://127.0.0.1:99999",
                "--state",
                "{tmp}/x.db",
                "{log}",
            ],
            {},
            ["'--endpoint-url'", "'http://127.0.0.1:99999'"],
            PORT_RANGE,
        ),
        (
            [
                "redrive",
                "--queue",
                "q",
                "--store",
                "sqlite:///{tmp}/x.db",
                "--endpoint-url",
                "http://[::1",
            ],
            {},
            ["'--endpoint-url'", "'http://[::1'"],
            "not a URL",
        ),
        (
            ["history", "druid:ng842gm9868", "--store", "dynamodb://tbl?region=us-east-1"],
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:99999"},
            ["AWS_ENDPOINT_URL", "'http://127.0.0.1:99999'"],
            PORT_RANGE,
        ),
        (
            ["ship", "--once", "--stream", "s", "--state", "{tmp}/x.db", "{log}"],
            {"AWS_ENDPOINT_URL_KINESIS": "http://127.0.0.1:99999"},
            ["AWS_ENDPOINT_URL", "'http://127.0.0.1:99999'"],
            PORT_RANGE,
        ),
        (
            [
                "redrive",
                "--queue",
                "q",
                "--store",
                "sqlite:///{tmp}/s.db",
                "--tz",
                "UTC",
                "--access-event-days",
                "never",
                "--dry-run",
                "--format",
                "json",
            ],
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:99999"},
            ["AWS_ENDPOINT_URL", "'http://127.0.0.1:99999'"],
            PORT_RANGE,
        ),
    ],
    ids=[
        "api-ipv6-bracket",
        "PROV_API",
        "api-port-past-65535",
        "api-port-0",
        "store-url",
        "PROV_STORE",
        "ship-endpoint-url",
        "redrive-endpoint-url",
        "AWS_ENDPOINT_URL-store",
        "AWS_ENDPOINT_URL-ship",
        "AWS_ENDPOINT_URL-redrive",
    ],
)
def test_a_malformed_endpoint_is_one_line_naming_where_it_came_from(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    names: list[str],
    says: str,
) -> None:
    log = tmp_path / "x.log"
    log.write_text("one line\n")
    assert run(capsys, "init", "--store", f"sqlite:///{tmp_path}/s.db")[0] == 0
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    code, out, err = run(capsys, *[arg.format(tmp=tmp_path, log=log) for arg in args])

    assert (code, out) == (1, "")
    one_error_line(err)
    for name in names:
        assert name in err
    assert says in err
    assert not (tmp_path / "x.db").exists()  # nothing was started


# --- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4566",
        "https://kinesis.us-east-2.amazonaws.com",
        "http://localhost:8000/",
        "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
        "http://[::1]:8080",
        "HTTP://LOCALHOST:65535",
        "https://example.org.",
    ],
)
def test_usable_endpoints_pass(url: str) -> None:
    assert endpoint_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://[::1", "not a URL"),
        ("http://127.0.0.1:99999", PORT_RANGE),
        ("http://127.0.0.1:0", PORT_RANGE),
        ("http://127.0.0.1:x", PORT_RANGE),
        ("http://127.0.0.1:", PORT_RANGE),
        ("ftp://example.org", "not an http(s) URL"),
        ("127.0.0.1:4566", "not an http(s) URL"),
        ("http:///path", "not an http(s) URL"),
        ("http://user:pw@example.org", "no user, query or fragment"),
        ("http://example.org/?a=b", "no user, query or fragment"),
        ("http://example.org#x", "no user, query or fragment"),
        ("http://exa_mple.org", "no valid host"),
        ("http://-a.org", "no valid host"),
        ("http://[v1.x]", "no valid host"),
        ("http://[fe80::1%25eth0]", "no valid host"),
        ("http://ex ample.org", "spaces"),
        ("http://ex\u0661.org", "non-ASCII"),
        ("", "not an http(s) URL"),
    ],
)
def test_unusable_endpoints_say_why(url: str, says: str) -> None:
    problem = endpoint_url_problem(url)
    assert problem is not None and says in problem


# --- no string ends in a traceback -----------------------------------------------------------

URLISH = st.builds(
    "{}://{}{}{}{}".format,
    st.sampled_from(["http", "https", "HTTP", "ftp", "", "http:"]),
    st.sampled_from(["", "u@", "u:p@"]),
    st.sampled_from(
        [
            "127.0.0.1",
            "localhost",
            "[::1]",
            "[::1",
            "::1]",
            "[v1.x]",
            "a..b",
            "-a",
            "ex\u0661",
            "x y",
            "example.org",
            "",
        ]
    ),
    st.one_of(
        st.just(""),
        st.integers(-5, 10**6).map(lambda port: f":{port}"),
        st.sampled_from([":", ":x", ":+80", ": 80", ":\u0661"]),
    ),
    st.sampled_from(["", "/", "/p?q", "#f", "/%zz", "/\x00"]),
)
URLS = URLISH | st.text(max_size=30)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(url=URLS)
def test_no_endpoint_string_ends_in_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str
) -> None:
    # Each command stops before any request whatever the URL: ship on a file that is not
    # there, --api and the store on a druid that is not one, redrive without its --tz.
    missing = str(tmp_path / "missing.log")
    state = str(tmp_path / "ship.db")
    store = f"dynamodb://tbl?region=us-east-1&endpoint_url={quote(url, safe='')}"
    commands = [
        ["ship", missing, "--once", "--stream", "s", "--state", state, "--endpoint-url", url],
        ["redrive", "--queue", "q", "--store", "sqlite:///:memory:", "--endpoint-url", url],
        ["history", "not-a-druid", "--api", url],
        ["history", "not-a-druid", "--store", store],
    ]
    for args in commands:
        code, out, err = run(capsys, *args)
        assert (code, out) == (1, ""), args
        one_error_line(err)

    if endpoint_url_problem(url) is None:
        # What passes, botocore and urllib take as it is.
        parts = urlsplit(url)
        assert parts.port is None or 1 <= parts.port <= 65535
        assert botocore.utils.is_valid_endpoint_url(
            url
        ) or botocore.utils.is_valid_ipv6_endpoint_url(url)
        client = boto3.client("kinesis", region_name="us-east-1", endpoint_url=url)
        assert client.meta.endpoint_url == url
