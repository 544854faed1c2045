"""Watching the pipeline: one dashboard, and alarms that reach people through one SNS topic.

Alarms are for what needs someone: consumers falling behind (iterator age), functions failing
(errors), capacity refused (throttles), records given up on (failure queues), and the query API
answering with server errors. Quarantined lines are on the dashboard, not an alarm: some lines
of every log are not provenance, and `prov quarantine` lists them for a person to read.

The topic is encrypted with a key of its own: CloudWatch alarms cannot publish to a topic
encrypted with the AWS-managed SNS key, whose policy no one can change to let them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.config import StageConfig
from eventstore import schema

PERIOD = Duration.minutes(5)
API_SERVER_ERRORS = 5  # 5xx answers in five minutes that raise the alarm
# The handlers' own metrics (Powertools EMF): their `service` dimension.
INGEST_SERVICE = "prov-ingest"
PROJECTOR_SERVICE = "prov-projector"


@dataclass(frozen=True)
class Watched:
    """The resources the dashboard shows and the alarms watch."""

    stream: kinesis.IStream
    ingest: lambda_.IFunction
    ingest_failures: sqs.IQueue
    projector: lambda_.IFunction
    projector_failures: sqs.IQueue
    api: apigw.HttpApi
    api_function: lambda_.IFunction
    table: dynamodb.ITable


class Monitoring(Construct):
    """The dashboard, the alarms and the topic they notify."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, watched: Watched
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        stack = Stack.of(self)
        # CloudWatch may use the key and the topic only for this account's alarms in this
        # region (confused deputy): the two conditions AWS documents for alarm delivery.
        from_our_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:"
                f"{stack.account}:alarm:*"
            },
        }
        cloudwatch_service = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"sdr-provenance {config.stage}: encrypts the alarm topic",
            enable_key_rotation=True,
            # Nothing outlives the topic that needs it; KMS waits 30 days before deleting.
            removal_policy=RemovalPolicy.DESTROY,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[cloudwatch_service],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=from_our_alarms,
            )
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"sdr-provenance {config.stage} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # The TLS-only policy replaces the topic's default one: allow the alarms explicitly.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[cloudwatch_service],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=from_our_alarms,
            )
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._add_alarms(watched)
        self.dashboard = pipeline_dashboard(self, config, watched, list(self.alarms.values()))

    # -- alarms ---------------------------------------------------------------------------------

    def _add_alarms(self, w: Watched) -> None:
        lag_ms = self.config.iterator_age_alarm_minutes * 60_000
        for name, function in (("Ingest", w.ingest), ("Projector", w.projector)):
            self._alarm(
                f"{name}IteratorAge",
                function.metric("IteratorAge", statistic="Maximum", period=PERIOD),
                threshold=lag_ms,
                evaluation_periods=2,
                description=(
                    f"{name} is more than {self.config.iterator_age_alarm_minutes} minutes "
                    "behind its stream: records wait (throttling, errors, or too little "
                    "parallelism)"
                ),
            )
        for name, function in (
            ("Ingest", w.ingest),
            ("Projector", w.projector),
            ("Api", w.api_function),
        ):
            self._alarm(
                f"{name}Errors",
                function.metric_errors(statistic="Sum", period=PERIOD),
                threshold=1,
                description=f"The {name.lower()} function failed invocations (see its logs)",
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(statistic="Sum", period=PERIOD),
                threshold=1,
                description=f"Lambda refused to run the {name.lower()} function (concurrency)",
            )
        self._alarm(
            "TableThrottles",
            self._table_throttles(w.table),
            threshold=1,
            description="DynamoDB throttled requests to the event table (retried, but slower)",
        )
        self._alarm(
            "StreamWriteThrottles",
            w.stream.metric_write_provisioned_throughput_exceeded(statistic="Sum", period=PERIOD),
            threshold=1,
            description="Kinesis refused records from shippers (they retry; capacity is short)",
        )
        for name, queue in (("Ingest", w.ingest_failures), ("Projector", w.projector_failures)):
            self._alarm(
                f"{name}FailureQueue",
                queue.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", period=PERIOD
                ),
                threshold=1,
                description=(
                    f"The {name.lower()} function gave up on records: each message names the "
                    "shard and sequence numbers to read again before the stream's retention "
                    "ends (README, 'When an alarm fires')"
                ),
            )
        self._alarm(
            "ApiServerErrors",
            w.api.metric_server_error(statistic="Sum", period=PERIOD),
            threshold=API_SERVER_ERRORS,
            description="The query API answered with server errors (5xx)",
        )

    @staticmethod
    def _table_throttles(table: dynamodb.ITable) -> cloudwatch.MathExpression:
        """Throttle events of the table and of its feed index (a throttled index throttles the
        table's writes). DynamoDB publishes them only when they happen, and metric math over
        a missing series gives nothing, so each is filled with 0."""

        def events(name: str, **dimensions: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name=name,
                dimensions_map={"TableName": table.table_name, **dimensions},
                statistic="Sum",
                period=PERIOD,
            )

        return cloudwatch.MathExpression(
            expression="FILL(r, 0) + FILL(w, 0) + FILL(iw, 0)",
            using_metrics={
                "r": events("ReadThrottleEvents"),
                "w": events("WriteThrottleEvents"),
                "iw": events("WriteThrottleEvents", GlobalSecondaryIndexName=schema.FEED_INDEX),
            },
            label="throttle events",
            period=PERIOD,
        )

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data means no traffic, not trouble.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"sdr-provenance {self.config.stage}: {description}",
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm


