"""The Kinesis ingest Lambda, driven with real-shaped Lambda events against an SQLite store
(and, for its pseudonym key, Secrets Manager on the moto server)."""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from click.testing import CliRunner

from eventstore import StoreUnavailableError, open_store
from eventstore.sqlite import SQLiteEventStore
from provenance.access.policy import AccessPolicy
from provenance.access.pseudonym_key import KEY_ENV
from provenance.access.rules import POLICY_ENV, RETENTION_ENV, AccessPolicyError
from provenance.aws.deployment import DeploymentSettingsError as ConfigurationError
from provenance.aws.pseudonym_secret import SECRET_ENV
from provenance.cli.demo.world import generate
from provenance.cli.main import cli
from provenance.domain.events import ServiceAccessed, load_event
from provenance.domain.identity import line_digest
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.records.envelope import Envelope, encode
from provenance.sources import create_source
from provenance.sources.base import SourceContext
from tests.aws_server import REGION, MotoServer, unique_name
from tests.cli.test_cli import run
from tests.conftest import LA, TEST_KEY
from tests.samples import CHECKSUM_OK, OBJECT_LOG, REPLICATED, sample_envelope

STREAM_ARN = "arn:aws:kinesis:us-west-2:123456789012:stream/prov-logs"
FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588898
CW_ID = 31953106606966983378809025079804211143289615424298221568


@dataclass(frozen=True)
class FakeContext:
    """What Powertools reads of the Lambda context."""

    function_name: str = "prov-ingest"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-west-2:123456789012:function:prov-ingest"
    aws_request_id: str = "6f1d8a52-0000-4000-8000-000000000000"


def kinesis_event(datas: list[bytes], first: int = FIRST_SEQUENCE) -> dict[str, Any]:
    """A Lambda event from a Kinesis event source mapping, one record per data, in order."""
    records = []
    for index, data in enumerate(datas):
        sequence = str(first + index)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": f"host-{index % 3}",
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(data).decode("ascii"),
                    "approximateArrivalTimestamp": 1772403245.223 + index,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/prov-ingest",
                "awsRegion": "us-west-2",
                "eventSourceARN": STREAM_ARN,
            }
        )
    return {"Records": records}


def sequence(index: int) -> str:
    return str(FIRST_SEQUENCE + index)


def cloudwatch(message_type: str, events: list[tuple[int, str]]) -> bytes:
    return gzip.compress(
        json.dumps(
            {
                "messageType": message_type,
                "owner": "123456789012",
                "logGroup": "/sdr/preservation-catalog" if events else "",
                "logStream": "i-0abc/audit.log" if events else "",
                "subscriptionFilters": ["to-kinesis"],
                "logEvents": [
                    {"id": str(event_id), "timestamp": 1772403245223, "message": message}
                    for event_id, message in events
                ],
            }
        ).encode(),
        mtime=0,
    )


CONTROL_MESSAGE = gzip.compress(
    json.dumps(
        {
            "messageType": "CONTROL_MESSAGE",
            "owner": "CloudwatchLogs",
            "logGroup": "",
            "logStream": "",
            "subscriptionFilters": [],
            "logEvents": [
                {
                    "id": "",
                    "timestamp": 1772403245223,
                    "message": (
                        "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."
                    ),
                }
            ],
        }
    ).encode(),
    mtime=0,
)


class _Stdout:
    """Whatever `sys.stdout` is when written to (pytest swaps it per test)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def lambda_store(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An existing SQLite store named by PROV_STORE, as the function's configuration; the
    function's log lines go to the test's stdout, as they go to Lambda's."""
    from handlers.ingest import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", _Stdout())
    url = f"sqlite:///{store_path}"
    open_store(url).close()
    monkeypatch.setenv("PROV_STORE", url)
    monkeypatch.setenv("PROV_TZ", "America/Los_Angeles")
    yield url


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    from handlers.ingest import handler

    response: dict[str, Any] = handler(event, FakeContext())
    return response


