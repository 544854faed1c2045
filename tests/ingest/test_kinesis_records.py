"""What a Kinesis record's data holds (`decode`), and ingesting one record (`ingest_record`)."""

from __future__ import annotations

import base64
import bz2
import gzip
import hashlib
import json
import lzma
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstore import StoreUnavailableError
from eventstore.sqlite import SQLiteEventStore
from provenance.domain.events import load_event
from provenance.ingest import kinesis_records
from provenance.ingest.kinesis_records import (
    CLOUDWATCH,
    CONTROL,
    ENVELOPE,
    RAW,
    UNDECODABLE,
    ControlMessage,
    LogEvents,
    RawText,
    RecordOrigin,
    Undecodable,
    decode,
    ingest_record,
    message_key,
)
from provenance.ingest.pipeline import UNDECODED
from provenance.ingest.reader import IngestOptions
from provenance.query.views import quarantined_lines
from provenance.records.envelope import (
    MAX_DECODED_BYTES,
    MAX_RECORD_LINES,
    Envelope,
    encode,
    encoded_size,
)
from provenance.records.lines import MAX_LINE_BYTES, Line, capped
from tests.conftest import LA
from tests.samples import (
    CHECKSUM_MISMATCH,
    CHECKSUM_OK,
    OBJECT_LOG,
    REPLICATED,
    sample_envelope,
)

OPTIONS = IngestOptions(tz=LA)
ORIGIN = RecordOrigin("prov-logs", "49590338271490256608559692538361571095921575989136588898")
CW_ID = "31953106606966983378809025079804211143289615424298221568"


def gz(data: bytes) -> bytes:
    """gzip without a timestamp: the same bytes in every test process (xdist ids)."""
    return gzip.compress(data, mtime=0)


def envelope(lines: list[Line], **fields: Any) -> Envelope:
    return sample_envelope(lines, **{"source": "prescat", **fields})


def cloudwatch(
    events: list[tuple[str, str]], message_type: str = "DATA_MESSAGE", **extra: Any
) -> bytes:
    document = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "/sdr/preservation-catalog",
        "logStream": "i-0abc/audit.log",
        "subscriptionFilters": ["to-kinesis"],
        "logEvents": [
            {"id": event_id, "timestamp": 1772403245223, "message": message}
            for event_id, message in events
        ],
        **extra,
    }
    return gz(json.dumps(document).encode())


CONTROL_PAYLOAD = cloudwatch(
    [("", "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.")],
    "CONTROL_MESSAGE",
    logGroup="",
    logStream="",
)


# --- decode ------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_an_envelope_decodes_to_itself(compress: bool) -> None:
    overlong = capped(b"\xe9" * (MAX_LINE_BYTES + 1))
    shipped = envelope([CHECKSUM_OK.encode(), b"\xff\xfe", overlong], occurrences={b"\x01" * 8: 2})
    assert decode(encode(shipped, compress=compress)) == shipped


@settings(max_examples=300, deadline=None)
@given(
    line=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=500).map(lambda text: text.encode("utf-8")),
        st.binary(min_size=MAX_LINE_BYTES + 1, max_size=MAX_LINE_BYTES + 1).map(capped),
    ),
    occurrence=st.integers(min_value=0, max_value=10**12),
)
def test_a_line_adds_no_more_to_an_envelope_than_its_encoded_size(
    line: Line, occurrence: int
) -> None:
    """What `prov ship` measures records by: an upper bound of what each line (and the
    occurrence count its entry may carry) adds to the JSON, whatever its bytes."""
    empty = envelope([])
    full = envelope([line], occurrences={b"\xab" * 8: occurrence} if occurrence else {})
    added = len(encode(full, compress=False)) - len(encode(empty, compress=False))
    assert added <= encoded_size(line)
    assert decode(encode(full, compress=False)) == full


