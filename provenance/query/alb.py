"""The dashboard's front door on AWS: an Application Load Balancer that signs staff in
(Cognito, `cdk/dashboard.py`) and invokes the api function with its own event shape.

The query API (`provenance.query.http_api`) answers API Gateway's payload-2.0 events. This module
only translates: an ALB event into the payload-2.0 event `QueryApi.handle` takes
(`http_api_event`), and its answer into the response the ALB expects (`alb_response`).
`handlers/api.py` picks the shape by the event (`is_alb_event`).

What differs between the two shapes, and why it matters here:

- query strings: the ALB passes them as the browser sent them, NOT percent-decoded (API Gateway
  decodes them), so `?from=2026-01-01T00%3A00%3A00Z` and a form's `+` for a space are decoded
  here; repeats arrive as a list when the target group enables multi-value headers (it does:
  `cdk/dashboard.py`), joined by commas as API Gateway joins them;
- headers: one value each, or lists with multi-value headers; the response must use the same
  shape the request came in, and carry a `statusDescription` ("200 OK");
- the response JSON is limited to 1 MB for a Lambda target (Elastic Load Balancing, "Use Lambda
  functions as targets of an Application Load Balancer", Limits: "The maximum size of the
  response JSON that the Lambda function can send is 1 MB"), where API Gateway takes 6 MB;
- the ALB adds who signed in: `x-amzn-oidc-identity` (the user's `sub`), `x-amzn-oidc-data` (a
  JWT the ALB signed) and `x-amzn-oidc-accesstoken`. The ALB verified the sign-in; we log the
  identity only and never read the tokens. On the IAM HTTP API path these headers prove
  nothing (a caller can send any header), so `without_sign_in_headers` drops them there.

Standard library only (an import-linter contract): it runs on every dashboard request's cold
start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus

from provenance.query.http_api import error_response

ALB_MAX_RESPONSE_JSON = 1_000_000
"""The ALB's limit on the whole response JSON of a Lambda target (see the module docstring),
read as a decimal megabyte to be safe."""
ALB_MAX_BODY = 950_000
"""The body limit given to the dashboard's `QueryApi` (its `max_body_bytes`), so that an answer
too large gets the API's own clear error: the rest of the megabyte is for the status, headers
and the JSON escaping of the body. `alb_response` checks the whole JSON too."""

SIGN_IN_HEADER_PREFIX = "x-amzn-oidc-"
IDENTITY_HEADER = "x-amzn-oidc-identity"
# The ALB's session cookies (`AWSELBAuthSessionCookie-0`, `-1`, ...): its business, not ours.
SESSION_COOKIE_PREFIX = "AWSELBAuthSessionCookie"


def is_alb_event(event: Mapping[str, Any]) -> bool:
    """Whether `event` comes from an ALB target group (its requestContext names the `elb`)."""
    context = event.get("requestContext")
    return isinstance(context, Mapping) and "elb" in context


def multi_value(event: Mapping[str, Any]) -> bool:
    """Whether the target group sends (and so expects back) multi-value headers."""
    return "multiValueHeaders" in event


def signed_in_user(event: Mapping[str, Any]) -> str | None:
    """The `sub` of the staff member the ALB signed in (`x-amzn-oidc-identity`), for the audit
    trail; None if the ALB sent none (a rule without authentication: there is none)."""
    value = _headers(event).get(IDENTITY_HEADER)
    return value or None


def request_id(event: Mapping[str, Any]) -> str | None:
    """The ALB's trace id (`X-Amzn-Trace-Id`), the one id an ALB request carries."""
    return _headers(event).get("x-amzn-trace-id") or None


