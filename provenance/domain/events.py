"""Domain events: what happened to an object (or a service), typed, versioned, serialisable.

Pydantic v2 models forming a discriminated union on `type`. Every event carries the common
envelope of DESIGN.md ("Domain events"). `premis_type` is the LoC eventType code decided by the
source mapping (None where no PREMIS type fits); `outcome` is success | fail | warning | None.

Stored payloads carry `schema_version`; old payloads are upcast on read, never rewritten: every
reader of stored payloads goes through `load_payload` (the projections and reports, which want
plain data) or `load_event` (which wants the typed event).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, TypeAdapter
from pydantic_core import from_json

from provenance.domain.result_codes import RESULT_CODES
from provenance.domain.result_codes import meaning as result_meaning

Outcome = Literal["success", "fail", "warning"]
AgentKind = Literal["software", "organization", "person", "hardware"]
LinkKind = Literal["file", "manifest", "zip_part", "endpoint", "storage_root", "bag"]
LinkRole = Literal["source", "outcome"]

# Streams that are not objects. Object streams are named by the normalised druid.
QUARANTINE_STREAM = "$quarantine"
ACCESS_STREAM_PREFIX = "$access/"

# The version new payloads are written in; older ones are upcast on read (`UPCASTERS`).
# 2: the reviewed result-code table (issue 14): audit results mean what the table says.
CURRENT_SCHEMA_VERSION = 2


class _Model(BaseModel):
    # defer_build: a model's validator and serializer are built on its first use, not when this
    # module is imported: building all twenty was the largest part of the ingest function's cold
    # start that is this project's own (BENCHMARKS 6.1), and a container builds only the models
    # of the events its records hold. The schemas are the same either way.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class SourceRef(_Model):
    """Where an event was read: the source (parser) name, origin (service/host), file, line."""

    type: str
    origin: str = ""
    file: str | None = None
    line: int | None = None


class AgentRef(_Model):
    """Who or what did it: software by name (and version where known), or an organisation."""

    name: str
    kind: AgentKind = "software"
    version: str | None = None
    host: str | None = None


class LinkedObject(_Model):
    """An object an event names besides its own: a file path, a zip part, an endpoint, ..."""

    kind: LinkKind
    identifier: str
    role: LinkRole | None = "source"


class ZipPart(_Model):
    s3_key: str
    size: int | None = None
    md5: str | None = None


class DomainEvent(_Model):
    """The common envelope; every concrete event adds a `type` literal and its own fields."""

    schema_version: int = CURRENT_SCHEMA_VERSION
    event_id: str
    object: str | None
    object_conforming: bool = True
    version: int | None = None
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    source: SourceRef
    agent: AgentRef
    premis_type: str | None = None
    outcome: Outcome | None = None
    detail: str | None = None
    linked_objects: tuple[LinkedObject, ...] = ()


class AuditResult(DomainEvent):
    """Fields shared by the preservation catalog's audit results (one log line each)."""

    check: str
    result_code: str | None = None
    storage_root: str | None = None


class FixityChecked(AuditResult):
    """`validate_checksums` result: the Moab's files match their manifests (or do not)."""

    type: Literal["FixityChecked"] = "FixityChecked"
    file_path: str | None = None


class ReplicaAudited(AuditResult):
    """Replication audit result for one version on one endpoint (cloud copy)."""

    type: Literal["ReplicaAudited"] = "ReplicaAudited"
    endpoint: str | None = None
    zip_part: str | None = None


class ObjectValidated(AuditResult):
    """Moab or bag validation (INVALID_MOAB, validate-* robot steps, moab-valid events)."""

    type: Literal["ObjectValidated"] = "ObjectValidated"
    errors: tuple[str, ...] = ()


class VersionAudited(AuditResult):
    """Catalog-to-Moab version and existence checks."""

    type: Literal["VersionAudited"] = "VersionAudited"
    actual_version: int | None = None
    db_version: int | None = None


class CatalogUpdated(AuditResult):
    """The catalog's own bookkeeping after ingest (create/update results, db errors)."""

    type: Literal["CatalogUpdated"] = "CatalogUpdated"


