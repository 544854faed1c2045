"""`prov serve`: real HTTP requests to waitress get what the Lambda handler answers."""

from __future__ import annotations

import base64
import errno
import http.client
import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from eventstore import open_store
from provenance.query.http_api import QueryApi
from provenance.query.serve import (
    LocalServer,
    PerThreadStore,
    event_from_environ,
    response_to_wsgi,
    wsgi_app,
)
from tests.cli.test_cli import run
from tests.query.test_http_api import Demo, http_event, make_demo
from tests.terminal_helpers import HOSTILE_TOKEN, raw_controls

ROOT = Path(__file__).resolve().parents[2]


def environ(path: str, query: str = "", **extra: Any) -> dict[str, Any]:
    """A WSGI environ as waitress builds it (PATH_INFO decoded, bytes as latin-1 code points)."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8080",
        "wsgi.input": io.BytesIO(b""),
        **extra,
    }


def test_a_wsgi_request_becomes_a_payload_2_event() -> None:
    event = event_from_environ(
        environ(
            "/objects/druid:bc123df4567/events",
            "service=stacks&service=purl&limit=5&empty=",
            HTTP_ACCEPT="text/turtle",
            HTTP_USER_AGENT="curl/8.5.0",
            HTTP_COOKIE="a=1; b=2",
            CONTENT_TYPE="",
        )
    )

    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "$default"
    assert event["rawPath"] == "/objects/druid:bc123df4567/events"
    assert event["rawQueryString"] == "service=stacks&service=purl&limit=5&empty="
    assert event["queryStringParameters"] == {"service": "stacks,purl", "limit": "5", "empty": ""}
    assert event["headers"] == {
        "accept": "text/turtle",
        "user-agent": "curl/8.5.0",
        "host": "127.0.0.1:8080",
    }
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"] == {
        "method": "GET",
        "path": "/objects/druid:bc123df4567/events",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8.5.0",
    }
    assert event["requestContext"]["stage"] == "$default"
    assert event["isBase64Encoded"] is False
    assert "body" not in event


def test_an_event_without_query_has_no_parameters_and_keeps_utf8_paths() -> None:
    event = event_from_environ(environ("/objects/é/state"))

    assert "queryStringParameters" not in event
    assert event["rawQueryString"] == ""
    assert event["rawPath"] == "/objects/é/state"


def test_a_payload_2_response_becomes_wsgi() -> None:
    status, headers, body = response_to_wsgi(
        {
            "statusCode": 406,
            "headers": {"Content-Type": "application/json", "Content-Length": "999"},
            "cookies": ["a=1; Path=/"],
            "body": base64.b64encode(b"\x1f\x8b binary").decode(),
            "isBase64Encoded": True,
        }
    )

    assert status == "406 Not Acceptable"
    assert body == b"\x1f\x8b binary"
    assert headers == [
        ("Content-Type", "application/json"),
        ("Set-Cookie", "a=1; Path=/"),
        ("Content-Length", str(len(body))),
    ]


@pytest.mark.parametrize("head", [False, True])
def test_a_304_becomes_wsgi_without_content_length(head: bool) -> None:
    status, headers, body = response_to_wsgi(
        {"statusCode": 304, "headers": {"ETag": 'W/"x"'}, "body": "", "isBase64Encoded": False},
        head=head,
    )

    assert (status, headers, body) == ("304 Not Modified", [("ETag", 'W/"x"')], b"")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return make_demo(tmp_path_factory.mktemp("serve-demo"))


@pytest.fixture(scope="module")
def server(demo: Demo) -> Iterator[tuple[str, QueryApi]]:
    """`prov serve`'s stack in this process: waitress, the WSGI adapter, one store per thread."""
    api = QueryApi(PerThreadStore(demo.url))
    local = LocalServer(wsgi_app(api.handle), host="127.0.0.1", port=0, threads=3)
    thread = threading.Thread(target=local.run, daemon=True)
    thread.start()
    yield local.url, api
    local.close()
    thread.join(timeout=5)
    assert not thread.is_alive()


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Any:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def requests_for(druid: str) -> list[tuple[str, dict[str, str], str]]:
    """(path and query, headers, method) pairs covering every route and error class."""
    return [
        (f"/objects/{druid}/events?limit=5", {}, "GET"),
        (f"/objects/{druid}/state", {}, "GET"),
        (f"/objects/{druid}/premis", {}, "GET"),
        (f"/objects/{druid}/premis", {"Accept": "text/turtle;q=0.9, application/xml;q=0.1"}, "GET"),
        (f"/objects/{druid}/premis", {"Accept-Encoding": "gzip"}, "GET"),
        ("/reports/access?by=agent,service&bucket=week&tz=UTC&top=4", {}, "GET"),
        ("/reports/access?by=path&service=stacks&service=purl&format=csv&tz=UTC", {}, "GET"),
        ("/objects/bc123df4567/state", {}, "GET"),
        ("/objects/not-a-druid/events", {}, "GET"),
        (f"/objects/{druid}/events?limit=abc", {}, "GET"),
        (f"/objects/{druid}/premis", {"Accept": "text/html"}, "GET"),
        (f"/objects/{druid}/state", {}, "DELETE"),
        ("/nothing/here", {}, "GET"),
    ]


