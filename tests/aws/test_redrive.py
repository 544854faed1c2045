"""`prov redrive`: failure-queue messages -> the records of their ranges read from Kinesis again
-> the store, as the ingest function stores them. SQS, Kinesis, DynamoDB and Secrets Manager
are the moto server's; the reference is the ingest handler itself, run on the same records."""

from __future__ import annotations

import bz2
import json
import lzma
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import handlers.ingest
from eventstore import StoreUnavailableError, open_store
from eventstore.dynamodb import create_table
from eventstore.sqlite import SQLiteEventStore
from provenance.access.rules import AccessPolicyError
from provenance.aws.deployment import DeploymentSettingsError, ingest_options
from provenance.aws.failure_messages import (
    DYNAMODB_INFO,
    EXPIRED,
    KINESIS_INFO,
    MALFORMED,
    PROJECTOR,
    REDRIVEN,
    STORE_FAILED,
    WOULD_REDRIVE,
    MalformedMessageError,
    parse_failure,
)
from provenance.aws.redrive import (
    AwsClients,
    RedriveOptions,
    queue_region,
    redrive,
)
from provenance.records.envelope import encode
from tests.aws_lambda import LambdaContext, kinesis_event
from tests.aws_server import REGION, MotoServer, unique_name
from tests.cli.test_cli import run
from tests.conftest import TEST_KEY
from tests.samples import CHECKSUM_OK, CHECKSUM_OK_LATER, OBJECT_LOG, sample_envelope
from tests.terminal_helpers import HOSTILE_TOKEN, HOSTILE_TOKEN_SHOWN, raw_controls

TZ = "America/Los_Angeles"
DAYS = "30"  # the deployment's PROV_ACCESS_EVENT_DAYS
ACCESS_LINE = (
    b'203.0.113.7 - - [01/Mar/2026:10:00:00 -0800] "GET /file/druid:bj102hs9687/a.pdf '
    b'HTTP/1.1" 200 1024 "-" "curl/8.0"'
)


def _records_data() -> list[bytes]:
    """What producers put: `prov ship` envelopes (gzip and plain), an access log envelope (a
    pseudonymised client) and raw lines, one of them not a log line (quarantined)."""
    lines = OBJECT_LOG.encode().splitlines()
    return [
        encode(sample_envelope(lines[:4])),
        encode(sample_envelope(lines[4:], first_line=5), compress=False),
        encode(sample_envelope([ACCESS_LINE], source="clf", service="stacks", host="stacks-a")),
        f"not a log line at all\n{CHECKSUM_OK}\n".encode(),
        f"{CHECKSUM_OK_LATER}\n".encode(),
    ]


@dataclass
class Deployment:
    """A stream with records, its failure queue and the event table, on the moto server."""

    moto: MotoServer
    stream: str
    stream_arn: str
    shard_id: str
    sequences: list[str]
    queue_url: str
    table: str

    @property
    def store_url(self) -> str:
        return self.moto.dynamodb_url(self.table)

    @property
    def sqs(self) -> Any:
        return boto3.client("sqs", region_name=REGION, endpoint_url=self.moto.endpoint_url)

    def fail(self, first: int, last: int, **overrides: Any) -> None:
        """Send the failure record Lambda sends for the batch of records `first`..`last`."""
        info = {
            "shardId": self.shard_id,
            "startSequenceNumber": self.sequences[first],
            "endSequenceNumber": self.sequences[last],
            "approximateArrivalOfFirstRecord": "2026-03-01T18:14:05.223Z",
            "approximateArrivalOfLastRecord": "2026-03-01T18:14:06.580Z",
            "batchSize": last - first + 1,
            "streamArn": self.stream_arn,
            **overrides,
        }
        self.send(json.dumps(failure_record(KINESIS_INFO, info)))

    def send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def bodies(self) -> list[str]:
        """The messages in the queue now (visible ones), left there."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [message["Body"] for message in response.get("Messages", [])]

    def clients(self) -> AwsClients:
        return AwsClients(self.queue_url, endpoint_url=self.moto.endpoint_url)


def failure_record(kind: str, info: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda's on-failure invocation record for a stream event source (AWS docs' shape)."""
    return {
        "requestContext": {
            "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
            "functionArn": f"arn:aws:lambda:{REGION}:123456789012:function:prov-ingest",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": "2026-03-01T18:20:06.021Z",
        kind: dict(info),
    }


@pytest.fixture
def deployment(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    stream, queue, table = unique_name("logs"), unique_name("failures"), unique_name("events")
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=moto.endpoint_url)
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    description = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    shard_id = description["Shards"][0]["ShardId"]
    sequences = [
        kinesis.put_record(StreamName=stream, Data=data, PartitionKey="pres-01")["SequenceNumber"]
        for data in _records_data()
    ]
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto.endpoint_url)
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    create_table(table, region=REGION, endpoint_url=moto.endpoint_url)
    monkeypatch.setenv("PROV_TZ", TZ)
    # The function's setting (the reference handler reads it); the operator's shell has none.
    monkeypatch.setenv("PROV_ACCESS_EVENT_DAYS", DAYS)
    yield Deployment(moto, stream, description["StreamARN"], shard_id, sequences, queue_url, table)
    kinesis.delete_stream(StreamName=stream)
    sqs.delete_queue(QueueUrl=queue_url)
    boto3.client("dynamodb", region_name=REGION, endpoint_url=moto.endpoint_url).delete_table(
        TableName=table
    )