def test_a_line_goes_as_base64_when_its_json_would_be_longer() -> None:
    controls = b"\x01" * 3000
    document = envelope([controls, b"plain text", b"\xff\xfe"]).to_json()
    assert document["lines"] == ["", "plain text", ""]
    assert base64.b64decode(document["binary"]["0"]) == controls
    assert decode(encode(envelope([controls]), compress=False)) == envelope([controls])


def test_an_overlong_line_that_does_not_add_up_is_a_malformed_envelope() -> None:
    document = envelope([capped(b"y" * (MAX_LINE_BYTES + 1))]).to_json()
    document["overlong"]["0"]["sha1"] = "abcd"
    decoded = decode(json.dumps(document).encode())
    assert isinstance(decoded, Undecodable)
    assert decoded.reason.startswith("malformed envelope: ")


def test_a_cloudwatch_data_message_is_its_log_events_as_keyed_lines() -> None:
    decoded = decode(cloudwatch([(CW_ID, CHECKSUM_OK + "\n"), ("x-1", "a\nb\r\n")]))
    assert decoded == LogEvents(
        "/sdr/preservation-catalog",
        "i-0abc/audit.log",
        [(int(CW_ID), [CHECKSUM_OK.encode()]), (message_key("x-1"), [b"a", b"b\r"])],
    )


def test_a_cloudwatch_control_message_is_recognised() -> None:
    assert decode(CONTROL_PAYLOAD) == ControlMessage()


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"one line", [b"one line"]),
        (b"one\r\ntwo\n", [b"one\r", b"two"]),
        (b"caf\xe9\nok\n\n", [b"caf\xe9", b"ok", b""]),
        (gz(b"zipped\nlines\n"), [b"zipped", b"lines"]),
        (REPLICATED.encode() + b"\n", [REPLICATED.encode()]),  # JSON, but a log line
        (b'{"a": 1}\n{"a": 2}\n', [b'{"a": 1}', b'{"a": 2}']),
        (b"", []),
        (bz2.compress(b"bzip2\nlines\n"), [b"bzip2", b"lines"]),
        (lzma.compress(b"xz\nlines\n"), [b"xz", b"lines"]),
        (
            b"\xef\xbb\xbfmarked\n\xef\xbb\xbfonly the first\n",
            [b"marked", b"\xef\xbb\xbfonly the first"],
        ),
        (gz(b"\xef\xbb\xbfmarked, zipped\n"), [b"marked, zipped"]),
    ],
    ids=[
        "line",
        "crlf",
        "latin-1",
        "gzip",
        "json-line",
        "json-lines",
        "empty",
        "bzip2",
        "xz",
        "byte-order-mark",
        "byte-order-mark-gzip",
    ],
)
def test_anything_else_is_raw_text(data: bytes, lines: list[bytes]) -> None:
    assert decode(data) == RawText(lines)


def test_gzip_members_are_all_read() -> None:
    assert decode(gz(b"a\n") + gz(b"b\n")) == RawText([b"a", b"b"])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x1f\x8bnot gzip at all", "not valid gzip data: "),
        (gz(b"x" * 1000)[:-12], "not valid gzip data: it ends before"),
        (gz(b"x") + b"junk", "not valid gzip data: trailing bytes"),
        (bz2.compress(b"x" * 1000)[:-10], "not valid bzip2 data: it ends before"),
        (lzma.compress(b"x" * 1000)[:-10], "not valid xz data: "),
        (b'{"prov_envelope": 2, "lines": []}', "envelope version 2 is not supported"),
        (b'{"prov_envelope": 1, "lines": "x"}', "malformed envelope: "),
        (cloudwatch([], "SOMETHING_ELSE"), "unknown CloudWatch Logs messageType 'SOMETHING_ELSE'"),
        (cloudwatch([], logEvents={}), "malformed CloudWatch Logs payload: logEvents"),
        (cloudwatch([], logGroup=None), "malformed CloudWatch Logs payload: logGroup"),
        (cloudwatch([(CW_ID, None)]), "malformed CloudWatch Logs payload: logEvents[0].message"),  # type: ignore[list-item]
        (cloudwatch([("", "m")]), "malformed CloudWatch Logs payload: logEvents[0].id"),
    ],
    ids=[
        "bad-gzip",
        "truncated-gzip",
        "trailing-bytes",
        "truncated-bzip2",
        "truncated-xz",
        "envelope-v2",
        "malformed-envelope",
        "unknown-message-type",
        "log-events-not-a-list",
        "no-log-group",
        "message-not-a-string",
        "empty-id",
    ],
)
def test_data_that_is_not_what_it_claims_is_undecodable(data: bytes, reason: str) -> None:
    decoded = decode(data)
    assert isinstance(decoded, Undecodable)
    assert decoded.reason.startswith(reason)


