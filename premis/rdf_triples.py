"""The PREMIS 3 RDF mapping as plain triples, without rdflib (see `premis.rdf` for the mapping).

One mapping, two writers: `premis.rdf.to_graph` turns these triples into an rdflib graph (the
reference the tests compare with), `premis.rdf_stream` serializes them as they come. A triple's
object is a `Term`: `(kind, text)` with kind `URI`, `TEXT` (a plain literal), `DATE_TIME`
(an xsd:dateTime literal) or `COUNT` (an xsd:nonNegativeInteger literal, a size); literal text
has been through `xml_safe` already.
"""

from __future__ import annotations

import re
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
    RelationshipSubType,
    format_date_time,
)
from premis.vocabulary import (
    LOC_PRESERVATION,
    AgentRole,
    AgentType,
    EventOutcome,
    EventType,
    HashFunction,
    LocTerm,
    ObjectRole,
    StructuralRelationship,
)

DEFAULT_BASE_URI = "urn:x-local:premis:"
"""Prefix of the URI of a resource whose identifier is not a UUID (see `resource_uri`).

A name, not an address: a URN resolves nowhere, so nobody's server is implied, and "x-local"
says what such an identifier is, unique only in the repository that assigned it (an
`objectIdentifierType` such as `druid` is a local scheme). A repository that publishes its
resources gives its own base (`base_uri`), e.g. `https://sdr.example.edu/premis/`."""

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
    "relationshipSubType": f"{LOC_PRESERVATION}relationshipSubType/",
    "xsd": XSD_NS,
}

RDF_TYPE = f"{RDF_NS}type"
RDF_VALUE = f"{RDF_NS}value"
RDFS_LABEL = f"{RDFS_NS}label"
XSD_DATE_TIME = f"{XSD_NS}dateTime"
XSD_NON_NEGATIVE_INTEGER = f"{XSD_NS}nonNegativeInteger"
DCT_TYPE = f"{DCT_NS}type"
STORED_AT = f"{PREMIS_NS}storedAt"
MEDIUM = f"{PREMIS_NS}medium"
FIXITY = f"{PREMIS_NS}fixity"
SIZE = f"{PREMIS_NS}size"
DCT_FORMAT = f"{DCT_NS}format"
ORIGINAL_NAME = f"{PREMIS_NS}originalName"
RELATIONSHIP = f"{PREMIS_NS}relationship"
IDENTIFIER = f"{PREMIS_NS}identifier"
STARTED_AT_TIME = f"{PROV_NS}startedAtTime"
ENDED_AT_TIME = f"{PROV_NS}endedAtTime"
NOTE = f"{PREMIS_NS}note"
OUTCOME = f"{PREMIS_NS}outcome"
OUTCOME_NOTE = f"{PREMIS_NS}outcomeNote"
WAS_ASSOCIATED_WITH = f"{PROV_NS}wasAssociatedWith"
USED = f"{PROV_NS}used"
GENERATED = f"{PROV_NS}generated"
VERSION = f"{PREMIS_NS}version"

