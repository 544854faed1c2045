"""The query API: one application answering API Gateway HTTP API events (payload format 2.0).

Two front doors, one application: `handlers/api.py` passes it the events API Gateway sends to
Lambda, and `provenance/query/serve.py` (`prov serve`) turns local HTTP requests into the same
events. Routing, parameters, content negotiation, caching headers and errors are decided here, once.

Routes (GET, and HEAD wherever GET: the same status and headers, no body, and Content-Length
the GET body's where GET has one (2xx and errors; never on a 304), for monitoring probes):

    /objects?failing=&kind=&status=&root=&not_checked_since=&unreplicated=&limit=&after=
                                            a page of the objects that match (`prov objects`);
                                            header Prov-Next-After: the next page's token
    /reports/fleet?overdue_days=            the repository's totals (`prov report fleet`)
    /objects/{druid}/events?limit=&after=   a page of the history (the dicts of `prov history`)
    /objects/{druid}/state                  the Object State Dashboard (`prov state`)
    /objects/{druid}/premis?format=&base_uri=&download=
                                            PREMIS 3 (`prov premis`): XML, Turtle or JSON-LD by
                                            Accept or ?format=; RDF names resources under
                                            ?base_uri= (`--base-uri`); ?download=1 names it as
                                            a file to save (Content-Disposition)
    /reports/access?by=&bucket=&from=&to=&top=&service=&agent=&tz=&format=
                                            `prov report access`: JSON rows, or CSV; headers
                                            Prov-Report-Groups (groups before the top-N cut)
                                            and Prov-Report-Events-Since (by druid: events
                                            before it have expired) say what rows cannot

The dashboard (`provenance.query.pages`): where Accept prefers text/html to JSON (a browser)
and no ?format= is given, /reports/access, /objects/{druid}?type=&outcome=&q=&limit=&after= (the
object's state and filtered history; JSON: its state) and /quarantine?reason=&limit= (counts by
reason, samples; JSON: the same) answer pages, and a browser's errors are pages too; the pages'
stylesheet and icon are /static/{asset}, named by content hash and cached for a year.

Errors are JSON `{"error": "one line"}`: 400 malformed druid or parameter, 404 unknown object or
route, 405 another method (Allow: GET, HEAD), 406 no acceptable type, 503 store unreachable,
500 anything else (logged with its traceback, never shown). Successful answers carry a weak
ETag of their content and `Cache-Control: no-cache` (keep, but ask again: a new event changes
them); a matching `If-None-Match` gets 304. Bodies over 1 kB are gzipped for clients that
accept it (HTTP APIs do not compress), which also keeps big PREMIS documents under the Lambda
response limit.

Routing is a plain table rather than Powertools' `APIGatewayHttpResolver`: it imports in a
fraction of the time (cold start), keeps no request on a shared object (the resolver sets the
current event on its class, and `prov serve` answers from several threads), and tells 405 from
404. The query modules (pydantic, lxml, rdflib) are imported by the route that needs them.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import unquote

from aws_lambda_powertools import Logger

from eventstore.errors import InvalidRequestError, StoreUnavailableError
from provenance.domain.druid import parse_druid
from provenance.domain.errors import NotFoundError, ProvenanceError
from provenance.domain.shown import shown
from provenance.domain.whole_numbers import read_whole_number
from provenance.query.negotiation import accepts_gzip, etag_matches, negotiate

if TYPE_CHECKING:
    from eventstore import EventStore
    from provenance.domain.agent_registry import AgentRegistry

JSON = "application/json"
XML = "application/xml"
TURTLE = "text/turtle"
JSON_LD = "application/ld+json"
CSV = "text/csv"
HTML = "text/html"
# PREMIS representations in the order preferred when the client has no preference.
PREMIS_TYPES: dict[str, str] = {XML: "xml", TURTLE: "turtle", JSON_LD: "json-ld"}
REPORT_TYPES: dict[str, str] = {JSON: "json", CSV: "csv"}
_CHARSET = {TURTLE: "; charset=utf-8", CSV: "; charset=utf-8", HTML: "; charset=utf-8"}
DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
# Lambda's synchronous response payload is at most 6 MB (6,291,456 bytes) for the whole JSON
# response; this leaves room for the status and headers around the body.
LAMBDA_MAX_BODY = 6_000_000
GZIP_FROM_BYTES = 1_024
ALLOWED_METHODS = "GET, HEAD"


class ApiError(Exception):
    """A request the API answers with an error status and a one-line message."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Request:
    """What the routes need of a payload-2.0 event."""

    method: str
    path: str  # without a named stage's prefix, as routed
    params: dict[str, str]  # API Gateway's queryStringParameters: repeats joined by commas
    headers: dict[str, str]  # lower-cased names

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        http = event["requestContext"]["http"]
        path = event.get("rawPath") or http.get("path") or "/"
        stage = event["requestContext"].get("stage")
        # A named stage's segment stays in rawPath; routes are written without it.
        if stage and stage != "$default" and path.startswith(f"/{stage}/"):
            path = path[len(stage) + 1 :]
        return cls(
            method=str(http["method"]).upper(),
            path=path,
            params=dict(event.get("queryStringParameters") or {}),
            headers={name.lower(): value for name, value in (event.get("headers") or {}).items()},
        )


