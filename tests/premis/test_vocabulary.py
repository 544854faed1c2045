"""The enums match the LoC vocabularies, code for code, label for label, URI for URI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from premis import (
    AgentRole,
    AgentType,
    EventOutcome,
    EventType,
    HashFunction,
    LocTerm,
    ObjectRole,
    PremisModelError,
)

REFERENCE = Path(__file__).parents[2].parent / "shared/reference/premis"
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(),
    reason=f"LoC reference files not found at {REFERENCE} (they live outside the repository)",
)

SCHEMES: dict[str, type[LocTerm]] = {
    "eventType": EventType,
    "eventOutcome": EventOutcome,
    "agentType": AgentType,
    "eventRelatedAgentRole": AgentRole,
    "eventRelatedObjectRole": ObjectRole,
    "cryptographicHashFunctions": HashFunction,
}

_HEADING = re.compile(r"^### (\w+)\s+\(scheme URI: (\S+) ;")
_ROW = re.compile(r"^\| (\w+) \| ([^|]+?) \| (http\S+) \|")


def _vocabularies() -> dict[str, tuple[str, dict[str, tuple[str, str]]]]:
    """scheme -> (scheme URI, {code: (label, term URI)}) from vocabularies.md."""
    found: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {}
    terms: dict[str, tuple[str, str]] = {}
    for line in (REFERENCE / "vocabularies.md").read_text(encoding="utf-8").splitlines():
        if heading := _HEADING.match(line):
            terms = {}
            found[heading.group(1)] = (heading.group(2), terms)
        elif row := _ROW.match(line):
            terms[row.group(1)] = (row.group(2), row.group(3))
    return found


@needs_reference
def test_every_scheme_is_described_in_the_reference() -> None:
    assert set(_vocabularies()) == set(SCHEMES)


@needs_reference
@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_codes_labels_and_uris_match_vocabularies_md(scheme: str) -> None:
    scheme_uri, terms = _vocabularies()[scheme]
    enum = SCHEMES[scheme]
    assert {term.code: (term.label, term.uri) for term in enum} == terms
    for term in enum:
        assert term.authority == scheme
        assert term.authority_uri == scheme_uri


@needs_reference
def test_event_types_match_event_type_tsv() -> None:
    rows = [
        line.split("\t")
        for line in (REFERENCE / "eventType.tsv").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(rows) == 50
    assert [(t.code, t.label, t.uri) for t in EventType] == [tuple(row) for row in rows]


def test_counts() -> None:
    counts = {scheme: len(enum) for scheme, enum in SCHEMES.items()}
    assert counts == {
        "eventType": 50,
        "eventOutcome": 3,
        "agentType": 4,
        "eventRelatedAgentRole": 4,
        "eventRelatedObjectRole": 2,
        "cryptographicHashFunctions": 13,
    }


def test_a_term_carries_code_label_and_uris() -> None:
    fix = EventType.from_code("fix")
    assert fix is EventType.FIXITY_CHECK
    assert (fix.code, fix.label) == ("fix", "fixity check")
    assert fix.uri == "http://id.loc.gov/vocabulary/preservation/eventType/fix"
    assert fix.authority == "eventType"
    assert fix.authority_uri == "http://id.loc.gov/vocabulary/preservation/eventType"


def test_an_unknown_code_names_the_scheme_and_the_valid_codes() -> None:
    with pytest.raises(PremisModelError, match=r"unknown eventOutcome code 'ok'.*fai, suc, war"):
        EventOutcome.from_code("ok")


def test_a_code_is_not_looked_up_in_another_scheme() -> None:
    # "val" is both an eventType and an eventRelatedAgentRole code.
    assert EventType.from_code("val") is EventType.VALIDATION
    assert AgentRole.from_code("val") is AgentRole.VALIDATOR
    with pytest.raises(PremisModelError):
        ObjectRole.from_code("val")
