"""Events built without validation (`provenance.domain.event_shapes`) and the event id's
arithmetic (`provenance.domain.identity.event_id`): exactly what they stand in for."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance.domain.event_shapes import EventShape, source_ref
from provenance.domain.events import (
    AgentRef,
    CatalogUpdated,
    PreservationStatusChanged,
    RepositoryEventRecorded,
    SourceRef,
    dump_event,
)
from provenance.domain.identity import NAMESPACE, event_id

WHEN = datetime(2026, 3, 5, tzinfo=UTC)


def reference_event_id(source: str, origin: str, digest: bytes, occurrence: int, index: int) -> str:
    """The id as the version before computed it: UUIDv5 bits set in bytes, then uuid's text."""
    name = f"{source}\x1f{origin}\x1f{digest.hex()}\x1f{occurrence}\x1f{index}"
    named = NAMESPACE.bytes + name.encode("utf-8", "surrogateescape")
    sha = bytearray(hashlib.sha1(named).digest())
    sha[6] = (sha[6] & 0x0F) | 0x50
    sha[8] = (sha[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(sha[:16])))


@given(
    st.text(max_size=12),
    st.text(max_size=12),
    st.binary(min_size=20, max_size=20),
    st.integers(-1, 10**6),
    st.integers(-1, 50),
)
def test_event_id_is_the_uuid5_it_always_was(
    source: str, origin: str, digest: bytes, occurrence: int, index: int
) -> None:
    assert event_id(source, origin, digest, occurrence, index) == reference_event_id(
        source, origin, digest, occurrence, index
    )


def test_event_id_of_a_plain_name_is_uuid5() -> None:
    digest = hashlib.sha1(b"line").digest()
    name = f"prescat\x1f\x1f{digest.hex()}\x1f0\x1f0"
    assert event_id("prescat", "", digest, 0, 0) == str(uuid.uuid5(NAMESPACE, name))


@given(st.text(), st.text(), st.none() | st.text(), st.none() | st.integers())
def test_source_ref_is_the_validated_one(
    type_: str, origin: str, file: str | None, line: int | None
) -> None:
    built = source_ref(type_, origin, file, line)
    checked = SourceRef(type=type_, origin=origin, file=file, line=line)
    assert built == checked
    assert list(built.__dict__) == list(checked.__dict__)
    assert built.model_fields_set == checked.model_fields_set
    assert built.model_dump_json() == checked.model_dump_json()


def test_a_shape_builds_what_the_model_validates_with_defaults_in_place() -> None:
    given_fields = {
        "object": "druid:bc123df4567",
        "occurred_at": WHEN,
        "agent": AgentRef(name="preservation_catalog"),
        "check": "update",
        "old_status": "ok",
        "new_status": "invalid_moab",
    }
    ref = SourceRef(type="prescat")
    shape = EventShape(PreservationStatusChanged, given_fields)
    built = shape.build(given_fields, "id", WHEN, ref)
    checked = PreservationStatusChanged(event_id="id", recorded_at=WHEN, source=ref, **given_fields)
    assert list(built.__dict__.items()) == list(checked.__dict__.items())
    assert built.model_fields_set == checked.model_fields_set
    assert dump_event(built) == dump_event(checked)
    # Each event has a set of its own: copying one with changes leaves the others alone.
    other = shape.build(given_fields, "id2", WHEN, ref)
    built.model_copy(update={"detail": "x"})
    assert other.model_fields_set == checked.model_fields_set


@pytest.mark.parametrize(
    ("model", "given_fields"),
    [
        (RepositoryEventRecorded, ["object", "occurred_at", "agent", "event_type"]),  # a factory
        (CatalogUpdated, ["object", "occurred_at", "agent"]),  # `check` is required
        (CatalogUpdated, ["object", "occurred_at", "agent", "check", "colour"]),
        (CatalogUpdated, ["object", "occurred_at", "agent", "check", "event_id"]),
    ],
)
def test_a_shape_refuses_what_it_cannot_build_exactly(
    model: type[CatalogUpdated], given_fields: list[str]
) -> None:
    with pytest.raises(TypeError):
        EventShape(model, given_fields)
