"""The RDF mapping: expected triples, Turtle and JSON-LD that parse back, stable bytes.

The golden Turtle and JSON-LD files are regenerated with `UPDATE_GOLDEN=1 pytest tests/premis`;
review the diff."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, OWL, PROV

from premis import (
    Identifier,
    ObjectCategory,
    ObjectRole,
    PremisModelError,
    PremisObject,
    RelationshipSubType,
    StructuralRelationship,
    resource_uri,
    serialize,
    to_graph,
)
from premis.escaping import DISGUISED
from premis.rdf import DEFAULT_BASE_URI, PREMIS, RdfFormat
from tests.premis import documents

REFERENCE = Path(__file__).parents[2].parent / "shared/reference/premis"
REPO_ROOT = Path(__file__).parents[2]
GOLDEN = Path(__file__).parent / "golden"
LOC = "http://id.loc.gov/vocabulary/preservation/"
BASE = "urn:x-local:premis:"
FIXITY_EVENT = URIRef("urn:uuid:00000000-0000-5000-8000-000000000002")
REPLICATION = URIRef("urn:uuid:00000000-0000-5000-8000-000000000003")
CATALOG = URIRef(f"{BASE}local/preservation_catalog")
ENTITY = URIRef(f"{BASE}druid/bc123df4567")
VERSION_2 = URIRef(f"{BASE}local/bc123df4567%2Fv2")
PDF = URIRef(f"{BASE}local/bc123df4567%2Fv2%2Fcontent%2Fthesis.pdf")
SOURCE = URIRef(f"{LOC}eventRelatedObjectRole/sou")
OUTCOME = URIRef(f"{LOC}eventRelatedObjectRole/out")
# Not rdflib's XSD namespace object: pytest's collection probes module attributes, and that
# namespace warns about every name it does not define.
XSD_DATE_TIME = URIRef("http://www.w3.org/2001/XMLSchema#dateTime")


@pytest.fixture(scope="module")
def graph() -> Graph:
    full = documents.full()
    return to_graph(full.objects, full.events, full.agents)


def test_an_event_is_typed_by_its_loc_term(graph: Graph) -> None:
    assert set(graph.objects(FIXITY_EVENT, RDF.type)) == {
        PREMIS.Event,
        URIRef(f"{LOC}eventType/fix"),
    }


def _identifier(graph: Graph, resource: URIRef) -> tuple[set[URIRef], Literal]:
    """The classes and the value of the resource's one premis:identifier node."""
    nodes = list(graph.objects(resource, PREMIS.identifier))
    assert len(nodes) == 1, nodes
    value = graph.value(nodes[0], RDF.value)
    assert isinstance(value, Literal)
    return {cast(URIRef, kind) for kind in graph.objects(nodes[0], RDF.type)}, value


def test_every_resource_states_its_identifier_type_and_value(graph: Graph) -> None:
    full = documents.full()
    identifiers = [obj.identifier for obj in full.objects]
    identifiers += [event.identifier for event in full.events]
    identifiers += [agent.identifier for agent in full.agents.values()]  # all four are linked
    for identifier in identifiers:
        kinds, value = _identifier(graph, URIRef(resource_uri(identifier)))
        assert kinds == {PREMIS.Identifier, URIRef(f"{BASE}{identifier.type}/")}
        assert value == Literal(identifier.value)
    # dct:identifier said the value without its type; the node says both.
    assert not list(graph.subject_objects(DCTERMS.identifier))


def test_an_event_ended_at_its_date_time_and_started_when_known(graph: Graph) -> None:
    ended = graph.value(FIXITY_EVENT, PROV.endedAtTime)
    assert isinstance(ended, Literal)
    assert ended.datatype == XSD_DATE_TIME
    assert str(ended) == "2026-03-01T22:14:05.123456+00:00"
    assert graph.value(FIXITY_EVENT, PROV.startedAtTime) is None  # its source said no start
    started = graph.value(REPLICATION, PROV.startedAtTime)
    assert isinstance(started, Literal) and started.datatype == XSD_DATE_TIME
    assert str(started) == "2026-03-02T03:52:30+00:00"
    assert str(graph.value(REPLICATION, PROV.endedAtTime)) == "2026-03-02T04:00:00+00:00"


