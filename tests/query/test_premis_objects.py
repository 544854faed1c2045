"""Which objects a PREMIS document describes, and every link of its events with its role.

Every linkingObjectIdentifier must resolve to an object of the same document (over the demo
world, and over generated events); roles follow the table in `premis_objects`' docstring;
storage roots and endpoints are storage, never linked objects; the documents are XSD-valid.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from premis import (
    Agent,
    AgentType,
    Event,
    EventType,
    Identifier,
    LinkingAgent,
    document_bytes,
)
from provenance.domain.events import (
    AgentRef,
    DomainEvent,
    FixityChecked,
    IngestStepRecorded,
    LinkedObject,
    ObjectValidated,
    PreservationStatusChanged,
    ReplicaAudited,
    ReplicationCompleted,
    RepositoryEventRecorded,
    SourceRef,
    WorkflowStepRecorded,
    ZipPart,
)
from provenance.query.premis_objects import PremisObjects
from tests.premis_helpers import assert_valid_premis

P = "{http://www.loc.gov/premis/v3}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
DRUID = "druid:bc123df4567"
MOAB = "/services-disk02/sdr2objects/bc/123/df/4567/bc123df4567"
KEY = "bc/123/df/4567/bc123df4567.v0001.zip"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGENT = Agent(Identifier("local", "test"), "test", AgentType.SOFTWARE)
ENDPOINTS = ("aws_s3_west_2", "aws_s3_east_1", "gcp_s3_south_1")

Link = tuple[str, str, str]  # identifier type, value, role label


class _Events:
    """Domain events of one druid, each a minute after the last (stream order)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, model: type[DomainEvent], **fields: Any) -> Any:
        self.count += 1
        common: dict[str, Any] = {
            "event_id": f"e{self.count:04d}",
            "object": DRUID,
            "occurred_at": T0 + timedelta(minutes=self.count),
            "recorded_at": T0,
            "source": SourceRef(type="test"),
            "agent": AgentRef(name="test"),
        }
        return model(**(common | fields))


def _built(specs: list[dict[str, Any]]) -> list[Any]:
    """Events from specs: `model` and its fields."""
    make = _Events()
    return [
        make(spec["model"], **{key: value for key, value in spec.items() if key != "model"})
        for spec in specs
    ]


def _document(events: list[Any]) -> bytes:
    """The PREMIS document of these events: the two passes `export_object` makes."""
    registry = PremisObjects(DRUID)
    for event in events:
        registry.scan(event)
    premis_events = [
        Event(
            identifier=Identifier("local", event.event_id),
            type=EventType.from_code(event.premis_type),
            date_time=event.occurred_at,
            agents=(LinkingAgent(AGENT.identifier),),
            objects=registry.links(event),
        )
        for event in events
        if event.premis_type is not None
    ]
    return document_bytes(registry.objects(), premis_events, {"test": AGENT})


def _objects(root: etree._Element) -> dict[tuple[str, str], etree._Element]:
    return {
        (
            obj.findtext(f"{P}objectIdentifier/{P}objectIdentifierType") or "",
            obj.findtext(f"{P}objectIdentifier/{P}objectIdentifierValue") or "",
        ): obj
        for obj in root.iter(f"{P}object")
    }


def _links(root: etree._Element) -> Iterator[tuple[str, list[Link]]]:
    """(eventType code, its links) for each event."""
    for event in root.iter(f"{P}event"):
        code = (event.find(f"{P}eventType").get("valueURI") or "").rsplit("/", 1)[-1]
        yield (
            code,
            [
                (
                    link.findtext(f"{P}linkingObjectIdentifierType") or "",
                    link.findtext(f"{P}linkingObjectIdentifierValue") or "",
                    link.findtext(f"{P}linkingObjectRole") or "",
                )
                for link in event.iter(f"{P}linkingObjectIdentifier")
            ],
        )


def _assert_every_link_resolves(document: bytes) -> etree._Element:
    assert_valid_premis(document)
    root = etree.fromstring(document)
    described = _objects(root)
    for _, links in _links(root):
        assert links, "every event links the druid or its version"
        for kind, value, role in links:
            assert (kind, value) in described, f"{kind} {value} is linked but not described"
            assert role in ("source", "outcome")
            assert kind not in ("storage root", "endpoint"), "places are not objects"
    return root


