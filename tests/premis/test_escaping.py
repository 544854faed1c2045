r"""The visible escaping is reversible: `unescape(xml_safe(s)) == s` for every string, in the
XML document and the RDF graph too, and two different strings never share a spelling (issue 14,
defect 9: a literal `\u0001` in a path and the control character U+0001 were written alike)."""

from __future__ import annotations

import re
from typing import cast

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from rdflib import Literal
from rdflib.namespace import RDF

from premis import (
    Identifier,
    ObjectCategory,
    PremisObject,
    document_bytes,
    resource_uri,
    to_graph,
    unescape,
    visible_surrogates,
    xml_safe,
)
from premis.escaping import FORBIDDEN_RANGES
from premis.rdf import PREMIS
from tests.premis_helpers import assert_valid_premis

NS = {"premis": "http://www.loc.gov/premis/v3"}

# Any code point at all (lone surrogates included), and more often the pieces escapes are made
# of, so that texts which look like an escape, and the characters they stand for, meet.
_confusable = st.sampled_from(
    ["\\", "\\\\", "u", "x", "0001", "d800", "dce9", "e9", "\x01", "\ud800", "\udce9", "\udc41"]
)
_any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
_text = st.one_of(_any_text, st.lists(st.one_of(_confusable, _any_text), max_size=8).map("".join))


@settings(max_examples=500, deadline=None)
@given(text=_text)
def test_unescape_gives_back_any_text(text: str) -> None:
    escaped = xml_safe(text)
    assert unescape(escaped) == text
    # What XML 1.0 can carry (so UTF-8 can encode it: no lone surrogate is left).
    assert re.search(f"[{FORBIDDEN_RANGES}]", escaped) is None


@settings(max_examples=500, deadline=None)
@given(first=_text, second=_text)
@example(first="a\\u0001", second="a\x01")
@example(first="caf\\xe9", second="caf\udce9")
def test_two_different_texts_never_share_a_spelling(first: str, second: str) -> None:
    # The likeliest collision: a text, and another text that is its spelling written out.
    spelled = xml_safe(first)
    assert spelled == first or xml_safe(spelled) != spelled
    assume(first != second)
    assert xml_safe(first) != xml_safe(second)
    # An identifier value must hold more than white space: both get the same first character.
    first_uri = resource_uri(Identifier("path", f"p{first}"))
    assert first_uri != resource_uri(Identifier("path", f"p{second}"))


@settings(max_examples=300, deadline=None)
@given(written=_text)
def test_unescape_accepts_only_what_xml_safe_writes(written: str) -> None:
    # The converse of the round trip: one spelling per text, so unescape is an exact inverse.
    try:
        original = unescape(written)
    except ValueError:
        return
    assert xml_safe(original) == written


def test_a_literal_escape_and_the_character_it_spells_are_written_apart() -> None:
    assert xml_safe("a\\u0001") == "a\\\\u0001"
    assert xml_safe("a\x01") == "a\\u0001"
    assert xml_safe("caf\\xe9") == "caf\\\\xe9"
    assert xml_safe("caf\udce9") == "caf\\xe9"
    assert xml_safe("C:\\logs\\") == "C:\\\\logs\\\\"
    assert resource_uri(Identifier("path", "a\\u0001")) == "urn:x-local:premis:path/a%5C%5Cu0001"
    assert resource_uri(Identifier("path", "a\x01")) == "urn:x-local:premis:path/a%5Cu0001"


@pytest.mark.parametrize(
    "written",
    [
        "trailing \\",
        "\\q",
        "\\u001",  # too few digits
        "\\u001F",  # upper case: xml_safe writes lower case
        "\\u0041",  # "A" is kept, never escaped
        "\\udce9",  # an undecodable byte is written \xe9
        "\\x41",  # \x is for the bytes 80..ff only
        "bare \x01",  # xml_safe never leaves a forbidden code point
    ],
)
def test_unescape_refuses_text_xml_safe_cannot_have_written(written: str) -> None:
    with pytest.raises(ValueError, match="xml_safe"):
        unescape(written)


def test_clean_text_is_returned_itself() -> None:
    text = "no backslash: tab\t é 😀 \x9b"
    assert xml_safe(text) is text
    assert unescape(text) is text


def test_stored_spellings_reach_premis_reversibly() -> None:
    # prov ingest stores an undecodable byte as `\xe9` (visible_surrogates keeps backslashes):
    # PREMIS gives back exactly what the store holds, whichever way it got there.
    stored = visible_surrogates("caf\udce9")
    assert stored == "caf\\xe9" == visible_surrogates("caf\\xe9")
    assert unescape(xml_safe(stored)) == stored


def _objects(names: list[str]) -> list[PremisObject]:
    return [
        PremisObject(Identifier("path", name), ObjectCategory.INTELLECTUAL_ENTITY, name)
        for name in names
    ]


@settings(max_examples=100, deadline=None)
@given(names=st.lists(_text.filter(lambda text: text.strip() != ""), min_size=1, max_size=4))
def test_the_xml_document_reads_back_to_the_original_text(names: list[str]) -> None:
    produced = document_bytes(_objects(names), [], {})
    assert_valid_premis(produced)
    root = etree.fromstring(produced)
    found = cast(list[str], root.xpath("//premis:objectIdentifierValue/text()", namespaces=NS))
    assert [unescape(str(text)) for text in found] == names
    named = cast(list[str], root.xpath("//premis:originalName/text()", namespaces=NS))
    assert [unescape(str(text)) for text in named] == names


def test_a_literal_escape_and_its_character_are_two_resources_in_rdf() -> None:
    names = ["a\\u0001", "a\x01", "caf\\xe9", "caf\udce9"]
    graph = to_graph(_objects(names), [], {})
    values = sorted(
        unescape(str(value))
        for value in graph.objects(None, RDF.value)
        if isinstance(value, Literal)
    )
    assert values == sorted(names)
    assert len(set(graph.subjects(PREMIS.identifier, None))) == len(names)
