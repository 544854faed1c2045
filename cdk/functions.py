"""One Lambda function of the pipeline: code, dependencies layer, role, log group, settings.

Every function gets the same treatment, decided here once:
- its own role, trusted by Lambda only, with no managed policy: it may write to its own log
  group and nothing else until a construct grants exactly what the function calls;
- its own log group with the stage's retention (rather than the `logRetention` custom
  resource, which adds a Lambda function of its own with broad log permissions);
- the handler named by string (`handlers.ingest.handler`): the app never imports the runtime;
- the shared code asset and the dependencies layer, built for the function's architecture.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.config import LOG_RETENTION_DAYS, ConfigError, StageConfig

RUNTIME = lambda_.Runtime.PYTHON_3_12
RUNTIME_PYTHON = "3.12"  # the Python the asset's wheels are chosen for: keep equal to RUNTIME
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}
# Lambda refuses a function whose variables, measured as their JSON object, exceed 4 KB: a
# deploy would fail half-way through, so synth refuses it first.
ENVIRONMENT_LIMIT = 4096


class PipelineFunction(Construct):
    """A Python handler of this repository as a Lambda function, least privilege by default."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        handler: str,
        description: str,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        memory_mb: int,
        timeout: Duration,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        variables = {
            # Every function works on the stage's event table (region: the function's own).
            "PROV_STORE": f"dynamodb://{config.event_table_name}",
            "POWERTOOLS_METRICS_NAMESPACE": config.metrics_namespace,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **environment,
        }
        _check_environment_size(config, handler, variables)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=retention_days(config.log_retention_days),
            # Operational logs outlive a torn-down stack for the same retention period.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} ({config.stage}): only what this function calls",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURES[config.architecture],
            handler=handler,
            code=code,
            layers=[layer],
            description=description,
            memory_size=memory_mb,
            timeout=timeout,
            role=self.role,
            log_group=self.log_group,
            environment=variables,
        )
        # The inline policy CDK would add for the log group is enough; say so explicitly, so
        # that the role's only log permissions are on this one group.
        self.log_group.grant_write(self.role)


def _check_environment_size(
    config: StageConfig, handler: str, variables: Mapping[str, str]
) -> None:
    size = len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode())
    if size > ENVIRONMENT_LIMIT:
        largest = max(variables, key=lambda name: len(variables[name]))
        raise ConfigError(
            f"stage {config.stage}: the environment of {handler} would be {size:,} bytes, over "
            f"Lambda's 4 KB ({ENVIRONMENT_LIMIT:,}); its largest variable, {largest}, is "
            f"{len(variables[largest].encode()):,}"
        )


def retention_days(days: int) -> logs.RetentionDays:
    """CloudWatch retention in days -> CDK's enum member (its members are named, not numbered,
    and listed in the same order as CloudWatch's allowed values, INFINITE last)."""
    finite = [member for member in logs.RetentionDays if member.name != "INFINITE"]
    by_days = dict(zip(LOG_RETENTION_DAYS, finite, strict=True))
    return by_days[days]
