"""Every boto3 client the project makes: one factory, one retry policy, one error text.

The DynamoDB backend, the Kinesis shipper, redrive and the pseudonym key reader each need a
client; they differ only in how long a call may take (a person at a terminal, a Lambda
function, a long poll) and in how many attempts their callers can afford. What does not
differ is decided here:

- botocore's `standard` retry mode (jittered exponential backoff on throttling, transient
  errors and connection errors), with `attempts` counting the first call too
  (`total_max_attempts`, not botocore's legacy `max_attempts`, which counts retries);
- the region rule of `eventstore.aws_region` (explicit, then AWS_REGION, then botocore's);
- an endpoint taken from AWS_ENDPOINT_URL or the profile is checked before any request
  (`eventstore.url.check_client_endpoint`), so a bad one is a one-line error, not a
  traceback from inside a request;
- a client that cannot be made raises `AwsClientError` with one line, and `error_text`
  turns any botocore error into `Code: message` on one line.

boto3 is imported when the first client is made: importing this module costs nothing, which
keeps `prov` commands that never touch AWS, and the handlers' cold start, as fast as before.
Clients come from boto3's default session, as `boto3.client` makes them: one per process, so
a Lambda container that makes a DynamoDB and a Secrets Manager client loads botocore's data
once.
"""

from __future__ import annotations

from typing import Any

from eventstore.aws_region import NoRegionError, resolve_region
from eventstore.errors import EventStoreError
from eventstore.url import check_client_endpoint


class AwsClientError(EventStoreError):
    """A client could not be made (a malformed endpoint, an unknown profile, ...); the message
    is one line and names the service, `detail` is botocore's reason alone (one line), for a
    caller that says in its own words what could not be done."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"cannot make a {service} client: {detail}")
        self.detail = detail


def aws_client(
    service: str,
    *,
    region: str | None,
    endpoint_url: str | None = None,
    attempts: int,
    connect_timeout: float,
    read_timeout: float,
    how: str = "--region",
    user_agent: str | None = None,
    max_pool_connections: int | None = None,
) -> Any:
    """A boto3 client for `service` (Any: the stubs type a client per literal service name).

    `region` is the explicit one (`--region`, a store URL's, an ARN's), `how` the way to give
    it, named when no region is found (`NoRegionError`, one line)."""
    import boto3  # noqa: PLC0415  (see the module docstring)
    from botocore.config import Config  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    settings: dict[str, Any] = {
        "retries": {"mode": "standard", "total_max_attempts": attempts},
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
    }
    if user_agent is not None:
        settings["user_agent_extra"] = user_agent
    if max_pool_connections is not None:
        settings["max_pool_connections"] = max_pool_connections
    try:
        client = boto3.client(
            service,  # type: ignore[call-overload]  # any service name, not one literal
            region_name=resolve_region(region, how=how),
            endpoint_url=endpoint_url,
            config=Config(**settings),
        )
        check_client_endpoint(client.meta.endpoint_url)
    except NoRegionError:
        raise
    except (BotoCoreError, ValueError) as exc:  # ValueError: a malformed endpoint URL
        raise AwsClientError(service, one_line(exc)) from None
    return client


def error_text(exc: BaseException) -> str:
    """`Code: message` of a botocore error (`Code` alone when it has no message), else the
    exception's text; always one line."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code, message = error.get("Code", "error"), error.get("Message", "")
        return one_line(f"{code}: {message}" if message else code)
    return one_line(exc)


def error_code(exc: BaseException) -> str:
    """A botocore error's `Code` (`ThrottlingException`), or "" for any other exception."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def one_line(value: object) -> str:
    """`value`'s text with every run of white space (newlines included) made one space."""
    return " ".join(str(value).split())
