"""The PREMIS 3 model: identifiers, objects, events, agents and the links between them.

Frozen, slotted dataclasses that check themselves at construction (raising `PremisModelError`),
so a value that exists is one the serializers can write as a valid document. Sequences are
stored as tuples (a list passed in is converted). Text is kept as given: characters XML cannot
carry are escaped by the serializers, not here.

Also owns the two rules both serializers share: how a date-time is written
(`format_date_time`) and how agent links are resolved to agent records (`ReferencedAgents`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeAlias

from premis.errors import PremisModelError
from premis.vocabulary import (
    AgentRole,
    AgentType,
    EventOutcome,
    EventType,
    HashFunction,
    ObjectRole,
)


def _require_text(value: object, what: str) -> None:
    if not isinstance(value, str):
        raise PremisModelError(f"{what} must be a str, not {type(value).__name__}")
    # Whitespace-only text is as useless to a reader as empty text (empty event identifiers
    # are the first complaint about other exporters).
    if not value.strip():
        raise PremisModelError(f"{what} must not be empty")


def _require_optional_text(value: object, what: str) -> None:
    if value is not None:
        _require_text(value, f"{what} (when given)")


def _require_instance(value: object, kind: type[Any], what: str) -> None:
    if not isinstance(value, kind):
        raise PremisModelError(f"{what} must be a {kind.__name__}, not {value!r}")


def _freeze_tuple(owner: object, field: str, kind: type[Any], what: str) -> tuple[Any, ...]:
    """Store `owner.field` as a tuple whose items are all `kind`; return it."""
    raw = getattr(owner, field)
    if isinstance(raw, str | bytes) or not hasattr(raw, "__iter__"):
        raise PremisModelError(f"{what} must be a tuple of {kind.__name__}, not {raw!r}")
    items = tuple(raw)
    for item in items:
        if kind is str:
            _require_text(item, f"each of {what}")
        else:
            _require_instance(item, kind, f"each of {what}")
    # The dataclass is frozen; this runs once, in __post_init__, before anyone sees the value.
    object.__setattr__(owner, field, items)
    return items


def _require_unique(items: tuple[Any, ...], what: str) -> None:
    if len(set(items)) != len(items):
        raise PremisModelError(f"{what} must not repeat a value: {items!r}")


def _require_moment(value: object, what: str) -> None:
    """A timezone-aware datetime with a whole-minute UTC offset."""
    if not isinstance(value, datetime):
        raise PremisModelError(f"{what} must be a datetime, not {value!r}")
    offset = value.utcoffset()
    if offset is None:
        raise PremisModelError(
            f"{what} {value.isoformat()} is naive; give it a timezone (e.g. datetime.now(UTC))"
        )
    if offset % timedelta(minutes=1):
        raise PremisModelError(f"{what}: UTC offset {offset} is not a whole minute")


def format_date_time(value: datetime) -> str:
    """The one way this library writes a date-time: ISO 8601 with the value's own UTC offset.

    `datetime.isoformat()`: microseconds only when non-zero, the offset as `+HH:MM` (UTC is
    `+00:00`), e.g. `2026-03-01T22:14:05.123456+00:00` or `2026-03-01T22:14:05-08:00`.
    Both XML (`eventDateTime`) and RDF (`prov:endedAtTime`, `prov:startedAtTime`) use it, so
    the two agree.
    """
    return value.isoformat()


@dataclass(frozen=True, slots=True)
class Identifier:
    """An identifier: a type (the scheme, e.g. `UUID`, `druid`, `local`) and a value.

    Both must be non-blank. The pair is what links compare: two identifiers are the same only
    when type and value both match.
    """

    type: str
    value: str

    def __post_init__(self) -> None:
        _require_text(self.type, "identifier type")
        _require_text(self.value, "identifier value")

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


class ObjectCategory(Enum):
    """The four PREMIS object categories; the value is the XSD type name used in `xsi:type`."""

    INTELLECTUAL_ENTITY = "intellectualEntity"
    REPRESENTATION = "representation"
    FILE = "file"
    BITSTREAM = "bitstream"


class RelationshipSubType(Enum):
    """Structural relationship sub-types (PREMIS relationshipSubType labels).

    The value is the label written in `relationshipSubType`; every one of them belongs to the
    relationshipType "structural".
    """

    IS_PART_OF = "is Part Of"
    HAS_PART = "has Part"
    REPRESENTS = "represents"
    IS_REPRESENTED_BY = "is Represented By"


RELATIONSHIP_TYPE_STRUCTURAL = "structural"
"""The relationshipType of every `Relationship` (the only kind this library writes)."""


@dataclass(frozen=True, slots=True)
class Relationship:
    """A structural relationship from the object that holds it to another object.

    E.g. a representation holds `Relationship(RelationshipSubType.REPRESENTS, entity_id)` and
    the intellectual entity `Relationship(RelationshipSubType.IS_REPRESENTED_BY, rep_id)`.
    """

    sub_type: RelationshipSubType
    related: Identifier

    def __post_init__(self) -> None:
        _require_instance(self.sub_type, RelationshipSubType, "relationship sub_type")
        _require_instance(self.related, Identifier, "relationship related")

    @property
    def type(self) -> str:
        """The relationshipType: always "structural"."""
        return RELATIONSHIP_TYPE_STRUCTURAL


@dataclass(frozen=True, slots=True)
class Storage:
    """Where an object is kept (PREMIS `storage`): a content location and, if known, the
    medium.

    `location_type` says how to read `location` (e.g. `file path`, `storage root`, `endpoint
    key`): PREMIS leaves contentLocationType to the repository. The XSD also allows a storage
    with a medium and no location; this model always names the location, as a storage an
    auditor cannot find is no help.
    """

    location_type: str
    location: str
    medium: str | None = None

    def __post_init__(self) -> None:
        _require_text(self.location_type, "storage location_type")
        _require_text(self.location, "storage location")
        _require_optional_text(self.medium, "storage medium")


@dataclass(frozen=True, slots=True)
class Fixity:
    """A message digest of a file or bitstream, with the LoC hash function that made it."""

    algorithm: HashFunction
    digest: str

    def __post_init__(self) -> None:
        _require_instance(self.algorithm, HashFunction, "fixity algorithm")
        _require_text(self.digest, "fixity digest")


@dataclass(frozen=True, slots=True)
class PremisObject:
    """A PREMIS object of one category.

    `format_name` is required for a file or bitstream (the XSD requires `objectCharacteristics`
    with a `format` there) and refused for the other categories, which have no place for it;
    so are `fixity` (each algorithm and digest once) and `size` (bytes, not negative), the
    other object characteristics. `original_name` is refused for a bitstream (the XSD has no
    `originalName` there), `storage` for an intellectual entity (a concept is not stored: its
    representations and files are).
    """

    identifier: Identifier
    category: ObjectCategory
    original_name: str | None = None
    format_name: str | None = None
    relationships: tuple[Relationship, ...] = ()
    storage: tuple[Storage, ...] = ()
    fixity: tuple[Fixity, ...] = ()
    size: int | None = None

    def __post_init__(self) -> None:
        _require_instance(self.identifier, Identifier, "object identifier")
        _require_instance(self.category, ObjectCategory, "object category")
        _require_optional_text(self.original_name, "object original_name")
        _require_optional_text(self.format_name, "object format_name")
        _freeze_tuple(self, "relationships", Relationship, "object relationships")
        where = f"object {self.identifier}"
        _require_unique(_freeze_tuple(self, "storage", Storage, f"{where}: storage"), "storage")
        _require_unique(_freeze_tuple(self, "fixity", Fixity, f"{where}: fixity"), "fixity")
        if self.size is not None and (
            isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0
        ):
            raise PremisModelError(f"{where}: size must be a number of bytes, not {self.size!r}")
        has_format = self.category in (ObjectCategory.FILE, ObjectCategory.BITSTREAM)
        if has_format and self.format_name is None:
            raise PremisModelError(
                f"{where}: a {self.category.value} needs a format_name "
                "(PREMIS requires a format for files and bitstreams)"
            )
        if not has_format and self.format_name is not None:
            raise PremisModelError(
                f"{where}: a {self.category.value} has no format; describe the format on its files"
            )
        if not has_format and (self.fixity or self.size is not None):
            raise PremisModelError(
                f"{where}: a {self.category.value} has no fixity or size in PREMIS; "
                "describe them on its files"
            )
        if self.category is ObjectCategory.BITSTREAM and self.original_name is not None:
            raise PremisModelError(f"{where}: a bitstream has no original name in PREMIS")
        if self.category is ObjectCategory.INTELLECTUAL_ENTITY and self.storage:
            raise PremisModelError(
                f"{where}: an intellectual entity has no storage in PREMIS; "
                "give it to its representations and files"
            )


@dataclass(frozen=True, slots=True)
class LinkingAgent:
    """An event's link to an agent, with the roles (eventRelatedAgentRole) it played."""

    identifier: Identifier
    roles: tuple[AgentRole, ...] = ()

    def __post_init__(self) -> None:
        _require_instance(self.identifier, Identifier, "linking agent identifier")
        _require_unique(_freeze_tuple(self, "roles", AgentRole, "linking agent roles"), "roles")


