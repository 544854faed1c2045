"""A standalone, typed PREMIS 3 library: model, LoC vocabularies, XML, METS, RDF, XSD validation.

The model, vocabularies and errors are imported at once (stdlib only). The XML writer (lxml),
the schema tools (lxml), the RDF graph (rdflib) and the streamed RDF writer are loaded on
first use of one of their names, so `import premis` stays cheap and `python -m premis.schema`
runs cleanly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from premis.errors import PremisError, PremisModelError, PremisSchemaError, PremisValidationError
from premis.escaping import unescape, visible_surrogates, xml_safe
from premis.model import (
    Agent,
    AgentSource,
    Event,
    Extension,
    ExtensionField,
    Fixity,
    Identifier,
    LinkingAgent,
    LinkingObject,
    ObjectCategory,
    PremisObject,
    Relationship,
    RelationshipSubType,
    Storage,
    format_date_time,
)
from premis.vocabulary import (
    AgentRole,
    AgentType,
    EventOutcome,
    EventType,
    HashFunction,
    LocTerm,
    ObjectRole,
    StructuralRelationship,
)

if TYPE_CHECKING:
    from premis.mets import mets_bytes, write_mets
    from premis.rdf import resource_uri, serialize, to_graph
    from premis.rdf_stream import write_rdf
    from premis.schema import fetch, is_valid, load_schema, schema_path, validate
    from premis.xml import document_bytes, write_document

_LAZY = {
    "document_bytes": "premis.xml",
    "write_document": "premis.xml",
    "mets_bytes": "premis.mets",
    "write_mets": "premis.mets",
    "fetch": "premis.schema",
    "is_valid": "premis.schema",
    "load_schema": "premis.schema",
    "schema_path": "premis.schema",
    "validate": "premis.schema",
    "resource_uri": "premis.rdf",
    "serialize": "premis.rdf",
    "to_graph": "premis.rdf",
    "write_rdf": "premis.rdf_stream",
}

__all__ = [
    "Agent",
    "AgentRole",
    "AgentSource",
    "AgentType",
    "Event",
    "EventOutcome",
    "EventType",
    "Extension",
    "ExtensionField",
    "Fixity",
    "HashFunction",
    "Identifier",
    "LinkingAgent",
    "LinkingObject",
    "LocTerm",
    "ObjectCategory",
    "ObjectRole",
    "PremisError",
    "PremisModelError",
    "PremisObject",
    "PremisSchemaError",
    "PremisValidationError",
    "Relationship",
    "RelationshipSubType",
    "Storage",
    "StructuralRelationship",
    "document_bytes",
    "fetch",
    "format_date_time",
    "is_valid",
    "load_schema",
    "mets_bytes",
    "resource_uri",
    "schema_path",
    "serialize",
    "to_graph",
    "unescape",
    "validate",
    "visible_surrogates",
    "write_document",
    "write_mets",
    "write_rdf",
    "xml_safe",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'premis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value
