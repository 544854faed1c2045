"""One DynamoDB call with the store's error handling, and the machinery around calls: paging
through a Query, BatchGetItem/BatchWriteItem with their unprocessed items retried, backoff with
jitter, transactions' cancellation reasons, and the translation of botocore errors into the
store's errors (`translate`, the only place that looks at them).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from eventstore.dynamodb.items import Item
from eventstore.errors import EventStoreError, InvalidRequestError, StoreUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

MAX_TRANSACTION_ITEMS = 100
MAX_TRANSACTION_BYTES = 4_000_000
"""DynamoDB's 4 MB per transaction, with room for keys and request overhead."""
_BATCH_GET_KEYS = 100
_BATCH_WRITE_ITEMS = 25
ATTEMPTS = 10
CALL_ATTEMPTS = 6
"""Attempts per DynamoDB call, the first included (botocore's standard retries)."""
_BACKOFF_BASE_S = 0.05
_BACKOFF_CAP_S = 5.0
# Cancellation reasons that say "try again later", not "your condition failed".
_TRANSIENT_REASONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
_THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
_UNAVAILABLE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        *_THROTTLING_CODES,
    }
)


class Calls:
    """What every part of `DynamoDBEventStore` calls DynamoDB through."""

    table: str
    bundled_prefixes: tuple[str, ...]
    _where: str
    _client: DynamoDBClient | None
    _sleep: Callable[[float], None]

    def _bundled(self, stream: str) -> bool:
        """Whether this handle writes (and reads) `stream`'s records in bundles."""
        return any(stream.startswith(prefix) for prefix in self.bundled_prefixes)

    def _call(self, action: str, operation: str, **request: Any) -> Any:
        """Call one DynamoDB operation (a client method name) with the store's error handling."""
        client = self._client
        if client is None:
            raise StoreUnavailableError(f"the event store {self._where} is closed")
        try:
            return getattr(client, operation)(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "TransactionCanceledException":
                reasons = [
                    str(reason.get("Code") or "None")
                    for reason in exc.response.get("CancellationReasons", [])
                ]
                if any(r == "ConditionalCheckFailed" or r in _TRANSIENT_REASONS for r in reasons):
                    raise CancelledError(reasons) from exc
            if error.get("Code") == "ConditionalCheckFailedException":
                # A conditional put (a bundle's) that found its item: the caller decides.
                raise CancelledError(["ConditionalCheckFailed"]) from exc
            raise translate(exc, self._where, action) from exc
        except BotoCoreError as exc:
            raise translate(exc, self._where, action) from exc

    def _query(
        self, query: dict[str, Any], action: str, *, limit: int | None = None
    ) -> Iterator[Item]:
        """Every item a Query matches, page after page (1 MB each), at most `limit`."""
        remaining = limit
        while True:
            if remaining is not None:
                query["Limit"] = remaining
            response = self._call(action, "query", **query)
            items = response.get("Items", [])
            yield from items
            if remaining is not None:
                remaining -= len(items)
                if remaining <= 0:
                    return
            start = response.get("LastEvaluatedKey")
            if not start:
                return
            query["ExclusiveStartKey"] = start

    def _batch_get(
        self, keys: list[Item], *, action: str, projection: str | None = None
    ) -> list[Item]:
        found: list[Item] = []
        for offset in range(0, len(keys), _BATCH_GET_KEYS):
            request: dict[str, Any] = {
                "Keys": keys[offset : offset + _BATCH_GET_KEYS],
                "ConsistentRead": True,
            }
            if projection is not None:
                request["ProjectionExpression"] = "#wanted"
                request["ExpressionAttributeNames"] = {"#wanted": projection}
            pending: dict[str, Any] = {self.table: request}
            for attempt in range(ATTEMPTS + 1):
                response = self._call(action, "batch_get_item", RequestItems=pending)
                found += response.get("Responses", {}).get(self.table, [])
                pending = dict(response.get("UnprocessedKeys") or {})
                if not pending:
                    break
                if attempt == ATTEMPTS:
                    raise StoreUnavailableError(
                        f"cannot {action} the event store {self._where}: keys stayed "
                        f"unprocessed after {ATTEMPTS} retries (throttled)"
                    )
                self._backoff(attempt)
        return found

    def _batch_write(self, requests: list[Any], action: str) -> None:
        for offset in range(0, len(requests), _BATCH_WRITE_ITEMS):
            pending: dict[str, Any] = {self.table: requests[offset : offset + _BATCH_WRITE_ITEMS]}
            for attempt in range(ATTEMPTS + 1):
                response = self._call(action, "batch_write_item", RequestItems=pending)
                pending = dict(response.get("UnprocessedItems") or {})
                if not pending:
                    break
                if attempt == ATTEMPTS:
                    raise StoreUnavailableError(
                        f"cannot {action} the event store {self._where}: items stayed "
                        f"unprocessed after {ATTEMPTS} retries (throttled)"
                    )
                self._backoff(attempt)

    def _backoff(self, attempt: int) -> None:
        # "Full jitter": concurrent writers that collided do not retry in step.
        self._sleep(random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)))


class CancelledError(Exception):
    """A transaction was cancelled for reasons the caller handles (conditions, throttling)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


def translate(exc: ClientError | BotoCoreError, where: str, action: str) -> EventStoreError:
    """The one place that turns botocore exceptions into the store's errors."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = " ".join(str(error.get("Message", "")).split())
        if code == "ResourceNotFoundException":
            return StoreUnavailableError(
                f"cannot {action} the event store {where}: the table does not exist "
                "(create it with `prov init --store URL`, or deploy the stack)"
            )
        if code in _THROTTLING_CODES:
            return StoreUnavailableError(
                f"cannot {action} the event store {where}: still throttled after "
                f"{CALL_ATTEMPTS} attempts ({code})"
            )
        if code in _UNAVAILABLE_CODES:
            return StoreUnavailableError(
                f"cannot {action} the event store {where}: {code}: {message}"
            )
        if code == "ValidationException":
            return InvalidRequestError(f"cannot {action} the event store {where}: {message}")
        return EventStoreError(f"cannot {action} the event store {where}: {code}: {message}")
    detail = " ".join(str(exc).split())
    return StoreUnavailableError(f"cannot {action} the event store {where}: {detail}")
