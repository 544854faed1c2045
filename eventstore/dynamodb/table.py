"""Creating the store's DynamoDB table: on-demand, with its feed index, stream and TTL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from eventstore import schema
from eventstore.dynamodb.calls import translate
from eventstore.dynamodb.store import dynamodb_client
from eventstore.errors import StoreUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def create_table(
    table: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    client: DynamoDBClient | None = None,
) -> bool:
    """Create the store's table (on-demand, with its feed index, stream and TTL) unless it
    exists; wait until it is active. Return True if this call created it."""
    where = f"dynamodb://{table}"
    if client is None:
        try:
            client = dynamodb_client(region, endpoint_url)
        except (BotoCoreError, ValueError) as exc:
            raise StoreUnavailableError(f"cannot create {where}: {exc}") from exc
    created = True
    try:
        client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": schema.PARTITION_KEY, "AttributeType": schema.KEY_TYPE},
                {"AttributeName": schema.SORT_KEY, "AttributeType": schema.KEY_TYPE},
                {"AttributeName": schema.FEED_PARTITION_KEY, "AttributeType": schema.FEED_KEY_TYPE},
                {"AttributeName": schema.FEED_SORT_KEY, "AttributeType": schema.FEED_KEY_TYPE},
            ],
            KeySchema=[
                {"AttributeName": schema.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": schema.SORT_KEY, "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": schema.FEED_INDEX,
                    "KeySchema": [
                        {"AttributeName": schema.FEED_PARTITION_KEY, "KeyType": "HASH"},
                        {"AttributeName": schema.FEED_SORT_KEY, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": schema.STREAM_VIEW_TYPE},
            SSESpecification={"Enabled": True},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise translate(exc, where, "create") from exc
        created = False
    except BotoCoreError as exc:
        raise translate(exc, where, "create") from exc
    try:
        client.get_waiter("table_exists").wait(
            TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.TTL_ATTRIBUTE},
            )
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, where, "create") from exc
    return created
