"""PREMIS 3 in RDF, following the PREMIS 3 OWL ontology (http://www.loc.gov/premis/rdf/v3/).

Owns the RDF mapping of the model and its deterministic Turtle and JSON-LD serialization:

- event: `rdf:type` premis:Event and the LoC eventType term (each term is a subclass of
  premis:Event); `prov:startedAtTime` (xsd:dateTime, same text as the XML); `premis:note` for
  the detail; `premis:outcome` -> the eventOutcome term; `premis:outcomeNote`;
  `prov:wasAssociatedWith` plus one eventRelatedAgentRole property per role for each agent;
  the eventRelatedObjectRole properties (`sou`, `out`) for objects, `prov:used` for an object
  link without a role;
- object: premis:IntellectualEntity | Representation | File | Bitstream; `premis:originalName`;
  `premis:relationship` to related objects; a file's or bitstream's format as `dct:format` ->
  `<object URI>#format`, a `dct:FileFormat` labelled with the format name;
- agent: premis:Agent and the LoC agentType term; `rdfs:label` name; `premis:version`;
  `premis:note`;
- every described resource: `dct:identifier` (the identifier value).

None of the v1 `has*` properties, no `premis:eventType`. Resource URIs: see `resource_uri`.
All literal text goes through `xml_safe`, so RDF and XML show the same text; the serialized
document writes its `DISGUISED` characters (C1 and bidi controls) as escapes of the same value
(`premis.escaping`).

rdflib is imported here and nowhere else in the package, so `import premis` stays cheap.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import quote

from rdflib import RDF, RDFS, XSD, Graph, Namespace, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import DCTERMS, PROV

from premis.errors import PremisModelError
from premis.escaping import escape_disguised, xml_safe
from premis.model import (
    Agent,
    AgentSource,
    Event,
    Identifier,
    ObjectCategory,
    PremisObject,
    ReferencedAgents,
    format_date_time,
)
from premis.vocabulary import LOC_PRESERVATION

PREMIS = Namespace("http://www.loc.gov/premis/rdf/v3/")

DEFAULT_BASE_URI = "urn:premis:"
"""Prefix of the URI of a resource whose identifier is not a UUID (see `resource_uri`)."""

RdfFormat = Literal["turtle", "json-ld"]

_CLASS_OF_CATEGORY = {
    ObjectCategory.INTELLECTUAL_ENTITY: PREMIS.IntellectualEntity,
    ObjectCategory.REPRESENTATION: PREMIS.Representation,
    ObjectCategory.FILE: PREMIS.File,
    ObjectCategory.BITSTREAM: PREMIS.Bitstream,
}

# Fixed prefixes (sorted when serialized) so output never depends on what rdflib binds.
_PREFIXES = {
    "agentType": f"{LOC_PRESERVATION}agentType/",
    "dct": str(DCTERMS),
    "eventOutcome": f"{LOC_PRESERVATION}eventOutcome/",
    "eventRelatedAgentRole": f"{LOC_PRESERVATION}eventRelatedAgentRole/",
    "eventRelatedObjectRole": f"{LOC_PRESERVATION}eventRelatedObjectRole/",
    "eventType": f"{LOC_PRESERVATION}eventType/",
    "premis": str(PREMIS),
    "prov": str(PROV),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
}


def _check_base_uri(base_uri: str) -> None:
    if not base_uri.endswith(("/", ":")):
        raise PremisModelError(f"base_uri {base_uri!r} must end with '/' or ':'")


def resource_uri(identifier: Identifier, base_uri: str = DEFAULT_BASE_URI) -> str:
    """The stable URI of the resource with this identifier.

    - type `UUID` (any case) with a value that parses as a UUID: `urn:uuid:<canonical uuid>`
      (a UUID is globally unique already, so no base is needed);
    - otherwise `<base_uri><type>/<value>`, type and value percent-encoded (UTF-8, nothing
      kept unescaped), e.g. `urn:premis:druid/bc123df4567`, or with
      `base_uri="https://example.org/premis/"`, `https://example.org/premis/druid/bc123df4567`.

    `base_uri` must end with "/" or ":" (raises `PremisModelError` otherwise).
    """
    _check_base_uri(base_uri)
    if identifier.type.casefold() == "uuid":
        try:
            return uuid.UUID(identifier.value).urn
        except ValueError:
            pass  # not really a UUID: falls back to the general form
    kind = quote(xml_safe(identifier.type), safe="")
    value = quote(xml_safe(identifier.value), safe="")
    return f"{base_uri}{kind}/{value}"


def _text(value: str) -> RdfLiteral:
    return RdfLiteral(xml_safe(value))


class _GraphBuilder:
    def __init__(self, base_uri: str) -> None:
        _check_base_uri(base_uri)
        self.base_uri = base_uri
        self.graph = Graph(bind_namespaces="none")
        for prefix, namespace in _PREFIXES.items():
            self.graph.bind(prefix, namespace)

    def node(self, identifier: Identifier) -> URIRef:
        return URIRef(resource_uri(identifier, self.base_uri))

    def described(self, identifier: Identifier) -> URIRef:
        subject = self.node(identifier)
        self.graph.add((subject, DCTERMS.identifier, _text(identifier.value)))
        return subject

    def add_object(self, obj: PremisObject) -> None:
        add = self.graph.add
        subject = self.described(obj.identifier)
        add((subject, RDF.type, _CLASS_OF_CATEGORY[obj.category]))
        if obj.original_name is not None:
            add((subject, PREMIS.originalName, _text(obj.original_name)))
        if obj.format_name is not None:
            file_format = URIRef(f"{subject}#format")
            add((subject, DCTERMS.format, file_format))
            add((file_format, RDF.type, DCTERMS.FileFormat))
            add((file_format, RDFS.label, _text(obj.format_name)))
        for relationship in obj.relationships:
            add((subject, PREMIS.relationship, self.node(relationship.related)))

    def add_event(self, event: Event) -> None:
        add = self.graph.add
        subject = self.described(event.identifier)
        add((subject, RDF.type, PREMIS.Event))
        add((subject, RDF.type, URIRef(event.type.uri)))
        moment = RdfLiteral(format_date_time(event.date_time), datatype=XSD.dateTime)
        add((subject, PROV.startedAtTime, moment))
        if event.detail is not None:
            add((subject, PREMIS.note, _text(event.detail)))
        if event.outcome is not None:
            add((subject, PREMIS.outcome, URIRef(event.outcome.uri)))
        for note in event.outcome_notes:
            add((subject, PREMIS.outcomeNote, _text(note)))
        for agent_link in event.agents:
            agent = self.node(agent_link.identifier)
            # The role properties are sub-properties of prov:wasAssociatedWith; stating the
            # super-property too keeps the link visible to consumers that do no inference.
            add((subject, PROV.wasAssociatedWith, agent))
            for agent_role in agent_link.roles:
                add((subject, URIRef(agent_role.uri), agent))
        for object_link in event.objects:
            linked = self.node(object_link.identifier)
            if not object_link.roles:
                add((subject, PROV.used, linked))
            for object_role in object_link.roles:
                add((subject, URIRef(object_role.uri), linked))

    def add_agent(self, agent: Agent) -> None:
        add = self.graph.add
        subject = self.described(agent.identifier)
        add((subject, RDF.type, PREMIS.Agent))
        add((subject, RDF.type, URIRef(agent.type.uri)))
        add((subject, RDFS.label, _text(agent.name)))
        if agent.version is not None:
            add((subject, PREMIS.version, _text(agent.version)))
        for note in agent.notes:
            add((subject, PREMIS.note, _text(note)))


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
    described. The graph is built in memory (RDF has no streaming order to exploit).
    """
    builder = _GraphBuilder(base_uri)
    object_count = 0
    for obj in objects:
        builder.add_object(obj)
        object_count += 1
    if not object_count:
        raise PremisModelError("a PREMIS document needs at least one object; none was given")
    referenced = ReferencedAgents(agents)
    for event in events:
        referenced.add_links(event)
        builder.add_event(event)
    for agent in referenced:
        builder.add_agent(agent)
    return builder.graph


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