@dataclass(frozen=True)
class Reply:
    """A successful answer (200) before encoding: its bytes and media type."""

    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[["QueryApi", Request, str], Reply]


class QueryApi:
    """The query API over one store (see the module docstring).

    `store` is called for every request and returns the store to read: the Lambda handler opens
    one per container, `prov serve` one per worker thread. `organization` and `agents` (the
    registry, loaded once by the caller: None is the built-in one) are the PREMIS exports', as
    `prov premis --organization --agents` gives them. `max_body_bytes` refuses bodies a
    platform cannot return (Lambda's limit) with a clear error instead of the platform's 502.
    """

    def __init__(
        self,
        store: Callable[[], EventStore],
        *,
        organization: str | None = None,
        agents: AgentRegistry | None = None,
        max_body_bytes: int | None = None,
        logger: Logger | None = None,
        endpoints: Sequence[str] | None = None,
    ) -> None:
        self._store = store
        self._endpoints = list(endpoints) if endpoints else None
        self._organization = organization
        self._agents = agents
        self._max_body_bytes = max_body_bytes
        self._logger = logger or Logger(service="prov-api")

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one payload-2.0 event with a payload-2.0 response."""
        started = time.perf_counter()
        request: Request | None = None
        try:
            request = Request.from_event(event)
            response = self._encode(self._dispatch(request), request)
        except ApiError as exc:
            response = error_response(exc.status, str(exc), exc.headers)
        except NotFoundError as exc:
            response = error_response(HTTPStatus.NOT_FOUND, str(exc))
        except (ProvenanceError, InvalidRequestError) as exc:
            response = error_response(HTTPStatus.BAD_REQUEST, str(exc))
        except StoreUnavailableError:
            self._logger.exception("event store unavailable")
            response = error_response(
                HTTPStatus.SERVICE_UNAVAILABLE, "the event store is unavailable; try again later"
            )
        except Exception:
            self._logger.exception("unexpected error")
            response = error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")
        if request is not None and response["statusCode"] >= 400:
            from provenance.query.pages.routing import error_for_browser  # noqa: PLC0415

            response = error_for_browser(request, response, self._logger)
        if request is not None and request.method == "HEAD":
            response = without_body(response)
        self._logger.info(
            "request",
            method=request.method if request else None,
            path=request.path if request else None,
            status=response["statusCode"],
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    def _dispatch(self, request: Request) -> Reply:
        for pattern, route in _ROUTES:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if request.method not in ("GET", "HEAD"):
                raise ApiError(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"{request.method} is not allowed here: the API answers GET and HEAD only",
                    {"Allow": ALLOWED_METHODS},
                )
            return route(self, request, unquote(match.group(1)) if match.groups() else "")
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            f"no such resource: {request.path} (routes: {ROUTE_LIST}, {PAGE_ROUTE_LIST})",
        )

    # -- routes ---------------------------------------------------------------------------------

    def events(self, request: Request, druid: str) -> Reply:
        from provenance.query.views import object_history  # noqa: PLC0415

        _check_params(request, EVENTS_PARAMS)
        negotiate_or_406(request, (JSON,))
        stream = parse_druid(druid).value
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        after = _param(request, "after")
        store = self._store()
        # One more than asked: whether it comes says if there is a next page.
        events = object_history(store, stream, limit=limit + 1, after=after)
        if not events and after is not None:
            object_history(store, stream, limit=1)  # 404 for an unknown object, not an empty page
        page = events[:limit]
        following = page[-1]["cursor"] if len(events) > limit else None
        return json_reply({"object": stream, "events": page, "next": following})

    def state(self, request: Request, druid: str) -> Reply:
        from provenance.query.views import object_state_view  # noqa: PLC0415

        _check_params(request, ())
        negotiate_or_406(request, (JSON,))
        return json_reply(object_state_view(self._store(), druid))

    def premis(self, request: Request, druid: str) -> Reply:
        from provenance.query.premis_export import ExportOptions, export_object  # noqa: PLC0415

        _check_params(request, ("format", "base_uri", "download"))
        wanted = _param(request, "format")
        if wanted is not None:
            by_format = {fmt: media for media, fmt in PREMIS_TYPES.items()}
            if wanted not in by_format:
                raise ApiError(
                    HTTPStatus.BAD_REQUEST,
                    f"format must be one of {', '.join(by_format)}, got {shown(wanted)!r}",
                )
            media_type = by_format[wanted]
        else:
            media_type = negotiate_or_406(request, tuple(PREMIS_TYPES))
        options = ExportOptions(self._organization) if self._organization else ExportOptions()
        if self._agents is not None:
            options = replace(options, agents=self._agents)
        base_uri = _param(request, "base_uri")
        if base_uri is not None:
            options = replace(options, base_uri=_base_uri(base_uri, PREMIS_TYPES[media_type]))
        document = io.BytesIO()
        export_object(
            self._store(), druid, fmt=PREMIS_TYPES[media_type], options=options, stdout=document
        )
        headers = {}
        if _param(request, "download") is not None:
            # The dashboard's download links: saved as <druid>.premis.<ext>, not shown.
            name = parse_druid(druid).value.removeprefix("druid:")
            extension = PREMIS_EXTENSIONS[PREMIS_TYPES[media_type]]
            headers["Content-Disposition"] = f'attachment; filename="{name}.premis.{extension}"'
        return Reply(document.getvalue(), media_type, headers)

    def access_report(self, request: Request, _: str) -> Reply:
        from provenance.access import report as reports  # noqa: PLC0415

        _check_params(request, REPORT_PARAMS)
        wanted = _param(request, "format")
        if wanted is not None and wanted not in REPORT_TYPES.values():
            raise ApiError(
                HTTPStatus.BAD_REQUEST, f"format must be json or csv, got {shown(wanted)!r}"
            )
        media_type = CSV if wanted == "csv" else JSON if wanted else None
        # A browser gets the dashboard's page; JSON stays first for everyone else.
        media_type = media_type or negotiate_or_406(request, (*REPORT_TYPES, HTML))
        from provenance.query.api_queries import access_query  # noqa: PLC0415

        query = access_query(request)
        if media_type == HTML:
            from provenance.query.pages.report_pages import access_page  # noqa: PLC0415

            return access_page(self._store(), request, query)
        names = reports.PARAMETER_NAMES
        report = reports.access_report(self._store(), query, names=names)
        # What `prov report access` prints besides the rows (`provenance.aws.api_client` reads it).
        about = {REPORT_GROUPS_HEADER: str(report.groups)}
        if report.events_since is not None:
            about[REPORT_EVENTS_SINCE_HEADER] = report.events_since.isoformat()
        if media_type == CSV:
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(reports.csv_rows(report))
            return Reply(text.getvalue().encode(), CSV, about)
        reply = json_reply(report.rows)
        return Reply(reply.body, reply.media_type, about)

    def object_page(self, request: Request, druid: str) -> Reply:
        """`/objects/{druid}`: the dashboard's page of the object, or its state as JSON."""
        from provenance.query.pages.routing import wants_html  # noqa: PLC0415

        if not wants_html(request):
            _check_params(request, ("format",))
            return self.state(replace(request, params={}), druid)
        from provenance.query.pages.object_page import object_page  # noqa: PLC0415

        return object_page(self._store(), request, druid)

    def quarantine(self, request: Request, _: str) -> Reply:
        """`/quarantine`: counts by reason and samples of `prov quarantine`'s entries."""
        from provenance.query.pages import quarantine_page as pages  # noqa: PLC0415
        from provenance.query.pages.routing import wants_html  # noqa: PLC0415

        if wants_html(request):
            return pages.quarantine_page(self._store(), request)
        return json_reply(pages.quarantine_summary(self._store(), request))

    def static(self, request: Request, name: str) -> Reply:
        """The dashboard's stylesheet and icon, under names holding their content hash."""
        from provenance.query.pages.routing import static_asset  # noqa: PLC0415

        return static_asset(request, name)

    def objects(self, request: Request, _: str) -> Reply:
        from provenance.query.api_queries import fleet_query  # noqa: PLC0415
        from provenance.query.fleet import fleet_objects  # noqa: PLC0415
        from provenance.query.pages.routing import wants_html  # noqa: PLC0415

        _check_params(request, (*OBJECTS_PARAMS, "format"))
        page = fleet_objects(self._store(), fleet_query(request), endpoints=self._endpoints)
        if wants_html(request):
            from provenance.query.pages.fleet_pages import objects_page  # noqa: PLC0415

            report = self._fleet_report(90)
            asked = {name: _param(request, name) for name in OBJECTS_PARAMS}
            return objects_page(asked, page.objects, page.next, report)
        reply = json_reply(page.objects)
        about = {NEXT_PAGE_HEADER: page.next} if page.next is not None else {}
        return Reply(reply.body, reply.media_type, about)

    def fleet_report(self, request: Request, _: str) -> Reply:
        """`/reports/fleet`, and `/`: the overview page for a browser, else the report."""
        from provenance.query.pages.routing import wants_html  # noqa: PLC0415

        _check_params(request, ("overdue_days", "format"))
        days = _int_param(request, "overdue_days", 90, 1, 36_500)
        if wants_html(request):
            from provenance.query.pages.fleet_pages import overview_page  # noqa: PLC0415

            return overview_page(self._fleet_report(days))
        return json_reply(self._fleet_report(days))

    def _fleet_report(self, overdue_days: int) -> dict[str, Any]:
        from provenance.query.fleet import fleet_report  # noqa: PLC0415

        return fleet_report(self._store(), endpoints=self._endpoints, overdue_days=overdue_days)

    # -- encoding -------------------------------------------------------------------------------

    def _encode(self, reply: Reply, request: Request) -> dict[str, Any]:
        """Headers, ETag and 304, gzip for clients that take it, and the body as the payload
        carries it (text, or base64 when compressed)."""
        headers = {"Content-Type": reply.media_type + _CHARSET.get(reply.media_type, "")}
        headers["Cache-Control"] = "no-cache"
        headers.update(reply.headers)  # a static asset is kept for long (its own Cache-Control)
        headers["Vary"] = "Accept, Accept-Encoding"
        # The reply's own headers are part of what it says (a report's group count).
        tagged = reply.body + (
            repr(sorted(reply.headers.items())).encode() if reply.headers else b""
        )
        etag = 'W/"' + hashlib.sha256(tagged).hexdigest()[:32] + '"'
        headers["ETag"] = etag
        if etag_matches(request.headers.get("if-none-match"), etag):
            return {
                "statusCode": HTTPStatus.NOT_MODIFIED,
                "headers": {name: headers[name] for name in ("ETag", "Cache-Control", "Vary")},
                "body": "",
                "isBase64Encoded": False,
            }
        body = reply.body
        encoded = False
        if len(body) >= GZIP_FROM_BYTES and accepts_gzip(request.headers.get("accept-encoding")):
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
            encoded = True
        text = base64.b64encode(body).decode("ascii") if encoded else body.decode("utf-8")
        if self._max_body_bytes is not None and len(text) > self._max_body_bytes:
            raise ApiError(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                f"the response ({len(text):,} bytes) is over the {self._max_body_bytes:,}-byte "
                "limit of this service: ask with Accept-Encoding: gzip, page with ?limit=, or "
                "use the prov command on the store",
            )
        return {
            "statusCode": int(HTTPStatus.OK),
            "headers": headers,
            "body": text,
            "isBase64Encoded": encoded,
        }


