"""`prov serve`: the query API on this machine, behind waitress (a production WSGI server).

A WSGI request becomes the event API Gateway's HTTP API would send for it (payload format 2.0,
`event_from_environ`), the same `QueryApi` the Lambda runs answers it, and the payload-2.0
response goes back out through WSGI (`wsgi_app`). So `prov serve` answers exactly what the
Lambda answers. Each waitress worker thread opens its own store (`PerThreadStore`): an SQLite
connection belongs to one thread.

Waitress takes a KeyboardInterrupt (Ctrl-C, and SIGTERM and SIGHUP as the CLI raises them) as
the end of serving and returns normally; `LocalServer.run` raises it again once waitress has shut
down, so `prov serve` ends with the signal's exit code as every command does. The request log
goes to standard output until it cannot be written there (`prov serve | head -1`, a full disk):
then the log stops, with no traceback per request, and the server goes on.

Waitress is imported when a server is made: the event mapping is usable without it.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aws_lambda_powertools import Logger

from eventstore import EventStore, open_store
from provenance.domain.errors import ProvenanceError
from provenance.domain.events import ACCESS_STREAM_PREFIX
from provenance.domain.terminal import json_text
from provenance.query.http_api import QueryApi, has_content

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from provenance.domain.agent_registry import AgentRegistry

Handle = Callable[[dict[str, Any]], dict[str, Any]]
# CGI names of the headers WSGI keeps outside HTTP_*.
_UNPREFIXED_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}
# The signals that stop a command (the CLI makes SIGTERM and SIGHUP raise as Ctrl-C does).
_STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def event_from_environ(environ: WSGIEnvironment, *, now: datetime | None = None) -> dict[str, Any]:
    """The payload-2.0 event API Gateway would send for this request (`$default` route and
    stage): path decoded, headers lower-cased, repeated query parameters and headers joined by
    commas, cookies in their own list."""
    now = now or datetime.now(UTC)
    path = _text(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
    query = _text(environ.get("QUERY_STRING", ""))
    method = environ["REQUEST_METHOD"].upper()
    headers: dict[str, str] = {}
    for key, value in environ.items():
        name = _UNPREFIXED_HEADERS.get(key)
        if name is None and key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        if name is not None and value != "":
            headers[name] = _text(value)
    cookies = [item.strip() for item in headers.pop("cookie", "").split(";") if item.strip()]
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    source_ip = environ.get("REMOTE_ADDR", "")
    domain = headers.get("host") or str(environ.get("SERVER_NAME", ""))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "prov-serve",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    # API Gateway leaves out what the request does not have.
    if cookies:
        event["cookies"] = cookies
    if parameters:
        event["queryStringParameters"] = parameters
    body = _read_body(environ)
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def _text(wsgi_string: str) -> str:
    # PEP 3333 hands over request bytes as latin-1 code points; the URL and headers are UTF-8.
    return wsgi_string.encode("latin-1").decode("utf-8", "replace")


def _read_body(environ: WSGIEnvironment) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def wsgi_app(handle: Handle) -> WSGIApplication:
    """A WSGI application answering each request with `handle(payload-2.0 event)`."""

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = handle(event_from_environ(environ))
        head = str(environ.get("REQUEST_METHOD", "")).upper() == "HEAD"
        status, headers, body = response_to_wsgi(response, head=head)
        start_response(status, headers)
        return [body]

    return application


def response_to_wsgi(
    response: Mapping[str, Any], *, head: bool = False
) -> tuple[str, list[tuple[str, str]], bytes]:
    """A payload-2.0 response as a WSGI status line, header list and body; for a `head`
    request no body, and the Content-Length the response states (that of GET's body). A status
    without content (304, 204) gets no Content-Length."""
    code = int(response.get("statusCode", 200))
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    text = response.get("body") or ""
    body = base64.b64decode(text) if response.get("isBase64Encoded") else text.encode("utf-8")
    headers = [(str(name), str(value)) for name, value in (response.get("headers") or {}).items()]
    headers += [("Set-Cookie", cookie) for cookie in response.get("cookies") or ()]
    stated = [value for name, value in headers if name.lower() == "content-length"]
    headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
    if not has_content(code):
        return f"{code} {phrase}".rstrip(), headers, b""
    if head:
        headers.append(("Content-Length", stated[-1] if stated else str(len(body))))
        return f"{code} {phrase}".rstrip(), headers, b""
    headers.append(("Content-Length", str(len(body))))
    return f"{code} {phrase}".rstrip(), headers, body


class PerThreadStore:
    """Opens the store at `url` once per calling thread (an SQLite connection is not shared)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    def __call__(self) -> EventStore:
        store: EventStore | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = open_store(
                self.url, create=False, bundled_prefixes=(ACCESS_STREAM_PREFIX,)
            )
        return store


class LocalServer:
    """waitress serving `application` on host:port (port 0: any free one) with N threads.
    ProvenanceError, in one line, when it cannot listen there."""

    def __init__(self, application: WSGIApplication, *, host: str, port: int, threads: int) -> None:
        try:
            from waitress.server import create_server  # noqa: PLC0415  (only serving needs it)
        except ImportError:
            # A runtime installed alone (the Lambda's): say what to install, not a traceback.
            raise ProvenanceError(
                "prov serve needs waitress: pip install 'sdr-provenance[serve]' "
                "(make demo installs it)"
            ) from None

        self._map: dict[int, Any] = {}
        try:
            listening = _listening_socket(host, port)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ProvenanceError(f"cannot listen on {host}:{port}: {reason}") from None
        try:
            self._server = create_server(
                application, map=self._map, sockets=[listening], threads=threads, ident="prov-serve"
            )
        except BaseException:
            listening.close()
            raise
        bound_host, bound_port = listening.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"

    def run(self) -> None:
        """Serve until `close()`d from another thread, or interrupted: the KeyboardInterrupt
        that stopped waitress (which returns normally after one) is raised again once it has
        shut down."""
        interruptions: list[BaseException] = []
        with _keeping_interruptions(interruptions):
            self._server.run()
        if interruptions:
            raise interruptions[0]

    def close(self) -> None:
        from waitress import wasyncore  # noqa: PLC0415

        self._server.task_dispatcher.shutdown()
        wasyncore.close_all(self._map)


@contextmanager
def _keeping_interruptions(kept: list[BaseException]) -> Iterator[None]:
    """While the block runs, what a stopping signal's handler raises (Ctrl-C's
    KeyboardInterrupt, the CLI's SIGTERM and SIGHUP) is also put in `kept`. Handlers are the
    main thread's to change: from another thread (tests) nothing is kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    for signum in _STOPPING_SIGNALS:
        handler = signal.getsignal(signum)
        if callable(handler):  # an ignored signal (nohup) stays ignored
            previous[signum] = signal.signal(signum, partial(_keeping, handler, kept))
    try:
        yield
    finally:
        for stopping, handler in previous.items():
            signal.signal(stopping, handler)


def _keeping(
    handler: Callable[[int, Any], Any], kept: list[BaseException], signum: int, frame: Any
) -> None:
    try:
        handler(signum, frame)
    except BaseException as exc:
        kept.append(exc)
        raise


class _RequestLog(logging.StreamHandler):  # type: ignore[type-arg]
    """The request log on standard output. The first time a record cannot be written there
    (its reader left, a full disk) `failed` is told, and the log stops: the server goes on,
    and no request adds logging's `--- Logging error ---` traceback."""

    def __init__(self, failed: Callable[[OSError], None]) -> None:
        super().__init__(sys.stdout)
        self._failed = failed
        self._stopped = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self._stopped:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802  (logging's name)
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)
        elif not self._stopped:
            self._stopped = True
            self._failed(error)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: a free one), made here rather than by waitress so
    that a failed bind leaves nothing open and the bound port is known before serving."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listening = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":
            # Restarting right after a stop must not wait out TIME_WAIT (never a second listener).
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
    except BaseException:
        listening.close()
        raise
    return listening


def serve_api(
    store_url: str,
    *,
    host: str,
    port: int,
    threads: int,
    organization: str | None,
    agents: AgentRegistry | None,
    echo: Callable[[str], None],
    log_failed: Callable[[OSError], None],
    endpoints: Sequence[str] | None = None,
) -> None:
    """Run the query API over `store_url` on host:port until interrupted (raised again, see
    `LocalServer.run`). `log_failed` is told when the request log can no longer be written
    to standard output."""
    # The request log goes to this terminal and quotes request paths anyone can choose.
    logger = Logger(
        service="prov-api",
        logger_handler=_RequestLog(log_failed),
        json_serializer=lambda log: json_text(log, indent=None),
    )
    api = QueryApi(
        PerThreadStore(store_url),
        organization=organization,
        agents=agents,
        logger=logger,
        endpoints=endpoints,
    )
    server = LocalServer(wsgi_app(api.handle), host=host, port=port, threads=threads)
    # The URL stays the line's sixth word: scripts and tests read it there.
    echo(f"serving the query API on {server.url}/ and the dashboard there (Ctrl-C to stop)")
    server.run()
