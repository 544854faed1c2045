"""The ingest pipeline end to end into SQLite: accounting, quarantine, odd bytes, projection."""

from __future__ import annotations

import base64
import json
import multiprocessing
import random
from pathlib import Path

from eventstore import AppendResult, EventRecord
from eventstore.sqlite import SQLiteEventStore
from provenance.domain.events import QUARANTINE_STREAM, load_event
from provenance.projections import object_state
from provenance.projections.base import CHECKPOINT
from provenance.query.views import object_history, quarantined_lines
from tests.conftest import ingest_bytes
from tests.samples import CHECKSUM_MISMATCH, CHECKSUM_OK, OBJECT_LOG

INVALID_UTF8 = (
    b"E, [2026-03-01T22:14:06.000000 #4711] ERROR -- : validate_checksums(bj102hs9687, fixture_sr3)"
    b" checksums or size for /services-disk02/caf\xe9\xff.pdf version 1 do not match entry in"
    b" latest signatureCatalog.xml."
)


def _accounted(report) -> bool:
    return report.lines == report.consumed + report.ignored + report.quarantined


def test_every_line_is_accounted_for(store) -> None:
    # Before any entry, a line in no known layout has no entry to continue: quarantined.
    noise = "this is not a log line\n{not json\n"
    report = ingest_bytes(store, (noise + OBJECT_LOG).encode())
    assert _accounted(report)
    assert report.lines == len((noise + OBJECT_LOG).splitlines())
    assert report.quarantined == 2
    assert report.consumed == len(OBJECT_LOG.splitlines())


def test_invalid_utf8_is_read_by_its_parser_and_shown_visibly_in_the_event(store) -> None:
    """Issue 11 item 14: a real fixity failure whose file name has bytes that are not UTF-8
    is an event, not quarantine; the bytes are written `\\xNN`, as PREMIS writes them."""
    data = f"{CHECKSUM_OK}\n".encode() + INVALID_UTF8 + b"\n" + f"{CHECKSUM_MISMATCH}\n".encode()
    report = ingest_bytes(store, data, name="odd.log")
    assert _accounted(report)
    assert (report.events, report.quarantined) == (3, 0)
    failed = [e for e in object_history(store, "bj102hs9687") if e["outcome"] == "fail"]
    assert [e["source"]["line"] for e in failed] == [3, 2]
    assert failed[1]["file_path"] == "/services-disk02/caf\\xe9\\xff.pdf"


def test_undecodable_bytes_in_a_line_no_parser_understands_are_quarantined_verbatim(
    store,
) -> None:
    report = ingest_bytes(store, b"caf\xe9 is no log line\n", name="odd.log")
    assert (report.lines, report.quarantined) == (1, 1)
    (item,) = quarantined_lines(store)
    assert item["reason"] == "format not recognised"
    assert base64.b64decode(item["raw_base64"]) == b"caf\xe9 is no log line"
    assert item["raw_is_utf8"] is False
    assert (item["file"], item["line"]) == ("odd.log", 1)


def test_quarantine_is_idempotent_too(store) -> None:
    data = b"garbage line\n" + b"caf\xe9 garbage\n"
    ingest_bytes(store, data)
    ingest_bytes(store, data, name="again.log")
    assert len(store.read_stream(QUARANTINE_STREAM)) == 2


def test_control_characters_survive_into_the_event(store) -> None:
    line = CHECKSUM_MISMATCH.replace("eric-smith", "eric\x01smith\x1b")
    ingest_bytes(store, f"{line}\n".encode(), source="prescat")
    (event,) = object_history(store, "bj102hs9687")
    assert "eric\x01smith\x1b" in event["detail"]


def test_crlf_line_endings_give_the_same_events(store) -> None:
    ingest_bytes(store, OBJECT_LOG.encode())
    report = ingest_bytes(store, OBJECT_LOG.replace("\n", "\r\n").encode(), name="dos.log")
    assert report.events == 0 and report.duplicates > 0