_ROUTES: tuple[tuple[re.Pattern[str], Route], ...] = (
    (re.compile(r"/objects/([^/]+)/events"), QueryApi.events),
    (re.compile(r"/objects/([^/]+)/state"), QueryApi.state),
    (re.compile(r"/objects/([^/]+)/premis"), QueryApi.premis),
    (re.compile(r"/reports/access"), QueryApi.access_report),
    (re.compile(r"/objects"), QueryApi.objects),
    (re.compile(r"/reports/fleet"), QueryApi.fleet_report),
    # The dashboard (pages for browsers; each answers JSON too but the assets).
    (re.compile(r"/"), QueryApi.fleet_report),
    (re.compile(r"/objects/([^/]+)"), QueryApi.object_page),
    (re.compile(r"/quarantine"), QueryApi.quarantine),
    (re.compile(r"/static/([^/]+)"), QueryApi.static),
)
ROUTE_LIST = (
    "/objects, /objects/{druid}/events, /objects/{druid}/state, /objects/{druid}/premis, "
    "/reports/access, /reports/fleet"
)
# The dashboard's routes, served where staff sign in (`prov serve`, the load balancer), not on
# the IAM-signed HTTP API that ROUTE_LIST describes.
PAGE_ROUTE_LIST = "/, /objects/{druid}, /quarantine, /static/{asset}"
OBJECTS_PARAMS = (
    "failing",
    "kind",
    "status",
    "root",
    "not_checked_since",
    "unreplicated",
    "limit",
    "after",
)
NEXT_PAGE_HEADER = "Prov-Next-After"
"""`GET /objects`: the token of the next page (`after=`), absent on the last page."""
EVENTS_PARAMS = ("limit", "after")
REPORT_PARAMS = ("by", "bucket", "from", "to", "top", "service", "agent", "tz", "format")
PREMIS_EXTENSIONS = {"xml": "xml", "turtle": "ttl", "json-ld": "jsonld"}
REPORT_GROUPS_HEADER = "Prov-Report-Groups"
REPORT_EVENTS_SINCE_HEADER = "Prov-Report-Events-Since"


