"""The permanent record: the event table, and the key that keeps pseudonyms stable.

The table's keys, index, stream and TTL attribute come from `eventstore.schema`, the module
the DynamoDB backend and `prov init` use, so the deployed table cannot drift from the code
that reads it. Both resources are retained when the stack is deleted: the table is the
provenance record itself, and a new pseudonym key would give every client a new pseudonym.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.config import StageConfig
from eventstore import schema

_KEY_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}
_STREAM_VIEWS = {
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    "KEYS_ONLY": dynamodb.StreamViewType.KEYS_ONLY,
    "OLD_IMAGE": dynamodb.StreamViewType.OLD_IMAGE,
}
_TABLE_CLASSES = {
    "standard": dynamodb.TableClass.STANDARD,
    "standard-ia": dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS,
}
PSEUDONYM_KEY_LENGTH = 48  # characters; the access policy asks for at least 16


class EventTable(Construct):
    """The one DynamoDB table of the event store (DESIGN.md, "Event store")."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=config.event_table_name,
            partition_key=dynamodb.Attribute(
                name=schema.PARTITION_KEY, type=_KEY_TYPES[schema.KEY_TYPE]
            ),
            sort_key=dynamodb.Attribute(name=schema.SORT_KEY, type=_KEY_TYPES[schema.KEY_TYPE]),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            # cdk/config.py says when Standard-IA pays; the feed index is billed in the same class.
            table_class=_TABLE_CLASSES[config.table_class],
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # A KMS key the account can audit in CloudTrail (aws/dynamodb), not DynamoDB's own.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            stream=_STREAM_VIEWS[schema.STREAM_VIEW_TYPE],
            # TTL deletes only the items that carry the attribute: the projector's applied-
            # markers (bookkeeping, 48 hours), and raw access events only where the access
            # policy lets them expire (PROV_ACCESS_EVENT_DAYS). Provenance events never carry it.
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=schema.FEED_INDEX,
            partition_key=dynamodb.Attribute(
                name=schema.FEED_PARTITION_KEY, type=_KEY_TYPES[schema.FEED_KEY_TYPE]
            ),
            sort_key=dynamodb.Attribute(
                name=schema.FEED_SORT_KEY, type=_KEY_TYPES[schema.FEED_KEY_TYPE]
            ),
            projection_type=dynamodb.ProjectionType.ALL,
        )


class PseudonymKey(Construct):
    """The HMAC key that turns client addresses into pseudonyms, made once by Secrets Manager.

    Every ingest container reads it, so the same address gets the same pseudonym whichever
    container ingests it, and the key never appears in the function's configuration."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description=(
                f"sdr-provenance {config.stage}: HMAC key for client-address pseudonyms in "
                "access reports (changing it changes every pseudonym from then on)"
            ),
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=PSEUDONYM_KEY_LENGTH, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
