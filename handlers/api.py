"""Lambda entry point of the query API: API Gateway's HTTP API (payload format 2.0, IAM auth, for
`prov --api`) and the dashboard's Application Load Balancer (staff signed in by Cognito; its
events translated by `provenance.query.alb`). The event's shape says which sent it.

Thin on purpose: the routes live in `provenance.query.http_api`, which `prov serve` runs too. The
store named by `PROV_STORE` is opened on the first request and kept for the container's life
(`handlers.container`). `PROV_ORGANIZATION` names the PREMIS
organisation agent, as for `prov premis`. `PROV_AGENTS_TOML` is the text of an agents file (a
function has no file of the deployer's: the stage setting `agents_file` puts its content here),
read once, at cold start: a bad value stops the container's start with one error line, rather
than failing every PREMIS request.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from handlers.container import store
from provenance.domain.agent_registry import AgentRegistry, AgentRegistryError, registry_from_text
from provenance.query import alb
from provenance.query.http_api import LAMBDA_MAX_BODY, QueryApi

AGENTS_ENV = "PROV_AGENTS_TOML"

logger = Logger(service="prov-api")


def _agents(text: str | None) -> AgentRegistry | None:
    """The registry `text` (an agents file's content) makes, None for the built-in one."""
    if not text:
        return None
    try:
        return registry_from_text(text, AGENTS_ENV)
    except AgentRegistryError as exc:
        # A setting to fix: the one line says which (Lambda's init error follows it).
        logger.error("configuration not usable: the function cannot start", error=str(exc))
        raise


_organization = os.environ.get("PROV_ORGANIZATION") or None
_registry = _agents(os.environ.get(AGENTS_ENV))
# The endpoints every version belongs on (comma-separated; default: every endpoint seen).
_endpoints = [name for name in os.environ.get("PROV_ENDPOINTS", "").split(",") if name] or None
# One application per front door, alike but for the largest answer each platform can return.
api = QueryApi(
    store,
    organization=_organization,
    agents=_registry,
    max_body_bytes=LAMBDA_MAX_BODY,
    logger=logger,
    endpoints=_endpoints,
)
dashboard = QueryApi(
    store,
    organization=_organization,
    agents=_registry,
    max_body_bytes=alb.ALB_MAX_BODY,
    logger=logger,
    endpoints=_endpoints,
)


# clear_state: the signed-in user is one request's, never the next one's.
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if alb.is_alb_event(event):
        logger.set_correlation_id(alb.request_id(event))
        # Who asked, for the audit trail (the ALB verified the sign-in; its `sub`, no token).
        logger.append_keys(user=alb.signed_in_user(event))
        response = dashboard.handle(alb.http_api_event(event))
        return alb.alb_response(response, multi_value_headers=alb.multi_value(event))
    logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
    return api.handle(alb.without_sign_in_headers(event))
