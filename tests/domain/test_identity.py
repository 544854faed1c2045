"""Event identity: replays add nothing, real repeats are kept (DESIGN.md, "Event identity")."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.domain.identity import (
    QUARANTINE_INDEX,
    OccurrenceCounter,
    event_id,
    event_ids,
    line_digest,
)
from provenance.sources.base import Entry
from tests.conftest import ingest_bytes
from tests.samples import CHECKSUM_MISMATCH, CHECKSUM_OK, OBJECT_LOG


def test_ids_depend_on_every_part_of_the_key() -> None:
    line, other = line_digest("line"), line_digest("line2")
    base = event_id("prescat", "", line, 0, 0)
    assert base == event_id("prescat", "", line_digest("line"), 0, 0)
    variants = {
        event_id("robots", "", line, 0, 0),
        event_id("prescat", "host-a", line, 0, 0),
        event_id("prescat", "", other, 0, 0),
        event_id("prescat", "", line, 1, 0),
        event_id("prescat", "", line, 0, 1),
    }
    assert base not in variants
    assert len(variants) == 5


def test_occurrence_counter_counts_identical_lines() -> None:
    counter = OccurrenceCounter()
    assert [counter.next(line_digest(x)) for x in ["a", "b", "a", "a", "b"]] == [0, 0, 1, 2, 1]


def test_invalid_utf8_lines_hash_as_their_bytes() -> None:
    raw = b"caf\xe9"
    text = raw.decode("utf-8", "surrogateescape")
    assert line_digest(text) == __import__("hashlib").sha1(raw).digest()
    assert event_id("prescat", "", line_digest(text), 0, 0) != event_id(
        "prescat", "", line_digest("caf\u00e9"), 0, 0
    )


def test_reingesting_a_file_under_another_name_adds_nothing(store) -> None:
    first = ingest_bytes(store, OBJECT_LOG.encode(), name="a.log")
    again = ingest_bytes(store, OBJECT_LOG.encode(), name="renamed.log")
    assert first.events > 0
    assert again.events == 0
    assert again.duplicates == first.events


def test_reingesting_part_of_a_file_adds_nothing(store) -> None:
    lines = OBJECT_LOG.splitlines(keepends=True)
    ingest_bytes(store, "".join(lines).encode())
    tail = ingest_bytes(store, "".join(lines[3:]).encode(), name="tail.log")
    head = ingest_bytes(store, "".join(lines[:2]).encode(), name="head.log")
    assert tail.events == 0 and tail.duplicates > 0
    assert head.events == 0


def test_identical_lines_that_happened_twice_are_two_events(store) -> None:
    text = f"{CHECKSUM_OK}\n{CHECKSUM_OK}\n{CHECKSUM_MISMATCH}\n"
    report = ingest_bytes(store, text.encode(), source="prescat")
    assert report.events == 3
    history = store.read_stream("druid:bj102hs9687")
    assert len(history) == 3
    assert len({record.event_id for record in history}) == 3


def test_auto_and_explicit_source_give_the_same_ids(tmp_path) -> None:
    from eventstore.sqlite import SQLiteEventStore

    with (
        SQLiteEventStore(tmp_path / "a.db") as auto,
        SQLiteEventStore(tmp_path / "b.db") as explicit,
    ):
        ingest_bytes(auto, f"{CHECKSUM_OK}\n{CHECKSUM_MISMATCH}\n".encode(), source="auto")
        ingest_bytes(explicit, f"{CHECKSUM_OK}\n{CHECKSUM_MISMATCH}\n".encode(), source="prescat")
        ids_auto = [r.event_id for r in auto.read_all()]
        ids_explicit = [r.event_id for r in explicit.read_all()]
    assert ids_auto == ids_explicit and len(ids_auto) == 2


def test_origin_is_part_of_identity(store) -> None:
    ingest_bytes(store, f"{CHECKSUM_OK}\n".encode(), origin="host-a")
    report = ingest_bytes(store, f"{CHECKSUM_OK}\n".encode(), origin="host-b")
    assert report.events == 1


def test_event_ids_are_standard_uuid5() -> None:
    import uuid

    from provenance.domain.identity import NAMESPACE

    digest = line_digest("a line")
    name = f"prescat\x1fhost\x1f{digest.hex()}\x1f3\x1f1"
    assert event_id("prescat", "host", digest, 3, 1) == str(uuid.uuid5(NAMESPACE, name))


@settings(max_examples=200, deadline=None)
@given(
    source=st.text(max_size=10),
    origin=st.text(max_size=10),
    line=st.text(max_size=40),
    occurrence=st.integers(0, 2**40),
    index=st.integers(QUARANTINE_INDEX, 5),
)
def test_event_ids_of_one_source_are_its_uuid5(
    source: str, origin: str, line: str, occurrence: int, index: int
) -> None:
    """`event_ids` (the key's fixed part encoded once) gives what the definition does: the
    UUIDv5 of the joined key, for any source and origin (undecodable bytes as themselves)."""
    import uuid

    from provenance.domain.identity import NAMESPACE

    digest = line_digest(line)
    name = "\x1f".join([source, origin, digest.hex(), str(occurrence), str(index)])
    # uuid5 encodes the name as UTF-8 strictly: hash the surrogate-escaped bytes the same way.
    raw = name.encode("utf-8", "surrogateescape")
    expected = uuid.UUID(bytes=hashlib.sha1(NAMESPACE.bytes + raw).digest()[:16], version=5)
    assert event_ids(source, origin)(digest, occurrence, index) == str(expected)
    assert event_id(source, origin, digest, occurrence, index) == str(expected)


@given(
    st.text(max_size=60)
    | st.binary(max_size=60).map(lambda b: b.decode("utf-8", "surrogateescape"))
)
def test_an_entrys_digest_is_its_head_lines_digest(line: str) -> None:
    assert Entry(1, [line, "more"]).digest == line_digest(line)
