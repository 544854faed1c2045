"""One region rule for every AWS client (`eventstore.aws_region`): explicit (`--region`, the
store URL's `region=`) > AWS_REGION > botocore's own (AWS_DEFAULT_REGION, the profile).

botocore alone ignores AWS_REGION, which AWS's other SDKs and the Lambda runtime set. The
clients are checked over the wire: the moto server keeps each region's tables, streams and
secrets apart, so a client asking the wrong region does not find what it looks for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventstore.aws_region import NoRegionError, configured_region, resolve_region
from provenance.aws.pseudonym_secret import read_pseudonym_key
from provenance.aws.redrive import AwsClients
from tests.aws_server import MotoServer, unique_name
from tests.cli.test_cli import run

KEY = "a-pseudonym-key-of-some-length"
FROM_ENV = "eu-west-1"  # AWS_REGION
FROM_DEFAULT = "ap-south-1"  # AWS_DEFAULT_REGION
FROM_PROFILE = "ca-central-1"
EXPLICIT = "sa-east-1"

# (AWS_REGION, AWS_DEFAULT_REGION, explicit) -> the region every client must use.
CASES = [
    pytest.param(FROM_ENV, None, None, FROM_ENV, id="AWS_REGION-alone"),
    pytest.param(None, FROM_DEFAULT, None, FROM_DEFAULT, id="AWS_DEFAULT_REGION-alone"),
    pytest.param(FROM_ENV, FROM_DEFAULT, None, FROM_ENV, id="both"),
    pytest.param(FROM_ENV, FROM_DEFAULT, EXPLICIT, EXPLICIT, id="explicit-overrides-both"),
]


@pytest.fixture
def regions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets AWS_REGION and AWS_DEFAULT_REGION (None: unset), with no profile to fall back on."""

    def configure(env: str | None, default: str | None) -> None:
        for name, value in (("AWS_REGION", env), ("AWS_DEFAULT_REGION", default)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    yield configure


def client(service: str, region: str, moto: MotoServer) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=moto.endpoint_url)


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "default", "explicit", "expected"), CASES)
def test_the_rule(regions: Any, env: str | None, default: str | None, explicit: str | None,
                  expected: str) -> None:  # fmt: skip
    regions(env, default)
    assert resolve_region(explicit) == expected


