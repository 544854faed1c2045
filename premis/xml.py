"""PREMIS 3 XML: a streaming, deterministic writer.

Owns the XML form of the model: element names and their order (exactly the XSD's sequences),
the `authority`/`authorityURI`/`valueURI` attributes on controlled terms, and the document
layout. `write_document` streams: each event is written to `out` as it comes, so a lazy
iterator of millions of events never becomes a tree in memory. Only the distinct agent records
are held until the end.

Output is a pure function of the input: UTF-8, an XML declaration, two-space indentation, the
`premis` and `xsi` prefixes declared once on the root, attributes in a fixed order, and every
text run through `xml_safe` (see `premis.escaping` for the rule), and its `DISGUISED` characters
(C1 and bidi controls) written as character references (`&#x9B;`). Dates are written by
`premis.model.format_date_time`.

Why text fragments rather than lxml: the document's shape is fixed (the XSD's sequences, no
mixed content, one namespace prefix), so each event is one string of pre-serialised markup and
escaped text, written with one `out.write`. Going through `lxml.etree.xmlfile` costs a Python
context manager and several C calls per element (about 15 elements an event): that writer
took 1.3 times as long as a bare `xmlfile` writer of the same document, this one a quarter of
it, and `prov premis` of 100,000 events went from 9.9 s to 3.7 s (BENCHMARKS.md, 3.1). The
bytes are those lxml wrote before: libxml2's text escaping (`&`, `<`, `>` and CR as `&#13;`)
is applied by `_text`; tests/premis/test_xml_reference.py compares this
writer with the lxml one over generated documents, and the tests parse what it writes with lxml.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable
from typing import BinaryIO

from premis.errors import PremisModelError
from premis.escaping import DISGUISED, ESCAPED_RANGES, xml_safe
from premis.model import (
    Agent,
    AgentSource,
    Event,
    Extension,
    Identifier,
    LinkingAgent,
    LinkingObject,
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
# The version-specific schema (the unversioned premis.xsd follows whatever LoC publishes last).
SCHEMA_LOCATION = f"{PREMIS_NS} http://www.loc.gov/standards/premis/v3/premis.xsd"
PREMIS_VERSION = "3.0"
# On every object, event and agent too, not only the root: a reader that meets one of them on
# its own (metsrw, in a METS mdWrap) takes a missing version for PREMIS 2.2 and reads nothing.
_VERSION = f'version="{PREMIS_VERSION}"'

# The declaration and the root's start tag as lxml wrote them: single-quoted declaration,
# namespace declarations first, then the attributes in the order given.
_HEAD = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    f'<premis:premis xmlns:premis="{PREMIS_NS}" xmlns:xsi="{XSI_NS}" '
    f'version="{PREMIS_VERSION}" xsi:schemaLocation="{SCHEMA_LOCATION}">'
)
_TAIL = "\n</premis:premis>\n"
# Newline plus indentation per depth, precomputed: the writer emits one per element.
_INDENT = tuple("\n" + "  " * depth for depth in range(8))

# Text: one search finds whatever needs work (the common case has nothing and costs only that).
# Characters XML cannot carry are spelled visibly by `xml_safe` first, and backslashes doubled
# so that spelling is reversible (its spellings are plain ASCII), then markup characters and CR
# are escaped as libxml2 escapes text, and DISGUISED characters become hexadecimal character
# references, upper case as lxml writes an Entity.
_TEXT_ESCAPES = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord("\r"): "&#13;",
    **{code: f"&#x{code:X};" for code in DISGUISED},
}
_TEXT_NEEDS_WORK = re.compile(
    f"[{ESCAPED_RANGES}{''.join(re.escape(chr(code)) for code in sorted(_TEXT_ESCAPES))}]"
)
# Attribute values (only the vocabulary's, built once per term), as libxml2 escapes them: no
# log text reaches an attribute, so none needs `xml_safe` (the vocabulary has no backslash).
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;"}
    | {"\t": "&#9;"}
)


def _text(text: str) -> str:
    """`text` as element content: visible, escaped, DISGUISED characters as references."""
    if _TEXT_NEEDS_WORK.search(text) is None:
        return text
    return xml_safe(text).translate(_TEXT_ESCAPES)


def _leaf(depth: int, name: str, text: str) -> str:
    """<premis:{name}>{text}</premis:{name}> on its own line."""
    return f"{_INDENT[depth]}<premis:{name}>{_text(text)}</premis:{name}>"


def _wrap(depth: int, name: str, *children: str) -> str:
    """<premis:{name}> around `children` (fragments already indented one deeper)."""
    indent = _INDENT[depth]
    return f"{indent}<premis:{name}>{''.join(children)}{indent}</premis:{name}>"


def _versioned(name: str, children: list[str]) -> str:
    """<premis:{name} version="3.0"> around `children`: an event or agent, at depth 1."""
    indent = _INDENT[1]
    return f"{indent}<premis:{name} {_VERSION}>{''.join(children)}{indent}</premis:{name}>"


def _identifier(depth: int, prefix: str, identifier: Identifier) -> str:
    """<premis:{prefix}Type>{type}</...> and <premis:{prefix}Value>{value}</...>"""
    return _leaf(depth, f"{prefix}Type", identifier.type) + _leaf(
        depth, f"{prefix}Value", identifier.value
    )


@functools.cache
def _term(depth: int, name: str, term: LocTerm) -> str:
    """A controlled term: the LoC label as text, the scheme and term URIs as attributes; one
    string per (place, term), made once.

    <premis:eventType authority="eventType"
        authorityURI="http://id.loc.gov/vocabulary/preservation/eventType"
        valueURI="http://id.loc.gov/vocabulary/preservation/eventType/fix">fixity check</...>
    """
    attributes = (
        ("authority", term.authority),
        ("authorityURI", term.authority_uri),
        ("valueURI", term.uri),
    )
    spelled = "".join(
        f' {key}="{value.translate(_ATTRIBUTE_ESCAPES)}"' for key, value in attributes
    )
    return f"{_INDENT[depth]}<premis:{name}{spelled}>{_text(term.label)}</premis:{name}>"


def _object(obj: PremisObject) -> str:
    """An object, children in the XSD order of its category.

    <premis:object xsi:type="premis:file" version="3.0">
      <premis:objectIdentifier>
        <premis:objectIdentifierType>druid</premis:objectIdentifierType>
        <premis:objectIdentifierValue>bc123df4567/content/page1.tif</...>
      </premis:objectIdentifier>
      <premis:objectCharacteristics>            (file and bitstream only)
        <premis:fixity>                         (one per digest)
          <premis:messageDigestAlgorithm authority=".." ..>MD5</premis:messageDigestAlgorithm>
          <premis:messageDigest>4a1f...</premis:messageDigest>
        </premis:fixity>
        <premis:size>1048576</premis:size>      (when known)
        <premis:format>
          <premis:formatDesignation>
            <premis:formatName>image/tiff</premis:formatName>
          </premis:formatDesignation>
        </premis:format>
      </premis:objectCharacteristics>
      <premis:originalName>page1.tif</premis:originalName>     (not for bitstream)
      <premis:storage>                          (one per location; not for an entity)
        <premis:contentLocation>
          <premis:contentLocationType>file path</premis:contentLocationType>
          <premis:contentLocationValue>/services-disk02/sdr2objects/...</...>
        </premis:contentLocation>
        <premis:storageMedium>hard disk</premis:storageMedium>   (when known)
      </premis:storage>
      <premis:relationship>
        <premis:relationshipType>structural</premis:relationshipType>
        <premis:relationshipSubType authority=".." ..>is Part Of</premis:relationshipSubType>
        <premis:relatedObjectIdentifier>
          <premis:relatedObjectIdentifierType>druid</premis:relatedObjectIdentifierType>
          <premis:relatedObjectIdentifierValue>bc123df4567/v1</...>
        </premis:relatedObjectIdentifier>
      </premis:relationship>
    </premis:object>
    """
    children = [_wrap(2, "objectIdentifier", _identifier(3, "objectIdentifier", obj.identifier))]
    if obj.format_name is not None:
        characteristics = [
            _wrap(
                3,
                "fixity",
                _term(4, "messageDigestAlgorithm", fixity.algorithm),
                _leaf(4, "messageDigest", fixity.digest),
            )
            for fixity in obj.fixity
        ]
        if obj.size is not None:
            characteristics.append(_leaf(3, "size", str(obj.size)))
        designation = _wrap(4, "formatDesignation", _leaf(5, "formatName", obj.format_name))
        characteristics.append(_wrap(3, "format", designation))
        children.append(_wrap(2, "objectCharacteristics", *characteristics))
    if obj.original_name is not None:
        children.append(_leaf(2, "originalName", obj.original_name))
    for storage in obj.storage:
        location = _wrap(
            3,
            "contentLocation",
            _leaf(4, "contentLocationType", storage.location_type),
            _leaf(4, "contentLocationValue", storage.location),
        )
        medium = () if storage.medium is None else (_leaf(3, "storageMedium", storage.medium),)
        children.append(_wrap(2, "storage", location, *medium))
    for rel in obj.relationships:
        related = _identifier(4, "relatedObjectIdentifier", rel.related)
        children.append(
            _wrap(
                2,
                "relationship",
                _leaf(3, "relationshipType", rel.type),
                _term(3, "relationshipSubType", StructuralRelationship[rel.sub_type.name]),
                _wrap(3, "relatedObjectIdentifier", related),
            )
        )
    # The category's value is an XSD type name: nothing in it needs escaping.
    indent = _INDENT[1]
    return (
        f'{indent}<premis:object xsi:type="premis:{obj.category.value}" {_VERSION}>'
        f"{''.join(children)}{indent}</premis:object>"
    )


# An event links to the same few agents (and often the same objects) again and again: each
# link's fragment is made once. Bounded, as the objects a long history links to are not few.
@functools.lru_cache(maxsize=4096)
def _linking_agent(link: LinkingAgent) -> str:
    return _wrap(
        2,
        "linkingAgentIdentifier",
        _identifier(3, "linkingAgentIdentifier", link.identifier),
        *(_term(3, "linkingAgentRole", role) for role in link.roles),
    )


@functools.lru_cache(maxsize=4096)
def _linking_object(link: LinkingObject) -> str:
    return _wrap(
        2,
        "linkingObjectIdentifier",
        _identifier(3, "linkingObjectIdentifier", link.identifier),
        *(_term(3, "linkingObjectRole", role) for role in link.roles),
    )


@functools.lru_cache(maxsize=4096)
def _extension(depth: int, name: str, extension: Extension) -> str:
    """An extension element declaring its namespace, one child per field (values are few and
    repeat across events: each fragment is made once).

    <premis:eventDetailExtension xmlns:sdr="urn:example:sdr">
      <sdr:check>validate_checksums</sdr:check>
    </premis:eventDetailExtension>
    """
    prefix = extension.prefix
    indent = _INDENT[depth]
    inner = _INDENT[depth + 1]
    # The model allows only a namespace with nothing to escape and an NCName prefix.
    children = "".join(
        f"{inner}<{prefix}:{field.name}>{_text(field.value)}</{prefix}:{field.name}>"
        for field in extension.fields
    )
    return (
        f'{indent}<premis:{name} xmlns:{prefix}="{extension.namespace}">'
        f"{children}{indent}</premis:{name}>"
    )


def _outcome_details(event: Event) -> list[str]:
    """One eventOutcomeDetail per note; the extensions go with the first (alone if none)."""
    extensions = [
        _extension(4, "eventOutcomeDetailExtension", extension)
        for extension in event.outcome_extensions
    ]
    notes = [_leaf(4, "eventOutcomeDetailNote", note) for note in event.outcome_notes]
    if not notes:
        return [_wrap(3, "eventOutcomeDetail", *extensions)] if extensions else []
    first, *others = notes
    return [
        _wrap(3, "eventOutcomeDetail", first, *extensions),
        *(_wrap(3, "eventOutcomeDetail", note) for note in others),
    ]


def _event(event: Event) -> str:
    """An event, children in the XSD order.

    <premis:event version="3.0">
      <premis:eventIdentifier>
        <premis:eventIdentifierType>UUID</premis:eventIdentifierType>
        <premis:eventIdentifierValue>2b1e...</premis:eventIdentifierValue>
      </premis:eventIdentifier>
      <premis:eventType authority=".." authorityURI=".." valueURI="..">fixity check</...>
      <premis:eventDateTime>2026-03-01T22:14:05.123456+00:00</premis:eventDateTime>
      <premis:eventDetailInformation>                     (when detail or extensions)
        <premis:eventDetail>program="preservation_catalog"</premis:eventDetail>
        <premis:eventDetailExtension xmlns:sdr="urn:example:sdr">   (one per extension)
          <sdr:check>validate_checksums</sdr:check>
        </premis:eventDetailExtension>
      </premis:eventDetailInformation>
      <premis:eventOutcomeInformation>                    (when outcome, notes or extensions)
        <premis:eventOutcome authority=".." authorityURI=".." valueURI="..">success</...>
        <premis:eventOutcomeDetail>                       (one per note)
          <premis:eventOutcomeDetailNote>3 files</premis:eventOutcomeDetailNote>
          <premis:eventOutcomeDetailExtension xmlns:sdr="urn:example:sdr">  (first detail)
            <sdr:result_code>FILE_NOT_IN_MOAB</sdr:result_code>
          </premis:eventOutcomeDetailExtension>
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
    parts = [
        _wrap(2, "eventIdentifier", _identifier(3, "eventIdentifier", event.identifier)),
        _term(2, "eventType", event.type),
        _leaf(2, "eventDateTime", format_date_time(event.date_time)),
    ]
    if event.detail is not None or event.detail_extensions:
        detail = [] if event.detail is None else [_leaf(3, "eventDetail", event.detail)]
        detail.extend(
            _extension(3, "eventDetailExtension", extension)
            for extension in event.detail_extensions
        )
        parts.append(_wrap(2, "eventDetailInformation", *detail))
    outcome_details = _outcome_details(event)
    if event.outcome is not None or outcome_details:
        # An empty eventOutcomeInformation is invalid, hence the guard above.
        outcome = [] if event.outcome is None else [_term(3, "eventOutcome", event.outcome)]
        outcome.extend(outcome_details)
        parts.append(_wrap(2, "eventOutcomeInformation", *outcome))
    parts.extend(map(_linking_agent, event.agents))
    parts.extend(map(_linking_object, event.objects))
    return _versioned("event", parts)


