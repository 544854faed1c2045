"""Real-shaped Lambda events from real streams: the pollers the end-to-end tests drive the
handlers with (moto's own event source mapping delivers one record per call and neither
batches, retries nor bisects, so it would not test what Lambda does).

`KinesisPoller` reads every shard of a stream with GetShardIterator/GetRecords and turns each
page into the event Lambda's Kinesis event source mapping sends. `TableStreamPoller` does the
same for a DynamoDB table's stream (binary attributes base64-encoded, times as epoch seconds,
as Lambda's JSON has them).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import boto3

from tests.aws_server import REGION

ACCOUNT = "123456789012"
Params = dict[str, str | list[str]]


@dataclass
class LambdaContext:
    """What Powertools reads from the Lambda context object."""

    function_name: str = "prov-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:prov-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def kinesis_event(stream_arn: str, shard_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The Lambda event for records as GetRecords returns them."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record["PartitionKey"],
                    "sequenceNumber": record["SequenceNumber"],
                    "data": base64.b64encode(record["Data"]).decode("ascii"),
                    "approximateArrivalTimestamp": record[
                        "ApproximateArrivalTimestamp"
                    ].timestamp(),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard_id}:{record['SequenceNumber']}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/prov-ingest",
                "awsRegion": REGION,
                "eventSourceARN": stream_arn,
            }
            for record in records
        ]
    }


class KinesisPoller:
    """Reads a Kinesis stream from its start, shard by shard, in batches of `batch_size`."""

    def __init__(self, endpoint_url: str, stream: str, batch_size: int = 100) -> None:
        self.client = boto3.client("kinesis", region_name=REGION, endpoint_url=endpoint_url)
        self.stream = stream
        self.batch_size = batch_size
        description = self.client.describe_stream(StreamName=stream)["StreamDescription"]
        self.arn = description["StreamARN"]
        self.iterators = {
            shard["ShardId"]: self.client.get_shard_iterator(
                StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in description["Shards"]
        }

    def batches(self) -> Iterator[dict[str, Any]]:
        """Every batch not read yet, as Lambda events."""
        for shard_id in sorted(self.iterators):
            while True:
                page = self.client.get_records(
                    ShardIterator=self.iterators[shard_id], Limit=self.batch_size
                )
                self.iterators[shard_id] = page["NextShardIterator"]
                if not page["Records"]:
                    break
                yield kinesis_event(self.arn, shard_id, page["Records"])


def _lambda_json(value: Any) -> Any:
    """A DynamoDB attribute value as Lambda's JSON carries it (binary as base64)."""
    if isinstance(value, dict):
        return {
            key: base64.b64encode(inner).decode("ascii")
            if key == "B" and isinstance(inner, bytes)
            else _lambda_json(inner)
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [_lambda_json(item) for item in value]
    return value


class TableStreamPoller:
    """Reads a DynamoDB table's stream from its start, as Lambda events."""

    def __init__(self, endpoint_url: str, table: str, batch_size: int = 100) -> None:
        dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint_url)
        self.arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self.client = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=endpoint_url)
        self.batch_size = batch_size
        shards = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self.iterators = {
            shard["ShardId"]: self.client.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in shards
        }

    def batches(self) -> Iterator[dict[str, Any]]:
        for shard_id in sorted(self.iterators):
            while True:
                page = self.client.get_records(
                    ShardIterator=self.iterators[shard_id], Limit=self.batch_size
                )
                self.iterators[shard_id] = page.get("NextShardIterator") or self.iterators[shard_id]
                if not page["Records"]:
                    break
                yield {"Records": [self._lambda_record(record) for record in page["Records"]]}

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        data = dict(record["dynamodb"])
        created = data.get("ApproximateCreationDateTime")
        if created is not None and not isinstance(created, (int, float)):
            data["ApproximateCreationDateTime"] = created.timestamp()
        for image in ("Keys", "NewImage", "OldImage"):
            if image in data:
                data[image] = _lambda_json(data[image])
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": data,
            "eventSourceARN": self.arn,
        }


def http_event(
    path: str,
    params: Params | None = None,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    stage: str = "$default",
) -> dict[str, Any]:
    """An event as API Gateway's HTTP API sends it (payload 2.0, `$default` route): repeated
    query parameters joined by commas in queryStringParameters, which is left out when empty."""
    pairs = [
        (name, value)
        for name, values in (params or {}).items()
        for value in (values if isinstance(values, list) else [values])
    ]
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    domain = "r3pmxmplak.execute-api.us-east-2.amazonaws.com"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(pairs),
        "headers": {
            "content-length": "0",
            "host": domain,
            "user-agent": "curl/8.5.0",
            "x-amzn-trace-id": "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
            "x-forwarded-for": "205.255.255.176",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **{name.lower(): value for name, value in (headers or {}).items()},
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "r3pmxmplak",
            "domainName": domain,
            "domainPrefix": "r3pmxmplak",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "205.255.255.176",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": stage,
            "time": "10/Mar/2026:05:16:23 +0000",
            "timeEpoch": 1773119783000,
        },
        "isBase64Encoded": False,
    }
    if joined:
        event["queryStringParameters"] = joined
    return event
