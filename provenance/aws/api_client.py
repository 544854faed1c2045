"""Querying a deployed query API (`prov ... --api URL`): SigV4-signed GETs, answers as the store's.

The deployed API (API Gateway HTTP API, IAM authorization, see `provenance.query.http_api`) answers
with the documents the embedded commands compute, so the commands can print them with the same
renderers. This module owns the way there: the URL, who signs and for which region, the HTTP
exchange (gzip, timeouts, retries of the idempotent GETs on throttling, gateway errors and
broken connections), and turning the API's answers back into results or one-line errors with
the CLI's exit codes (`NotFoundError` for 404, `ApiClientError` for the rest).

Signing uses the caller's AWS credentials as botocore finds them (AWS_PROFILE, environment, SSO,
instance or container roles) and botocore's SigV4 signer for the service `execute-api`. A local
`prov serve` (http on a loopback address) has no authentication: without credentials or a
region, requests to it go unsigned. HTTP goes through botocore's urllib3 session, so proxies
(HTTPS_PROXY, NO_PROXY) and AWS_CA_BUNDLE work as for the AWS CLI; it follows no redirect, so a
signature never travels to another host.

botocore is imported when a client is made (only `--api` needs it): `prov --help` stays fast.
The region rule is the project's (`eventstore.aws_region`: AWS_REGION before botocore's own
resolution).
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import random
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, urlsplit

from eventstore.aws_region import configured_region, region_help
from eventstore.url import endpoint_url_problem
from provenance.domain.druid import parse_druid
from provenance.domain.errors import NotFoundError, ProvenanceError
from provenance.files.output_file import STDOUT, write_bytes

if TYPE_CHECKING:
    from provenance.access.report import Report, ReportQuery
    from provenance.query.fleet import FleetPage, FleetQuery

SERVICE = "execute-api"
JSON = "application/json"
# The media types of `provenance.query.http_api` (not imported: it brings Powertools along).
PREMIS_MEDIA_TYPES: dict[str, str] = {
    "xml": "application/xml",
    "turtle": "text/turtle",
    "json-ld": "application/ld+json",
}
# What a report's rows alone do not tell (`provenance.query.http_api` sends them with
# /reports/access).
REPORT_GROUPS_HEADER = "Prov-Report-Groups"
REPORT_EVENTS_SINCE_HEADER = "Prov-Report-Events-Since"
NEXT_PAGE_HEADER = "Prov-Next-After"  # /objects: the next page's token
HISTORY_PAGE = 1_000  # the API's largest page
CONNECT_TIMEOUT = 10.0
# An HTTP API gives up on its Lambda after 30 s (and answers 503): wait a little longer.
READ_TIMEOUT = 35.0
ATTEMPTS = 4
BACKOFF_SECONDS = 0.5  # before the first retry; doubled each time, with full jitter
MAX_RETRY_AFTER = 20.0
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# {api-id}.execute-api.{region}.amazonaws.com, the VPC endpoint form
# {api-id}-{vpce-id}.execute-api.{region}.vpce.amazonaws.com, and China's amazonaws.com.cn.
_EXECUTE_API_HOST = re.compile(
    r"[^.]+\.execute-api(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r"\.(?:vpce\.)?amazonaws\.com(?:\.cn)?"
)
_CREDENTIALS_HELP = (
    "set AWS_PROFILE (after `aws sso login` for an SSO profile), or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or run where an instance or container role is available"
)


class ApiClientError(ProvenanceError):
    """The API could not be asked, or refused or failed the question (exit code 1)."""


def region_from_host(host: str) -> str | None:
    """The region in an API Gateway host name (`abc123.execute-api.us-east-1.amazonaws.com`);
    None for any other host (a custom domain, a local `prov serve`)."""
    match = _EXECUTE_API_HOST.fullmatch(host.lower().rstrip("."))
    return match.group("region") if match else None


def signing_region(host: str, explicit: str | None, configured: str | None) -> str | None:
    """The region to sign for: the one in an API Gateway host name, else `explicit` (--region),
    else `configured` (AWS_REGION, AWS_DEFAULT_REGION or the profile's). An explicit region
    that contradicts the host name would only earn a 403: it is refused at once."""
    from_host = region_from_host(host)
    if from_host is not None:
        if explicit and explicit != from_host:
            raise ApiClientError(
                f"--region {explicit} does not match the API's region {from_host} (from its URL)"
            )
        return from_host
    return explicit or configured or None


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (where `prov serve` listens without authentication)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_base_url(url: str) -> str:
    """The API's base URL as requests are built on it (a stage path kept, no trailing slash);
    an `ApiClientError` for anything that is not an http(s) URL of a host."""
    url = url.strip()
    problem = endpoint_url_problem(url)
    if problem is not None:
        raise ApiClientError(
            f"--api {url!r}: {problem}; give the API's base URL, e.g. "
            "https://abc123.execute-api.us-east-1.amazonaws.com or http://127.0.0.1:8080"
        )
    parts = urlsplit(url)
    assert parts.hostname is not None  # endpoint_url_problem saw a host
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        # Histories and access reports would cross the network in clear, with a signature
        # anyone on the way could replay for minutes.
        raise ApiClientError(
            f"--api {url!r}: plain http only to this machine (prov serve); use https"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class ApiResponse:
    """A successful answer: its status, headers (lower-cased names) and decoded body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self, url: str) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiClientError(f"the API at {url} answered something that is not JSON") from None


