"""The XML writer: golden documents, XSD validity, escaping, agent records, streaming order.

Golden files are regenerated with `UPDATE_GOLDEN=1 pytest tests/premis`; review the diff.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

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
    visible_surrogates,
    write_document,
    xml_safe,
)
from premis.escaping import DISGUISED
from tests.premis import documents
from tests.premis_helpers import assert_valid_premis

GOLDEN = Path(__file__).parent / "golden"
NS = {"premis": "http://www.loc.gov/premis/v3"}
FORBIDDEN = [
    *(chr(c) for c in range(0x00, 0x09)),
    "\x0b",
    "\x0c",
    *(chr(c) for c in range(0x0E, 0x20)),
    "\ud800",
    "\udbff",
    "\udc80",
    "\udce9",
    "\udfff",
    "\ufffe",
    "\uffff",
]


def _elements(root: etree._Element, path: str) -> list[etree._Element]:
    return cast(list[etree._Element], root.xpath(path, namespaces=NS))


def _strings(root: etree._Element, path: str) -> list[str]:
    """The string results of `path` (attribute values or text nodes)."""
    return [str(found) for found in cast(list[object], root.xpath(path, namespaces=NS))]


def _bytes(document: documents.Document) -> bytes:
    return document_bytes(document.objects, document.events, document.agents)


@pytest.mark.parametrize("name", sorted(documents.ALL))
def test_golden_document(name: str) -> None:
    produced = _bytes(documents.ALL[name]())
    assert_valid_premis(produced)
    golden = GOLDEN / f"{name}.xml"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_bytes(produced)
    assert golden.is_file(), f"{golden} missing: run UPDATE_GOLDEN=1 pytest tests/premis"
    assert produced == golden.read_bytes()


def test_same_input_same_bytes() -> None:
    assert _bytes(documents.full()) == _bytes(documents.full())


def test_document_shape() -> None:
    produced = _bytes(documents.full())
    assert produced.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<premis:premis ")
    root = etree.fromstring(produced)
    assert root.get("version") == "3.0"
    assert root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation") == (
        "http://www.loc.gov/premis/v3 http://www.loc.gov/standards/premis/v3/premis.xsd"
    )
    assert [etree.QName(child).localname for child in root] == (
        ["object"] * 4 + ["event"] * 4 + ["agent"] * 4
    )
    # On each of them too: a reader given one alone (metsrw in a METS mdWrap) needs it.
    assert [child.get("version") for child in root] == ["3.0"] * 12
    assert _strings(root, "premis:object/@*[local-name()='type']") == [
        "premis:intellectualEntity",
        "premis:representation",
        "premis:representation",
        "premis:file",
    ]


def test_controlled_terms_carry_authority_attributes_and_nothing_else_does() -> None:
    root = etree.fromstring(_bytes(documents.full()))
    with_authority = {etree.QName(el).localname for el in root.iter() if el.get("authority")}
    assert with_authority == {
        "eventType",
        "eventOutcome",
        "linkingAgentRole",
        "linkingObjectRole",
        "agentType",
        "messageDigestAlgorithm",
        "relationshipSubType",
    }
    (md5,) = _elements(root, "//premis:messageDigestAlgorithm[.='MD5']")
    assert md5.get("valueURI") == (
        "http://id.loc.gov/vocabulary/preservation/cryptographicHashFunctions/md5"
    )
    (fix,) = _elements(root, "//premis:eventType[.='fixity check']")
    assert dict(fix.items()) == {
        "authority": "eventType",
        "authorityURI": "http://id.loc.gov/vocabulary/preservation/eventType",
        "valueURI": "http://id.loc.gov/vocabulary/preservation/eventType/fix",
    }


def test_agents_follow_the_events_each_once_in_order_of_first_reference() -> None:
    root = etree.fromstring(_bytes(documents.full()))
    values = _strings(
        root, "premis:agent/premis:agentIdentifier/premis:agentIdentifierValue/text()"
    )
    assert values == ["preservation_catalog", "jdoe", "sdr-storage-01", "sul"]


def test_an_agent_function_is_asked_once_per_agent() -> None:
    asked: list[Identifier] = []
    catalog = documents.CATALOG

    def lookup(identifier: Identifier) -> Agent | None:
        asked.append(identifier)
        return catalog if identifier == catalog.identifier else None

    events = [
        e
        for e in documents.full().events
        if {a.identifier for a in e.agents} == {catalog.identifier}
    ]
    document_bytes(documents.full().objects, events * 3, lookup)
    assert asked == [catalog.identifier]


def test_an_unresolvable_agent_link_is_named() -> None:
    full = documents.full()
    with pytest.raises(PremisModelError, match=r"linking agent local:sul has no agent record"):
        document_bytes(
            full.objects,
            full.events,
            {
                "preservation_catalog": documents.CATALOG,
                "jdoe": documents.CURATOR,
                "sdr-storage-01": documents.SERVER,
            },
        )


def test_an_agent_record_must_carry_the_linked_identifier() -> None:
    impostor = Agent(Identifier("orcid", "preservation_catalog"), "Someone", AgentType.PERSON)
    full = documents.full()
    with pytest.raises(PremisModelError, match="not an Agent with that identifier"):
        document_bytes(full.objects, full.events, {"preservation_catalog": impostor})


def test_a_document_needs_an_object_and_nothing_is_written_without_one() -> None:
    out = io.BytesIO()
    with pytest.raises(PremisModelError, match="at least one object"):
        write_document(out, [], documents.full().events, {})
    assert out.getvalue() == b""


def test_each_event_is_written_before_the_next_is_asked_for() -> None:
    out = io.BytesIO()
    full = documents.full()
    sizes: list[int] = []

    def lazily() -> Iterator[Event]:
        for event in full.events:
            sizes.append(len(out.getvalue()))
            yield event

    write_document(out, full.objects, lazily(), full.agents)
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    assert b"00000000-0000-5000-8000-000000000001" in out.getvalue()[: sizes[1]]


# -- escaping -------------------------------------------------------------------------------


def test_xml_safe_returns_clean_text_itself() -> None:
    text = "nothing to see here: tab\t newline\n return\r é 😀"
    assert xml_safe(text) is text


def test_visible_surrogates_spells_them_as_xml_safe_does_and_keeps_control_characters() -> None:
    text = "caf\udce9\udcff \x01 \ud800"
    assert visible_surrogates(text) == "caf\\xe9\\xff \x01 \\ud800"
    assert xml_safe(text) == "caf\\xe9\\xff \\u0001 \\ud800"
    # Its backslashes are text to xml_safe (doubled), so PREMIS keeps the stored spelling.
    assert xml_safe(visible_surrogates(text)) == "caf\\\\xe9\\\\xff \\u0001 \\\\ud800"
    clean = "é 😀 \x1b"
    assert visible_surrogates(clean) is clean


@pytest.mark.parametrize("char", FORBIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_every_forbidden_character_is_written_visibly(char: str) -> None:
    code = ord(char)
    # An undecodable byte as surrogateescape decodes it is spelled as the byte it was.
    spelled = f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
    assert xml_safe(f"a{char}b") == f"a{spelled}b"
    detail = f"before {char} after"
    produced = _document_with_text(detail=detail)
    assert_valid_premis(produced)
    found = _strings(etree.fromstring(produced), "//premis:eventDetail/text()")
    assert found == [f"before {spelled} after"]


def test_c1_and_bidi_controls_are_written_as_character_references() -> None:
    # Legal XML, but a terminal would obey them (U+009B is CSI) or reorder the line around them.
    detail = "".join(f"[{chr(code)}]" for code in sorted(DISGUISED))
    produced = _document_with_text(detail=detail)

    assert not [char for char in produced.decode() if ord(char) in DISGUISED]
    assert b"[&#x9B;]" in produced and b"[&#x202E;]" in produced and b"[&#x7F;]" in produced
    assert_valid_premis(produced)
    (found,) = _strings(etree.fromstring(produced), "//premis:eventDetail/text()")
    assert found == detail  # the same value


def test_the_golden_detail_keeps_markup_control_and_surrogate_visibly() -> None:
    root = etree.fromstring(_bytes(documents.full()))
    (detail,) = _strings(root, "//premis:eventDetail[contains(., 'checksums')]/text()")
    assert detail == ("checksums for <a&b> \"quoted\" 'single' \\u0001 and byte \\xe9 do not match")


def _document_with_text(
    *, detail: str | None = None, note: str = "note", name: str = "name", value: str = "v"
) -> bytes:
    agent = Agent(Identifier("local", value), name, AgentType.SOFTWARE, version=name, notes=(note,))
    event = Event(
        identifier=Identifier("local", value),
        type=EventType.VALIDATION,
        date_time=datetime(2026, 1, 1, tzinfo=UTC),
        detail=detail,
        outcome_notes=(note,),
        agents=(LinkingAgent(agent.identifier),),
    )
    entity = PremisObject(Identifier("local", value), ObjectCategory.INTELLECTUAL_ENTITY, name)
    return document_bytes([entity], [event], {value: agent})


_nasty_char = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.sampled_from([*FORBIDDEN, "\r", "\t", "\n", "<", "&", "]", ">", "\x85", "\u2028"]),
)
_nasty_text = st.text(_nasty_char, min_size=1, max_size=40).filter(lambda text: text.strip() != "")


@settings(max_examples=150, deadline=None)
@given(detail=_nasty_text, note=_nasty_text, name=_nasty_text, value=_nasty_text)
def test_any_text_gives_a_valid_document_that_reads_back_escaped(
    detail: str, note: str, name: str, value: str
) -> None:
    produced = _document_with_text(detail=detail, note=note, name=name, value=value)
    assert_valid_premis(produced)
    root = etree.fromstring(produced)

    def texts(path: str) -> list[str]:
        return [element.text or "" for element in _elements(root, path)]

    assert texts("//premis:eventDetail") == [xml_safe(detail)]
    assert texts("//premis:eventOutcomeDetailNote") == [xml_safe(note)]
    assert texts("//premis:agentNote") == [xml_safe(note)]
    assert texts("//premis:agentName") == [xml_safe(name)]
    assert texts("//premis:originalName") == [xml_safe(name)]
    assert texts("//premis:eventIdentifierValue") == [xml_safe(value)]
