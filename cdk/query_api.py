"""Staff queries: an HTTP API with IAM authorization on every route, answered by the api Lambda.

The routes are those of `provenance.query.http_api`, each for GET and HEAD (monitoring probes ask
with HEAD); anything else is refused by API Gateway before it reaches the function. Callers
sign requests with SigV4 (`prov ... --api URL`); the `ReaderPolicy` managed policy lets a role
or user call exactly these routes and methods.
Access logs go to their own log group; the stage is throttled so a runaway script cannot run
up the table's read bill.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.bundling.runtime import REPO_ROOT
from cdk.config import ConfigError, StageConfig
from cdk.functions import PipelineFunction, retention_days
from cdk.permissions import grant_table
from cdk.store import EventTable

API_HANDLER = "handlers.api.handler"
# API Gateway gives up on an integration after 30 seconds.
API_TIMEOUT = Duration.seconds(29)
# The one stage, served at the API's root URL (no stage name in paths).
STAGE_NAME = "$default"
ROUTES = (
    "/objects",
    "/objects/{druid}/events",
    "/objects/{druid}/state",
    "/objects/{druid}/premis",
    "/reports/access",
    "/reports/fleet",
)
# What `provenance.query.http_api` answers on every route (its ALLOWED_METHODS; a test compares
# them).
METHODS = ("GET", "HEAD")
# One JSON line per request: who (the IAM caller), what, how it went, how long it took.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "caller": "$context.identity.userArn",
    "sourceIp": "$context.identity.sourceIp",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "error": "$context.error.message",
}


class QueryApi(Construct):
    """HTTP API (IAM auth) -> api Lambda -> event table (read only)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        store: EventTable,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        agents_toml: str | None = None,
    ) -> None:
        """`agents_toml`: the text of the stage's agents file (`agents_text`), if it has one."""
        super().__init__(scope, construct_id)
        environment = {
            "POWERTOOLS_SERVICE_NAME": "prov-api",
        }
        if config.organization:
            environment["PROV_ORGANIZATION"] = config.organization
        if agents_toml is not None:
            environment["PROV_AGENTS_TOML"] = agents_toml
        if config.endpoints:
            environment["PROV_ENDPOINTS"] = ",".join(config.endpoints)
        self.handler = PipelineFunction(
            self,
            "Handler",
            config=config,
            handler=API_HANDLER,
            description="sdr-provenance query API: history, state, PREMIS, access reports",
            code=code,
            layer=layer,
            memory_mb=config.api_memory_mb,
            timeout=API_TIMEOUT,
            environment=environment,
        )
        grant_table(self.handler.role, store.table, "api")

        self.api = apigw.HttpApi(
            self,
            "HttpApi",
            api_name=f"sdr-provenance-{config.stage}",
            description=f"sdr-provenance {config.stage}: provenance queries (SigV4, IAM)",
            create_default_stage=False,
        )
        integration = integrations.HttpLambdaIntegration(
            "Integration",
            self.handler.function,
            payload_format_version=apigw.PayloadFormatVersion.VERSION_2_0,
        )
        authorizer = authorizers.HttpIamAuthorizer()
        for path in ROUTES:
            self.api.add_routes(
                path=path,
                methods=[apigw.HttpMethod(method) for method in METHODS],
                integration=integration,
                authorizer=authorizer,
            )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.stage = apigw.HttpStage(
            self,
            "Stage",
            http_api=self.api,
            stage_name=STAGE_NAME,
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(
                rate_limit=config.api_rate_limit, burst_limit=config.api_burst_limit
            ),
            access_log_settings=_AccessLogSettings(self.access_logs),
        )
        stack = Stack.of(self)
        self.reader_policy = iam.ManagedPolicy(
            self,
            "ReaderPolicy",
            description=f"sdr-provenance {config.stage}: query the provenance API",
            statements=[
                iam.PolicyStatement(
                    actions=["execute-api:Invoke"],
                    resources=[
                        stack.format_arn(
                            service="execute-api",
                            resource=self.api.api_id,
                            resource_name=f"{STAGE_NAME}/{method}{route_pattern(path)}",
                        )
                        for path in ROUTES
                        for method in METHODS
                    ],
                )
            ],
        )

    @property
    def url(self) -> str:
        return self.api.api_endpoint


# The runtime's own parser, run as a program: the app imports nothing of the runtime (an
# import-linter contract), yet synth must refuse exactly what the function would refuse at its
# cold start. Exit status 3 is a registry error, printed as its one line.
_CHECK_AGENTS = """
import sys
from provenance.domain.agent_registry import AgentRegistryError, registry_from_text
try:
    registry_from_text(sys.stdin.buffer.read().decode("utf-8"), sys.argv[1])
except AgentRegistryError as exc:
    print(exc, file=sys.stderr)
    sys.exit(3)
"""


def agents_text(config: StageConfig) -> str | None:
    """The text of the stage's agents file (None without one), checked by `prov`'s agents
    parser (a problem is a `ConfigError`, one line): the api function reads it from
    PROV_AGENTS_TOML."""
    path = config.agents_file
    if path is None:
        return None
    # As `prov premis --agents` says it (`agents file PATH: ...`), naming the setting.
    where = f"stage {config.stage}: agents_file {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{where}: cannot read it: {reason}") from None
    try:
        result = subprocess.run(
            [sys.executable, "-c", _CHECK_AGENTS, where],
            input=text,
            cwd=REPO_ROOT,
            # Agents' names need not be ASCII, whatever this machine's locale.
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            capture_output=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{where}: cannot check it with {sys.executable}: {exc}") from None
    if result.returncode == 3:
        raise ConfigError(result.stderr.strip())
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise ConfigError(f"{where}: cannot check it with {sys.executable}: {last}")
    return text


def route_pattern(path: str) -> str:
    """`/objects/{druid}/state` -> `/objects/*/state` (an execute-api resource ARN pattern)."""
    return "/".join("*" if part.startswith("{") else part for part in path.split("/"))


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogSettings:
    """The stage's access logs: its log group, one JSON line per request (an interface, not a
    struct, in CDK: hence a class)."""

    def __init__(self, group: logs.ILogGroup) -> None:
        self._destination = apigw.LogGroupLogDestination(group)

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT))
