"""PREMIS 3 in METS 1.12.1: the minimal document Archivematica's tools read, streamed.

Owns the METS wrapping only; the PREMIS elements are `premis.xml`'s own fragments (the same
bytes, indented four levels deeper), so the two forms cannot drift apart. The layout is the one
Archivematica writes and metsrw's `FSEntry.get_premis_objects/events/agents` read: one
`techMD` per object and one `digiprovMD` per event and per agent, each holding a single
`premis:object|event|agent` (which carries `version="3.0"`: metsrw reads an element without it
as PREMIS 2.2) in `mdWrap[@MDTYPE="PREMIS:OBJECT"|"PREMIS:EVENT"|"PREMIS:AGENT"]/xmlData`, and
a physical `structMap` whose one `div` (TYPE "Directory", labelled with the object's
identifier) points at the `amdSec`: METS requires a structMap, and metsrw reaches an amdSec only
through one.

    <mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:premis=".." xmlns:xsi=".."
        OBJID="bc123df4567" xsi:schemaLocation="http://www.loc.gov/METS/ ..mets.xsd
                                                http://www.loc.gov/premis/v3 ..premis.xsd">
      <mets:amdSec ID="amdSec_1">
        <mets:techMD ID="techMD_1">
          <mets:mdWrap MDTYPE="PREMIS:OBJECT" MDTYPEVERSION="3.0">
            <mets:xmlData>
              <premis:object xsi:type="premis:intellectualEntity" version="3.0">...
        <mets:digiprovMD ID="digiprovMD_1">  (MDTYPE="PREMIS:EVENT", then "PREMIS:AGENT")
      </mets:amdSec>
      <mets:structMap TYPE="physical" ID="structMap_1">
        <mets:div TYPE="Directory" LABEL="bc123df4567" ADMID="amdSec_1"/>
      </mets:structMap>
    </mets:mets>

There is no `metsHdr`: its CREATEDATE would make the document depend on the clock, and the
output is a pure function of the input like the PREMIS XML's.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import BinaryIO

from premis.errors import PremisModelError
from premis.escaping import xml_safe
from premis.model import AgentSource, Event, PremisObject, ReferencedAgents

# The element fragments are package-private to premis.xml, shared with this one writer.
from premis.xml import PREMIS_NS, PREMIS_VERSION, SCHEMA_LOCATION, XSI_NS, _agent, _event, _object

__all__ = ["METS_NS", "METS_SCHEMA_LOCATION", "mets_bytes", "write_mets"]

METS_NS = "http://www.loc.gov/METS/"
METS_SCHEMA_LOCATION = f"{METS_NS} http://www.loc.gov/standards/mets/version1121/mets.xsd"
AMD_SEC_ID = "amdSec_1"

_TAIL = (
    "\n  </mets:amdSec>"
    '\n  <mets:structMap TYPE="physical" ID="structMap_1">'
    '\n    <mets:div TYPE="Directory" LABEL="{label}" ADMID="' + AMD_SEC_ID + '"/>'
    "\n  </mets:structMap>"
    "\n</mets:mets>\n"
)
# Between two tags, a newline and spaces are indentation, and move four levels in. Raw "<" and
# ">" are always markup (premis.xml escapes them in text and attribute values), so a gap is
# found exactly; the one gap that is text is a start tag's whitespace-only content followed by
# its own end tag (say an eventDetail of "\n"), which is left as it is (the model refuses such
# text today; the rule does not lean on it). The fragment writer never writes self-closing tags.
_GAP = re.compile(r"(<(/?)[^<>]*>)(\n +)(?=<(/?))")
_SHIFT = " " * 8


def _gap(match: re.Match[str]) -> str:
    tag, closed, gap, closing = match.groups()
    if not closed and closing:
        return match.group(0)
    return tag + gap + _SHIFT


def _shifted(fragment: str) -> str:
    """A `premis.xml` fragment (starting with its own newline and depth-1 indent), 4 deeper."""
    return "\n" + _SHIFT + _GAP.sub(_gap, fragment[1:])


def _section(kind: str, number: int, mdtype: str, fragment: str) -> str:
    """<mets:{kind} ID="{kind}_{number}"> with one mdWrap/xmlData around `fragment`."""
    return (
        f'\n    <mets:{kind} ID="{kind}_{number}">'
        f'\n      <mets:mdWrap MDTYPE="{mdtype}" MDTYPEVERSION="{PREMIS_VERSION}">'
        "\n        <mets:xmlData>"
        f"{_shifted(fragment)}"
        "\n        </mets:xmlData>"
        "\n      </mets:mdWrap>"
        f"\n    </mets:{kind}>"
    )


def _attribute(value: str) -> str:
    """`value` as a double-quoted attribute's text, as libxml2 escapes it (`value` is
    XML-safe: checked by the caller)."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
    )


def write_mets(
    out: BinaryIO,
    objects: Iterable[PremisObject],
    events: Iterable[Event],
    agents: AgentSource,
    *,
    label: str,
) -> None:
    """Write one METS document holding the PREMIS of `premis.xml.write_document` to `out`,
    streaming in the same way: objects, then each event as `events` yields it, then the agent
    record of every agent the events link to (each once, in order of first reference).
    `label` (the object's identifier, say a druid) is the METS OBJID and the div's LABEL.

    Raises `PremisModelError` before writing anything when `objects` is empty or `label` cannot
    be written in XML, and as soon as an event links to an agent that does not resolve; `out`
    then holds an unfinished document, to be discarded.
    """
    if not label or xml_safe(label) != label:
        raise PremisModelError(f"a METS label must be plain XML attribute text: {label!r}")
    sections = [
        _section("techMD", number, "PREMIS:OBJECT", _object(obj))
        for number, obj in enumerate(objects, 1)
    ]
    if not sections:
        raise PremisModelError("a PREMIS document needs at least one object; none was given")
    referenced = ReferencedAgents(agents)
    out.write(
        (
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            f'<mets:mets xmlns:mets="{METS_NS}" xmlns:premis="{PREMIS_NS}" '
            f'xmlns:xsi="{XSI_NS}" OBJID="{_attribute(label)}" '
            f'xsi:schemaLocation="{METS_SCHEMA_LOCATION} {SCHEMA_LOCATION}">'
            f'\n  <mets:amdSec ID="{AMD_SEC_ID}">' + "".join(sections)
        ).encode()
    )
    number = 0
    for number, event in enumerate(events, 1):
        # Resolve first, so a bad link stops the document before its event is written.
        referenced.add_links(event)
        out.write(_section("digiprovMD", number, "PREMIS:EVENT", _event(event)).encode())
    agent_sections = (
        _section("digiprovMD", number + offset, "PREMIS:AGENT", _agent(agent))
        for offset, agent in enumerate(referenced, 1)
    )
    out.write(("".join(agent_sections) + _TAIL.format(label=_attribute(label))).encode())


def mets_bytes(
    objects: Iterable[PremisObject],
    events: Iterable[Event],
    agents: AgentSource,
    *,
    label: str,
) -> bytes:
    """`write_mets` into memory: the whole document as bytes (for small documents)."""
    buffer = io.BytesIO()
    write_mets(buffer, objects, events, agents, label=label)
    return buffer.getvalue()