def test_http_answers_are_the_handler_answers(server, demo) -> None:
    url, api = server
    for target, headers, method in requests_for(demo.druid):
        status, got_headers, body = fetch(url + target, headers, method)
        path, _, query = target.partition("?")
        http_headers = {
            "HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()
        }
        expected = api.handle(
            event_from_environ(environ(path, query, REQUEST_METHOD=method, **http_headers))
        )
        want_status, want_headers, want_body = response_to_wsgi(expected)

        assert status == int(want_status.split()[0]), target
        assert body == want_body, target
        for name, value in want_headers:
            assert got_headers[name] == value, (target, name)


def test_http_head_gets_the_get_status_and_headers_and_no_body(server, demo) -> None:
    """As monitoring probes ask: over a real connection, kept alive between requests."""
    url, _ = server
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for target, headers, method in requests_for(demo.druid):
            if method != "GET":
                continue
            connection.request("GET", target, headers=headers)
            get = connection.getresponse()
            body = get.read()
            connection.request("HEAD", target, headers=headers)
            head = connection.getresponse()

            assert head.read() == b"", target
            assert head.status == get.status, target
            assert head.getheader("Content-Length") == str(len(body)), target
            for name in ("Content-Type", "Content-Encoding", "ETag", "Cache-Control", "Allow"):
                assert head.getheader(name) == get.getheader(name), (target, name)
    finally:
        connection.close()


def test_http_another_method_is_405_allowing_get_and_head(server, demo) -> None:
    url, _ = server
    status, headers, _ = fetch(f"{url}/objects/{demo.druid}/state", method="POST")
    assert (status, headers["Allow"]) == (405, "GET, HEAD")


def test_http_state_is_the_cli_state_for_a_bare_druid(server, demo, capsys) -> None:
    url, _ = server
    bare = demo.druid.removeprefix("druid:")

    status, headers, body = fetch(f"{url}/objects/{bare}/state")

    assert (status, headers["Content-Type"]) == (200, "application/json")
    code, out, _ = run(capsys, "state", demo.druid, "--store", demo.url, "--format", "json")
    assert code == 0
    assert json.loads(body) == json.loads(out)


def test_concurrent_requests_each_get_their_page(server, demo) -> None:
    url, _ = server
    first = json.loads(fetch(f"{url}/objects/{demo.druid}/events?limit=10")[2])
    cursors = [event["cursor"] for event in first["events"]]

    def page_after(cursor: str) -> list[str]:
        status, _, body = fetch(f"{url}/objects/{demo.druid}/events?limit=1&after={quote(cursor)}")
        assert status == 200
        return [event["cursor"] for event in json.loads(body)["events"]]

    with ThreadPoolExecutor(max_workers=6) as pool:
        pages = list(pool.map(page_after, cursors[:-1] * 3))

    assert pages == [[following] for following in cursors[1:]] * 3