def _links_of_last(events: list[Any]) -> list[Link]:
    root = _assert_every_link_resolves(_document(events))
    return list(_links(root))[-1][1]


def _storage(obj: etree._Element) -> list[tuple[str, str]]:
    return [
        (
            s.findtext(f"{P}contentLocation/{P}contentLocationType") or "",
            s.findtext(f"{P}contentLocation/{P}contentLocationValue") or "",
        )
        for s in obj.iter(f"{P}storage")
    ]


# --- roles, one event kind at a time (the table in premis_objects) -----------------------------

V1 = ("druid version", f"{DRUID}/v0001")
V2 = ("druid version", f"{DRUID}/v0002")
ENTITY = ("druid", DRUID)


def _repository(event_type: str, premis: str | None, version: int | None = None) -> Any:
    return {
        "model": RepositoryEventRecorded,
        "event_type": event_type,
        "premis_type": premis,
        "version": version,
    }


def _step(step: str, premis: str, workflow: str = "preservationIngestWF") -> Any:
    model = IngestStepRecorded if workflow == "preservationIngestWF" else WorkflowStepRecorded
    return {
        "model": model,
        "workflow": workflow,
        "step": step,
        "status": "completed",
        "premis_type": premis,
    }


_CLOSE_V2 = _repository("version_close", None, 2)
ROLE_CASES: list[tuple[str, list[dict[str, Any]], list[Link]]] = [
    ("registration", [_repository("registration", "cre")], [(*ENTITY, "outcome")]),
    ("registration of v1", [_repository("registration", "cre", 1)], [(*ENTITY, "outcome")]),
    ("metadata update", [_repository("update", "mem", 2)], [(*ENTITY, "outcome")]),
    ("embargo released", [_repository("embargo_released", "poa")], [(*ENTITY, "outcome")]),
    ("deletion", [_repository("delete", "del")], [(*ENTITY, "source")]),
    ("dissemination", [_repository("publishing_complete", "dis", 2)], [(*V2, "source")]),
    ("start-ingest", [_CLOSE_V2, _step("start-ingest", "ins")], [(*V2, "source")]),
    ("transfer-object", [_CLOSE_V2, _step("transfer-object", "tra")], [(*V2, "source")]),
    ("update-moab", [_CLOSE_V2, _step("update-moab", "ing")], [(*V2, "outcome")]),
    ("complete-ingest", [_CLOSE_V2, _step("complete-ingest", "ine")], [(*V2, "outcome")]),
    ("update-moab, no version known", [_step("update-moab", "ing")], [(*ENTITY, "outcome")]),
    (
        "shelve after accession_request",
        [_repository("accession_request", None, 2), _step("shelve", "dis", "accessionWF")],
        [(*V2, "source")],
    ),
    (
        "fixity check of a named file",
        [
            {
                "model": FixityChecked,
                "check": "validate_checksums",
                "premis_type": "fix",
                "version": 1,
                "storage_root": "fixture_sr3",
                "file_path": f"{MOAB}/v0001/data/content/a.pdf",
                "linked_objects": (
                    LinkedObject(kind="storage_root", identifier="fixture_sr3"),
                    LinkedObject(kind="file", identifier=f"{MOAB}/v0001/data/content/a.pdf"),
                    LinkedObject(
                        kind="manifest", identifier=f"{MOAB}/v0001/manifests/signatureCatalog.xml"
                    ),
                ),
            }
        ],
        [
            (*V1, "source"),
            ("druid file", f"{DRUID}/v0001/data/content/a.pdf", "source"),
            ("druid file", f"{DRUID}/v0001/manifests/signatureCatalog.xml", "source"),
        ],
    ),
    (
        "fixity check without a version",
        [{"model": FixityChecked, "check": "validate_checksums", "premis_type": "fix"}],
        [(*ENTITY, "source")],
    ),
    (
        "validation of a deposit bag",
        [
            {
                **_step("validate-bag", "val"),
                "status": "failed",
                "linked_objects": (LinkedObject(kind="bag", identifier="/dor/export/bc123df4567"),),
            }
        ],
        [(*ENTITY, "source"), ("deposit bag", "/dor/export/bc123df4567", "source")],
    ),
    (
        "replica audit of a zip part on an endpoint",
        [
            {
                "model": ReplicaAudited,
                "check": "check_replicated",
                "premis_type": "val",
                "version": 1,
                "endpoint": "aws_s3_east_1",
                "zip_part": KEY,
                "linked_objects": (
                    LinkedObject(kind="endpoint", identifier="aws_s3_east_1"),
                    LinkedObject(kind="zip_part", identifier=KEY),
                ),
            }
        ],
        [(*V1, "source"), ("zip part copy", f"aws_s3_east_1:{KEY}", "source")],
    ),
    (
        "replication",
        [
            {
                "model": ReplicationCompleted,
                "premis_type": "rep",
                "version": 1,
                "endpoint": "aws_s3_west_2",
                "parts": (ZipPart(s3_key=KEY, size=10, md5="0" * 32),),
                "linked_objects": (
                    LinkedObject(kind="endpoint", identifier="aws_s3_west_2", role="outcome"),
                    LinkedObject(kind="zip_part", identifier=KEY, role="outcome"),
                ),
            }
        ],
        [(*V1, "source"), ("zip part copy", f"aws_s3_west_2:{KEY}", "outcome")],
    ),
]