class AuditSkipped(AuditResult):
    """A check that did not run (UNABLE_TO_CHECK_STATUS: the Moab's status forbids it).

    Not a check that failed: no PREMIS event, outcome "warning", so history and state show
    that the object went unchecked.
    """

    type: Literal["AuditSkipped"] = "AuditSkipped"


class PreservationStatusChanged(AuditResult):
    """The catalog's status for the object's Moab on one storage root changed."""

    type: Literal["PreservationStatusChanged"] = "PreservationStatusChanged"
    old_status: str
    new_status: str


class ReplicationCompleted(DomainEvent):
    """All zip parts of one version were uploaded to one endpoint (`druid_version_replicated`)."""

    type: Literal["ReplicationCompleted"] = "ReplicationCompleted"
    endpoint: str
    parts: tuple[ZipPart, ...] = ()


StepStatus = Literal["started", "completed", "failed"]


class StepRecorded(DomainEvent):
    """Fields shared by workflow robot step events."""

    workflow: str
    step: str | None = None
    status: StepStatus
    duration_s: float | None = None
    error: str | None = None
    errors: tuple[str, ...] = ()


class IngestStepRecorded(StepRecorded):
    """A preservationIngestWF step (start-ingest ... complete-ingest)."""

    type: Literal["IngestStepRecorded"] = "IngestStepRecorded"


class WorkflowStepRecorded(StepRecorded):
    """A step of any other workflow (accessionWF, ...)."""

    type: Literal["WorkflowStepRecorded"] = "WorkflowStepRecorded"


class RepositoryEventRecorded(DomainEvent):
    """Any other repository object event (registration, update, publishing_complete, ...)."""

    type: Literal["RepositoryEventRecorded"] = "RepositoryEventRecorded"
    event_type: str
    data: dict[str, JsonValue] = Field(default_factory=dict)


class ServiceAccessed(DomainEvent):
    """One request to a web service (purl, stacks, the SDR APIs), from an access log.

    `object` is None: access events live in per-service, per-day streams (`access_stream`),
    not in object histories. `druid` is the object the path names, if any. `client` is the
    address as logged (personal data: it expires with the access events, see the access
    policy); `client_id` is what reports show for it (a keyed pseudonym unless raw addresses
    are configured) and `agent` who the policy says made the request. Both are set at ingest.
    `template` is the normalised query (`/file/druid:{druid}/{file}`) that reports count by.
    `complete` is False for a multi-line request whose end was not in the input.
    """

    type: Literal["ServiceAccessed"] = "ServiceAccessed"
    service: str
    host: str | None = None
    client: str | None = None
    client_id: str | None = None
    user: str | None = None
    method: str | None = None
    path: str | None = None
    template: str | None = None
    protocol: str | None = None
    status: int | None = None
    bytes: int | None = None
    duration_ms: float | None = None
    referer: str | None = None
    user_agent: str | None = None
    druid: str | None = None
    request_id: str | None = None
    controller: str | None = None
    response_format: str | None = None
    complete: bool = True


class LineQuarantined(DomainEvent):
    """Input that was not understood, kept verbatim so it can be replayed after a parser fix.

    `raw` is the entry's bytes, base64; `text` a readable rendering; `occurrence` lets a replay
    give the events the identity they would have had.

    An entry too large for the store keeps only its first part, never silently: `truncated`
    is then True and `raw_bytes` and `raw_sha256` give the size and SHA-256 (hex) of the whole
    entry (both None otherwise). A truncated entry is never replayed.
    """

    type: Literal["LineQuarantined"] = "LineQuarantined"
    reason: str
    raw: str
    text: str
    source_type: str
    occurrence: int = 0
    line_count: int = 1
    truncated: bool = False
    raw_bytes: int | None = None
    raw_sha256: str | None = None


