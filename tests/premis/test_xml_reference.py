"""The fragment writer (`premis.xml`) writes the bytes the lxml writer wrote, for any model.

`tests/premis/xml_reference.py` is the writer as it was before (a node tree per event, written
element by element through `lxml.etree.xmlfile`, lxml doing the escaping); the two must agree
byte for byte on generated documents: every vocabulary term in every place, optional parts
present and absent, and text with markup, CR, forbidden code points, lone surrogates, C1 and
bidi controls and astral characters.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from premis import (
    Agent,
    AgentRole,
    AgentType,
    Event,
    EventOutcome,
    EventType,
    Extension,
    Fixity,
    HashFunction,
    Identifier,
    LinkingAgent,
    LinkingObject,
    ObjectCategory,
    ObjectRole,
    PremisModelError,
    PremisObject,
    Relationship,
    RelationshipSubType,
    Storage,
    document_bytes,
    write_document,
)
from premis.escaping import BIDI_CONTROLS
from tests.premis import documents, xml_reference

_special = st.sampled_from(
    [
        *"<>&\"'\r\n\t]",
        "\x00",
        "\x01",
        "\x0b",
        "\x1f",
        "\x7f",
        "\x85",
        "\x9b",
        "\ud800",
        "\udce9",
        "\ufffe",
        "\uffff",
        "\u2028",
        "é",
        "😀",
        *map(chr, sorted(BIDI_CONTROLS)),
    ]
)
_char = st.one_of(st.characters(codec=None, exclude_categories=()), _special)
_text = st.one_of(
    st.from_regex(r"[A-Za-z0-9:/._-]{1,20}", fullmatch=True),  # the common, clean case
    st.text(_char, min_size=1, max_size=30),
).filter(lambda text: text.strip() != "")
_identifier = st.builds(Identifier, _text, _text)
_date_time = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)


def _unique(kind: type[AgentRole] | type[ObjectRole]) -> st.SearchStrategy[tuple[object, ...]]:
    return st.lists(st.sampled_from(list(kind)), max_size=3, unique=True).map(tuple)


_linking_agent = st.builds(LinkingAgent, _identifier, _unique(AgentRole))
_linking_object = st.builds(LinkingObject, _identifier, _unique(ObjectRole))
_extension = st.builds(
    Extension.of,
    st.sampled_from(["urn:example:sdr", "https://example.org/ns#", "tag:example.org,2026:x"]),
    st.sampled_from(["sdr", "x_1", "a.b-c"]),
    st.lists(
        st.tuples(st.from_regex(r"[A-Za-z_][A-Za-z0-9._-]{0,8}", fullmatch=True), _text),
        min_size=1,
        max_size=3,
    ),
)
_event = st.builds(
    Event,
    identifier=_identifier,
    type=st.sampled_from(list(EventType)),
    date_time=_date_time,
    detail=st.none() | _text,
    detail_extensions=st.lists(_extension, max_size=2).map(tuple),
    outcome=st.none() | st.sampled_from(list(EventOutcome)),
    outcome_notes=st.lists(_text, max_size=2).map(tuple),
    outcome_extensions=st.lists(_extension, max_size=2).map(tuple),
    agents=st.lists(_linking_agent, min_size=1, max_size=3).map(tuple),
    objects=st.lists(_linking_object, max_size=3).map(tuple),
)
_relationship = st.builds(Relationship, st.sampled_from(list(RelationshipSubType)), _identifier)
_storage = st.builds(Storage, _text, _text, st.none() | _text)
_fixity = st.builds(Fixity, st.sampled_from(list(HashFunction)), _text)


@st.composite
def _object(draw: st.DrawFn) -> PremisObject:
    category = draw(st.sampled_from(list(ObjectCategory)))
    has_format = category in (ObjectCategory.FILE, ObjectCategory.BITSTREAM)
    return PremisObject(
        draw(_identifier),
        category,
        original_name=None if category is ObjectCategory.BITSTREAM else draw(st.none() | _text),
        format_name=draw(_text) if has_format else None,
        relationships=tuple(draw(st.lists(_relationship, max_size=2))),
        storage=()
        if category is ObjectCategory.INTELLECTUAL_ENTITY
        else tuple(draw(st.lists(_storage, max_size=2, unique=True))),
        fixity=tuple(draw(st.lists(_fixity, max_size=2, unique=True))) if has_format else (),
        size=draw(st.none() | st.integers(0, 2**63 - 1)) if has_format else None,
    )


def _agent_for(identifier: Identifier) -> st.SearchStrategy[Agent]:
    return st.builds(
        Agent,
        st.just(identifier),
        _text,
        st.sampled_from(list(AgentType)),
        st.none() | _text,
        st.lists(_text, max_size=2).map(tuple),
    )


@st.composite
def _document(draw: st.DrawFn) -> tuple[list[PremisObject], list[Event], dict[str, Agent]]:
    objects = draw(st.lists(_object(), min_size=1, max_size=3))
    events = draw(st.lists(_event, max_size=4))
    agents: dict[str, Agent] = {}
    for event in events:
        for link in event.agents:
            # Agents are looked up by identifier value: one record per value, with the
            # identifier of its first link (a later link of another type would not resolve).
            if link.identifier.value not in agents:
                agents[link.identifier.value] = draw(_agent_for(link.identifier))
    return objects, [e for e in events if _resolves(e, agents)], agents


def _resolves(event: Event, agents: dict[str, Agent]) -> bool:
    return all(agents[link.identifier.value].identifier == link.identifier for link in event.agents)


@settings(max_examples=300, deadline=None)
@given(document=_document())
def test_the_same_bytes_as_the_lxml_writer(
    document: tuple[list[PremisObject], list[Event], dict[str, Agent]],
) -> None:
    objects, events, agents = document
    assert document_bytes(objects, events, agents) == xml_reference.document_bytes(
        objects, events, agents
    )


@pytest.mark.parametrize("name", ["full", "minimal", "notes_only"])
def test_the_same_bytes_for_the_shared_documents(name: str) -> None:
    doc = getattr(documents, name)()
    assert document_bytes(doc.objects, doc.events, doc.agents) == xml_reference.document_bytes(
        doc.objects, doc.events, doc.agents
    )


def test_an_unresolvable_agent_stops_both_writers_after_the_same_bytes() -> None:
    full = documents.full()
    stranger = Event(
        identifier=Identifier("UUID", "00000000-0000-5000-8000-0000000000ff"),
        type=EventType.FIXITY_CHECK,
        date_time=datetime(2026, 1, 1, tzinfo=UTC),
        agents=(LinkingAgent(Identifier("local", "nobody")),),
    )

    def written(writer: object) -> bytes:
        out = io.BytesIO()

        def events() -> Iterator[Event]:
            yield from full.events[:2]
            yield stranger

        with pytest.raises(PremisModelError, match="nobody"):
            writer(out, full.objects, events(), full.agents)  # type: ignore[operator]
        return out.getvalue()

    # Both stop before the failing event; lxml's xmlfile also closes the root element as the
    # exception leaves it, the fragment writer leaves the (discarded) document as it stopped.
    assert written(xml_reference.write_document) == written(write_document) + b"</premis:premis>"