def test_a_json_envelope_after_a_byte_order_mark_is_an_envelope() -> None:
    data = encode(envelope([b"a"]), compress=False)
    assert decode(b"\xef\xbb\xbf" + data) == envelope([b"a"])


def test_a_decompression_bomb_is_not_inflated(monkeypatch) -> None:
    monkeypatch.setattr(kinesis_records, "MAX_DECODED_BYTES", 1024 * 1024)
    at_limit = b"x" * (1024 * 1024 - 1) + b"\n"
    assert decode(gz(at_limit)) == RawText([at_limit[:-1]])
    bomb = gz(b"\0" * (1024 * 1024 + 1))
    assert len(bomb) < 2000
    assert decode(bomb) == Undecodable("gzip data decompresses to more than 1,048,576 bytes")


def test_the_longest_line_at_its_worst_is_read_back_from_one_record() -> None:
    """A line at the cap made of control characters (6 bytes each as JSON, so sent as
    base64) is within what the handler decompresses of a record, and comes back whole."""
    longest = envelope([b"\x01" * MAX_LINE_BYTES])
    for compress in (False, True):
        assert decode(encode(longest, compress=compress)) == longest


def test_a_record_decompressing_to_the_limit_is_read_and_one_byte_more_is_not() -> None:
    """The decompressed limit, at its real value: the last byte it allows is read."""
    line = b"y" * 999 + b"\n"
    lines, rest = divmod(MAX_DECODED_BYTES, len(line))
    data = line * lines + b"y" * (rest - 1) + b"\n"
    assert len(data) == MAX_DECODED_BYTES
    decoded = decode(gz(data))
    assert isinstance(decoded, RawText) and len(decoded.lines) == lines + 1
    assert decode(gz(data + b"\n")) == Undecodable(
        f"gzip data decompresses to more than {MAX_DECODED_BYTES:,} bytes"
    )


MANY = MAX_RECORD_LINES + 1
TOO_MANY = f"too many lines for one record ({MANY:,} > {MAX_RECORD_LINES:,})"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"x\n" * MANY, id="raw"),
        pytest.param(b"x\n" * (MANY - 1) + b"x", id="raw-no-final-line-end"),
        pytest.param(gz(b"x\n" * MANY), id="raw-gzip"),
        pytest.param(encode(envelope([b""] * MANY)), id="envelope"),
        pytest.param(cloudwatch([("1", "x\n" * 50_000), ("2", "y\n" * 50_001)]), id="cloudwatch"),
    ],
)
def test_a_record_of_more_lines_than_a_record_holds_is_undecodable(data: bytes) -> None:
    assert decode(data) == Undecodable(TOO_MANY)


def test_a_record_of_as_many_lines_as_a_record_holds_is_read() -> None:
    assert decode(gz(b"x\n" * MAX_RECORD_LINES)) == RawText([b"x"] * MAX_RECORD_LINES)


def test_message_keys() -> None:
    assert message_key(CW_ID) == int(CW_ID)
    assert message_key(12) == 12
    assert message_key("abc") == message_key("abc") != message_key("abd")
    assert message_key("-5") != message_key("5")
    assert message_key("9" * 5000) > 0  # more digits than int() converts: hashed


# --- ingest_record -----------------------------------------------------------------------------


