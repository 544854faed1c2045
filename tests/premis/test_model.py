"""The model refuses, at construction, what could not be written as a valid, useful record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from premis import (
    Agent,
    AgentRole,
    AgentType,
    Event,
    EventType,
    Extension,
    ExtensionField,
    Fixity,
    HashFunction,
    Identifier,
    LinkingAgent,
    LinkingObject,
    ObjectCategory,
    ObjectRole,
    PremisModelError,
    PremisObject,
    Storage,
    format_date_time,
)

EVENT_ID = Identifier("UUID", "00000000-0000-5000-8000-000000000001")
AGENT_LINK = LinkingAgent(Identifier("local", "robot"), (AgentRole.EXECUTING_PROGRAM,))
WHEN = datetime(2026, 3, 1, 22, 14, 5, tzinfo=UTC)


def event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "identifier": EVENT_ID,
        "type": EventType.FIXITY_CHECK,
        "date_time": WHEN,
        "agents": (AGENT_LINK,),
    }
    fields.update(changes)
    return Event(**fields)


def test_a_well_formed_event_keeps_its_values() -> None:
    given = event(detail="ok", outcome_notes=["a", "b"], objects=[LinkingObject(EVENT_ID)])
    assert given.outcome_notes == ("a", "b")  # lists become tuples: the value stays hashable
    assert isinstance(given.objects, tuple)
    assert hash(given) == hash(event(detail="ok", outcome_notes=("a", "b"), objects=given.objects))


@pytest.mark.parametrize(("kind", "value"), [("", "x"), ("UUID", ""), ("UUID", "  \t")])
def test_identifier_parts_must_not_be_blank(kind: str, value: str) -> None:
    with pytest.raises(PremisModelError, match="must not be empty"):
        Identifier(kind, value)


def test_a_naive_date_time_is_refused() -> None:
    with pytest.raises(PremisModelError, match="naive; give it a timezone"):
        event(date_time=datetime(2026, 3, 1, 22, 14, 5))


def test_an_offset_with_seconds_is_refused() -> None:
    odd = timezone(timedelta(minutes=9, seconds=21))  # e.g. Paris mean time, pre-1911
    with pytest.raises(PremisModelError, match="not a whole minute"):
        event(date_time=datetime(1900, 1, 1, tzinfo=odd))


def test_started_at_has_the_checks_of_date_time() -> None:
    assert event(started_at=WHEN).started_at == WHEN  # an instant event: start and end agree
    with pytest.raises(PremisModelError, match=r"started_at .* is naive"):
        event(started_at=datetime(2026, 3, 1, 22, 14, 5))
    with pytest.raises(PremisModelError, match=r"started_at: UTC offset .* not a whole minute"):
        event(started_at=datetime(1900, 1, 1, tzinfo=timezone(timedelta(seconds=561))))
    with pytest.raises(PremisModelError, match="started_at must be a datetime"):
        event(started_at="2026-03-01T22:00:00Z")


@given(
    took=st.integers(-86_400, 86_400),
    start_offset=st.integers(-12 * 60, 14 * 60),
    end_offset=st.integers(-12 * 60, 14 * 60),
)
def test_an_event_cannot_start_after_it_was_done(
    took: int, start_offset: int, end_offset: int
) -> None:
    # Instants are compared, whatever offset each time is written with.
    done = WHEN.astimezone(timezone(timedelta(minutes=end_offset)))
    started = (WHEN - timedelta(seconds=took)).astimezone(timezone(timedelta(minutes=start_offset)))
    if took >= 0:
        assert event(date_time=done, started_at=started).started_at == started
    else:
        with pytest.raises(PremisModelError, match=r"started_at .* is after date_time"):
            event(date_time=done, started_at=started)


def test_an_event_needs_an_agent() -> None:
    with pytest.raises(PremisModelError, match="at least one linking agent"):
        event(agents=())


def test_an_event_type_must_be_the_enum_not_its_code() -> None:
    with pytest.raises(PremisModelError, match="type must be a EventType"):
        event(type="fix")


@pytest.mark.parametrize("field", ["detail", "outcome_notes"])
def test_blank_text_is_refused(field: str) -> None:
    value: object = "" if field == "detail" else ("fine", " ")
    with pytest.raises(PremisModelError, match="must not be empty"):
        event(**{field: value})


def test_a_single_string_is_not_taken_for_a_tuple_of_notes() -> None:
    with pytest.raises(PremisModelError, match="must be a tuple of str"):
        event(outcome_notes="one note")


@pytest.mark.parametrize(
    ("namespace", "prefix", "fields", "message"),
    [
        ("urn:x", "sdr", (), "at least one field"),
        ("not a uri", "sdr", (("a", "b"),), "not a plain URI"),
        ('urn:x"', "sdr", (("a", "b"),), "not a plain URI"),
        ("urn:x", "premis", (("a", "b"),), "not a free XML prefix"),
        ("urn:x", "XMLns", (("a", "b"),), "not a free XML prefix"),
        ("urn:x", "a:b", (("a", "b"),), "not a free XML prefix"),
        ("urn:x", "sdr", (("1a", "b"),), "not an XML name"),
        ("urn:x", "sdr", (("a", " "),), "must not be empty"),
    ],
)
def test_an_extension_is_checked(
    namespace: str, prefix: str, fields: tuple[tuple[str, str], ...], message: str
) -> None:
    with pytest.raises(PremisModelError, match=message):
        Extension.of(namespace, prefix, fields)


def test_an_event_takes_extensions_as_tuples_of_extensions() -> None:
    extension = Extension.of("urn:x", "sdr", [("a", "1"), ("a", "2")])
    assert extension.fields == (ExtensionField("a", "1"), ExtensionField("a", "2"))
    made = event(detail_extensions=[extension], outcome_extensions=[extension])
    assert made.detail_extensions == made.outcome_extensions == (extension,)
    with pytest.raises(PremisModelError, match="must be a Extension"):
        event(outcome_extensions=(ExtensionField("a", "1"),))


def test_roles_must_be_their_enum_and_unique() -> None:
    with pytest.raises(PremisModelError, match="must be a AgentRole"):
        LinkingAgent(AGENT_LINK.identifier, (ObjectRole.SOURCE,))  # type: ignore[arg-type]
    with pytest.raises(PremisModelError, match="must not repeat"):
        LinkingObject(EVENT_ID, (ObjectRole.SOURCE, ObjectRole.SOURCE))


def test_a_file_needs_a_format() -> None:
    with pytest.raises(PremisModelError, match="a file needs a format_name"):
        PremisObject(Identifier("local", "a.pdf"), ObjectCategory.FILE)


def test_a_bitstream_needs_a_format_and_has_no_original_name() -> None:
    with pytest.raises(PremisModelError, match="a bitstream needs a format_name"):
        PremisObject(Identifier("local", "b"), ObjectCategory.BITSTREAM)
    with pytest.raises(PremisModelError, match="no original name"):
        PremisObject(
            Identifier("local", "b"), ObjectCategory.BITSTREAM, original_name="b", format_name="x"
        )


def test_an_entity_has_no_format() -> None:
    with pytest.raises(PremisModelError, match="has no format"):
        PremisObject(Identifier("druid", "x"), ObjectCategory.INTELLECTUAL_ENTITY, format_name="x")


MD5 = Fixity(HashFunction.MD5, "00112233445566778899aabbccddeeff")


def test_fixity_and_size_belong_to_files_and_bitstreams() -> None:
    zip_part = Identifier("zip part copy", "aws_s3_west_2:bc/123/df/4567/bc123df4567.v0001.zip")
    given = PremisObject(zip_part, ObjectCategory.FILE, format_name="ZIP", fixity=[MD5], size=0)
    assert given.fixity == (MD5,) and given.size == 0
    version = Identifier("druid version", "druid:bc123df4567/v0001")
    with pytest.raises(PremisModelError, match="no fixity or size"):
        PremisObject(version, ObjectCategory.REPRESENTATION, fixity=(MD5,))
    with pytest.raises(PremisModelError, match="no fixity or size"):
        PremisObject(version, ObjectCategory.REPRESENTATION, size=1)
    with pytest.raises(PremisModelError, match="must not repeat"):
        PremisObject(zip_part, ObjectCategory.FILE, format_name="ZIP", fixity=(MD5, MD5))
    for size in (-1, True, 1.0, "1"):
        with pytest.raises(PremisModelError, match="size must be a number of bytes"):
            PremisObject(zip_part, ObjectCategory.FILE, format_name="ZIP", size=size)  # type: ignore[arg-type]
    with pytest.raises(PremisModelError, match="fixity algorithm must be a HashFunction"):
        Fixity("md5", "00")  # type: ignore[arg-type]
    with pytest.raises(PremisModelError, match="fixity digest must not be empty"):
        Fixity(HashFunction.MD5, " ")


def test_storage_names_its_location_and_an_entity_has_none() -> None:
    root = Storage("storage root", "fixture_sr3")
    version = Identifier("druid version", "druid:bc123df4567/v0001")
    assert PremisObject(version, ObjectCategory.REPRESENTATION, storage=[root]).storage == (root,)
    with pytest.raises(PremisModelError, match="an intellectual entity has no storage"):
        PremisObject(Identifier("druid", "x"), ObjectCategory.INTELLECTUAL_ENTITY, storage=(root,))
    with pytest.raises(PremisModelError, match="must not repeat"):
        PremisObject(version, ObjectCategory.REPRESENTATION, storage=(root, root))
    with pytest.raises(PremisModelError, match="storage location must not be empty"):
        Storage("file path", "")
    with pytest.raises(PremisModelError, match="storage medium"):
        Storage("file path", "/a", medium="  ")


def test_an_agent_needs_a_name_and_a_type() -> None:
    with pytest.raises(PremisModelError, match="name must not be empty"):
        Agent(Identifier("local", "a"), "", AgentType.SOFTWARE)
    with pytest.raises(PremisModelError, match="type must be a AgentType"):
        Agent(Identifier("local", "a"), "A", "sof")  # type: ignore[arg-type]


def test_models_are_frozen() -> None:
    with pytest.raises(AttributeError):
        event().detail = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 3, 1, 22, 14, 5, 123456, tzinfo=UTC), "2026-03-01T22:14:05.123456+00:00"),
        (datetime(2026, 3, 1, 22, 14, 5, tzinfo=UTC), "2026-03-01T22:14:05+00:00"),
        (
            datetime(2026, 3, 1, 14, 14, 5, tzinfo=timezone(timedelta(hours=-8))),
            "2026-03-01T14:14:05-08:00",
        ),
    ],
)
def test_date_times_are_iso_8601_with_their_own_offset(value: datetime, text: str) -> None:
    assert format_date_time(value) == text
