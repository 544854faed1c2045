"""One object of each kind, logs to PREMIS XML, held byte for byte and read as an auditor would.

Kinds: an audit failure the catalog also notified (`preservation_audit_failure`), a version
replicated to three endpoints (and audited there), an ingest with its robot steps, and a
registration with its accessioning (shelving notified by `shelving_complete`). Each document is
XSD-valid, the same whichever source was loaded first, equal to its golden file
(`UPDATE_GOLDEN=1` rewrites them), and:
- every linking identifier resolves to an object described in the same document, with the role
  the object table gives (`provenance.query.premis_objects`);
- every catalog result's eventType and outcome are the reviewed table's
  (`provenance.domain.result_codes`);
- a notification adds no event: it is named in the event of the action it repeats.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from lxml import etree

from eventstore.sqlite import SQLiteEventStore
from provenance.domain.result_codes import meaning
from provenance.query.premis_export import ExportOptions, export_object
from tests.conftest import ingest_bytes
from tests.premis_helpers import assert_valid_premis

GOLDEN = Path(__file__).parent / "golden" / "kinds"
P = "{http://www.loc.gov/premis/v3}"
X = "{urn:sdr-provenance:premis:}"


def _moab(druid: str, version: int, path: str) -> str:
    bare = druid
    return (
        f"/services-disk02/sdr2objects/{bare[:2]}/{bare[2:5]}/{bare[5:7]}/{bare[7:]}/{bare}/"
        f"v{version:04d}/{path}"
    )


def _catalog(when: str, severity: str, check: str, druid: str, area: str, message: str) -> str:
    """A preservation catalog result in Ruby Logger layout (read in Los Angeles time)."""
    return f"{severity[0]}, [{when} #4711] {severity:>5} -- : {check}({druid}, {area}) {message}"


def _event(druid: str, event_type: str, created_at: str, **data: object) -> str:
    return json.dumps(
        {
            "druid": f"druid:{druid}",
            "event_type": event_type,
            "data": data,
            "created_at": created_at,
        }
    )


def _steps(druid: str, workflow: str, start: str, steps: list[str]) -> list[str]:
    """Robot lines: `processing` then `Finished` for each step, a minute apart."""
    lines = []
    for number, step in enumerate(steps):
        at = f"{start}:{number:02d}"
        lines.append(
            f"{at}:00.000Z pid=12 tid=t{number} INFO: druid:{druid} processing {step} ({workflow})"
        )
        lines.append(f"{at}:04.250Z pid=12 tid=t{number} INFO: Finished druid:{druid} in 4.2500s")
    return lines


# --- an audit failure, notified --------------------------------------------------------------
AUDITED = "cd234fg5678"
_MISMATCH = (
    f"checksums or size for {_moab(AUDITED, 2, 'data/content/report.pdf')} version 2 do not "
    "match entry in latest signatureCatalog.xml."
)
_NOT_IN_MANIFEST = (
    f"Moab file {_moab(AUDITED, 2, 'data/content/extra.txt')} was not found in Moab manifest "
    f"{_moab(AUDITED, 2, 'manifests/manifestInventory.xml')}"
)
_INVALID = (
    "Invalid Moab, validation errors: "
    "[\"Version directory name not in 'v00xx' format: original-v1\"]"
)
_AUDIT_BASE = {
    "host": "preservation-catalog-prod-02.stanford.edu",
    "invoked_by": "preservation-catalog",
    "storage_area": "services-disk02",
    "actual_version": 2,
}
AUDIT = (
    [
        _catalog(
            "2026-03-01T22:14:05.100000",
            "ERROR",
            "validate_checksums",
            AUDITED,
            "services-disk02",
            _MISMATCH,
        ),
        _catalog(
            "2026-03-01T22:14:05.101000",
            "ERROR",
            "validate_checksums",
            AUDITED,
            "services-disk02",
            _NOT_IN_MANIFEST,
        ),
        _catalog(
            "2026-03-01T22:14:05.102000",
            "INFO",
            "validate_checksums",
            AUDITED,
            "services-disk02",
            "MoabRecord status changed from ok to invalid_checksum",
        ),
        _catalog(
            "2026-03-05T03:00:00.000001",
            "ERROR",
            "validate_checksums",
            AUDITED,
            "services-disk02",
            "unable to validate when MoabRecord status is invalid_checksum",
        ),
        _catalog(
            "2026-03-09T03:00:00.000001",
            "ERROR",
            "validate_checksums",
            AUDITED,
            "services-disk02",
            _INVALID,
        ),
    ],
    [
        _event(
            AUDITED,
            "preservation_audit_failure",
            "2026-03-02T06:14:06Z",
            **_AUDIT_BASE,
            check_name="preservation-audit",
            error="validate_checksums (actual location: services-disk02; actual version: 2) "
            f"{_MISMATCH} && {_NOT_IN_MANIFEST}",
        ),
        _event(
            AUDITED,
            "preservation_audit_failure",
            "2026-03-09T10:00:01Z",
            **_AUDIT_BASE,
            check_name="moab-valid",
            error="validate_checksums (actual location: services-disk02; actual version: 2) "
            f"|| {_INVALID}",
        ),
    ],
)

# --- a version replicated to three endpoints, audited there ----------------------------------
REPLICATED = "dg345hj6789"
_KEY = f"dg/345/hj/6789/{REPLICATED}.v0001"
_ENDPOINTS = ("aws_s3_west_2", "aws_s3_east_1", "gcp_s3_south_1")
REPLICATION = (
    [
        _catalog(
            "2026-04-01T01:00:00.000001",
            "ERROR",
            "ReplicationAudit",
            REPLICATED,
            "gcp_s3_south_1",
            f"replicated part not found on gcp_s3_south_1: {_KEY}.z01 was not found on "
            "sul-sdr-gcp-bucket",
        ),
        _catalog(
            "2026-04-01T01:00:00.000002",
            "WARN",
            "ReplicationAudit",
            REPLICATED,
            "gcp_s3_south_1",
            "1 on gcp_s3_south_1: not all ZippedMoabVersion parts are replicated yet",
        ),
    ],
    [
        _event(
            REPLICATED,
            "druid_version_replicated",
            f"2026-03-20T10:0{number}:00Z",
            host="preservation-catalog-prod-04.stanford.edu",
            invoked_by="preservation-catalog",
            version=1,
            endpoint_name=endpoint,
            parts_info=[
                {
                    "s3_key": f"{_KEY}.zip",
                    "size": 10_485_760,
                    "md5": "00112233445566778899aabbccddeeff",
                },
                {"s3_key": f"{_KEY}.z01", "size": 2_048, "md5": "ffeeddccbbaa99887766554433221100"},
            ],
        )
        for number, endpoint in enumerate(_ENDPOINTS)
    ],
)

# --- an ingest with its robot steps ----------------------------------------------------------
INGESTED = "fh456jk7890"
INGEST = (
    _steps(
        INGESTED,
        "preservationIngestWF",
        "2026-02-10T09",
        [
            "start-ingest",
            "transfer-object",
            "validate-bag",
            "update-moab",
            "validate-moab",
            "update-catalog",
            "complete-ingest",
        ],
    ),
    [
        _event(
            INGESTED,
            "version_close",
            "2026-02-10T08:50:00Z",
            host="dor-services-app-prod-a",
            invoked_by="dor-services-app",
            version=1,
        ),
    ],
)

# --- a registration and its accessioning, shelving notified -----------------------------------
REGISTERED = "gj567km8901"
REGISTRATION = (
    _steps(REGISTERED, "accessionWF", "2026-01-05T10", ["technical-metadata", "shelve", "publish"]),
    [
        _event(
            REGISTERED,
            "registration",
            "2026-01-05T09:00:00Z",
            host="argo-prod-01",
            invoked_by="argo",
        ),
        _event(
            REGISTERED,
            "accession_request",
            "2026-01-05T09:30:00Z",
            host="argo-prod-01",
            invoked_by="argo",
            version=1,
        ),
        _event(
            REGISTERED,
            "shelving_complete",
            "2026-01-05T10:01:06Z",
            host="common-accessioning-prod-a",
            invoked_by="common-accessioning",
            version=1,
        ),
        _event(
            REGISTERED,
            "publishing_complete",
            "2026-01-05T10:02:07Z",
            host="common-accessioning-prod-a",
            invoked_by="common-accessioning",
            version=1,
        ),
    ],
)

KINDS = {
    "audit-failure-notified": (AUDITED, AUDIT, 3),
    "replication-three-endpoints": (REPLICATED, REPLICATION, 5),
    "ingest-robot-steps": (INGESTED, INGEST, 5),
    "registration-accessioned": (REGISTERED, REGISTRATION, 4),
}


def _document(tmp_path: Path, druid: str, parts: list[list[str]], name: str) -> bytes:
    with SQLiteEventStore(tmp_path / f"{name}.db") as store:
        for lines in parts:
            data = ("\n".join(lines) + "\n").encode()
            ingest_bytes(store, data, name="events.jsonl" if lines[0].startswith("{") else "x.log")
        out = io.BytesIO()
        export_object(store, druid, options=ExportOptions(), stdout=out)
        return out.getvalue()


def _code(element: etree._Element, tag: str) -> str:
    found = element.find(f".//{P}{tag}")
    return "" if found is None else (found.get("valueURI") or "").rsplit("/", 1)[-1]


# What each eventType's links say (the role table of `provenance.query.premis_objects`).
_OUT_OF = {
    "cre": {"druid"},
    "mem": {"druid"},
    "poa": {"druid"},
    "ing": {"druid version"},
    "ine": {"druid version"},
    "rep": {"zip part copy"},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_is_its_golden_document_and_means_what_the_tables_say(
    tmp_path: Path, kind: str
) -> None:
    druid, (logs, events), expected_events = KINDS[kind]
    document = _document(tmp_path, druid, [logs, events], "logs-first")
    assert _document(tmp_path, druid, [events, logs], "events-first") == document
    assert_valid_premis(document)
    golden = GOLDEN / f"{kind}.premis.xml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(document)
    assert document == golden.read_bytes()

    root = etree.fromstring(document)
    described = {
        (
            o.findtext(f"{P}objectIdentifier/{P}objectIdentifierType"),
            o.findtext(f"{P}objectIdentifier/{P}objectIdentifierValue"),
        )
        for o in root.iter(f"{P}object")
    }
    agents = {
        a.findtext(f"{P}agentIdentifier/{P}agentIdentifierValue") for a in root.iter(f"{P}agent")
    }
    events = list(root.iter(f"{P}event"))
    assert len(events) == expected_events
    for event in events:
        code = _code(event, "eventType")
        for link in event.iter(f"{P}linkingObjectIdentifier"):
            key = (
                link.findtext(f"{P}linkingObjectIdentifierType"),
                link.findtext(f"{P}linkingObjectIdentifierValue"),
            )
            assert key in described, f"{key} is linked but not described"
            role = _code(link, "linkingObjectRole")
            assert role == ("out" if key[0] in _OUT_OF.get(code, ()) else "sou"), (code, key)
        for link in event.iter(f"{P}linkingAgentIdentifier"):
            assert link.findtext(f"{P}linkingAgentIdentifierValue") in agents
        result = event.findtext(f".//{X}result_code")
        if result is not None:
            rule = meaning(result, event.findtext(f".//{X}check") or "")
            assert (code, _code(event, "eventOutcome")) == (
                rule.premis_type,
                (rule.outcome or "")[:3],
            ), result
    # A notification is named in the event of the action it repeats, never an event of its own.
    notified = {e.findtext(f".//{X}report_id") for e in events} - {None}
    identifiers = {e.findtext(f"{P}eventIdentifier/{P}eventIdentifierValue") for e in events}
    assert not notified & identifiers
    if kind in ("audit-failure-notified", "registration-accessioned"):
        assert notified
