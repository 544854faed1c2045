"""PREMIS 3 export of one object with 100,000 events: `prov premis` against metsrw's premisrw.

What it measures, each run in a fresh child process (wall time, CPU time, the child's own peak
RSS; see `common.py`), `--repeats` times round-robin, medians reported:

- `prov premis druid:bc123df4567 --store sqlite:///<tmp>/premis.db -o <tmp>/prov.xml`, the real
  console script (read the object's events page by page, map them, stream the XML);
- the same with `--validate` (the written file is also checked against the PREMIS 3 XSD);
- `metsrw`: the same events built with metsrw's premisrw in PREMIS 3 mode and serialized to a
  file. It reads and maps the store exactly as `prov premis` does (`read_stream` pages,
  `load_event`, `provenance.query.premis_export.EventMapper`), then builds each event with
  `premisrw.PREMISEvent(premis_version="3.0", ...)` (identifier, type, date-time, detail,
  outcome, every outcome note, every linking agent with its role; controlled terms with the
  authority / authorityURI / valueURI attributes the project writes), appends the linking
  objects to the event's data tuple (PREMISEvent's schema has no linkingObjectIdentifier: the
  keyword is silently dropped), converts with `premisrw.data_to_premis`, appends each to one
  `premis:premis` root with the same objects (`data_to_premis` tuples: PREMISObject's defaults
  would add objectCharacteristics, which an intellectual entity may not have) and agents
  (`PREMISAgent`), then `ElementTree.write(pretty_print=True)`. As in metsrw's own use, the
  namespaces are not cleaned up, so every event keeps the unused declarations premisrw gives
  it (xlink, fits, MediaInfo); `etree.cleanup_namespaces` on the root would remove them but
  its time grows with the square of the number of events.
  metsrw builds an lxml tree, so the whole document is in memory before it is written;
- `read+map`: only the reading and mapping both share (no XML), so the writers' own costs
  can be told apart: `writer = total - read+map`.

The store: 100,000 prescat Ruby Logger lines for one druid, `validate_checksums(bc123df4567,
services-disk02) checksum(s) match` every 5 minutes with distinct microseconds, every 100th
a checksum mismatch naming a file and version (so 1,000 failures), ingested with
`provenance.ingest.pipeline.ingest_stream` (timed, for information). After the timed runs, both
documents are checked: the count of every element name must match, and the metsrw document is
validated against the PREMIS 3 XSD. Aims (issue): under 5 s and under 200 MB for `prov premis`.

Run: `.venv/bin/python bench/premis_export.py [--events 100000] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from common import MIB, PYTHON, fmt_int, median, prov_command, run_measured, runs_table

DRUID = "druid:bc123df4567"
TZ = "America/Los_Angeles"
AIM_SECONDS = 5.0
AIM_MIB = 200
PAGE = 1_000


# --- the store -----------------------------------------------------------------------------------


def write_lines(path: Path, count: int) -> int:
    """`count` prescat audit lines for one druid; returns how many are failures."""
    base = datetime(2020, 1, 1)
    failures = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            moment = base + timedelta(seconds=300 * i, microseconds=i % 1_000_000 or 1)
            stamp = f"{moment:%Y-%m-%dT%H:%M:%S.%f}"
            head = f"[{stamp} #{4000 + i % 7}]"
            args = "validate_checksums(bc123df4567, services-disk02)"
            if i % 100 == 99:
                failures += 1
                name = f"data/content/page_{i % 50 + 1:04d}.tif"
                message = f"checksums for {name} version {1 + i % 2} do not match."
                out.write(f"E, {head} ERROR -- : {args} {message}\n")
            else:
                out.write(f"I, {head}  INFO -- : {args} checksum(s) match\n")
    return failures


def build_store(directory: Path, count: int) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from eventstore import open_store
    from provenance.ingest.pipeline import ingest_stream
    from provenance.ingest.reader import IngestOptions

    lines = directory / "audit_checksum_validation.log"
    failures = write_lines(lines, count)
    db = directory / "premis.db"
    start = time.perf_counter()
    with open_store(f"sqlite:///{db}") as store, lines.open("rb") as stream:
        report = ingest_stream(
            store, stream, lines.name, IngestOptions(source="prescat", tz=ZoneInfo(TZ))
        )
    seconds = time.perf_counter() - start
    lines.unlink()
    return {
        "url": f"sqlite:///{db}",
        "events": report.events,
        "failures": failures,
        "ingest_s": seconds,
        "quarantined": report.quarantined,
    }


# --- children: metsrw, and read+map only ---------------------------------------------------------


def _events(store: Any, mapper: Any, stream: str) -> Iterator[Any]:
    """The object's PREMIS events, read and mapped exactly as `prov premis` does."""
    from provenance.query.premis_export import premis_events

    return premis_events(store, mapper, stream)


def _term(name: str, term: Any) -> tuple[Any, ...]:
    # premisrw turns snake_case attribute names into camelCase: authority_u_r_i -> authorityURI.
    attrs = {"authority": term.authority, "authority_u_r_i": term.authority_uri}
    attrs["value_u_r_i"] = term.uri
    return (name, attrs, term.label)