def output_documents(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def batch_logs(out: str) -> list[dict[str, Any]]:
    return [d for d in output_documents(out) if d.get("message") == "ingest batch"]


def emf(out: str, **dimensions: str) -> dict[str, Any]:
    """The EMF document whose dimension names and values are exactly `dimensions`."""
    for document in output_documents(out):
        if "_aws" not in document:
            continue
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        if set(directive["Dimensions"][0]) == set(dimensions) and all(
            document[k] == v for k, v in dimensions.items()
        ):
            return document
    raise AssertionError(f"no metrics with dimensions {dimensions}")


def event_ids(url: str) -> set[str]:
    with open_store(url) as store:
        return {record.event_id for record in store.read_all()}


# --- what a record may hold --------------------------------------------------------------------


def test_envelopes_gzip_and_plain_become_events(lambda_store: str, capsys) -> None:
    lines = OBJECT_LOG.encode().splitlines()
    first, second = sample_envelope(lines[:4]), sample_envelope(lines[4:], first_line=5)
    event = kinesis_event([encode(first), encode(second, compress=False)])

    assert invoke(event) == {"batchItemFailures": []}

    (log,) = batch_logs(capsys.readouterr().out)
    assert (log["records_by_kind"], log["lines"], log["events"]) == ({"envelope": 2}, 8, 8)
    with SQLiteEventStore(":memory:") as whole:
        ingest_stream(
            whole,
            io.BytesIO(OBJECT_LOG.encode()),
            "/var/log/audit.log",
            IngestOptions(tz=LA, origin="pres-01"),
        )
        assert event_ids(lambda_store) == {r.event_id for r in whole.read_all()}


def test_raw_text_records_are_read_line_by_line(lambda_store: str, capsys) -> None:
    event = kinesis_event([OBJECT_LOG.encode(), f"{CHECKSUM_OK}\r\n".encode()])
    assert invoke(event) == {"batchItemFailures": []}
    (log,) = batch_logs(capsys.readouterr().out)
    # The second record's line is in the first record too: identity is content + occurrence
    # within a record, so it counts once (documented; envelopes carry real counts).
    assert (log["records_by_kind"], log["lines"]) == ({"raw": 2}, 9)
    assert (log["events"], log["duplicates"]) == (8, 1)


def test_cloudwatch_data_is_read_and_control_messages_skipped(lambda_store: str, capsys) -> None:
    data = cloudwatch("DATA_MESSAGE", [(CW_ID, CHECKSUM_OK), (CW_ID + 1, CHECKSUM_OK)])
    assert invoke(kinesis_event([CONTROL_MESSAGE, data])) == {"batchItemFailures": []}
    out = capsys.readouterr().out
    (log,) = batch_logs(out)
    assert log["records_by_kind"] == {"cloudwatch": 1, "control": 1}
    # The same line in two log events really happened twice.
    assert (log["lines"], log["events"]) == (2, 2)
    metrics = emf(out, service="prov-ingest")
    assert (metrics["ControlMessages"], metrics["Records"], metrics["Lines"]) == (
        [1.0],
        [2.0],
        [2.0],
    )


def test_a_poison_record_is_quarantined_and_the_batch_succeeds(lambda_store: str, capsys) -> None:
    garbage = b"\x1f\x8b\x08\x00 definitely not gzip \xff"
    event = kinesis_event(
        [OBJECT_LOG.encode(), garbage, b'{"prov_envelope": 1}', REPLICATED.encode()]
    )

    assert invoke(event) == {"batchItemFailures": []}

    out = capsys.readouterr().out
    (log,) = batch_logs(out)
    assert log["records_by_kind"] == {"raw": 2, "undecodable": 2}
    assert (log["events"], log["quarantined"], log["failed_records"]) == (8, 2, 0)
    assert emf(out, service="prov-ingest")["UndecodableRecords"] == [2.0]
    # The poison is kept verbatim, where `prov quarantine` shows it.
    result = CliRunner().invoke(cli, ["quarantine", "--store", lambda_store, "--format", "json"])
    assert result.exit_code == 0, result.output
    kept = {base64.b64decode(item["raw_base64"]): item for item in json.loads(result.stdout)}
    assert set(kept) == {garbage, b'{"prov_envelope": 1}'}
    assert kept[garbage]["reason"].startswith("not valid gzip data")
    assert kept[garbage]["file"] == f"kinesis:prov-logs:{sequence(1)}"
    table = CliRunner().invoke(cli, ["quarantine", "--store", lambda_store])
    assert "malformed envelope" in table.stdout and "not valid gzip data" in table.stdout


def test_a_redelivered_batch_adds_nothing(lambda_store: str, capsys) -> None:
    lines = OBJECT_LOG.encode().splitlines()
    event = kinesis_event(
        [
            encode(sample_envelope(lines)),
            OBJECT_LOG.encode(),
            cloudwatch("DATA_MESSAGE", [(CW_ID, CHECKSUM_OK)]),
            b"not a log line",
            b"\x1f\x8bpoison",
        ]
    )
    invoke(event)
    with open_store(lambda_store) as store:
        before = [(r.event_id, r.payload) for r in store.read_all()]

    assert invoke(event) == {"batchItemFailures": []}

    first, second = batch_logs(capsys.readouterr().out)
    assert first["events"] > 0 and second["events"] == 0
    assert second["duplicates"] == first["events"]
    with open_store(lambda_store) as store:
        assert [(r.event_id, r.payload) for r in store.read_all()] == before


def test_every_line_is_accounted_for_per_batch(lambda_store: str, capsys) -> None:
    event = kinesis_event(
        [
            # Before any entry: quarantined (after one, they would continue it).
            b"\xff\xfe\nnot a log line\n" + OBJECT_LOG.encode(),
            cloudwatch("DATA_MESSAGE", [(CW_ID, "??"), (CW_ID + 1, CHECKSUM_OK)]),
            b"\x1f\x8bpoison",
            CONTROL_MESSAGE,
        ]
    )
    invoke(event)
    (log,) = batch_logs(capsys.readouterr().out)
    assert log["lines"] == log["consumed"] + log["ignored"] + log["quarantined"]
    assert (log["lines"], log["consumed"], log["quarantined"]) == (10 + 2 + 1, 9, 4)
    assert sum(log["lines_by_source"].values()) == log["lines"]


# --- the store failing ---------------------------------------------------------------------------


class FlakyStore(SQLiteEventStore):
    """An SQLite store that is 'down' for appends holding a marker, while `failing` is set."""

    failing: bytes | None = None

    def append(self, records):  # type: ignore[no-untyped-def]
        marker = FlakyStore.failing
        if marker is not None and any(marker in record.payload for record in records):
            raise StoreUnavailableError("throttled after 8 retries")
        return super().append(records)


@pytest.fixture
def flaky(lambda_store: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FlakyStore]]:
    import handlers.container

    monkeypatch.setattr(
        handlers.container,
        "open_store",
        lambda url, create, **_: FlakyStore(url.removeprefix("sqlite:///")),
    )
    yield FlakyStore
    FlakyStore.failing = None