def _run(deployment: Deployment, *, dry_run: bool = False, clients: AwsClients | None = None):
    options = RedriveOptions(deployment.queue_url, dry_run=dry_run, wait_seconds=0)
    with open_store(deployment.store_url, create=False) as store:
        return redrive(
            store,
            options,
            ingest_options(tz=TZ, access_event_days=DAYS),
            clients or deployment.clients(),
        )


def _stored(url: str) -> dict[str, tuple[Any, ...]]:
    """Every event by id, with what the ingest wrote (not when it read it: `recorded_at`, and
    the time of a quarantined line, which has none of its own)."""
    with open_store(url, create=False) as store:
        events = {}
        for record in store.read_all():
            payload = json.loads(record.payload)
            payload.pop("recorded_at")
            occurred_at: Any = record.occurred_at
            if record.type == "LineQuarantined":
                occurred_at = payload.pop("occurred_at")[:10]
            events[record.event_id] = (
                record.stream,
                record.type,
                occurred_at,
                record.expires_at,
                payload,
            )
    return events


def _as_the_ingest_function_stores(deployment: Deployment, first: int, last: int) -> dict:
    """The events the ingest handler stores for the same records, in a table of their own."""
    table = unique_name("reference")
    create_table(table, region=REGION, endpoint_url=deployment.moto.endpoint_url)
    url = deployment.moto.dynamodb_url(table)
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=deployment.moto.endpoint_url)
    iterator = kinesis.get_shard_iterator(
        StreamName=deployment.stream,
        ShardId=deployment.shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=deployment.sequences[first],
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=last - first + 1)["Records"]
    assert [r["SequenceNumber"] for r in records] == deployment.sequences[first : last + 1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROV_STORE", url)
        response = handlers.ingest.handler(
            kinesis_event(deployment.stream_arn, deployment.shard_id, records), LambdaContext()
        )
    assert response == {"batchItemFailures": []}
    stored = _stored(url)
    dynamodb = boto3.client(
        "dynamodb", region_name=REGION, endpoint_url=deployment.moto.endpoint_url
    )
    dynamodb.delete_table(TableName=table)
    return stored


# --- failure records ---------------------------------------------------------------------------


def test_a_kinesis_failure_record_names_its_batch() -> None:
    body = json.dumps(
        failure_record(
            KINESIS_INFO,
            {
                "shardId": "shardId-000000000001",
                "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
                "endSequenceNumber": "49601189658422359378836298522902373528957594348623495186",
                "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
                "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z",
                "batchSize": 500,
                "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/prov-logs",
            },
        )
    )
    batch = parse_failure(body)
    assert (batch.kind, batch.stream_name, batch.region, batch.shard_id, batch.size) == (
        KINESIS_INFO,
        "prov-logs",
        "us-east-2",
        "shardId-000000000001",
        500,
    )
    assert batch.start.startswith("4960118965842235937883629852182")
    assert batch.condition == "RetryAttemptsExhausted"
    assert batch.describe().startswith("prov-logs shardId-000000000001 4960")
    assert batch.describe().endswith("(RetryAttemptsExhausted, 500 records)")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"hello": "world"}', "no KinesisBatchInfo (keys: hello)"),
        ('{"KinesisBatchInfo": "x"}', "KinesisBatchInfo is not an object"),
        ('{"KinesisBatchInfo": {"shardId": "s"}}', "streamArn is missing"),
        (
            '{"KinesisBatchInfo": {"shardId": "s", "streamArn": "arn:aws:kinesis:us-east-1:'
            '123456789012:stream/x", "startSequenceNumber": "+5", "endSequenceNumber": "6"}}',
            "startSequenceNumber is not a sequence number",
        ),
        (
            '{"KinesisBatchInfo": {"shardId": "s", "streamArn": "arn:aws:kinesis:us-east-1:'
            '123456789012:stream/x", "startSequenceNumber": "7", "endSequenceNumber": "6"}}',
            "endSequenceNumber is before startSequenceNumber",
        ),
        (
            '{"KinesisBatchInfo": {"shardId": "s", "streamArn": "prov-logs", '
            '"startSequenceNumber": "5", "endSequenceNumber": "6"}}',
            "streamArn is not a Kinesis stream ARN",
        ),
    ],
)
def test_a_body_that_is_not_a_failure_record_says_why(body: str, says: str) -> None:
    with pytest.raises(MalformedMessageError, match=re.escape(says)):
        parse_failure(body)


