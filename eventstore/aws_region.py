"""The AWS region of every AWS client the project makes: one rule, decided here.

    explicit (`--region`, a store URL's `region=`, the region an ARN or URL names)
      > AWS_REGION
      > botocore's own resolution (AWS_DEFAULT_REGION, then the profile's `region`)

botocore reads AWS_DEFAULT_REGION and the profile only, while AWS's other SDKs, the CLI v2
and the Lambda runtime use AWS_REGION: a region set the way the rest of AWS documents must not
be ignored here. The rule lives in `eventstore`, the lowest layer, because the DynamoDB backend
needs it and `provenance` (the Kinesis shipper, redrive, the pseudonym key reader, the SigV4
API client) may import `eventstore` but not the other way round. botocore is imported when a
region is resolved, so importing this module costs nothing.
"""

from __future__ import annotations

import os
import re
from typing import Any

from eventstore.errors import EventStoreError

REGION_ENV = "AWS_REGION"

# arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (aws, aws-cn, aws-us-gov, ...).
_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:(?P<region>[a-z0-9-]+):\d{12}:.+")


class NoRegionError(EventStoreError, ValueError):
    """No region was given and none is configured; the message names the ways to set one."""


def region_help(how: str) -> str:
    """The ways to give a region, `how` being this client's explicit one (`--region`)."""
    return f"give {how}, or set AWS_REGION (or AWS_DEFAULT_REGION, or a region in the AWS profile)"


def arn_region(name: str) -> str | None:
    """The region `name` names when it is an ARN (a Kinesis stream, a secret); None for a
    plain name. That region wins over `--region`: the resource lives there and nowhere else,
    so a client made for any other region could only be told it does not exist."""
    match = _ARN.fullmatch(name)
    return match.group("region") if match else None


def configured_region(session: Any = None) -> str | None:
    """The region configured outside the command line: AWS_REGION, else botocore's
    (AWS_DEFAULT_REGION, the profile's); None when there is none. `session` is the botocore
    session whose profile to read (default: a new one, which reads AWS_PROFILE)."""
    region = os.environ.get(REGION_ENV, "").strip()
    if region:
        return region
    if session is None:
        import botocore.session  # noqa: PLC0415  (only an AWS client needs botocore)

        session = botocore.session.get_session()
    configured = session.get_config_variable("region")
    return (str(configured).strip() or None) if configured else None


def resolve_region(explicit: str | None = None, *, how: str = "--region") -> str:
    """The region for a client: `explicit` when given, else `configured_region()`.

    `how` names the explicit way for this client (`--region`, `region= in the store URL`), for
    the one-line `NoRegionError` raised when there is no region at all."""
    region = (explicit or "").strip() or configured_region()
    if region is None:
        raise NoRegionError(f"no AWS region: {region_help(how)}")
    return region
