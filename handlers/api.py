"""Lambda entry point of the query API (API Gateway HTTP API, payload format 2.0).

Thin on purpose: the routes live in `provenance.query.http_api`, which `prov serve` runs too. The
store named by `PROV_STORE` is opened on the first request and kept for the container's life
(`handlers.container`). `PROV_ORGANIZATION` names the PREMIS
organisation agent, as for `prov premis`.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from handlers.container import store
from provenance.query.http_api import LAMBDA_MAX_BODY, QueryApi

logger = Logger(service="prov-api")
api = QueryApi(
    store,
    organization=os.environ.get("PROV_ORGANIZATION") or None,
    max_body_bytes=LAMBDA_MAX_BODY,
    logger=logger,
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api.handle(event)