@pytest.mark.parametrize(
    ("events", "expected"), [case[1:] for case in ROLE_CASES], ids=[case[0] for case in ROLE_CASES]
)
def test_roles_follow_the_table(events: list[dict[str, Any]], expected: list[Link]) -> None:
    built = _built(events)
    assert _links_of_last(built) == expected


# --- what the objects say ---------------------------------------------------------------------


def test_a_version_replicated_to_three_endpoints_has_a_described_copy_on_each() -> None:
    make = _Events()
    parts = (
        ZipPart(s3_key=KEY, size=1024, md5="00112233445566778899aabbccddeeff"),
        ZipPart(s3_key=KEY.replace(".zip", ".z01"), size=7, md5=None),
    )
    events = [
        make(ReplicationCompleted, premis_type="rep", version=1, endpoint=endpoint, parts=parts)
        for endpoint in ENDPOINTS
    ]
    root = _assert_every_link_resolves(_document(events))
    described = _objects(root)
    version = described[V1]
    assert sorted(_storage(version)) == sorted(("endpoint", e) for e in ENDPOINTS)
    copies = {value for kind, value in described if kind == "zip part copy"}
    assert copies == {f"{e}:{p.s3_key}" for e in ENDPOINTS for p in parts}
    parts_of_version = {
        r.findtext(f"{P}relatedObjectIdentifier/{P}relatedObjectIdentifierValue")
        for r in version.iter(f"{P}relationship")
        if r.findtext(f"{P}relationshipSubType") == "has Part"
    }
    assert parts_of_version == copies
    copy = described[("zip part copy", f"aws_s3_west_2:{KEY}")]
    assert copy.get(XSI_TYPE) == "premis:file"
    assert copy.findtext(f"{P}objectCharacteristics/{P}size") == "1024"
    assert copy.findtext(f".//{P}formatName") == "ZIP"
    (fixity,) = copy.iter(f"{P}fixity")
    assert fixity.find(f"{P}messageDigestAlgorithm").get("valueURI") == (
        "http://id.loc.gov/vocabulary/preservation/cryptographicHashFunctions/md5"
    )
    assert fixity.findtext(f"{P}messageDigest") == "00112233445566778899aabbccddeeff"
    assert _storage(copy) == [("endpoint key", f"aws_s3_west_2:{KEY}")]
    assert copy.findtext(f".//{P}relatedObjectIdentifierValue") == f"{DRUID}/v0001"
    no_md5 = described[("zip part copy", f"aws_s3_west_2:{KEY.replace('.zip', '.z01')}")]
    assert not list(no_md5.iter(f"{P}fixity"))  # only where a log states it