URI: Literal["u"] = "u"
TEXT: Literal["t"] = "t"
DATE_TIME: Literal["d"] = "d"
COUNT: Literal["n"] = "n"
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
_IDENTIFIER: Term = (URI, f"{PREMIS_NS}Identifier")
_FILE_FORMAT: Term = (URI, f"{DCT_NS}FileFormat")
_STORAGE_LOCATION: Term = (URI, f"{PREMIS_NS}StorageLocation")
_STORAGE_MEDIUM: Term = (URI, f"{PREMIS_NS}StorageMedium")
_FIXITY: Term = (URI, f"{PREMIS_NS}Fixity")
# Looked up rather than built: LocTerm.uri makes a new string each time, for every event.
_TERMS: dict[LocTerm, Term] = {
    term: (URI, term.uri)
    for scheme in (EventType, EventOutcome, AgentType, HashFunction)
    for term in scheme
}
_PREDICATES: dict[LocTerm, str] = {
    term: term.uri for scheme in (AgentRole, ObjectRole) for term in scheme
}
# Each role property refines a PROV-O one (vocabularies.md: `sou` subPropertyOf prov:used, `out`
# of prov:generated); both are written, so a reader without the LoC terms or inference still
# sees what the event used and made.
_PROV_OF_ROLE: dict[ObjectRole, str] = {ObjectRole.SOURCE: USED, ObjectRole.OUTCOME: GENERATED}
_SUB_TYPE_PREDICATES: dict[RelationshipSubType, str] = {
    sub_type: StructuralRelationship[sub_type.name].uri for sub_type in RelationshipSubType
}
# RFC 3987: a scheme, then no character an IRI cannot hold (space, controls, <>"{}|\^`, lone
# surrogates); no '#' either: the minted URIs put their own fragments after the base.
_ABSOLUTE_IRI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|\\^`#\x7f-\x9f\ud800-\udfff]*"
)


def base_uri_problem(base_uri: str) -> str | None:
    """What keeps `base_uri` from prefixing resource URIs, or None: it must be an absolute IRI
    (a scheme, then no character an IRI cannot hold), without a fragment (the minted URIs add
    their own), ending with "/" or ":"."""
    if not isinstance(base_uri, str) or _ABSOLUTE_IRI.fullmatch(base_uri) is None:
        return (
            "is not an absolute IRI (a scheme such as https: or urn:, then no spaces, "
            'controls or <>"{}|\\^`# characters)'
        )
    if not base_uri.endswith(("/", ":")):
        return "must end with '/' or ':'"
    return None


def check_base_uri(base_uri: str) -> None:
    """`PremisModelError` when `base_uri_problem` finds one."""
    problem = base_uri_problem(base_uri)
    if problem is not None:
        raise PremisModelError(f"base_uri {base_uri!r} {problem}")


def resource_uri(identifier: Identifier, base_uri: str = DEFAULT_BASE_URI) -> str:
    """The stable URI of the resource with this identifier.

    - type `UUID` (any case) with a value that parses as a UUID: `urn:uuid:<canonical uuid>`
      (a UUID is globally unique already, so no base is needed);
    - otherwise `<base_uri><type>/<value>`, type and value spelled by `xml_safe` as in the
      XML, then percent-encoded (UTF-8, nothing kept unescaped), e.g.
      `urn:x-local:premis:druid/bc123df4567`, or with `base_uri="https://example.org/premis/"`,
      `https://example.org/premis/druid/bc123df4567`. Both steps are reversible, so two
      identifiers never share a URI (a literal backslash is `%5C%5C`, U+0001 is `%5Cu0001`).

    `base_uri` must be an absolute IRI without a fragment, ending with "/" or ":" (raises
    `PremisModelError` otherwise). The URI names the resource in this graph; the identifier
    itself (type and value) is stated by its `premis:identifier` node (`identifier_triples`).
    """
    check_base_uri(base_uri)
    if identifier.type.casefold() == "uuid":
        try:
            return uuid.UUID(identifier.value).urn
        except ValueError:
            pass  # not really a UUID: falls back to the general form
    value = quote(xml_safe(identifier.value), safe="")
    return f"{identifier_type_uri(identifier, base_uri)}{value}"