def test_an_event_has_its_outcome_and_notes(graph: Graph) -> None:
    assert graph.value(FIXITY_EVENT, PREMIS.outcome) == URIRef(f"{LOC}eventOutcome/fai")
    assert set(graph.objects(FIXITY_EVENT, PREMIS.outcomeNote)) == {
        Literal("MOAB_FILE_CHECKSUM_MISMATCH"),
        Literal("1 of 12 files"),
    }
    note = graph.value(FIXITY_EVENT, PREMIS.note)
    assert str(note) == documents.NASTY_DETAIL.replace("\x01", "\\u0001").replace("\udce9", "\\xe9")


def test_agents_are_linked_by_role_and_by_association(graph: Graph) -> None:
    assert (FIXITY_EVENT, URIRef(f"{LOC}eventRelatedAgentRole/exe"), CATALOG) in graph
    assert (FIXITY_EVENT, PROV.wasAssociatedWith, CATALOG) in graph
    server = URIRef(f"{BASE}local/sdr-storage-01")
    assert (FIXITY_EVENT, PROV.wasAssociatedWith, server) in graph  # a link without a role
    assert set(graph.objects(CATALOG, RDF.type)) == {PREMIS.Agent, URIRef(f"{LOC}agentType/sof")}
    assert graph.value(CATALOG, RDFS.label) == Literal("Preservation Catalog")
    assert graph.value(CATALOG, PREMIS.version) == Literal("4.2.0")


def test_objects_are_linked_by_role_and_by_prov_o(graph: Graph) -> None:
    assert {(SOURCE, ENTITY), (SOURCE, PDF), (PROV.used, ENTITY), (PROV.used, PDF)} <= set(
        graph.predicate_objects(FIXITY_EVENT)
    )
    zipped = URIRef(f"{BASE}local/bc123df4567.v0002.zip")
    assert {
        (OUTCOME, zipped),
        (PROV.generated, zipped),
        (SOURCE, VERSION_2),
        (PROV.used, VERSION_2),
    } <= set(graph.predicate_objects(REPLICATION))
    assert (REPLICATION, PROV.generated, VERSION_2) not in graph  # a source is not made
    validation = URIRef("urn:uuid:00000000-0000-5000-8000-000000000004")
    assert (validation, PROV.used, ENTITY) in graph  # a link without a role
    assert (validation, PROV.generated, ENTITY) not in graph


def test_objects_are_typed_and_related_in_their_direction(graph: Graph) -> None:
    assert graph.value(ENTITY, RDF.type) == PREMIS.IntellectualEntity
    assert graph.value(PDF, RDF.type) == PREMIS.File
    assert graph.value(PDF, PREMIS.originalName) == Literal("thesis.pdf")
    file_format = graph.value(PDF, DCTERMS.format)
    assert graph.value(file_format, RDFS.label) == Literal("application/pdf")
    assert graph.value(VERSION_2, RDF.type) == PREMIS.Representation
    assert set(graph.objects(VERSION_2, PREMIS.relationship)) == {ENTITY, PDF}
    sub_type = f"{LOC}relationshipSubType/"
    assert set(graph.predicate_objects(VERSION_2)) >= {
        (URIRef(f"{sub_type}rep"), ENTITY),
        (URIRef(f"{sub_type}hsp"), PDF),
    }
    assert (PDF, URIRef(f"{sub_type}isp"), VERSION_2) in graph
    assert (ENTITY, URIRef(f"{sub_type}isr"), VERSION_2) in graph
    assert (VERSION_2, URIRef(f"{sub_type}isr"), ENTITY) not in graph


def test_every_relationship_sub_type_has_its_loc_term() -> None:
    assert [term.name for term in StructuralRelationship] == [
        sub_type.name for sub_type in RelationshipSubType
    ]
    for term in StructuralRelationship:
        # The model's labels are the XML's; LoC capitalizes a few words differently.
        assert term.label.casefold() == RelationshipSubType[term.name].value.casefold()
        assert term.uri == f"{LOC}relationshipSubType/{term.code}"


def test_the_prov_o_view_connects_every_event_to_its_agents_and_objects(graph: Graph) -> None:
    # What a reader that knows only PROV-O sees: rdf:type and the prov: predicates.
    prov_only = Graph()
    for triple in graph:
        if triple[1] == RDF.type or str(triple[1]).startswith(str(PROV)):
            prov_only.add(triple)
    full = documents.full()
    for event in full.events:
        subject = URIRef(resource_uri(event.identifier))
        agents = set(prov_only.objects(subject, PROV.wasAssociatedWith))
        assert agents == {URIRef(resource_uri(link.identifier)) for link in event.agents}
        used = set(prov_only.objects(subject, PROV.used))
        generated = set(prov_only.objects(subject, PROV.generated))
        assert used | generated == {URIRef(resource_uri(link.identifier)) for link in event.objects}
        for link in event.objects:
            made = ObjectRole.OUTCOME in link.roles
            assert (URIRef(resource_uri(link.identifier)) in generated) == made


