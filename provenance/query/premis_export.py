"""The PREMIS mapping: one object's stored events -> a PREMIS 3 document (XML, Turtle, JSON-LD).

Owns the choices the `premis` library leaves to its caller: identifier types, which domain
events are PREMIS events, how linked objects are named, the organisation agent. Agents are
named by the agent registry (`provenance.domain.agent_registry`); an event's detail and outcome
come from `provenance.query.premis_outcomes`.
Events are read from the store page by page and written as they come, so an object with
100,000 events never sits in memory as a whole (XML; RDF graphs are built in memory).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import premis
from eventstore import EventStore
from premis import (
    Agent,
    AgentRole,
    AgentType,
    Event,
    EventType,
    Identifier,
    LinkingAgent,
    LinkingObject,
    ObjectCategory,
    ObjectRole,
    PremisObject,
    Relationship,
    RelationshipSubType,
)
from provenance.domain.agent_registry import DEFAULT_REGISTRY, AgentRegistry, ResolvedAgent
from provenance.domain.druid import parse_druid
from provenance.domain.errors import NotFoundError, ProvenanceError
from provenance.domain.events import AnyEvent, load_event
from provenance.files.output_file import STDOUT, open_output
from provenance.projections import object_state
from provenance.query.premis_outcomes import describe

Format = Literal["xml", "turtle", "json-ld"]
PAGE = 1_000
_MAX_CACHED_LINKS = 10_000
DEFAULT_ORGANIZATION = "Stanford Digital Repository"
ID_DRUID = "druid"
ID_VERSION = "druid version"
ID_EVENT = "UUID"
ID_AGENT = "local"
_AGENT_TYPES = {
    "software": AgentType.SOFTWARE,
    "organization": AgentType.ORGANIZATION,
    "person": AgentType.PERSON,
    "hardware": AgentType.HARDWARE,
}
_LINK_ROLES = {"source": (ObjectRole.SOURCE,), "outcome": (ObjectRole.OUTCOME,), None: ()}


@dataclass(frozen=True, slots=True)
class ExportOptions:
    # The CLI reads $PROV_ORGANIZATION and $PROV_AGENTS (click's envvar); the library takes no
    # hidden input.
    organization: str = DEFAULT_ORGANIZATION
    agents: AgentRegistry = DEFAULT_REGISTRY


@dataclass(frozen=True, slots=True)
class ExportResult:
    events: int
    path: Path | None


def version_identifier(druid: str, version: int) -> Identifier:
    return Identifier(ID_VERSION, f"{druid}/v{version:04d}")


def objects_for(druid: str, versions: list[int]) -> list[PremisObject]:
    """The intellectual entity (the druid) and one representation per known version."""
    entity = Identifier(ID_DRUID, druid)
    reps = [version_identifier(druid, version) for version in versions]
    objects = [
        PremisObject(
            identifier=entity,
            category=ObjectCategory.INTELLECTUAL_ENTITY,
            relationships=tuple(
                Relationship(RelationshipSubType.IS_REPRESENTED_BY, rep) for rep in reps
            ),
        )
    ]
    objects += [
        PremisObject(
            identifier=rep,
            category=ObjectCategory.REPRESENTATION,
            relationships=(Relationship(RelationshipSubType.REPRESENTS, entity),),
        )
        for rep in reps
    ]
    return objects


class EventMapper:
    """Turns domain events into PREMIS events, collecting the agent records they link to."""

    def __init__(self, druid: str, options: ExportOptions) -> None:
        self.druid = druid
        self.registry = options.agents
        self.entity = Identifier(ID_DRUID, druid)
        self.organization = Agent(
            identifier=Identifier(ID_AGENT, f"organization/{options.organization}"),
            name=options.organization,
            type=AgentType.ORGANIZATION,
        )
        self.agents: dict[str, Agent] = {self.organization.identifier.value: self.organization}
        self._organization_link = LinkingAgent(
            self.organization.identifier, (AgentRole.IMPLEMENTER,)
        )
        self._entity_link = LinkingObject(self.entity, (ObjectRole.SOURCE,))
        self._agent_links: dict[str, LinkingAgent] = {}
        self._object_links: dict[tuple[Identifier, tuple[ObjectRole, ...]], LinkingObject] = {}

    def registered_agent(self, event: AnyEvent) -> ResolvedAgent:
        """The registry's agent of `event.agent`: one per system (and version)."""
        ref = event.agent
        return self.registry.resolve(ref.name, ref.kind, ref.version or None)

    def agent_link(self, event: AnyEvent) -> LinkingAgent:
        """The executing-program link of `event`'s agent, its agent record kept for the
        document."""
        agent = self.registered_agent(event)
        value = agent.identifier
        link = self._agent_links.get(value)
        if link is None:
            self.agents[value] = Agent(
                identifier=Identifier(ID_AGENT, value),
                name=agent.name,
                type=_AGENT_TYPES[agent.kind],
                version=agent.version,
            )
            link = LinkingAgent(Identifier(ID_AGENT, value), (AgentRole.EXECUTING_PROGRAM,))
            self._agent_links[value] = link
        return link

    def _object_link(self, identifier: Identifier, roles: tuple[ObjectRole, ...]) -> LinkingObject:
        # Links are immutable and repeat across an object's events: build (and validate) once.
        key = (identifier, roles)
        link = self._object_links.get(key)
        if link is None:
            if len(self._object_links) > _MAX_CACHED_LINKS:
                self._object_links.clear()
            link = self._object_links[key] = LinkingObject(identifier, roles)
        return link

    def to_premis(self, event: AnyEvent) -> Event | None:
        """The PREMIS event for a domain event, or None when it is not a PREMIS event."""
        if event.premis_type is None:
            return None
        objects = [self._entity_link]
        if event.version is not None:
            objects.append(
                self._object_link(
                    version_identifier(self.druid, event.version), (ObjectRole.SOURCE,)
                )
            )
        seen = {link.identifier for link in objects}
        for linked in event.linked_objects:
            identifier = Identifier(linked.kind.replace("_", " "), linked.identifier)
            if identifier not in seen:
                seen.add(identifier)
                objects.append(self._object_link(identifier, _LINK_ROLES[linked.role]))
        described = describe(event, self.registered_agent(event))
        return Event(
            identifier=Identifier(ID_EVENT, event.event_id),
            type=EventType.from_code(event.premis_type),
            date_time=event.occurred_at,
            detail=described.detail,
            detail_extensions=described.detail_extensions,
            outcome=described.outcome,
            outcome_notes=described.outcome_notes,
            outcome_extensions=described.outcome_extensions,
            agents=(self.agent_link(event), self._organization_link),
            objects=tuple(objects),
        )


