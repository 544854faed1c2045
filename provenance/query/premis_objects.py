"""Which PREMIS objects one object's document describes, and every event's links to them.

SDR modelled as a preservation system models it:

- the druid is the `intellectualEntity` (identifier type `druid`, `druid:bc123df4567`);
- each Moab version is a `representation` (`druid version`, `druid:bc123df4567/v0001`) that
  `represents` the druid, with a `storage` for each storage root that holds it (type `storage
  root`, the catalog's name for the root, from the audit events' `storage_root`; a root named
  without a version holds every version, as a Moab keeps all its versions on one root), its
  version directory when a logged path shows it (`file path`), and each cloud endpoint a
  `ReplicationCompleted` put a copy on (`endpoint`);
- each file an event names (FixityChecked.file_path, linked `file` and `manifest` objects) is a
  `file` (`druid file`, the druid, version and path relative to the Moab version:
  `druid:bc123df4567/v0001/data/content/a.pdf`) stored at its absolute path (`file path`),
  part of its version; a path that is not under a Moab version directory keeps its own text
  (`file path`);
- each zip part copy is a `file` per endpoint (`zip part copy`, `endpoint:key`, as the same S3
  key is on three endpoints): stored at `endpoint key`, format `ZIP`, with the MD5 and size the
  `ReplicationCompleted` parts state, part of its version; a zip part named without an
  endpoint (the catalog's local zip) is `zip part` with its key;
- a deposit bag a robot names is a `representation` (`deposit bag`, its path) of the druid.

Storage roots and endpoints are places, never linked objects. A Moab file's format is in the
Moab's technical metadata, which no log carries: its formatName is `unknown`, as PREMIS asks for
a format and guessing one from a file name would state what nobody checked; Moab manifests
(`manifests/*.xml`) are XML by the Moab design, and zip parts are ZIP by construction. Fixity
and size are given only where a log states them (today: replicated zip parts).

Roles (LoC eventRelatedObjectRole: the created or changed thing is `out`, the thing acted on
`sou`). "The version" is the version the event states, else the druid; a robot step's log
never states one, so a step's version is the one the last `version_close` or
`accession_request` before it named (the workflows accession and ingest the version just
closed), else the druid:

| event (PREMIS type)                                   | linked objects (role)                  |
|-------------------------------------------------------|----------------------------------------|
| registration (cre)                                    | the druid (out)                        |
| metadata update (mem), embargo released (poa)         | the druid (out)                        |
| deletion (del)                                        | the druid (sou)                        |
| update-moab (ing), complete-ingest (ine)              | the version (out)                      |
| start-ingest (ins), transfer-object (tra)             | the version (sou)                      |
| fixity check (fix), validation (val)                  | the version and each named file, zip   |
|                                                       | part copy and deposit bag (sou)        |
| replication (rep)                                     | the version (sou), each zip part copy  |
|                                                       | (out)                                  |
| dissemination (dis), metadata extraction (mee), other | the version and named objects (sou)    |

start-ingest and transfer-object act on the version as deposited and create nothing in
preservation storage (update-moab writes the Moab version, complete-ingest records it): their
version is the source, not the outcome.

`PremisObjects` is used in two passes over the events of one object, in stream (time) order:
`scan(event)` for each stored event (any type), then `objects()`; then `links(event)` for each
event gives its links, using only identifiers `scan` registered for it, so every link resolves
in the same document. Only a step's version needs the scan; every other link is a function of
the event alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from premis import (
    Fixity,
    HashFunction,
    Identifier,
    LinkingObject,
    ObjectCategory,
    ObjectRole,
    PremisObject,
    Relationship,
    RelationshipSubType,
    Storage,
)
from provenance.domain.events import (
    EVENT_ADAPTER,
    EVENT_TYPES,
    AnyEvent,
    AuditResult,
    DomainEvent,
    ReplicationCompleted,
    RepositoryEventRecorded,
    StepRecorded,
)

ID_DRUID = "druid"
ID_VERSION = "druid version"
ID_FILE = "druid file"
ID_PATH = "file path"
ID_ZIP_COPY = "zip part copy"
ID_ZIP_PART = "zip part"
ID_BAG = "deposit bag"

LOCATION_ROOT = "storage root"
LOCATION_PATH = "file path"
LOCATION_ENDPOINT = "endpoint"
LOCATION_ENDPOINT_KEY = "endpoint key"

FORMAT_UNKNOWN = "unknown"
FORMAT_XML = "XML"
FORMAT_ZIP = "ZIP"

_OUT = (ObjectRole.OUTCOME,)
_SOU = (ObjectRole.SOURCE,)
# PREMIS types whose subject is the druid, and the role it plays.
_DRUID_EVENTS = {"cre": _OUT, "mem": _OUT, "poa": _OUT, "del": _SOU}
# PREMIS types that make the version: it is their outcome.
_MAKES_VERSION = frozenset({"ing", "ine"})
_REPLICATION = "rep"
# Repository events that name the version the workflows are about to accession and ingest.
_ANNOUNCES_VERSION = frozenset({"version_close", "accession_request"})

# `<storage root>/sdr2objects/bc/123/df/4567/bc123df4567/v0001/data/content/a.pdf`: the first
# version directory, the druid directory before it, the path inside the version after it.
_MOAB_PATH = re.compile(
    r"(?P<version_dir>(?:.*?/)?(?P<bare>[^/]+)/v(?P<version>[0-9]{4,9}))/(?P<inside>.+)"
)
_ZIP_KEY_VERSION = re.compile(r"\.v([0-9]{1,9})\.z(?:ip|[0-9]{2,})\Z")
_MANIFEST = re.compile(r"manifests/[^/]+\.xml")
_MAX_CACHED_LINKS = 10_000


def version_identifier(druid: str, version: int) -> Identifier:
    """`druid:bc123df4567/v0001`: the representation of one Moab version."""
    return Identifier(ID_VERSION, f"{druid}/v{version:04d}")


class _Fields(NamedTuple):
    """What `scan` and the links read of one report, from a typed event or a stored payload
    alike (the scan reads payloads: a second typed decode of every report would cost about as
    much as the scan itself)."""

    event_id: str
    kind: type[DomainEvent]
    version: int | None  # as stated (0 included)
    storage_root: str | None
    endpoint: str | None
    file_path: str | None
    event_type: str | None
    parts: tuple[tuple[str, str | None, int | None], ...]  # (s3_key, md5, size)
    linked: tuple[tuple[str, str], ...]  # (kind, identifier)


def _fields(event: AnyEvent) -> _Fields:
    # A pydantic model keeps its fields in __dict__; a type without the field has no entry.
    values = vars(event)
    get = values.get
    parts = event.parts if isinstance(event, ReplicationCompleted) else ()
    return _Fields(
        event.event_id,
        type(event),
        event.version,
        get("storage_root"),
        get("endpoint"),
        get("file_path"),
        get("event_type"),
        tuple((part.s3_key, part.md5, part.size) for part in parts),
        tuple((linked.kind, linked.identifier) for linked in event.linked_objects),
    )


def _payload_fields(data: Mapping[str, Any]) -> _Fields:
    """`_fields` of a stored payload (`load_payload`'s dict: the current schema's shape, every
    value as validation left it, a field at its default possibly absent)."""
    kind = EVENT_TYPES.get(data.get("type"))  # type: ignore[arg-type]
    if kind is None:
        # Not a type this schema knows: validation names the fault.
        return _fields(EVENT_ADAPTER.validate_python(data))
    get = data.get
    parts = get("parts") or () if issubclass(kind, ReplicationCompleted) else ()
    return _Fields(
        data["event_id"],
        kind,
        get("version"),
        get("storage_root"),
        get("endpoint"),
        get("file_path"),
        get("event_type"),
        tuple((part["s3_key"], part.get("md5"), part.get("size")) for part in parts),
        tuple((linked["kind"], linked["identifier"]) for linked in get("linked_objects") or ()),
    )


@dataclass(frozen=True, slots=True)
class _Named:
    """An object an event names (not the druid or its version): how to describe it."""

    identifier: Identifier
    category: ObjectCategory
    format_name: str | None
    version: int | None  # the version it is part of, when known
    location: Storage | None
    fixity: Fixity | None = None
    size: int | None = None


@dataclass(slots=True)
class _Described:
    """What the events say about one named object, gathered by `scan`."""

    first: _Named
    locations: set[Storage] = field(default_factory=set)
    fixity: set[Fixity] = field(default_factory=set)
    size: int | None = None


class PremisObjects:
    """The objects of one druid's document and the links of each of its events (see module)."""

    def __init__(self, druid: str) -> None:
        self.druid = druid
        self.bare = druid.removeprefix("druid:")
        self.entity = Identifier(ID_DRUID, druid)
        self._versions: dict[int, set[Storage]] = {}
        self._all_versions_roots: set[str] = set()
        self._named: dict[Identifier, _Described] = {}
        self._links: dict[tuple[Identifier, tuple[ObjectRole, ...]], LinkingObject] = {}
        self._announced: int | None = None
        self._step_versions: dict[str, int] = {}
        self._subject_links: dict[tuple[int | None, str | None], LinkingObject] = {}

    # --- the first pass ------------------------------------------------------------------

    def scan(self, event: AnyEvent) -> None:
        """Note the versions, locations and named objects of one stored event."""
        self._scan(_fields(event))

    def scan_payload(self, data: Mapping[str, Any]) -> None:
        """`scan` of a stored payload as `load_payload` returns it."""
        self._scan(_payload_fields(data))

    def _scan(self, event: _Fields) -> None:
        version = _version(event.version)
        if version is None and issubclass(event.kind, StepRecorded) and self._announced is not None:
            version = self._step_versions[event.event_id] = self._announced
        if version is not None:
            self._versions.setdefault(version, set())
        if (
            issubclass(event.kind, RepositoryEventRecorded)
            and event.event_type in _ANNOUNCES_VERSION
            and version is not None
        ):
            self._announced = version
        if issubclass(event.kind, AuditResult) and event.storage_root:
            if version is None:
                self._all_versions_roots.add(event.storage_root)
            else:
                self._versions[version].add(Storage(LOCATION_ROOT, event.storage_root))
        if issubclass(event.kind, ReplicationCompleted) and version is not None:
            self._versions[version].add(Storage(LOCATION_ENDPOINT, event.endpoint or ""))
        for named in self._named_in(event):
            described = self._named.get(named.identifier)
            if described is None:
                described = self._named[named.identifier] = _Described(named)
            if named.location is not None:
                described.locations.add(named.location)
            if named.fixity is not None:
                described.fixity.add(named.fixity)
            if named.size is not None:
                described.size = named.size  # events come in time order: the latest stands
            if named.version is not None:
                self._versions.setdefault(named.version, set())
                if named.identifier.type == ID_FILE and named.location is not None:
                    directory = _MOAB_PATH.fullmatch(named.location.location)
                    if directory is not None and directory["bare"] == self.bare:
                        self._versions[named.version].add(
                            Storage(LOCATION_PATH, directory["version_dir"])
                        )

    def objects(self) -> list[PremisObject]:
        """The entity, its versions, then every named object, each in a fixed order."""
        versions = sorted(self._versions)
        parts: dict[int, list[Identifier]] = {version: [] for version in versions}
        bags: list[Identifier] = []
        named = sorted(self._named.values(), key=lambda d: _order(d.first.identifier))
        for described in named:
            if described.first.category is ObjectCategory.REPRESENTATION:
                bags.append(described.first.identifier)
            elif described.first.version in parts:
                parts[described.first.version].append(described.first.identifier)
        representations = [version_identifier(self.druid, v) for v in versions] + bags
        result = [
            PremisObject(
                identifier=self.entity,
                category=ObjectCategory.INTELLECTUAL_ENTITY,
                relationships=tuple(
                    Relationship(RelationshipSubType.IS_REPRESENTED_BY, rep)
                    for rep in representations
                ),
            )
        ]
        all_versions = [Storage(LOCATION_ROOT, root) for root in self._all_versions_roots]
        for version in versions:
            storage = sorted(
                {*self._versions[version], *all_versions},
                key=lambda s: (s.location_type, s.location),
            )
            result.append(
                PremisObject(
                    identifier=version_identifier(self.druid, version),
                    category=ObjectCategory.REPRESENTATION,
                    storage=tuple(storage),
                    relationships=(
                        Relationship(RelationshipSubType.REPRESENTS, self.entity),
                        *(Relationship(RelationshipSubType.HAS_PART, p) for p in parts[version]),
                    ),
                )
            )
        result.extend(self._described(described, set(parts)) for described in named)
        return result

    def _described(self, described: _Described, versions: set[int]) -> PremisObject:
        first = described.first
        relationships: tuple[Relationship, ...]
        if first.category is ObjectCategory.REPRESENTATION:
            relationships = (Relationship(RelationshipSubType.REPRESENTS, self.entity),)
        elif first.version in versions:
            version = version_identifier(self.druid, first.version)
            relationships = (Relationship(RelationshipSubType.IS_PART_OF, version),)
        else:
            relationships = ()
        return PremisObject(
            identifier=first.identifier,
            category=first.category,
            format_name=first.format_name,
            storage=tuple(sorted(described.locations, key=lambda s: (s.location_type, s.location))),
            fixity=tuple(sorted(described.fixity, key=lambda f: (f.algorithm.code, f.digest))),
            size=described.size,
            relationships=relationships,
        )

    # --- one event's links ---------------------------------------------------------------

    def version_of(self, event: AnyEvent) -> int | None:
        """The Moab version the event is about: the one it states, or for a robot step (whose
        log never states one) the version the last `version_close` or `accession_request`
        before it named, as the workflows then accession and ingest that version (known only
        after `scan` has seen that event); None when neither is known."""
        version = _version(event.version)
        if version is None and isinstance(event, StepRecorded):
            return self._step_versions.get(event.event_id)
        return version

    def links(self, event: AnyEvent) -> tuple[LinkingObject, ...]:
        """The event's linked objects with their roles (the table in the module docstring)."""
        code = event.premis_type
        version = self.version_of(event)
        # The druid's or version's link is a function of the two: made once per pair.
        first = self._subject_links.get((version, code))
        if first is None:
            druid_role = _DRUID_EVENTS.get(code or "")
            if druid_role is not None or version is None:
                subject = self.entity
            else:
                subject = version_identifier(self.druid, version)
            if druid_role is None:
                druid_role = _OUT if code in _MAKES_VERSION else _SOU
            first = self._subject_links[(version, code)] = self._link(subject, druid_role)
        links = [first]
        seen = {first.identifier}
        named_role = _OUT if code == _REPLICATION else _SOU
        for named in self._named_in(_fields(event)):
            if named.identifier not in seen:
                seen.add(named.identifier)
                links.append(self._link(named.identifier, named_role))
        return tuple(links)

    def _link(self, identifier: Identifier, roles: tuple[ObjectRole, ...]) -> LinkingObject:
        # Links repeat across an object's events: each is built (and checked) once.
        key = (identifier, roles)
        link = self._links.get(key)
        if link is None:
            if len(self._links) > _MAX_CACHED_LINKS:
                self._links.clear()
            link = self._links[key] = LinkingObject(identifier, roles)
        return link

    # --- what an event names -------------------------------------------------------------

    def _named_in(self, event: _Fields) -> Iterator[_Named]:
        """The objects an event names besides the druid and its version, in its order."""
        version = _version(event.version)
        replication = issubclass(event.kind, ReplicationCompleted)
        for key, md5, size in event.parts:
            yield self._zip_part(key, event.endpoint, version, md5, size)
        if event.file_path:
            yield self._file(event.file_path, version)
        for kind, identifier in event.linked:
            if kind in ("file", "manifest"):
                yield self._file(identifier, version)
            elif kind == "zip_part" and not replication:
                yield self._zip_part(identifier, event.endpoint, version, None, None)
            elif kind == "bag":
                yield _Named(
                    Identifier(ID_BAG, identifier),
                    ObjectCategory.REPRESENTATION,
                    None,
                    None,
                    Storage(LOCATION_PATH, identifier),
                )
            # storage_root and endpoint: places, described as the versions' storage.

    def _file(self, path: str, version: int | None) -> _Named:
        moab = _MOAB_PATH.fullmatch(path)
        if moab is not None:
            in_version = int(moab["version"])
            druid = f"druid:{moab['bare']}"
            identifier = Identifier(ID_FILE, f"{druid}/v{in_version:04d}/{moab['inside']}")
            inside = moab["inside"]
            file_version = in_version if moab["bare"] == self.bare else None
            # Only an absolute path is a place: a relative one says where inside the Moab.
            location: Storage | None = (
                Storage(LOCATION_PATH, path) if path.startswith("/") else None
            )
        elif not path.startswith("/") and version is not None:
            inside = path
            identifier = Identifier(ID_FILE, f"{self.druid}/v{version:04d}/{path}")
            file_version, location = version, None
        else:
            inside = path
            identifier = Identifier(ID_PATH, path)
            file_version = None
            location = Storage(LOCATION_PATH, path) if path.startswith("/") else None
        moab_format = FORMAT_XML if _MANIFEST.fullmatch(inside) else FORMAT_UNKNOWN
        return _Named(identifier, ObjectCategory.FILE, moab_format, file_version, location)

    def _zip_part(
        self, key: str, endpoint: str | None, version: int | None, md5: str | None, size: int | None
    ) -> _Named:
        found = _ZIP_KEY_VERSION.search(key)
        in_key = int(found[1]) if found is not None else None
        part_version = version if version is not None else _version(in_key)
        if endpoint:
            copy = f"{endpoint}:{key}"
            identifier = Identifier(ID_ZIP_COPY, copy)
            location: Storage | None = Storage(LOCATION_ENDPOINT_KEY, copy)
        else:
            identifier, location = Identifier(ID_ZIP_PART, key), None
        digest = Fixity(HashFunction.MD5, md5) if md5 and md5.strip() else None
        return _Named(
            identifier, ObjectCategory.FILE, FORMAT_ZIP, part_version, location, digest, size
        )


def _version(version: int | None) -> int | None:
    # Version 0 is what moab-versioning reports for a Moab without a version directory: no
    # representation.
    return version if version else None


def _order(identifier: Identifier) -> tuple[str, str]:
    return identifier.type, identifier.value