def test_a_record_the_store_cannot_take_is_reported_for_redelivery(
    lambda_store: str, flaky: type[FlakyStore], capsys
) -> None:
    other = "druid:bc123df4567"
    records = [
        OBJECT_LOG.encode(),
        CHECKSUM_OK.replace("bj102hs9687", "bc123df4567").encode(),
        cloudwatch("DATA_MESSAGE", [(CW_ID, REPLICATED)]),
    ]
    flaky.failing = other.encode()

    response = invoke(kinesis_event(records))

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(1)}]}
    out = capsys.readouterr().out
    (log,) = batch_logs(out)
    assert (log["failed_records"], log["failed_sequence_numbers"]) == (1, [sequence(1)])
    assert log["lines"] == 9  # the failed record's lines are counted when it is stored
    assert emf(out, service="prov-ingest")["FailedRecords"] == [1.0]
    with open_store(lambda_store) as store:
        assert store.read_stream(other) == []
    # The store is back; Lambda delivers again from the failed record on, successes included.
    flaky.failing = None
    assert invoke(kinesis_event(records[1:], first=FIRST_SEQUENCE + 1)) == {"batchItemFailures": []}
    (again,) = batch_logs(capsys.readouterr().out)
    assert (again["events"], again["duplicates"]) == (1, 1)
    with open_store(lambda_store) as store:
        assert len(store.read_stream(other)) == 1