def test_storage_roots_are_where_the_versions_are_and_files_sit_in_their_moab() -> None:
    make = _Events()
    pdf = f"{MOAB}/v0002/data/content/a.pdf"
    events = [
        make(
            ObjectValidated, check="moab-valid", premis_type="val", version=1, storage_root="root_a"
        ),
        make(
            FixityChecked,
            check="validate_checksums",
            premis_type="fix",
            version=2,
            storage_root="root_a",
            file_path=pdf,
            linked_objects=(LinkedObject(kind="file", identifier=pdf),),
        ),
        # Named without a version: the whole Moab, every version, is on that root.
        make(
            PreservationStatusChanged,
            check="validate_checksums",
            storage_root="root_b",
            old_status="ok",
            new_status="invalid_checksum",
        ),
    ]
    root = _assert_every_link_resolves(_document(events))
    described = _objects(root)
    assert _storage(described[V1]) == [("storage root", "root_a"), ("storage root", "root_b")]
    assert _storage(described[V2]) == [
        ("file path", f"{MOAB}/v0002"),
        ("storage root", "root_a"),
        ("storage root", "root_b"),
    ]
    file = described[("druid file", f"{DRUID}/v0002/data/content/a.pdf")]
    assert _storage(file) == [("file path", pdf)]
    assert file.findtext(f".//{P}formatName") == "unknown"
    assert not list(file.iter(f"{P}fixity")) and file.find(f".//{P}size") is None
    assert not list(described[ENTITY].iter(f"{P}storage"))


def test_paths_outside_a_moab_version_keep_their_own_text() -> None:
    make = _Events()
    events = [
        make(
            FixityChecked,
            check="validate_checksums",
            premis_type="fix",
            version=3,
            linked_objects=(
                LinkedObject(kind="manifest", identifier="manifests/manifestInventory.xml"),
                LinkedObject(kind="file", identifier="/somewhere/else.txt"),
            ),
        ),
    ]
    root = _assert_every_link_resolves(_document(events))
    described = _objects(root)
    manifest = described[("druid file", f"{DRUID}/v0003/manifests/manifestInventory.xml")]
    assert manifest.findtext(f".//{P}formatName") == "XML"
    assert not _storage(manifest)  # a relative path is no place
    other = described[("file path", "/somewhere/else.txt")]
    assert _storage(other) == [("file path", "/somewhere/else.txt")]
    assert other.find(f"{P}relationship") is None


# --- generated events ---------------------------------------------------------------------------

_name = st.text(st.sampled_from(list("abc019_-./ :é\x01\\")), min_size=1, max_size=12).filter(
    str.strip
)
_version = st.none() | st.integers(0, 3)
_path = st.one_of(
    st.builds(
        lambda bare, v, inside: f"/root/sdr2objects/{bare}/v{v:04d}/{inside}",
        st.sampled_from(["bc123df4567", "zz999zz9999"]),
        st.integers(0, 3),
        st.sampled_from(["data/content/a.pdf", "manifests/signatureCatalog.xml"]) | _name,
    ),
    _name,
)
_key = (
    st.builds(
        lambda v, ext: f"bc/123/df/4567/bc123df4567.v{v:04d}.{ext}",
        st.integers(0, 3),
        st.sampled_from(["zip", "z01"]),
    )
    | _name
)
_endpoint = st.none() | st.sampled_from(ENDPOINTS) | _name
_premis = st.none() | st.sampled_from(["cre", "mem", "poa", "del", "dis", "fix", "val", "mee"])


