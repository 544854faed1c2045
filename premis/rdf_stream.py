"""PREMIS 3 Turtle and JSON-LD written without an rdflib graph, in bounded memory.

The bytes are those of `premis.rdf.serialize(premis.rdf.to_graph(...))` (the tests compare
the two on generated documents), so this module reproduces what rdflib's Turtle serializer
and `premis.rdf`'s stable JSON-LD do with these graphs:

- Turtle: the prefixes the triples use, sorted; subjects ordered by (how many triples have
  them as object, URI), so events (never an object) come first in URI order and the objects
  and agents they link to after; predicates rdf:type (`a`), rdfs:label, then by URI; objects
  sorted; literals quoted as rdflib's `Literal._quote_encode` does.
- JSON-LD: the fixed context, nodes by `@id`, one value as itself and several as a list sorted
  by its JSON text, each node as `json.dumps(indent=2)` shows it inside the document.

Subjects are gathered by `premis.subject_sort` (an external sort): nothing is written before
the last event is read (the prefixes and the reference counts need them all), and memory does
not grow with the number of events. A base URI that could shorten resource URIs into prefixed
names (one that is a prefix of a bound namespace or the reverse, or has unusual characters)
takes rdflib's road instead: rdflib's rules for those are not worth copying.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, BinaryIO

from premis.errors import PremisModelError
from premis.escaping import escape_disguised
from premis.model import AgentSource, Event, PremisObject, ReferencedAgents
from premis.rdf_triples import (
    DATE_TIME,
    DEFAULT_BASE_URI,
    PREFIXES,
    RDF_TYPE,
    RDFS_LABEL,
    URI,
    XSD_DATE_TIME,
    Term,
    TripleMapper,
)
from premis.subject_sort import DEFAULT_BUDGET, Properties, SubjectSorter

_PREFIX_OF = {namespace: prefix for prefix, namespace in PREFIXES.items()}
_SAFE_BASE = re.compile(r"[A-Za-z0-9._~:/%+-]+")
# A local name rdflib writes as is after a prefix (the LoC codes and ontology names are such).
_LOCAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def streamable(base_uri: str) -> bool:
    """Whether resource URIs under `base_uri` are never shortened to prefixed names."""
    return _SAFE_BASE.fullmatch(base_uri) is not None and not any(
        namespace.startswith(base_uri) or base_uri.startswith(namespace)
        for namespace in PREFIXES.values()
    )


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
    with SubjectSorter(budget) as sorter:
        object_count = 0
        for obj in objects:
            sorter.add(mapper.object_triples(obj))
            object_count += 1
        if not object_count:
            raise PremisModelError("a PREMIS document needs at least one object; none was given")
        referenced = ReferencedAgents(agents)
        for event in events:
            referenced.add_links(event)
            sorter.add(mapper.event_triples(event))
        for agent in referenced:
            sorter.add(mapper.agent_triples(agent))
        if fmt == "turtle":
            _write_turtle(out, sorter)
        else:
            _write_json_ld(out, sorter)


# Turtle ------------------------------------------------------------------------------------


class _Names:
    """Turtle names of URIs, remembering which prefixes were used."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self._names: dict[str, tuple[str, str | None]] = {}

    def name(self, uri: str) -> str:
        known = self._names.get(uri)
        if known is None:
            known = (f"<{uri}>", None)
            for namespace, prefix in _PREFIX_OF.items():
                local = uri[len(namespace) :]
                if uri.startswith(namespace) and _LOCAL_NAME.fullmatch(local):
                    known = (f"{prefix}:{local}", prefix)
                    break
            if len(self._names) < 4096:  # the vocabulary; resource URIs are rarely repeated
                self._names[uri] = known
        if known[1] is not None:
            self.used.add(known[1])
        return known[0]


def _quote(text: str) -> str:
    # rdflib's Literal._quote_encode, step for step: the bytes must be the same.
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


def _turtle_escape(code: int) -> str:
    return f"\\u{code:04X}"  # as premis.rdf writes a C1 or bidi control


def _turtle_term(term: Term, names: _Names) -> str:
    kind, text = term
    if kind == URI:
        return names.name(text)
    quoted = escape_disguised(_quote(text), _turtle_escape)
    if kind == DATE_TIME:
        return f"{quoted}^^{names.name(XSD_DATE_TIME)}"
    return quoted


def _term_order(term: Term) -> tuple[datetime | None, str]:
    # rdflib sorts URIs and plain literals by their text, xsd:dateTime literals by their instant
    # (several only when events share an identifier); equal instants written with different
    # offsets have no order in rdflib either (each is "less" than the other).
    kind, text = term
    return (datetime.fromisoformat(text) if kind == DATE_TIME else None), text