def test_storage_fixity_and_size_follow_the_ontology(graph: Graph) -> None:
    locations = {
        (graph.value(node, DCTERMS.type), graph.value(node, RDF.value))
        for node in graph.objects(PDF, PREMIS.storedAt)
        if (node, RDF.type, PREMIS.StorageLocation) in graph
    }
    assert locations == {
        (
            Literal("file path"),
            Literal(
                "/services-disk02/sdr2objects/bc/123/df/4567/bc123df4567/v0002/data/content/"
                "thesis.pdf"
            ),
        )
    }
    version_2 = URIRef(f"{BASE}local/bc123df4567%2Fv2")
    (endpoint,) = (
        node
        for node in graph.objects(version_2, PREMIS.storedAt)
        if graph.value(node, RDF.value) == Literal("aws_s3_west_2")
    )
    medium = graph.value(endpoint, PREMIS.medium)
    assert (medium, RDF.type, PREMIS.StorageMedium) in graph
    assert graph.value(medium, RDFS.label) == Literal("cloud storage")
    digests = {
        (kind, graph.value(node, RDF.value))
        for node in graph.objects(PDF, PREMIS.fixity)
        for kind in graph.objects(node, RDF.type)
        if kind != PREMIS.Fixity and (node, RDF.type, PREMIS.Fixity) in graph
    }
    assert digests == {
        (
            URIRef(f"{LOC}cryptographicHashFunctions/md5"),
            Literal("8c5b1f2d3e4a5b6c7d8e9f0a1b2c3d4e"),
        ),
        (
            URIRef(f"{LOC}cryptographicHashFunctions/sha256"),
            Literal("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        ),
    }
    size = graph.value(PDF, PREMIS.size)
    assert isinstance(size, Literal) and size.toPython() == 1048576
    assert size.datatype == URIRef("http://www.w3.org/2001/XMLSchema#nonNegativeInteger")


def test_no_v1_properties_and_only_terms_of_the_v3_ontology(graph: Graph) -> None:
    premis_terms = {
        term
        for triple in graph
        for term in (triple[1], triple[2])
        if isinstance(term, URIRef) and str(term).startswith(str(PREMIS))
    }
    names = {str(term).removeprefix(str(PREMIS)) for term in premis_terms}
    assert not {name for name in names if name.startswith("has")}
    assert "eventType" not in names and "outcomeDetail" not in names
    if (REFERENCE / "premis3.owl").is_file():
        ontology = Graph().parse(REFERENCE / "premis3.owl", format="xml")
        defined = {
            subject
            for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
            for subject in ontology.subjects(RDF.type, kind)
        }
        assert premis_terms <= defined, premis_terms - defined


# rdflib's own JSON-LD parser uses its deprecated ConjunctiveGraph internally.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("fmt", "parser"), [("turtle", "turtle"), ("json-ld", "json-ld")])
def test_serializations_parse_back_to_the_same_graph(
    graph: Graph, fmt: RdfFormat, parser: str
) -> None:
    data = serialize(graph, fmt)
    assert data == serialize(graph, fmt)
    parsed = Graph().parse(data=data, format=parser)
    assert isomorphic(parsed, graph)
    assert (FIXITY_EVENT, RDF.type, URIRef(f"{LOC}eventType/fix")) in parsed
    ended = parsed.value(FIXITY_EVENT, PROV.endedAtTime)
    assert isinstance(ended, Literal) and ended.datatype == XSD_DATE_TIME


@pytest.mark.parametrize(("fmt", "suffix"), [("turtle", "ttl"), ("json-ld", "jsonld")])
def test_golden_rdf(graph: Graph, fmt: RdfFormat, suffix: str) -> None:
    produced = serialize(graph, fmt)
    golden = GOLDEN / f"full.{suffix}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_bytes(produced)
    assert golden.is_file(), f"{golden} missing: run UPDATE_GOLDEN=1 pytest tests/premis"
    assert produced == golden.read_bytes()


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("fmt", "escape"), [("turtle", "\\u{:04X}"), ("json-ld", "\\u{:04x}")])
def test_c1_and_bidi_controls_are_written_as_escapes(fmt: RdfFormat, escape: str) -> None:
    detail = "".join(f"[{chr(code)}]" for code in sorted(DISGUISED))
    entity = PremisObject(Identifier("local", "x"), ObjectCategory.INTELLECTUAL_ENTITY, detail)
    graph = to_graph([entity], [], {})

    text = serialize(graph, fmt).decode()
    assert not [char for char in text if ord(char) in DISGUISED]
    for code in DISGUISED:
        assert f"[{escape.format(code)}]" in text
    parsed = Graph().parse(data=text, format=fmt)
    assert isomorphic(parsed, graph)  # the same value
    assert Literal(detail) in set(parsed.objects())


_SERIALIZE_IN_A_FRESH_PROCESS = """
import sys
from premis import serialize, to_graph
from tests.premis import documents
full = documents.full()
graph = to_graph(full.objects, full.events, full.agents)
sys.stdout.buffer.write(serialize(graph, sys.argv[1]))
"""


@pytest.mark.parametrize("fmt", ["turtle", "json-ld"])
def test_output_does_not_depend_on_hash_seeds(fmt: str) -> None:
    runs = {
        subprocess.run(
            [sys.executable, "-c", _SERIALIZE_IN_A_FRESH_PROCESS, fmt],
            capture_output=True,
            check=True,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(runs) == 1


def test_json_ld_is_sorted_and_uses_the_fixed_context(graph: Graph) -> None:
    document = json.loads(serialize(graph, "json-ld"))
    ids = [node["@id"] for node in document["@graph"]]
    assert ids == sorted(ids)
    assert document["@context"]["premis"] == str(PREMIS)


def test_the_default_base_uri_is_a_local_name_not_an_address() -> None:
    assert DEFAULT_BASE_URI == BASE
    assert resource_uri(Identifier("local", "software/argo")) == (
        "urn:x-local:premis:local/software%2Fargo"
    )


@pytest.mark.parametrize(
    ("identifier", "base", "uri"),
    [
        (Identifier("UUID", "2B1E6F1C-2F4F-5B7E-9F3A-1C2D3E4F5A6B"), "urn:premis:",
         "urn:uuid:2b1e6f1c-2f4f-5b7e-9f3a-1c2d3e4f5a6b"),
        (Identifier("uuid", "not-a-uuid"), "urn:premis:", "urn:premis:uuid/not-a-uuid"),
        (Identifier("druid", "bc123df4567"), "https://example.org/premis/",
         "https://example.org/premis/druid/bc123df4567"),
        (Identifier("local id", "a/b?c#d é"), "urn:premis:",
         "urn:premis:local%20id/a%2Fb%3Fc%23d%20%C3%A9"),
        (Identifier("local", "bad \udce9 byte"), "urn:premis:",
         "urn:premis:local/bad%20%5Cxe9%20byte"),
    ],
)  # fmt: skip
def test_resource_uris(identifier: Identifier, base: str, uri: str) -> None:
    assert resource_uri(identifier, base) == uri


def test_a_base_uri_must_end_with_a_separator() -> None:
    full = documents.full()
    with pytest.raises(PremisModelError, match="must end with '/' or ':'"):
        to_graph(full.objects, full.events, full.agents, base_uri="https://example.org/premis")


@pytest.mark.parametrize(
    "base",
    ["premis/", "/premis/", "example.org/", "1urn:x:", "urn:a b:", "urn:<x>:", "https://x/#a/",
     "urn:\u0085:", "urn:\udce9:", ""],
)  # fmt: skip
def test_a_base_uri_must_be_an_absolute_iri(base: str) -> None:
    with pytest.raises(PremisModelError, match="is not an absolute IRI"):
        resource_uri(Identifier("local", "x"), base)


@pytest.mark.parametrize("base", ["https://sdr.example.edu/premis/", "urn:bücher:", "tag:x:"])
def test_minted_uris_follow_the_base_uri(base: str) -> None:
    full = documents.full()
    graph = to_graph(full.objects, full.events, full.agents, base_uri=base)
    minted = {
        str(term)
        for triple in graph
        for term in triple
        if isinstance(term, URIRef) and not str(term).startswith(("http://", "urn:uuid:"))
    }
    assert minted and all(uri.startswith(base) for uri in minted)


def test_the_graph_checks_what_the_xml_writer_checks() -> None:
    full = documents.full()
    with pytest.raises(PremisModelError, match="at least one object"):
        to_graph([], full.events, full.agents)
    with pytest.raises(PremisModelError, match="local:preservation_catalog has no agent record"):
        to_graph(full.objects, full.events, {})
