"""PREMIS in METS: valid METS 1.12.1 holding valid PREMIS 3, the same PREMIS as the XML writer's,
and read back by Archivematica's metsrw 0.7 with every event's facts."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from premis import (
    Agent,
    AgentType,
    Event,
    EventType,
    Identifier,
    LinkingAgent,
    ObjectCategory,
    PremisModelError,
    PremisObject,
    document_bytes,
    mets_bytes,
    write_mets,
)
from tests.mets_helpers import (
    assert_valid_mets,
    events_in_premis,
    events_read_by_metsrw,
)
from tests.premis import documents

LABEL = "bc123df4567"
METS = "{http://www.loc.gov/METS/}"
PREMIS = "{http://www.loc.gov/premis/v3}"


def _both(document: documents.Document) -> tuple[bytes, bytes]:
    """The document as METS and as PREMIS XML."""
    args = (document.objects, document.events, document.agents)
    return mets_bytes(*args, label=LABEL), document_bytes(*args)


def _shape(element: etree._Element) -> list[tuple[str, dict[str, str], str | None]]:
    """Every element under `element` (itself included): tag, attributes, and a leaf's text
    exactly (the indentation between elements is not compared)."""
    return [
        (str(node.tag), dict(node.attrib), node.text if len(node) == 0 else None)
        for node in element.iter()
    ]


def _premis_elements(document: bytes) -> list[etree._Element]:
    root = etree.fromstring(document)
    return [node for node in root.iter() if node.tag in {f"{PREMIS}{n}" for n in _KINDS}]


_KINDS = ("object", "event", "agent")


@pytest.mark.parametrize("name", sorted(documents.ALL))
def test_valid_mets_with_the_premis_of_the_xml_writer(name: str) -> None:
    mets, xml = _both(documents.ALL[name]())
    assert_valid_mets(mets)
    assert [_shape(e) for e in _premis_elements(mets)] == [_shape(e) for e in _premis_elements(xml)]


@pytest.mark.parametrize("name", sorted(documents.ALL))
def test_metsrw_reads_every_event_as_the_premis_xml_states_it(name: str) -> None:
    mets, xml = _both(documents.ALL[name]())
    assert events_read_by_metsrw(mets, LABEL) == events_in_premis(xml)


def test_metsrw_reads_every_object_and_agent() -> None:
    import metsrw

    document = documents.full()
    mets, _ = _both(document)
    entry = metsrw.METSDocument.fromstring(mets).get_file(type="Directory", label=LABEL)
    assert [(o.object_identifier_value, o.xsi_type) for o in entry.get_premis_objects()] == [
        (o.identifier.value, f"premis:{o.category.value}") for o in document.objects
    ]
    assert [(a.agent_identifier_value, a.agent_name) for a in entry.get_premis_agents()] == [
        ("preservation_catalog", "Preservation Catalog"),
        ("jdoe", "Jane Doe"),
        ("sdr-storage-01", "sdr-storage-01"),
        ("sul", "Stanford University Libraries"),
    ]


def test_without_version_on_each_event_metsrw_reads_nothing() -> None:
    """Why every event carries version="3.0": metsrw takes a missing one for PREMIS 2.2."""
    mets, _ = _both(documents.full())
    unversioned = mets.replace(b'<premis:event version="3.0">', b"<premis:event>")
    facts = events_read_by_metsrw(unversioned, LABEL)
    assert len(facts) == 4
    # premisrw's "nothing found": an empty tuple for each field.
    assert {(fact.type, fact.date_time, fact.agents) for fact in facts} == {((), (), ())}


def test_layout_sections_and_ids() -> None:
    mets, _ = _both(documents.full())
    root = etree.fromstring(mets)
    assert root.get("OBJID") == LABEL
    amd = root.find(f"{METS}amdSec")
    assert amd is not None
    sections = [
        (etree.QName(s).localname, s.get("ID"), s.find(f"{METS}mdWrap").get("MDTYPE"))  # type: ignore[union-attr]
        for s in amd
    ]
    assert sections == [
        *(("techMD", f"techMD_{n}", "PREMIS:OBJECT") for n in range(1, 5)),
        *(("digiprovMD", f"digiprovMD_{n}", "PREMIS:EVENT") for n in range(1, 5)),
        *(("digiprovMD", f"digiprovMD_{n}", "PREMIS:AGENT") for n in range(5, 9)),
    ]
    div = root.find(f"{METS}structMap/{METS}div")
    assert div is not None and div.get("ADMID") == amd.get("ID")


def test_same_input_same_bytes() -> None:
    assert _both(documents.full()) == _both(documents.full())


_text = st.text(
    st.one_of(
        st.sampled_from([" ", "\n", "\t", "\r", "<", ">", "&", "a", "\x01"]),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=12,
).filter(str.strip)  # the model refuses whitespace-only text


@settings(max_examples=100, deadline=None)
@given(detail=_text, note=_text, agent_note=_text)
def test_any_text_keeps_its_whitespace_in_the_mets(detail: str, note: str, agent_note: str) -> None:
    """Indenting four levels deeper moves only the markup's whitespace, never a text's (even a
    text of spaces and newlines)."""
    agent = Agent(Identifier("local", "a"), "A", AgentType.SOFTWARE, notes=(agent_note,))
    event = Event(
        identifier=Identifier("local", "e"),
        type=EventType.VALIDATION,
        date_time=datetime(2026, 1, 1, tzinfo=UTC),
        detail=detail,
        outcome_notes=(note,),
        agents=(LinkingAgent(agent.identifier),),
    )
    document = documents.Document(
        (PremisObject(Identifier("local", "o"), ObjectCategory.INTELLECTUAL_ENTITY),),
        (event,),
        {"a": agent},
    )
    mets, xml = _both(document)
    assert [_shape(e) for e in _premis_elements(mets)] == [_shape(e) for e in _premis_elements(xml)]


def test_no_object_or_a_label_xml_cannot_carry_is_refused_before_writing() -> None:
    document = documents.full()
    for objects, label in (((), LABEL), (document.objects, ""), (document.objects, "a\x00b")):
        out = io.BytesIO()
        with pytest.raises(PremisModelError):
            write_mets(out, objects, document.events, document.agents, label=label)
        assert out.getvalue() == b""