def _predicate_order(properties: Properties) -> list[str]:
    first = [p for p in (RDF_TYPE, RDFS_LABEL) if p in properties]
    return first + sorted(p for p in properties if p not in (RDF_TYPE, RDFS_LABEL))


def _turtle_block(subject: str, properties: Properties, names: _Names) -> str:
    parts = ["\n", names.name(subject)]
    for index, predicate in enumerate(_predicate_order(properties)):
        verb = "a" if predicate == RDF_TYPE else names.name(predicate)
        parts.append(f" {verb}" if index == 0 else f" ;\n    {verb}")
        terms = sorted(properties[predicate], key=_term_order)
        parts.append(" ")
        parts.append(",\n        ".join(_turtle_term(term, names) for term in terms))
    parts.append(" .\n")
    return "".join(parts)


def _write_turtle(out: BinaryIO, sorter: SubjectSorter) -> None:
    names = _Names()
    references: dict[str, int] = {}
    for _, properties in sorter.subjects():  # first pass: prefixes used, references
        for predicate, terms in properties.items():
            if predicate != RDF_TYPE:
                names.name(predicate)
            for kind, text in terms:
                if kind == URI:
                    references[text] = references.get(text, 0) + 1
                    names.name(text)
                elif kind == DATE_TIME:
                    names.name(XSD_DATE_TIME)
    header = "".join(f"@prefix {p}: <{PREFIXES[p]}> .\n" for p in sorted(names.used))
    out.write(header.encode())  # each subject block starts with its blank line
    referenced: list[tuple[int, str, str]] = []
    for subject, properties in sorter.subjects():
        count = references.get(subject, 0)
        if count:  # the objects and agents: few, written after the events
            referenced.append((count, subject, _turtle_block(subject, properties, names)))
        else:
            out.write(_turtle_block(subject, properties, names).encode())
    referenced.sort()
    for _, _, block in referenced:
        out.write(block.encode())
    out.write(b"\n")


# JSON-LD -----------------------------------------------------------------------------------


def _compact(iri: str) -> str:
    # rdflib's jsonld Context.shrink_iri / to_symbol: split after the last '#', '/' or ':'.
    for delimiter in ("#", "/", ":"):
        at = iri.rfind(delimiter)
        if at > -1:
            prefix = _PREFIX_OF.get(iri[: at + 1])
            return f"{prefix}:{iri[at + 1 :]}" if prefix else iri
    return iri


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _json_value(term: Term) -> Any:
    kind, text = term
    if kind == URI:
        return {"@id": _compact(text)}
    if kind == DATE_TIME:
        return {"@type": _compact(XSD_DATE_TIME), "@value": text}
    return text


def _json_node(subject: str, properties: Properties) -> dict[str, Any]:
    node: dict[str, Any] = {"@id": _compact(subject)}
    for predicate, terms in properties.items():
        if predicate == RDF_TYPE:
            key = "@type"
            values = [_compact(text) for _, text in terms]
        else:
            key = _compact(predicate)
            values = [_json_value(term) for term in terms]
        node[key] = values[0] if len(values) == 1 else sorted(values, key=_sort_key)
    return node


def _json_escape(code: int) -> str:
    return f"\\u{code:04x}"  # as premis.rdf writes a C1 or bidi control


def _json_text(node: dict[str, Any]) -> str:
    text = json.dumps(node, sort_keys=True, ensure_ascii=False, indent=2)
    return escape_disguised("    " + text.replace("\n", "\n    "), _json_escape)


def _write_json_ld(out: BinaryIO, sorter: SubjectSorter) -> None:
    context = json.dumps(dict(sorted(PREFIXES.items())), indent=2).replace("\n", "\n  ")
    out.write(f'{{\n  "@context": {context},\n  "@graph": [\n'.encode())
    subjects = sorter.subjects()
    first = _json_node(*next(subjects))  # the writer gave at least one object
    second = next(subjects, None)
    if second is None:
        # rdflib writes a one-node graph as that node with the context in it (no @graph), and
        # premis.rdf keeps that node whole: the context shows twice.
        first["@context"] = PREFIXES
        out.write(_json_text(first).encode())
    else:
        out.write(_json_text(first).encode())
        out.write(f",\n{_json_text(_json_node(*second))}".encode())
        for subject, properties in subjects:
            out.write(f",\n{_json_text(_json_node(subject, properties))}".encode())
    out.write(b"\n  ]\n}\n")
