"""`prov ingest` on real inputs (issue 11, items 7 and 12-16): directories, streams, compressed
files, byte-order marks, bytes that are not UTF-8, over-long lines and binary files.

Through the real command (`provenance.cli.main.main`, or a subprocess where a shell or stdin is
needed), into real SQLite files. What must hold for every input: `lines = consumed + ignored +
quarantined`, and a line gets the same id however it was read.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eventstore.sqlite import SQLiteEventStore
from premis import unescape
from provenance.domain.events import load_event
from provenance.domain.identity import QUARANTINE_INDEX, event_id, line_digest
from provenance.ingest.report import natural_order
from provenance.query.views import quarantined_lines
from provenance.records.lines import BOM, MAX_LINE_BYTES
from tests.cli.test_cli import run as prov
from tests.conftest import ingest_bytes
from tests.premis_helpers import assert_valid_premis
from tests.samples import CHECKSUM_MISMATCH, CHECKSUM_OK, OBJECT_LOG, REPLICATED

DRUID = "bj102hs9687"
# A real fixity failure whose file name holds bytes that are not UTF-8 (Latin-1 "é", then 0xFF).
MISMATCH_LATIN1 = (
    b"E, [2026-03-01T22:14:06.000000 #4711] ERROR -- : validate_checksums(bj102hs9687, "
    b"fixture_sr3) checksums or size for /services-disk02/caf\xe9\xff.pdf version 1 do not match"
    b" entry in latest signatureCatalog.xml."
)
BINARY = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"some text in between\n" + bytes(range(256))


def prov_process(*args: str, stdin: bytes = b"", shell: str | None = None) -> Any:
    """`prov` in a process of its own (stdin, process substitution); `shell`: a bash command
    line in which `prov` is this interpreter running the CLI."""
    command = f"{sys.executable} -c 'from provenance.cli.main import main; main()'"
    if shell is not None:
        return subprocess.run(
            ["bash", "-c", shell.replace("prov ", command + " ", 1)],
            capture_output=True,
            check=False,
        )
    return subprocess.run(
        [sys.executable, "-c", "from provenance.cli.main import main; main()", *args],
        input=stdin,
        capture_output=True,
        check=False,
    )


def ingest_json(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> dict[str, Any]:
    code, out, err = prov(
        capsys, "ingest", "--store", url, "--tz", "UTC", "--format", "json", *args
    )
    assert code == 0, err
    report = json.loads(out)
    assert_accounted(report)
    return report


def assert_accounted(report: dict[str, Any]) -> None:
    assert report["lines"] == report["consumed"] + report["ignored"] + report["quarantined"]


def ids(path: Path) -> set[str]:
    """Every id in the store (events and quarantine records)."""
    with SQLiteEventStore(path) as store:
        return {record.event_id for record in store.read_all()}


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "object.log"
    path.write_text("not a log line\n" + OBJECT_LOG)
    return path


def plain_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str], log: Path) -> set[str]:
    store = tmp_path / "plain.db"
    ingest_json(capsys, f"sqlite:///{store}", str(log))
    return ids(store)


# --- item 7: directories, streams, missing files ----------------------------------------------


def test_a_directory_is_refused_with_its_own_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    store = tmp_path / "s.db"
    code, out, err = prov(capsys, "ingest", "--store", f"sqlite:///{store}", str(folder))
    assert code == 1 and out == ""
    assert (
        err
        == f"prov: error: cannot read {folder}: is a directory: give its files, or --recursive\n"
    )
    assert not store.exists()  # refused before anything was touched


def test_recursive_reads_every_file_below_in_path_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: Path
) -> None:
    folder = tmp_path / "logs"
    (folder / "b").mkdir(parents=True)
    (folder / "c").mkdir()
    shutil.copy(log, folder / "b" / "2.log")
    (folder / "b" / "1.log.gz").write_bytes(gzip.compress(log.read_bytes()))
    shutil.copy(log, folder / "a.log")
    (folder / "c" / "core").write_bytes(BINARY)
    os.mkfifo(folder / "c" / "fifo")  # not a regular file: passed by, never opened
    url = f"sqlite:///{tmp_path / 'r.db'}"
    code, out, err = prov(capsys, "ingest", "--store", url, "-r", "--format", "json", str(folder))
    assert code == 0, err
    report = json.loads(out)
    assert_accounted(report)
    assert report["files"] == [str(folder / name) for name in ("a.log", "b/1.log.gz", "b/2.log")]
    assert report["passed_by"] == {
        str(folder / "c" / "core"): "looks binary (NUL bytes in the first 8 KiB)"
    }
    assert err == (
        f"prov: note: passing by {folder / 'c' / 'core'}: looks binary (NUL bytes in the "
        "first 8 KiB) (--force reads it)\n"
    )
    # Three copies of one file: the compressed one adds nothing the plain ones did not.
    assert report["events"] == 8 and report["duplicates"] == 16
    code, out, err = prov(
        capsys, "ingest", "--store", url, "-r", "--force", "--format", "json", str(folder)
    )
    assert code == 0, err
    assert str(folder / "c" / "core") in json.loads(out)["files"]


def test_dev_null_is_an_empty_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = ingest_json(capsys, f"sqlite:///{tmp_path / 'n.db'}", "/dev/null")
    assert (report["lines"], report["files"]) == (0, ["/dev/null"])


def test_a_fifo_is_read_as_a_stream(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("wb") as out:
            out.write(gzip.compress(log.read_bytes()))  # compressed, too

    writer = threading.Thread(target=write)
    writer.start()
    store = tmp_path / "fifo.db"
    try:
        report = ingest_json(capsys, f"sqlite:///{store}", str(fifo))
    finally:
        writer.join(timeout=30)
    assert report["lines"] == 9
    assert ids(store) == plain_ids(tmp_path, capsys, log)


@pytest.mark.skipif(shutil.which("bash") is None, reason="process substitution needs bash")
def test_process_substitution_is_read_as_a_stream(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: Path
) -> None:
    packed = tmp_path / "object.log.gz"
    packed.write_bytes(gzip.compress(log.read_bytes()))
    store = tmp_path / "sub.db"
    done = prov_process(
        shell=f"prov ingest --store sqlite:///{store} --tz UTC --format json <(gzip -dc {packed})"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["lines"] == 9 and report["files"][0].startswith("/dev/fd/")
    assert ids(store) == plain_ids(tmp_path, capsys, log)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.log", "cannot read {path}: no such file"),
        (lambda p: p, "cannot read {path}: is a directory: give its files, or --recursive"),
    ],
    ids=["missing", "directory"],
)
def test_a_bad_name_stops_the_run_before_anything_is_read(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    log: Path,
    make: Callable[[Path], Path],
    message: str,
) -> None:
    path = make(tmp_path)
    store = tmp_path / "bad.db"
    code, out, err = prov(capsys, "ingest", "--store", f"sqlite:///{store}", str(log), str(path))
    assert (code, out) == (1, "")
    assert err == f"prov: error: {message.format(path=path)}\n"
    assert not store.exists()


def test_stdin_closed_is_refused_in_one_line(tmp_path: Path, log: Path) -> None:
    """`prov ingest - <&-`: Python starts with no sys.stdin at all."""
    store = tmp_path / "closed.db"
    done = prov_process(shell=f"prov ingest --store sqlite:///{store} {log} - <&-")
    assert done.returncode == 1
    assert done.stderr == b"prov: error: cannot read -: standard input is closed\n"
    assert not store.exists()  # refused with the other names, before anything was read


# --- item 12: compressed input ------------------------------------------------------------------

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    # Two members, as `cat a.gz b.gz` makes them.
    "gzip-members": lambda data: gzip.compress(data[:100]) + gzip.compress(data[100:]),
}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_a_compressed_file_gives_the_ids_of_the_plain_file_whatever_its_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: Path, kind: str
) -> None:
    packed = tmp_path / "object.log"  # the content decides, not the name
    packed.write_bytes(COMPRESSORS[kind](log.read_bytes()))
    store = tmp_path / "packed.db"
    report = ingest_json(capsys, f"sqlite:///{store}", str(packed))
    assert (report["lines"], report["quarantined"]) == (9, 1)
    assert ids(store) == plain_ids(tmp_path, capsys, log)


def test_a_plain_file_named_gz_is_read_as_it_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: Path
) -> None:
    misnamed = tmp_path / "object.log.gz"
    shutil.copy(log, misnamed)
    store = tmp_path / "misnamed.db"
    ingest_json(capsys, f"sqlite:///{store}", str(misnamed))
    assert ids(store) == plain_ids(tmp_path, capsys, log)


def test_compressed_stdin_is_decompressed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: Path
) -> None:
    store = tmp_path / "stdin.db"
    done = prov_process(
        "ingest", "--store", f"sqlite:///{store}", "--tz", "UTC", "-",
        stdin=gzip.compress(log.read_bytes()),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert ids(store) == plain_ids(tmp_path, capsys, log)


def test_a_damaged_compressed_file_is_one_line_and_what_came_before_it_is_kept(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: Path
) -> None:
    lines = [f"{CHECKSUM_OK} {n}" for n in range(20_000)]  # unknown message: quarantined
    whole = ("\n".join(lines) + "\n").encode()
    packed = gzip.compress(whole)
    damaged = tmp_path / "audit.log.1.gz"
    damaged.write_bytes(packed[: len(packed) // 2])
    store = tmp_path / "damaged.db"
    code, out, err = prov(
        capsys, "ingest", "--store", f"sqlite:///{store}", "--format", "json",
        str(damaged), str(log),
    )  # fmt: skip
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"prov: error: {damaged}: gzip data is damaged")
    report = json.loads(out)
    assert_accounted(report)
    assert report["files"] == [str(damaged), str(log)]  # the next input was read all the same
    read = report["lines"] - 9
    assert 0 < read < len(lines)
    assert f"the {read:,} lines before it are stored" in err
    assert len(ids(store)) == report["events"] + report["quarantined"]


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz"])
def test_the_line_damage_cuts_short_is_quarantined_and_counted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    """Every byte read before the damage is accounted for: the partial line before it too,
    quarantined (never parsed: `I, [2026-03-0` is no log line), with the id any line gets."""
    # Of one width, so that no line is the start of another; an unknown message, so every
    # line is kept in the quarantine and can be compared with what was written.
    lines = [f"{CHECKSUM_OK} {n:05d}".encode() for n in range(3_000)]
    packed = COMPRESSORS[kind](b"\n".join(lines) + b"\n")
    # Cut where what can be decompressed ends in the middle of a line.
    cut = next(
        cut
        for cut in range(len(packed) // 2, len(packed))
        if (readable := _readable_part(packed[:cut], kind)) and not readable.endswith(b"\n")
    )
    damaged = tmp_path / "audit.log.1.z"
    damaged.write_bytes(packed[:cut])
    store = tmp_path / "cut.db"

    code, out, err = prov(
        capsys, "ingest", "--store", f"sqlite:///{store}", "--format", "json", str(damaged)
    )

    assert code == 1 and err.count("\n") == 1 and "damaged or truncated" in err
    report = json.loads(out)
    assert_accounted(report)
    read = report["lines"]
    if kind != "bzip2":
        # (The standard library's bzip2 reader gives less of a truncated block than its
        # decompressor holds; what it gives is accounted for all the same.)
        assert read == readable.count(b"\n") + 1
    reason = "cut short by damaged or unreadable input"
    assert report["quarantined_by_reason"][reason] == 1
    with SQLiteEventStore(store) as opened:
        kept = sorted(quarantined_lines(opened), key=lambda item: item["line"])
    assert [item["line"] for item in kept] == list(range(1, read + 1))
    texts = [base64.b64decode(item["raw_base64"]) for item in kept]
    assert texts[:-1] == lines[: read - 1]
    partial, last = texts[-1], kept[-1]
    assert last["reason"] == reason and lines[read - 1].startswith(partial)
    assert 0 < len(partial) < len(lines[read - 1])
    text = partial.decode("utf-8", "surrogateescape")
    assert last["event_id"] == event_id("auto", "", line_digest(text), 0, QUARANTINE_INDEX)
    # Read again: nothing new, the cut line included.
    stored = ids(store)
    prov(capsys, "ingest", "--store", f"sqlite:///{store}", str(damaged))
    assert ids(store) == stored


def _readable_part(data: bytes, kind: str) -> bytes:
    """What a decompressor gives of damaged `data` before it fails."""
    make: dict[str, Callable[[], Any]] = {
        "gzip": lambda: zlib.decompressobj(wbits=31),
        "bzip2": bz2.BZ2Decompressor,
        "xz": lzma.LZMADecompressor,
    }
    return bytes(make[kind]().decompress(data))


# --- item 13: the byte-order mark ---------------------------------------------------------------


def test_a_byte_order_mark_is_not_part_of_the_first_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: Path
) -> None:
    marked = tmp_path / "marked.log"
    text = OBJECT_LOG  # its first line is a robot step, which a mark would hide
    marked.write_bytes(BOM + text.encode())
    store = tmp_path / "bom.db"
    report = ingest_json(capsys, f"sqlite:///{store}", str(marked))
    assert (report["lines"], report["quarantined"]) == (8, 0)
    unmarked = tmp_path / "unmarked.log"
    unmarked.write_text(text)
    plain = tmp_path / "no-bom.db"
    ingest_json(capsys, f"sqlite:///{plain}", str(unmarked))
    assert ids(store) == ids(plain)


# --- item 14: bytes that are not UTF-8 ----------------------------------------------------------


def test_a_fixity_failure_naming_an_undecodable_file_is_in_history_state_and_premis(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(f"{CHECKSUM_OK}\n".encode() + MISMATCH_LATIN1 + b"\n")
    url = f"sqlite:///{tmp_path / 'latin1.db'}"
    report = ingest_json(capsys, url, str(path))
    assert (report["events"], report["quarantined"]) == (2, 0)
    code, out, err = prov(capsys, "history", DRUID, "--store", url, "--format", "json")
    assert code == 0, err
    failed = [event for event in json.loads(out) if event["outcome"] == "fail"]
    assert [(e["type"], e["file_path"]) for e in failed] == [
        ("FixityChecked", "/services-disk02/caf\\xe9\\xff.pdf")
    ]
    code, out, err = prov(capsys, "state", DRUID, "--store", url, "--format", "json")
    assert code == 0, err
    (failure,) = json.loads(out)["open_failures"]
    assert "caf\\xe9\\xff.pdf version 1 do not match" in failure["detail"]
    premis = tmp_path / "object.xml"
    code, _, err = prov(capsys, "premis", DRUID, "--store", url, "-o", str(premis))
    assert code == 0, err
    assert_valid_premis(premis)
    # The event holds the bytes as the text `\xe9\xff`; PREMIS spells a backslash `\\`, so
    # that the text comes back exactly (`premis.unescape`) and never reads as the byte itself.
    written = premis.read_bytes()
    assert b"disk02/caf\\\\xe9\\\\xff.pdf</premis:linkingObjectIdentifierValue>" in written
    linked = [
        part.rsplit(b"disk02/", 1)[1].decode()
        for part in written.split(b"</premis:linkingObjectIdentifierValue>")
        if b"disk02/caf" in part.rsplit(b">", 1)[-1]
    ]
    assert [unescape(name) for name in linked] == ["caf\\xe9\\xff.pdf"]


def test_a_line_quarantined_before_for_its_bytes_alone_becomes_its_event_on_replay(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from provenance.domain.events import QUARANTINE_STREAM, SourceRef
    from provenance.domain.identity import QUARANTINE_INDEX, event_id, line_digest
    from provenance.ingest.event_records import quarantine_record

    store = tmp_path / "old.db"
    url = f"sqlite:///{store}"
    head = MISMATCH_LATIN1.decode("utf-8", "surrogateescape")
    with SQLiteEventStore(store, create=True) as opened:
        # What ingest wrote for such a line before: the line alone, read by no parser.
        old = quarantine_record(
            event_id("auto", "", line_digest(head), 0, QUARANTINE_INDEX),
            SourceRef(type="auto", file="audit.log", line=1),
            "invalid UTF-8 at byte 150",
            MISMATCH_LATIN1,
            "auto",
            0,
            1,
            datetime.now(UTC),
        )
        opened.append([old])
    code, out, err = prov(capsys, "quarantine", "--store", url, "--replay", "--format", "json")
    assert code == 0, err
    assert (json.loads(out)["events"], json.loads(out)["quarantined"]) == (1, 0)
    path = tmp_path / "audit.log"
    path.write_bytes(MISMATCH_LATIN1 + b"\n")
    fresh = tmp_path / "fresh.db"
    ingest_json(capsys, f"sqlite:///{fresh}", str(path))
    with SQLiteEventStore(store) as opened:
        replayed = {r.event_id for r in opened.read_all() if r.stream != QUARANTINE_STREAM}
    assert replayed and replayed == ids(fresh)  # the event a fresh ingest gives, same id


def _tagged(message: str) -> bytes:
    request = "8c1d5e2f-0a9b-4c3d-8e7f-6a5b4c3d2e1f"
    return f"[2026-03-02T10:01:02.123-08:00] [INFO] [{request}] {message}".encode()


def _robot(message: str, severity: str = "INFO") -> bytes:
    return f"2026-02-01T09:00:00.000Z pid=4711 tid=abc {severity}: {message}".encode()


# Per source: lines with a byte that is not UTF-8 in a free text field, and the events they give.
UNDECODABLE_LINES: dict[str, tuple[list[bytes], int]] = {
    "prescat": ([MISMATCH_LATIN1], 1),
    "clf": (
        [
            b'171.66.1.2 - - [01/Mar/2026:10:00:00 -0800] "GET /file/druid:bj102hs9687/caf\xe9.pdf'
            b' HTTP/1.1" 200 1000 "-" "Mozilla/5.0 \xff"'
        ],
        1,
    ),
    "lograge": (
        [
            _tagged(
                "method=GET path=/v1/objects/druid:bc123df4567/events format=json "
                "controller=EventsController action=index status=200 duration=58.33"
            ).replace(b"/events", b"/caf\xe9")
        ],
        1,
    ),
    "rails": (
        [
            _tagged(
                'Started GET "/bb123cd4567/caf" for 171.64.1.2 at 2026-03-02 10:01:02 -0800'
            ).replace(b"caf", b"caf\xe9"),
            _tagged("Processing by IiifController#manifest as JSON"),
            _tagged("Completed 200 OK in 17ms (Views: 1.2ms | ActiveRecord: 3.4ms)"),
        ],
        1,
    ),
    "robots": (
        [
            _robot("druid:bj102hs9687 processing transfer-object (preservationIngestWF)"),
            _robot("Error transferring bag: cp failed for caf", "ERROR") + b"\xe9",
        ],
        2,
    ),
    "sdr-events": (
        # A real escaped pair (an emoji) next to the undecodable byte: no lone surrogate.
        [
            REPLICATED.replace("preservation-catalog", "preservation-catalog \\ud83d\\ude00")
            .encode()
            .replace(b"aws_s3_west_2", b"aws_s3_west_2\xe9")
        ],
        1,
    ),
}


@pytest.mark.parametrize("source", sorted(UNDECODABLE_LINES))
def test_every_source_reads_lines_with_undecodable_bytes(store: Any, source: str) -> None:
    lines, events = UNDECODABLE_LINES[source]
    report = ingest_bytes(store, b"\n".join(lines) + b"\n", source=source, service="svc")
    assert (report.lines, report.consumed, report.events) == (len(lines), len(lines), events)
    payloads = [record.payload for record in store.read_all()]
    # The byte shown visibly (a backslash is escaped in JSON), and nowhere a lone surrogate.
    assert any(b"\\\\x" in payload for payload in payloads)
    for payload in payloads:
        assert not _lone_surrogates(load_event(payload).model_dump(mode="python"))


def _lone_surrogates(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(char) <= 0xDFFF for char in value)
    if isinstance(value, dict):
        return any(_lone_surrogates(k) or _lone_surrogates(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(map(_lone_surrogates, value))
    return False


def test_a_file_name_that_is_not_utf8_is_shown_visibly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.log")
    Path(name).write_bytes(f"{CHECKSUM_OK}\nnot a log line\n".encode())
    store = tmp_path / "name.db"
    ingest_json(capsys, f"sqlite:///{store}", name)
    with SQLiteEventStore(store) as opened:
        files = {load_event(r.payload).source.file for r in opened.read_all()}
    assert files == {f"{tmp_path}/caf\\xe9.log"}


# --- item 15: over-long lines ---------------------------------------------------------------------


def test_an_over_long_line_is_quarantined_truncated_with_its_length(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Two lines over the cap that differ only in their last byte, between real lines.
    long_a = b"x" * (MAX_LINE_BYTES + 500_000) + b"a"
    long_b = long_a[:-1] + b"b"
    data = b"\n".join([CHECKSUM_OK.encode(), long_a, long_b, CHECKSUM_MISMATCH.encode()]) + b"\n"
    path = tmp_path / "long.log"
    path.write_bytes(data)
    store = tmp_path / "long.db"
    report = ingest_json(capsys, f"sqlite:///{store}", str(path))
    reason = f"line too long ({len(long_a):,} bytes > {MAX_LINE_BYTES:,})"
    assert (report["lines"], report["events"], report["quarantined"]) == (4, 2, 2)
    assert report["quarantined_by_reason"] == {reason: 2}
    with SQLiteEventStore(store) as opened:
        kept = quarantined_lines(opened)
    assert [item["line"] for item in kept] == [2, 3] or [item["line"] for item in kept] == [3, 2]
    assert len({item["event_id"] for item in kept}) == 2
    for item in kept:
        whole = long_a if item["line"] == 2 else long_b
        raw = base64.b64decode(item["raw_base64"])
        assert item["truncated"] is True and item["reason"] == reason
        assert (item["raw_bytes"], item["raw_sha256"]) == (
            len(whole),
            hashlib.sha256(whole).hexdigest(),
        )
        assert 0 < len(raw) <= 64 * 1024 and whole.startswith(raw)
    # Read again: nothing new.
    stored = ids(store)
    again = ingest_json(capsys, f"sqlite:///{store}", str(path))
    assert (again["events"], again["duplicates"], ids(store)) == (0, 2, stored)


def test_an_over_long_line_held_in_memory_gets_the_id_it_gets_from_a_file(
    store: Any, tmp_path: Path
) -> None:
    from provenance.ingest.pipeline import ingest_lines
    from provenance.ingest.reader import IngestOptions

    lines = [CHECKSUM_OK.encode(), b"y" * (MAX_LINE_BYTES + 1), CHECKSUM_MISMATCH.encode()]
    ingest_bytes(store, b"\n".join(lines), name="f")
    with SQLiteEventStore(tmp_path / "lines.db") as other:
        ingest_lines(other, lines, "f", IngestOptions())
        assert {r.event_id for r in other.read_all()} == {r.event_id for r in store.read_all()}


# --- item 16: binary files, and the order of reasons ----------------------------------------------


def test_a_binary_file_is_refused_and_nothing_of_it_stored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ls"
    path.write_bytes(BINARY)
    store = tmp_path / "bin.db"
    code, out, err = prov(capsys, "ingest", "--store", f"sqlite:///{store}", str(path))
    assert (code, out) == (1, "")
    assert err == (
        f"prov: error: {path} looks binary (NUL bytes in the first 8 KiB): use --force to read"
        " it anyway\n"
    )
    assert not store.exists()
    report = ingest_json(capsys, f"sqlite:///{store}", "--force", str(path))
    assert report["lines"] == 3 and report["quarantined"] == 3


def test_binary_data_is_told_after_decompression_and_on_stdin(tmp_path: Path) -> None:
    store = tmp_path / "bin.db"
    done = prov_process("ingest", "--store", f"sqlite:///{store}", "-", stdin=gzip.compress(BINARY))
    assert done.returncode == 1
    assert done.stderr == (
        b"prov: error: - looks binary (NUL bytes in the first 8 KiB): use --force to read it"
        b" anyway\n"
    )
    assert ids(store) == set()


def test_reasons_are_listed_in_natural_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "long.log"
    # 10,000,001 sorts before 2,000,001 as text; as numbers it comes after. 600,000 comes
    # after both when only the digits before a thousands separator are read as a number.
    path.write_bytes(b"".join(b"z" * size + b"\n" for size in (10_000_001, 2_000_001, 600_000)))
    url = f"sqlite:///{tmp_path / 'order.db'}"
    sizes = ["600,000", "2,000,001", "10,000,001"]
    report = ingest_json(capsys, url, str(path))
    listed = list(report["quarantined_by_reason"])
    assert [f"({size} bytes" in reason for size, reason in zip(sizes, listed, strict=True)] == [
        True
    ] * 3
    code, out, err = prov(capsys, "ingest", "--store", url, str(path))
    assert code == 0, err
    listed = [line for line in out.splitlines() if "quarantined: line too long" in line]
    assert [size in line for size, line in zip(sizes, listed, strict=True)] == [True] * 3


def test_natural_order_compares_runs_of_digits_as_numbers() -> None:
    counts = Counter({"byte 10": 1, "byte 9": 2, "byte 9a": 1, "abc": 3, "byte 100": 1})
    assert [key for key, _ in natural_order(counts)] == [
        "abc",
        "byte 9",
        "byte 9a",
        "byte 10",
        "byte 100",
    ]
    counts = Counter({"of 10,000,001 bytes": 1, "of 2,000,001 bytes": 1, "of 600,000 bytes": 1})
    assert [key for key, _ in natural_order(counts)] == [
        "of 600,000 bytes",
        "of 2,000,001 bytes",
        "of 10,000,001 bytes",
    ]
    # A comma not between groups of three is no thousands separator: 1, then 2.
    counts = Counter({"1,2345": 1, "1,234": 1, "1,2": 1})
    assert [key for key, _ in natural_order(counts)] == ["1,2", "1,2345", "1,234"]
