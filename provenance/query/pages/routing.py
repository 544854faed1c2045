"""What the query API asks of the dashboard before any template is loaded: whether a request
gets a page (`wants_html`, `prefers_html`), the static assets' answers, and errors as pages
(`error_for_browser`).

No Jinja2 here: `provenance.query.http_api` imports this module for JSON requests too.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger

from provenance.domain.shown import shown
from provenance.query.http_api import (
    HTML,
    JSON,
    ApiError,
    Reply,
    Request,
    _check_params,
    _param,
    negotiate_or_406,
)
from provenance.query.negotiation import negotiate


def wants_html(request: Request) -> bool:
    """Whether a page route answers with its page: when Accept prefers text/html to JSON (a
    browser), never with `?format=json`; 406 when neither is acceptable."""
    wanted = _param(request, "format")
    if wanted is not None:
        if wanted != "json":
            raise ApiError(HTTPStatus.BAD_REQUEST, f"format must be json, got {shown(wanted)!r}")
        return False
    return negotiate_or_406(request, (JSON, HTML)) == HTML


def prefers_html(request: Request, status: int) -> bool:
    """Whether an error goes to a browser as a page: Accept prefers text/html to JSON and no
    format was asked. Never a 406 (the client accepts nothing that was offered)."""
    if status == HTTPStatus.NOT_ACCEPTABLE or "format" in request.params:
        return False
    return negotiate(request.headers.get("accept"), (JSON, HTML)) == HTML


def static_asset(request: Request, name: str) -> Reply:
    """The stylesheet or icon served as `name` (its hashed name), kept by browsers a year."""
    from provenance.query.pages import templating  # noqa: PLC0415  (templates are not needed)

    _check_params(request, ())
    found = templating.asset(name)
    if found is None:
        raise ApiError(HTTPStatus.NOT_FOUND, f"no such asset: {shown(name)}")
    cache = {"Cache-Control": templating.ASSET_CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    return Reply(found.body, found.media_type, cache)


def error_for_browser(request: Request, response: dict[str, Any], logger: Logger) -> dict[str, Any]:
    """The JSON error `response` as the dashboard's page when a browser asked (the same status,
    headers and message), else as it is; as it is too if the page cannot be made."""
    if not prefers_html(request, int(response["statusCode"])):
        return response
    try:
        from provenance.query.pages.templating import PAGE_HEADERS, error_page  # noqa: PLC0415

        status = int(response["statusCode"])
        body = error_page(status, json.loads(response["body"])["error"])
    except Exception:
        logger.exception("error page")
        return response
    headers = {**response["headers"], **PAGE_HEADERS, "Content-Type": HTML + "; charset=utf-8"}
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}