def test_a_batch_whose_every_record_fails_fails_as_a_whole(
    lambda_store: str, flaky: type[FlakyStore]
) -> None:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    flaky.failing = b"bj102hs9687"
    with pytest.raises(BatchProcessingError):
        invoke(kinesis_event([OBJECT_LOG.encode(), CHECKSUM_OK.encode()]))


def test_without_a_store_the_batch_fails(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PROV_STORE", f"sqlite:///{tmp_path}/missing.db")
    with pytest.raises(StoreUnavailableError):
        invoke(kinesis_event([OBJECT_LOG.encode()]))
    assert not (tmp_path / "missing.db").exists()  # never creates a store


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_count_the_batch_and_each_source(lambda_store: str, capsys) -> None:
    invoke(kinesis_event([b"not a log line\n" + OBJECT_LOG.encode()]))
    out = capsys.readouterr().out
    totals = emf(out, service="prov-ingest")
    assert totals["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Provenance"
    assert {name: totals[name] for name in ("Lines", "Events", "Quarantined", "Duplicates")} == {
        "Lines": [9.0],
        "Events": [8.0],
        "Quarantined": [1.0],
        "Duplicates": [0.0],
    }
    prescat = emf(out, service="prov-ingest", Source="prescat")
    assert (prescat["Lines"], prescat["Quarantined"]) == ([5.0], [0.0])
    auto = emf(out, service="prov-ingest", Source="auto")
    assert (auto["Lines"], auto["Quarantined"]) == ([1.0], [1.0])


# --- a file shipped in envelopes ----------------------------------------------------------------


def ship(data: bytes, *, source: str, host: str, path: str, max_lines: int) -> list[Envelope]:
    """Cut a file into envelopes as shared_api.md rule 3 says a shipper does: mirror the
    reader, count occurrences in emission order, cut only where no entry is open.

    Where no entry is open: after a line, when the lines fed equal the lines of the entries
    emitted (rule 3 as written); and before a line that, once fed, completed every line
    before it (a multi-line source emits an entry only when the next head arrives, so the
    first kind alone never happens in a robots or prescat log).
    """
    raw_lines = data.splitlines(keepends=True)
    lines = [raw.rstrip(b"\n").removesuffix(b"\r") for raw in raw_lines]
    reader = create_source(source, SourceContext(tz=LA, origin=host, file=path))
    heads: list[tuple[int, bytes]] = []  # (line number, occurrence key) in emission order
    cuts = {1, len(lines) + 1}  # line numbers a record may start at
    emitted = 0
    for line_no, line in enumerate(lines, start=1):
        entries = reader.feed(line_no, line.decode("utf-8"))
        for entry in entries:
            heads.append((entry.line_no, line_digest(entry.head)[:8]))
            emitted += len(entry.lines)
        if emitted == line_no:
            cuts.add(line_no + 1)
        elif emitted == line_no - 1:
            cuts.add(line_no)
    for entry in reader.finish():
        heads.append((entry.line_no, line_digest(entry.head)[:8]))
    offsets = [0]
    for raw in raw_lines:
        offsets.append(offsets[-1] + len(raw))
    envelopes = []
    start = 1
    while start <= len(lines):
        end = max(cut for cut in cuts if start < cut <= start + max_lines)
        before: dict[bytes, int] = {}
        for line_no, key in heads:
            if line_no < start:
                before[key] = before.get(key, 0) + 1
        inside = {key for line_no, key in heads if start <= line_no < end}
        envelopes.append(
            Envelope(
                source=source,
                service=None,
                host=host,
                file=path,
                file_id="2049:131077",
                offset=offsets[start - 1],
                end=offsets[end - 1],
                first_line=start,
                lines=lines[start - 1 : end - 1],
                occurrences={key: before[key] for key in inside if key in before},
            )
        )
        start = end
    return envelopes


def test_a_file_shipped_in_envelopes_gets_the_ids_of_prov_ingest(
    lambda_store: str, tmp_path: Path, capsys
) -> None:
    generate(tmp_path / "demo", objects=3, days=5)
    log = (tmp_path / "demo/logs/robots/preservationIngestWF.log").read_bytes()
    assert b"\n  /opt/app/" in log  # backtraces: continuation lines
    data = log + log  # the same lines again: real repeats, told apart only by the counts
    path = "/var/log/robots/preservationIngestWF.log"
    envelopes = ship(data, source="robots", host="robots-prod-a", path=path, max_lines=12)
    assert len(envelopes) > 10
    assert any(e.occurrences for e in envelopes)
    assert all(e.lines[0].startswith(b"20") for e in envelopes)  # never cut in a backtrace
    datas = [encode(e, compress=i % 2 == 0) for i, e in enumerate(envelopes)]

    for start in range(0, len(datas), 4):
        event = kinesis_event(datas[start : start + 4], first=FIRST_SEQUENCE + start)
        assert invoke(event) == {"batchItemFailures": []}

    logs = batch_logs(capsys.readouterr().out)
    with SQLiteEventStore(":memory:") as whole:
        options = IngestOptions(tz=LA, source="robots", origin="robots-prod-a")
        report = ingest_stream(whole, io.BytesIO(data), path, options)
        assert event_ids(lambda_store) == {r.event_id for r in whole.read_all()}
    assert sum(log["events"] for log in logs) == report.events > 0
    assert sum(log["lines"] for log in logs) == report.lines


def test_the_metrics_namespace_comes_from_the_environment() -> None:
    # Read once, at import (as in Lambda): a fresh interpreter shows it.
    script = "import handlers.ingest as h; print(h.metrics.namespace, h.logger.service)"
    env = {**os.environ, "POWERTOOLS_METRICS_NAMESPACE": "SDR/Provenance"}
    env.pop("POWERTOOLS_SERVICE_NAME", None)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["SDR/Provenance", "prov-ingest"]


# --- the deployment's configuration: pseudonym key secret, access-event expiry -------------------

ACCESS_LINES = [
    b'171.64.1.2 - - [01/Mar/2026:10:00:00 -0800] "GET /file/druid:bj102hs9687/a.pdf HTTP/1.1"'
    b' 200 1024 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"',
    b'2001:db8::7 - - [01/Mar/2026:10:59:59 -0800] "GET /file/druid:bj102hs9687/b.pdf HTTP/1.1"'
    b' 200 2048 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"',
]
# Both requests are in the UTC hour 18:00 of 2026-03-01, so both expire at 18:00 plus the days.
ACCESS_HOUR = datetime(2026, 3, 1, 18, tzinfo=UTC)


def cli_ingest_access_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    """`prov ingest` of ACCESS_LINES into a new SQLite store, as on a workstation: its URL."""
    log = tmp_path / "access.log"
    log.write_bytes(b"\n".join(ACCESS_LINES) + b"\n")
    cli_store = f"sqlite:///{tmp_path / 'cli.db'}"
    code, _, err = run(
        capsys, "ingest", "--store", cli_store, "--source", "clf", "--service", "stacks", str(log)
    )
    assert (code, err) == (0, "")
    return cli_store


def access_event(lines: list[bytes] = ACCESS_LINES) -> dict[str, Any]:
    envelope = sample_envelope(lines, source="clf", service="stacks", host="stacks-a")
    return kinesis_event([encode(envelope)])


def access_events(url: str) -> dict[str, tuple[str | None, datetime | None]]:
    """client address -> (client_id, expires_at) of the stored access events."""
    with open_store(url) as store:
        found = {}
        for record in store.read_all():
            event = load_event(record.payload)
            if isinstance(event, ServiceAccessed) and event.client is not None:
                found[event.client] = (event.client_id, record.expires_at)
        return found


def new_container() -> None:
    """Forget what the container set up, as a cold start does."""
    import handlers.container
    import handlers.ingest

    handlers.ingest._options.cache_clear()
    handlers.container.close()


def new_store(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / name}"
    open_store(url).close()
    monkeypatch.setenv("PROV_STORE", url)
    return url


def setup_errors(out: str) -> list[dict[str, Any]]:
    return [
        document
        for document in output_documents(out)
        if document.get("message") == "configuration not usable: the batch will come again"
    ]


@pytest.fixture
def secrets(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Secrets Manager client of the moto server, which the handler's own client finds
    through botocore's standard endpoint variable; no key in the environment."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint_url)
    monkeypatch.delenv(KEY_ENV)
    new_container()
    yield boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto.endpoint_url)
    new_container()


def make_secret(secrets: Any, monkeypatch: pytest.MonkeyPatch, **value: Any) -> str:
    """A new secret (SecretString= or SecretBinary=), named to the function by its ARN."""
    arn: str = secrets.create_secret(Name=unique_name("prov-pseudonym-key"), **value)["ARN"]
    monkeypatch.setenv(SECRET_ENV, arn)
    return arn


SECRET_KEY = "Zq7#rW2!pL9xK4$vN8mT3&bY6^cH1*dF"  # as CDK's generateSecretString makes them


def test_the_secret_key_gives_every_container_the_pseudonyms_of_prov_ingest(
    lambda_store: str, secrets: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    make_secret(secrets, monkeypatch, SecretString=SECRET_KEY)
    assert invoke(access_event()) == {"batchItemFailures": []}
    first = access_events(lambda_store)
    assert set(first) == {"171.64.1.2", "2001:db8::7"}

    new_container()
    second_store = new_store(tmp_path, "second.db", monkeypatch)
    assert invoke(access_event()) == {"batchItemFailures": []}
    assert access_events(second_store) == first

    # prov ingest on a workstation, given the same key.
    monkeypatch.delenv(SECRET_ENV)
    monkeypatch.setenv(KEY_ENV, SECRET_KEY)
    cli_store = cli_ingest_access_lines(capsys, tmp_path)
    assert access_events(cli_store) == first
    # The secret's key, not the one the tests run with otherwise.
    test_key = AccessPolicy.default(key=TEST_KEY.encode())
    assert first["171.64.1.2"][0] != test_key.pseudonym("171.64.1.2")
    secret_key = AccessPolicy.default(key=SECRET_KEY.encode())
    assert first["171.64.1.2"][0] == secret_key.pseudonym("171.64.1.2")


def test_the_secret_is_read_once_per_container(
    lambda_store: str, secrets: Any, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    arn = make_secret(secrets, monkeypatch, SecretString=SECRET_KEY)
    assert invoke(access_event(ACCESS_LINES[:1])) == {"batchItemFailures": []}
    secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)

    # The same container does not ask again...
    assert invoke(access_event(ACCESS_LINES[1:])) == {"batchItemFailures": []}
    assert len(access_events(lambda_store)) == 2
    # ...a new one does.
    new_container()
    with pytest.raises(ConfigurationError, match="ResourceNotFoundException"):
        invoke(access_event())


class DenyGetSecretValue:
    """A botocore `before-send` hook answering as Secrets Manager does to a role without
    `secretsmanager:GetSecretValue` on the secret."""

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        body = json.dumps(
            {
                "__type": "AccessDeniedException",
                "Message": "User: arn:aws:sts::123456789012:assumed-role/prov-ingest/prov-ingest "
                "is not authorized to perform: secretsmanager:GetSecretValue",
            }
        ).encode()
        return AWSResponse(request.url, 400, {"x-amzn-requestid": "denied"}, _Raw(body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("missing", "cannot read it: ResourceNotFoundException"),
        ("denied", "cannot read it: AccessDeniedException: User: arn:aws:sts::"),
        ("short", "the key is 9 characters long, give at least 16"),
        ("binary", "holds no SecretString"),
        ("unreachable", "cannot read it: Could not connect to the endpoint URL"),
    ],
)
def test_a_secret_that_cannot_be_used_fails_the_batch_with_one_line(
    lambda_store: str,
    secrets: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    problem: str,
    expected: str,
) -> None:
    if problem == "binary":
        arn = make_secret(secrets, monkeypatch, SecretBinary=SECRET_KEY.encode())
    else:
        arn = make_secret(secrets, monkeypatch, SecretString="short key")
    if problem == "missing":
        arn += "-gone"
        monkeypatch.setenv(SECRET_ENV, arn)
    elif problem == "denied":
        session = boto3.Session()
        session.events.register("before-send.secrets-manager.GetSecretValue", DenyGetSecretValue())
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    elif problem == "unreachable":
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9")

    with pytest.raises(ConfigurationError) as raised:
        invoke(access_event())

    assert str(raised.value).startswith(f"pseudonym key secret {arn}: ")
    (logged,) = setup_errors(capsys.readouterr().out)
    assert logged["level"] == "ERROR"
    assert logged["error"] == str(raised.value)
    assert expected in logged["error"] and "\n" not in logged["error"]
    assert "exception" not in logged  # no traceback: the line says what to fix
    assert SECRET_KEY not in logged["error"]
    assert event_ids(lambda_store) == set()


def test_a_failed_setup_is_tried_again_on_the_next_invocation(
    lambda_store: str, secrets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique_name("prov-pseudonym-key")
    monkeypatch.setenv(SECRET_ENV, name)
    with pytest.raises(ConfigurationError, match="ResourceNotFoundException"):
        invoke(access_event())
    secrets.create_secret(Name=name, SecretString=SECRET_KEY)  # the operator fixes it
    assert invoke(access_event()) == {"batchItemFailures": []}
    assert len(access_events(lambda_store)) == 2


def test_without_any_key_the_function_refuses_to_make_one(
    lambda_store: str, secrets: Any, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "prov-ingest")
    with pytest.raises(ConfigurationError) as raised:
        invoke(access_event())
    message = str(raised.value)
    assert message.startswith(f"no pseudonym key: set {SECRET_ENV} to the ARN")
    (logged,) = setup_errors(capsys.readouterr().out)
    assert logged["error"] == message
    assert event_ids(lambda_store) == set()
    assert not list(Path(os.environ["XDG_CONFIG_HOME"]).rglob("pseudonym.key"))


def test_a_policy_showing_addresses_needs_no_key(
    lambda_store: str, secrets: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[clients]\nshow_addresses = true\n")
    monkeypatch.setenv(POLICY_ENV, str(policy))
    assert invoke(access_event()) == {"batchItemFailures": []}
    assert access_events(lambda_store)["171.64.1.2"] == ("171.64.1.2", None)


def test_a_key_given_two_ways_is_refused(
    lambda_store: str, secrets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_secret(secrets, monkeypatch, SecretString=SECRET_KEY)
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    with pytest.raises(ConfigurationError, match=f"both {SECRET_ENV} and {KEY_ENV} are set"):
        invoke(access_event())
    assert event_ids(lambda_store) == set()


@pytest.mark.parametrize(
    ("days", "expires_at"),
    [
        ("30", ACCESS_HOUR + timedelta(days=30)),
        ("never", None),
        (None, ACCESS_HOUR + timedelta(days=365)),
    ],
)
def test_the_deployment_sets_when_access_events_expire(
    lambda_store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    days: str | None,
    expires_at: datetime | None,
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[retention]\naccess_event_days = 365\n")
    monkeypatch.setenv(POLICY_ENV, str(policy))
    if days is not None:
        monkeypatch.setenv(RETENTION_ENV, days)

    assert invoke(access_event()) == {"batchItemFailures": []}

    stored = access_events(lambda_store)
    assert {expiry for _, expiry in stored.values()} == {expires_at}
    # prov ingest reads the same setting.
    cli_store = cli_ingest_access_lines(capsys, tmp_path)
    assert access_events(cli_store) == stored


@pytest.mark.parametrize("days", ["0", "abc"])
def test_an_access_event_days_setting_that_is_no_number_of_days_is_one_line(
    lambda_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, days: str
) -> None:
    monkeypatch.setenv(RETENTION_ENV, days)
    with pytest.raises(AccessPolicyError) as raised:
        invoke(access_event())
    expected = f"{RETENTION_ENV}: must be a whole number of days from 1 to 36525, or never"
    (logged,) = setup_errors(capsys.readouterr().out)
    assert logged["error"] == str(raised.value)
    assert logged["error"].startswith(expected) and logged["error"].endswith(f"not {days!r}")
    assert event_ids(lambda_store) == set()

    log = tmp_path / "access.log"
    log.write_bytes(ACCESS_LINES[0] + b"\n")
    code, out, err = run(
        capsys,
        "ingest",
        "--store",
        lambda_store,
        "--source",
        "clf",
        "--service",
        "stacks",
        str(log),
    )
    assert (code, out) == (1, "")
    assert expected in err and err.count("\n") == 1
