"""The PREMIS XML writer as it was before the fragment writer (commit d18fca9's premis/xml.py),
kept unchanged below this docstring (but for issue 14's `version` on every object, event and
agent, its version-specific schemaLocation, an object's fixity, size and storage, and the
event's detail and outcome extensions) as the reference the fragment writer must match byte for
byte (tests/premis/test_xml_reference.py)
and as the "before" of bench/premis_xml.py.

It builds a node tree per event and writes it element by element through lxml's `xmlfile`,
which escapes the text: slower, but independent of the new writer's own escaping.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Mapping
from typing import BinaryIO, NamedTuple

from lxml import etree

from premis.errors import PremisModelError
from premis.escaping import split_disguised, xml_safe
from premis.model import (
    Agent,
    AgentSource,
    Event,
    Extension,
    Identifier,
    PremisObject,
    ReferencedAgents,
    format_date_time,
)
from premis.vocabulary import LocTerm, StructuralRelationship

__all__ = [
    "PREMIS_NS",
    "SCHEMA_LOCATION",
    "XSI_NS",
    "document_bytes",
    "write_document",
    "xml_safe",
]

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{PREMIS_NS} http://www.loc.gov/standards/premis/v3/premis.xsd"
PREMIS_VERSION = "3.0"

_P = f"{{{PREMIS_NS}}}"
_XSI_TYPE = f"{{{XSI_NS}}}type"
_NSMAP = {"premis": PREMIS_NS, "xsi": XSI_NS}
_VERSIONED = {"version": PREMIS_VERSION}
# Newline plus indentation per depth, precomputed: the writer emits one per element.
_INDENT = tuple("\n" + "  " * depth for depth in range(8))


class _Node(NamedTuple):
    """One element to write: its Clark-notation tag, and either text or children."""

    tag: str
    text: str | None = None
    attrib: Mapping[str, str] | None = None
    children: tuple[_Node, ...] = ()
    nsmap: Mapping[str, str] | None = None


# The writer is called once per element of every event: the tags and the attributes of each
# controlled term are built once, not per element.
@functools.cache
def _tag(name: str) -> str:
    return _P + name


@functools.cache
def _identifier_tags(prefix: str) -> tuple[str, str]:
    return _tag(f"{prefix}Type"), _tag(f"{prefix}Value")


@functools.cache
def _term_attrib(term: LocTerm) -> Mapping[str, str]:
    return {"authority": term.authority, "authorityURI": term.authority_uri, "valueURI": term.uri}


def _element(name: str, *children: _Node, attrib: Mapping[str, str] | None = None) -> _Node:
    return _Node(_tag(name), None, attrib, children)


def _text(name: str, text: str) -> _Node:
    return _Node(_tag(name), xml_safe(text))


def _term(name: str, term: LocTerm) -> _Node:
    """A controlled term: the LoC label as text, the scheme and term URIs as attributes.

    <premis:eventType authority="eventType"
        authorityURI="http://id.loc.gov/vocabulary/preservation/eventType"
        valueURI="http://id.loc.gov/vocabulary/preservation/eventType/fix">fixity check</...>
    """
    return _Node(_tag(name), xml_safe(term.label), _term_attrib(term))


def _identifier(prefix: str, identifier: Identifier) -> tuple[_Node, _Node]:
    """<premis:{prefix}Type>{type}</...> and <premis:{prefix}Value>{value}</...>"""
    type_tag, value_tag = _identifier_tags(prefix)
    return _Node(type_tag, xml_safe(identifier.type)), _Node(value_tag, xml_safe(identifier.value))


def _object_node(obj: PremisObject) -> _Node:
    """An object, children in the XSD order of its category.

    <premis:object xsi:type="premis:file">
      <premis:objectIdentifier>
        <premis:objectIdentifierType>druid</premis:objectIdentifierType>
        <premis:objectIdentifierValue>bc123df4567/content/page1.tif</...>
      </premis:objectIdentifier>
      <premis:objectCharacteristics>            (file and bitstream only)
        <premis:format>
          <premis:formatDesignation>
            <premis:formatName>image/tiff</premis:formatName>
          </premis:formatDesignation>
        </premis:format>
      </premis:objectCharacteristics>
      <premis:originalName>page1.tif</premis:originalName>     (not for bitstream)
      <premis:relationship>
        <premis:relationshipType>structural</premis:relationshipType>
        <premis:relationshipSubType>is Part of</premis:relationshipSubType>
        <premis:relatedObjectIdentifier>
          <premis:relatedObjectIdentifierType>druid</premis:relatedObjectIdentifierType>
          <premis:relatedObjectIdentifierValue>bc123df4567/v1</...>
        </premis:relatedObjectIdentifier>
      </premis:relationship>
    </premis:object>
    """
    children = [_element("objectIdentifier", *_identifier("objectIdentifier", obj.identifier))]
    if obj.format_name is not None:
        characteristics = [
            _element(
                "fixity",
                _term("messageDigestAlgorithm", fixity.algorithm),
                _text("messageDigest", fixity.digest),
            )
            for fixity in obj.fixity
        ]
        if obj.size is not None:
            characteristics.append(_text("size", str(obj.size)))
        designation = _element("formatDesignation", _text("formatName", obj.format_name))
        characteristics.append(_element("format", designation))
        children.append(_element("objectCharacteristics", *characteristics))
    if obj.original_name is not None:
        children.append(_text("originalName", obj.original_name))
    for storage in obj.storage:
        location = _element(
            "contentLocation",
            _text("contentLocationType", storage.location_type),
            _text("contentLocationValue", storage.location),
        )
        medium = () if storage.medium is None else (_text("storageMedium", storage.medium),)
        children.append(_element("storage", location, *medium))
    for rel in obj.relationships:
        related = _identifier("relatedObjectIdentifier", rel.related)
        children.append(
            _element(
                "relationship",
                _text("relationshipType", rel.type),
                _term("relationshipSubType", StructuralRelationship[rel.sub_type.name]),
                _element("relatedObjectIdentifier", *related),
            )
        )
    attrib = {_XSI_TYPE: f"premis:{obj.category.value}", "version": PREMIS_VERSION}
    return _element("object", *children, attrib=attrib)


def _extension_node(name: str, extension: Extension) -> _Node:
    """An extension element declaring its namespace, one child per field."""
    ns = f"{{{extension.namespace}}}"
    children = tuple(_Node(ns + field.name, xml_safe(field.value)) for field in extension.fields)
    return _Node(_tag(name), None, None, children, {extension.prefix: extension.namespace})


def _event_node(event: Event) -> _Node:
    """An event, children in the XSD order.

    <premis:event>
      <premis:eventIdentifier>
        <premis:eventIdentifierType>UUID</premis:eventIdentifierType>
        <premis:eventIdentifierValue>2b1e...</premis:eventIdentifierValue>
      </premis:eventIdentifier>
      <premis:eventType authority=".." authorityURI=".." valueURI="..">fixity check</...>
      <premis:eventDateTime>2026-03-01T22:14:05.123456+00:00</premis:eventDateTime>
      <premis:eventDetailInformation>                     (when there is a detail)
        <premis:eventDetail>checksums match</premis:eventDetail>
      </premis:eventDetailInformation>
      <premis:eventOutcomeInformation>                    (when outcome or notes)
        <premis:eventOutcome authority=".." authorityURI=".." valueURI="..">success</...>
        <premis:eventOutcomeDetail>
          <premis:eventOutcomeDetailNote>3 files</premis:eventOutcomeDetailNote>
        </premis:eventOutcomeDetail>
      </premis:eventOutcomeInformation>
      <premis:linkingAgentIdentifier>
        <premis:linkingAgentIdentifierType>local</premis:linkingAgentIdentifierType>
        <premis:linkingAgentIdentifierValue>preservation_catalog</...>
        <premis:linkingAgentRole authority=".." ..>executing program</premis:linkingAgentRole>
      </premis:linkingAgentIdentifier>
      <premis:linkingObjectIdentifier>
        <premis:linkingObjectIdentifierType>druid</premis:linkingObjectIdentifierType>
        <premis:linkingObjectIdentifierValue>bc123df4567</...>
        <premis:linkingObjectRole authority=".." ..>source</premis:linkingObjectRole>
      </premis:linkingObjectIdentifier>
    </premis:event>
    """
    children = [
        _element("eventIdentifier", *_identifier("eventIdentifier", event.identifier)),
        _term("eventType", event.type),
        _text("eventDateTime", format_date_time(event.date_time)),
    ]
    if event.detail is not None or event.detail_extensions:
        detail = [] if event.detail is None else [_text("eventDetail", event.detail)]
        detail.extend(_extension_node("eventDetailExtension", e) for e in event.detail_extensions)
        children.append(_element("eventDetailInformation", *detail))
    extensions = [
        _extension_node("eventOutcomeDetailExtension", e) for e in event.outcome_extensions
    ]
    details = [
        _element("eventOutcomeDetail", _text("eventOutcomeDetailNote", note))
        for note in event.outcome_notes
    ]
    if details and extensions:
        details[0] = _element("eventOutcomeDetail", *details[0].children, *extensions)
    elif extensions:
        details = [_element("eventOutcomeDetail", *extensions)]
    if event.outcome is not None or details:
        # An empty eventOutcomeInformation is invalid, hence the guard above.
        outcome = [] if event.outcome is None else [_term("eventOutcome", event.outcome)]
        outcome.extend(details)
        children.append(_element("eventOutcomeInformation", *outcome))
    for agent_link in event.agents:
        children.append(
            _element(
                "linkingAgentIdentifier",
                *_identifier("linkingAgentIdentifier", agent_link.identifier),
                *(_term("linkingAgentRole", role) for role in agent_link.roles),
            )
        )
    for object_link in event.objects:
        children.append(
            _element(
                "linkingObjectIdentifier",
                *_identifier("linkingObjectIdentifier", object_link.identifier),
                *(_term("linkingObjectRole", role) for role in object_link.roles),
            )
        )
    return _element("event", *children, attrib=_VERSIONED)


def _agent_node(agent: Agent) -> _Node:
    """An agent, children in the XSD order.

    <premis:agent>
      <premis:agentIdentifier>
        <premis:agentIdentifierType>local</premis:agentIdentifierType>
        <premis:agentIdentifierValue>preservation_catalog</premis:agentIdentifierValue>
      </premis:agentIdentifier>
      <premis:agentName>Preservation Catalog</premis:agentName>
      <premis:agentType authority="agentType" authorityURI=".." valueURI="..">software</...>
      <premis:agentVersion>2.4.1</premis:agentVersion>          (when known)
      <premis:agentNote>runs audits nightly</premis:agentNote>  (one per note)
    </premis:agent>
    """
    children = [
        _element("agentIdentifier", *_identifier("agentIdentifier", agent.identifier)),
        _text("agentName", agent.name),
        _term("agentType", agent.type),
    ]
    if agent.version is not None:
        children.append(_text("agentVersion", agent.version))
    children.extend(_text("agentNote", note) for note in agent.notes)
    return _element("agent", *children, attrib=_VERSIONED)


def _emit(xf: etree._IncrementalFileWriter, node: _Node, depth: int) -> None:
    xf.write(_INDENT[depth])
    with xf.element(node.tag, node.attrib, nsmap=node.nsmap):
        if node.children:
            for child in node.children:
                _emit(xf, child, depth + 1)
            xf.write(_INDENT[depth])
        elif node.text is not None:
            _write_text(xf, node.text)


def _write_text(xf: etree._IncrementalFileWriter, text: str) -> None:
    """Element text; a `DISGUISED` character as a character reference, the same value."""
    parts = split_disguised(text)
    if parts is None:
        xf.write(text)
        return
    for index, part in enumerate(parts):
        if index % 2:
            xf.write(etree.Entity(f"#x{ord(part):X}"))
        elif part:
            xf.write(part)


def write_document(
    out: BinaryIO,
    objects: Iterable[PremisObject],
    events: Iterable[Event],
    agents: AgentSource,
) -> None:
    """Write one `<premis:premis version="3.0">` document to `out`, streaming.

    Order (the XSD's): every object (at least one), then the events as `events` yields them,
    then the agent record of every agent the events link to, each once, in order of first
    reference. `agents` maps an identifier *value* to its `Agent`, or is a function from the
    linking `Identifier` to the `Agent` (or None).

    Raises `PremisModelError` before writing anything when `objects` is empty, and as soon as
    an event links to an agent that does not resolve (naming it); `out` then holds an
    unfinished document, to be discarded.

    <?xml version='1.0' encoding='UTF-8'?>
    <premis:premis xmlns:premis="http://www.loc.gov/premis/v3"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="3.0"
        xsi:schemaLocation="http://www.loc.gov/premis/v3
                            http://www.loc.gov/standards/premis/v3/premis.xsd">
      <premis:object xsi:type="premis:intellectualEntity">...</premis:object>
      <premis:event>...</premis:event>
      <premis:agent>...</premis:agent>
    </premis:premis>
    """
    object_nodes = [_object_node(obj) for obj in objects]
    if not object_nodes:
        raise PremisModelError("a PREMIS document needs at least one object; none was given")
    referenced = ReferencedAgents(agents)
    root_attrib = {"version": PREMIS_VERSION, f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATION}
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(_tag("premis"), root_attrib, nsmap=_NSMAP):
            for node in object_nodes:
                _emit(xf, node, 1)
            xf.flush()
            for event in events:
                # Resolve first, so a bad link stops the document before its event is written.
                referenced.add_links(event)
                _emit(xf, _event_node(event), 1)
                xf.flush()
            for agent in referenced:
                _emit(xf, _agent_node(agent), 1)
            xf.write("\n")
        xf.flush()
    out.write(b"\n")


def document_bytes(
    objects: Iterable[PremisObject],
    events: Iterable[Event],
    agents: AgentSource,
) -> bytes:
    """`write_document` into memory: the whole document as bytes (for small documents)."""
    buffer = io.BytesIO()
    write_document(buffer, objects, events, agents)
    return buffer.getvalue()
