"""The PREMIS mapping: one object's stored events -> a PREMIS 3 document (XML, Turtle, JSON-LD).

Owns the choices the `premis` library leaves to its caller: identifier types, which domain
events are PREMIS events, the organisation agent. Which objects a document describes, and
each event's links to them with their roles, are `provenance.query.premis_objects`'s: the stream
is read twice, the objects first. Agents are named by the agent registry
(`provenance.domain.agent_registry`); an event's detail and outcome come from
`provenance.query.premis_outcomes`. One PREMIS event per action (`provenance.domain.actions`):
the notifications that repeat an action enrich its event (`EventMapper.action_to_premis`).
Events are read from the store page by page and written as they come, so an object with
100,000 events never sits in memory as a whole (XML; RDF graphs are built in memory).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    PremisObject,
)
from premis.rdf_triples import DEFAULT_BASE_URI
from provenance.domain.actions import facts_of, quoted_messages
from provenance.domain.agent_registry import DEFAULT_REGISTRY, AgentRegistry, ResolvedAgent
from provenance.domain.druid import parse_druid
from provenance.domain.errors import NotFoundError, ProvenanceError
from provenance.domain.events import EVENT_ADAPTER, AnyEvent, StepRecorded, load_payload
from provenance.files.output_file import STDOUT, open_output
from provenance.projections.object_actions import Report, object_actions
from provenance.query.premis_objects import ID_DRUID, PremisObjects
from provenance.query.premis_outcomes import describe, outcome_notes, repeated_by

Format = Literal["xml", "turtle", "json-ld"]
PAGE = 1_000
_LONGEST_STEP_S = 366 * 24 * 3600.0
DEFAULT_ORGANIZATION = "Stanford Digital Repository"
ID_EVENT = "UUID"
ID_AGENT = "local"
_AGENT_TYPES = {
    "software": AgentType.SOFTWARE,
    "organization": AgentType.ORGANIZATION,
    "person": AgentType.PERSON,
    "hardware": AgentType.HARDWARE,
}


@dataclass(frozen=True, slots=True)
class ExportOptions:
    # The CLI reads $PROV_ORGANIZATION, $PROV_PREMIS_BASE_URI and $PROV_AGENTS (click's
    # envvar); the library takes no hidden input.
    organization: str = DEFAULT_ORGANIZATION
    # Where Turtle and JSON-LD mint the URIs of resources not named by a UUID (the XML names
    # everything by its identifier and has no use for it); checked by the `premis` library.
    base_uri: str = DEFAULT_BASE_URI
    agents: AgentRegistry = DEFAULT_REGISTRY


@dataclass(frozen=True, slots=True)
class ExportResult:
    events: int
    path: Path | None


def scan_objects(store: EventStore, stream: str) -> PremisObjects:
    """The first pass over one object's stored events, page by page: what its document's
    objects and its events' links need (`premis_objects`), not the events."""
    objects = PremisObjects(stream)
    after: str | None = None
    while True:
        records = store.read_stream(stream, after=after, limit=PAGE)
        for record in records:
            # The plain payload: the events are validated once, when they are mapped.
            objects.scan_payload(load_payload(record.payload))
        if len(records) < PAGE:
            return objects
        after = records[-1].cursor


def objects_for(store: EventStore, stream: str) -> list[PremisObject]:
    """The objects one object's document describes."""
    return scan_objects(store, stream).objects()