def _agent(agent: Agent) -> str:
    """An agent, children in the XSD order.

    <premis:agent version="3.0">
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
    parts = [
        _wrap(2, "agentIdentifier", _identifier(3, "agentIdentifier", agent.identifier)),
        _leaf(2, "agentName", agent.name),
        _term(2, "agentType", agent.type),
    ]
    if agent.version is not None:
        parts.append(_leaf(2, "agentVersion", agent.version))
    parts.extend(_leaf(2, "agentNote", note) for note in agent.notes)
    return _versioned("agent", parts)


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
    linking `Identifier` to the `Agent` (or None). Each event is written to `out` (one `write`)
    before the next is asked for.

    Raises `PremisModelError` before writing anything when `objects` is empty, and as soon as
    an event links to an agent that does not resolve (naming it); `out` then holds an
    unfinished document, to be discarded.

    <?xml version='1.0' encoding='UTF-8'?>
    <premis:premis xmlns:premis="http://www.loc.gov/premis/v3"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="3.0"
        xsi:schemaLocation="http://www.loc.gov/premis/v3
                            http://www.loc.gov/standards/premis/v3/premis.xsd">
      <premis:object xsi:type="premis:intellectualEntity" version="3.0">...</premis:object>
      <premis:event version="3.0">...</premis:event>
      <premis:agent version="3.0">...</premis:agent>
    </premis:premis>
    """
    written_objects = "".join(map(_object, objects))
    if not written_objects:
        raise PremisModelError("a PREMIS document needs at least one object; none was given")
    referenced = ReferencedAgents(agents)
    # Strict UTF-8 cannot fail: `xml_safe` has spelled every lone surrogate visibly.
    out.write((_HEAD + written_objects).encode())
    for event in events:
        # Resolve first, so a bad link stops the document before its event is written.
        referenced.add_links(event)
        out.write(_event(event).encode())
    out.write(("".join(map(_agent, referenced)) + _TAIL).encode())


def document_bytes(
    objects: Iterable[PremisObject],
    events: Iterable[Event],
    agents: AgentSource,
) -> bytes:
    """`write_document` into memory: the whole document as bytes (for small documents)."""
    buffer = io.BytesIO()
    write_document(buffer, objects, events, agents)
    return buffer.getvalue()