def premis_events(store: EventStore, mapper: EventMapper, stream: str) -> Iterator[Event]:
    """One object's PREMIS events in time order, read page by page and mapped as they come."""
    after: str | None = None
    while True:
        records = store.read_stream(stream, after=after, limit=PAGE)
        for record in records:
            converted = mapper.to_premis(load_event(record.payload))
            if converted is not None:
                yield converted
        if len(records) < PAGE:
            return
        after = records[-1].cursor


class _Counted:
    """Counts what passes through an iterator (the writer consumes it lazily)."""

    def __init__(self, events: Iterator[Event]) -> None:
        self.events = events
        self.count = 0

    def __iter__(self) -> Iterator[Event]:
        for event in self.events:
            self.count += 1
            yield event


def export_object(
    store: EventStore,
    druid: str,
    *,
    fmt: Format | str = "xml",
    target: str | Path | None = None,
    validate: bool = False,
    options: ExportOptions | None = None,
    stdout: BinaryIO | None = None,
    mets: bool = False,
) -> ExportResult:
    """Write one object's PREMIS document to `target` (None or `-`: standard output) by the
    rules of `provenance.files.output_file`; with `validate`, nothing is written unless the XML is
    valid. With `mets`, the PREMIS XML goes in a METS document (`premis.mets`), labelled with
    the druid."""
    stream = parse_druid(druid).value
    if validate and fmt != "xml":
        raise ProvenanceError("--validate checks the XML against the PREMIS XSD: use --format xml")
    if mets and fmt != "xml":
        raise ProvenanceError("--mets wraps the PREMIS XML: use --format xml")
    if mets and validate:
        # The METS schema is not at hand offline (it imports xlink.xsd from the web).
        raise ProvenanceError("--validate checks PREMIS XML, not METS: leave out --mets")
    if not store.read_stream(stream, limit=1):
        raise NotFoundError(f"no events for {stream} in this store")
    object_state.catch_up(store)
    state = object_state.get_state(store, stream) or {"versions": []}
    mapper = EventMapper(stream, options or ExportOptions())
    objects = objects_for(stream, state["versions"])
    events = _Counted(premis_events(store, mapper, stream))

    name = STDOUT if target is None else target
    with open_output(name, check=premis.validate if validate else None, stdout=stdout) as out:
        if mets:
            premis.write_mets(out, objects, events, mapper.agents, label=stream)
        elif fmt == "xml":
            premis.write_document(out, objects, events, mapper.agents)
        else:
            # Streamed: the bytes of serialize(to_graph(...)) without the whole graph in memory.
            premis.write_rdf(out, objects, events, mapper.agents, fmt)
    written = None if name == STDOUT else Path(name)
    return ExportResult(events.count, written)