@st.composite
def _event(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["fixity", "replica", "replication", "step", "repository"]))
    version = draw(_version)
    if kind == "fixity":
        paths = draw(st.lists(_path, max_size=3))
        return {
            "model": FixityChecked,
            "check": "validate_checksums",
            "premis_type": "fix",
            "version": version,
            "storage_root": draw(st.none() | _name),
            "file_path": draw(st.none() | _path),
            "linked_objects": tuple(
                LinkedObject(kind=draw(st.sampled_from(["file", "manifest"])), identifier=p)
                for p in paths
            ),
        }
    if kind == "replica":
        return {
            "model": ReplicaAudited,
            "check": "check_replicated",
            "premis_type": draw(st.sampled_from(["fix", "val"])),
            "version": version,
            "endpoint": draw(_endpoint),
            "linked_objects": tuple(
                LinkedObject(kind="zip_part", identifier=k)
                for k in draw(st.lists(_key, max_size=2))
            ),
        }
    if kind == "replication":
        return {
            "model": ReplicationCompleted,
            "premis_type": "rep",
            "version": version,
            "endpoint": draw(st.sampled_from(ENDPOINTS) | _name),
            "parts": tuple(
                ZipPart(
                    s3_key=k,
                    size=draw(st.none() | st.integers(0, 2**40)),
                    md5=draw(st.none() | st.sampled_from(["0" * 32, "f" * 32])),
                )
                for k in draw(st.lists(_key, max_size=3))
            ),
        }
    if kind == "step":
        return {
            **_step(
                draw(st.sampled_from(["start-ingest", "transfer-object", "update-moab"])),
                draw(st.sampled_from(["ins", "tra", "ing", "ine", "val"])),
            ),
            "linked_objects": tuple(
                LinkedObject(kind="bag", identifier=b) for b in draw(st.lists(_name, max_size=1))
            ),
        }
    return _repository(
        draw(st.sampled_from(["registration", "version_close", "update", "publishing_complete"])),
        draw(_premis),
        version,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_event(), min_size=1, max_size=12))
def test_every_link_of_generated_events_resolves(events: list[dict[str, Any]]) -> None:
    built = _built(events)
    if not any(event.premis_type for event in built):
        return
    root = _assert_every_link_resolves(_document(built))
    for code, links in _links(root):
        subject_kind, _, subject_role = links[0]
        assert subject_kind in ("druid", "druid version")
        expected = "outcome" if code in ("cre", "mem", "poa", "ing", "ine") else "source"
        assert subject_role == expected
        if code in ("cre", "mem", "poa", "del"):
            assert subject_kind == "druid"
        for _kind, _, role in links[1:]:
            assert role == ("outcome" if code == "rep" else "source")


# --- the demo world ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from eventstore.sqlite import SQLiteEventStore
    from provenance.cli.demo.world import generate
    from provenance.ingest.pipeline import ingest_stream
    from provenance.ingest.reader import IngestOptions

    directory: Path = tmp_path_factory.mktemp("demo")
    data = generate(directory, objects=25, days=20)
    options = IngestOptions(source="auto", tz=ZoneInfo("America/Los_Angeles"))
    with SQLiteEventStore(directory / "demo.db") as store:
        for file in data.files:
            with file.path.open("rb") as stream:
                ingest_stream(store, stream, file.path.name, options)
        yield store


def test_every_link_resolves_in_every_demo_document(demo_store: Any) -> None:
    from provenance.query.premis_export import export_object

    druids = list(demo_store.streams(prefix="druid:"))
    assert len(druids) == 25
    seen: set[tuple[str, str, str]] = set()
    for druid in druids:
        out = io.BytesIO()
        export_object(demo_store, druid, stdout=out)
        root = _assert_every_link_resolves(out.getvalue())
        for code, links in _links(root):
            seen.update((code, kind, role) for kind, _, role in links)
    # The demo has every kind the table names: each with the roles it gives.
    assert ("cre", "druid", "outcome") in seen
    assert ("rep", "druid version", "source") in seen
    assert ("rep", "zip part copy", "outcome") in seen
    assert ("ing", "druid version", "outcome") in seen
    assert ("ine", "druid version", "outcome") in seen
    assert ("tra", "druid version", "source") in seen
    assert not {s for s in seen if s[0] == "rep" and s[1] == "druid"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_event(), min_size=1, max_size=12), st.booleans())
def test_scanning_stored_payloads_finds_what_scanning_typed_events_finds(
    events: list[dict[str, Any]], defaults_left_out: bool
) -> None:
    # `export_object` scans plain payloads (`scan_payload`) and links typed events: both must
    # read the same values, whether or not a payload spells out the fields at their default.
    built = _built(events)
    typed, plain = PremisObjects(DRUID), PremisObjects(DRUID)
    for event in built:
        typed.scan(event)
        payload = event.model_dump(mode="json", exclude_defaults=defaults_left_out)
        plain.scan_payload({**payload, "type": event.type})
    assert plain.objects() == typed.objects()
    assert [plain.links(event) for event in built] == [typed.links(event) for event in built]
