"""`prov demo`: generate sample logs, ingest them into a fresh embedded store, show a tour.

Imports the generator, ingest, queries, rendering and the PREMIS export.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from eventstore.sqlite import SQLiteEventStore
from provenance.demo_data import generate
from provenance.ingest import IngestOptions, IngestReport, ingest_stream
from provenance.premis_export import export_object
from provenance.queries import object_history, object_state_view, summary
from provenance.render import state_table

DEMO_TZ = "America/Los_Angeles"


def run_demo(directory: Path, *, objects: int, days: int, echo: Callable[[str], None]) -> None:
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    store_path = directory / "provenance.db"
    for stale in (store_path, Path(f"{store_path}-wal"), Path(f"{store_path}-shm")):
        stale.unlink(missing_ok=True)

    data = generate(directory, objects=objects, days=days, tz=DEMO_TZ)
    total = sum(file.lines for file in data.files)
    echo(
        f"1. generated {total:,} log lines for {len(data.druids)} objects over {days} days "
        f"in {directory / 'logs'}/"
    )

    options = IngestOptions(source="auto", tz=ZoneInfo(DEMO_TZ))
    report = IngestReport()
    store_url = f"sqlite:///{store_path}"
    ingest_started = time.perf_counter()
    with SQLiteEventStore(store_path) as store:
        for file in data.files:
            with file.path.open("rb") as stream:
                ingest_stream(store, stream, str(file.path), options, report)
        seconds = time.perf_counter() - ingest_started
        echo(
            f"2. ingested them into {store_url} in {seconds:.1f} s "
            f"({report.lines / seconds:,.0f} lines/s):"
        )
        echo(
            f"   {report.consumed:,} lines became {report.events:,} events, "
            f"{report.ignored:,} ignored as noise, {report.quarantined:,} quarantined"
        )
        for kind, count in sorted(report.by_type.items()):
            echo(f"     {kind:<28} {count:>7,}")

        druid = data.featured
        events = object_history(store, druid)
        echo(
            f"\n3. the history of {druid} ({len(events)} events, times in UTC; step starts "
            "left out, runs of passing audits folded):"
        )
        for line in story(events):
            echo(f"   {line}")
        echo("\n4. its state now:\n")
        echo("   " + state_table(object_state_view(store, druid)).replace("\n", "\n   "))

        target = directory / "premis" / f"{druid.removeprefix('druid:')}.xml"
        result = export_object(store, druid, fmt="xml", target=target, validate=True)
    echo(
        f"\n5. its PREMIS 3 document: {target} ({result.events} events, valid against the "
        f"official XSD)"
    )
    echo(f"\nquarantined lines: prov quarantine --store {store_url}")
    echo(f"try:               prov history {druid} --store {store_url}")
    echo(f"                   prov premis {druid} --format turtle --store {store_url}")
    echo(f"done in {time.perf_counter() - started:.1f} s")


def story(events: list[dict[str, Any]]) -> list[str]:
    """One line per event worth reading: runs of passing audits folded, step starts left out."""
    lines: list[str] = []
    folded: list[dict[str, Any]] = []

    def fold() -> None:
        if len(folded) == 1:
            lines.append(_event_line(folded[0]))
        elif folded:
            kinds = sorted({event["type"] for event in folded})
            lines.append(
                f"{folded[0]['cursor'][:10]} .. {folded[-1]['cursor'][:10]}   "
                f"{len(folded)} routine events passed ({', '.join(kinds)})"
            )
        folded.clear()

    for event in events:
        routine = (
            event["type"] in ("FixityChecked", "VersionAudited") and event["outcome"] == "success"
        )
        if event.get("status") == "started":
            continue  # the step's completion or failure line says it all
        if routine:
            folded.append(event)
            continue
        fold()
        lines.append(_event_line(event))
    fold()
    return lines


def _event_line(event: dict[str, Any]) -> str:
    premis = (event["premis_event_type"] or "").rsplit("/", 1)[-1]
    return (
        f"{event['cursor'][:19]}Z  {event['type']:<26} {premis:<4} "
        f"{event['outcome'] or '':<8} {summary(event)[:70]}"
    )
