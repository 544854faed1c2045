"""`prov ship` over the wire: a moto Kinesis server on 127.0.0.1, read back with GetRecords.

What must hold whatever happens (partial failures, crashes, restarts, rotation): every line of a
file reaches the stream at least once, records hold whole entries, and ingesting the records
gives exactly the event ids `prov ingest` gives the whole file.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventstore.sqlite import SQLiteEventStore
from premis.escaping import visible_surrogates
from provenance.access.policy import AccessPolicy
from provenance.aws.ship import Shipper
from provenance.aws.ship_options import ShipError, ShipOptions
from provenance.aws.ship_records import partition_key
from provenance.aws.ship_report import ShipReport
from provenance.aws.ship_send import KinesisClient, kinesis_client
from provenance.aws.ship_state import FileKey, ShipState
from provenance.cli.demo.world import DemoData, generate
from provenance.ingest.kinesis_records import RecordOrigin, ingest_record
from provenance.ingest.pipeline import ingest_envelope, ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.query.views import quarantined_lines
from provenance.records.envelope import (
    GZIP_MAGIC,
    MAX_DECODED_BYTES,
    MAX_MEMORY_BYTES,
    MAX_RECORD_BYTES,
    MAX_RECORD_LINES,
    Envelope,
    encode,
    encoded_size,
    from_json,
)
from provenance.records.lines import MAX_LINE_BYTES, OverlongLine
from provenance.sources import create_source
from provenance.sources.base import SourceContext
from tests.aws_server import REGION, MotoServer, unique_name
from tests.cli.test_cli import run as run_cli
from tests.conftest import LA
from tests.samples import CHECKSUM_MISMATCH, CHECKSUM_OK, REPLICATED, STATUS_CHANGED
from tests.terminal_helpers import HOSTILE_TOKEN, HOSTILE_TOKEN_SHOWN, raw_controls

HOST = "test-host"
CLF = (
    '171.66.{a}.{b} - - [01/Mar/2026:10:{m:02d}:{s:02d} -0800] "GET /file/druid:bj102hs9687/'
    'a.pdf HTTP/1.1" 200 {n} "-" "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 '
    'Firefox/124.0"'
)
BACKTRACE = [f"  /opt/app/pres/lib/audit/checksum_validator.rb:{n}:in `validate'" for n in (3, 9)]


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    return generate(tmp_path_factory.mktemp("demo"), objects=8, days=5)


@pytest.fixture(scope="module")
def kinesis(moto: MotoServer) -> Any:
    return boto3.client("kinesis", region_name=REGION, endpoint_url=moto.endpoint_url)


@pytest.fixture
def stream(kinesis: Any) -> str:
    name = unique_name("ship")
    kinesis.create_stream(StreamName=name, ShardCount=2)
    return name


@pytest.fixture(scope="module")
def client(moto: MotoServer) -> KinesisClient:
    return kinesis_client(region=REGION, endpoint_url=moto.endpoint_url, max_attempts=2)


def raw_records(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    """Every record of `stream` as GetRecords gives it, in order within each shard."""
    found = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while True:
            response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            found.extend(response["Records"])
            if not response["Records"]:
                break
            iterator = response["NextShardIterator"]
    return found


def read_stream(kinesis: Any, stream: str) -> list[tuple[str, Envelope]]:
    """Every record of `stream`: (partition key, envelope), in order within each shard."""
    return [
        (record["PartitionKey"], decode(record["Data"])) for record in raw_records(kinesis, stream)
    ]


def handler_store(tmp_path: Path, kinesis: Any, stream: str) -> Path:
    """A store made of every record of `stream` as the ingest handler reads records
    (`provenance.ingest.kinesis_records.ingest_record`)."""
    path = tmp_path / f"handler-{uuid.uuid4().hex}.db"
    ingest_options = IngestOptions(tz=LA, access_policy=AccessPolicy.load())
    with SQLiteEventStore(path) as store:
        for record in raw_records(kinesis, stream):
            origin = RecordOrigin(stream, record["SequenceNumber"])
            result = ingest_record(store, record["Data"], origin, ingest_options)
            assert result.error is None, result.error
    return path


def ids_in(store_path: Path) -> set[str]:
    with SQLiteEventStore(store_path) as store:
        return {record.event_id for record in store.read_all()}


def decode(data: bytes) -> Envelope:
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    return from_json(json.loads(data))


def envelopes_of(kinesis: Any, stream: str, path: Path | str) -> list[Envelope]:
    """The records of one file, in file order (a retried record may arrive later)."""
    found = [env for _, env in read_stream(kinesis, stream) if env.file == str(path)]
    return sorted(found, key=lambda env: (env.offset, env.end))


def options(stream: str, **changes: Any) -> ShipOptions:
    return ShipOptions(stream=stream, host=HOST, tz=LA, **changes)


def ship(
    client: KinesisClient,
    state: Path,
    opts: ShipOptions,
    paths: Sequence[Path],
    **shipper_args: Any,
) -> ShipReport:
    for path in paths:
        quiet(path)  # a finished log: --once reads it to its end
    with ShipState(state) as saved:
        shipper = Shipper(client, saved, opts, sleep=lambda seconds: None, **shipper_args)
        return shipper.run([str(path) for path in paths], once=True)


def assert_exactly_once(envelopes: list[Envelope], path: Path) -> None:
    """The records of `path` hold each of its lines once, in order, and nothing else."""
    data = path.read_bytes()
    position, line = 0, 1
    for env in envelopes:
        assert (env.offset, env.first_line) == (position, line)
        text = b"".join(item + b"\n" for item in env.lines)
        assert data[env.offset : env.end] in (text, text[:-1])
        position, line = env.end, line + len(env.lines)
    assert position == len(data)


def assert_at_least_once(envelopes: list[Envelope], path: Path) -> None:
    lines = path.read_bytes().split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    seen: set[int] = set()
    for env in envelopes:
        for number, text in enumerate(env.lines, start=env.first_line):
            assert text == lines[number - 1]
            seen.add(number)
    assert seen == set(range(1, len(lines) + 1))


def ids_of_envelopes(tmp_path: Path, envelopes: list[Envelope]) -> set[str]:
    ingest_options = IngestOptions(tz=LA, access_policy=AccessPolicy.load())
    with SQLiteEventStore(tmp_path / f"shipped-{uuid.uuid4().hex}.db") as store:
        for env in envelopes:
            ingest_envelope(store, env, ingest_options)
        return {record.event_id for record in store.read_all()}


def ids_of_file(
    tmp_path: Path, path: Path, source: str = "auto", service: str | None = None
) -> set[str]:
    with SQLiteEventStore(tmp_path / f"whole-{uuid.uuid4().hex}.db") as store:
        ingest_options = IngestOptions(source=source, origin=HOST, service=service, tz=LA)
        with path.open("rb") as stream:
            ingest_stream(store, stream, str(path), ingest_options)
        return {record.event_id for record in store.read_all()}


def clf_lines(count: int, *, distinct: int | None = None) -> list[str]:
    distinct = distinct or count
    return [
        CLF.format(a=i % 7, b=i % 250, m=(i // 60) % 60, s=i % 60, n=1000 + i)
        for i in (j % distinct for j in range(count))
    ]


def write(path: Path, lines: Sequence[str], *, mode: str = "w") -> Path:
    with path.open(mode) as out:
        out.write("".join(line + "\n" for line in lines))
    return path


def quiet(path: Path) -> Path:
    """`path` as a file nobody writes to any more: changed last an hour ago (`--once` reads
    a last line without its "\\n" only in such a file)."""
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    return path


class FaultyClient:
    """Forwards PutRecords to moto, failing chosen entries (not sent on) or crashing."""

    def __init__(
        self,
        real: KinesisClient,
        *,
        fail: Callable[[int, int, bytes], str | None] = lambda call, index, data: None,
        crash_after: int | None = None,
    ) -> None:
        self.real = real
        self.fail = fail
        self.crash_after = crash_after
        self.calls: list[list[dict[str, Any]]] = []

    def put_records(self, **kwargs: Any) -> Mapping[str, Any]:
        entries = kwargs.pop("Records")
        call = len(self.calls)
        self.calls.append(entries)
        codes = [self.fail(call, index, entry["Data"]) for index, entry in enumerate(entries)]
        passed = [entry for entry, code in zip(entries, codes, strict=True) if code is None]
        results = iter(self.real.put_records(Records=passed, **kwargs)["Records"] if passed else [])
        response = {
            "FailedRecordCount": sum(code is not None for code in codes),
            "Records": [
                next(results) if code is None else {"ErrorCode": code, "ErrorMessage": "slow down"}
                for code in codes
            ],
        }
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise RuntimeError("crash after the put")  # acknowledged by Kinesis, not saved
        return response


# --- what a record holds ----------------------------------------------------------------------


def test_records_hold_every_line_once_in_order_and_the_ids_of_whole_file_ingest(
    tmp_path: Path, demo: DemoData, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    paths = [item.path for item in demo.files]
    report = ship(client, tmp_path / "ship.db", options(stream, record_bytes=1000), paths)
    records = read_stream(kinesis, stream)
    assert report.records == len(records) > len(paths)
    assert report.lines == sum(item.lines for item in demo.files)
    assert report.put_calls == 1  # a few hundred small records fit one call
    for item in demo.files:
        envelopes = sorted(
            (env for _, env in records if env.file == str(item.path)), key=lambda env: env.offset
        )
        assert len(envelopes) >= item.path.stat().st_size // 1500, item.path
        assert_exactly_once(envelopes, item.path)
        assert {key for key, env in records if env.file == str(item.path)} == {
            partition_key(HOST, str(item.path))
        }
        for env in envelopes:
            assert (env.source, env.host, env.service) == ("auto", HOST, None)
            assert env.file_id == f"{item.path.stat().st_dev}:{item.path.stat().st_ino}"
        assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, item.path)


@pytest.mark.parametrize("source", ["prescat", "robots", "rails", "lograge", "sdr-events", "clf"])
def test_an_explicit_source_gives_the_ids_of_whole_file_ingest(
    tmp_path: Path,
    demo: DemoData,
    client: KinesisClient,
    kinesis: Any,
    stream: str,
    source: str,
) -> None:
    item = next(item for item in demo.files if item.source == source)
    opts = options(stream, source=source, service=item.service, record_bytes=400)
    ship(client, tmp_path / "ship.db", opts, [item.path])
    envelopes = envelopes_of(kinesis, stream, item.path)
    assert len(envelopes) > 3
    assert_exactly_once(envelopes, item.path)
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(
        tmp_path, item.path, source, item.service
    )


def test_identical_lines_in_different_records_keep_distinct_occurrences(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = write(tmp_path / "repeats.log", [CHECKSUM_OK, REPLICATED, STATUS_CHANGED] * 20)
    ship(client, tmp_path / "ship.db", options(stream, record_bytes=500), [path])
    envelopes = envelopes_of(kinesis, stream, path)
    assert len(envelopes) > 5
    assert any(env.occurrences for env in envelopes)
    shipped = ids_of_envelopes(tmp_path, envelopes)
    assert shipped == ids_of_file(tmp_path, path)
    assert len(shipped) == 60  # every repeat is an event of its own


def test_counters_moved_to_disk_ship_the_ids_of_whole_file_ingest(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str, monkeypatch: Any
) -> None:
    """The shipper's occurrence counter, and the handler's, past their memory bound
    (`provenance.domain.identity.MEMORY_BOUND`): records carry the same counts."""
    lines = [CHECKSUM_OK, REPLICATED, STATUS_CHANGED, CHECKSUM_MISMATCH] * 15
    path = write(tmp_path / "repeats.log", lines)
    expected = ids_of_file(tmp_path, path)
    monkeypatch.setattr("provenance.domain.identity.MEMORY_BOUND", 1)
    ship(client, tmp_path / "ship.db", options(stream, record_bytes=500), [path])
    envelopes = envelopes_of(kinesis, stream, path)
    assert len(envelopes) > 5 and any(env.occurrences for env in envelopes)
    assert ids_of_envelopes(tmp_path, envelopes) == expected
    assert len(expected) == 60


def test_odd_lines_are_shipped_as_ingest_reads_them(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    """CRLF line ends, invalid UTF-8, blank lines after a format `auto` routes them to (a
    fresh source would quarantine them), and no "\\n" at the very end."""
    path = tmp_path / "odd.log"
    path.write_bytes(
        b"".join(
            [
                f"{REPLICATED}\r\n".encode(),
                b"\n\n",
                b"caf\xe9 is not UTF-8\n",
                f"{CHECKSUM_OK}\r\n{REPLICATED}\n\n{REPLICATED}\n\n".encode(),
                f"{CHECKSUM_MISMATCH}\n{BACKTRACE[0]}\r\n\n{CHECKSUM_OK}".encode(),
            ]
        )
    )
    ship(client, tmp_path / "ship.db", options(stream, record_bytes=1), [quiet(path)])
    envelopes = envelopes_of(kinesis, stream, path)
    assert len(envelopes) > 4
    lines = [line for env in envelopes for line in env.lines]
    assert lines[0] == REPLICATED.encode()  # without its "\r"
    assert b"caf\xe9 is not UTF-8" in lines
    assert lines[-1] == CHECKSUM_OK.encode()
    assert (envelopes[-1].end, len(lines)) == (path.stat().st_size, 13)
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, path)


def test_multi_line_entries_are_never_cut(
    tmp_path: Path, demo: DemoData, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    prescat = write(
        tmp_path / "audit.log",
        [CHECKSUM_OK, CHECKSUM_MISMATCH, *BACKTRACE, STATUS_CHANGED, CHECKSUM_MISMATCH, *BACKTRACE]
        * 5,
    )
    robots = next(item.path for item in demo.files if item.path.name == "preservationIngestWF.log")
    assert "  /opt/app/" in robots.read_text()  # it has backtraces
    # Records as small as they can be: a record wherever an entry may end.
    report = ship(client, tmp_path / "ship.db", options(stream, record_bytes=1), [prescat, robots])
    assert report.forced_cuts == 0
    for path, source in ((prescat, "prescat"), (robots, "robots")):
        envelopes = envelopes_of(kinesis, stream, path)
        assert_exactly_once(envelopes, path)
        whole = _entries(source, path.read_text().splitlines(), 1)
        assert any(size > 1 for _, size in whole)
        parts = [_entries(source, env.lines, env.first_line) for env in envelopes]
        assert [entry for part in parts for entry in part] == whole
        assert len(parts) >= len(whole) // 2


def _entries(source: str, lines: Sequence[str | bytes], first: int) -> list[tuple[int, int]]:
    """(head line number, line count) of the entries a fresh source makes of `lines`."""
    reader = create_source(source, SourceContext(tz=LA, origin=HOST))
    entries = []
    for number, line in enumerate(lines, start=first):
        text = line.decode() if isinstance(line, bytes) else line
        entries.extend(reader.feed(number, text))
    entries.extend(reader.finish())
    return sorted((entry.line_no, len(entry.lines)) for entry in entries)


# --- size limits ------------------------------------------------------------------------------


def test_record_and_call_limits_hold_and_oversized_stretches_are_cut_anyway(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    long_entry = [CHECKSUM_MISMATCH, *(f"  frame {n:04d} " + "x" * 60 for n in range(200))]
    path = write(tmp_path / "big.log", [*clf_lines(150), *long_entry, *clf_lines(50)])
    faulty = FaultyClient(client)
    opts = options(
        stream,
        compress=False,
        record_bytes=2_000,
        max_record_bytes=6_000,
        max_call_records=7,
        max_call_bytes=20_000,
    )
    report = ship(faulty, tmp_path / "ship.db", opts, [path])
    key_bytes = len(partition_key(HOST, str(path)).encode())
    for call in faulty.calls:
        assert len(call) <= 7
        assert sum(len(entry["Data"]) + key_bytes for entry in call) <= 20_000
        assert all(len(entry["Data"]) + key_bytes <= 6_000 for entry in call)
    assert max(len(call) for call in faulty.calls) == 7
    assert report.put_calls == len(faulty.calls) >= 4
    # The 14 KB backtrace has no place to cut in it: one forced cut, after which its lines are
    # read afresh (a line no format claims is an entry of its own, and a place to cut).
    assert report.forced_cuts == 1
    assert_exactly_once(envelopes_of(kinesis, stream, path), path)


def test_records_stay_within_what_the_ingest_handler_reads(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    """Past `MAX_RECORD_LINES` lines or `MAX_DECODED_BYTES` decompressed, the ingest handler
    quarantines a record unread: shipping cuts its records before that, whatever
    --record-bytes allows (up to 5 MB of lines, which compress well below 1 MB)."""
    from provenance.ingest import kinesis_records

    short = write(tmp_path / "short.log", ["x"] * (MAX_RECORD_LINES + 20_000))
    # Control characters (sent as base64: 4/3 of their bytes) compress to nothing: some 10 MB
    # decoded in a few KB, past MAX_DECODED_BYTES for a single record.
    controls = write(tmp_path / "controls.log", ["\x01" * 1_000] * 8_000)
    faulty = FaultyClient(client)
    report = ship(
        faulty, tmp_path / "ship.db", options(stream, record_bytes=5_000_000), [short, controls]
    )
    data = [entry["Data"] for call in faulty.calls for entry in call]
    for record in data:
        assert len(gzip.decompress(record)) <= MAX_DECODED_BYTES
        decoded = kinesis_records.decode(record)
        assert isinstance(decoded, Envelope) and len(decoded.lines) <= MAX_RECORD_LINES
    assert report.lines == MAX_RECORD_LINES + 20_000 + 8_000
    for path in (short, controls):
        envelopes = envelopes_of(kinesis, stream, path)
        assert len(envelopes) >= 2, path  # each file is past a limit for one record
        assert_exactly_once(envelopes, path)


def test_a_repeated_line_before_over_long_lines_keeps_its_occurrence(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,
    stream: str,
) -> None:
    """Issue 11, B1: over-long lines counted their whole size towards the record, so two of
    them forced a cut while the repeated line's entry was still open; its record carried no
    occurrence count, and the handler took the real repeat for a duplicate of the first."""
    path = tmp_path / "audit.log"
    huge = b"z" * 2_000_000
    lines = [CHECKSUM_OK.encode(), CHECKSUM_MISMATCH.encode(), CHECKSUM_OK.encode(), huge, huge]
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, report, err = ship_cli(capsys, moto, stream, tmp_path / "ship.db", str(path))
    assert (code, err) == (0, "")
    shipped = ids_in(handler_store(tmp_path, kinesis, stream))
    assert shipped == ingest_cli_ids(capsys, tmp_path, path)
    assert len(shipped) == 5
    # An over-long line adds what is kept of it (64 KiB), not its length: nothing forced.
    assert (report["lines"], report["forced_cuts"]) == (5, 0)


def test_a_forced_cut_carries_the_occurrences_of_every_entry_it_ends(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,
    stream: str,
) -> None:
    """Issue 11, B1: a backtrace larger than a record is cut anyway (a forced cut). The entry
    it belongs to (a repeat of an earlier line) was counted only after the cut, so its record
    carried no occurrence and the repeat was lost. Now the source is finished at the cut, as
    the handler finishes each record: every event `prov ingest` gives is shipped, and the
    lines after the cut, read afresh as the handler reads them, are quarantined, each once."""
    frame = "  /opt/app/pres/lib/audit/checksum_validator.rb:9:in `validate'"
    backtrace = [frame] * 20_000  # 1.3 MB of identical lines, no place to cut in it
    path = write(
        tmp_path / "audit.log",
        [CHECKSUM_OK, CHECKSUM_MISMATCH, CHECKSUM_OK, *backtrace, CHECKSUM_MISMATCH, CHECKSUM_OK],
    )
    code, report, err = ship_cli(capsys, moto, stream, tmp_path / "ship.db", str(path))
    assert (code, report["forced_cuts"]) == (0, 1)
    # Said where, as a forced cut splits what is open there.
    assert re.fullmatch(
        f"prov: warning: {path}: no place to begin a record within 875,000 bytes before line "
        r"[0-9,]+: one begins there anyway \(a forced cut\), and the entries still open there "
        "are split between records\n",
        err,
    )
    handled = handler_store(tmp_path, kinesis, stream)
    shipped, ingested = ids_in(handled), ingest_cli_ids(capsys, tmp_path, path)
    assert ingested <= shipped  # the repeated CHECKSUM_OK at line 3 among them
    # The frames after the cut: quarantined, every one (identical lines in several records).
    envelopes = envelopes_of(kinesis, stream, path)
    cut = next(env for env in envelopes if env.first_line <= 3 < env.first_line + len(env.lines))
    after_cut = len(backtrace) - (cut.first_line + len(cut.lines) - 4)
    with SQLiteEventStore(handled) as store:
        frames = [item for item in quarantined_lines(store) if item["text"] == frame]
    assert len(shipped - ingested) == len(frames) == after_cut > 1000
    assert len(envelopes) > 2


# Lines within the cap at their worst for a record: JSON spells a control character in 6
# bytes, and a line that is not UTF-8 goes as base64 (4/3).
WORST_LINES = {
    "controls": b"\x01" * MAX_LINE_BYTES,
    "quotes": b'"\\' * (MAX_LINE_BYTES // 2),
    "not-utf-8": bytes(range(0x80, 0x100)) * (MAX_LINE_BYTES // 128),
}


@pytest.mark.parametrize("kind", sorted(WORST_LINES))
def test_every_line_within_the_cap_fits_one_record_with_long_names(kind: str) -> None:
    """The cap (`provenance.records.lines.MAX_LINE_BYTES`) is what one record carries, whatever the
    line holds, with a long host, service and file name: so no line is ever altered."""
    line = WORST_LINES[kind]
    assert encoded_size(line) <= ShipOptions(stream="s").stretch_limit
    shown = "/var/log/" + visible_surrogates(os.fsdecode(b"\xe9" * 4000))
    host, service = "h" * 255, "s" * 1000
    envelope = Envelope(
        "auto", service, host, shown, "2049:131077", 10**12, 10**12 + len(line) + 1, 10**9,
        [line], {b"\x00" * 8: 10**12},
    )  # fmt: skip
    for compress in (False, True):
        size = len(encode(envelope, compress=compress))
        assert size + len(partition_key(host, shown).encode()) <= MAX_RECORD_BYTES


def test_a_stretch_at_its_limit_with_the_most_memory_fits_one_record_with_long_names() -> None:
    """Lines up to the stretch limit, and a source's memory up to `MAX_MEMORY_BYTES` (what a
    record may begin with), at their worst (control characters), with long names."""
    limit = ShipOptions(stream="s").stretch_limit
    line = b"\x01" * 1000
    lines = [line] * (limit // encoded_size(line))
    memory = [line] * (MAX_MEMORY_BYTES // encoded_size(line))
    shown = "/var/log/" + visible_surrogates(os.fsdecode(b"\xe9" * 4000))
    host, service = "h" * 255, "s" * 1000
    envelope = Envelope(
        "auto", service, host, shown, "2049:131077", 10**12, 10**13, 10**9, lines,
        {n.to_bytes(8, "big"): 10**12 for n in range(len(lines))}, memory,
    )  # fmt: skip
    for compress in (False, True):
        size = len(encode(envelope, compress=compress))
        assert size + len(partition_key(host, shown).encode()) <= MAX_RECORD_BYTES


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("kind", sorted(WORST_LINES))
def test_a_line_within_the_cap_ships_whole_with_the_id_ingest_gives_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,
    stream: str,
    kind: str,
    compress: bool,
) -> None:
    """Issue 11, B3: a line under the cap that did not fit a record used to be shortened, so
    the handler stored other content under another id than `prov ingest` gave it."""
    line = WORST_LINES[kind]
    assert len(line) == MAX_LINE_BYTES
    path = tmp_path / "audit.log"
    # Entries of their own: an entry larger than a record cannot go whole (a forced cut).
    path.write_bytes(b"\n".join([line, line, CHECKSUM_OK.encode(), CHECKSUM_OK.encode()]))
    quiet(path)
    code, report, err = ship_cli(
        capsys, moto, stream, tmp_path / "ship.db", str(path),
        *([] if compress else ["--no-compress"]),
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert "oversized_lines" not in report
    assert report["forced_cuts"] == 0
    records = raw_records(kinesis, stream)
    key = partition_key(HOST, str(path))
    assert all(len(r["Data"]) + len(key.encode()) <= MAX_RECORD_BYTES for r in records)
    envelopes = envelopes_of(kinesis, stream, path)
    assert _lines_of(envelopes) == path.read_bytes().split(b"\n")  # whole, unaltered
    shipped = ids_in(handler_store(tmp_path, kinesis, stream))
    assert shipped == ingest_cli_ids(capsys, tmp_path, path)
    assert len(shipped) == 4  # the repeats of both lines are events of their own


def test_a_line_over_the_cap_is_quarantined_alike_by_ship_and_ingest(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,
    stream: str,
) -> None:
    """Issue 11, B3: a 1,000,000-byte line (under the old 1 MiB cap, too big for a record)."""
    path = tmp_path / "audit.log"
    path.write_bytes(b"\x01" * 1_000_000 + b"\n" + CHECKSUM_OK.encode() + b"\n")
    code, _, err = ship_cli(capsys, moto, stream, tmp_path / "ship.db", str(path), "--no-compress")
    assert (code, err) == (0, "")
    handled = handler_store(tmp_path, kinesis, stream)
    assert ids_in(handled) == ingest_cli_ids(capsys, tmp_path, path)
    with SQLiteEventStore(handled) as store:
        (kept,) = quarantined_lines(store)
    assert (kept["truncated"], kept["raw_bytes"]) == (True, 1_000_000)
    assert kept["reason"] == f"line too long (1,000,000 bytes > {MAX_LINE_BYTES:,})"


# --- partial failures and crashes -------------------------------------------------------------


def test_only_the_failed_entries_of_a_call_are_retried(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = write(tmp_path / "access.log", clf_lines(300))

    def fail(call: int, index: int, data: bytes) -> str | None:
        return "ProvisionedThroughputExceededException" if call == 0 and index in (1, 3) else None

    faulty = FaultyClient(client, fail=fail)
    delays: list[float] = []
    with ShipState(tmp_path / "ship.db") as state:
        shipper = Shipper(faulty, state, options(stream, record_bytes=2_000), sleep=delays.append)
        report = shipper.run([str(path)], once=True)
    first, retry = faulty.calls
    assert len(first) > 5
    assert [entry["Data"] for entry in retry] == [first[1]["Data"], first[3]["Data"]]
    assert (report.retried_entries, report.put_calls) == (2, 2)
    assert len(delays) == 1
    assert 0 <= delays[0] <= ShipOptions(stream="s").backoff_base
    envelopes = envelopes_of(kinesis, stream, path)
    assert len(envelopes) == len(first)  # nothing written twice
    assert_exactly_once(envelopes, path)


def test_entries_that_keep_failing_stop_shipping_with_the_acknowledged_part_saved(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = write(tmp_path / "access.log", clf_lines(300, distinct=40))
    state = tmp_path / "ship.db"

    def fail(call: int, index: int, data: bytes) -> str | None:
        if call == 0 and index == 4:
            doomed.append(data)
        return "ProvisionedThroughputExceededException" if data in doomed else None

    doomed: list[bytes] = []

    faulty = FaultyClient(client, fail=fail)
    opts = options(stream, record_bytes=2_000, max_attempts=3)
    with pytest.raises(ShipError, match=r"records not written after 3 attempts") as failure:
        ship(faulty, state, opts, [path])
    assert "\n" not in str(failure.value)
    # Calls 2 and 3 retried what failed; the record at index 4 of each is never acknowledged.
    assert [len(call) for call in faulty.calls[1:]] == [1, 1]
    written = envelopes_of(kinesis, stream, path)
    with ShipState(state) as saved:
        resume = saved.load(FileKey(stream, HOST, str(path)))
    assert resume is not None
    assert resume.offset == written[3].end  # records after the failed one are not counted
    assert resume.counts  # the counter as of that boundary

    ship(client, state, opts, [path])  # restarted, healthy
    envelopes = envelopes_of(kinesis, stream, path)
    assert len(envelopes) > len(written) - 1
    assert_at_least_once(envelopes, path)
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, path)


def test_an_error_that_retrying_cannot_fix_stops_at_once(
    tmp_path: Path, client: KinesisClient, stream: str
) -> None:
    path = write(tmp_path / "access.log", clf_lines(20))
    faulty = FaultyClient(client, fail=lambda call, index, data: "KMSAccessDeniedException")
    with pytest.raises(ShipError, match="KMSAccessDeniedException"):
        ship(faulty, tmp_path / "ship.db", options(stream, record_bytes=500), [path])
    assert len(faulty.calls) == 1


def test_a_crash_after_a_put_ships_again_with_the_same_ids(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = write(
        tmp_path / "mixed.log",
        [*clf_lines(100, distinct=15), CHECKSUM_MISMATCH, *BACKTRACE, *clf_lines(100, distinct=15)],
    )
    state = tmp_path / "ship.db"
    opts = options(stream, record_bytes=800, max_call_records=4)
    crashing = FaultyClient(client, crash_after=3)
    with pytest.raises(RuntimeError, match="crash"):
        ship(crashing, state, opts, [path])
    sent_before = len(read_stream(kinesis, stream))
    assert sent_before == 12

    report = ship(client, state, opts, [path])
    envelopes = envelopes_of(kinesis, stream, path)
    assert len(envelopes) == sent_before + report.records
    duplicated = sum(len(env.lines) for env in envelopes) - report.lines
    assert duplicated > 0  # the third call's records were acknowledged but not saved
    assert_at_least_once(envelopes, path)
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, path)


# --- following files --------------------------------------------------------------------------


def _following(client: KinesisClient, state: ShipState, stream: str, **changes: Any) -> Shipper:
    opts = options(stream, **{"record_bytes": 300, **changes})
    return Shipper(client, state, opts, sleep=lambda seconds: None)


def test_a_growing_file_ships_complete_entries_and_waits_for_the_rest(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = tmp_path / "audit.log"
    path.write_text(f"{CHECKSUM_OK}\n{CHECKSUM_MISMATCH}\n{BACKTRACE[0]}\n{STATUS_CHANGED[:30]}")
    with ShipState(tmp_path / "ship.db") as state:
        shipper = _following(client, state, stream)
        shipper.follow([str(path)])
        shipper.poll()
        # The mismatch may go on (more backtrace): only the first entry is complete.
        assert [env.lines for env in envelopes_of(kinesis, stream, path)] == [
            [CHECKSUM_OK.encode()]
        ]
        with path.open("a") as out:
            out.write(f"{STATUS_CHANGED[30:]}\n{BACKTRACE[1]}\n")
        shipper.poll()
        # A line after the backtrace's end shows the mismatch complete; the last line waits.
        assert len(envelopes_of(kinesis, stream, path)) == 2
        quiet(path)
        shipper.poll(final=True)  # what --once does at the end of a quiet file
        shipper.close()
        envelopes = envelopes_of(kinesis, stream, path)
    assert [len(env.lines) for env in envelopes] == [1, 2, 2]
    assert_exactly_once(envelopes, path)
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, path)


def test_a_quiet_single_line_log_ships_its_last_line_without_waiting(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = write(tmp_path / "access.log", clf_lines(3))
    with ShipState(tmp_path / "ship.db") as state:
        shipper = _following(client, state, stream, source="clf")
        shipper.follow([str(path)])
        shipper.poll()
        envelopes = envelopes_of(kinesis, stream, path)
        shipper.close()
    assert_exactly_once(envelopes, path)
    assert shipper.report.forced_cuts == 0


def test_an_entry_left_open_by_a_quiet_file_is_shipped_after_the_idle_time(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = tmp_path / "audit.log"
    path.write_text(f"{CHECKSUM_OK}\n{CHECKSUM_MISMATCH}\n{BACKTRACE[0]}\n")
    with ShipState(tmp_path / "ship.db") as state:
        waiting = _following(client, state, stream, idle_flush_seconds=3600)
        waiting.follow([str(path)])
        waiting.poll()
        assert len(envelopes_of(kinesis, stream, path)) == 1  # the mismatch may go on
        waiting.close()
        flushing = _following(client, state, stream, idle_flush_seconds=0)
        flushing.follow([str(path)])
        flushing.poll()
        envelopes = envelopes_of(kinesis, stream, path)
        flushing.close()
    assert_exactly_once(envelopes, path)
    # Issue 11, review 2: an idle flush was counted as a forced cut, though it split nothing.
    assert (flushing.report.idle_flushes, flushing.report.forced_cuts) == (1, 0)
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, path)


def test_rotation_finishes_the_old_file_then_ships_the_new_one_with_a_fresh_counter(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = write(tmp_path / "access.log", clf_lines(30, distinct=10))
    rotated = tmp_path / "access.log.1"
    with ShipState(tmp_path / "ship.db") as state:
        shipper = _following(client, state, stream)
        shipper.follow([str(path)])
        shipper.poll()
        write(path, clf_lines(5, distinct=10), mode="a")  # written just before rotation
        old = path.read_bytes()
        path.rename(rotated)
        write(path, clf_lines(12, distinct=10))  # the same lines again: a fresh counter
        shipper.poll()
        shipper.poll(final=True)
        shipper.close()
        assert shipper.report.rotations == 1
        saved = state.load(FileKey(stream, HOST, str(path)))
    envelopes = envelopes_of(kinesis, stream, path)
    new_id = f"{path.stat().st_dev}:{path.stat().st_ino}"
    before = [env for env in envelopes if env.file_id != new_id]
    after = [env for env in envelopes if env.file_id == new_id]
    assert rotated.read_bytes() == old
    assert_exactly_once(before, rotated)
    assert_exactly_once(after, path)
    assert ids_of_envelopes(tmp_path, after) == ids_of_file(tmp_path, path)
    assert saved is not None
    assert (saved.file_id, saved.offset) == (new_id, path.stat().st_size)
    assert sum(saved.counts.values()) == 12  # only the new file's counter is kept


def test_a_file_rotated_while_not_shipping_is_finished_first(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = write(tmp_path / "access.log", clf_lines(40, distinct=8))
    state_path = tmp_path / "ship.db"
    with ShipState(state_path) as state:
        shipper = _following(client, state, stream)
        shipper.follow([str(path)])
        shipper.poll()
        shipper.close()
    write(path, clf_lines(10, distinct=8), mode="a")
    rotated = path.rename(tmp_path / "access.log.1")
    write(path, clf_lines(8))
    warnings: list[str] = []
    with ShipState(state_path) as state:
        shipper = Shipper(client, state, options(stream, record_bytes=300), warn=warnings.append)
        report = shipper.run([str(path)], once=True)
    assert report.rotations == 1
    assert any("access.log.1" in warning for warning in warnings)
    envelopes = envelopes_of(kinesis, stream, path)
    new_id = f"{path.stat().st_dev}:{path.stat().st_ino}"
    before = [env for env in envelopes if env.file_id != new_id]
    assert_exactly_once(before, rotated)
    assert ids_of_envelopes(tmp_path, before) == ids_of_file(tmp_path, rotated)
    assert_exactly_once([env for env in envelopes if env.file_id == new_id], path)


def test_truncation_ships_the_file_again_from_the_start(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = write(tmp_path / "access.log", clf_lines(40, distinct=8))
    warnings: list[str] = []
    with ShipState(tmp_path / "ship.db") as state:
        shipper = Shipper(client, state, options(stream, record_bytes=300), warn=warnings.append)
        shipper.follow([str(path)])
        shipper.poll()
        first = len(envelopes_of(kinesis, stream, path))
        write(path, clf_lines(9, distinct=8))  # copytruncate: the same file, shorter
        shipper.poll()
        shipper.poll(final=True)
        shipper.close()
        assert shipper.report.truncations == 1
    assert any("truncated" in warning for warning in warnings)
    # In the order they were put (one file's records are on one shard).
    records = [env for _, env in read_stream(kinesis, stream) if env.file == str(path)]
    # Every old line was complete, so all 40 went in the first poll; the rest is the new file.
    assert sum(len(env.lines) for env in records[:first]) == 40
    again = records[first:]
    assert_exactly_once(again, path)
    # A fresh counter: the same lines get the ids the new content alone gives them.
    assert ids_of_envelopes(tmp_path, again) == ids_of_file(tmp_path, path)


# --- real files: compressed, rotated and compressed, marked, over-long (issue 11) --------------


def _lines_of(envelopes: list[Envelope]) -> list[Any]:
    return [line for env in envelopes for line in env.lines]


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_a_compressed_file_is_read_once_with_the_ids_of_the_plain_file(
    tmp_path: Path,
    client: KinesisClient,
    kinesis: Any,
    stream: str,
    compress: Callable[[bytes], bytes],
) -> None:
    plain = write(tmp_path / "access.log", clf_lines(40, distinct=8))
    packed = tmp_path / "access.log.2.gz"
    packed.write_bytes(compress(plain.read_bytes()))
    with ShipState(tmp_path / "ship.db") as state:
        shipper = _following(client, state, stream)
        shipper.follow([str(packed)])
        shipper.poll()  # not --once: read to its end all the same, never waited on
        shipper.poll()
        shipper.close()
    envelopes = envelopes_of(kinesis, stream, packed)
    assert _lines_of(envelopes) == plain.read_bytes().splitlines()
    # Offsets are in what the file decompresses to.
    assert (envelopes[0].offset, envelopes[-1].end) == (0, plain.stat().st_size)
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, plain)
    report = ship(client, tmp_path / "ship.db", options(stream), [packed])
    assert (report.lines, report.records) == (0, 0)  # shipped before: nothing new


def test_a_file_rotated_and_compressed_while_not_shipping_is_finished_from_where_it_stopped(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    """logrotate without delaycompress: access.log -> access.log.1.gz (a new file, the old
    one removed) and a new access.log, while the shipper was not running."""
    path = write(tmp_path / "access.log", clf_lines(40, distinct=8))
    state_path = tmp_path / "ship.db"
    with ShipState(state_path) as state:
        shipper = _following(client, state, stream)
        shipper.follow([str(path)])
        shipper.poll()
        shipper.close()
    shipped = path.stat().st_size
    write(path, clf_lines(10, distinct=8), mode="a")  # written after shipping stopped
    whole = path.read_bytes()
    # As logrotate does it: rename, a new file, then the renamed one compressed and removed.
    renamed = path.rename(tmp_path / "access.log.1")
    write(path, clf_lines(8))
    (tmp_path / "access.log.1.gz").write_bytes(gzip.compress(whole))
    renamed.unlink()
    # A decoy: another old log whose line count cannot match where shipping stopped.
    (tmp_path / "access.log.2.gz").write_bytes(gzip.compress(whole[: shipped // 2]))
    warnings: list[str] = []
    with ShipState(state_path) as state:
        shipper = Shipper(client, state, options(stream, record_bytes=300), warn=warnings.append)
        report = shipper.run([str(path)], once=True)
    assert report.rotations == 1
    assert any("access.log.1.gz" in warning and f"{shipped:,}" in warning for warning in warnings)
    envelopes = envelopes_of(kinesis, stream, path)
    new_id = f"{path.stat().st_dev}:{path.stat().st_ino}"
    old = [env for env in envelopes if env.file_id != new_id]
    assert _lines_of(old) == whole.splitlines()  # every old line once: 40 then the rest
    rotated = tmp_path / "access.log.1"
    rotated.write_bytes(whole)
    assert ids_of_envelopes(tmp_path, old) == ids_of_file(tmp_path, rotated)
    assert _lines_of([env for env in envelopes if env.file_id == new_id]) == (
        path.read_bytes().splitlines()
    )


def test_a_damaged_compressed_file_ships_what_came_before_and_says_so(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    packed = tmp_path / "access.log.1.gz"
    data = gzip.compress(write(tmp_path / "access.log", clf_lines(3000, distinct=400)).read_bytes())
    packed.write_bytes(data[: len(data) // 2])
    warnings: list[str] = []
    report = ship(client, tmp_path / "ship.db", options(stream), [packed], warn=warnings.append)
    (message,) = report.damaged
    assert message.startswith(f"{packed}: gzip data is damaged or truncated after line ")
    assert warnings == [message]
    envelopes = envelopes_of(kinesis, stream, packed)
    assert 0 < len(_lines_of(envelopes)) < 3000


def test_a_byte_order_mark_is_shipped_as_ingest_reads_it(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(b"\xef\xbb\xbf" + f"{CHECKSUM_OK}\n{CHECKSUM_MISMATCH}\n".encode())
    ship(client, tmp_path / "ship.db", options(stream, record_bytes=1), [path])
    envelopes = envelopes_of(kinesis, stream, path)
    assert _lines_of(envelopes) == [CHECKSUM_OK.encode(), CHECKSUM_MISMATCH.encode()]
    assert (envelopes[0].offset, envelopes[-1].end) == (0, path.stat().st_size)
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, path)


def test_an_over_long_line_gets_the_id_and_the_quarantine_record_ingest_gives_it(
    tmp_path: Path, client: KinesisClient, kinesis: Any, stream: str
) -> None:
    long_line = b"x" * (MAX_LINE_BYTES + 1000) + b"\xe9"
    path = tmp_path / "audit.log"
    path.write_bytes(
        b"\n".join([CHECKSUM_OK.encode(), long_line, long_line, CHECKSUM_MISMATCH.encode()]) + b"\n"
    )
    report = ship(client, tmp_path / "ship.db", options(stream), [path])
    assert report.lines == 4
    envelopes = envelopes_of(kinesis, stream, path)
    overlong = [line for line in _lines_of(envelopes) if isinstance(line, OverlongLine)]
    assert [line.length for line in overlong] == [len(long_line)] * 2
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, path)
    with SQLiteEventStore(tmp_path / "kept.db") as store:
        for env in envelopes:
            ingest_envelope(store, env, IngestOptions(tz=LA))
        kept = quarantined_lines(store)
    assert [(item["truncated"], item["raw_bytes"]) for item in kept] == [(True, len(long_line))] * 2


# --- the command ------------------------------------------------------------------------------


def ship_cli(
    capsys: pytest.CaptureFixture[str],
    moto: MotoServer,
    stream: str,
    state: Path,
    *args: str,
) -> tuple[int, dict[str, Any], str]:
    """`prov ship ARGS --once` as a user runs it on finished logs (`--idle-flush 0` unless
    ARGS say: read to their ends, every entry finished): exit code, JSON report, stderr."""
    if "--idle-flush" not in args:
        args = (*args, "--idle-flush", "0")
    code, out, err = run_cli(
        capsys, "ship", *args, "--stream", stream, "--endpoint-url", moto.endpoint_url,
        "--state", str(state), "--once", "--host", HOST, "--tz", "America/Los_Angeles",
        "--format", "json",
    )  # fmt: skip
    assert "Traceback" not in err
    return code, json.loads(out) if out else {}, err


def ingest_cli_ids(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str | Path
) -> set[str]:
    """The event ids `prov ingest ARGS` stores (as `prov ship` runs it: same host and zone)."""
    store = tmp_path / f"ingested-{uuid.uuid4().hex}.db"
    code, _, err = run_cli(
        capsys, "ingest", "--store", f"sqlite:///{store}", "--host", HOST,
        "--tz", "America/Los_Angeles", "--format", "json", *map(str, args),
    )  # fmt: skip
    assert code == 0, err
    return ids_in(store)


def test_cli_once_prints_one_json_document(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,
    stream: str,
) -> None:
    path = write(tmp_path / "access.log", clf_lines(50))
    args = ["ship", str(path), "--stream", stream, "--endpoint-url", moto.endpoint_url]
    args += ["--state", str(tmp_path / "ship.db"), "--once", "--record-bytes", "2000"]
    code, out, err = run_cli(capsys, *args, "--host", HOST, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["lines"] == 50
    assert report["records"] == len(read_stream(kinesis, stream)) > 1
    for key in ("files", "bytes", "put_calls", "retried_entries", "forced_cuts", "idle_flushes"):
        assert key in report
    assert report["files"][0]["offset"] == path.stat().st_size
    # Run again: nothing new to ship.
    code, out, err = run_cli(capsys, *args, "--host", HOST)
    assert code == 0, err
    assert out.startswith("0 lines in 0 records (0 bytes, 0 PUT payload units)")


def test_cli_lines_show_a_hostile_file_name_visibly(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,
    stream: str,
) -> None:
    path = write(tmp_path / f"access{HOSTILE_TOKEN}.log", clf_lines(3))
    args = ["ship", str(path), "--stream", stream, "--endpoint-url", moto.endpoint_url]
    args += ["--state", str(tmp_path / "ship.db"), "--once", "--host", HOST]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert f"  {tmp_path}/access{HOSTILE_TOKEN_SHOWN}.log: 3 lines, shipped to byte" in out
    write(path, clf_lines(1))  # truncated: the warning names the file
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert err.startswith(
        f"prov: warning: {tmp_path}/access{HOSTILE_TOKEN_SHOWN}.log no longer holds the lines"
    )
    assert raw_controls(out) == [] and raw_controls(err) == []


def test_cli_ships_a_file_whose_name_is_not_utf_8(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,
    stream: str,
) -> None:
    """Issue 11, B4: a name that is not UTF-8 ended in a traceback from the state file."""
    path = write(Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.log")), clf_lines(20))
    shown = f"{tmp_path}/caf\\xe9.log"
    state = tmp_path / "ship.db"
    code, report, err = ship_cli(capsys, moto, stream, state, str(path))
    assert (code, err, report["lines"]) == (0, "", 20)
    assert report["files"][0]["path"] == shown
    envelopes = [env for _, env in read_stream(kinesis, stream)]
    assert {env.file for env in envelopes} == {shown}  # as prov ingest names it
    assert ids_in(handler_store(tmp_path, kinesis, stream)) == ingest_cli_ids(
        capsys, tmp_path, path
    )
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT path FROM shipped_files").fetchall() == [(os.fsencode(path),)]
    code, report, err = ship_cli(capsys, moto, stream, state, str(path))  # resumed at its end
    assert (code, err, report["lines"]) == (0, "", 0)


def _fifo(path: Path) -> str:
    os.mkfifo(path)  # never opened: opening one waits for a writer
    return str(path)


def _binary(path: Path) -> str:
    path.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(64))
    return str(path)


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (
            lambda p, url, s: [str(p / "missing.log"), "--stream", s, "--endpoint-url", url],
            "cannot read .*missing.log: no such file",
        ),
        (
            lambda p, url, s: [
                str(p / "a.log"),
                "--stream",
                s,
                "--endpoint-url",
                "http://127.0.0.1:9",
            ],
            "cannot ship to .*: Could not connect to the endpoint URL",
        ),
        (
            lambda p, url, s: [
                str(p / "a.log"),
                "--stream",
                "no-such-stream",
                "--endpoint-url",
                url,
            ],
            "stream no-such-stream not found",
        ),
        (
            lambda p, url, s: [str(p / "a.log"), "--stream", s, "--source", "nope"],
            "unknown source 'nope'",
        ),
        (
            lambda p, url, s: [str(p), "--stream", s, "--endpoint-url", url],
            "cannot ship .*: is a directory: give the files to follow",
        ),
        (
            lambda p, url, s: [_fifo(p / "pipe"), "--stream", s, "--endpoint-url", url],
            "cannot ship .*pipe: a pipe or device has no offsets to resume at",
        ),
        (
            lambda p, url, s: [_binary(p / "core"), "--stream", s, "--endpoint-url", url],
            "core looks binary \\(NUL bytes in the first 8 KiB\\): use --force to ship it",
        ),
    ],
    ids=[
        "missing-file",
        "unreachable-endpoint",
        "unknown-stream",
        "unknown-source",
        "directory",
        "fifo",
        "binary",
    ],
)
def test_cli_errors_are_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    stream: str,
    make_args: Callable[[Path, str, str], list[str]],
    message: str,
) -> None:
    write(tmp_path / "a.log", clf_lines(3))
    args = make_args(tmp_path, moto.endpoint_url, stream)
    code, out, err = run_cli(
        capsys, "ship", *args, "--once", "--max-attempts", "1", "--state", str(tmp_path / "s.db")
    )
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("prov: error: ")
    assert re.search(message, err), err


def test_cli_state_file_is_private_and_written_through_a_symlink(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, moto: MotoServer, stream: str
) -> None:
    path = write(tmp_path / "access.log", clf_lines(5))
    (tmp_path / "state").mkdir()
    link = tmp_path / "ship.db"
    link.symlink_to(tmp_path / "state" / "ship.db")
    args = ["ship", str(path), "--stream", stream, "--endpoint-url", moto.endpoint_url]
    old = os.umask(0o022)
    try:
        code, _, err = run_cli(capsys, *args, "--state", str(link), "--once", "--host", HOST)
    finally:
        os.umask(old)

    assert code == 0, err
    state = tmp_path / "state" / "ship.db"
    assert link.is_symlink() and state.stat().st_size > 0
    # The -wal and -shm files SQLite makes beside it get the same mode.
    for made in state.parent.iterdir():
        assert made.stat().st_mode & 0o777 == 0o600, made


@pytest.mark.parametrize("kind", ["fifo", "dash", "folder", "proc"])
def test_cli_a_state_path_that_cannot_hold_a_database_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    path = write(tmp_path / "access.log", clf_lines(3))
    state = {
        "fifo": str(tmp_path / "fifo"),
        "dash": "-",
        "folder": str(tmp_path),
        "proc": "/proc/prov-test-ship.db",
    }[kind]
    if kind == "fifo":
        os.mkfifo(state)
    before = sorted(os.listdir(tmp_path))

    code, out, err = run_cli(
        capsys, "ship", str(path), "--stream", "s", "--region", REGION, "--state", state, "--once"
    )

    assert (code, out) == (1, "")
    assert err.startswith("prov: error: ") and err.count("\n") == 1, err
    assert state in err and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == before
    assert not Path("-").exists()


@pytest.mark.parametrize("kind", ["event store", "other database"])
def test_cli_a_state_path_holding_another_database_is_refused_untouched(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    # An event store given as --state got the state's tables written into it, and shipping ran.
    path = write(tmp_path / "access.log", clf_lines(3))
    state = tmp_path / "B.db"
    if kind == "event store":
        SQLiteEventStore(state).close()
    else:
        with sqlite3.connect(state) as db:
            db.execute("CREATE TABLE notes (text TEXT)")
        sqlite3.connect(state).close()
    before = state.read_bytes(), sorted(os.listdir(tmp_path))

    code, out, err = run_cli(
        capsys, "ship", str(path), "--stream", "s", "--region", REGION, "--state", str(state),
        "--once",
    )  # fmt: skip

    assert (code, out) == (1, "")
    assert err == (
        f"prov: error: {state} is an SQLite database of something else, not a ship state "
        "file; choose another path (--state)\n"
    )
    assert (state.read_bytes(), sorted(os.listdir(tmp_path))) == before


def test_cli_a_damaged_compressed_file_is_warned_about_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, moto: MotoServer, stream: str
) -> None:
    data = gzip.compress(write(tmp_path / "access.log", clf_lines(3000, distinct=400)).read_bytes())
    packed = tmp_path / "access.log.1.gz"
    packed.write_bytes(data[: len(data) // 2])
    code, out, err = run_cli(
        capsys, "ship", str(packed), "--stream", stream, "--endpoint-url", moto.endpoint_url,
        "--state", str(tmp_path / "s.db"), "--once", "--format", "json",
    )  # fmt: skip
    assert code == 1
    (damaged,) = json.loads(out)["damaged"]
    assert err.splitlines() == [
        f"prov: warning: {damaged}",
        "prov: error: 1 compressed file(s) damaged part-way (warned above): what came before "
        "the damage is shipped",
    ]


# --- a real process, killed ---------------------------------------------------------------------


def _prov(*args: str) -> list[str]:
    return [sys.executable, "-c", "from provenance.cli.main import main; main()", *args]


def _saved_offset(state: Path) -> int:
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
            row = db.execute("SELECT max(offset) FROM shipped_files").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0] or 0)


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_shipper_killed_mid_file_and_restarted_loses_no_line_and_adds_no_id(
    tmp_path: Path, moto: MotoServer, kinesis: Any, stream: str
) -> None:
    lines = clf_lines(3000, distinct=400)
    lines[1500:1500] = [CHECKSUM_MISMATCH, *BACKTRACE]
    path = write(tmp_path / "access.log", lines)
    state = tmp_path / "ship.db"
    args = _prov(
        "ship", str(path), "--stream", stream, "--endpoint-url", moto.endpoint_url,
        "--state", str(state), "--host", HOST, "--tz", "America/Los_Angeles",
        "--record-bytes", "2000", "--call-records", "10", "--format", "json",
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    first = subprocess.Popen(
        [*args, "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        _wait_for(lambda: _saved_offset(state) > 0 or first.poll() is not None)
        first.send_signal(signal.SIGKILL)
    finally:
        first.communicate(timeout=30)
    killed_at = _saved_offset(state)
    assert 0 < killed_at < path.stat().st_size, "killed too late: make the file longer"

    # Restarted, following this time; SIGTERM stops it cleanly once all is shipped.
    second = subprocess.Popen(
        [*args, "--poll", "0.05"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The last line waits for a line after it (it might be continued): all but it.
        _wait_for(lambda: _saved_offset(state) >= path.stat().st_size - len(lines[-1]) - 1)
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=30)
    finally:
        second.kill()
    assert second.returncode == 0, err
    assert json.loads(out)["stopped"] is True

    subprocess.run([*args, "--once"], env=env, check=True, capture_output=True)
    envelopes = envelopes_of(kinesis, stream, path)
    assert_at_least_once(envelopes, path)
    assert ids_of_envelopes(tmp_path, envelopes) == ids_of_file(tmp_path, path)
