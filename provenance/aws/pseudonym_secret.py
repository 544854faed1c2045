"""The deployment's pseudonym key, read from the Secrets Manager secret that holds it.

A deployment keeps the key that pseudonymises client addresses in a secret (the store stack
makes it; `PROV_PSEUDONYM_KEY_SECRET` names it to the ingest function). Two readers need the
very same key, read the very same way, or their pseudonyms would differ for good: the ingest
Lambda (`handlers.ingest`) and `prov redrive`, which ingests again what that function gave up
on. Hence one reader, here in `provenance`, which both reach through the one builder of the
deployment's ingest options (`provenance.aws.deployment`).

The key is the secret's SecretString as stored (at least `MIN_KEY_LENGTH` characters); a
binary secret, a short key or a secret that cannot be read is a `PseudonymSecretError`, one
line naming the secret and never the key. boto3 is imported on the first read only (the
SQLite store and most commands never need it); the client is `eventstore.aws_client`'s, so
endpoint (`AWS_ENDPOINT_URL_SECRETS_MANAGER`) and credentials are botocore's unless given, and
the region follows the project's rule (`eventstore.aws_region`).
"""

from __future__ import annotations

import re

from eventstore.aws_client import AwsClientError, aws_client, error_text, one_line
from provenance.access.pseudonym_key import MIN_KEY_LENGTH
from provenance.domain.errors import ProvenanceError

SECRET_ENV = "PROV_PSEUDONYM_KEY_SECRET"
"""The environment variable naming the secret (its ARN, or its name)."""

# Secrets Manager answers in milliseconds: fail within seconds (Lambda then retries the batch,
# an operator sees the line), rather than outlast the function's timeout. Four attempts in all:
# the first call and botocore's three retries.
_CALL_ATTEMPTS = 4
_CONNECT_SECONDS = 3
_READ_SECONDS = 10
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):\d{12}:secret:.+")


class PseudonymSecretError(ProvenanceError):
    """The pseudonym key secret cannot be read or holds no usable key (one line, says why)."""


def read_pseudonym_key(
    secret_id: str, *, region: str | None = None, endpoint_url: str | None = None
) -> str:
    """The pseudonym key the secret `secret_id` (ARN or name) holds: its SecretString.

    The region is the ARN's (a secret lives in one region), else `region`, else AWS_REGION,
    else botocore's (AWS_DEFAULT_REGION, the profile); `endpoint_url` overrides botocore's
    endpoint (a local stack)."""
    secret_id = secret_id.strip()
    if not secret_id:
        raise PseudonymSecretError(
            f"the pseudonym key secret ({SECRET_ENV}) is empty: give the ARN of the secret"
        )
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    where = f"pseudonym key secret {secret_id}"
    arn = _SECRET_ARN.fullmatch(secret_id)
    try:
        client = aws_client(
            "secretsmanager",
            region=arn.group("region") if arn else region,
            endpoint_url=endpoint_url,
            attempts=_CALL_ATTEMPTS,
            connect_timeout=_CONNECT_SECONDS,
            read_timeout=_READ_SECONDS,
            how="the secret's ARN or --region",
        )
        response = client.get_secret_value(SecretId=secret_id)
    except AwsClientError as exc:
        # An unreachable or malformed endpoint, an unknown profile.
        raise PseudonymSecretError(one_line(f"{where}: cannot read it: {exc.detail}")) from None
    except ClientError as exc:
        raise PseudonymSecretError(
            one_line(f"{where}: cannot read it: {error_text(exc)}")
        ) from None
    except (BotoCoreError, ValueError) as exc:
        # No region, no credentials, an unreachable or malformed endpoint.
        raise PseudonymSecretError(one_line(f"{where}: cannot read it: {exc}")) from None
    key = response.get("SecretString")
    if not isinstance(key, str):
        raise PseudonymSecretError(
            f"{where}: holds no SecretString (a binary secret?): store the key as a string"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise PseudonymSecretError(
            f"{where}: the key is {len(key)} characters long, give at least {MIN_KEY_LENGTH}"
        )
    return key
