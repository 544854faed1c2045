"""PREMIS 3 Turtle and JSON-LD written without an rdflib graph, in bounded memory.

The bytes are those of `premis.rdf.serialize(premis.rdf.to_graph(...))` (the tests compare the
two on generated documents): `premis.turtle_text` and `premis.json_ld_text` write a subject as
rdflib and `premis.rdf` would, and this module puts the subjects in their order. Both orders
depend on the whole document: subjects by URI (events arrive in time order), and in Turtle the
objects and agents, which events reference, after the events. So each subject's triples go
to `premis.subject_sort` (an external sort, memory bounded by its budget) and nothing is
written before the last event is read; while they are gathered, a census counts references and
vocabulary terms (for Turtle's prefixes and order).

A base URI that could shorten resource URIs to prefixed names (one that is a prefix of a bound
namespace or the reverse, or has characters a URI may not hold) takes rdflib's road instead:
rdflib's rules for those are not worth copying.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import BinaryIO

from premis import json_ld_text
from premis.model import AgentSource, Event, PremisObject
from premis.rdf_triples import (
    COUNT,
    DATE_TIME,
    DEFAULT_BASE_URI,
    PREFIXES,
    RDF_TYPE,
    URI,
    XSD_DATE_TIME,
    XSD_NON_NEGATIVE_INTEGER,
    Triple,
    TripleMapper,
    document_triples,
)
from premis.subject_sort import DEFAULT_BUDGET, SubjectSorter
from premis.turtle_text import TurtleBlocks, TurtleNames, header, prefixed

_SAFE_BASE = re.compile(r"[A-Za-z0-9._~:/%+-]+")


def streamable(base_uri: str) -> bool:
    """Whether resource URIs under `base_uri` are never shortened to prefixed names."""
    return _SAFE_BASE.fullmatch(base_uri) is not None and not any(
        namespace.startswith(base_uri) or base_uri.startswith(namespace)
        for namespace in PREFIXES.values()
    )


class _Census:
    """References to each URI (Turtle orders subjects by them) and the predicates and
    datatypes used (its prefixes), counted per distinct triple as rdflib counts them."""

    def __init__(self) -> None:
        self.references: dict[str, int] = {}
        self.predicates: set[str] = set()
        self.date_times = False
        self.counts = False

    def count(self, triples: Iterable[Triple]) -> None:
        references = self.references
        for _, predicate, (kind, text) in triples:
            self.predicates.add(predicate)
            if kind == URI:
                references[text] = references.get(text, 0) + 1
            elif kind == DATE_TIME:
                self.date_times = True
            elif kind == COUNT:
                self.counts = True

    def prefixes(self) -> set[str]:
        used = (self.predicates - {RDF_TYPE}) | self.references.keys()
        if self.date_times:
            used.add(XSD_DATE_TIME)
        if self.counts:
            used.add(XSD_NON_NEGATIVE_INTEGER)
        return {parts[0] for parts in map(prefixed, used) if parts is not None}


def write_rdf(
    out: BinaryIO,
    objects: Iterable[PremisObject],
    events: Iterable[Event],
    agents: AgentSource,
    fmt: str,
    *,
    base_uri: str = DEFAULT_BASE_URI,
    budget: int = DEFAULT_BUDGET,
) -> None:
    """Write the PREMIS document of these objects, events and linked agents to `out` as Turtle
    or JSON-LD: the bytes of `serialize(to_graph(objects, events, agents), fmt)`, the same
    checks, and nothing written when one fails."""
    if fmt not in ("turtle", "json-ld"):
        raise ValueError(f"unknown RDF format {fmt!r}: expected 'turtle' or 'json-ld'")
    mapper = TripleMapper(base_uri)
    if not streamable(base_uri):
        from premis.rdf import serialize, to_graph  # noqa: PLC0415  (rdflib: only for these)

        graph = to_graph(objects, events, agents, base_uri=base_uri)
        out.write(serialize(graph, fmt))  # type: ignore[arg-type]
        return
    census = _Census()
    with SubjectSorter(budget) as sorter:
        for triples in document_triples(mapper, objects, events, agents):
            unique = list(dict.fromkeys(triples))  # a graph holds a triple once
            sorter.add(unique)
            census.count(unique)
        if fmt == "turtle":
            if sorter.repeats_a_subject():  # the same triple in two records counted twice
                census = _Census()
                for subject, properties in sorter.subjects():
                    census.count(
                        (subject, predicate, term)
                        for predicate, terms in properties.items()
                        for term in terms
                    )
            _write_turtle(out, sorter, census, base_uri)
        else:
            _write_json_ld(out, sorter, base_uri)


def _write_turtle(out: BinaryIO, sorter: SubjectSorter, census: _Census, base_uri: str) -> None:
    blocks = TurtleBlocks(TurtleNames(base_uri))
    out.write(header(census.prefixes()).encode())  # each block starts with its blank line
    references = census.references
    referenced: list[tuple[int, str, str]] = []
    for subject, properties in sorter.subjects():
        count = references.get(subject, 0)
        if count:  # the objects and agents the events link to: few, written after them
            referenced.append((count, subject, blocks.block(subject, properties)))
        else:
            out.write(blocks.block(subject, properties).encode())
    referenced.sort()
    for _, _, block in referenced:
        out.write(block.encode())
    out.write(b"\n")


def _write_json_ld(out: BinaryIO, sorter: SubjectSorter, base_uri: str) -> None:
    nodes = json_ld_text.JsonLdNodes(base_uri)
    out.write(json_ld_text.head().encode())
    subjects = sorter.subjects()
    first = next(subjects)  # the writer gave at least one object
    second = next(subjects, None)
    if second is None:
        # rdflib writes a one-node graph as that node with the context in it (no @graph), and
        # premis.rdf keeps that node whole: the context shows twice.
        out.write(nodes.text(*first, context=True).encode())
    else:
        out.write(nodes.text(*first).encode())
        out.write(f",\n{nodes.text(*second)}".encode())
        for subject, properties in subjects:
            out.write(f",\n{nodes.text(subject, properties)}".encode())
    out.write(json_ld_text.TAIL.encode())
