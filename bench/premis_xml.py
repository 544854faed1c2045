"""PREMIS XML writer of one object with 100,000 events, against a bare `lxml.etree.xmlfile` floor.

The store is bench/premis_export.py's (100,000 prescat `validate_checksums` lines for one druid,
every 100th a checksum mismatch naming a file and version). Its events are read and mapped once,
exactly as `prov premis` does (`objects_for`, then `premis_events`: `read_stream` pages read as
actions, `EventMapper.action_to_premis`), into a list of `premis.model.Event`s in memory; then,
round-robin `--repeats` times in this process, each writer writes the whole document to a file in a
temporary directory (`open(path, "wb")`), timed with `time.perf_counter` (medians reported):

- `premis.xml.write_document`: the writer `prov premis` uses (the fragment writer);
- `floor`: a minimal writer of the same document with `lxml.etree.xmlfile`: one `xf.element`
  per element, `xf.write` of each text, attribute dicts made once per vocabulary term, the
  elements, attributes and text in the same order, indentation written as text, no
  per-event node building, no `xml_safe` or `DISGUISED` handling (this store's text needs
  none) and no flush per event; the floor's output is checked to be byte-identical to
  `write_document`'s;
- `before`: the writer as it was (tests/premis/xml_reference.py: a `_Node` tree per event
  written element by element through `xmlfile`), also checked byte-identical.

Then the whole `prov premis druid:bc123df4567 --store sqlite:///<tmp>/premis.db -o <tmp>/x.xml`,
each run a fresh process (bench/common.py's launcher: wall, CPU, peak RSS), with the writer as
it is, and with `before` put in its place (`premis.write_document` set to the reference's before
the CLI runs), round-robin, medians. Target (issue 13): write_document / floor <= 1.5.

Run: `.venv/bin/python bench/premis_xml.py [--events 100000] [--repeats 5]`.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

from common import PYTHON, REPO, fmt_int, machine_lines, median, prov_command, run_measured
from premis_export import DRUID, build_store

TARGET = 1.5
Writer = Callable[[BinaryIO, Any, Iterable[Any], Any], None]


def _reference() -> ModuleType:
    """tests/premis/xml_reference.py, loaded by path (bench/ is not a package of the project)."""
    spec = importlib.util.spec_from_file_location(
        "premis_xml_reference", REPO / "tests" / "premis" / "xml_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the floor: a bare xmlfile writer of the same document ---------------------------------------


def floor_writer(out: BinaryIO, objects: Any, events: Iterable[Any], agents: Any) -> None:
    """The document `premis.xml.write_document` writes, element by element with `xmlfile`."""
    from lxml import etree

    from premis.vocabulary import StructuralRelationship
    from premis.xml import PREMIS_NS, SCHEMA_LOCATION, XSI_NS

    p = f"{{{PREMIS_NS}}}"
    attribs: dict[Any, dict[str, str]] = {}

    def term(xf: Any, indent: str, name: str, value: Any) -> None:
        attrib = attribs.get(value)
        if attrib is None:
            attrib = {"authority": value.authority, "authorityURI": value.authority_uri}
            attrib["valueURI"] = value.uri
            attribs[value] = attrib
        xf.write(indent)
        with xf.element(p + name, attrib):
            xf.write(value.label)

    def leaf(xf: Any, indent: str, name: str, text: str) -> None:
        xf.write(indent)
        with xf.element(p + name):
            xf.write(text)

    def identifier(xf: Any, depth: int, prefix: str, ident: Any) -> None:
        outer, inner = "\n" + "  " * depth, "\n" + "  " * (depth + 1)
        xf.write(outer)
        with xf.element(p + prefix):
            leaf(xf, inner, prefix + "Type", ident.type)
            leaf(xf, inner, prefix + "Value", ident.value)
            xf.write(outer)

    def extension(xf: Any, depth: int, name: str, ext: Any) -> None:
        outer, inner = "\n" + "  " * depth, "\n" + "  " * (depth + 1)
        ns = f"{{{ext.namespace}}}"
        xf.write(outer)
        with xf.element(p + name, nsmap={ext.prefix: ext.namespace}):
            for field in ext.fields:
                xf.write(inner)
                with xf.element(ns + field.name):
                    xf.write(field.value)
            xf.write(outer)

    def links(xf: Any, prefix: str, role_name: str, linked: Any) -> None:
        for link in linked:
            xf.write("\n    ")
            with xf.element(p + prefix):
                leaf(xf, "\n      ", prefix + "Type", link.identifier.type)
                leaf(xf, "\n      ", prefix + "Value", link.identifier.value)
                for role in link.roles:
                    term(xf, "\n      ", role_name, role)
                xf.write("\n    ")

    referenced: dict[Any, Any] = {}
    root = {"version": "3.0", f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATION}
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(p + "premis", root, nsmap={"premis": PREMIS_NS, "xsi": XSI_NS}):
            for obj in objects:
                xf.write("\n  ")
                with xf.element(
                    p + "object",
                    {f"{{{XSI_NS}}}type": f"premis:{obj.category.value}", "version": "3.0"},
                ):
                    identifier(xf, 2, "objectIdentifier", obj.identifier)
                    if obj.format_name is not None:  # this store's files: no fixity, no size
                        xf.write("\n    ")
                        with xf.element(p + "objectCharacteristics"):
                            xf.write("\n      ")
                            with xf.element(p + "format"):
                                xf.write("\n        ")
                                with xf.element(p + "formatDesignation"):
                                    leaf(xf, "\n          ", "formatName", obj.format_name)
                                    xf.write("\n        ")
                                xf.write("\n      ")
                            xf.write("\n    ")
                    for storage in obj.storage:  # no storage medium in this store
                        xf.write("\n    ")
                        with xf.element(p + "storage"):
                            xf.write("\n      ")
                            with xf.element(p + "contentLocation"):
                                leaf(xf, "\n        ", "contentLocationType", storage.location_type)
                                leaf(xf, "\n        ", "contentLocationValue", storage.location)
                                xf.write("\n      ")
                            xf.write("\n    ")
                    for rel in obj.relationships:
                        xf.write("\n    ")
                        with xf.element(p + "relationship"):
                            leaf(xf, "\n      ", "relationshipType", rel.type)
                            sub_type = StructuralRelationship[rel.sub_type.name]
                            term(xf, "\n      ", "relationshipSubType", sub_type)
                            identifier(xf, 3, "relatedObjectIdentifier", rel.related)
                            xf.write("\n    ")
                    xf.write("\n  ")
            for event in events:
                xf.write("\n  ")
                with xf.element(p + "event", {"version": "3.0"}):
                    identifier(xf, 2, "eventIdentifier", event.identifier)
                    term(xf, "\n    ", "eventType", event.type)
                    leaf(xf, "\n    ", "eventDateTime", event.date_time.isoformat())
                    if event.detail is not None or event.detail_extensions:
                        xf.write("\n    ")
                        with xf.element(p + "eventDetailInformation"):
                            if event.detail is not None:
                                leaf(xf, "\n      ", "eventDetail", event.detail)
                            for ext in event.detail_extensions:
                                extension(xf, 3, "eventDetailExtension", ext)
                            xf.write("\n    ")
                    outcome_details = [(note,) for note in event.outcome_notes]
                    if event.outcome_extensions and not outcome_details:
                        outcome_details = [()]
                    if event.outcome is not None or outcome_details:
                        xf.write("\n    ")
                        with xf.element(p + "eventOutcomeInformation"):
                            if event.outcome is not None:
                                term(xf, "\n      ", "eventOutcome", event.outcome)
                            for index, note in enumerate(outcome_details):
                                xf.write("\n      ")
                                with xf.element(p + "eventOutcomeDetail"):
                                    if note:
                                        leaf(xf, "\n        ", "eventOutcomeDetailNote", note[0])
                                    # The extensions go with the first detail.
                                    for ext in () if index else event.outcome_extensions:
                                        extension(xf, 4, "eventOutcomeDetailExtension", ext)
                                    xf.write("\n      ")
                            xf.write("\n    ")
                    links(xf, "linkingAgentIdentifier", "linkingAgentRole", event.agents)
                    links(xf, "linkingObjectIdentifier", "linkingObjectRole", event.objects)
                    for link in event.agents:
                        referenced.setdefault(link.identifier, agents[link.identifier.value])
                    xf.write("\n  ")
            for agent in referenced.values():
                xf.write("\n  ")
                with xf.element(p + "agent", {"version": "3.0"}):
                    identifier(xf, 2, "agentIdentifier", agent.identifier)
                    leaf(xf, "\n    ", "agentName", agent.name)
                    term(xf, "\n    ", "agentType", agent.type)
                    if agent.version is not None:
                        leaf(xf, "\n    ", "agentVersion", agent.version)
                    for note in agent.notes:
                        leaf(xf, "\n    ", "agentNote", note)
                    xf.write("\n  ")
            xf.write("\n")
    out.write(b"\n")


# --- in-process: read and map once, then each writer ---------------------------------------------


def _model(url: str) -> tuple[list[Any], list[Any], Any, float]:
    from eventstore import open_store
    from provenance.domain.druid import parse_druid
    from provenance.query.premis_export import (
        EventMapper,
        ExportOptions,
        objects_for,
        premis_events,
    )

    start = time.perf_counter()
    store = open_store(url, create=False)
    stream = parse_druid(DRUID).value
    mapper = EventMapper(stream, ExportOptions())
    objects = list(objects_for(store, stream))
    events = list(premis_events(store, mapper, stream))
    store.close()
    return objects, events, mapper.agents, time.perf_counter() - start


def _timed(writer: Writer, path: Path, model: tuple[Any, Any, Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    with path.open("wb") as out:
        writer(out, *model)
    return time.perf_counter() - start


def writers_in_process(url: str, directory: Path, repeats: int) -> dict[str, Any]:
    import premis

    objects, events, agents, read_map_s = _model(url)
    writers: dict[str, Writer] = {
        "write_document": premis.write_document,
        "floor (bare xmlfile)": floor_writer,
        "before (node tree)": _reference().write_document,
    }
    paths = {name: directory / f"writer-{index}.xml" for index, name in enumerate(writers)}
    times: dict[str, list[float]] = {name: [] for name in writers}
    for _ in range(repeats):
        for name, writer in writers.items():
            times[name].append(_timed(writer, paths[name], (objects, events, agents)))
    produced = {name: path.read_bytes() for name, path in paths.items()}
    first = produced["write_document"]
    return {
        "events": len(events),
        "read_map_s": read_map_s,
        "bytes": len(first),
        "times": times,
        "identical": {name: data == first for name, data in produced.items()},
    }


# --- whole `prov premis`, before and after -------------------------------------------------------


def _prov_before(url: str, out: Path) -> None:
    """`prov premis` with the reference writer in `premis.write_document`'s place."""
    import premis
    from provenance.cli.main import main

    premis.write_document = _reference().write_document
    main(["premis", DRUID, "--store", url, "-o", str(out)])