def test_the_profile_comes_after_aws_region(
    regions: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(f"[profile site]\nregion = {FROM_PROFILE}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "site")
    regions(None, None)
    assert configured_region() == FROM_PROFILE
    regions(FROM_ENV, None)
    assert configured_region() == FROM_ENV
    assert resolve_region(EXPLICIT) == EXPLICIT


def test_no_region_names_the_ways_to_give_one(regions: Any) -> None:
    regions(None, None)
    assert configured_region() is None
    with pytest.raises(NoRegionError) as missing:
        resolve_region(None, how="region=R in the store URL")
    assert str(missing.value) == (
        "no AWS region: give region=R in the store URL, or set AWS_REGION (or "
        "AWS_DEFAULT_REGION, or a region in the AWS profile)"
    )


# --- every client follows it, over the wire ------------------------------------------------------


@pytest.mark.parametrize(("env", "default", "explicit", "expected"), CASES)
def test_a_dynamodb_store_is_made_and_opened_in_the_region_of_the_rule(
    capsys: pytest.CaptureFixture[str], moto: MotoServer, regions: Any,
    env: str | None, default: str | None, explicit: str | None, expected: str,
) -> None:  # fmt: skip
    regions(env, default)
    table = unique_name("region")
    url = f"dynamodb://{table}?endpoint_url={moto.endpoint_url}"
    if explicit:
        url += f"&region={explicit}"

    code, out, err = run(capsys, "init", "--store", url)
    assert (code, err) == (0, ""), err
    code, out, err = run(capsys, "quarantine", "--store", url, "--format", "json")
    assert (code, out, err) == (0, "[]\n", "")

    for region in {FROM_ENV, FROM_DEFAULT, EXPLICIT}:
        tables = client("dynamodb", region, moto).list_tables()["TableNames"]
        assert (table in tables) == (region == expected), region


@pytest.mark.parametrize(("env", "default", "explicit", "expected"), CASES)
def test_prov_ship_sends_to_the_stream_in_the_region_of_the_rule(
    capsys: pytest.CaptureFixture[str], moto: MotoServer, regions: Any, tmp_path: Path,
    env: str | None, default: str | None, explicit: str | None, expected: str,
) -> None:  # fmt: skip
    stream = unique_name("region")
    kinesis = client("kinesis", expected, moto)
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    log = tmp_path / "a.log"
    log.write_text("one line\n")
    regions(env, default)

    code, out, err = run(
        capsys, "ship", str(log), "--stream", stream, "--endpoint-url", moto.endpoint_url,
        "--state", str(tmp_path / "ship.db"), "--once", "--max-attempts", "1",
        "--format", "json", *(["--region", explicit] if explicit else []),
    )  # fmt: skip

    assert (code, err) == (0, ""), err
    assert json.loads(out)["records"] == 1


@pytest.mark.parametrize(
    ("env", "explicit"),
    [(None, None), ("eu-west-3", None), ("eu-west-3", "eu-west-3")],
    ids=["no-region-configured", "AWS_REGION-elsewhere", "--region-elsewhere"],
)
def test_prov_ship_sends_to_a_stream_arn_in_the_arn_region(
    capsys: pytest.CaptureFixture[str], moto: MotoServer, regions: Any, tmp_path: Path,
    env: str | None, explicit: str | None,
) -> None:  # fmt: skip
    """As `prov redrive` reads a stream: the ARN names where the stream is, whatever else says."""
    stream = unique_name("region-arn")
    kinesis = client("kinesis", "us-east-2", moto)
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    assert arn.split(":")[3] == "us-east-2"
    log = tmp_path / "a.log"
    log.write_text("one line\n")
    regions(env, None)

    code, out, err = run(
        capsys, "ship", str(log), "--stream", arn, "--endpoint-url", moto.endpoint_url,
        "--state", str(tmp_path / "ship.db"), "--once", "--max-attempts", "1",
        "--format", "json", *(["--region", explicit] if explicit else []),
    )  # fmt: skip

    assert (code, err) == (0, ""), err
    assert json.loads(out)["records"] == 1
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert len(kinesis.get_records(ShardIterator=iterator)["Records"]) == 1


@pytest.mark.parametrize(("env", "default", "explicit", "expected"), CASES)
def test_the_pseudonym_key_secret_is_read_in_the_region_of_the_rule(
    moto: MotoServer, regions: Any,
    env: str | None, default: str | None, explicit: str | None, expected: str,
) -> None:  # fmt: skip
    name = unique_name("region-key")  # by name: an ARN would name its own region
    client("secretsmanager", expected, moto).create_secret(Name=name, SecretString=KEY)
    regions(env, default)
    assert read_pseudonym_key(name, region=explicit, endpoint_url=moto.endpoint_url) == KEY


@pytest.mark.parametrize(("env", "default", "explicit", "expected"), CASES)
def test_redrive_asks_the_queue_in_the_region_of_the_rule(
    moto: MotoServer, regions: Any,
    env: str | None, default: str | None, explicit: str | None, expected: str,
) -> None:  # fmt: skip
    name = unique_name("region-queue")
    queue_url = client("sqs", expected, moto).create_queue(QueueName=name)["QueueUrl"]
    regions(env, default)
    # moto's queue URLs name no region (http://127.0.0.1:PORT/ACCOUNT/NAME): the rule decides.
    sqs = AwsClients(queue_url, region=explicit, endpoint_url=moto.endpoint_url).sqs()
    assert (
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ].split(":")[3]
        == expected
    )


@pytest.mark.parametrize(
    ("args", "how"),
    [
        (["ship", "{log}", "--stream", "s", "--state", "{tmp}/s.db", "--once"], "--region"),
        (["init", "--store", "dynamodb://some-table"], "region=R in the store URL"),
        (
            ["history", "bc123df4567", "--store", "dynamodb://some-table"],
            "region=R in the store URL",
        ),
    ],
    ids=["ship", "init", "history"],
)
def test_no_region_anywhere_is_one_line_naming_the_ways(
    capsys: pytest.CaptureFixture[str], regions: Any, tmp_path: Path, args: list[str], how: str
) -> None:
    regions(None, None)
    log = tmp_path / "a.log"
    log.write_text("one line\n")

    code, out, err = run(capsys, *[arg.format(log=log, tmp=tmp_path) for arg in args])

    assert (code, out) == (1, "")
    assert err.startswith("prov: error: ") and err.count("\n") == 1
    assert f"no AWS region: give {how}, or set AWS_REGION (or AWS_DEFAULT_REGION" in err
