"""Test helpers for PREMIS in METS: the METS XSD check, and the events as metsrw and as the
PREMIS XML state them (`from tests.mets_helpers import ...`; metsrw is a test dependency)."""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple

import metsrw
import pytest
from lxml import etree

from premis.schema import schema_path

PREMIS = "{http://www.loc.gov/premis/v3}"
# mets.xsd imports xlink.xsd from loc.gov; offline, this stand-in declares what METS refers to
# (attributes and attribute groups, with any xlink attribute allowed where the groups are used).
_XLINK = "http://www.w3.org/1999/xlink"
_XLINK_ATTRIBUTES = (
    "href",
    "role",
    "arcrole",
    "title",
    "show",
    "actuate",
    "label",
    "from",
    "to",
    "type",
)
_XLINK_GROUPS = ("simpleLink", "extendedLink", "locatorLink", "arcLink", "extendLink")
_XLINK_STUB = (
    f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{_XLINK}" '
    'attributeFormDefault="qualified">'
    + "".join(f'<xs:attribute name="{name}" type="xs:string"/>' for name in _XLINK_ATTRIBUTES)
    + "".join(
        f'<xs:attributeGroup name="{name}"><xs:anyAttribute namespace="{_XLINK}" '
        'processContents="lax"/></xs:attributeGroup>'
        for name in _XLINK_GROUPS
    )
    + "</xs:schema>"
)


class _OfflineXlink(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        if system_url.endswith("xlink.xsd"):
            return self.resolve_string(_XLINK_STUB, context)
        return None


@functools.cache
def _mets_schema() -> etree.XMLSchema:
    """METS 1.12.1 (metsrw's copy) and PREMIS 3.0 (the cached official XSD) in one schema, so
    the PREMIS in xmlData (processContents="lax") is checked too, xsi:type included."""
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_OfflineXlink())
    mets = Path(str(files("metsrw").joinpath("resources/mets.xsd"))).as_uri()
    driver = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:import namespace="http://www.loc.gov/METS/" schemaLocation="{mets}"/>
      <xs:import namespace="http://www.loc.gov/premis/v3"
          schemaLocation="{schema_path().as_uri()}"/>
    </xs:schema>"""
    return etree.XMLSchema(etree.fromstring(driver, parser))


def assert_valid_mets(document: bytes) -> None:
    """Fail the test unless `document` is valid METS 1.12.1 with valid PREMIS 3.0 in it."""
    schema = _mets_schema()
    if not schema.validate(etree.fromstring(document)):
        pytest.fail("not valid METS:\n" + str(schema.error_log), pytrace=False)


class EventFacts(NamedTuple):
    """What an auditor reads off an event: identifier, type, time, outcome, linked agents, and
    the eventDetail (`program="..."; version="..."` in this project's exports)."""

    identifier: str
    type: str
    date_time: str
    outcome: str
    agents: tuple[tuple[str, str, tuple[str, ...]], ...]
    detail: str


def events_read_by_metsrw(document: bytes, label: str) -> list[EventFacts]:
    """The events of a METS document as metsrw 0.7 reads them (premisrw, through the FSEntry
    its structMap div names): the way Archivematica's tools see them."""
    entry = metsrw.METSDocument.fromstring(document).get_file(type="Directory", label=label)
    facts = []
    for event in entry.get_premis_events():
        agents = tuple(
            (
                premis_find(link, "linking_agent_identifier_type"),
                premis_find(link, "linking_agent_identifier_value"),
                tuple(
                    str(child[-1])
                    for child in link.data
                    if isinstance(child, tuple) and child[0] == "linking_agent_role"
                ),
            )
            for link in event.findall("linking_agent_identifier")
        )
        outcome = event.findtext("event_outcome_information/event_outcome")
        detail = event.findtext("event_detail_information/event_detail")
        facts.append(
            EventFacts(
                event.event_identifier_value,
                event.event_type,
                event.event_date_time,
                outcome or "",
                agents,
                detail or "",
            )
        )
    return facts


def program_and_version_read_by_metsrw(document: bytes, label: str) -> list[dict[str, str]]:
    """Each event's eventDetail as metsrw 0.7 parses it (`PREMISEvent.parsed_event_detail`),
    the way Archivematica reads the program and version of an event."""
    entry = metsrw.METSDocument.fromstring(document).get_file(type="Directory", label=label)
    return [dict(event.parsed_event_detail) for event in entry.get_premis_events()]


def premis_find(link: Any, name: str) -> str:
    """The text of the child `name` of a premisrw element (its data is a tuple of tuples)."""
    return next(
        str(child[-1]) for child in link.data if isinstance(child, tuple) and child[0] == name
    )


def events_in_premis(document: bytes) -> list[EventFacts]:
    """The same facts read from a PREMIS XML or METS document with lxml, for comparison."""
    facts = []
    for event in etree.fromstring(document).iter(f"{PREMIS}event"):
        agents = tuple(
            (
                link.findtext(f"{PREMIS}linkingAgentIdentifierType") or "",
                link.findtext(f"{PREMIS}linkingAgentIdentifierValue") or "",
                tuple(role.text or "" for role in link.iter(f"{PREMIS}linkingAgentRole")),
            )
            for link in event.iter(f"{PREMIS}linkingAgentIdentifier")
        )
        facts.append(
            EventFacts(
                event.findtext(f"{PREMIS}eventIdentifier/{PREMIS}eventIdentifierValue") or "",
                event.findtext(f"{PREMIS}eventType") or "",
                event.findtext(f"{PREMIS}eventDateTime") or "",
                event.findtext(f"{PREMIS}eventOutcomeInformation/{PREMIS}eventOutcome") or "",
                agents,
                event.findtext(f"{PREMIS}eventDetailInformation/{PREMIS}eventDetail") or "",
            )
        )
    return facts