class EventMapper:
    """Turns domain events into PREMIS events, collecting the agent records they link to."""

    def __init__(
        self, druid: str, options: ExportOptions, objects: PremisObjects | None = None
    ) -> None:
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
        # The scanned objects when given (a robot step's version is known only after the scan).
        self.objects = objects if objects is not None else PremisObjects(druid)
        self._agent_links: dict[str, LinkingAgent] = {}

    def registered_agent(self, event: AnyEvent) -> ResolvedAgent:
        """The registry's agent of `event.agent`: one per system (and version)."""
        ref = event.agent
        return self.registry.resolve(ref.name, ref.kind, ref.version or None)

    def agent_link(self, event: AnyEvent) -> LinkingAgent:
        """The executing-program link of `event`'s agent, its agent record kept for the
        document."""
        return self._agent_link(self.registered_agent(event))

    def _agent_link(self, agent: ResolvedAgent) -> LinkingAgent:
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

    def to_premis(self, event: AnyEvent) -> Event | None:
        """The PREMIS event for a domain event, or None when it is not a PREMIS event."""
        if event.premis_type is None:
            return None
        agent = self.registered_agent(event)
        described = describe(event, agent)
        return Event(
            identifier=Identifier(ID_EVENT, event.event_id),
            type=EventType.from_code(event.premis_type),
            date_time=event.occurred_at,
            started_at=started_at(event),
            detail=described.detail,
            detail_extensions=described.detail_extensions,
            outcome=described.outcome,
            outcome_notes=described.outcome_notes,
            outcome_extensions=described.outcome_extensions,
            agents=(self._agent_link(agent), self._organization_link),
            objects=self.objects.links(event),
        )

    def action_to_premis(self, event: AnyEvent, notices: Sequence[AnyEvent]) -> Event | None:
        """The PREMIS event of one action: its report's, enriched by the notifications that
        repeat it (`provenance.domain.actions`). Each adds its agent (when another), the
        objects it names, its human text (when new) and a detail extension naming it
        (`premis_outcomes.repeated_by`); none adds an event."""
        premis_event = self.to_premis(event)
        if premis_event is None or not notices:
            return premis_event
        agents = list(premis_event.agents)
        objects = list(premis_event.objects)
        notes = list(premis_event.outcome_notes)
        extensions = list(premis_event.detail_extensions)
        message = facts_of(event).message
        for notice in notices:
            link = self.agent_link(notice)
            if all(link.identifier != known.identifier for known in agents):
                agents.append(link)
            for linked in self.objects.links(notice):
                if all(linked.identifier != known.identifier for known in objects):
                    objects.append(linked)
            # A notification that says only the report's own message tells nothing new; one
            # that carries more (other results of its run, which may have no log line here)
            # keeps its text, so nothing it says is lost.
            if quoted_messages(facts_of(notice)) != {message}:
                notes += (note for note in outcome_notes(notice) if note not in notes)
            extensions.append(repeated_by(notice))
        return dataclasses.replace(
            premis_event,
            agents=tuple(agents),
            objects=tuple(objects),
            outcome_notes=tuple(notes),
            detail_extensions=tuple(extensions),
        )


def started_at(event: AnyEvent) -> datetime | None:
    """When the action began, where its report says: a robot step's `Finished ... in Ns` line
    is logged when the step is done (`occurred_at`) and says how long it took."""
    if not isinstance(event, StepRecorded) or event.duration_s is None:
        return None
    # A duration that is no time span (negative, NaN, past datetime's range) states no start.
    if not 0 <= event.duration_s < _LONGEST_STEP_S:
        return None
    return event.occurred_at - timedelta(seconds=event.duration_s)


def premis_events(store: EventStore, mapper: EventMapper, stream: str) -> Iterator[Event]:
    """One object's PREMIS events, one per action, in time order, read page by page and
    mapped as they come."""
    for action in object_actions(store, stream, page=PAGE):
        converted = mapper.action_to_premis(
            _typed(action.report), [_typed(notice) for notice in action.notices]
        )
        if converted is not None:
            yield converted


def _typed(report: Report) -> AnyEvent:
    return EVENT_ADAPTER.validate_python(report.event)


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
    # Two passes over the stream, never all events at once: the objects first (the XSD puts
    # them before the events), then the events as they are written.
    scanned = scan_objects(store, stream)
    objects = scanned.objects()
    mapper = EventMapper(stream, options or ExportOptions(), scanned)
    events = _Counted(premis_events(store, mapper, stream))

    name = STDOUT if target is None else target
    with open_output(name, check=premis.validate if validate else None, stdout=stdout) as out:
        if mets:
            premis.write_mets(out, objects, events, mapper.agents, label=stream)
        elif fmt == "xml":
            premis.write_document(out, objects, events, mapper.agents)
        else:
            # Streamed: the bytes of serialize(to_graph(...)) without the whole graph in memory.
            base_uri = (options or ExportOptions()).base_uri
            premis.write_rdf(out, objects, events, mapper.agents, fmt, base_uri=base_uri)
    written = None if name == STDOUT else Path(name)
    return ExportResult(events.count, written)