def test_prov_serve_prints_its_url_and_answers_until_interrupted(demo, capsys) -> None:
    command = [
        sys.executable, "-c", "from provenance.cli.main import main; main()",
        "serve", "--store", demo.url, "--port", "0", "--threads", "2",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving the query API on http://127.0.0.1:"), line
        url = line.split()[5].rstrip("/")

        status, _, body = fetch(f"{url}/objects/{demo.druid}/events?limit=3")

        assert status == 200
        code, out, _ = run(
            capsys, "history", demo.druid, "--store", demo.url, "--limit", "3", "--format", "json"
        )
        assert code == 0
        assert json.loads(body)["events"] == json.loads(out)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 128 + signal.SIGINT, err
    assert "Traceback" not in err


def test_prov_serve_logs_a_hostile_path_with_its_controls_escaped(demo) -> None:
    command = [
        sys.executable, "-c", "from provenance.cli.main import main; main()",
        "serve", "--store", demo.url, "--port", "0", "--threads", "1",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "POWERTOOLS_LOG_LEVEL": "INFO"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[5].rstrip("/")
        status, _, _ = fetch(f"{url}/objects/{quote(HOSTILE_TOKEN)}/state")
        assert status == 400
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 128 + signal.SIGINT, err
    logs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (logged,) = [log for log in logs if log.get("status") == 400]
    assert logged["path"] == f"/objects/{HOSTILE_TOKEN}/state"  # the same value, escaped
    assert raw_controls(out) == [] and raw_controls(err) == []


def start_serving(url: str, **env: str) -> tuple[subprocess.Popen[str], str]:
    """A real `prov serve` on a free port, and its base URL (its first line)."""
    command = [
        sys.executable, "-c", "from provenance.cli.main import main; main()",
        "serve", "--store", url, "--port", "0", "--threads", "1",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("serving the query API on http://127.0.0.1:"), line
    return process, line.split()[5].rstrip("/")


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["INT", "TERM", "HUP"]
)
def test_prov_serve_ends_with_the_exit_code_of_the_signal_that_stopped_it(demo, signum) -> None:
    # waitress returns normally from the KeyboardInterrupt these raise: the code must not be 0.
    process, url = start_serving(demo.url)
    try:
        assert fetch(f"{url}/objects/{demo.druid}/state")[0] == 200
    finally:
        process.send_signal(signum)
        _, err = process.communicate(timeout=10)

    assert process.returncode == 128 + signum, err
    name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    # waitress may warn "Task queue depth is 1" of a request queued behind another: its own
    # line, not ours; what ends the run is one line and no traceback.
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == f"prov: error: interrupted{name}", err


def test_prov_serve_goes_on_quietly_when_the_reader_of_its_log_leaves(demo) -> None:
    # `prov serve | head -1`: the URL is read, then the reader of stdout is gone.
    process, url = start_serving(demo.url, POWERTOOLS_LOG_LEVEL="INFO")
    assert process.stdout is not None
    process.stdout.close()
    try:
        statuses = [fetch(f"{url}/objects/{demo.druid}/state")[0] for _ in range(3)]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)

    assert statuses == [200, 200, 200]
    assert process.returncode == 128 + signal.SIGTERM, err
    # No "--- Logging error ---" per request. (waitress may warn "Task queue depth is 1" when
    # a request comes while its one thread is still finishing the previous one: not ours.)
    assert "Logging error" not in err and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "prov: error: interrupted (SIGTERM)", err


def test_the_request_log_stops_at_its_first_failed_write(capsys) -> None:
    from provenance.query.serve import _RequestLog

    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    failures: list[OSError] = []
    log = _RequestLog(failures.append)
    log.setStream(Full())
    record = logging.LogRecord("prov-api", logging.INFO, __file__, 1, "GET /", None, None)

    log.handle(record)
    log.handle(record)

    assert [failure.errno for failure in failures] == [errno.ENOSPC]
    assert capsys.readouterr().err == ""  # logging's own traceback is not printed


def test_prov_serve_refuses_a_missing_store_in_one_line(capsys, tmp_path) -> None:
    code, out, err = run(capsys, "serve", "--store", f"sqlite:///{tmp_path / 'none.db'}")

    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("prov: error:")


def test_prov_serve_says_when_the_port_is_taken(capsys, demo, server) -> None:
    url, _ = server
    port = url.rsplit(":", 1)[1]

    code, _, err = run(capsys, "serve", "--store", demo.url, "--port", port)

    assert code == 1
    assert err.startswith(f"prov: error: cannot listen on 127.0.0.1:{port}")


def test_per_thread_stores_are_separate_connections(demo) -> None:
    stores = PerThreadStore(demo.url)
    mine = stores()
    theirs: list[Any] = []
    worker = threading.Thread(target=lambda: theirs.append(stores()))
    worker.start()
    worker.join()

    assert stores() is mine
    assert theirs[0] is not mine
    with open_store(demo.url, create=False) as store:
        assert mine.read_stream(demo.druid, limit=1) == store.read_stream(demo.druid, limit=1)
    mine.close()


def test_handler_events_and_served_events_agree(server, demo) -> None:
    """The adapter's event and a hand-made API Gateway event get the same answer."""
    url, api = server
    target = f"/objects/{demo.druid}/events"
    by_gateway = api.handle(http_event(target, {"limit": "4"}))

    _, _, body = fetch(f"{url}{target}?limit=4")

    assert body.decode() == by_gateway["body"]


def test_prov_serve_without_waitress_says_what_to_install(capsys, demo, monkeypatch) -> None:
    # `make demo` installs the runtime alone; `prov serve` then names the extra, in one line.
    monkeypatch.setitem(sys.modules, "waitress.server", None)

    code, out, err = run(capsys, "serve", "--store", demo.url, "--port", "0")

    assert code == 1
    assert out == ""
    expected = (
        "prov serve needs waitress: pip install 'sdr-provenance[serve]' (make demo installs it)"
    )
    assert err == f"prov: error: {expected}\n"


def _served_with(monkeypatch, capsys, *args: str) -> tuple[int, str, dict[str, Any]]:
    """`prov serve ARGS` up to the server: its exit code, stderr, and what it would serve with."""
    import provenance.query.serve as serve_module

    given: dict[str, Any] = {}
    monkeypatch.setattr(serve_module, "serve_api", lambda url, **options: given.update(options))
    code, _, err = run(capsys, "serve", *args)
    return code, err, given


def test_prov_serve_exports_premis_with_the_agents_file(capsys, demo, tmp_path, monkeypatch):
    agents = tmp_path / "agents.toml"
    agents.write_text('[agents.preservation_catalog]\nname = "SDR Preservation Catalog"\n')
    monkeypatch.delenv("PROV_AGENTS", raising=False)

    code, err, given = _served_with(
        monkeypatch, capsys, "--store", demo.url, "--agents", str(agents)
    )
    assert (code, err) == (0, "")
    api = QueryApi(PerThreadStore(demo.url), agents=given["agents"])
    served = api.handle(http_event(f"/objects/{demo.druid}/premis"))["body"]
    code, exported, _ = run(
        capsys, "premis", demo.druid, "--store", demo.url, "--agents", str(agents)
    )
    assert code == 0
    assert "<premis:agentName>SDR Preservation Catalog</premis:agentName>" in served
    assert served == exported

    # From the environment, as `prov premis` reads it; without either, the built-in agents.
    monkeypatch.setenv("PROV_AGENTS", str(agents))
    assert _served_with(monkeypatch, capsys, "--store", demo.url)[2]["agents"] is not None
    monkeypatch.delenv("PROV_AGENTS")
    assert _served_with(monkeypatch, capsys, "--store", demo.url)[2]["agents"] is None


def test_prov_serve_refuses_a_bad_agents_file_in_one_line(capsys, demo, tmp_path, monkeypatch):
    agents = tmp_path / "agents.toml"
    agents.write_text("[agents.a]\ntype = 'robot'\n")

    code, err, given = _served_with(
        monkeypatch, capsys, "--store", demo.url, "--agents", str(agents)
    )

    assert (code, given) == (1, {})
    assert err == (
        f"prov: error: agents file {agents}: agents.a.type must be one of software, "
        "organization, person, hardware\n"
    )
