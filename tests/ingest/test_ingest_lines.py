"""Ingest of parts of an input (`ingest_lines`, `ingest_envelope`, `ingest_messages`), data
that is not lines (`quarantine_data`), and the rule for events too large for the store."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
from click.testing import CliRunner

from eventstore.sqlite import SQLiteEventStore
from eventstore.store import MAX_PAYLOAD_BYTES
from provenance.cli.main import cli
from provenance.domain.events import QUARANTINE_STREAM, load_event
from provenance.domain.identity import OccurrenceCounter, line_digest
from provenance.ingest.pipeline import (
    MESSAGE_KEY_SHIFT,
    UNDECODED,
    ingest_envelope,
    ingest_lines,
    ingest_messages,
    ingest_stream,
    quarantine_data,
)
from provenance.ingest.reader import IngestOptions
from provenance.ingest.replay import replay_quarantine
from provenance.ingest.report import IngestReport
from provenance.query.views import quarantined_lines
from tests.conftest import LA
from tests.samples import (
    CHECKSUM_MISMATCH,
    CHECKSUM_OK,
    CHECKSUM_OK_LATER,
    OBJECT_LOG,
    REPLICATED,
    ROBOT_FINISHED,
    ROBOT_PROCESSING,
    sample_envelope,
)

OPTIONS = IngestOptions(tz=LA)
DRUID = "druid:bj102hs9687"


def _accounted(report: IngestReport) -> bool:
    return report.lines == report.consumed + report.ignored + report.quarantined


def _ids(store: SQLiteEventStore) -> set[str]:
    return {record.event_id for record in store.read_all()}


def _sdr_event(note_bytes: int, when: str = "2026-01-01T00:00:00Z") -> bytes:
    """An sdr-events line whose event payload is about `note_bytes` long."""
    return json.dumps(
        {
            "druid": "druid:bc123df4567",
            "event_type": "update",
            "data": {"host": "h", "invoked_by": "x", "note": "a" * note_bytes},
            "created_at": when,
        }
    ).encode()


# --- ingest_lines ------------------------------------------------------------------------------


def test_a_file_ingested_in_parts_with_its_counts_gets_the_ids_of_the_whole(tmp_path) -> None:
    # The same lines twice: the second copy's entries are real repeats (occurrence 1).
    data = (OBJECT_LOG * 2).encode()
    with SQLiteEventStore(tmp_path / "whole.db") as whole:
        report = ingest_stream(whole, io.BytesIO(data), "audit.log", OPTIONS)
        assert report.events == 16
        expected = _ids(whole)
    lines = data.splitlines(keepends=True)
    with SQLiteEventStore(tmp_path / "parts.db") as parts:
        counter = OccurrenceCounter()
        total = IngestReport()
        # Every line of OBJECT_LOG is one entry, so every cut is at a boundary.
        for start in range(0, len(lines), 5):
            part = lines[start : start + 5]
            seen = dict(counter.seen)
            ingest_lines(
                parts,
                part,
                "audit.log",
                OPTIONS,
                first_line=start + 1,
                occurrences=seen,
                report=total,
            )
            for line in part:
                counter.next(line_digest(line.rstrip(b"\r\n").decode()))
        assert _ids(parts) == expected
        assert (total.lines, total.events, total.duplicates) == (16, 16, 0)
        assert _accounted(total) and total.files == ["audit.log"]
        # Without the counts, the second copy would look like a redelivery of the first.
        again = ingest_lines(parts, lines[8:], "audit.log", OPTIONS, first_line=9)
        assert (again.events, again.duplicates) == (0, 8)


def test_ingest_lines_takes_lines_with_or_without_their_ends(store) -> None:
    first = ingest_lines(store, [CHECKSUM_OK.encode() + b"\r\n"], None, OPTIONS)
    second = ingest_lines(store, [CHECKSUM_OK.encode()], None, OPTIONS)
    third = ingest_lines(store, [CHECKSUM_OK.encode() + b"\n"], None, OPTIONS)
    assert (first.events, second.duplicates, third.duplicates) == (1, 1, 1)
    assert first.files == []


def test_the_occurrence_state_is_not_changed_by_ingest(store) -> None:
    key = line_digest(CHECKSUM_OK)[:8]
    state = {key: 1}
    ingest_lines(store, [CHECKSUM_OK.encode()], None, OPTIONS, occurrences=state)
    assert state == {key: 1}
    # Occurrence 1 is a different event than the first instance of the line.
    assert ingest_lines(store, [CHECKSUM_OK.encode()], None, OPTIONS).events == 1


# --- ingest_envelope ---------------------------------------------------------------------------


def test_an_envelope_gives_the_ids_of_prov_ingest_of_its_file(tmp_path) -> None:
    # Not UTF-8 and not understood: first, so that it continues no entry.
    lines = [b"\xff not utf-8", CHECKSUM_OK.encode(), CHECKSUM_MISMATCH.encode()]
    data = b"\n".join(lines) + b"\n"
    options = IngestOptions(tz=LA, origin="pres-01")
    with SQLiteEventStore(tmp_path / "file.db") as by_file:
        whole = ingest_stream(by_file, io.BytesIO(data), "/var/log/audit.log", options)
        expected = _ids(by_file)
    with SQLiteEventStore(tmp_path / "envelope.db") as by_envelope:
        report = ingest_envelope(by_envelope, sample_envelope(lines), IngestOptions(tz=LA))
        assert _ids(by_envelope) == expected
        (kept,) = quarantined_lines(by_envelope)
    assert (report.lines, report.events, report.quarantined) == (whole.lines, 2, 1)
    assert (kept["file"], kept["line"], kept["raw_base64"]) == (
        "/var/log/audit.log",
        1,
        base64.b64encode(b"\xff not utf-8").decode(),
    )


def test_envelope_lines_are_taken_as_shipped(tmp_path) -> None:
    # A line that ended in "\r\r\n" in its file keeps one "\r" after the shipper strips "\n"
    # and one "\r"; ingest must not strip it again, or the id would differ from the file's.
    data = b"not a log line\r\r\n"
    with SQLiteEventStore(tmp_path / "file.db") as by_file:
        ingest_stream(by_file, io.BytesIO(data), "f", OPTIONS)
        expected = _ids(by_file)
    with SQLiteEventStore(tmp_path / "envelope.db") as by_envelope:
        ingest_envelope(by_envelope, sample_envelope([b"not a log line\r"], host=""), OPTIONS)
        assert _ids(by_envelope) == expected


def test_an_envelope_sets_source_origin_and_service(store) -> None:
    access = (
        b'171.64.1.2 - - [01/Mar/2026:10:00:00 -0800] "GET /file/druid:bj102hs9687/a.pdf '
        b'HTTP/1.1" 200 1024 "-" "curl/8.0"'
    )
    envelope = sample_envelope([access], source="clf", service="stacks", host="stacks-a")
    report = ingest_envelope(store, envelope, OPTIONS)
    assert report.by_type == {"ServiceAccessed": 1}
    (record,) = [r for r in store.read_all() if r.type == "ServiceAccessed"]
    event = load_event(record.payload)
    assert (event.source.type, event.source.origin, event.service) == (  # type: ignore[union-attr]
        "clf",
        "stacks-a",
        "stacks",
    )


# --- ingest_messages (CloudWatch Logs events) ----------------------------------------------------


def test_each_message_counts_occurrences_from_its_own_key(store) -> None:
    line = CHECKSUM_OK.encode()
    report = ingest_messages(store, [(7, [line]), (8, [line]), (9, [line, line])], "s", OPTIONS)
    # Four instances of one line, in three log events: four events.
    assert (report.lines, report.events) == (4, 4)
    # The same log events again add nothing, and so does one of them alone.
    assert ingest_messages(store, [(8, [line])], "s", OPTIONS).duplicates == 1
    again = ingest_messages(store, [(7, [line]), (8, [line]), (9, [line, line])], "s", OPTIONS)
    assert (again.events, again.duplicates) == (0, 4)
    # A message with a new key is a new event.
    assert ingest_messages(store, [(10, [line])], "s", OPTIONS).events == 1


def test_message_occurrences_replay_to_the_same_ids(store, monkeypatch) -> None:
    from provenance.sources import prescat

    unknown = CHECKSUM_OK.replace("checksum(s) match", "checksum(s) all good").encode()
    key = 31953106606966983378809025079804211143289615424298221568
    report = ingest_messages(store, [(key, [unknown]), (key + 1, [unknown])], "i-1", OPTIONS)
    assert report.quarantined == 2
    kept = [load_event(r.payload) for r in store.read_stream(QUARANTINE_STREAM)]
    assert sorted(k.occurrence for k in kept) == [  # type: ignore[union-attr]
        key << MESSAGE_KEY_SHIFT,
        (key + 1) << MESSAGE_KEY_SHIFT,
    ]
    real = prescat.recognise
    monkeypatch.setattr(prescat, "recognise", lambda m: real(m.replace("all good", "match")))
    assert replay_quarantine(store, OPTIONS).events == 2
    # The fixed parser, fed the same log events, finds them stored already.
    again = ingest_messages(store, [(key, [unknown]), (key + 1, [unknown])], "i-1", OPTIONS)
    assert (again.events, again.duplicates) == (0, 2)


def test_continuation_lines_join_the_entry_of_the_message_before(store) -> None:
    backtrace = b"  /opt/app/lib/robot.rb:76:in `perform'"
    report = ingest_messages(
        store,
        [(1, [ROBOT_PROCESSING.encode()]), (2, [backtrace]), (3, [ROBOT_FINISHED.encode()])],
        "i-1",
        IngestOptions(tz=LA, source="robots"),
    )
    assert report.lines == 3 and report.quarantined == 0 and _accounted(report)


# --- quarantine_data ---------------------------------------------------------------------------


def test_undecodable_data_is_kept_verbatim_once(store) -> None:
    data = b"\x1f\x8b\x08\x00 this is no gzip \xff\x00"
    report = quarantine_data(store, data, "kinesis:logs:1", "not valid gzip data", origin="logs")
    assert (report.lines, report.quarantined, report.quarantine_records) == (1, 1, 1)
    assert report.quarantined_by_reason == {"not valid gzip data": 1}
    again = quarantine_data(store, data, "kinesis:logs:2", "not valid gzip data", origin="logs")
    assert (again.quarantined, again.quarantine_records) == (1, 0)
    (item,) = quarantined_lines(store)
    assert base64.b64decode(item["raw_base64"]) == data
    assert (item["source_type"], item["file"], item["truncated"]) == (
        UNDECODED,
        "kinesis:logs:1",
        False,
    )
    replayed = replay_quarantine(store, OPTIONS)
    assert (replayed.lines, replayed.quarantined, replayed.events) == (1, 1, 0)
    assert replayed.quarantined_by_reason == {"not read as lines: cannot be replayed": 1}


# --- events too large for the store -------------------------------------------------------------


def test_an_event_too_large_for_the_store_is_quarantined_and_the_rest_stored(store) -> None:
    huge = _sdr_event(300_000)
    data = b"\n".join([REPLICATED.encode(), huge, CHECKSUM_OK_LATER.encode()]) + b"\n"

    report = ingest_stream(store, io.BytesIO(data), "events.jsonl", OPTIONS)

    assert (report.lines, report.events, report.quarantined) == (3, 2, 1) and _accounted(report)
    ((reason, count),) = report.quarantined_by_reason.items()
    assert count == 1
    assert reason.startswith("event too large for the store (")
    assert reason.endswith(f" bytes > {MAX_PAYLOAD_BYTES})")
    assert int(reason.split("(")[1].split()[0]) > MAX_PAYLOAD_BYTES
    assert len(store.read_stream(DRUID)) == 2
    # The quarantine record of a 300 KB line would be too large too: it keeps the first part.
    (record,) = store.read_stream(QUARANTINE_STREAM)
    assert len(record.payload) <= MAX_PAYLOAD_BYTES
    (item,) = quarantined_lines(store)
    kept = base64.b64decode(item["raw_base64"])
    assert item["truncated"] is True
    assert (item["raw_bytes"], item["raw_sha256"]) == (len(huge), hashlib.sha256(huge).hexdigest())
    assert huge.startswith(kept) and 50_000 < len(kept) < len(huge)
    assert item["text"] == kept.decode()


def test_a_quarantined_entry_that_fits_is_kept_whole(store) -> None:
    line = b"x" * 60_000  # not a log line of any format
    report = ingest_stream(store, io.BytesIO(line + b"\n"), "f", OPTIONS)
    assert report.quarantined == 1
    (item,) = quarantined_lines(store)
    assert base64.b64decode(item["raw_base64"]) == line
    assert (item["truncated"], item["raw_bytes"]) == (False, len(line))


@pytest.mark.parametrize("byte", [b"\x01", b"\xff", b'"', b"a"])
def test_truncation_fits_whatever_the_bytes_cost_to_escape(store, byte: bytes) -> None:
    entry = byte * 400_000
    report = quarantine_data(store, entry, None, "junk")
    assert report.quarantine_records == 1
    (record,) = store.read_stream(QUARANTINE_STREAM)
    assert len(record.payload) <= MAX_PAYLOAD_BYTES
    (item,) = quarantined_lines(store)
    kept = base64.b64decode(item["raw_base64"])
    assert item["truncated"] and entry.startswith(kept) and len(kept) > 20_000


def test_replay_passes_truncated_entries_by_and_counts_them(store) -> None:
    ingest_stream(store, io.BytesIO(_sdr_event(300_000) + b"\n"), "events.jsonl", OPTIONS)
    before = list(store.read_all())

    report = replay_quarantine(store, OPTIONS)

    assert (report.lines, report.events, report.quarantined) == (1, 0, 1)
    assert report.quarantined_by_reason == {"kept truncated: cannot be replayed": 1}
    assert list(store.read_all()) == before


def test_prov_quarantine_shows_truncation(store_path) -> None:
    with SQLiteEventStore(store_path) as store:
        huge = _sdr_event(300_000)
        ingest_stream(store, io.BytesIO(huge + b"\n"), "events.jsonl", OPTIONS)
    runner = CliRunner()
    url = f"sqlite:///{store_path}"
    table = runner.invoke(cli, ["quarantine", "--store", url])
    assert table.exit_code == 0, table.output
    assert f"[truncated: first part of {len(huge):,} bytes]" in table.stdout
    as_json = runner.invoke(cli, ["quarantine", "--store", url, "--format", "json"])
    (item,) = json.loads(as_json.stdout)
    assert (item["truncated"], item["raw_bytes"]) == (True, len(huge))


def test_replay_keeps_a_carriage_return_that_is_part_of_the_line(store) -> None:
    # "\r\r\n": the reader removes "\n" and one "\r"; the other "\r" is the line's own.
    ingest_stream(store, io.BytesIO(b"not a log line\r\r\n" * 2), "f", OPTIONS)
    assert len(store.read_stream(QUARANTINE_STREAM)) == 2

    report = replay_quarantine(store, OPTIONS)

    # Still not understood, with the identity it had: no new quarantine records.
    assert (report.quarantined, report.quarantine_records) == (2, 0)
    assert len(store.read_stream(QUARANTINE_STREAM)) == 2
