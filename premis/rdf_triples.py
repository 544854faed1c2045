"""The PREMIS 3 RDF mapping as plain triples, without rdflib (see `premis.rdf` for the mapping).

One mapping, two writers: `premis.rdf.to_graph` turns these triples into an rdflib graph (the
reference the tests compare with), `premis.rdf_stream` serializes them as they come. A triple's
object is a `Term`: `(kind, text)` with kind `URI`, `TEXT` (a plain literal) or `DATE_TIME`
(an xsd:dateTime literal); literal text has been through `xml_safe` already.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Literal
from urllib.parse import quote

from premis.errors import PremisModelError
from premis.escaping import xml_safe
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
from premis.vocabulary import (
    LOC_PRESERVATION,
    AgentRole,
    AgentType,
    EventOutcome,
    EventType,
    LocTerm,
    ObjectRole,
)

DEFAULT_BASE_URI = "urn:premis:"
"""Prefix of the URI of a resource whose identifier is not a UUID (see `resource_uri`)."""

PREMIS_NS = "http://www.loc.gov/premis/rdf/v3/"
DCT_NS = "http://purl.org/dc/terms/"
PROV_NS = "http://www.w3.org/ns/prov#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"

# Fixed prefixes (sorted when serialized) so output never depends on what rdflib binds.
PREFIXES = {
    "agentType": f"{LOC_PRESERVATION}agentType/",
    "dct": DCT_NS,
    "eventOutcome": f"{LOC_PRESERVATION}eventOutcome/",
    "eventRelatedAgentRole": f"{LOC_PRESERVATION}eventRelatedAgentRole/",
    "eventRelatedObjectRole": f"{LOC_PRESERVATION}eventRelatedObjectRole/",
    "eventType": f"{LOC_PRESERVATION}eventType/",
    "premis": PREMIS_NS,
    "prov": PROV_NS,
    "rdf": RDF_NS,
    "rdfs": RDFS_NS,
    "xsd": XSD_NS,
}

RDF_TYPE = f"{RDF_NS}type"
RDFS_LABEL = f"{RDFS_NS}label"
XSD_DATE_TIME = f"{XSD_NS}dateTime"
DCT_IDENTIFIER = f"{DCT_NS}identifier"
DCT_FORMAT = f"{DCT_NS}format"
ORIGINAL_NAME = f"{PREMIS_NS}originalName"
RELATIONSHIP = f"{PREMIS_NS}relationship"
STARTED_AT_TIME = f"{PROV_NS}startedAtTime"
NOTE = f"{PREMIS_NS}note"
OUTCOME = f"{PREMIS_NS}outcome"
OUTCOME_NOTE = f"{PREMIS_NS}outcomeNote"
WAS_ASSOCIATED_WITH = f"{PROV_NS}wasAssociatedWith"
USED = f"{PROV_NS}used"
VERSION = f"{PREMIS_NS}version"

URI: Literal["u"] = "u"
TEXT: Literal["t"] = "t"
DATE_TIME: Literal["d"] = "d"
Term = tuple[str, str]
Triple = tuple[str, str, Term]

_CLASS_OF_CATEGORY: dict[ObjectCategory, Term] = {
    ObjectCategory.INTELLECTUAL_ENTITY: (URI, f"{PREMIS_NS}IntellectualEntity"),
    ObjectCategory.REPRESENTATION: (URI, f"{PREMIS_NS}Representation"),
    ObjectCategory.FILE: (URI, f"{PREMIS_NS}File"),
    ObjectCategory.BITSTREAM: (URI, f"{PREMIS_NS}Bitstream"),
}
_EVENT: Term = (URI, f"{PREMIS_NS}Event")
_AGENT: Term = (URI, f"{PREMIS_NS}Agent")
_FILE_FORMAT: Term = (URI, f"{DCT_NS}FileFormat")
# Looked up rather than built: LocTerm.uri makes a new string each time, for every event.
_TERMS: dict[LocTerm, Term] = {
    term: (URI, term.uri) for scheme in (EventType, EventOutcome, AgentType) for term in scheme
}
_PREDICATES: dict[LocTerm, str] = {
    term: term.uri for scheme in (AgentRole, ObjectRole) for term in scheme
}


def check_base_uri(base_uri: str) -> None:
    if not base_uri.endswith(("/", ":")):
        raise PremisModelError(f"base_uri {base_uri!r} must end with '/' or ':'")


def resource_uri(identifier: Identifier, base_uri: str = DEFAULT_BASE_URI) -> str:
    """The stable URI of the resource with this identifier.

    - type `UUID` (any case) with a value that parses as a UUID: `urn:uuid:<canonical uuid>`
      (a UUID is globally unique already, so no base is needed);
    - otherwise `<base_uri><type>/<value>`, type and value spelled by `xml_safe` as in the
      XML, then percent-encoded (UTF-8, nothing kept unescaped), e.g.
      `urn:premis:druid/bc123df4567`, or with `base_uri="https://example.org/premis/"`,
      `https://example.org/premis/druid/bc123df4567`. Both steps are reversible, so two
      identifiers never share a URI (a literal backslash is `%5C%5C`, U+0001 is `%5Cu0001`).

    `base_uri` must end with "/" or ":" (raises `PremisModelError` otherwise).
    """
    check_base_uri(base_uri)
    if identifier.type.casefold() == "uuid":
        try:
            return uuid.UUID(identifier.value).urn
        except ValueError:
            pass  # not really a UUID: falls back to the general form
    kind = quote(xml_safe(identifier.type), safe="")
    value = quote(xml_safe(identifier.value), safe="")
    return f"{base_uri}{kind}/{value}"


def _text(value: str) -> Term:
    return (TEXT, xml_safe(value))


class TripleMapper:
    """The triples of each object, event and agent, with resource URIs under one base."""

    def __init__(self, base_uri: str = DEFAULT_BASE_URI) -> None:
        check_base_uri(base_uri)
        self.base_uri = base_uri
        self._linked: dict[Identifier, Term] = {}

    def uri(self, identifier: Identifier) -> Term:
        # Agents and objects recur in every event: their URIs are worth keeping.
        term = self._linked.get(identifier)
        if term is None:
            term = (URI, resource_uri(identifier, self.base_uri))
            if len(self._linked) < 4096:
                self._linked[identifier] = term
        return term

    def object_triples(self, obj: PremisObject) -> list[Triple]:
        subject = resource_uri(obj.identifier, self.base_uri)
        triples = [
            (subject, DCT_IDENTIFIER, _text(obj.identifier.value)),
            (subject, RDF_TYPE, _CLASS_OF_CATEGORY[obj.category]),
        ]
        if obj.original_name is not None:
            triples.append((subject, ORIGINAL_NAME, _text(obj.original_name)))
        for relationship in obj.relationships:
            triples.append((subject, RELATIONSHIP, self.uri(relationship.related)))
        if obj.format_name is not None:  # last: each subject's triples are adjacent
            file_format = f"{subject}#format"
            triples.append((subject, DCT_FORMAT, (URI, file_format)))
            triples.append((file_format, RDF_TYPE, _FILE_FORMAT))
            triples.append((file_format, RDFS_LABEL, _text(obj.format_name)))
        return triples

    def event_triples(self, event: Event) -> list[Triple]:
        subject = resource_uri(event.identifier, self.base_uri)
        triples = [
            (subject, DCT_IDENTIFIER, _text(event.identifier.value)),
            (subject, RDF_TYPE, _EVENT),
            (subject, RDF_TYPE, _TERMS[event.type]),
            (subject, STARTED_AT_TIME, (DATE_TIME, format_date_time(event.date_time))),
        ]
        if event.detail is not None:
            triples.append((subject, NOTE, _text(event.detail)))
        if event.outcome is not None:
            triples.append((subject, OUTCOME, _TERMS[event.outcome]))
        for note in event.outcome_notes:
            triples.append((subject, OUTCOME_NOTE, _text(note)))
        # Detail and outcome extensions are XML only: the PREMIS ontology has no place for them,
        # and their elements belong to the caller's namespace, with no published RDF terms.
        for agent_link in event.agents:
            agent = self.uri(agent_link.identifier)
            # The role properties are sub-properties of prov:wasAssociatedWith; stating the
            # super-property too keeps the link visible to consumers that do no inference.
            triples.append((subject, WAS_ASSOCIATED_WITH, agent))
            for agent_role in agent_link.roles:
                triples.append((subject, _PREDICATES[agent_role], agent))
        for object_link in event.objects:
            linked = self.uri(object_link.identifier)
            if not object_link.roles:
                triples.append((subject, USED, linked))
            for object_role in object_link.roles:
                triples.append((subject, _PREDICATES[object_role], linked))
        return triples

    def agent_triples(self, agent: Agent) -> list[Triple]:
        subject = resource_uri(agent.identifier, self.base_uri)
        triples = [
            (subject, DCT_IDENTIFIER, _text(agent.identifier.value)),
            (subject, RDF_TYPE, _AGENT),
            (subject, RDF_TYPE, _TERMS[agent.type]),
            (subject, RDFS_LABEL, _text(agent.name)),
        ]
        if agent.version is not None:
            triples.append((subject, VERSION, _text(agent.version)))
        for note in agent.notes:
            triples.append((subject, NOTE, _text(note)))
        return triples


def document_triples(
    mapper: TripleMapper,
    objects: Iterable[PremisObject],
    events: Iterable[Event],
    agents: AgentSource,
) -> Iterator[list[Triple]]:
    """The document's triples, a record (object, event, agent) at a time: the objects, then
    the events as they come, then the agents the events link to. The checks of
    `premis.xml.write_document`: at least one object (`PremisModelError` before any event is
    read), and every agent link resolves. The one walk the graph (`premis.rdf.to_graph`) and
    the streamed writer (`premis.rdf_stream`) share."""
    object_count = 0
    for obj in objects:
        yield mapper.object_triples(obj)
        object_count += 1
    if not object_count:
        raise PremisModelError("a PREMIS document needs at least one object; none was given")
    referenced = ReferencedAgents(agents)
    for event in events:
        referenced.add_links(event)
        yield mapper.event_triples(event)
    for agent in referenced:
        yield mapper.agent_triples(agent)
