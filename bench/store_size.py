"""Bytes on disk per event in the embedded SQLite store, access events and preservation events.

The issue's row: "SQLite store, bytes on disk per access event: ~2,000 today; aim ≤ 400
(preservation events ≤ 600)".

Two inputs, written to a temporary directory before anything is measured:

- `access`: `--lines` lines of the synthetic stacks access log (`access_data.py`, Combined Log
  Format, 30 days), ingested with `--source clf --service stacks`;
- `audit`: the preservation catalog's three audit logs (`ingest_1m.make_audit_only`), cut at
  `--lines` lines: nearly every line a FixityChecked, VersionAudited or ReplicaAudited event.

Each is ingested by `prov ingest --format json` into a fresh store, in a fresh child process,
by this repository's `prov` and, with `--before PROV` (another checkout's console script, for
example main's before a change), by that one too, in the same run. Then the store's
write-ahead log is checkpointed into the file (`PRAGMA wal_checkpoint(TRUNCATE)`, what a
later open does anyway) and measured: the file's size divided by the events the ingest
reported, and SQLite's `dbstat` pages per table and index, grouped as the event rows, their
indexes, the projections (ObjectState, AccessCounts) and the rest.

Run: `.venv/bin/python bench/store_size.py [--lines 1000000] [--before PATH/TO/prov]`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path

from access_data import write_access_log
from common import fmt_int, machine_lines, prov_command, run_measured
from ingest_1m import TZ, make_audit_only

ACCESS_AIM = 400
AUDIT_AIM = 600


def ingest(prov: str, store: Path, files: list[Path], extra: list[str]) -> dict[str, object]:
    cmd = [prov, "ingest", "--store", f"sqlite:///{store}", "--tz", TZ, "--format", "json"]
    run = run_measured([*cmd, *extra, *map(str, files)])
    if run.returncode != 0:
        sys.exit(f"{prov} failed: {run.stderr.decode(errors='replace')}")
    report: dict[str, object] = json.loads(run.stdout)
    return report


def breakdown(store: Path) -> dict[str, int]:
    """Bytes per group of tables and indexes, after the WAL is checkpointed into the file."""
    with closing(sqlite3.connect(store)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
        indexes = {
            name: table
            for name, table in db.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'"
            )
        }
    groups = {"event rows": 0, "event indexes": 0, "projections": 0, "other": 0}
    for name, size in pages:
        table = indexes.get(name, name)
        if table == "events":
            groups["event indexes" if name in indexes else "event rows"] += size
        elif table == "projections":
            groups["projections"] += size
        else:
            groups["other"] += size
    groups["file"] = store.stat().st_size
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--before", help="another prov console script to measure alongside")
    args = parser.parse_args(argv)
    provs = {"this": prov_command()}
    if args.before:
        provs = {"before": args.before, **provs}
    print("\n".join(machine_lines()))
    print(f"command: python bench/store_size.py {' '.join(argv or sys.argv[1:])}\n")
    header = (
        "| input | prov | events | file bytes | bytes/event | event rows | event indexes "
        "| projections | other |"
    )
    lines = [header, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="bench-size-") as tmp:
        directory = Path(tmp)
        access = directory / "access.log"
        write_access_log(access, args.lines)
        audit_files, _ = make_audit_only(directory, args.lines)
        inputs = {
            "access (clf)": ([access], ["--source", "clf", "--service", "stacks"], ACCESS_AIM),
            "audit (prescat)": (audit_files, [], AUDIT_AIM),
        }
        for label, (files, extra, aim) in inputs.items():
            for name, prov in provs.items():
                store = directory / f"{name}-{label.split()[0]}.db"
                report = ingest(prov, store, files, extra)
                events = int(str(report["events"]))
                sizes = breakdown(store)
                per = {key: value / events for key, value in sizes.items()}
                lines.append(
                    f"| {label} | {name} | {fmt_int(events)} | {fmt_int(sizes['file'])} "
                    f"| **{per['file']:.0f}** | {per['event rows']:.0f} "
                    f"| {per['event indexes']:.0f} | {per['projections']:.0f} "
                    f"| {per['other']:.0f} |"
                )
                verdict = "meets" if per["file"] <= aim else "misses"
                verdicts.append(
                    f"- {label}, {name}: {per['file']:.0f} bytes per event {verdict} the aim "
                    f"of {aim}"
                )
                store.unlink()
    print("\n".join(lines))
    print("\n" + "\n".join(verdicts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
