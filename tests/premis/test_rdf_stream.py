"""The streamed Turtle and JSON-LD are the bytes of rdflib's road, and parse back to its graph."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rdflib import Graph
from rdflib.compare import isomorphic

from premis import (
    Agent,
    AgentRole,
    AgentType,
    Event,
    EventOutcome,
    EventType,
    Fixity,
    HashFunction,
    Identifier,
    LinkingAgent,
    LinkingObject,
    ObjectCategory,
    ObjectRole,
    PremisModelError,
    PremisObject,
    Relationship,
    RelationshipSubType,
    Storage,
    serialize,
    to_graph,
)
from premis.rdf_stream import streamable, write_rdf
from tests.premis import documents

FORMATS = ("turtle", "json-ld")
# Text with what needs quoting in Turtle and JSON: quotes, backslashes, newlines, C1 and bidi
# controls, non-ASCII; identifiers from a small pool so links, agents and subjects repeat.
_text = st.text(
    st.sampled_from(list('ab "\\\n\r\t\x85\u202e\u00e9\u4e2d-/#%')) | st.characters(),
    min_size=1,
    max_size=12,
).filter(str.strip)
_ids = st.builds(
    Identifier,
    st.sampled_from(["local", "druid", "UUID", "local id"]),
    st.sampled_from(["a", "b/c", "d e", "x#y", "00000000-0000-5000-8000-000000000001"]) | _text,
).filter(lambda ident: ident.value.strip())
_agents = st.lists(_ids, min_size=1, max_size=4, unique=True).map(
    lambda ids: {i.value: Agent(i, f"agent {i.value}", AgentType.SOFTWARE) for i in ids}
)

_storage = st.builds(Storage, _text, _text, st.none() | _text)
_fixity = st.builds(Fixity, st.sampled_from(list(HashFunction)), _text)


@st.composite
def _documents(draw: st.DrawFn) -> tuple[list[PremisObject], list[Event], dict[str, Agent]]:
    agents = draw(_agents)
    agent_ids = [agent.identifier for agent in agents.values()]
    objects = []
    for identifier in draw(st.lists(_ids, min_size=1, max_size=4)):
        category = draw(st.sampled_from(list(ObjectCategory)))
        needs_format = category in (ObjectCategory.FILE, ObjectCategory.BITSTREAM)
        objects.append(
            PremisObject(
                identifier,
                category,
                original_name=None
                if category is ObjectCategory.BITSTREAM
                else draw(st.none() | _text),
                format_name=draw(_text) if needs_format else None,
                relationships=tuple(
                    Relationship(draw(st.sampled_from(list(RelationshipSubType))), related)
                    for related in draw(st.lists(_ids, max_size=2))
                ),
                storage=()
                if category is ObjectCategory.INTELLECTUAL_ENTITY
                else tuple(draw(st.lists(_storage, max_size=2, unique=True))),
                fixity=tuple(draw(st.lists(_fixity, max_size=2, unique=True)))
                if needs_format
                else (),
                size=draw(st.none() | st.integers(0, 2**63 - 1)) if needs_format else None,
            )
        )
    events = []
    for identifier in draw(st.lists(_ids, max_size=6)):
        linked_agents = draw(st.lists(st.sampled_from(agent_ids), min_size=1, max_size=3))
        offset = draw(st.integers(-12 * 60, 14 * 60))
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
            seconds=draw(st.integers(0, 10**8)), microseconds=draw(st.integers(0, 999_999))
        )
        took = draw(st.none() | st.integers(0, 10**5))
        started = None if took is None else moment - timedelta(seconds=took)
        events.append(
            Event(
                identifier=identifier,
                type=draw(st.sampled_from(list(EventType))),
                date_time=moment.astimezone(timezone(timedelta(minutes=offset))),
                started_at=started,
                detail=draw(st.none() | _text),
                outcome=draw(st.none() | st.sampled_from(list(EventOutcome))),
                outcome_notes=tuple(draw(st.lists(_text, max_size=2))),
                agents=tuple(
                    LinkingAgent(a, tuple(draw(st.sets(st.sampled_from(list(AgentRole))))))
                    for a in dict.fromkeys(linked_agents)
                ),
                objects=tuple(
                    LinkingObject(o, tuple(draw(st.sets(st.sampled_from(list(ObjectRole))))))
                    for o in dict.fromkeys(draw(st.lists(_ids, max_size=3)))
                ),
            )
        )
    return objects, events, agents


def _streamed(
    objects: list[PremisObject],
    events: list[Event],
    agents: dict[str, Agent],
    fmt: str,
    budget: int,
) -> bytes:
    out = io.BytesIO()
    write_rdf(out, iter(objects), iter(events), agents, fmt, budget=budget)
    return out.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents(), st.sampled_from(FORMATS), st.sampled_from([1, 2_000, 10**9]))
def test_streamed_bytes_are_rdflibs(
    document: tuple[list[PremisObject], list[Event], dict[str, Agent]], fmt: str, budget: int
) -> None:
    objects, events, agents = document
    # Equal instants written with different offsets have no order in rdflib (each literal is
    # "less" than the other), so two such times on one subject have no reference bytes.
    instants = {(event.identifier, event.date_time) for event in events}
    assume(len(instants) == len({(e.identifier, e.date_time.isoformat()) for e in events}))
    expected = serialize(to_graph(objects, events, agents), fmt)  # type: ignore[arg-type]
    assert _streamed(objects, events, agents, fmt, budget) == expected


# rdflib's own JSON-LD parser uses its deprecated ConjunctiveGraph internally.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(documents.ALL))
def test_streamed_output_parses_back_to_the_graph(name: str, fmt: str) -> None:
    document = documents.ALL[name]()
    objects, events = list(document.objects), list(document.events)
    data = _streamed(objects, events, document.agents, fmt, budget=1)  # type: ignore[arg-type]
    parsed = Graph().parse(data=data, format=fmt)
    assert isomorphic(parsed, to_graph(objects, events, document.agents))


def test_every_vocabulary_term_is_named_as_rdflib_names_it() -> None:
    catalog = documents.CATALOG
    entity = PremisObject(documents.ENTITY, ObjectCategory.INTELLECTUAL_ENTITY)
    events = [
        Event(
            identifier=Identifier("local", f"e{n}"),
            type=event_type,
            date_time=datetime(2026, 1, 1, tzinfo=UTC),
            outcome=list(EventOutcome)[n % len(EventOutcome)],
            agents=(LinkingAgent(catalog.identifier, tuple(AgentRole)),),
            objects=(LinkingObject(documents.ENTITY, tuple(ObjectRole)),),
        )
        for n, event_type in enumerate(EventType)
    ]
    agents = {catalog.identifier.value: catalog}
    agents.update(
        {
            f"t{n}": Agent(Identifier("local", f"t{n}"), "t", agent_type)
            for n, agent_type in enumerate(AgentType)
        }
    )
    events.append(
        Event(
            identifier=Identifier("local", "all-agent-types"),
            type=EventType.CREATION,
            date_time=datetime(2026, 1, 1, tzinfo=UTC),
            agents=tuple(LinkingAgent(Identifier("local", f"t{n}")) for n in range(len(AgentType))),
        )
    )
    for fmt in FORMATS:
        expected = serialize(to_graph([entity], events, agents), fmt)  # type: ignore[arg-type]
        assert _streamed([entity], events, agents, fmt, budget=1) == expected


@pytest.mark.parametrize(
    "base", ["http://www.loc.gov/premis/", "http://purl.org/dc/terms/x/", "urn:bücher:"]
)
def test_a_base_uri_near_a_prefix_takes_rdflibs_road(base: str) -> None:
    assert not streamable(base)
    full = documents.full()
    objects, events = list(full.objects), list(full.events)
    for fmt in FORMATS:
        out = io.BytesIO()
        write_rdf(out, objects, events, full.agents, fmt, base_uri=base)
        expected = serialize(to_graph(objects, events, full.agents, base_uri=base), fmt)  # type: ignore[arg-type]
        assert out.getvalue() == expected


def test_the_streamed_writer_checks_what_the_graph_checks() -> None:
    full = documents.full()
    out = io.BytesIO()
    with pytest.raises(PremisModelError, match="at least one object"):
        write_rdf(out, [], full.events, full.agents, "turtle")
    with pytest.raises(PremisModelError, match="local:preservation_catalog has no agent record"):
        write_rdf(out, full.objects, full.events, {}, "json-ld")
    with pytest.raises(PremisModelError, match="must end with '/' or ':'"):
        write_rdf(out, full.objects, full.events, full.agents, "turtle", base_uri="urn:x")
    with pytest.raises(ValueError, match="unknown RDF format"):
        write_rdf(out, full.objects, full.events, full.agents, "n3")
    assert out.getvalue() == b""


def test_the_streamed_writer_does_not_load_rdflib() -> None:
    code = (
        "import io, sys\n"
        "from premis.rdf_stream import write_rdf\n"
        "from tests.premis import documents\n"
        "full = documents.full()\n"
        "for fmt in ('turtle', 'json-ld'):\n"
        "    write_rdf(io.BytesIO(), full.objects, full.events, full.agents, fmt)\n"
        "assert 'rdflib' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_two_sizes_of_one_identifier_are_ordered_as_rdflib_orders_them() -> None:
    # Hypothesis found it: rdflib orders integer literals by value ("2" before "10").
    from premis import Identifier, ObjectCategory, PremisObject
    from premis.rdf import serialize, to_graph
    from premis.rdf_stream import write_rdf

    same = Identifier("local", "x#y")
    objects = [
        PremisObject(same, ObjectCategory.BITSTREAM, format_name="0", size=size) for size in (2, 10)
    ]
    for fmt in ("turtle", "json-ld"):
        out = io.BytesIO()
        write_rdf(out, objects, [], {}, fmt)
        assert out.getvalue() == serialize(to_graph(objects, [], {}), fmt)
