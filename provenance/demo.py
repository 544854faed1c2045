"""`prov demo`: generate sample logs, ingest them into a fresh embedded store, show a tour.

Imports the generator, ingest, queries, rendering and the PREMIS export.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from eventstore.sqlite import SQLiteEventStore
from provenance.demo_data import generate
from provenance.ingest import IngestOptions, IngestReport, ingest_stream
from provenance.premis_export import export_object
from provenance.queries import object_history, object_state_view
from provenance.render import state_table

DEMO_TZ = "America/Los_Angeles"
HISTORY_LINES = 14


def run_demo(directory: Path, *, objects: int, days: int, echo: Callable[[str], None]) -> None:
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    store_path = directory / "provenance.db"
    for stale in (store_path, Path(f"{store_path}-wal"), Path(f"{store_path}-shm")):
        stale.unlink(missing_ok=True)

    data = generate(directory, objects=objects, days=days, tz=DEMO_TZ)
    total = sum(file.lines for file in data.files)
    echo(f"1. generated {total:,} log lines for {len(data.druids)} objects over {days} days "
         f"in {directory / 'logs'}/")

    options = IngestOptions(source="auto", tz=ZoneInfo(DEMO_TZ))
    report = IngestReport()
    store_url = f"sqlite:///{store_path}"
    ingest_started = time.perf_counter()
    with SQLiteEventStore(store_path) as store:
        for file in data.files:
            with file.path.open("rb") as stream:
                ingest_stream(store, stream, str(file.path), options, report)
        seconds = time.perf_counter() - ingest_started
        echo(f"2. ingested them into {store_url} in {seconds:.1f} s "
             f"({report.lines / seconds:,.0f} lines/s):")
        echo(f"   {report.consumed:,} lines became {report.events:,} events, "
             f"{report.ignored:,} ignored as noise, {report.quarantined:,} quarantined")
        for kind, count in sorted(report.by_type.items()):
            echo(f"     {kind:<28} {count:>7,}")

        druid = data.featured
        events = object_history(store, druid)
        echo(f"\n3. the history of {druid} ({len(events)} events; first {HISTORY_LINES} shown):")
        for event in events[:HISTORY_LINES]:
            premis = (event["premis_event_type"] or "").rsplit("/", 1)[-1]
            detail = (event["detail"] or "").replace("\n", " ")
            echo(f"   {event['occurred_at'][:19]}  {event['type']:<26} {premis:<4} "
                 f"{event['outcome'] or '':<8} {detail[:60]}")
        echo(f"\n4. its state now:\n")
        echo("   " + state_table(object_state_view(store, druid)).replace("\n", "\n   "))

        target = directory / "premis" / f"{druid.removeprefix('druid:')}.xml"
        result = export_object(store, druid, fmt="xml", target=target, validate=True)
    echo(f"\n5. its PREMIS 3 document: {target} ({result.events} events, valid against the "
         f"official XSD)")
    echo(f"\nquarantined lines: prov quarantine --store {store_url}")
    echo(f"try:               prov history {druid} --store {store_url}")
    echo(f"                   prov premis {druid} --format turtle --store {store_url}")
    echo(f"done in {time.perf_counter() - started:.1f} s")