def test_stored_events_round_trip_as_typed_models(store) -> None:
    ingest_bytes(store, OBJECT_LOG.encode())
    for record in store.read_all():
        event = load_event(record.payload)
        assert event.event_id == record.event_id
        assert event.occurred_at.tzinfo is not None


def _rows(store) -> dict[str, object]:
    return {
        row.key: json.loads(row.value) for row in store.read_projection(object_state.PROJECTION)
    }


def _demo_files(tmp_path: Path) -> list[Path]:
    from provenance.cli.demo.world import generate

    data = generate(tmp_path / "demo", objects=12, days=20)
    return [file.path for file in data.files]


def test_rebuild_gives_exactly_the_incremental_state(tmp_path: Path) -> None:
    # Incremental: many small batches, files in shuffled order, some twice, tiny projection chunks.
    files = _demo_files(tmp_path)
    order = files + files[:2]
    random.Random(7).shuffle(order)
    from provenance.ingest.pipeline import ingest_stream
    from provenance.ingest.reader import IngestOptions
    from tests.conftest import LA

    with SQLiteEventStore(tmp_path / "p.db") as store:
        for path in order:
            with path.open("rb") as stream:
                ingest_stream(store, stream, path.name, IngestOptions(tz=LA, batch_size=97))
        incremental = _rows(store)
        assert len(incremental) > 12
        object_state.rebuild(store)
        rebuilt = _rows(store)
    assert rebuilt == incremental


def _ingest_worker(db: str, paths: list[str]) -> None:
    from provenance.ingest.pipeline import ingest_stream
    from provenance.ingest.reader import IngestOptions
    from tests.conftest import LA

    with SQLiteEventStore(db) as store:
        for path in paths:
            with open(path, "rb") as stream:
                ingest_stream(store, stream, path, IngestOptions(tz=LA, batch_size=50))


def test_two_processes_ingesting_overlapping_files_lose_and_duplicate_nothing(
    tmp_path: Path,
) -> None:
    files = [str(path) for path in _demo_files(tmp_path)]
    db = str(tmp_path / "shared.db")
    with SQLiteEventStore(tmp_path / "alone.db") as alone:
        _ingest_worker(str(tmp_path / "alone.db"), files)
        expected = sorted(record.event_id for record in alone.read_all())
        expected_state = _rows(alone)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_ingest_worker, args=(db, files)),
        context.Process(target=_ingest_worker, args=(db, list(reversed(files)))),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with SQLiteEventStore(db) as shared:
        got = sorted(record.event_id for record in shared.read_all())
        state = _rows(shared)
    assert got == expected
    # The projections agree on everything but the checkpoint position, which depends on
    # how the two writers interleaved.
    state.pop(CHECKPOINT)
    expected_state.pop(CHECKPOINT)
    assert state == expected_state


def test_payload_bytes_match_the_union_serializer(store) -> None:
    from provenance.domain.events import EVENT_ADAPTER, dump_event

    ingest_bytes(store, OBJECT_LOG.encode())
    for record in store.read_all():
        event = load_event(record.payload)
        assert dump_event(event) == EVENT_ADAPTER.dump_json(event) == record.payload


def test_old_payloads_are_upcast_on_read_never_rewritten(store, monkeypatch) -> None:
    from provenance.domain import events

    ingest_bytes(store, f"{CHECKSUM_OK}\n".encode(), source="prescat")
    (record,) = store.read_all()
    stored = json.loads(record.payload)
    # Pretend the schema moved on a version, whose upcaster rewrites the detail.
    now = events.CURRENT_SCHEMA_VERSION
    monkeypatch.setattr(events, "CURRENT_SCHEMA_VERSION", now + 1)

    def to_next(data: dict) -> dict:
        data["detail"] = f"[upcast] {data['detail']}"
        return data

    monkeypatch.setitem(events.UPCASTERS, ("FixityChecked", now), to_next)
    upcast = load_event(record.payload)
    assert upcast.schema_version == now + 1
    assert upcast.detail == f"[upcast] {stored['detail']}"
    assert next(iter(store.read_all())).payload == record.payload


