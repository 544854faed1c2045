"""`DynamoDBEventStore`: the event store in one DynamoDB table, and the client it speaks
through. Its operations are the mixins of `append`, `reads` and `projections`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from eventstore.aws_client import AwsClientError, aws_client
from eventstore.aws_region import NoRegionError
from eventstore.dynamodb.append import Appending
from eventstore.dynamodb.calls import CALL_ATTEMPTS, MAX_TRANSACTION_ITEMS
from eventstore.dynamodb.projections import ProjectionRows
from eventstore.dynamodb.reads import Reading
from eventstore.errors import StoreUnavailableError
from eventstore.store import EventStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def dynamodb_client(region: str | None, endpoint_url: str | None) -> DynamoDBClient:
    """A DynamoDB client in `region` (the store URL's), else the configured one
    (`eventstore.aws_region`: AWS_REGION before botocore's own resolution).

    Six attempts per call with botocore's standard (jittered, exponential) backoff ride out
    throttling bursts (the store retries transactions and unprocessed items on top), while
    an unreachable endpoint fails within about half a minute instead of many minutes: a
    person at a terminal wants the error, and Lambda retries the batch itself.
    """
    return cast(
        "DynamoDBClient",
        aws_client(
            "dynamodb",
            region=region,
            endpoint_url=endpoint_url,
            how="region=R in the store URL",
            attempts=CALL_ATTEMPTS,
            connect_timeout=3,
            read_timeout=30,
            max_pool_connections=20,
        ),
    )


class DynamoDBEventStore(Appending, Reading, ProjectionRows, EventStore):
    """The event store in one DynamoDB table. One object may be shared by threads (boto3
    clients are thread-safe); open one per process."""

    projected_by_stream = True
    expires_projection_rows = True
    max_atomic_writes = MAX_TRANSACTION_ITEMS

    def __init__(
        self,
        table: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: DynamoDBClient | None = None,
        bundled_prefixes: Sequence[str] = (),
    ) -> None:
        """`bundled_prefixes`: records of streams starting with one of these are written in
        bundles, one item per stream-hour and append, deduplicated per stream-hour (the
        package's notes); every other stream keeps an item and an id guard per record."""
        self.table = table
        self.bundled_prefixes = tuple(bundled_prefixes)
        self.region = region
        self.endpoint_url = endpoint_url
        where = f"dynamodb://{table}" + (f" at {endpoint_url}" if endpoint_url else "")
        self._where = where
        if client is None:
            try:
                client = dynamodb_client(region, endpoint_url)
            except (AwsClientError, NoRegionError) as exc:
                detail = exc.detail if isinstance(exc, AwsClientError) else str(exc)
                raise StoreUnavailableError(
                    f"cannot open the event store {where}: {detail}"
                ) from exc
            self.region = client.meta.region_name
        self._client: DynamoDBClient | None = client
        self._known_streams: set[str] = set()
        self._sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"DynamoDBEventStore({self._where!r})"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
