"""The pseudonym key read from its Secrets Manager secret (the moto server's), as both the
ingest function and `prov redrive` read it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from provenance.aws.pseudonym_secret import SECRET_ENV, PseudonymSecretError, read_pseudonym_key
from provenance.domain.errors import ProvenanceError
from tests.aws_server import REGION, MotoServer, unique_name

KEY = "Zq7#rW2!pL9xK4$vN8mT3&bY6^cH1*dF"  # as CDK's generateSecretString makes them
OTHER_REGION = "eu-west-1"


@pytest.fixture
def secrets(moto: MotoServer) -> Iterator[Any]:
    yield boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto.endpoint_url)


def test_the_key_is_the_secret_string_by_arn_or_name(moto: MotoServer, secrets: Any) -> None:
    name = unique_name("pseudonym-key")
    arn = secrets.create_secret(Name=name, SecretString=KEY)["ARN"]
    assert read_pseudonym_key(arn, endpoint_url=moto.endpoint_url) == KEY
    assert read_pseudonym_key(f"  {name}\n", endpoint_url=moto.endpoint_url) == KEY


def test_an_arn_names_the_region_to_ask(moto: MotoServer) -> None:
    elsewhere = boto3.client(
        "secretsmanager", region_name=OTHER_REGION, endpoint_url=moto.endpoint_url
    )
    name = unique_name("pseudonym-key")
    arn = elsewhere.create_secret(Name=name, SecretString=KEY)["ARN"]
    assert f":{OTHER_REGION}:" in arn
    # The given region (the queue's, say) is for a secret given by name only.
    assert read_pseudonym_key(arn, region=REGION, endpoint_url=moto.endpoint_url) == KEY
    with pytest.raises(PseudonymSecretError, match="ResourceNotFoundException"):
        read_pseudonym_key(name, region=REGION, endpoint_url=moto.endpoint_url)
    assert read_pseudonym_key(name, region=OTHER_REGION, endpoint_url=moto.endpoint_url) == KEY


def test_botocores_endpoint_variable_is_used_without_an_endpoint(
    moto: MotoServer, secrets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = secrets.create_secret(Name=unique_name("pseudonym-key"), SecretString=KEY)["ARN"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint_url)
    assert read_pseudonym_key(arn) == KEY


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("missing", "cannot read it: ResourceNotFoundException: "),
        ("short", "the key is 9 characters long, give at least 16"),
        ("binary", "holds no SecretString (a binary secret?): store the key as a string"),
        ("unreachable", "cannot read it: Could not connect to the endpoint URL"),
        ("bad endpoint", "cannot read it: "),
    ],
)
def test_an_unusable_secret_is_one_line_naming_it_never_the_key(
    moto: MotoServer, secrets: Any, problem: str, expected: str
) -> None:
    name = unique_name("pseudonym-key")
    endpoint = moto.endpoint_url
    if problem == "binary":
        arn = secrets.create_secret(Name=name, SecretBinary=KEY.encode())["ARN"]
    elif problem == "short":
        arn = secrets.create_secret(Name=name, SecretString="short key")["ARN"]
    else:
        arn = secrets.create_secret(Name=name, SecretString=KEY)["ARN"]
    if problem == "missing":
        arn += "-gone"
    elif problem == "unreachable":
        endpoint = "http://127.0.0.1:9"
    elif problem == "bad endpoint":
        endpoint = "not a url"

    with pytest.raises(PseudonymSecretError) as raised:
        read_pseudonym_key(arn, endpoint_url=endpoint)

    message = str(raised.value)
    assert message.startswith(f"pseudonym key secret {arn}: ")
    assert expected in message
    assert "\n" not in message and KEY not in message
    assert isinstance(raised.value, ProvenanceError)  # the CLI's one-line errors


def test_an_empty_secret_name_is_an_error_before_any_call() -> None:
    with pytest.raises(PseudonymSecretError, match=f"secret \\({SECRET_ENV}\\) is empty"):
        read_pseudonym_key("  ")


def test_importing_the_reader_does_not_import_boto3() -> None:
    code = "import sys, provenance.aws.pseudonym_secret; print('boto3' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