def test_raw_text_is_read_with_the_stream_as_origin(store) -> None:
    result = ingest_record(store, OBJECT_LOG.encode(), ORIGIN, OPTIONS)
    assert (result.kind, result.report.lines, result.report.events) == (RAW, 8, 8)
    event = load_event(next(iter(store.read_all())).payload)
    assert (event.source.origin, event.source.file) == (
        "prov-logs",
        f"kinesis:prov-logs:{ORIGIN.sequence_number}",
    )


def test_raw_text_identity_is_content_and_occurrence_within_the_record(store) -> None:
    data = f"{CHECKSUM_OK}\n{CHECKSUM_OK}\n".encode()
    first = ingest_record(store, data, ORIGIN, OPTIONS)
    assert first.report.events == 2  # a real repeat within a record is kept
    # A producer retry puts the same data under a new sequence number: nothing new.
    retry = ingest_record(store, data, RecordOrigin("prov-logs", "2"), OPTIONS)
    assert (retry.report.events, retry.report.duplicates) == (0, 2)
    # The documented cost: the same line in a separate raw record counts once.
    alone = ingest_record(store, CHECKSUM_OK.encode(), RecordOrigin("prov-logs", "3"), OPTIONS)
    assert alone.report.duplicates == 1


def test_a_byte_order_mark_changes_no_id(store, tmp_path) -> None:
    marked = ingest_record(store, b"\xef\xbb\xbf" + OBJECT_LOG.encode(), ORIGIN, OPTIONS)
    assert (marked.report.lines, marked.report.events) == (8, 8)
    with SQLiteEventStore(tmp_path / "plain.db") as plain:
        ingest_record(plain, gz(OBJECT_LOG.encode()), ORIGIN, OPTIONS)
        assert {r.event_id for r in plain.read_all()} == {r.event_id for r in store.read_all()}


def test_an_over_long_line_in_a_record_is_quarantined_in_part(store) -> None:
    long_line = b"z" * (MAX_LINE_BYTES + 10)
    result = ingest_record(store, gz(CHECKSUM_OK.encode() + b"\n" + long_line), ORIGIN, OPTIONS)
    assert (result.report.lines, result.report.events, result.report.quarantined) == (2, 1, 1)
    (kept,) = quarantined_lines(store)
    assert (kept["truncated"], kept["raw_bytes"]) == (True, len(long_line))


def test_cloudwatch_log_events_are_identified_by_their_ids(store) -> None:
    data = cloudwatch([(CW_ID, CHECKSUM_OK), (str(int(CW_ID) + 1), CHECKSUM_OK)])
    result = ingest_record(store, data, ORIGIN, OPTIONS)
    # The same message in two log events: it was logged twice, so two events.
    assert (result.kind, result.report.events) == (CLOUDWATCH, 2)
    redelivered = ingest_record(store, data, RecordOrigin("prov-logs", "9"), OPTIONS)
    assert (redelivered.report.events, redelivered.report.duplicates) == (0, 2)
    # One of the log events again, in another payload: nothing new either.
    single = ingest_record(store, cloudwatch([(CW_ID, CHECKSUM_OK)]), ORIGIN, OPTIONS)
    assert single.report.duplicates == 1
    event = load_event(next(iter(store.read_all())).payload)
    assert (event.source.origin, event.source.file) == (
        "/sdr/preservation-catalog",
        "i-0abc/audit.log",
    )


def test_a_control_message_is_skipped(store) -> None:
    result = ingest_record(store, CONTROL_PAYLOAD, ORIGIN, OPTIONS)
    assert (result.kind, result.report.lines) == (CONTROL, 0)
    assert list(store.read_all()) == []


def test_an_envelope_is_ingested_as_its_file(store) -> None:
    shipped = envelope([CHECKSUM_OK.encode(), CHECKSUM_MISMATCH.encode()])
    result = ingest_record(store, encode(shipped), ORIGIN, OPTIONS)
    assert (result.kind, result.report.events) == (ENVELOPE, 2)
    event = load_event(next(iter(store.read_all())).payload)
    assert (event.source.origin, event.source.file) == ("pres-01", "/var/log/audit.log")


