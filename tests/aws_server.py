"""A real AWS wire protocol on 127.0.0.1: one moto server per test process, started here.

Every test that talks to "AWS" goes over HTTP to this server with `endpoint_url`; nothing can
reach real AWS (the credentials are fake and every client is given the local endpoint). Tests
isolate themselves by unique table and stream names (`unique_name`), not by restarting moto.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # No profile or credentials file of the machine's user is ever read.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


class MotoServer:
    """A moto server on a free port of 127.0.0.1, in a thread of this process."""

    def __init__(self) -> None:
        _patch_transactions()
        _patch_queries()
        # One line per request on stderr would bury test output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()

    def dynamodb_url(self, table: str) -> str:
        """The store URL of `table` on this server."""
        return f"dynamodb://{table}?region={REGION}&endpoint_url={self.endpoint_url}"


def unique_name(prefix: str) -> str:
    """A table or stream name no other test uses (moto keeps state for the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


_TRANSACTIONS = threading.Lock()
_QUERIED = threading.local()


def _patch_queries() -> None:
    """Make moto's Query on the table's own keys cost what its partition holds.

    moto 5 answers it by listing and sorting every item of the table, then keeping those of
    the partition asked for: O(table) per Query, which made appends to bundled streams (a
    Query per stream-hour) minutes long once a table holds some thousands of items. Here the
    table's item list is that partition's while such a Query runs (per thread: the server
    answers requests in threads). Index queries (the feed) are left as they are."""
    if getattr(Table.query, "_by_partition", False):
        return
    all_items, query = Table.all_items, Table.query
    signature = inspect.signature(query)

    def partition_items(self: Table) -> list[Any]:
        asked = getattr(_QUERIED, "partition", None)
        if asked is None or asked[0] is not self:
            return all_items(self)
        found = self.items.get(asked[1])
        if found is None:
            return []
        items = list(found.values()) if self.range_key_attr else [found]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def partition_query(self: Table, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        if arguments.get("index_name") or arguments.get("hash_key") is None:
            return query(self, *args, **kwargs)
        _QUERIED.partition = (self, arguments["hash_key"])
        try:
            return query(self, *args, **kwargs)
        finally:
            _QUERIED.partition = None

    partition_query._by_partition = True  # type: ignore[attr-defined]
    Table.all_items = partition_items  # type: ignore[method-assign]
    Table.query = partition_query  # type: ignore[method-assign]


def _patch_transactions() -> None:
    """Give moto's TransactWriteItems DynamoDB's own semantics at a cost that does not grow
    with the table.

    moto 5 deep-copies the whole table once per item of every transaction so it can roll back
    (O(table size x items) per call: minutes and gigabytes once a table holds a few thousand
    events), and checks each condition just before applying that item. DynamoDB checks every
    condition first and then applies all items, isolated from other transactions; this does
    the same under a lock, so nothing needs rolling back. Only the transaction path changes.
    """
    if getattr(DynamoDBBackend.transact_write_items, "_check_then_apply", False):
        return

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        with _TRANSACTIONS:
            plans: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
            errors: list[Any] = []
            seen: set[tuple[str, str]] = set()
            for entry in transact_items:
                if len(entry) > 1:
                    raise TransactWriteSingleOpException
                op_type, op = next(iter(entry.items()))
                table_name = op["TableName"]
                table = self.get_table(table_name)
                if op_type == "Put":
                    attrs = op["Item"]
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                unique = (str(table_name), str(dict(sorted(key.items()))))
                if unique in seen:
                    raise MultipleTransactionsException()
                seen.add(unique)
                condition = op.get("ConditionExpression")
                current = self.get_item(table_name, key)
                if condition is not None and not get_filter_expression(
                    condition,
                    op.get("ExpressionAttributeNames"),
                    op.get("ExpressionAttributeValues"),
                ).expr(current):
                    errors.append(
                        ("ConditionalCheckFailed", "The conditional request failed", None)
                    )
                else:
                    errors.append((None, None, None))
                plans.append((op_type, op, key))
            if any(code is not None for code, _, _ in errors):
                raise TransactionCanceledException(errors)
            for op_type, op, key in plans:
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(op["TableName"], op["Item"])
                elif op_type == "Delete":
                    self.delete_item(op["TableName"], key)
                elif op_type == "Update":
                    self.update_item(
                        op["TableName"],
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )

    transact_write_items._check_then_apply = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class Throttle:
    """A botocore `before-send` hook that answers the first `times` requests itself with
    DynamoDB's throttling error, as a throttled table does: what botocore's retries (and the
    store's own) then see. Register it on a client's events, e.g.
    `client.meta.events.register("before-send.dynamodb.*", Throttle(3))`."""

    def __init__(self, times: int) -> None:
        self.left = times

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.left <= 0:
            return None
        self.left -= 1
        body = (
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
            b'"message":"Rate of requests exceeds the allowed throughput."}'
        )
        return AWSResponse(request.url, 400, {"x-amzn-requestid": "throttled"}, _Body(body))


class _Body:
    """The raw body of an injected response, as botocore reads it."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any) -> bytes:
        body, self._body = self._body, b""
        return body
