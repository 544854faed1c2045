"""Small PREMIS documents the premis tests share (fixed ids and times: output is comparable)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from premis import (
    Agent,
    AgentRole,
    AgentSource,
    AgentType,
    Event,
    EventOutcome,
    EventType,
    Extension,
    Fixity,
    HashFunction,
    Identifier,
    LinkingAgent,
    LinkingObject,
    ObjectCategory,
    ObjectRole,
    PremisObject,
    Relationship,
    RelationshipSubType,
    Storage,
)

PACIFIC = timezone(timedelta(hours=-8))
NASTY_DETAIL = "checksums for <a&b> \"quoted\" 'single' \x01 and byte \udce9 do not match"
"""Markup characters, a control character and a surrogate-escaped byte (0xE9)."""


@dataclass(frozen=True)
class Document:
    objects: tuple[PremisObject, ...]
    events: tuple[Event, ...]
    agents: AgentSource


ENTITY = Identifier("druid", "bc123df4567")
VERSION_1 = Identifier("local", "bc123df4567/v1")
VERSION_2 = Identifier("local", "bc123df4567/v2")
PDF = Identifier("local", "bc123df4567/v2/content/thesis.pdf")
ZIP_PART = Identifier("local", "bc123df4567.v0002.zip")

CATALOG = Agent(
    Identifier("local", "preservation_catalog"),
    "Preservation Catalog",
    AgentType.SOFTWARE,
    version="4.2.0",
    notes=("audits every Moab on a schedule",),
)
LIBRARY = Agent(Identifier("local", "sul"), "Stanford University Libraries", AgentType.ORGANIZATION)
CURATOR = Agent(Identifier("local", "jdoe"), "Jane Doe", AgentType.PERSON)
SERVER = Agent(
    Identifier("local", "sdr-storage-01"),
    "sdr-storage-01",
    AgentType.HARDWARE,
    notes=("primary storage root", "fixture_sr3"),
)


SDR = "urn:example:sdr"
"""The namespace of the extensions in `full` (one prefix, `sdr`)."""


def _sdr(*pairs: tuple[str, str]) -> tuple[Extension, ...]:
    return (Extension.of(SDR, "sdr", pairs),)


def _event_id(n: int) -> Identifier:
    return Identifier("UUID", f"00000000-0000-5000-8000-{n:012d}")


def full() -> Document:
    """An intellectual entity with two representations and a file; events of several types and
    outcomes with agent and object roles; one agent of each type."""
    objects = (
        PremisObject(
            ENTITY,
            ObjectCategory.INTELLECTUAL_ENTITY,
            original_name="Eric Smith dissertation",
            relationships=(
                Relationship(RelationshipSubType.IS_REPRESENTED_BY, VERSION_1),
                Relationship(RelationshipSubType.IS_REPRESENTED_BY, VERSION_2),
            ),
        ),
        PremisObject(
            VERSION_1,
            ObjectCategory.REPRESENTATION,
            relationships=(Relationship(RelationshipSubType.REPRESENTS, ENTITY),),
        ),
        PremisObject(
            VERSION_2,
            ObjectCategory.REPRESENTATION,
            relationships=(
                Relationship(RelationshipSubType.REPRESENTS, ENTITY),
                Relationship(RelationshipSubType.HAS_PART, PDF),
            ),
            storage=(
                Storage("storage root", "fixture_sr3"),
                Storage("endpoint", "aws_s3_west_2", medium="cloud storage"),
            ),
        ),
        PremisObject(
            PDF,
            ObjectCategory.FILE,
            original_name="thesis.pdf",
            format_name="application/pdf",
            relationships=(Relationship(RelationshipSubType.IS_PART_OF, VERSION_2),),
            storage=(
                Storage(
                    "file path",
                    "/services-disk02/sdr2objects/bc/123/df/4567/bc123df4567/v0002/data/content/"
                    "thesis.pdf",
                ),
            ),
            fixity=(
                Fixity(HashFunction.MD5, "8c5b1f2d3e4a5b6c7d8e9f0a1b2c3d4e"),
                Fixity(
                    HashFunction.SHA256,
                    "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                ),
            ),
            size=1048576,
        ),
    )
    events = (
        Event(
            identifier=_event_id(1),
            type=EventType.INGESTION_START,
            date_time=datetime(2026, 2, 27, 9, 30, tzinfo=PACIFIC),
            outcome=EventOutcome.SUCCESS,
            outcome_extensions=_sdr(("status", "completed")),  # an extension without a note
            agents=(
                LinkingAgent(CATALOG.identifier, (AgentRole.EXECUTING_PROGRAM,)),
                LinkingAgent(CURATOR.identifier, (AgentRole.AUTHORIZER,)),
            ),
            objects=(LinkingObject(VERSION_2, (ObjectRole.OUTCOME,)),),
        ),
        Event(
            identifier=_event_id(2),
            type=EventType.FIXITY_CHECK,
            date_time=datetime(2026, 3, 1, 22, 14, 5, 123456, tzinfo=UTC),
            detail=NASTY_DETAIL,
            outcome=EventOutcome.FAIL,
            outcome_notes=("MOAB_FILE_CHECKSUM_MISMATCH", "1 of 12 files"),
            # With the first note; the second value has what text escapes.
            outcome_extensions=_sdr(
                ("result_code", "MOAB_FILE_CHECKSUM_MISMATCH"), ("file_path", "a<&>\x01b.pdf")
            ),
            agents=(
                LinkingAgent(CATALOG.identifier, (AgentRole.EXECUTING_PROGRAM,)),
                LinkingAgent(SERVER.identifier),
            ),
            objects=(
                LinkingObject(ENTITY, (ObjectRole.SOURCE,)),
                LinkingObject(PDF, (ObjectRole.SOURCE,)),
            ),
        ),
        Event(
            identifier=_event_id(3),
            type=EventType.REPLICATION,
            date_time=datetime(2026, 3, 2, 4, 0, tzinfo=UTC),
            started_at=datetime(2026, 3, 2, 3, 52, 30, tzinfo=UTC),  # RDF only: XML has one time
            outcome=EventOutcome.WARNING,
            detail_extensions=_sdr(("endpoint", "aws_s3_west_2")),  # no eventDetail
            outcome_notes=("ZIP_PARTS_NOT_ALL_REPLICATED",),
            agents=(
                LinkingAgent(LIBRARY.identifier, (AgentRole.IMPLEMENTER,)),
                LinkingAgent(CATALOG.identifier, (AgentRole.EXECUTING_PROGRAM,)),
            ),
            objects=(
                LinkingObject(VERSION_2, (ObjectRole.SOURCE,)),
                LinkingObject(ZIP_PART, (ObjectRole.OUTCOME,)),
            ),
        ),
        Event(
            identifier=_event_id(4),
            type=EventType.VALIDATION,
            date_time=datetime(2026, 3, 3, 12, 0, 0, 1, tzinfo=UTC),
            detail='program="Preservation Catalog"; version="4.2.0"',
            detail_extensions=(
                *_sdr(("check", "check_catalog_version"), ("host", "sdr-storage-01")),
                Extension.of("https://example.org/other#", "other", [("error", "one")]),
            ),
            agents=(
                LinkingAgent(
                    CATALOG.identifier, (AgentRole.VALIDATOR, AgentRole.EXECUTING_PROGRAM)
                ),
            ),
            objects=(LinkingObject(ENTITY),),
        ),
    )
    agents = {agent.identifier.value: agent for agent in (CATALOG, LIBRARY, CURATOR, SERVER)}
    return Document(objects, events, agents)


def minimal() -> Document:
    """One object and nothing else: the smallest valid document."""
    return Document((PremisObject(ENTITY, ObjectCategory.INTELLECTUAL_ENTITY),), (), {})


def notes_only() -> Document:
    """An outcome with notes but no outcome term, a bitstream, agents from a function."""
    bitstream = Identifier("local", "bc123df4567/v1/content/image.jp2#xmp")
    event = Event(
        identifier=Identifier("sdr-event", "registration-1"),
        type=EventType.CREATION,
        date_time=datetime(
            2025, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=5, minutes=30))
        ),
        outcome_notes=("registered by Argo",),
        agents=(LinkingAgent(CURATOR.identifier, (AgentRole.IMPLEMENTER,)),),
        objects=(LinkingObject(bitstream, (ObjectRole.OUTCOME,)),),
    )
    lookup: Callable[[Identifier], Agent | None] = {CURATOR.identifier: CURATOR}.get
    objects = (PremisObject(bitstream, ObjectCategory.BITSTREAM, format_name="application/xml"),)
    return Document(objects, (event,), lookup)


ALL = {"full": full, "minimal": minimal, "notes_only": notes_only}