def test_the_queue_url_names_the_region() -> None:
    assert queue_region("https://sqs.eu-west-1.amazonaws.com/123456789012/q") == "eu-west-1"
    assert queue_region("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q") == "cn-north-1"
    assert queue_region("https://us-gov-west-1.queue.amazonaws.com/1/q") == "us-gov-west-1"
    assert queue_region("http://127.0.0.1:5000/123456789012/q") is None


# --- redriving ---------------------------------------------------------------------------------


def test_redriven_records_become_the_events_the_ingest_function_stores(
    deployment: Deployment,
) -> None:
    deployment.fail(0, 1)
    deployment.fail(2, 4)
    report = _run(deployment)

    assert [result.outcome for result in report.messages] == [REDRIVEN, REDRIVEN]
    assert all(result.deleted for result in report.messages)
    assert report.ok and report.records == 5
    assert deployment.bodies() == []
    stored = _stored(deployment.store_url)
    assert stored == _as_the_ingest_function_stores(deployment, 0, 4)
    totals = report.as_json()["totals"]
    # Every stored record is a new event or the record of the quarantined line.
    assert totals["events"] + report.ingest.quarantine_records == len(stored) == 12
    assert totals["duplicates"] == 0
    assert totals["quarantined"] == 1  # "not a log line at all"
    # The pseudonym is the deployment key's (what the handler made with it, compared above).
    assert any(event[1] == "ServiceAccessed" for event in stored.values())


def test_compressed_and_marked_records_are_redriven_as_the_function_reads_them(
    deployment: Deployment,
) -> None:
    """Issue 11: bzip2 and xz records, a byte-order mark, a line that is not UTF-8."""
    mismatch = (
        b"E, [2026-03-01T22:14:06.000000 #4711] ERROR -- : validate_checksums(bj102hs9687, "
        b"fixture_sr3) checksums or size for /sdr/caf\xe9.pdf version 1 do not match entry in "
        b"latest signatureCatalog.xml."
    )
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=deployment.moto.endpoint_url)
    first = len(deployment.sequences)
    for data in (
        bz2.compress(b"\xef\xbb\xbf" + CHECKSUM_OK.encode() + b"\n" + mismatch + b"\n"),
        lzma.compress(f"{CHECKSUM_OK_LATER}\n".encode()),
    ):
        put = kinesis.put_record(StreamName=deployment.stream, Data=data, PartitionKey="pres-01")
        deployment.sequences.append(put["SequenceNumber"])
    deployment.fail(first, first + 1)
    report = _run(deployment)
    assert [result.outcome for result in report.messages] == [REDRIVEN]
    stored = _stored(deployment.store_url)
    assert stored == _as_the_ingest_function_stores(deployment, first, first + 1)
    assert (report.ingest.lines, report.ingest.events, report.ingest.quarantined) == (3, 3, 0)
    paths = [event[4].get("file_path") for event in stored.values() if event[1] == "FixityChecked"]
    assert "/sdr/caf\\xe9.pdf" in paths


