"""Lambda entry point of the query API (API Gateway HTTP API, payload format 2.0).

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
from aws_lambda_powertools.logging import correlation_paths

from handlers.container import store
from provenance.domain.agent_registry import AgentRegistry, AgentRegistryError, registry_from_text
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


api = QueryApi(
    store,
    organization=os.environ.get("PROV_ORGANIZATION") or None,
    agents=_agents(os.environ.get(AGENTS_ENV)),
    max_body_bytes=LAMBDA_MAX_BODY,
    logger=logger,
    # The endpoints every version belongs on (comma-separated; default: every endpoint seen).
    endpoints=[name for name in os.environ.get("PROV_ENDPOINTS", "").split(",") if name] or None,
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api.handle(event)