def json_reply(document: Any) -> Reply:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
    return Reply(body.encode(), JSON)


def has_content(status: int) -> bool:
    """Whether an answer with this status has content, so a Content-Length (RFC 9110, 6.4.1
    and 8.6): not 1xx, 204 or 304. A 304 could state the length of the 200 it stands for, but
    its body is not at hand, and the header is optional."""
    return not (100 <= status < 200 or status in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED))


def without_body(response: dict[str, Any]) -> dict[str, Any]:
    """The answer to HEAD: GET's status and headers, and no body; where GET has content, the
    length of GET's body as Content-Length (RFC 9110, 9.3.2)."""
    headers = dict(response.get("headers") or {})
    if has_content(int(response["statusCode"])):
        body = response.get("body") or ""
        encoded = response.get("isBase64Encoded")
        length = len(base64.b64decode(body)) if encoded else len(body.encode())
        headers["Content-Length"] = str(length)
    return {**response, "headers": headers, "body": "", "isBase64Encoded": False}


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A payload-2.0 error response: `{"error": "..."}` on one line, never cached."""
    one_line = " ".join(message.split())
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": JSON, "Cache-Control": "no-store", **(headers or {})},
        "body": json.dumps({"error": one_line}, ensure_ascii=False),
        "isBase64Encoded": False,
    }


# -- parameters ---------------------------------------------------------------------------------


def _check_params(request: Request, allowed: Sequence[str]) -> None:
    unknown = sorted(set(request.params) - set(allowed))
    if unknown:
        takes = f"takes {', '.join(allowed)}" if allowed else "takes no parameters"
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"unknown parameter {shown(unknown[0])!r}: {request.path} {takes}",
        )


def _param(request: Request, name: str) -> str | None:
    """A parameter's value; given empty, it counts as not given."""
    value = request.params.get(name)
    return value if value else None


