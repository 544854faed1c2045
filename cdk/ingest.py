"""Logs in: the Kinesis stream, the ingest function reading it, and the ways logs reach it.

- The stream is encrypted and has one provisioned shard by default (DESIGN.md's "AWS
  topology" says on-demand, but a shard carries 2,000,000 lines a day many times over for
  $10.94 a month, where on-demand costs $29.18 a month whatever flows; `stream_mode:
  on-demand` is a setting). It keeps records longer than the ingest function tries them
  (`max_record_age_hours` < `stream_retention_hours`, checked by the config), so a batch it
  gave up on can be read again.
- The event source mapping never blocks a shard for good: batches are split on error to find
  the bad record, retries and record age are finite, and what is given up is reported to an
  encrypted queue that raises an alarm (`cdk/monitoring.py`). Only store outages fail records:
  content never does (the handler quarantines what it cannot read).
- Producers get exactly what they need: a managed policy for hosts running `prov ship`, and a
  role CloudWatch Logs assumes to deliver a subscription filter's events.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.config import StageConfig
from cdk.functions import PipelineFunction
from cdk.permissions import grant_table
from cdk.store import EventTable

INGEST_HANDLER = "handlers.ingest.handler"
INGEST_TIMEOUT = Duration.minutes(5)
# Messages name the shard and sequence numbers to read again; two weeks (SQS's longest) gives
# operators time, while the records themselves stay in the stream for its retention.
FAILURE_RETENTION = Duration.days(14)


def failure_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """An on-failure destination: encrypted, TLS only, kept as long as SQS allows."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=FAILURE_RETENTION,
        removal_policy=RemovalPolicy.DESTROY,
    )


class Ingest(Construct):
    """Kinesis stream -> ingest Lambda -> event table."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        store: EventTable,
        pseudonym_key: secretsmanager.ISecret,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        on_demand = config.stream_mode == "on-demand"
        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_mode=kinesis.StreamMode.ON_DEMAND
            if on_demand
            else kinesis.StreamMode.PROVISIONED,
            shard_count=None if on_demand else config.shards,
            retention_period=Duration.hours(config.stream_retention_hours),
            # Explicit: left unset, CDK emits a region condition instead of a setting.
            encryption=kinesis.StreamEncryption.MANAGED,
            # A retained stream would go on costing and never be used again (a new deploy
            # makes a new one). Drain it before tearing down (README, "Tearing down").
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.failures = failure_queue(self, "Failures")

        environment = {
            "PROV_TZ": config.log_time_zone,
            "PROV_PSEUDONYM_KEY_SECRET": pseudonym_key.secret_arn,
            "PROV_ACCESS_EVENT_DAYS": (
                str(config.access_event_expiry_days)
                if config.access_event_expiry_days is not None
                else "never"
            ),
            "POWERTOOLS_SERVICE_NAME": "prov-ingest",
        }
        self.handler = PipelineFunction(
            self,
            "Handler",
            config=config,
            handler=INGEST_HANDLER,
            description="sdr-provenance ingest: Kinesis log records -> provenance events",
            code=code,
            layer=layer,
            memory_mb=config.ingest_memory_mb,
            timeout=INGEST_TIMEOUT,
            environment=environment,
        )
        function = self.handler.function
        grant_table(self.handler.role, store.table, "ingest")
        # Only the value: `grant_read` would add DescribeSecret, which the handler never calls.
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[pseudonym_key.secret_arn]
            )
        )
        function.add_event_source(
            sources.KinesisEventSource(
                self.stream,
                # Event ids are deterministic, so starting at the oldest record costs
                # duplicates at most, never a lost line.
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=config.batch_size,
                max_batching_window=Duration.seconds(config.batch_window_seconds),
                bisect_batch_on_error=True,
                retry_attempts=config.retry_attempts,
                max_record_age=Duration.hours(config.max_record_age_hours),
                parallelization_factor=config.parallelization_factor,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.failures),
            )
        )

        # Hosts that run `prov ship` (attach to their instance role or user).
        self.shipper_policy = iam.ManagedPolicy(
            self,
            "ShipperPolicy",
            description=f"sdr-provenance {config.stage}: send log records with `prov ship`",
            statements=[
                iam.PolicyStatement(
                    actions=["kinesis:PutRecords", "kinesis:PutRecord"],
                    resources=[self.stream.stream_arn],
                )
            ],
        )
        stack = Stack.of(self)
        # CloudWatch Logs delivers subscription filter events to the stream with this role.
        self.subscription_role = iam.Role(
            self,
            "LogsSubscriptionRole",
            # Only CloudWatch Logs of this account and region may use it (confused deputy).
            assumed_by=iam.ServicePrincipal(
                "logs.amazonaws.com",
                conditions={
                    "StringLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:logs:{stack.region}:"
                        f"{stack.account}:*"
                    }
                },
            ),
            description=(
                f"sdr-provenance {config.stage}: CloudWatch Logs subscription filters -> stream"
            ),
        )
        self.subscription_role.add_to_policy(
            iam.PolicyStatement(
                actions=["kinesis:PutRecord", "kinesis:PutRecords"],
                resources=[self.stream.stream_arn],
            )
        )