def http_api_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The payload-2.0 event (what API Gateway's HTTP API sends) for an ALB event."""
    headers = _headers(event)
    params = _query(event)
    raw_path = str(event.get("path") or "/")
    cookies = [
        cookie.strip()
        for cookie in headers.pop("cookie", "").split(";")
        if cookie.strip() and not cookie.strip().startswith(SESSION_COOKIE_PREFIX)
    ]
    forwarded = headers.get("x-forwarded-for", "")
    converted: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": _raw_query(event),
        "headers": headers,
        "queryStringParameters": params or None,
        "requestContext": {
            "http": {
                "method": str(event.get("httpMethod") or "GET").upper(),
                "path": raw_path,
                "protocol": "HTTP/1.1",
                # The client is the first address the ALB forwarded for.
                "sourceIp": forwarded.split(",")[0].strip(),
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id(event) or "",
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": event.get("body") or None,
        "isBase64Encoded": bool(event.get("isBase64Encoded")),
    }
    if cookies:
        converted["cookies"] = cookies
    return converted


def alb_response(response: Mapping[str, Any], *, multi_value_headers: bool) -> dict[str, Any]:
    """The ALB's response for a payload-2.0 response; over the ALB's 1 MB, the error the query
    API gives an answer too large for its platform (`QueryApi`'s `max_body_bytes`)."""
    answer = _translated(response, multi_value_headers)
    size = len(json.dumps(answer).encode())
    if size > ALB_MAX_RESPONSE_JSON:
        too_large = error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            f"the response ({size:,} bytes) is over the {ALB_MAX_RESPONSE_JSON:,}-byte limit of "
            "this service: ask with Accept-Encoding: gzip, page with ?limit=, or use the prov "
            "command on the store",
        )
        answer = _translated(too_large, multi_value_headers)
    return answer


def without_sign_in_headers(event: Mapping[str, Any]) -> dict[str, Any]:
    """`event` (payload 2.0, from the IAM HTTP API) without any `x-amzn-oidc-*` header: only the
    ALB may say who signed in, and it never sends to this path."""
    headers = event.get("headers") or {}
    kept = {
        name: value
        for name, value in headers.items()
        if not str(name).lower().startswith(SIGN_IN_HEADER_PREFIX)
    }
    return {**event, "headers": kept}


def _translated(response: Mapping[str, Any], multi_value_headers: bool) -> dict[str, Any]:
    status = int(response["statusCode"])
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    headers = {str(name): str(value) for name, value in (response.get("headers") or {}).items()}
    answer: dict[str, Any] = {
        "statusCode": status,
        "statusDescription": f"{status} {phrase}".strip(),
        "isBase64Encoded": bool(response.get("isBase64Encoded")),
        "body": response.get("body") or "",
    }
    if multi_value_headers:
        answer["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    else:
        answer["headers"] = headers
    return answer


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased names, one value each: a multi-value header's values joined by commas (RFC
    9110, 5.3), cookies by semicolons (RFC 6265)."""
    if multi_value(event):
        joined: dict[str, str] = {}
        for name, values in (event.get("multiValueHeaders") or {}).items():
            key = str(name).lower()
            joined[key] = ("; " if key == "cookie" else ", ").join(str(v) for v in values or [])
        return joined
    return {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}


def _query(event: Mapping[str, Any]) -> dict[str, str]:
    """Percent-decoded parameters (and `+` as a space, as forms send it); repeats joined by
    commas, as API Gateway's queryStringParameters has them."""
    if "multiValueQueryStringParameters" in event:
        many = event.get("multiValueQueryStringParameters") or {}
        decoded: dict[str, list[str]] = {}
        for name, values in many.items():
            decoded.setdefault(unquote_plus(str(name)), []).extend(
                unquote_plus(str(value)) for value in values or []
            )
        return {name: ",".join(values) for name, values in decoded.items()}
    single = event.get("queryStringParameters") or {}
    return {unquote_plus(str(name)): unquote_plus(str(value)) for name, value in single.items()}


def _raw_query(event: Mapping[str, Any]) -> str:
    """The query string as sent (the ALB passes it undecoded), for payload 2.0's rawQueryString."""
    if "multiValueQueryStringParameters" in event:
        many = event.get("multiValueQueryStringParameters") or {}
        pairs = [(name, value) for name, values in many.items() for value in values or []]
    else:
        pairs = list((event.get("queryStringParameters") or {}).items())
    return "&".join(f"{name}={value}" if value != "" else str(name) for name, value in pairs)
