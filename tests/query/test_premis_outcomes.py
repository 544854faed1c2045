"""An event's detail and outcome in PREMIS: program/version as Archivematica writes them,
structured facts in the extensions, human text in notes, hosts kept, one agent per system."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from premis import EventOutcome, unescape, xml_safe
from provenance.domain.agent_registry import ResolvedAgent, load_registry
from provenance.query.premis_export import ExportOptions, export_object
from provenance.query.premis_outcomes import (
    NAMESPACE,
    event_detail,
    outcome_of_repository_event,
)
from tests.conftest import ingest_bytes
from tests.premis_helpers import assert_valid_premis
from tests.samples import CHECKSUM_MISMATCH, OBJECT_LOG

P = "{http://www.loc.gov/premis/v3}"
X = f"{{{NAMESPACE}}}"
HOST = "preservation-catalog-prod-02.stanford.edu"
ROBOT = "2026-02-02T09:00:0{s}.000Z pid=12 tid=abc druid=bj102hs9687 INFO: {message}"
VALIDATE_MOAB = "\n".join(
    ROBOT.format(s=s, message=message)
    for s, message in enumerate(
        [
            "druid:bj102hs9687 processing validate-moab (preservationIngestWF)",
            f"Started by preservation_catalog on {HOST}.",
            f"Completed by preservation_catalog on {HOST}.",
        ]
    )
)


def _repository_event(event_type: str, second: int, **data: object) -> str:
    import json

    record = {
        "druid": "druid:bj102hs9687",
        "event_type": event_type,
        "data": {"host": "dor-services-app-prod-a.stanford.edu", "invoked_by": "argo", **data},
        "created_at": f"2026-02-03T10:00:0{second}Z",
    }
    return json.dumps(record)


REPOSITORY_EVENTS = "\n".join(
    [
        _repository_event("registration", 1),
        _repository_event("shelving_complete", 2),
        _repository_event("publishing_errored", 3, error="timeout talking to purl-fetcher"),
    ]
)


def _export(store, options: ExportOptions | None = None) -> etree._Element:
    out = io.BytesIO()
    export_object(store, "bj102hs9687", options=options or ExportOptions(), stdout=out)
    assert_valid_premis(out.getvalue())
    return etree.fromstring(out.getvalue())


def _fields(element: etree._Element | None) -> list[tuple[str, str]]:
    if element is None:
        return []
    return [(etree.QName(child).localname, child.text or "") for child in element]


def _events(root: etree._Element) -> list[dict[str, object]]:
    events = []
    for event in root.iter(f"{P}event"):
        outcome_details = event.findall(f"{P}eventOutcomeInformation/{P}eventOutcomeDetail")
        events.append(
            {
                "type": event.findtext(f"{P}eventType"),
                "detail": event.findtext(f"{P}eventDetailInformation/{P}eventDetail"),
                "detail_fields": _fields(
                    event.find(f"{P}eventDetailInformation/{P}eventDetailExtension")
                ),
                "outcome": event.findtext(f"{P}eventOutcomeInformation/{P}eventOutcome"),
                "notes": [d.findtext(f"{P}eventOutcomeDetailNote") for d in outcome_details],
                "outcome_fields": _fields(
                    event.find(
                        f"{P}eventOutcomeInformation/{P}eventOutcomeDetail/"
                        f"{P}eventOutcomeDetailExtension"
                    )
                ),
                "agent": event.findtext(
                    f"{P}linkingAgentIdentifier/{P}linkingAgentIdentifierValue"
                ),
            }
        )
    return events


def test_catalog_results_have_program_structured_outcome_and_the_message_as_note(store) -> None:
    ingest_bytes(store, f"{CHECKSUM_MISMATCH}\n".encode(), source="prescat")
    [event] = _events(_export(store))
    assert event["detail"] == 'program="Preservation Catalog"'
    assert event["detail_fields"] == [
        ("check", "validate_checksums"),
        ("storage_root", "fixture_sr3"),
    ]
    assert event["outcome_fields"] == [
        ("result_code", "MOAB_FILE_CHECKSUM_MISMATCH"),
        (
            "file_path",
            "/services-disk02/sdr2objects/bj/102/hs/9687/bj102hs9687/v0001/data/content/"
            "eric-smith-dissertation.pdf",
        ),
    ]
    [note] = event["notes"]
    assert note.startswith("validate_checksums: checksums or size for /services-disk02/")
    assert "result code" not in note and "FixityChecked" not in str(event)


def test_one_agent_for_both_names_of_the_catalog(store) -> None:
    """The log says preservation_catalog, the replication event preservation-catalog."""
    ingest_bytes(store, OBJECT_LOG.encode())
    root = _export(store)
    catalog_events = [e for e in _events(root) if e["detail"] == 'program="Preservation Catalog"']
    assert {e["agent"] for e in catalog_events} == {"software/preservation_catalog"}
    assert {e["type"] for e in catalog_events} == {"replication", "fixity check"}
    names = [a.findtext(f"{P}agentName") for a in root.iter(f"{P}agent")]
    assert names.count("Preservation Catalog") == 1
    assert not any("preservation-catalog" in (name or "") for name in names)


def test_hosts_stated_by_logs_and_events_are_kept_in_the_detail_extension(store) -> None:
    ingest_bytes(store, OBJECT_LOG.encode())
    ingest_bytes(store, f"{VALIDATE_MOAB}\n".encode(), source="robots")
    events = _events(_export(store))
    replication = next(e for e in events if e["type"] == "replication")
    assert ("host", "preservation-catalog-prod-04.stanford.edu") in replication["detail_fields"]
    validation = next(e for e in events if e["type"] == "validation")
    assert validation["detail_fields"] == [
        ("workflow", "preservationIngestWF"),
        ("step", "validate-moab"),
        ("host", HOST),
    ]


def test_repository_events_state_outcomes_and_never_only_their_type_as_note(store) -> None:
    ingest_bytes(store, f"{REPOSITORY_EVENTS}\n".encode(), source="sdr-events")
    events = {e["type"]: e for e in _events(_export(store))}
    registration, shelving = events["creation"], events["dissemination"]
    assert registration["outcome"] is None and registration["notes"] == []
    assert registration["detail_fields"] == [
        ("event_type", "registration"),
        ("host", "dor-services-app-prod-a.stanford.edu"),
    ]
    assert registration["detail"] == 'program="Argo"'
    assert shelving["outcome"] == "success" and shelving["notes"] == []
    assert ("event_type", "shelving_complete") in shelving["detail_fields"]


def test_a_repository_event_message_is_the_note(store) -> None:
    line = _repository_event("update", 4, message="descriptive metadata updated")
    ingest_bytes(store, f"{line}\n".encode(), source="sdr-events")
    [event] = _events(_export(store))
    assert event["notes"] == ["descriptive metadata updated"]
    assert event["outcome"] is None


@pytest.mark.parametrize(
    ("event_type", "outcome"),
    [
        ("shelving_complete", EventOutcome.SUCCESS),
        ("publishing_complete", EventOutcome.SUCCESS),
        ("preservation_audit_success", EventOutcome.SUCCESS),
        ("accession-success", EventOutcome.SUCCESS),
        ("publishing_errored", EventOutcome.FAIL),
        ("release-error", EventOutcome.FAIL),
        ("ingest_failed", EventOutcome.FAIL),
        ("registration", None),
        ("update", None),
        ("delete", None),
        ("embargo_released", None),
        ("something_new", None),
    ],
)
def test_outcome_of_repository_event_types(event_type: str, outcome: EventOutcome | None) -> None:
    assert outcome_of_repository_event(event_type) is outcome


def _metsrw_parse(detail: str) -> dict[str, str]:
    """What metsrw 0.7 parses from an eventDetail (PREMISEvent.parsed_event_detail)."""
    from metsrw.plugins.premisrw import PREMISEvent

    event = etree.Element(f"{P}event", version="3.0")
    information = etree.SubElement(event, f"{P}eventDetailInformation")
    # As the writer puts it in the document: characters XML cannot carry spelled visibly.
    etree.SubElement(information, f"{P}eventDetail").text = xml_safe(detail)
    return PREMISEvent.fromtree(event).parsed_event_detail


@given(
    name=st.text(min_size=1, max_size=20).filter(str.strip),
    version=st.none() | st.text(min_size=1, max_size=10).filter(str.strip),
)
def test_metsrw_reads_back_any_program_and_version(name: str, version: str | None) -> None:
    detail = event_detail(ResolvedAgent("software/x", name, "software", version))
    parsed = {key: unquote(unescape(value)) for key, value in _metsrw_parse(detail).items()}
    assert parsed == ({"program": name} | ({"version": version} if version else {}))


def test_a_plain_name_is_written_as_it_is() -> None:
    agent = ResolvedAgent("software/x", "Preservation Catalog", "software", "6.1.0")
    assert event_detail(agent) == 'program="Preservation Catalog"; version="6.1.0"'


def test_the_agents_file_renames_agents_in_the_export(store, tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_text('[agents.preservation_catalog]\nname = "PresCat"\n', encoding="utf-8")
    ingest_bytes(store, OBJECT_LOG.encode())
    root = _export(store, ExportOptions(agents=load_registry(path)))
    names = {a.findtext(f"{P}agentName") for a in root.iter(f"{P}agent")}
    assert "PresCat" in names
    # The key's other spelling (the events' invoked_by) is still the same agent.
    assert "preservation-catalog" not in names and "Preservation Catalog" not in names


def test_a_version_stated_by_a_log_is_in_the_detail_and_its_own_agent_record(store) -> None:
    lines = [
        "2026-02-04T09:00:00.000Z pid=1 tid=t version=2.4.1 INFO: "
        "druid:bj102hs9687 processing shelve (accessionWF)",
        "2026-02-04T09:00:01.000Z pid=1 tid=t version=2.4.1 INFO: "
        "Finished druid:bj102hs9687 in 1.0000s",
    ]
    ingest_bytes(store, "\n".join(lines).encode() + b"\n", source="robots")
    root = _export(store)
    [event] = _events(root)
    assert event["detail"] == 'program="common-accessioning"; version="2.4.1"'
    assert event["agent"] == "software/common-accessioning@2.4.1"
    versions = {
        a.findtext(f"{P}agentIdentifier/{P}agentIdentifierValue"): a.findtext(f"{P}agentVersion")
        for a in root.iter(f"{P}agent")
    }
    assert versions["software/common-accessioning@2.4.1"] == "2.4.1"
