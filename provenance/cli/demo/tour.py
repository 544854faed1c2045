"""`prov demo`: generate sample logs, ingest them into a fresh embedded store, show a tour."""

from __future__ import annotations

import io
import shlex
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from eventstore.sqlite import SQLiteEventStore
from provenance.access.policy import AccessPolicy
from provenance.access.report import ReportQuery, access_report
from provenance.cli.demo.folder import DemoFolder
from provenance.cli.demo.world import generate, plan
from provenance.cli.render import access_table, state_table
from provenance.domain.terminal import TerminalText, terminal_lines
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.ingest.report import IngestReport
from provenance.query.premis_export import export_object
from provenance.query.views import action_summary, object_history, object_state_view

DEMO_TZ = "America/Los_Angeles"
# The demo's agent rules: the campus and a partner library by network (the generator's
# ranges), crawlers by user agent. A fixed key keeps the demo's pseudonyms the same on every
# run; it is a demo, so the key is no secret (see the README for real keys).
DEMO_POLICY = """\
# Agent rules for the demo (see docs/access-policy.example.toml for every key).
[clients]
key_file = "pseudonym.key"

[[networks]]
name = "stanford"
kind = "organization"
cidrs = ["171.64.0.0/14", "2607:f6d0::/32"]

[[networks]]
name = "partner-library"
kind = "organization"
cidrs = ["198.51.100.0/24"]
"""
DEMO_KEY = b"prov demo pseudonym key - not a secret"
# Logs of the public web services (production.log's requests are prescat's own status checks).
ACCESS_SOURCES = ("clf", "rails", "lograge")


def run_demo(
    directory: Path, *, objects: int, days: int, echo: Callable[[str], None], force: bool = False
) -> None:
    """The tour, in `directory`: refused before anything is touched when the folder holds a
    store or files the demo did not make (or changed since), unless `force` (see
    `provenance.cli.demo.folder`). `echo` prints one line of the tour for a person (the CLI's
    makes control characters visible; a table comes as `TerminalText`, already made so)."""
    started = time.perf_counter()
    with DemoFolder.claim(directory, _writes(), force=force) as folder:
        druid = _tour(folder, objects=objects, days=days, echo=echo)
    echo("")
    # Absolute, so the line works from any folder; every `prov` command reads PROV_STORE.
    # Quoted for the shell: the folder's name may hold spaces or other shell syntax.
    echo("ask it yourself: every prov command reads the store PROV_STORE names")
    echo(f"  export PROV_STORE={shlex.quote(f'sqlite:///{folder.store.resolve()}')}")
    for command in (
        f"prov history {druid}",
        f"prov state {druid}",
        f"prov premis {druid} --format turtle",
        "prov report fleet",
        "prov objects --failing",
        "prov quarantine",
        "prov report access --by agent --bucket week --service stacks --top 5",
        "prov report access --by path --agent user:argo",
    ):
        echo(f"  {command}")
    echo("the dashboard: `prov serve`, then open http://127.0.0.1:8080/ (`prov demo --serve`)")
    echo(f"done in {time.perf_counter() - started:.1f} s")


POLICY_FILE = "access-policy.toml"
KEY_FILE = "pseudonym.key"


def _writes() -> tuple[str, ...]:
    """The files the tour writes in its folder, besides the store (known before it runs, so
    the folder is checked before anything is written)."""
    generated = plan()
    return (*generated.files, POLICY_FILE, KEY_FILE, _premis_name(generated.featured))


def _premis_name(druid: str) -> str:
    return f"premis/{druid.removeprefix('druid:')}.xml"


def _tour(folder: DemoFolder, *, objects: int, days: int, echo: Callable[[str], None]) -> str:
    """Steps 1 to 6 of the tour, in `folder`; the featured object's druid."""
    directory = folder.directory
    data = generate(directory, objects=objects, days=days, tz=DEMO_TZ, write=folder.write)
    total = sum(file.lines for file in data.files)
    echo(
        f"1. generated {total:,} log lines for {len(data.druids)} objects over {days} days "
        f"in {directory / 'logs'}/"
    )

    policy_path = directory / POLICY_FILE
    folder.write(policy_path, DEMO_POLICY.encode())
    folder.write(directory / KEY_FILE, DEMO_KEY, private=True)
    options = IngestOptions(
        source="auto",
        tz=ZoneInfo(DEMO_TZ),
        access_policy=AccessPolicy.load(policy_path, environ={}),
    )
    report = IngestReport()
    store_url = f"sqlite:///{folder.store}"
    ingest_started = time.perf_counter()
    with folder.building_store() as building, SQLiteEventStore(building) as store:
        for file in data.files:
            # Each file read with its own source, as `prov ingest --source ... --service ...`.
            file_options = replace(options, source=file.source, service=file.service)
            with file.path.open("rb") as stream:
                ingest_stream(store, stream, str(file.path), file_options, report)
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
        echo("")
        echo(
            f"3. the history of {druid} ({len(events)} actions, times in UTC; step starts "
            "left out, runs of passing audits folded):"
        )
        for line in story(events):
            echo(f"   {line}")
        echo("")
        echo("4. its state now:")
        echo("")
        echo(_indented(state_table(object_state_view(store, druid))))

        target = directory / _premis_name(druid)
        # Made in memory, then written as the demo's other files (never through a symlink).
        document = io.BytesIO()
        result = export_object(store, druid, fmt="xml", validate=True, stdout=document)
        folder.write(target, document.getvalue())
        echo("")
        echo(
            f"5. its PREMIS 3 document: {target} ({result.events} events, valid against the "
            f"official XSD)"
        )
        public = tuple(
            file.service for file in data.files if file.service and file.source in ACCESS_SOURCES
        )
        access = access_report(
            store,
            ReportQuery(by=("service", "agent"), top=12, services=public, tz=ZoneInfo(DEMO_TZ)),
        )
        echo("")
        echo(f"6. who queries {', '.join(public)} (their access logs; agent rules in")
        echo(f"   {policy_path}):")
        echo("")
        echo(_indented(access_table(access)))
    folder.finish()
    return druid


def _indented(table: TerminalText) -> TerminalText:
    """A rendered table indented under a step of the tour."""
    return terminal_lines(f"   {line}" for line in table.split("\n"))


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
        f"{event['outcome'] or '':<8} {action_summary(event)[:70]}"
    )