def _identifier(prefix: str, identifier: Any) -> tuple[tuple[str, str], tuple[str, str]]:
    return (f"{prefix}_type", identifier.type), (f"{prefix}_value", identifier.value)


def _event_kwargs(event: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "event_identifier_type": event.identifier.type,
        "event_identifier_value": event.identifier.value,
        "event_type": _term("event_type", event.type),
        "event_date_time": event.date_time.isoformat(),
        "linking_agent_identifier": [
            (
                "linking_agent_identifier",
                *_identifier("linking_agent_identifier", link.identifier),
                *(_term("linking_agent_role", role) for role in link.roles),
            )
            for link in event.agents
        ],
    }
    if event.detail is not None:
        kwargs["event_detail"] = event.detail
    if event.outcome is not None:
        kwargs["event_outcome"] = _term("event_outcome", event.outcome)
    if event.outcome_notes:
        kwargs["event_outcome_detail"] = [
            ("event_outcome_detail", ("event_outcome_detail_note", note))
            for note in event.outcome_notes
        ]
    return kwargs


def _linking_objects(event: Any) -> tuple[tuple[Any, ...], ...]:
    return tuple(
        (
            "linking_object_identifier",
            *_identifier("linking_object_identifier", link.identifier),
            *(_term("linking_object_role", role) for role in link.roles),
        )
        for link in event.objects
    )


def _object_data(obj: Any) -> tuple[Any, ...]:
    data: list[Any] = [
        "object",
        {"xsi:type": f"premis:{obj.category.value}"},
        ("object_identifier", *_identifier("object_identifier", obj.identifier)),
    ]
    for rel in obj.relationships:
        data.append(
            (
                "relationship",
                ("relationship_type", rel.type),
                ("relationship_sub_type", rel.sub_type.value),
                (
                    "related_object_identifier",
                    *_identifier("related_object_identifier", rel.related),
                ),
            )
        )
    return tuple(data)


def _child(mode: str, url: str, out: Path | None) -> dict[str, Any]:
    from eventstore import open_store
    from provenance.domain.druid import parse_druid
    from provenance.query.premis_export import EventMapper, ExportOptions, objects_for

    start = time.perf_counter()
    store = open_store(url, create=False)
    stream = parse_druid(DRUID).value
    mapper = EventMapper(stream, ExportOptions())
    count = 0
    if mode == "read-map":
        for _event in _events(store, mapper, stream):
            count += 1
        store.close()
        return {"events": count, "seconds": time.perf_counter() - start}

    from lxml import etree
    from metsrw.plugins import premisrw

    v3 = premisrw.PREMIS_3_0_VERSION
    ns = premisrw.PREMIS_3_0_NAMESPACE
    xsi = premisrw.XSI_NAMESPACE
    root = etree.Element(
        f"{{{ns}}}premis",
        {"version": v3, f"{{{xsi}}}schemaLocation": premisrw.PREMIS_3_0_SCHEMA_LOCATION},
        nsmap={"premis": ns, "xsi": xsi},
    )
    for obj in objects_for(store, stream):
        root.append(premisrw.data_to_premis(_object_data(obj), v3))
    referenced: dict[str, None] = {}
    for event in _events(store, mapper, stream):
        built = premisrw.PREMISEvent(premis_version=v3, **_event_kwargs(event))
        root.append(premisrw.data_to_premis(built.data + _linking_objects(event), v3))
        for link in event.agents:
            referenced.setdefault(link.identifier.value, None)
        count += 1
    for value in referenced:
        agent = mapper.agents[value]
        built_agent = premisrw.PREMISAgent(
            premis_version=v3,
            agent_identifier_type=agent.identifier.type,
            agent_identifier_value=agent.identifier.value,
            agent_name=agent.name,
            agent_type=_term("agent_type", agent.type),
        )
        root.append(built_agent.serialize())
    store.close()
    # No `etree.cleanup_namespaces(root)`: metsrw never calls it, and in lxml it grows with the
    # square of the children here; each event keeps the declarations premisrw gives it.
    assert out is not None
    etree.ElementTree(root).write(
        str(out), encoding="UTF-8", xml_declaration=True, pretty_print=True
    )
    return {"events": count, "seconds": time.perf_counter() - start}


# --- the parent ----------------------------------------------------------------------------------