def test_an_envelope_naming_an_unknown_source_is_kept_whole(store) -> None:
    data = encode(envelope([CHECKSUM_OK.encode()], source="nginx"))
    result = ingest_record(store, data, ORIGIN, OPTIONS)
    assert (result.kind, result.report.quarantined, result.report.events) == (UNDECODABLE, 1, 0)
    (item,) = quarantined_lines(store)
    assert base64.b64decode(item["raw_base64"]) == data
    assert item["reason"] == "envelope names an unknown source 'nginx'"
    assert item["source_type"] == UNDECODED


def test_undecodable_data_is_quarantined_and_a_redelivery_adds_nothing(store) -> None:
    data = b"\x1f\x8b\x08garbage"
    first = ingest_record(store, data, ORIGIN, OPTIONS)
    again = ingest_record(store, data, ORIGIN, OPTIONS)
    assert (first.kind, first.report.quarantine_records, again.report.quarantine_records) == (
        UNDECODABLE,
        1,
        0,
    )


def test_a_failure_that_is_not_the_stores_keeps_the_record_whole(store, monkeypatch) -> None:
    from provenance.sources.prescat import PrescatSource

    def broken(self: object, line_no: int, line: str) -> list[object]:
        raise KeyError("a parser bug")

    monkeypatch.setattr(PrescatSource, "feed", broken)
    data = encode(envelope([CHECKSUM_OK.encode()]))
    result = ingest_record(store, data, ORIGIN, OPTIONS)
    assert isinstance(result.error, KeyError)
    assert (result.kind, result.report.lines, result.report.quarantined) == (ENVELOPE, 1, 1)
    (item,) = quarantined_lines(store)
    assert item["reason"] == "could not be ingested: KeyError: 'a parser bug'"
    assert base64.b64decode(item["raw_base64"]) == data


def test_a_tiny_record_of_a_million_lines_is_one_quarantine_record(store) -> None:
    """The review's record: 1,974 bytes of gzip holding "x\\n" a million times used to write a
    million quarantine records (60 s, and again on every retry)."""
    data = gzip.compress(b"x\n" * 1_000_000, 9)
    assert len(data) < 2_000
    result = ingest_record(store, data, ORIGIN, OPTIONS)
    again = ingest_record(store, data, ORIGIN, OPTIONS)
    assert (result.kind, result.report.lines, result.report.quarantine_records) == (
        UNDECODABLE,
        1,
        1,
    )
    assert again.report.quarantine_records == 0
    (item,) = quarantined_lines(store)
    assert item["reason"] == "too many lines for one record (1,000,000 > 100,000)"
    assert base64.b64decode(item["raw_base64"]) == data


def test_a_record_too_large_once_decompressed_is_kept_truncated_with_size_and_digest(
    store,
) -> None:
    """Random text, so the record itself is larger than a quarantine record holds."""
    text = base64.b64encode(os.urandom(6 * 1024 * 1024)) + b"\n"  # 8 MiB of one line
    data = gz(text + text[:1024])
    result = ingest_record(store, data, ORIGIN, OPTIONS)
    assert (result.kind, result.report.quarantine_records) == (UNDECODABLE, 1)
    (item,) = quarantined_lines(store)
    assert item["reason"] == "gzip data decompresses to more than 8,388,608 bytes"
    assert item["truncated"] is True
    assert (item["raw_bytes"], item["raw_sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert data.startswith(base64.b64decode(item["raw_base64"]))


class _DownStore(SQLiteEventStore):
    def append(self, records):  # type: ignore[no-untyped-def]
        raise StoreUnavailableError("the store is down")


def test_a_store_failure_is_raised_not_quarantined(tmp_path) -> None:
    with _DownStore(tmp_path / "down.db") as down, pytest.raises(StoreUnavailableError):
        ingest_record(down, OBJECT_LOG.encode(), ORIGIN, OPTIONS)
