"""The origin of events read from a log file (`--host`, `PROV_HOST`): one rule for `prov
ingest` and `prov ship`, so the same lines get the same event ids whichever way they go.

The default is no origin (not this machine's name); `--host NAME` or `PROV_HOST=NAME` gives
one, and two hosts give two sets of events. Shipping goes over the wire: `prov ship` to moto's
Kinesis, read back by the poller the end-to-end tests use, into the ingest Lambda handler.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import handlers.ingest
from eventstore import open_store
from tests.aws_lambda import KinesisPoller, LambdaContext
from tests.aws_server import REGION, MotoServer, unique_name
from tests.cli.test_cli import run
from tests.samples import CHECKSUM_MISMATCH, CHECKSUM_OK, REPLICATED

TZ = "America/Los_Angeles"
ACCESS = (
    '171.66.1.2 - - [01/Mar/2026:10:00:00 -0800] "GET /file/druid:bj102hs9687/a.pdf HTTP/1.1" '
    '200 512 "-" "Mozilla/5.0"'
)
# An identical line twice: occurrence counting must agree as well.
LINES = [CHECKSUM_OK, CHECKSUM_MISMATCH, REPLICATED, CHECKSUM_OK, ACCESS]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.log"
    path.write_text("\n".join(LINES) + "\n")
    return path


@pytest.fixture
def stream(moto: MotoServer) -> Iterator[str]:
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=moto.endpoint_url)
    name = unique_name("origin")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    yield name
    kinesis.delete_stream(StreamName=name)


def origins_and_ids(url: str) -> tuple[set[str], set[str]]:
    with open_store(url, create=False) as store:
        records = list(store.read_all())
    origins = {json.loads(record.payload)["source"]["origin"] for record in records}
    return origins, {record.event_id for record in records}


def ingested(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: Path, host_args: list[str]
) -> tuple[set[str], set[str]]:
    """`prov ingest` of the file: the origins and ids of its events."""
    url = f"sqlite:///{tmp_path / unique_name('ingest')}.db"
    code, _, err = run(capsys, "ingest", "--store", url, "--tz", TZ, *host_args, str(log))
    assert (code, err) == (0, "")
    return origins_and_ids(url)


def shipped(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    log: Path,
    host_args: list[str],
) -> tuple[set[str], set[str]]:
    """`prov ship` of the file, then the ingest Lambda over the stream: origins and ids."""
    stream = unique_name("origin")
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=moto.endpoint_url)
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    try:
        code, _, err = run(
            capsys, "ship", str(log), "--stream", stream, "--endpoint-url", moto.endpoint_url,
            "--state", str(tmp_path / f"{stream}.db"), "--tz", TZ, "--once", *host_args,
        )  # fmt: skip
        assert (code, err) == (0, "")
        url = f"sqlite:///{tmp_path / stream}-lambda.db"
        open_store(url).close()
        with monkeypatch.context() as patch:  # the function's configuration
            patch.setenv("PROV_STORE", url)
            patch.setenv("PROV_TZ", TZ)
            patch.delenv("PROV_HOST", raising=False)  # the handler takes the envelope's
            for batch in KinesisPoller(moto.endpoint_url, stream).batches():
                response = handlers.ingest.handler(batch, LambdaContext())
                assert response == {"batchItemFailures": []}
    finally:
        kinesis.delete_stream(StreamName=stream)
    return origins_and_ids(url)


@pytest.mark.parametrize(
    ("ship_host", "ingest_host", "env", "origin"),
    [
        pytest.param([], [], None, "", id="defaults"),
        pytest.param(["--host", "sul-a"], ["--host", "sul-a"], None, "sul-a", id="same-host"),
        pytest.param([], [], "sul-a", "sul-a", id="same-PROV_HOST"),
        pytest.param(["--host", "sul-a"], [], "sul-a", "sul-a", id="option-and-PROV_HOST"),
        pytest.param(["--host", "sul-b"], ["--host", "sul-b"], "sul-a", "sul-b", id="option-wins"),
    ],
)
def test_ship_and_ingest_of_one_file_give_the_same_ids(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch, log: Path,
    ship_host: list[str], ingest_host: list[str], env: str | None, origin: str,
) -> None:  # fmt: skip
    if env is not None:
        monkeypatch.setenv("PROV_HOST", env)

    by_ship = shipped(capsys, tmp_path, moto, monkeypatch, log, ship_host)
    by_ingest = ingested(capsys, tmp_path, log, ingest_host)

    assert by_ship == by_ingest
    origins, ids = by_ship
    assert origins == {origin} and len(ids) == len(LINES)


def test_the_default_origin_is_not_this_machines_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch, log: Path,
) -> None:  # fmt: skip
    by_default = shipped(capsys, tmp_path, moto, monkeypatch, log, [])
    by_name = shipped(capsys, tmp_path, moto, monkeypatch, log, ["--host", socket.gethostname()])
    assert by_default[0] == {""}
    assert not by_default[1] & by_name[1]


def test_different_hosts_give_different_ids(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch, log: Path,
) -> None:  # fmt: skip
    _, shipped_a = shipped(capsys, tmp_path, moto, monkeypatch, log, ["--host", "sul-a"])
    _, shipped_b = shipped(capsys, tmp_path, moto, monkeypatch, log, ["--host", "sul-b"])
    _, ingested_a = ingested(capsys, tmp_path, log, ["--host", "sul-a"])
    monkeypatch.setenv("PROV_HOST", "sul-b")
    _, ingested_b = ingested(capsys, tmp_path, log, [])
    _, ingested_none = ingested(capsys, tmp_path, log, ["--host", ""])

    assert shipped_a == ingested_a and shipped_b == ingested_b
    assert len(shipped_a | shipped_b | ingested_none) == 3 * len(LINES)


def test_a_file_shipped_under_another_host_is_not_shipped_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, moto: MotoServer, stream: str, log: Path
) -> None:
    """The same state file with another --host (as when the default changed from the machine's
    name to none): the lines would go again with other ids, so the shipper stops first."""
    args = ["ship", str(log), "--stream", stream, "--endpoint-url", moto.endpoint_url]
    args += ["--state", str(tmp_path / "ship.db"), "--once", "--format", "json"]
    code, out, err = run(capsys, *args, "--host", "sul-a")
    assert (code, err) == (0, "") and json.loads(out)["lines"] == len(LINES)

    code, out, err = run(capsys, *args)

    assert (code, out) == (1, "")
    assert err.startswith(f"prov: error: {log} was shipped to {stream} as host 'sul-a', not ''")
    assert "give --host 'sul-a' (or PROV_HOST)" in err and err.count("\n") == 1
    code, out, err = run(capsys, *args, "--host", "sul-a")
    assert (code, err) == (0, "") and json.loads(out)["lines"] == 0
