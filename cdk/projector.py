"""Derived state: the projector function on the event table's stream.

Only event items matter to the projector (new events, and the TTL removing access events).
The table's stream also carries every projection row and applied-marker the projector itself
writes, so the event source mapping filters on the key prefix of event items: without the
filter each projector write would invoke the projector again, doubling its invocations for
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from cdk.config import StageConfig
from cdk.functions import PipelineFunction
from cdk.ingest import failure_queue
from cdk.permissions import grant_table
from cdk.store import EventTable
from eventstore import schema

PROJECTOR_HANDLER = "handlers.projector.handler"
PROJECTOR_TIMEOUT = Duration.minutes(2)
# DynamoDB Streams keep records 24 hours: a record older than that is gone anyway.
PROJECTOR_MAX_RECORD_AGE = Duration.hours(24)


def event_items_filter() -> Mapping[str, Any]:
    """Stream records of event items only: inserted events and expired (removed) ones."""
    return lambda_.FilterCriteria.filter(
        {
            "eventName": lambda_.FilterRule.or_("INSERT", "REMOVE"),
            "dynamodb": {
                "Keys": {
                    schema.PARTITION_KEY: {
                        schema.KEY_TYPE: lambda_.FilterRule.begins_with(schema.EVENT_PREFIX)
                    }
                }
            },
        }
    )


class Projector(Construct):
    """Table stream -> projector Lambda -> ObjectState and AccessCounts rows."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        store: EventTable,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        self.failures = failure_queue(self, "Failures")
        self.handler = PipelineFunction(
            self,
            "Handler",
            config=config,
            handler=PROJECTOR_HANDLER,
            description="sdr-provenance projector: table stream -> object state, access counts",
            code=code,
            layer=layer,
            memory_mb=config.projector_memory_mb,
            timeout=PROJECTOR_TIMEOUT,
            environment={
                "POWERTOOLS_SERVICE_NAME": "prov-projector",
            },
        )
        grant_table(self.handler.role, store.table, "projector")
        self.handler.function.add_event_source(
            sources.DynamoEventSource(
                store.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=config.projector_batch_size,
                bisect_batch_on_error=True,
                retry_attempts=config.projector_retry_attempts,
                max_record_age=PROJECTOR_MAX_RECORD_AGE,
                report_batch_item_failures=True,
                filters=[event_items_filter()],
                on_failure=sources.SqsDlq(self.failures),
            )
        )
