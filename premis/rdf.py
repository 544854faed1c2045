"""PREMIS 3 in RDF, following the PREMIS 3 OWL ontology (http://www.loc.gov/premis/rdf/v3/).

The mapping (its triples are made by `premis.rdf_triples`, shared with the streamed writer
`premis.rdf_stream`), as an rdflib graph, and that graph's deterministic Turtle and JSON-LD
serialization, the reference whose bytes `premis.rdf_stream` writes without the graph:

- event: `rdf:type` premis:Event and the LoC eventType term (each term is a subclass of
  premis:Event); `prov:endedAtTime` for `date_time` (when the event was done; the same text as
  the XML's `eventDateTime`) and `prov:startedAtTime` for `started_at` when a source stated it;
  `premis:note` for the detail; `premis:outcome` -> the eventOutcome term; `premis:outcomeNote`;
  `prov:wasAssociatedWith` plus one eventRelatedAgentRole property per role for each agent;
  for each object, the eventRelatedObjectRole property of each role together with the PROV-O
  property it refines (`sou` with `prov:used`, `out` with `prov:generated`), and `prov:used`
  alone for a link without a role (it says the object took part and no more), so a reader
  that knows only PROV-O sees what each event used and made;
- object: premis:IntellectualEntity | Representation | File | Bitstream; `premis:originalName`;
  each relationship as `premis:relationship` and as the LoC relationshipSubType term that keeps
  its direction (`rep` represents, `isr` is Represented By, `hsp` has Part, `isp` is Part Of);
  a file's or bitstream's format as `dct:format` -> `<object URI>#format`, a `dct:FileFormat`
  labelled with the format name; `premis:size` (xsd:nonNegativeInteger); each fixity as
  `premis:fixity` -> `<object URI>#fixity-<n>`, a premis:Fixity of the LoC
  cryptographicHashFunctions class with the digest as `rdf:value`; each storage as
  `premis:storedAt` -> `<object URI>#storage-<n>`, a premis:StorageLocation with the content
  location as `rdf:value`, its type as `dct:type` and any medium as `premis:medium` -> a
  premis:StorageMedium labelled with it;
- agent: premis:Agent and the LoC agentType term; `rdfs:label` name; `premis:version`;
  `premis:note`;
- every described resource: `premis:identifier` -> `<its URI>#identifier`, a premis:Identifier
  with `rdf:value` the identifier value and, as its other class, the identifier type
  (`<base URI><type>/`, see `premis.rdf_triples.identifier_type_uri`).

None of the v1 `has*` properties, no `premis:eventType`. Resource URIs: see `resource_uri`;
those not minted from a UUID start with the base URI (`base_uri`, default `DEFAULT_BASE_URI`,
`urn:x-local:premis:`, a name that resolves nowhere and says it is local).
All literal text goes through `xml_safe`, so RDF and XML show the same text; the serialized
document writes its `DISGUISED` characters (C1 and bidi controls) as escapes of the same value
(`premis.escaping`).

rdflib is imported here and nowhere else in the package, so `import premis` stays cheap (and
`premis.rdf_stream` imports this module only for a base URI it does not stream).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from rdflib import Graph, Namespace, URIRef
from rdflib import Literal as RdfLiteral

from premis.escaping import escape_disguised
from premis.model import AgentSource, Event, PremisObject
from premis.rdf_triples import (
    COUNT,
    DATE_TIME,
    DEFAULT_BASE_URI,
    PREFIXES,
    PREMIS_NS,
    URI,
    XSD_DATE_TIME,
    XSD_NON_NEGATIVE_INTEGER,
    Triple,
    TripleMapper,
    document_triples,
    resource_uri,
)

PREMIS = Namespace(PREMIS_NS)

RdfFormat = Literal["turtle", "json-ld"]

_PREFIXES = PREFIXES
__all__ = ["DEFAULT_BASE_URI", "PREMIS", "RdfFormat", "resource_uri", "serialize", "to_graph"]


def _add(graph: Graph, triples: list[Triple]) -> None:
    for subject, predicate, (kind, text) in triples:
        if kind == URI:
            value: URIRef | RdfLiteral = URIRef(text)
        elif kind == DATE_TIME:
            value = RdfLiteral(text, datatype=URIRef(XSD_DATE_TIME))
        elif kind == COUNT:
            value = RdfLiteral(text, datatype=URIRef(XSD_NON_NEGATIVE_INTEGER))
        else:
            value = RdfLiteral(text)
        graph.add((URIRef(subject), URIRef(predicate), value))


def to_graph(
    objects: Iterable[PremisObject],
    events: Iterable[Event],
    agents: AgentSource,
    *,
    base_uri: str = DEFAULT_BASE_URI,
) -> Graph:
    """The PREMIS 3 RDF graph of these objects, events and the agents the events link to.

    Same inputs and the same checks as `premis.xml.write_document`: at least one object, and
    every agent link must resolve (`PremisModelError` otherwise); only linked agents are
    described. The graph is built in memory: `premis.rdf_stream` writes the same bytes as
    `serialize(to_graph(...))` without it; this is the reference its tests compare with.
    """
    mapper = TripleMapper(base_uri)
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in _PREFIXES.items():
        graph.bind(prefix, namespace)
    for triples in document_triples(mapper, objects, events, agents):
        _add(graph, triples)
    return graph


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _stable_json_ld(text: str) -> bytes:
    """rdflib's JSON-LD with every node, property and value list in a fixed order."""
    document = json.loads(text)
    nodes = document.get("@graph", [document]) if isinstance(document, dict) else document
    for node in nodes:
        for key, value in node.items():
            if isinstance(value, list):
                node[key] = sorted(value, key=_sort_key)
    nodes = sorted(nodes, key=lambda node: (str(node.get("@id", "")), _sort_key(node)))
    stable = {"@context": dict(sorted(_PREFIXES.items())), "@graph": nodes}
    text = json.dumps(stable, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    # Only strings can hold such characters, and JSON's escape is the same string.
    return escape_disguised(text, _json_escape).encode()


def _json_escape(code: int) -> str:
    return f"\\u{code:04x}"


def _turtle_escape(code: int) -> str:
    # Turtle's UCHAR, the same character in a string literal and in an IRI; literals are the
    # only place such a character can be (resource URIs are percent-encoded, names are fixed).
    return f"\\u{code:04X}"


def serialize(graph: Graph, format: RdfFormat) -> bytes:
    """`graph` as UTF-8 Turtle or JSON-LD, byte-identical for equal graphs.

    Turtle: rdflib's serializer, which sorts subjects, predicates and objects. JSON-LD: compacted
    with this module's fixed prefixes, then nodes sorted by `@id` and value lists sorted. In
    both, C1 and bidi controls are written as escapes (`premis.escaping.DISGUISED`).
    """
    if format == "turtle":
        text = graph.serialize(format="turtle")
        return escape_disguised(text, _turtle_escape).encode()
    if format == "json-ld":
        return _stable_json_ld(graph.serialize(format="json-ld", context=dict(_PREFIXES)))
    raise ValueError(f"unknown RDF format {format!r}: expected 'turtle' or 'json-ld'")
