"""The AWS runtime end to end, over the wire: `prov ship` -> Kinesis -> the ingest handler ->
DynamoDB -> the table's stream -> the projector handler -> the API handler, all against a moto
server on 127.0.0.1, compared with the embedded path reading the same files.

The handlers are driven by pollers that read the real streams and build real-shaped Lambda
events (tests/aws_lambda.py). Faults are injected in the same setting: a poison record,
redelivered batches, throttled writes, and a shipper killed mid-file and restarted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.config import Config
from click.testing import CliRunner
from lxml import etree

import handlers.api
import handlers.container
import handlers.ingest
import handlers.projector
from eventstore import EventStore, SQLiteEventStore, open_store
from eventstore.dynamodb import DynamoDBEventStore
from premis.schema import load_schema
from provenance.access.report import ReportQuery, access_report
from provenance.cli.demo.world import DemoData, generate
from provenance.cli.main import cli
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.query.fleet import FleetQuery, fleet_objects, fleet_report
from provenance.query.views import event_view, object_history, object_state_view
from tests.aws_lambda import KinesisPoller, LambdaContext, TableStreamPoller, http_event
from tests.aws_server import REGION, MotoServer, Throttle, unique_name

TZ = "America/Los_Angeles"
HOST = "sul-demo-01"


@dataclass
class Pipeline:
    """One deployment's worth of resources on the moto server, and the files it was fed."""

    moto: MotoServer
    table: str
    stream: str
    store_url: str
    state: Path
    data: DemoData
    tmp: Path

    def ship(self, *paths_and_options: str) -> dict[str, Any]:
        result = CliRunner().invoke(
            cli,
            [
                "ship",
                *paths_and_options,
                "--stream",
                self.stream,
                "--host",
                HOST,
                "--endpoint-url",
                self.moto.endpoint_url,
                "--region",
                REGION,
                "--state",
                str(self.state),
                "--tz",
                TZ,
                "--once",
                "--idle-flush",  # finished logs: read to their ends, every entry finished
                "0",
                "--format",
                "json",
            ],
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)  # type: ignore[no-any-return]

    def ingest_all(self, poller: KinesisPoller) -> list[dict[str, Any]]:
        return [handlers.ingest.handler(batch, LambdaContext()) for batch in poller.batches()]

    def project_all(self, poller: TableStreamPoller) -> list[dict[str, Any]]:
        return [handlers.projector.handler(batch, LambdaContext()) for batch in poller.batches()]