def test_a_range_redriven_again_adds_duplicates_only(deployment: Deployment) -> None:
    deployment.fail(0, 4)
    first = _run(deployment)
    stored = _stored(deployment.store_url)
    deployment.fail(0, 4)
    second = _run(deployment)

    (result,) = second.messages
    assert result.outcome == REDRIVEN and result.deleted
    assert result.report.events == 0
    assert result.report.duplicates == first.messages[0].report.events > 0
    assert _stored(deployment.store_url) == stored
    assert deployment.bodies() == []


def test_a_batch_the_function_stored_in_part_gets_the_rest(deployment: Deployment) -> None:
    """The function stored the first records before the store went away: the same ids."""
    reference = _as_the_ingest_function_stores(deployment, 0, 4)
    deployment.fail(0, 1)
    _run(deployment)
    deployment.fail(0, 4)
    report = _run(deployment)

    (result,) = report.messages
    assert result.report.duplicates > 0 and result.report.events > 0
    assert _stored(deployment.store_url) == reference


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        # The range's first record is gone (past the stream's retention): the iterator starts
        # at a later record. What is still there is ingested, the message is kept.
        (
            {"startSequenceNumber": "0"},
            "the range's first record is no longer in the stream (the stream starts at",
        ),
        # Nothing of the range is left.
        (
            {"startSequenceNumber": "900", "endSequenceNumber": "905"},
            "the range's first record is no longer in the stream (nothing of the range is left)",
        ),
        ({"shardId": "shardId-000000000007"}, "the stream or shard is gone"),
    ],
)
def test_records_no_longer_in_the_stream_keep_the_message(
    deployment: Deployment, overrides: dict[str, str], says: str
) -> None:
    deployment.fail(0, 2, **overrides)
    report = _run(deployment)

    (result,) = report.messages
    assert result.outcome == EXPIRED
    assert not result.deleted and not report.ok
    assert says in result.detail
    assert result.line().startswith("kept ")
    assert f"[message {result.message_id}]" in result.line()
    assert len(deployment.bodies()) == 1  # kept, and visible again at once
    if overrides.get("startSequenceNumber") == "0":
        assert "ingested what is still there: 3 records" in result.detail
        assert result.records == 3
        assert set(_stored(deployment.store_url)) == set(
            _as_the_ingest_function_stores(deployment, 0, 2)
        )
    else:
        assert result.records == 0
        assert _stored(deployment.store_url) == {}


def test_a_dry_run_reads_but_stores_and_deletes_nothing(deployment: Deployment) -> None:
    deployment.fail(0, 1)
    deployment.fail(3, 4, startSequenceNumber="900", endSequenceNumber="901")
    report = _run(deployment, dry_run=True)

    assert [result.outcome for result in report.messages] == [WOULD_REDRIVE, EXPIRED]
    assert report.messages[0].records == 2
    assert report.messages[0].line(dry_run=True).startswith("would delete ")
    assert report.messages[1].line(dry_run=True).startswith("would keep ")
    assert "2 records" in report.messages[0].detail
    assert _stored(deployment.store_url) == {}
    assert len(deployment.bodies()) == 2
    assert report.summary()[0] == (
        "2 messages: 1 would be redriven and deleted, 1 would be kept (1 expired)"
    )


def test_malformed_and_projector_messages_are_kept_and_said(deployment: Deployment) -> None:
    deployment.send("this is not a failure record")
    projector = failure_record(
        DYNAMODB_INFO,
        {
            "shardId": "shardId-00000001700000000000-abcdef12",
            "startSequenceNumber": "100",
            "endSequenceNumber": "200",
            "batchSize": 4,
            "streamArn": f"arn:aws:dynamodb:{REGION}:123456789012:table/events/stream/2026",
        },
    )
    deployment.send(json.dumps(projector))
    deployment.fail(0, 4)
    report = _run(deployment)

    outcomes = {result.outcome: result for result in report.messages}
    assert set(outcomes) == {MALFORMED, PROJECTOR, REDRIVEN}
    assert outcomes[MALFORMED].detail == "malformed: the body is not JSON"
    assert "run `prov rebuild` after fixing the cause" in outcomes[PROJECTOR].detail
    assert (
        outcomes[PROJECTOR]
        .line()
        .startswith("kept         table events shardId-00000001700000000000-abcdef12 100..200 ")
    )
    assert sorted(deployment.bodies()) == sorted(
        ["this is not a failure record", json.dumps(projector)]
    )