def whole_command(url: str, directory: Path, repeats: int) -> dict[str, Any]:
    after_xml, before_xml = directory / "after.xml", directory / "before.xml"
    commands = {
        "prov premis": [prov_command(), "premis", DRUID, "--store", url, "-o", str(after_xml)],
        "prov premis, before": [
            *[PYTHON, __file__, "--child", "prov-before", "--store", url],
            *["--out", str(before_xml)],
        ],
    }
    runs: dict[str, list[Any]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, cmd in commands.items():
            runs[name].append(run_measured(cmd))
    return {
        "runs": {
            name: {
                "wall_s": median([run.wall_s for run in done]),
                "cpu_s": median([run.cpu_s for run in done]),
                "max_rss_mib": max(run.max_rss_mib for run in done),
            }
            for name, done in runs.items()
        },
        "identical": after_xml.read_bytes() == before_xml.read_bytes(),
    }


def measure(count: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-premis-xml-") as tmp:
        directory = Path(tmp)
        store = build_store(directory, count)
        writers = writers_in_process(store["url"], directory, repeats)
        whole = whole_command(store["url"], directory, max(1, repeats // 2))
    return {"store": store, "repeats": repeats, "writers": writers, "whole": whole}


def markdown(figures: dict[str, Any]) -> str:
    writers, whole = figures["writers"], figures["whole"]
    medians = {name: median(times) for name, times in writers["times"].items()}
    new, floor = medians["write_document"], medians["floor (bare xmlfile)"]
    before = medians["before (node tree)"]
    verdict = "meets" if new / floor <= TARGET else "misses"
    out = [
        f"PREMIS XML writer, one object, {fmt_int(writers['events'])} events "
        f"({writers['bytes'] / 1024 / 1024:.0f} MiB of XML), read and mapped once in "
        f"{writers['read_map_s']:.2f} s; median of {figures['repeats']} runs each, round-robin:",
        "",
        "| writer | median s | min s | ÷ floor | identical to write_document |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, times in writers["times"].items():
        same = "yes" if writers["identical"][name] else "**no**"
        out.append(
            f"| {name} | {medians[name]:.2f} | {min(times):.2f} | {medians[name] / floor:.2f}× "
            f"| {same} |"
        )
    out += [
        "",
        f"- write_document / floor: **{new / floor:.2f}×** (target ≤ {TARGET}×: {verdict}); "
        f"before / floor: {before / floor:.2f}×; before / write_document: {before / new:.2f}×.",
        "",
        "| whole command | wall s | CPU s | peak RSS MiB |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, run in whole["runs"].items():
        out.append(
            f"| {name} | {run['wall_s']:.2f} | {run['cpu_s']:.2f} | {run['max_rss_mib']:.0f} |"
        )
    out += [
        "",
        f"- Same bytes from `prov premis` before and after: "
        f"{'yes' if whole['identical'] else '**no**'}.",
        "",
        *machine_lines(),
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--child", choices=("prov-before",), help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _prov_before(args.store, args.out)
        return 0
    figures = measure(args.events, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    print(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
