"""JSON-LD text as `premis.rdf` writes it (rdflib's compaction, then `_stable_json_ld`).

The document is `json.dumps({"@context": ..., "@graph": nodes}, sort_keys=True,
ensure_ascii=False, indent=2)`: nodes sorted by `@id` (`premis.rdf_stream` gives them in
order), keys sorted, one value as itself and several as a list sorted by its compact JSON
text. rdflib compacts an IRI whose part up to the last '#', '/' or ':' is a context prefix
(`premis:Event`); plain literals are strings, xsd:dateTime ones `{"@type", "@value"}`. Nodes
are written here by hand in json.dumps' layout: its indenting encoder is pure Python and slow.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses

from premis.escaping import escape_disguised
from premis.rdf_triples import (
    COUNT,
    DATE_TIME,
    PREFIXES,
    RDF_TYPE,
    URI,
    XSD_DATE_TIME,
    XSD_NON_NEGATIVE_INTEGER,
    Term,
)
from premis.subject_sort import Properties

_PREFIX_OF = {namespace: prefix for prefix, namespace in PREFIXES.items()}


def compact(iri: str) -> str:
    """rdflib's jsonld `Context.shrink_iri` / `to_symbol` with the fixed prefixes."""
    for delimiter in ("#", "/", ":"):
        at = iri.rfind(delimiter)
        if at > -1:
            prefix = _PREFIX_OF.get(iri[: at + 1])
            return f"{prefix}:{iri[at + 1 :]}" if prefix else iri
    return iri


def _escape(code: int) -> str:
    return f"\\u{code:04x}"  # as premis.rdf writes a C1 or bidi control


class JsonLdNodes:
    """The text of each node as it shows in the document's `@graph` list (no separator)."""

    def __init__(self, base_uri: str) -> None:
        # Resource URIs are never compacted when premis.rdf_stream.streamable accepts the base.
        self._resources = (base_uri, "urn:uuid:")
        self._vocabulary: dict[str, str] = {}
        self._date_time_type = encode_basestring(compact(XSD_DATE_TIME))
        self._count_type = encode_basestring(compact(XSD_NON_NEGATIVE_INTEGER))

    def compact(self, iri: str) -> str:
        known = self._vocabulary.get(iri)
        if known is not None:
            return known
        if iri.startswith(self._resources):
            return iri
        known = compact(iri)
        if len(self._vocabulary) < 1024:
            self._vocabulary[iri] = known
        return known

    def _value(self, term: Term, pad: str) -> tuple[str, str]:
        """(the term's compact JSON, which orders a list; its text indented at `pad`)."""
        kind, text = term
        if kind == URI:
            iri = encode_basestring(self.compact(text))
            return f'{{"@id": {iri}}}', f'{{\n{pad}  "@id": {iri}\n{pad}}}'
        literal = encode_basestring(text)
        if kind in (DATE_TIME, COUNT):
            kind_text = self._date_time_type if kind == DATE_TIME else self._count_type
            return (
                f'{{"@type": {kind_text}, "@value": {literal}}}',
                f'{{\n{pad}  "@type": {kind_text},\n{pad}  "@value": {literal}\n{pad}}}',
            )
        return literal, literal

    def text(self, subject: str, properties: Properties, *, context: bool = False) -> str:
        """json.dumps(node, sort_keys=True, ensure_ascii=False, indent=2) at its place in the
        document; `context`: with rdflib's `@context` in it (a one-node document)."""
        entries = [("@id", encode_basestring(self.compact(subject)))]
        if context:
            lines = ",\n        ".join(
                f"{encode_basestring(p)}: {encode_basestring(PREFIXES[p])}"
                for p in sorted(PREFIXES)
            )
            entries.append(("@context", f"{{\n        {lines}\n      }}"))
        for predicate, terms in properties.items():
            if predicate == RDF_TYPE:
                key = "@type"
                values = [
                    (name, name) for name in (encode_basestring(self.compact(t)) for _, t in terms)
                ]
            else:
                key = self.compact(predicate)
                values = [
                    self._value(term, "        " if len(terms) > 1 else "      ") for term in terms
                ]
            if len(values) == 1:
                entries.append((key, values[0][1]))
            else:
                items = ",\n        ".join(shown for _, shown in sorted(values))
                entries.append((key, f"[\n        {items}\n      ]"))
        entries.sort()
        body = ",\n".join(f"      {encode_basestring(key)}: {shown}" for key, shown in entries)
        return escape_disguised(f"    {{\n{body}\n    }}", _escape)


def head() -> str:
    context = json.dumps(dict(sorted(PREFIXES.items())), indent=2).replace("\n", "\n  ")
    return f'{{\n  "@context": {context},\n  "@graph": [\n'


TAIL = "\n  ]\n}\n"