@pytest.fixture
def pipeline(
    moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    table, stream = unique_name("events"), unique_name("logs")
    url = moto.dynamodb_url(table)
    result = CliRunner().invoke(cli, ["init", "--store", url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"created table {table}")
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=moto.endpoint_url)
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    # The Lambda functions' configuration.
    monkeypatch.setenv("PROV_STORE", url)
    monkeypatch.setenv("PROV_TZ", TZ)
    handlers.container.close()  # every function starts cold
    data = generate(tmp_path / "demo", objects=3, days=5, tz=TZ)
    yield Pipeline(moto, table, stream, url, tmp_path / "ship.db", data, tmp_path)
    handlers.container.close()
    kinesis.delete_stream(StreamName=stream)
    boto3.client("dynamodb", region_name=REGION, endpoint_url=moto.endpoint_url).delete_table(
        TableName=table
    )


def _embedded(data: DemoData, path: Path) -> SQLiteEventStore:
    """The same files through `prov ingest`'s path, into an SQLite store."""
    store = SQLiteEventStore(path)
    for file in data.files:
        options = IngestOptions(
            source=file.source, origin=HOST, service=file.service, tz=ZoneInfo(TZ)
        )
        with file.path.open("rb") as stream:
            ingest_stream(store, stream, str(file.path), options)
    return store


def _history(store: EventStore, druid: str) -> list[dict[str, Any]]:
    # recorded_at says when each path read the line: the only field allowed to differ.
    return [
        {key: value for key, value in event_view(record).items() if key != "recorded_at"}
        for record in store.read_stream(druid)
    ]


def _api(path: str, accept: str | None = None, query: str = "") -> dict[str, Any]:
    event = http_event(path, dict(parse_qsl(query)), {"accept": accept} if accept else None)
    return handlers.api.handler(event, LambdaContext())  # type: ignore[no-any-return]


def test_shipped_logs_give_the_embedded_history_state_counts_and_premis(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    data = pipeline.data
    shipped_lines = 0
    for file in data.files:
        options = ["--source", file.source] + (["--service", file.service] if file.service else [])
        report = pipeline.ship(str(file.path), *options)
        shipped_lines += report["lines"]
    assert shipped_lines == sum(file.lines for file in data.files)

    responses = pipeline.ingest_all(KinesisPoller(pipeline.moto.endpoint_url, pipeline.stream))
    assert responses and all(r == {"batchItemFailures": []} for r in responses)
    projected = pipeline.project_all(TableStreamPoller(pipeline.moto.endpoint_url, pipeline.table))
    assert projected and all(r == {"batchItemFailures": []} for r in projected)

    embedded = _embedded(data, tmp_path / "embedded.db")
    aws = open_store(pipeline.store_url)
    assert isinstance(aws, DynamoDBEventStore)
    for druid in data.druids:
        assert _history(aws, druid) == _history(embedded, druid), druid
        assert object_state_view(aws, druid) == object_state_view(embedded, druid), druid
    every_event = sorted(record.event_id for record in embedded.read_all())
    assert sorted(record.event_id for record in aws.read_all()) == every_event
    query = ReportQuery(by=("service", "agent", "status_class"), tz=ZoneInfo(TZ))
    assert access_report(aws, query) == access_report(embedded, query)

    featured = data.featured
    response = _api(f"/objects/{featured}/premis")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("application/xml")
    document = etree.fromstring(response["body"].encode())
    schema = load_schema()
    assert schema.validate(document), schema.error_log
    events = json.loads(_api(f"/objects/{featured}/events", query="limit=1000")["body"])
    # One entry per action, the notifications repeating it inside, as the embedded history.
    assert [
        (e["event_id"], [n["event_id"] for n in e["also_reported_by"]]) for e in events["events"]
    ] == [
        (e["event_id"], [n["event_id"] for n in e["also_reported_by"]])
        for e in object_history(embedded, featured)
    ]

    # Lambda delivers again: every Kinesis batch and every table-stream batch, from the start.
    before = len(every_event)
    again = pipeline.ingest_all(KinesisPoller(pipeline.moto.endpoint_url, pipeline.stream))
    assert all(r == {"batchItemFailures": []} for r in again)
    assert sum(1 for _ in aws.read_all()) == before
    new_changes = pipeline.project_all(
        TableStreamPoller(pipeline.moto.endpoint_url, pipeline.table)
    )
    assert all(r == {"batchItemFailures": []} for r in new_changes)
    for druid in data.druids:
        assert object_state_view(aws, druid) == object_state_view(embedded, druid), druid
    assert access_report(aws, query) == access_report(embedded, query)
    # The fleet's indexes and totals, kept by the stream's projector exactly once.
    assert fleet_report(aws) == fleet_report(embedded)
    for fleet_query in (FleetQuery(failing=True, limit=3), FleetQuery(limit=7)):
        assert fleet_objects(aws, fleet_query) == fleet_objects(embedded, fleet_query)
    aws.close()
    embedded.close()


def test_a_poison_record_is_quarantined_and_the_batch_succeeds(pipeline: Pipeline) -> None:
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=pipeline.moto.endpoint_url)
    kinesis.put_record(StreamName=pipeline.stream, Data=b"\x1f\x8b\x08 not gzip", PartitionKey="x")
    kinesis.put_record(
        StreamName=pipeline.stream, Data=b'{"prov_envelope": 1, "lines": 3}', PartitionKey="x"
    )

    responses = pipeline.ingest_all(KinesisPoller(pipeline.moto.endpoint_url, pipeline.stream))

    assert responses == [{"batchItemFailures": []}] * len(responses)
    result = CliRunner().invoke(
        cli, ["quarantine", "--store", pipeline.store_url, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 2


def test_throttled_store_writes_are_retried_and_nothing_is_lost(pipeline: Pipeline) -> None:
    file = next(f for f in pipeline.data.files if f.source == "clf")
    pipeline.ship(str(file.path), "--source", "clf", "--service", "stacks")
    runtime_store = handlers.container.store()
    assert isinstance(runtime_store, DynamoDBEventStore)
    throttled = Throttle(times=3)
    runtime_store._client.meta.events.register(  # type: ignore[union-attr]
        "before-send.dynamodb.TransactWriteItems", throttled
    )

    responses = pipeline.ingest_all(KinesisPoller(pipeline.moto.endpoint_url, pipeline.stream))

    assert throttled.left == 0
    assert all(r == {"batchItemFailures": []} for r in responses)
    stored = sum(1 for _ in open_store(pipeline.store_url).read_all())
    assert stored == file.lines


def test_a_store_outage_reports_the_record_for_redelivery(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = next(f for f in pipeline.data.files if f.source == "lograge")
    pipeline.ship(str(file.path), "--source", "lograge", "--service", "sdr-api")
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=pipeline.moto.endpoint_url)
    kinesis.put_record(StreamName=pipeline.stream, Data=b"one raw line\n", PartitionKey="raw")
    runtime_store = handlers.container.store()
    assert isinstance(runtime_store, DynamoDBEventStore)
    # An outage: every write throttled. One attempt per call instead of botocore's ten, and
    # no backoff sleeps, so the test does not wait out the retries it is not about.
    client = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=pipeline.moto.endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    throttled = Throttle(times=10_000)
    # Events in transactions, bundles of access events in conditional puts.
    for operation in ("TransactWriteItems", "PutItem"):
        client.meta.events.register(f"before-send.dynamodb.{operation}", throttled)
    monkeypatch.setattr(runtime_store, "_client", client)
    monkeypatch.setattr(runtime_store, "_sleep", lambda seconds: None)
    poller = KinesisPoller(pipeline.moto.endpoint_url, pipeline.stream)
    batches = list(poller.batches())

    failed = []
    for batch in batches:
        try:
            failed += handlers.ingest.handler(batch, LambdaContext())["batchItemFailures"]
        except Exception:  # every record failed: Powertools fails the whole batch
            failed += [{"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in batch["Records"]]
    throttled.left = 0
    sent = [r["kinesis"]["sequenceNumber"] for b in batches for r in b["Records"]]
    assert sorted(f["itemIdentifier"] for f in failed) == sorted(sent)

    # Lambda delivers them again once the table answers: everything is stored once.
    for batch in batches:
        assert handlers.ingest.handler(batch, LambdaContext()) == {"batchItemFailures": []}
    assert sum(1 for _ in open_store(pipeline.store_url).read_all()) == file.lines + 1


def test_a_shipper_killed_mid_file_and_restarted_loses_and_duplicates_nothing(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "access_log"
    template = (
        '171.64.{a}.{b} - - [01/Mar/2026:10:{m:02d}:{s:02d} -0800] "GET /file/druid:bc123df4567/'
        'page{n}.jp2 HTTP/1.1" 200 {n} "-" "curl/8.4"\n'
    )
    lines = [
        template.format(a=n % 200, b=n % 7, m=(n // 60) % 60, s=n % 60, n=n % 400)
        for n in range(3000)
    ]
    log.write_text("".join(lines))
    command = [
        sys.executable,
        "-c",
        "from provenance.cli.main import main; main()",
        "ship",
        str(log),
        "--stream",
        pipeline.stream,
        "--source",
        "clf",
        "--service",
        "stacks",
        "--host",
        HOST,
        "--endpoint-url",
        pipeline.moto.endpoint_url,
        "--region",
        REGION,
        "--state",
        str(pipeline.state),
        "--once",
        "--record-bytes",
        "2048",
        "--call-records",
        "1",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    shipper = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=pipeline.moto.endpoint_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _records_in(kinesis, pipeline.stream) < 20:
        time.sleep(0.05)
    shipper.send_signal(signal.SIGKILL)
    shipper.wait(timeout=10)
    assert shipper.returncode == -signal.SIGKILL, "the shipper finished before it was killed"

    restarted = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
    assert restarted.returncode == 0, restarted.stderr.decode()

    responses = pipeline.ingest_all(KinesisPoller(pipeline.moto.endpoint_url, pipeline.stream))
    assert all(r == {"batchItemFailures": []} for r in responses)
    with SQLiteEventStore(tmp_path / "whole.db") as whole:
        options = IngestOptions(source="clf", origin=HOST, service="stacks", tz=ZoneInfo(TZ))
        with log.open("rb") as stream:
            ingest_stream(whole, stream, str(log), options)
        expected = sorted(record.event_id for record in whole.read_all())
    with open_store(pipeline.store_url) as aws:
        got = sorted(record.event_id for record in aws.read_all())
    assert len(expected) == 3000
    assert got == expected


def _records_in(kinesis: Any, stream: str) -> int:
    total = 0
    for shard in kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        total += len(kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"])
    return total