AnyEvent = Annotated[
    FixityChecked
    | ReplicaAudited
    | ObjectValidated
    | VersionAudited
    | CatalogUpdated
    | AuditSkipped
    | PreservationStatusChanged
    | ReplicationCompleted
    | IngestStepRecorded
    | WorkflowStepRecorded
    | RepositoryEventRecorded
    | ServiceAccessed
    | LineQuarantined,
    Field(discriminator="type"),
]

# Built on first use too (only reading stored events back needs it: not the ingest function).
EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent, config=ConfigDict(defer_build=True))
EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        FixityChecked,
        ReplicaAudited,
        ObjectValidated,
        VersionAudited,
        CatalogUpdated,
        AuditSkipped,
        PreservationStatusChanged,
        ReplicationCompleted,
        IngestStepRecorded,
        WorkflowStepRecorded,
        RepositoryEventRecorded,
        ServiceAccessed,
        LineQuarantined,
    )
}
# (type, stored schema_version) -> function turning that payload into the next version's shape.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _unchanged(data: dict[str, Any]) -> dict[str, Any]:
    return data


def _audit_result_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 catalog result (a `prescat` line) read with the meaning the reviewed table
    gives its result code and check: its type, PREMIS type and outcome may change
    (UNABLE_TO_CHECK_STATUS was a failed fixity check, the catalog's database errors were
    validations, ZIP_PARTS_* fixity checks), and with them the type's own fields.

    A version-1 preservation_audit_failure notification (`sdr-events`) keeps its meaning: its
    result codes are in its message text, which only the sources read; the table gives its
    moab-valid and unrecognised failures the meaning version 1 gave them.
    """
    source = data.get("source")
    code = data.get("result_code")
    if not (
        isinstance(source, dict)
        and source.get("type") == "prescat"
        and isinstance(code, str)
        and code in RESULT_CODES
    ):
        return data
    row = result_meaning(code, data.get("check") or "")
    fields = EVENT_TYPES[row.event].model_fields
    # The new type's fields: those the old one had keep their values, the others their
    # defaults (the table moves a result only to a type with no fields of its own).
    shaped = {name: value for name, value in data.items() if name in fields}
    for name, info in fields.items():
        if name not in shaped and not info.is_required():
            shaped[name] = info.get_default()
    shaped.update(type=row.event, premis_type=row.premis_type, outcome=row.outcome)
    return shaped


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    (name, 1): _audit_result_v1 if issubclass(model, AuditResult) else _unchanged
    for name, model in EVENT_TYPES.items()
}


def access_stream(service: str, occurred_at: datetime) -> str:
    """The stream of a service's access events on one UTC day: `$access/<service>/<YYYY-MM-DD>`.

    One stream per service and day keeps each stream (a DynamoDB partition) small and lets
    a day's requests be read without the others.
    """
    return f"{ACCESS_STREAM_PREFIX}{service}/{occurred_at.astimezone(UTC).date().isoformat()}"


def dump_event(event: DomainEvent) -> bytes:
    """The stored payload: compact JSON bytes (the model's own serializer: the union adapter
    gives the same bytes at nearly three times the cost)."""
    return event.__pydantic_serializer__.to_json(event)


def load_payload(payload: bytes) -> dict[str, Any]:
    """A stored payload as plain data in the current schema version's shape: the one way
    stored payloads are read (projections and reports read them this way; `load_event` too).

    Parsed with pydantic-core's parser, for speed. A payload of an older `schema_version` is
    upcast one version at a time by `UPCASTERS`: when a schema changes, bump
    `CURRENT_SCHEMA_VERSION` and add the upcaster from the old version there, keyed by
    (event type, the version it upgrades from). A current payload is the parse alone.
    """
    data: dict[str, Any] = from_json(payload)
    version = data.get("schema_version", 1)
    while version < CURRENT_SCHEMA_VERSION:
        data = UPCASTERS[(data["type"], version)](data)
        version += 1
        data["schema_version"] = version
    return data


def load_event(payload: bytes) -> AnyEvent:
    """A stored payload back as a typed event, upcast from older schema versions on the way."""
    return EVENT_ADAPTER.validate_python(load_payload(payload))