@dataclass(frozen=True, slots=True)
class LinkingObject:
    """An event's link to an object, with its roles (eventRelatedObjectRole), if known."""

    identifier: Identifier
    roles: tuple[ObjectRole, ...] = ()

    def __post_init__(self) -> None:
        _require_instance(self.identifier, Identifier, "linking object identifier")
        _require_unique(_freeze_tuple(self, "roles", ObjectRole, "linking object roles"), "roles")


# Extension content: element names are ASCII NCNames, and the namespace an absolute URI with
# nothing an attribute would have to escape (it is written as an `xmlns:` declaration).
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[!#-%'-;=?-\[\]-~]+")
# Prefixes the document declares itself (and `xml*`, reserved by XML): never an extension's.
_RESERVED_PREFIXES = ("premis", "xsi", "mets", "xlink")


@dataclass(frozen=True, slots=True)
class ExtensionField:
    """One element of an extension: a local name in the extension's namespace and its text."""

    name: str
    value: str

    def __post_init__(self) -> None:
        _require_instance(self.name, str, "extension field name")
        if _NCNAME.fullmatch(self.name) is None:
            raise PremisModelError(f"extension field name {self.name!r} is not an XML name")
        _require_text(self.value, f"extension field {self.name}")


@dataclass(frozen=True, slots=True)
class Extension:
    """The content of an `eventDetailExtension` or `eventOutcomeDetailExtension`: flat elements
    in one namespace, in the order given (a name may repeat, e.g. one `error` per error).

    The writers declare `namespace` with `prefix` on the extension element itself, so the
    document's root and its other elements are the same with or without extensions.
    """

    namespace: str
    prefix: str
    fields: tuple[ExtensionField, ...]

    def __post_init__(self) -> None:
        _require_instance(self.namespace, str, "extension namespace")
        if _NAMESPACE.fullmatch(self.namespace) is None:
            raise PremisModelError(f"extension namespace {self.namespace!r} is not a plain URI")
        _require_instance(self.prefix, str, "extension prefix")
        if (
            _NCNAME.fullmatch(self.prefix) is None
            or self.prefix in _RESERVED_PREFIXES
            or self.prefix.casefold().startswith("xml")
        ):
            raise PremisModelError(f"extension prefix {self.prefix!r} is not a free XML prefix")
        if not _freeze_tuple(self, "fields", ExtensionField, "extension fields"):
            raise PremisModelError("an extension needs at least one field")

    @classmethod
    def of(cls, namespace: str, prefix: str, pairs: Iterable[tuple[str, str]]) -> Extension:
        """An extension from (name, value) pairs."""
        return cls(namespace, prefix, tuple(ExtensionField(name, value) for name, value in pairs))


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """A PREMIS event (keyword arguments only: ten fields are too many to pass by position).

    `date_time` is when the event was done (its source reported it finished): XML's single
    `eventDateTime`, RDF's `prov:endedAtTime`. `started_at`, when a source states it, is when
    it began: RDF's `prov:startedAtTime` (XML has one date-time per event, so it shows only the
    finish there); it must not be after `date_time`. Both must be timezone-aware with a
    whole-minute offset (ISO 8601 and xsd:dateTime cannot write seconds in an offset). At least
    one agent link is required: an event nobody did cannot be audited. `detail` and each
    outcome note must be non-blank when given.

    Structured parts: `detail_extensions` go in `eventDetailInformation` after `detail`;
    `outcome_extensions` in the first `eventOutcomeDetail`, with the first outcome note (or on
    their own when there is no note): human text in notes, fields an auditor filters by in
    extensions.
    """

    identifier: Identifier
    type: EventType
    date_time: datetime
    started_at: datetime | None = None
    detail: str | None = None
    detail_extensions: tuple[Extension, ...] = ()
    outcome: EventOutcome | None = None
    outcome_notes: tuple[str, ...] = ()
    outcome_extensions: tuple[Extension, ...] = ()
    agents: tuple[LinkingAgent, ...]
    objects: tuple[LinkingObject, ...] = ()

    def __post_init__(self) -> None:
        # An exporter builds one Event per report (100,000 for one busy object): when every
        # check passes, skip building the messages of the checks below (same rules, no output).
        if _event_is_well_formed(self):
            return
        _require_instance(self.identifier, Identifier, "event identifier")
        where = f"event {self.identifier}"
        _require_instance(self.type, EventType, f"{where}: type")
        _require_moment(self.date_time, f"{where}: date_time")
        if self.started_at is not None:
            _require_moment(self.started_at, f"{where}: started_at")
            if self.started_at > self.date_time:
                raise PremisModelError(
                    f"{where}: started_at {self.started_at.isoformat()} is after date_time "
                    f"{self.date_time.isoformat()} (when it was done)"
                )
        _require_optional_text(self.detail, f"{where}: detail")
        if self.outcome is not None:
            _require_instance(self.outcome, EventOutcome, f"{where}: outcome")
        _freeze_tuple(self, "outcome_notes", str, f"{where}: outcome_notes")
        _freeze_tuple(self, "detail_extensions", Extension, f"{where}: detail_extensions")
        _freeze_tuple(self, "outcome_extensions", Extension, f"{where}: outcome_extensions")
        if not _freeze_tuple(self, "agents", LinkingAgent, f"{where}: agents"):
            raise PremisModelError(f"{where}: needs at least one linking agent")
        _freeze_tuple(self, "objects", LinkingObject, f"{where}: objects")


def _event_is_well_formed(event: Event) -> bool:
    """Whether `event` passes every check of `Event.__post_init__` with each sequence field
    already a tuple (so nothing needs freezing); False leaves the checks to name the fault."""
    started, when = event.started_at, event.date_time
    return (
        isinstance(event.identifier, Identifier)
        and isinstance(event.type, EventType)
        and _is_moment(when)
        and (started is None or (_is_moment(started) and started <= when))
        and (event.detail is None or (isinstance(event.detail, str) and bool(event.detail.strip())))
        and (event.outcome is None or isinstance(event.outcome, EventOutcome))
        and _all_text(event.outcome_notes)
        and _all_of(event.detail_extensions, Extension)
        and _all_of(event.outcome_extensions, Extension)
        and bool(event.agents)
        and _all_of(event.agents, LinkingAgent)
        and _all_of(event.objects, LinkingObject)
    )


def _is_moment(value: object) -> bool:
    if not isinstance(value, datetime):
        return False
    offset = value.utcoffset()
    return offset is not None and not offset % _MINUTE


_MINUTE = timedelta(minutes=1)


def _all_text(items: object) -> bool:
    if type(items) is not tuple:
        return False
    for item in items:  # noqa: SIM110 (see _all_of)
        if not isinstance(item, str) or not item.strip():
            return False
    return True


def _all_of(items: object, kind: type[Any]) -> bool:
    if type(items) is not tuple:
        return False
    # A loop, not all(<generator>), which costs more for the one to three items these hold.
    for item in items:  # noqa: SIM110
        if not isinstance(item, kind):
            return False
    return True


@dataclass(frozen=True, slots=True)
class Agent:
    """A PREMIS agent record: who or what took part in events."""

    identifier: Identifier
    name: str
    type: AgentType
    version: str | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_instance(self.identifier, Identifier, "agent identifier")
        where = f"agent {self.identifier}"
        _require_text(self.name, f"{where}: name")
        _require_instance(self.type, AgentType, f"{where}: type")
        _require_optional_text(self.version, f"{where}: version")
        _freeze_tuple(self, "notes", str, f"{where}: notes")


AgentSource: TypeAlias = Mapping[str, Agent] | Callable[[Identifier], Agent | None]
"""Where agent records come from: a mapping keyed by identifier *value*, or a function from
the linking identifier to the record (None when there is none)."""


class ReferencedAgents:
    """The agent records a stream of events links to: each once, in order of first reference.

    `add_links(event)` resolves every agent link of `event` through the `AgentSource` (each
    distinct identifier is looked up once) and raises `PremisModelError` naming the agent when a
    link resolves to nothing, or to a record with a different identifier: a document must never
    link to an agent it does not describe.
    """

    __slots__ = ("_by_identifier", "_lookup")

    def __init__(self, agents: AgentSource) -> None:
        if isinstance(agents, Mapping):
            mapping = agents
            self._lookup: Callable[[Identifier], Agent | None] = lambda ident: mapping.get(
                ident.value
            )
        elif callable(agents):
            self._lookup = agents
        else:
            raise PremisModelError(
                f"agents must be a mapping of identifier value to Agent or a function, "
                f"not {type(agents).__name__}"
            )
        self._by_identifier: dict[Identifier, Agent] = {}

    def add_links(self, event: Event) -> None:
        for link in event.agents:
            if link.identifier in self._by_identifier:
                continue
            agent = self._lookup(link.identifier)
            if agent is None:
                raise PremisModelError(
                    f"event {event.identifier}: linking agent {link.identifier} has no agent "
                    "record; add it to the agents given to the writer"
                )
            if not isinstance(agent, Agent) or agent.identifier != link.identifier:
                raise PremisModelError(
                    f"event {event.identifier}: linking agent {link.identifier} resolved to "
                    f"{agent!r}, not an Agent with that identifier"
                )
            self._by_identifier[link.identifier] = agent

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._by_identifier.values())

    def __len__(self) -> int:
        return len(self._by_identifier)