# -- dashboard ----------------------------------------------------------------------------------


def _handler_metric(config: StageConfig, service: str, name: str, label: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=config.metrics_namespace,
        metric_name=name,
        dimensions_map={"service": service},
        statistic="Sum",
        period=PERIOD,
        label=label,
    )


def pipeline_dashboard(
    scope: Construct, config: StageConfig, w: Watched, alarms: list[cloudwatch.Alarm]
) -> cloudwatch.Dashboard:
    """The dashboard: the alarms' states, the stream, ingest, projection, the query API and the
    event table."""
    dashboard = cloudwatch.Dashboard(
        scope,
        "Dashboard",
        dashboard_name=f"sdr-provenance-{config.stage}",
        default_interval=Duration.days(1),
    )

    def graph(
        title: str,
        left: list[cloudwatch.IMetric],
        right: list[cloudwatch.IMetric] | None = None,
    ) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(title=title, left=left, right=right, width=8, height=6)

    ingest = INGEST_SERVICE
    dashboard.add_widgets(
        cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24, height=3)
    )
    dashboard.add_widgets(
        graph(
            "Stream throughput",
            [
                w.stream.metric_incoming_records(statistic="Sum", period=PERIOD),
                w.stream.metric_get_records_success(statistic="Sum", period=PERIOD),
            ],
            right=[w.stream.metric_incoming_bytes(statistic="Sum", period=PERIOD)],
        ),
        graph(
            "Iterator age (ms)",
            [
                w.stream.metric_get_records_iterator_age_milliseconds(
                    statistic="Maximum", period=PERIOD, label="Kinesis"
                ),
                w.ingest.metric("IteratorAge", statistic="Maximum", period=PERIOD, label="ingest"),
                w.projector.metric(
                    "IteratorAge", statistic="Maximum", period=PERIOD, label="projector"
                ),
            ],
        ),
        graph(
            "Lines and events",
            [
                _handler_metric(config, ingest, "Lines", "lines"),
                _handler_metric(config, ingest, "Events", "events"),
                _handler_metric(config, ingest, "Duplicates", "duplicates"),
            ],
        ),
    )
    dashboard.add_widgets(
        graph(
            "Quarantined and ignored lines",
            [
                _handler_metric(config, ingest, "Quarantined", "quarantined"),
                _handler_metric(config, ingest, "Ignored", "ignored"),
                _handler_metric(config, ingest, "UndecodableRecords", "undecodable records"),
            ],
        ),
        graph(
            "Errors",
            [
                w.ingest.metric_errors(period=PERIOD, label="ingest"),
                w.projector.metric_errors(period=PERIOD, label="projector"),
                w.api_function.metric_errors(period=PERIOD, label="api"),
                _handler_metric(config, ingest, "FailedRecords", "failed records"),
                w.ingest_failures.metric_approximate_number_of_messages_visible(
                    period=PERIOD, label="ingest failure queue"
                ),
                w.projector_failures.metric_approximate_number_of_messages_visible(
                    period=PERIOD, label="projector failure queue"
                ),
            ],
        ),
        graph(
            "Projection",
            [
                cloudwatch.Metric(
                    namespace=config.metrics_namespace,
                    metric_name="ProjectionLag",
                    dimensions_map={"service": PROJECTOR_SERVICE},
                    statistic="Maximum",
                    period=PERIOD,
                    label="projection lag (s)",
                )
            ],
            right=[
                _handler_metric(config, PROJECTOR_SERVICE, "Applied", "applied"),
                _handler_metric(config, PROJECTOR_SERVICE, "Conflicts", "conflicts"),
            ],
        ),
    )
    dashboard.add_widgets(
        graph(
            "Query API latency (ms)",
            [
                w.api.metric_latency(statistic="p50", period=PERIOD, label="p50"),
                w.api.metric_latency(statistic="p99", period=PERIOD, label="p99"),
            ],
        ),
        graph(
            "Query API requests",
            [
                w.api.metric_count(statistic="Sum", period=PERIOD, label="requests"),
                w.api.metric_client_error(statistic="Sum", period=PERIOD, label="4xx"),
                w.api.metric_server_error(statistic="Sum", period=PERIOD, label="5xx"),
            ],
        ),
        graph(
            "Event table",
            [
                w.table.metric_consumed_write_capacity_units(
                    statistic="Sum", period=PERIOD, label="write units"
                ),
                w.table.metric_consumed_read_capacity_units(
                    statistic="Sum", period=PERIOD, label="read units"
                ),
            ],
            right=[
                w.ingest.metric_throttles(period=PERIOD, label="ingest throttles"),
                w.projector.metric_throttles(period=PERIOD, label="projector throttles"),
                w.stream.metric_write_provisioned_throughput_exceeded(
                    period=PERIOD, label="stream write throttles"
                ),
            ],
        ),
    )
    return dashboard