class _TagCounter:
    """An lxml parser target: counts element names, builds no tree."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def start(self, tag: str, attrib: Any) -> None:
        self.counts[tag] += 1

    def close(self) -> Counter[str]:
        return self.counts


def tag_counts(path: Path) -> Counter[str]:
    from lxml import etree

    return etree.parse(str(path), etree.XMLParser(target=_TagCounter(), huge_tree=True))  # type: ignore[return-value]


def measure(count: int, repeats: int) -> dict[str, Any]:
    prov = prov_command()
    with tempfile.TemporaryDirectory(prefix="bench-premis-") as tmp:
        directory = Path(tmp)
        store = build_store(directory, count)
        url = store["url"]
        prov_xml, metsrw_xml = directory / "prov.xml", directory / "metsrw.xml"
        commands = {
            "prov premis": [prov, "premis", DRUID, "--store", url, "-o", str(prov_xml)],
            "prov premis --validate": [
                *[prov, "premis", DRUID, "--store", url, "-o", str(prov_xml)],
                "--validate",
            ],
            "metsrw premisrw": [
                *[PYTHON, __file__, "--child", "metsrw", "--store", url],
                *["--out", str(metsrw_xml)],
            ],
            "read+map only": [PYTHON, __file__, "--child", "read-map", "--store", url],
        }
        runs: dict[str, list[Any]] = {name: [] for name in commands}
        for _ in range(repeats):
            for name, cmd in commands.items():
                runs[name].append(run_measured(cmd))
        figures: dict[str, Any] = {"store": store, "repeats": repeats, "runs": {}}
        for name, done in runs.items():
            figures["runs"][name] = {
                "wall_s": median([run.wall_s for run in done]),
                "cpu_s": median([run.cpu_s for run in done]),
                "max_rss_mib": max(run.max_rss_mib for run in done),
                "walls": [run.wall_s for run in done],
            }
        figures["runs"]["prov premis"]["size_mib"] = prov_xml.stat().st_size / MIB
        figures["runs"]["metsrw premisrw"]["size_mib"] = metsrw_xml.stat().st_size / MIB
        ratios = [
            m.wall_s / p.wall_s
            for m, p in zip(runs["metsrw premisrw"], runs["prov premis"], strict=True)
        ]
        figures["per_round_ratio"] = (min(ratios), max(ratios))

        import premis

        prov_tags, metsrw_tags = tag_counts(prov_xml), tag_counts(metsrw_xml)
        figures["events_in_documents"] = (
            prov_tags["{http://www.loc.gov/premis/v3}event"],
            metsrw_tags["{http://www.loc.gov/premis/v3}event"],
        )
        figures["same_element_counts"] = prov_tags == metsrw_tags
        figures["element_differences"] = {
            tag: (prov_tags[tag], metsrw_tags[tag])
            for tag in sorted(set(prov_tags) | set(metsrw_tags))
            if prov_tags[tag] != metsrw_tags[tag]
        }
        figures["metsrw_valid"] = premis.is_valid(metsrw_xml)
    return figures


def markdown(figures: dict[str, Any]) -> str:
    store = figures["store"]
    runs = figures["runs"]
    prov, metsrw, base = runs["prov premis"], runs["metsrw premisrw"], runs["read+map only"]
    out = [
        "### 3. PREMIS export of one object with "
        f"{fmt_int(figures['events_in_documents'][0])} events",
        "",
        f"Store: {fmt_int(store['events'])} events for {DRUID} ({fmt_int(store['failures'])} "
        f"failures), ingested in-process with `ingest_stream` in {store['ingest_s']:.1f} s "
        f"({fmt_int(store['events'] / store['ingest_s'])} lines/s). Median of "
        f"{figures['repeats']} runs each, fresh process per run; peak RSS is the largest. "
        f"Aims: under {AIM_SECONDS:.0f} s and under {AIM_MIB} MB.",
        "",
        *runs_table(runs),
    ]
    low, high = figures["per_round_ratio"]
    prov_writer = prov["wall_s"] - base["wall_s"]
    metsrw_writer = metsrw["wall_s"] - base["wall_s"]
    seconds_ok = "meets" if prov["wall_s"] < AIM_SECONDS else "misses"
    memory_ok = "meets" if prov["max_rss_mib"] * MIB / 1e6 < AIM_MIB else "misses"
    out += [
        "",
        f"- metsrw / prov premis, wall: {metsrw['wall_s'] / prov['wall_s']:.2f}× (per-round "
        f"{low:.2f}–{high:.2f}×); peak RSS: {metsrw['max_rss_mib'] / prov['max_rss_mib']:.1f}×.",
        f"- writer only (total − read+map): prov premis {prov_writer:.2f} s, metsrw "
        f"{metsrw_writer:.2f} s ({metsrw_writer / prov_writer:.1f}×).",
        f"- `prov premis` {seconds_ok} the time aim ({prov['wall_s']:.2f} s) and {memory_ok} "
        f"the memory aim ({prov['max_rss_mib'] * MIB / 1e6:.0f} MB).",
        f"- Same count of every element name in both documents: "
        f"{'yes' if figures['same_element_counts'] else 'no'}"
        + (
            f" (differences: {figures['element_differences']})"
            if figures["element_differences"]
            else ""
        )
        + f"; metsrw document valid against the PREMIS 3 XSD: "
        f"{'yes' if figures['metsrw_valid'] else 'no'}.",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--child", choices=("metsrw", "read-map"), help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.store, args.out)))
        return 0
    figures = measure(args.events, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    print(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