def test_a_store_failure_stops_the_run_and_keeps_the_messages(
    deployment: Deployment, tmp_path: Path
) -> None:
    deployment.fail(0, 1)
    deployment.fail(2, 4)
    with SQLiteEventStore(tmp_path / "events.db") as store:

        def refuse(records: Any) -> Any:
            raise StoreUnavailableError("cannot write the event store: table being restored")

        store.append = refuse  # type: ignore[method-assign]
        report = redrive(
            store,
            RedriveOptions(deployment.queue_url, wait_seconds=0),
            ingest_options(tz=TZ, access_event_days=DAYS),
            deployment.clients(),
        )

    (result,) = report.messages  # the second message was not taken
    assert result.outcome == STORE_FAILED and not result.deleted
    assert report.stopped is not None and "table being restored" in report.stopped
    assert len(deployment.bodies()) == 2


class _ExpiringIterators:
    """A Kinesis client whose first GetRecords answers that the iterator expired (a slow
    store outlasted its 5 minutes)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.expired = 0
        self.iterator_types: list[str] = []

    def get_shard_iterator(self, **kwargs: Any) -> Any:
        self.iterator_types.append(kwargs["ShardIteratorType"])
        return self.client.get_shard_iterator(**kwargs)

    def get_records(self, **kwargs: Any) -> Any:
        if self.expired == 0:
            self.expired += 1
            raise ClientError(
                {"Error": {"Code": "ExpiredIteratorException", "Message": "Iterator expired"}},
                "GetRecords",
            )
        return self.client.get_records(**kwargs)


def test_an_expired_iterator_is_renewed(deployment: Deployment) -> None:
    deployment.fail(0, 4)
    clients = deployment.clients()
    wrapper = _ExpiringIterators(clients.kinesis(REGION))
    clients._kinesis[REGION] = wrapper
    report = _run(deployment, clients=clients)

    assert report.ok and report.records == 5
    assert wrapper.expired == 1
    assert wrapper.iterator_types == ["AT_SEQUENCE_NUMBER", "AT_SEQUENCE_NUMBER"]


def test_the_options_are_the_deployments_or_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROV_TZ", raising=False)
    with pytest.raises(DeploymentSettingsError, match="give --tz"):
        ingest_options(tz=None, access_event_days=DAYS)
    with pytest.raises(DeploymentSettingsError, match="give --access-event-days DAYS or never"):
        ingest_options(tz=TZ)
    monkeypatch.delenv("PROV_PSEUDONYM_KEY")
    with pytest.raises(DeploymentSettingsError, match="no pseudonym key: give the deployment's"):
        ingest_options(tz=TZ, access_event_days=DAYS)
    # Never the machine's own key file, even when there is one.
    options = ingest_options(
        tz=TZ, environ={"PROV_PSEUDONYM_KEY": TEST_KEY, "PROV_ACCESS_EVENT_DAYS": DAYS}
    )
    assert options.access_policy is not None
    assert options.access_policy.retention_days == int(DAYS)
    assert str(options.tz) == TZ


@pytest.mark.parametrize(
    ("given", "in_env", "retention"),
    [("30", None, 30), ("never", None, None), (None, "365", 365), ("7", "365", 7)],
)
def test_the_access_event_retention_is_the_deployments(
    monkeypatch: pytest.MonkeyPatch, given: str | None, in_env: str | None, retention: int | None
) -> None:
    if in_env is not None:
        monkeypatch.setenv("PROV_ACCESS_EVENT_DAYS", in_env)
    options = ingest_options(tz=TZ, access_event_days=given)
    assert options.access_policy is not None
    assert options.access_policy.retention_days == retention


def test_a_retention_that_is_no_number_of_days_is_an_error() -> None:
    with pytest.raises(AccessPolicyError, match="whole number of days from 1 to 36525, or never"):
        ingest_options(tz=TZ, access_event_days="0")


def test_the_operators_own_policy_file_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = Path(os.environ["XDG_CONFIG_HOME"]) / "sdr-provenance" / "access-policy.toml"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("[clients]\nshow_addresses = true\n[retention]\naccess_event_days = 7\n")
    options = ingest_options(tz=TZ, access_event_days=DAYS)
    assert options.access_policy is not None
    assert not options.access_policy.show_addresses
    assert options.access_policy.retention_days == int(DAYS)

    # The deployment's policy is read when asked for, by path or by PROV_ACCESS_POLICY.
    deployments = tmp_path / "deployment-policy.toml"
    deployments.write_text("[clients]\nshow_addresses = true\n")
    for path in (deployments, None):
        options = ingest_options(tz=TZ, access_event_days=DAYS, policy_path=path)
        assert options.access_policy is not None
        assert options.access_policy.show_addresses == (path is not None)
    monkeypatch.setenv("PROV_ACCESS_POLICY", str(deployments))
    options = ingest_options(tz=TZ, access_event_days=DAYS)
    assert options.access_policy is not None and options.access_policy.show_addresses


# --- the command -------------------------------------------------------------------------------


def _cli(deployment: Deployment, capsys, *args: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "redrive",
        "--queue",
        deployment.queue_url,
        "--store",
        deployment.store_url,
        "--endpoint-url",
        deployment.moto.endpoint_url,
        "--wait",
        "0",
        *args,
    )


def test_the_command_redrives_and_exits_0(deployment: Deployment, capsys) -> None:
    deployment.fail(0, 4)
    code, out, err = _cli(deployment, capsys)

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(
        f"deleted      {deployment.stream} {deployment.shard_id} "
        f"{deployment.sequences[0]}..{deployment.sequences[4]} (RetryAttemptsExhausted, "
        "5 records): 5 records, "
    )
    assert lines[1] == "1 message: 1 redriven and deleted"
    assert lines[2].startswith("5 records, ")
    assert lines[2].endswith("0 already stored, 0 ignored, 1 quarantined")
    code, out, err = _cli(deployment, capsys)
    assert (code, out.strip(), err) == (0, f"no messages in {deployment.queue_url}", "")


def test_the_command_exits_1_when_messages_are_kept(deployment: Deployment, capsys) -> None:
    deployment.send('{"not": "a failure"}')
    deployment.fail(0, 4)
    code, out, err = _cli(deployment, capsys, "--format", "json")

    assert code == 1
    document = json.loads(out)
    assert document["totals"]["kept"] == 1
    assert document["totals"]["redriven"] == 1
    assert document["totals"]["kept_by_outcome"] == {MALFORMED: 1}
    assert err == "prov: error: 1 of 2 messages kept in the queue (their lines say why)\n"


def test_the_lines_quote_a_hostile_message_visibly(deployment: Deployment, capsys) -> None:
    deployment.send(json.dumps({f"hello{HOSTILE_TOKEN}": "world"}))
    code, out, err = _cli(deployment, capsys)

    assert code == 1
    assert f"no KinesisBatchInfo (keys: hello{HOSTILE_TOKEN_SHOWN})" in out
    assert raw_controls(out) == [] and raw_controls(err) == []


def test_a_dry_run_of_the_command(deployment: Deployment, capsys) -> None:
    deployment.fail(0, 4)
    code, out, err = _cli(deployment, capsys, "--dry-run")

    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "dry run: nothing is stored or deleted"
    assert out.splitlines()[1].startswith("would delete ")
    assert "5 records (" in out and "bytes) would be ingested" in out
    assert len(deployment.bodies()) == 1
    assert _stored(deployment.store_url) == {}


def test_the_command_stores_access_events_as_the_function_whatever_the_operators_setup(
    deployment: Deployment, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither the operator's shell (no PROV_ACCESS_EVENT_DAYS) nor their own access policy
    (raw addresses, another retention) changes what is stored: the events the function would
    have stored, expiry included, which cannot be fixed once their ids exist."""
    monkeypatch.delenv("PROV_ACCESS_EVENT_DAYS")
    own = Path(os.environ["XDG_CONFIG_HOME"]) / "sdr-provenance" / "access-policy.toml"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("[clients]\nshow_addresses = true\n[retention]\naccess_event_days = 7\n")
    deployment.fail(0, 4)
    code, out, err = _cli(deployment, capsys)
    assert (code, out) == (1, "")
    assert err == (
        "prov: error: give --access-event-days DAYS or never (or PROV_ACCESS_EVENT_DAYS): when "
        "the ingest function lets access events expire (the deployment's "
        "access_event_expiry_days, its PROV_ACCESS_EVENT_DAYS)\n"
    )
    assert len(deployment.bodies()) == 1  # nothing taken

    code, _, err = _cli(deployment, capsys, "--access-event-days", DAYS)
    assert (code, err) == (0, "")
    stored = _stored(deployment.store_url)
    own.unlink()  # the function has no such file
    monkeypatch.setenv("PROV_ACCESS_EVENT_DAYS", DAYS)  # the function's setting
    assert stored == _as_the_ingest_function_stores(deployment, 0, 4)
    (access,) = [event for event in stored.values() if event[1] == "ServiceAccessed"]
    assert access[3] is not None  # it expires
    assert access[4]["client_id"].startswith("anon:")