def _base_uri(value: str, fmt: str) -> str:
    """`base_uri`, the rule of `prov premis --base-uri` (`premis.rdf_triples.base_uri_problem`)."""
    from premis.rdf_triples import base_uri_problem  # noqa: PLC0415

    if fmt == "xml":
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "base_uri names RDF resources: ask for turtle or json-ld"
        )
    problem = base_uri_problem(value)
    if problem is not None:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"base_uri {shown(value)!r} {problem}")
    return value


def _list_param(request: Request, name: str) -> list[str]:
    """A repeatable parameter: repeats arrive joined by commas, and commas separate too."""
    value = _param(request, name) or ""
    return [item.strip() for item in value.split(",") if item.strip()]


@overload
def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int: ...
@overload
def _int_param(request: Request, name: str, default: None, low: int, high: int) -> int | None: ...
def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    """A count, read as the CLI reads its options (`provenance.domain.whole_numbers`: ASCII digits
    alone, so not `+5`, `1_0` or another script's digits)."""
    value = _param(request, name)
    if value is None:
        return default
    number = read_whole_number(value, low, high)
    if number is None:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"{name} must be a whole number from {low} to {high} (the digits 0-9 alone), "
            f"got {shown(value)!r}",
        )
    return number


# -- negotiation (`provenance.query.negotiation`) ----------------------------------------------


def negotiate_or_406(request: Request, offers: Sequence[str]) -> str:
    chosen = negotiate(request.headers.get("accept"), offers)
    if chosen is None:
        raise ApiError(
            HTTPStatus.NOT_ACCEPTABLE,
            f"cannot answer {shown(request.headers.get('accept') or '')!r}: {request.path} is "
            f"available as {', '.join(offers)}",
        )
    return chosen