class ApiClient:
    """The query API at `base_url`, asked with the caller's AWS credentials (see the module
    docstring). Fails at once, before any request, when it cannot sign where it must."""

    def __init__(
        self,
        base_url: str,
        *,
        region: str | None = None,
        attempts: int = ATTEMPTS,
        read_timeout: float = READ_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import botocore.exceptions  # noqa: PLC0415  (only --api needs botocore)
        import botocore.session  # noqa: PLC0415
        from botocore.httpsession import URLLib3Session  # noqa: PLC0415

        self.base_url = api_base_url(base_url)
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        self._attempts = attempts
        self._read_timeout = read_timeout
        self._sleep = sleep
        self._version = _version()
        session = botocore.session.get_session()
        local = parts.scheme == "http" and is_loopback(host)
        if local:
            # `prov serve` here needs no signature: do not wait for the instance metadata
            # service on a machine without credentials (an instance role is not for it anyway).
            session.get_component("credential_provider").remove("iam-role")
        try:
            credentials = session.get_credentials()
            configured = configured_region(session)
            ca_bundle = session.get_config_variable("ca_bundle")
        except botocore.exceptions.BotoCoreError as exc:
            raise ApiClientError(f"cannot read the AWS configuration: {exc}") from None
        self.region = signing_region(host, region, configured)
        if credentials is None or self.region is None:
            if not local:
                if credentials is None:
                    raise ApiClientError(
                        f"no AWS credentials to sign requests to {self.base_url}: "
                        + _CREDENTIALS_HELP
                    )
                raise ApiClientError(
                    f"cannot tell the AWS region of {self.base_url}: {region_help('--region')}"
                )
            credentials = None  # `prov serve` on this machine: it checks no signature
        self._credentials = credentials
        self._profile = session.profile
        self._http = URLLib3Session(
            verify=ca_bundle or True,
            # (connect, read): botocore takes the pair, its stubs say a number only.
            timeout=(CONNECT_TIMEOUT, read_timeout),  # type: ignore[arg-type]
        )

    @property
    def signed(self) -> bool:
        return self._credentials is not None

    # -- the queries ----------------------------------------------------------------------------

    def history(
        self,
        druid: str,
        *,
        limit: int | None = None,
        after: str | None = None,
        page_size: int | None = None,
    ) -> list[dict[str, Any]]:
        """An object's events (the documents of `prov history --format json`), page by page
        (`page_size`, default `HISTORY_PAGE`) until `limit` (or all)."""
        path = _object_path(druid, "events")
        page_size = page_size or HISTORY_PAGE
        events: list[dict[str, Any]] = []
        while limit is None or len(events) < limit:
            wanted = page_size if limit is None else min(page_size, limit - len(events))
            params = [("limit", str(wanted))] + ([("after", after)] if after else [])
            page = self.get(path, params).json(self.base_url)
            if not isinstance(page, dict) or not isinstance(page.get("events"), list):
                raise ApiClientError(f"the API at {self.base_url} answered no page of events")
            events.extend(page["events"])
            after = page.get("next")
            if not after or not page["events"]:
                break
        return events

    def state(self, druid: str) -> dict[str, Any]:
        """The Object State Dashboard (the document of `prov state --format json`)."""
        view = self.get(_object_path(druid, "state")).json(self.base_url)
        if not isinstance(view, dict):
            raise ApiClientError(f"the API at {self.base_url} answered no object state")
        return view

    def premis(self, druid: str, fmt: str, base_uri: str | None = None) -> bytes:
        """The PREMIS 3 document in `fmt` (xml, turtle, json-ld), as the API wrote it; RDF with
        its resources named under `base_uri` when given (the API's `base_uri` parameter)."""
        media_type = PREMIS_MEDIA_TYPES[fmt]
        params = [("base_uri", base_uri)] if base_uri else []
        response = self.get(_object_path(druid, "premis"), params, accept=media_type)
        answered = response.headers.get("content-type", "").split(";")[0].strip()
        if answered != media_type:
            raise ApiClientError(
                f"the API at {self.base_url} answered {answered or 'no type'} for {media_type}"
            )
        return response.body

    def access_report(self, query: ReportQuery) -> Report:
        """`prov report access` answered by the API, as the Report the embedded command makes
        (rows, totals, groups before the top-N cut, where the counts came from)."""
        from provenance.access.report import Report  # noqa: PLC0415

        response = self.get("/reports/access", report_params(query))
        rows = response.json(self.base_url)
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ApiClientError(f"the API at {self.base_url} answered no report rows")
        groups = response.headers.get(REPORT_GROUPS_HEADER.lower())
        since = response.headers.get(REPORT_EVENTS_SINCE_HEADER.lower())
        return Report(
            query,
            rows=rows,
            # "(other)" sums the groups past the cut, so the rows add up to the totals.
            requests=sum(row["requests"] for row in rows),
            bytes=sum(row["bytes"] for row in rows),
            groups=int(groups)
            if groups and groups.isdigit()
            # An API without the header: the groups its rows show.
            else len({tuple(row[name] for name in query.by) for row in rows}),
            basis="events" if "druid" in query.by else "counts",
            events_since=datetime.fromisoformat(since) if since else None,
        )

    def objects(self, query: FleetQuery) -> FleetPage:
        """A page of `prov objects` answered by the API (`GET /objects`)."""
        from provenance.query.fleet import FleetPage  # noqa: PLC0415

        response = self.get("/objects", fleet_params(query))
        objects = response.json(self.base_url)
        if not isinstance(objects, list) or not all(isinstance(item, dict) for item in objects):
            raise ApiClientError(f"the API at {self.base_url} answered no list of objects")
        return FleetPage(objects, response.headers.get(NEXT_PAGE_HEADER.lower()) or None)

    def fleet_report(self, *, overdue_days: int) -> dict[str, Any]:
        """`prov report fleet` answered by the API (`GET /reports/fleet`)."""
        params = [("overdue_days", str(overdue_days))]
        report = self.get("/reports/fleet", params).json(self.base_url)
        if not isinstance(report, dict) or "objects" not in report:
            raise ApiClientError(f"the API at {self.base_url} answered no fleet report")
        return report

    # -- HTTP -----------------------------------------------------------------------------------

    def get(
        self, path: str, params: Sequence[tuple[str, str]] = (), *, accept: str = JSON
    ) -> ApiResponse:
        """GET `path` (below the base URL) with `params`, signed, retried when that may help;
        the answer of a 2xx, or the error the CLI shows."""
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415
        from botocore.exceptions import (  # noqa: PLC0415
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            HTTPClientError,
            ReadTimeoutError,
        )
        from botocore.exceptions import ConnectionError as BotoConnectionError  # noqa: PLC0415

        url = self.base_url + path + (f"?{query_string(params)}" if params else "")
        headers = {
            "Accept": accept,
            "Accept-Encoding": "gzip",
            "User-Agent": f"sdr-provenance/{self._version}",
        }
        transient = (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError)
        for attempt in range(1, self._attempts + 1):
            request = AWSRequest(method="GET", url=url, headers=dict(headers))
            self._sign(request)
            try:
                answer = self._http.send(request.prepare())
            except ReadTimeoutError:
                # A query that took this long would take as long again: no retry.
                raise ApiClientError(
                    f"the API at {self.base_url} did not answer within {self._read_timeout:g} s"
                ) from None
            except (HTTPClientError, BotoConnectionError) as exc:
                # Not SSL or proxy errors: they would fail again.
                if attempt < self._attempts and isinstance(exc, transient):
                    self._sleep(_backoff(attempt))
                    continue
                raise ApiClientError(
                    f"cannot reach the API at {self.base_url}: {_reason(exc)}"
                ) from None
            status = answer.status_code
            response_headers = {name.lower(): value for name, value in answer.headers.items()}
            if status in RETRY_STATUSES and attempt < self._attempts:
                self._sleep(_backoff(attempt, response_headers.get("retry-after")))
                continue
            body = _decode(answer.content, response_headers.get("content-encoding"), url)
            if 200 <= status < 300:
                return ApiResponse(status, response_headers, body)
            raise self._error(status, body, path)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _sign(self, request: Any) -> None:
        if self._credentials is None or self.region is None:
            return
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError  # noqa: PLC0415

        # The Host header as botocore signs it, sent as signed (no default port, lower case).
        request.headers["Host"] = _signed_host(request.url)
        try:
            # Frozen per request: refreshable credentials (SSO, roles) renew themselves here.
            frozen = self._credentials.get_frozen_credentials()
        except BotoCoreError as exc:
            raise ApiClientError(f"cannot get AWS credentials: {exc}") from None
        SigV4Auth(frozen, SERVICE, self.region).add_auth(request)

    def _error(self, status: int, body: bytes, path: str) -> ProvenanceError:
        """The one-line error for a non-2xx answer: the API's own `{"error": ...}` where it
        gave one (404: not found, exit 2), else what the status means here."""
        message = _message(body)
        if status in (401, 403):
            if not self.signed:
                return ApiClientError(
                    f"the API at {self.base_url} refused an unsigned request: it needs AWS "
                    f"credentials: {_CREDENTIALS_HELP}"
                )
            said = f" ({message})" if message and message.lower() != "forbidden" else ""
            return ApiClientError(
                f"access denied by the API at {self.base_url}{said} for {self._identity()}: "
                "check your AWS credentials/profile and that your role may call "
                "execute-api:Invoke on it"
            )
        if status == 404:
            if message and _is_api_error(body):
                return NotFoundError(message)
            return ApiClientError(
                f"the API at {self.base_url} has no {path}: check the URL (and its stage path)"
            )
        if _is_api_error(body) and message:
            return ApiClientError(message if status < 500 else f"the API failed: {message}")
        if 300 <= status < 400:
            return ApiClientError(
                f"the API at {self.base_url} answered {status}, a redirect: give the URL it "
                "points to (redirects are not followed, so that no signature goes elsewhere)"
            )
        detail = f": {message}" if message else ""
        return ApiClientError(f"the API at {self.base_url} answered {status}{detail}")

    def _identity(self) -> str:
        """Who signed, without asking STS: the access key's last characters and where botocore
        found it (the profile, or the method: env, sso, assume-role, iam-role, ...)."""
        key = str(getattr(self._credentials, "access_key", "") or "")
        source = (
            f"profile {self._profile}"
            if self._profile
            else "from " + str(getattr(self._credentials, "method", "") or "the environment")
        )
        return f"key …{key[-4:]} ({source})"


# -- writing PREMIS -----------------------------------------------------------------------------


def write_premis(
    document: bytes, *, target: str | Path | None, validate: bool, stdout: BinaryIO | None = None
) -> None:
    """Write a PREMIS document fetched from the API as `prov premis` writes one it made: checked
    against the XSD first if asked (nothing is written if it fails), then to `target` (None or
    `-`: standard output) by the rules of `provenance.files.output_file`."""
    if validate:
        import premis  # noqa: PLC0415  (lxml and the XSD: only for --validate)

        premis.validate(document)
    write_bytes(STDOUT if target is None else target, document, stdout=stdout)


# -- helpers ------------------------------------------------------------------------------------


def report_params(query: ReportQuery) -> list[tuple[str, str]]:
    """A report query as /reports/access parameters. Times go as ISO instants with their
    offset, already read in the query's zone (so a date means the same hours here and there);
    the zone goes by name, for the buckets."""
    params = [("by", ",".join(query.by)), ("tz", _zone_name(query.tz))]
    if query.bucket:
        params.append(("bucket", query.bucket))
    if query.start is not None:
        params.append(("from", query.start.isoformat()))
    if query.stop is not None:
        params.append(("to", query.stop.isoformat()))
    if query.top is not None:
        params.append(("top", str(query.top)))
    params += [("service", name) for name in query.services]
    params += [("agent", name) for name in query.agents]
    return params


def fleet_params(query: FleetQuery) -> list[tuple[str, str]]:
    """A fleet query as `GET /objects` takes it."""
    params: list[tuple[str, str]] = []
    if query.failing:
        params.append(("failing", "true"))
    if query.unreplicated:
        params.append(("unreplicated", "true"))
    for name in ("kind", "status", "root", "after"):
        value = getattr(query, name)
        if value is not None:
            params.append((name, value))
    if query.not_checked_since is not None:
        params.append(("not_checked_since", query.not_checked_since.isoformat()))
    params.append(("limit", str(query.limit)))
    return params


def query_string(params: Sequence[tuple[str, str]]) -> str:
    """Parameters encoded as SigV4 canonicalises them (RFC 3986: only A-Z a-z 0-9 - _ . ~ stay),
    so the string signed is the string sent and the one API Gateway recomputes."""
    return "&".join(
        f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in params
    )


def _object_path(druid: str, what: str) -> str:
    # Checked here, as the embedded commands do, so a typo is not a round trip. A druid is
    # letters, digits and one colon, which paths may carry as they are.
    return f"/objects/{parse_druid(druid).value}/{what}"


def _zone_name(zone: Any) -> str:
    name = getattr(zone, "key", None) or str(zone)
    return str(name)


def _signed_host(url: str) -> str:
    """The Host header botocore would sign for `url`: lower case, default port left out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _backoff(attempt: int, retry_after: str | None = None) -> float:
    """Seconds before the next try: the server's Retry-After if it gave one (within reason),
    else exponential with full jitter."""
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after.strip()), MAX_RETRY_AFTER)
    return random.uniform(0, BACKOFF_SECONDS * 2 ** (attempt - 1))


def _decode(body: bytes, encoding: str | None, url: str) -> bytes:
    if (encoding or "").strip().lower() != "gzip":
        return body
    try:
        return gzip.decompress(body)
    except (OSError, EOFError, zlib.error):
        raise ApiClientError(f"the answer of {url} is not valid gzip") from None


def _message(body: bytes) -> str:
    """The one line an error body says: API errors' "error", API Gateway's "message"."""
    try:
        document = json.loads(body)
    except ValueError:
        return ""
    if isinstance(document, Mapping):
        said = document.get("error") or document.get("message") or document.get("Message")
        if isinstance(said, str):
            return " ".join(said.split())
    return ""


def _is_api_error(body: bytes) -> bool:
    """Whether the body is the query API's own error (not API Gateway's)."""
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, Mapping) and isinstance(document.get("error"), str)


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in the words of the innermost OS error ("Connection refused",
    "Name or service not known"), else of the exception."""
    seen: BaseException | None = exc
    for _ in range(10):  # the chain is short; never follow a cycle
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.strerror:
            return str(seen.strerror)
        # botocore keeps urllib3's error in `kwargs`, urllib3 its socket error as the cause.
        wrapped = getattr(seen, "kwargs", {}).get("error")
        seen = wrapped if isinstance(wrapped, BaseException) else seen.__cause__ or seen.__context__
    return type(exc).__name__


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("sdr-provenance")
    except PackageNotFoundError:
        return "unknown"
