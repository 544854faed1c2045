"""The model refuses, at construction, what could not be written as a valid, useful record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from premis import (
    Agent,
    AgentRole,
    AgentType,
    Event,
    EventType,
    Extension,
    ExtensionField,
    Identifier,
    LinkingAgent,
    LinkingObject,
    ObjectCategory,
    ObjectRole,
    PremisModelError,
    PremisObject,
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