def test_replaying_the_quarantine_after_a_parser_fix_adds_exactly_the_new_events(
    store, monkeypatch
) -> None:
    from provenance.ingest.reader import IngestOptions
    from provenance.ingest.replay import replay_quarantine
    from provenance.sources import prescat
    from tests.conftest import LA

    unknown = CHECKSUM_OK.replace("checksum(s) match", "checksum(s) all good")
    data = f"{CHECKSUM_OK}\n{unknown}\n{unknown}\n".encode()
    first = ingest_bytes(store, data, name="audit.log")
    assert (first.events, first.quarantined) == (1, 2)
    # Nothing changed yet: replay finds the same two entries still not understood.
    again = replay_quarantine(store, IngestOptions(tz=LA))
    assert (again.events, again.quarantined) == (0, 2)
    # The parser learns the new wording (a "fix"), and the replay turns both into events ...
    real = prescat.recognise
    monkeypatch.setattr(
        prescat,
        "recognise",
        lambda message: real(message.replace("all good", "match")),
    )
    fixed = replay_quarantine(store, IngestOptions(tz=LA))
    assert (fixed.events, fixed.quarantined) == (2, 0)
    # ... with the ids a fresh ingest of the original file gives them, so nothing doubles.
    reingest = ingest_bytes(store, data, name="audit-again.log")
    assert reingest.events == 0 and reingest.duplicates == 3
    assert len(store.read_stream("druid:bj102hs9687")) == 3
    assert replay_quarantine(store, IngestOptions(tz=LA)).events == 0


def test_a_time_the_store_cannot_keep_is_quarantined_not_fatal(store: SQLiteEventStore) -> None:
    # 0001-01-01T00:00 at +01:00 is in year 0 in UTC: no store can sort it.
    line = (
        b'{"druid": "druid:bc123df4567", "event_type": "registration", '
        b'"data": {"host": "h", "invoked_by": "x"}, "created_at": "0001-01-01T00:00:00+01:00"}\n'
    )
    ok = (
        b'{"druid": "druid:bc123df4567", "event_type": "registration", '
        b'"data": {"host": "h", "invoked_by": "x"}, "created_at": "2026-01-01T00:00:00Z"}\n'
    )

    report = ingest_bytes(store, line + ok, source="sdr-events")

    assert (report.events, report.quarantined) == (1, 1)
    assert report.quarantined_by_reason == {"time out of range": 1}


def test_a_batch_is_written_once_its_payloads_pass_a_bound(store, monkeypatch) -> None:
    """Long lines under the cap, each quarantined with its bytes (base64 and text, truncated
    to what a record holds), used to wait for 20,000 records: 2,000 lines of 200 KB held
    a gigabyte. Now a batch is written once it holds `BATCH_BYTES` of payloads."""
    from eventstore.store import MAX_PAYLOAD_BYTES
    from provenance.ingest import reader as ingest

    # The same rule, smaller (raising=False: the test fails on what it asserts without it).
    monkeypatch.setattr(ingest, "BATCH_BYTES", 2 * 1024 * 1024, raising=False)
    appended: list[tuple[int, int]] = []
    append = store.append

    def counting(records: list[EventRecord]) -> AppendResult:
        records = list(records)
        appended.append((len(records), sum(len(record.payload) for record in records)))
        return append(records)

    monkeypatch.setattr(store, "append", counting)
    data = b"".join(b"not a log line %d " % n + b"x" * 200_000 + b"\n" for n in range(60))
    report = ingest_bytes(store, data)

    assert _accounted(report) and (report.lines, report.quarantine_records) == (60, 60)
    assert sum(count for count, _ in appended) == 60
    assert len(appended) > 1
    assert all(size < 2 * 1024 * 1024 + MAX_PAYLOAD_BYTES for _, size in appended)
