"""The deployment units: the stateful store, and the pipeline that can be replaced at will.

- `StoreStack`: the event table and the pseudonym key. Both retained on deletion, and the
  stack has termination protection: it is the record itself.
- `PipelineStack`: the stream, the three functions, the query API, the staff dashboard's
  sign-in and load balancer (a stage with `dashboard` settings) and the monitoring. Nothing
  in it is irreplaceable (the stream holds records for days at most), so it can be destroyed
  and deployed again without losing provenance.

Separate stacks keep a change to a function from ever touching the table's stack, and let the
pipeline be torn down while the record stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk.config import StageConfig
from cdk.dashboard import Dashboard
from cdk.functions import ARCHITECTURES, RUNTIME
from cdk.ingest import Ingest
from cdk.monitoring import Monitoring, Watched
from cdk.projector import Projector
from cdk.query_api import QueryApi
from cdk.store import EventTable, PseudonymKey


@dataclass(frozen=True)
class LambdaAssets:
    """Directories built by `cdk.bundling`: the functions' code, and the dependencies layer
    (`python/...`), both for the stage's architecture."""

    code: Path
    dependencies: Path


class StoreStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: object
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"sdr-provenance {config.stage}: the event store (retained)",
            termination_protection=True,
            **kwargs,  # type: ignore[arg-type]
        )
        self.events = EventTable(self, "Events", config=config)
        self.pseudonym_key = PseudonymKey(self, "PseudonymKey", config=config)
        CfnOutput(self, "TableName", value=self.events.table.table_name)
        CfnOutput(
            self,
            "PseudonymKeySecretArn",
            value=self.pseudonym_key.secret.secret_arn,
            description="`prov redrive --pseudonym-key-secret ARN` (the ingest function's key)",
        )
        CfnOutput(
            self,
            "StoreUrl",
            value=f"dynamodb://{config.event_table_name}?region={self.region}",
            description="the store URL for `prov --store` (reads need table permissions)",
        )


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        store: StoreStack,
        assets: LambdaAssets,
        agents_toml: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"sdr-provenance {config.stage}: stream, functions, query API, alarms",
            **kwargs,  # type: ignore[arg-type]
        )
        code = lambda_.Code.from_asset(str(assets.code))
        layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(assets.dependencies)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURES[config.architecture]],
            description="sdr-provenance runtime dependencies (Linux wheels)",
        )
        self.ingest = Ingest(
            self,
            "Ingest",
            config=config,
            store=store.events,
            pseudonym_key=store.pseudonym_key.secret,
            code=code,
            layer=layer,
        )
        self.projector = Projector(
            self, "Projector", config=config, store=store.events, code=code, layer=layer
        )
        self.query_api = QueryApi(
            self,
            "QueryApi",
            config=config,
            store=store.events,
            code=code,
            layer=layer,
            agents_toml=agents_toml,
        )
        self.dashboard: Dashboard | None = None
        if config.dashboard is not None:
            self.dashboard = Dashboard(
                self,
                "Dashboard",
                config=config,
                settings=config.dashboard,
                function=self.query_api.handler.function,
            )
        else:
            Annotations.of(self).add_info(
                f"stage {config.stage} has no dashboard: add `dashboard` settings to its table "
                "in cdk.json (host_name, certificate_arn) for the signed-in staff dashboard"
            )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            watched=Watched(
                stream=self.ingest.stream,
                ingest=self.ingest.handler.function,
                ingest_failures=self.ingest.failures,
                projector=self.projector.handler.function,
                projector_failures=self.projector.failures,
                api=self.query_api.api,
                api_function=self.query_api.handler.function,
                table=store.events.table,
            ),
        )
        outputs = {
            "StreamName": (self.ingest.stream.stream_name, "`prov ship --stream NAME`"),
            "StreamArn": (self.ingest.stream.stream_arn, "CloudWatch Logs subscription target"),
            "LogsSubscriptionRoleArn": (
                self.ingest.subscription_role.role_arn,
                "--role-arn of `aws logs put-subscription-filter`",
            ),
            "ShipperPolicyArn": (
                self.ingest.shipper_policy.managed_policy_arn,
                "attach to the hosts that run `prov ship`",
            ),
            "ApiUrl": (self.query_api.url, "`prov ... --api URL`"),
            "ApiReaderPolicyArn": (
                self.query_api.reader_policy.managed_policy_arn,
                "attach to staff roles that query the API",
            ),
            "AlarmTopicArn": (self.monitoring.topic.topic_arn, "subscribe people or chat here"),
            "IngestFailureQueueUrl": (self.ingest.failures.queue_url, "records given up on"),
            "ProjectorFailureQueueUrl": (
                self.projector.failures.queue_url,
                "table stream records given up on",
            ),
        }
        if self.dashboard is not None:
            outputs.update(self.dashboard.outputs)
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)


def stack_names(config: StageConfig) -> tuple[str, str]:
    """The two stacks' names: `prov-<stage>-store`, `prov-<stage>-pipeline`."""
    return f"prov-{config.stage}-store", f"prov-{config.stage}-pipeline"