def identifier_type_uri(identifier: Identifier, base_uri: str = DEFAULT_BASE_URI) -> str:
    """The class of the identifiers of this one's type: `<base_uri><type>/`, the prefix of the
    URI of every resource identified in that scheme (and never one of them: a value is never
    empty), e.g. `urn:x-local:premis:druid/`."""
    return f"{base_uri}{quote(xml_safe(identifier.type), safe='')}/"


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

    def identifier_triples(self, subject: str, identifier: Identifier) -> list[Triple]:
        """The resource's `premis:identifier` node, `<subject>#identifier`: a premis:Identifier
        whose `rdf:value` is the value and whose other class is its type
        (`identifier_type_uri`). The PREMIS 3 ontology has no identifier-type property; a typed
        node with `rdf:value` is its pattern for such pairs (a fixity is typed by its hash
        function). A URI rather than a blank node: the same bytes every time, in every writer.
        Last of the subject's triples: each subject's triples are adjacent."""
        node = f"{subject}#identifier"
        return [
            (subject, IDENTIFIER, (URI, node)),
            (node, RDF_TYPE, _IDENTIFIER),
            (node, RDF_TYPE, (URI, identifier_type_uri(identifier, self.base_uri))),
            (node, RDF_VALUE, _text(identifier.value)),
        ]

    def object_triples(self, obj: PremisObject) -> list[Triple]:
        subject = resource_uri(obj.identifier, self.base_uri)
        triples = [(subject, RDF_TYPE, _CLASS_OF_CATEGORY[obj.category])]
        if obj.original_name is not None:
            triples.append((subject, ORIGINAL_NAME, _text(obj.original_name)))
        for relationship in obj.relationships:
            related = self.uri(relationship.related)
            # The sub-type property keeps the direction; premis:relationship, the property it
            # refines, keeps the link visible to a reader that knows only the ontology.
            triples.append((subject, RELATIONSHIP, related))
            triples.append((subject, _SUB_TYPE_PREDICATES[relationship.sub_type], related))
        if obj.size is not None:
            triples.append((subject, SIZE, (COUNT, str(obj.size))))
        # The nodes the object points to come after its own triples, each node's together (each
        # subject's triples are adjacent). A node is `<object URI>#<part>`, numbered in the
        # object's order.
        nodes: list[Triple] = []
        for number, storage in enumerate(obj.storage, 1):
            location = f"{subject}#storage-{number}"
            triples.append((subject, STORED_AT, (URI, location)))
            nodes.append((location, RDF_TYPE, _STORAGE_LOCATION))
            nodes.append((location, RDF_VALUE, _text(storage.location)))
            # PREMIS leaves contentLocationType to the repository: a label, not a class.
            nodes.append((location, DCT_TYPE, _text(storage.location_type)))
            if storage.medium is not None:
                medium = f"{subject}#storage-{number}-medium"
                nodes.append((location, MEDIUM, (URI, medium)))
                nodes.append((medium, RDF_TYPE, _STORAGE_MEDIUM))
                nodes.append((medium, RDFS_LABEL, _text(storage.medium)))
        for number, fixity in enumerate(obj.fixity, 1):
            digest = f"{subject}#fixity-{number}"
            triples.append((subject, FIXITY, (URI, digest)))
            # Each LoC hash function is a subclass of premis:Fixity (premis3.owl's guidelines).
            nodes.append((digest, RDF_TYPE, _FIXITY))
            nodes.append((digest, RDF_TYPE, _TERMS[fixity.algorithm]))
            nodes.append((digest, RDF_VALUE, _text(fixity.digest)))
        if obj.format_name is not None:
            file_format = f"{subject}#format"
            triples.append((subject, DCT_FORMAT, (URI, file_format)))
            nodes.append((file_format, RDF_TYPE, _FILE_FORMAT))
            nodes.append((file_format, RDFS_LABEL, _text(obj.format_name)))
        # The identifier link last of the subject's own triples, its node first of the nodes.
        return triples + self.identifier_triples(subject, obj.identifier) + nodes

    def event_triples(self, event: Event) -> list[Triple]:
        subject = resource_uri(event.identifier, self.base_uri)
        triples = [
            (subject, RDF_TYPE, _EVENT),
            (subject, RDF_TYPE, _TERMS[event.type]),
            (subject, ENDED_AT_TIME, (DATE_TIME, format_date_time(event.date_time))),
        ]
        if event.started_at is not None:
            triples.append(
                (subject, STARTED_AT_TIME, (DATE_TIME, format_date_time(event.started_at)))
            )
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
                # A link without a role says only that the object took part. Of PROV-O's two
                # relations between an activity and an entity, prov:used claims no more (an
                # event that read or checked an object used it); prov:generated claims the
                # event made it, which PREMIS says only with the role `out`.
                triples.append((subject, USED, linked))
            for object_role in object_link.roles:
                triples.append((subject, _PREDICATES[object_role], linked))
                triples.append((subject, _PROV_OF_ROLE[object_role], linked))
        return triples + self.identifier_triples(subject, event.identifier)

    def agent_triples(self, agent: Agent) -> list[Triple]:
        subject = resource_uri(agent.identifier, self.base_uri)
        triples = [
            (subject, RDF_TYPE, _AGENT),
            (subject, RDF_TYPE, _TERMS[agent.type]),
            (subject, RDFS_LABEL, _text(agent.name)),
        ]
        if agent.version is not None:
            triples.append((subject, VERSION, _text(agent.version)))
        for note in agent.notes:
            triples.append((subject, NOTE, _text(note)))
        return triples + self.identifier_triples(subject, agent.identifier)


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