def _iam_actions(operation: str, params: Mapping[str, Any]) -> set[str]:
    """The IAM actions a DynamoDB call is authorised by (tests/cdk/test_permissions.py)."""
    if operation == "TransactWriteItems":
        kinds = {kind for item in params["TransactItems"] for kind in item}
        return {f"dynamodb:{kind}Item" for kind in kinds}  # Put -> PutItem, ...
    if operation == "TransactGetItems":
        return {"dynamodb:GetItem"}
    return {f"dynamodb:{operation}"}


def test_the_command_needs_only_the_ingest_functions_table_actions(
    deployment: Deployment, capsys
) -> None:
    """What the README says redrive needs on the table: the ingest role's actions. Every
    DynamoDB call of the command (pre-flight check, a dry run, new events, duplicates) is
    recorded by a hook on boto3's default session, which the store's client is made from."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from cdk.permissions import TABLE_ACTIONS  # imported here: aws_cdk, for this test only

    needed: set[str] = set()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        needed.update(_iam_actions(model.name, params))

    session = boto3._get_default_session()
    session.events.register("provide-client-params.dynamodb.*", record)
    try:
        deployment.fail(0, 4)
        assert _cli(deployment, capsys, "--dry-run")[0] == 0
        assert _cli(deployment, capsys)[0] == 0  # new events, a quarantined line
        deployment.fail(0, 4)
        assert _cli(deployment, capsys)[0] == 0  # duplicates only
    finally:
        session.events.unregister("provide-client-params.dynamodb.*", record)

    assert {"dynamodb:BatchGetItem", "dynamodb:PutItem"} <= needed  # the calls were seen
    assert needed <= set(TABLE_ACTIONS["ingest"]), needed - set(TABLE_ACTIONS["ingest"])


def test_the_key_may_come_from_the_deployments_secret(
    deployment: Deployment, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = boto3.client(
        "secretsmanager", region_name=REGION, endpoint_url=deployment.moto.endpoint_url
    )
    arn = secrets.create_secret(Name=unique_name("pseudonym-key"), SecretString=TEST_KEY)["ARN"]
    deployment.fail(0, 4)
    code, _, err = _cli(deployment, capsys, "--pseudonym-key-secret", arn)
    assert code == 1
    assert "give the key one way only" in err  # PROV_PSEUDONYM_KEY is set too

    monkeypatch.delenv("PROV_PSEUDONYM_KEY")
    code, _, err = _cli(deployment, capsys, "--pseudonym-key-secret", arn)
    assert (code, err) == (0, "")
    monkeypatch.setenv("PROV_PSEUDONYM_KEY", TEST_KEY)  # the handler's key, as the secret's
    assert _stored(deployment.store_url) == _as_the_ingest_function_stores(deployment, 0, 4)


def test_botocores_endpoint_variable_works_too(
    deployment: Deployment, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", deployment.moto.endpoint_url)
    deployment.fail(0, 1)
    code, out, err = run(
        capsys, "redrive", "--queue", deployment.queue_url, "--wait", "0",
        "--store", f"dynamodb://{deployment.table}?region={REGION}",
    )  # fmt: skip
    assert (code, err) == (0, ""), out


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"--queue": "{queue}-missing"}, "prov: error: no queue "),
        ({"--store": "missing"}, "the table does not exist"),
        ({"--tz": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
    ],
)
def test_the_command_fails_in_one_line_and_takes_nothing(
    deployment: Deployment, capsys, change: dict[str, str], says: str
) -> None:
    deployment.fail(0, 4)
    options = {"--queue": deployment.queue_url, "--store": deployment.store_url}
    for option, value in change.items():
        options[option] = (
            deployment.moto.dynamodb_url(unique_name(value))
            if option == "--store"
            else value.format(queue=deployment.queue_url)
        )
    code, out, err = run(
        capsys, "redrive", *[part for pair in options.items() for part in pair],
        "--endpoint-url", deployment.moto.endpoint_url, "--wait", "0",
    )  # fmt: skip
    assert (code, out) == (1, "")
    assert err.startswith("prov: error: ") and says in err
    assert len(err.splitlines()) == 1
    assert len(deployment.bodies()) == 1
