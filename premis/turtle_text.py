"""Turtle text as rdflib's serializer writes it for the PREMIS graphs, one subject at a time.

rdflib (7.x) writes: the prefixes the triples use, sorted by name; each subject as a block
(`\\n<subject> verb object, object ;\\n    verb object .\\n`), subjects ordered by how many
triples have them as object, then by URI; rdf:type (as `a`), rdfs:label, then the other
predicates by URI; a predicate's objects sorted (URIs and plain literals by text, xsd:dateTime
literals by instant, sizes by value); literals quoted as `Literal._quote_encode` does.
`premis.rdf` then writes C1 and bidi controls as `\\uXXXX`. `premis.rdf_stream` puts the
blocks in order.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from premis.escaping import escape_disguised
from premis.rdf_triples import (
    COUNT,
    DATE_TIME,
    PREFIXES,
    RDF_TYPE,
    RDFS_LABEL,
    URI,
    XSD_DATE_TIME,
    XSD_NON_NEGATIVE_INTEGER,
    Term,
)
from premis.subject_sort import Properties

_PREFIX_OF = {namespace: prefix for prefix, namespace in PREFIXES.items()}
# A local name rdflib writes as is after a prefix (the LoC codes and ontology names are such).
_LOCAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@lru_cache(maxsize=1024)
def prefixed(uri: str) -> tuple[str, str] | None:
    """(prefix, local name) when rdflib writes `uri` as a prefixed name."""
    for namespace, prefix in _PREFIX_OF.items():
        if uri.startswith(namespace) and _LOCAL_NAME.fullmatch(uri, len(namespace)):
            return prefix, uri[len(namespace) :]
    return None


class TurtleNames:
    """Names of URIs: resource URIs (under the base, or `urn:uuid:`) are never prefixed when
    `premis.rdf_stream.streamable` accepts the base, so only the vocabulary is looked up."""

    def __init__(self, base_uri: str) -> None:
        self._resources = (base_uri, "urn:uuid:")
        self._vocabulary: dict[str, str] = {}

    def name(self, uri: str) -> str:
        known = self._vocabulary.get(uri)
        if known is not None:
            return known
        if uri.startswith(self._resources):
            return f"<{uri}>"
        parts = prefixed(uri)
        known = f"{parts[0]}:{parts[1]}" if parts else f"<{uri}>"
        if len(self._vocabulary) < 1024:
            self._vocabulary[uri] = known
        return known


def header(prefixes: set[str]) -> str:
    return "".join(f"@prefix {prefix}: <{PREFIXES[prefix]}> .\n" for prefix in sorted(prefixes))


def quote(text: str) -> str:
    """rdflib's `Literal._quote_encode`, step for step: the bytes must be the same."""
    if "\n" in text:
        encoded = text.replace("\\", "\\\\")
        if '"""' in text:
            encoded = encoded.replace('"""', '\\"\\"\\"')
        if encoded[-1] == '"' and encoded[-2] != "\\":
            encoded = encoded[:-1] + "\\" + '"'
        tripled = encoded.replace("\r", "\\r")
        return f'"""{tripled}"""'
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r")
    return f'"{escaped}"'


def _escape(code: int) -> str:
    return f"\\u{code:04X}"  # as premis.rdf writes a C1 or bidi control


def _order(term: Term) -> tuple[datetime | None, int, str]:
    # Equal instants written with different offsets have no order in rdflib (each literal is
    # "less" than the other); only events sharing an identifier can have two times. Sizes are
    # ordered by value, as rdflib compares integer literals (only objects sharing an identifier
    # can have two). A predicate's objects are all of one kind, so the keys always compare.
    kind, text = term
    return (
        datetime.fromisoformat(text) if kind == DATE_TIME else None,
        int(text) if kind == COUNT else 0,
        text,
    )


class TurtleBlocks:
    """The text of each subject's block."""

    def __init__(self, names: TurtleNames) -> None:
        self.names = names
        self.date_time_type = names.name(XSD_DATE_TIME)
        self.count_type = names.name(XSD_NON_NEGATIVE_INTEGER)
        # The URIs objects repeat (vocabulary, linked agents and objects), as written.
        self._uri_text: dict[str, str] = {}

    def term(self, term: Term) -> str:
        kind, text = term
        if kind == URI:
            shown = self._uri_text.get(text)
            if shown is None:
                shown = self.names.name(text)
                if len(self._uri_text) < 4096:
                    self._uri_text[text] = shown
            return shown
        if kind == DATE_TIME:
            return f"{quote(text)}^^{self.date_time_type}"
        if kind == COUNT:
            return f"{quote(text)}^^{self.count_type}"
        return quote(text)

    def block(self, subject: str, properties: Properties) -> str:
        name, term = self.names.name, self.term
        first = [p for p in (RDF_TYPE, RDFS_LABEL) if p in properties]
        rest = sorted(p for p in properties if p not in (RDF_TYPE, RDFS_LABEL))
        # A subject is a resource URI, never a prefixed name (see TurtleNames).
        parts = ["\n<", subject, ">"]
        separator = " "
        for predicate in first + rest if first else rest:
            terms = properties[predicate]
            verb = "a" if predicate == RDF_TYPE else name(predicate)
            if len(terms) == 1:
                objects = term(terms[0])
            else:
                objects = ",\n        ".join(map(term, sorted(terms, key=_order)))
            parts += (separator, verb, " ", objects)
            separator = " ;\n    "
        parts.append(" .\n")
        # Literals are the only place such characters can be (URIs are percent-encoded).
        return escape_disguised("".join(parts), _escape)
