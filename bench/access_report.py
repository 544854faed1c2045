"""`prov report access` over 1,000,000 access events: how fast each report answers.

The issue: "a report over 1,000,000 access events answered from the projection in under a
second". The input is `--lines` lines of the synthetic stacks access log (`access_data.py`,
30 days from 2026-03-01 in America/Los_Angeles, five bad lines), written to a file (not
timed) and built once into a SQLite store with

    prov ingest --store sqlite:///<dir>/access.db --source clf --service stacks --format json FILE

whose wall time, CPU time and peak RSS are reported but are not this benchmark's figure (the
ingest benchmark is `clf_ingest.py`). Ingest leaves the AccessCounts projection caught up, so
the reports below find nothing to project first. Then each of these runs as a child process,
`--repeats` rounds round-robin (median wall time, CPU time, the largest peak RSS; see
`common.py`), as `prov report access --store sqlite:///<dir>/access.db --format json ARGS`:

1. `--by agent` (the whole range)
2. `--by agent --bucket day --tz America/Los_Angeles`
3. `--by service,agent,client --top 20`
4. `--by path --bucket week`
5. `--by status_class --bucket hour`
6. `--by agent,path --from 2026-03-08 --to 2026-03-15 --tz America/Los_Angeles`: a week from
   the day the zone's offset changes; `--to` is a date and inclusive, so the range is the
   eight local days up to the end of the 15th. `--tz` is given so the dates mean the same
   whatever the machine's zone or `PROV_TZ`;
7. `--by druid --top 10`: only the access events carry the druid, so this report reads every
   event (not the projection); it is expected to be much slower and is not held to the aim.

The floor is `prov report access --help`: Python start-up and the CLI's imports, no store,
which every report pays too; the table shows each report's time above that floor.

Every output must parse as a JSON list of rows, be identical in every round, and its
`requests` must add up to the events it covers: all `ServiceAccessed` events of the store
(the ingest report's count, checked against the store's events table), or for the dated
report those whose time falls in its range, counted in the events table with SQL (not
through the projection). The whole-range reports must also agree on the total bytes (the
projection's against the events'). Any mismatch stops the benchmark with an error.

`--keep DIR` builds the store in DIR (with `build.json`, what was built and how long it took)
and reuses it on later runs with the same `--lines`, which saves the minutes a 1M-line build
takes. A kept store holds what the code of its build day wrote: delete DIR after changing
ingest or the projections. Without `--keep` everything is made in a temporary directory that
is removed after.

Run: `.venv/bin/python bench/access_report.py [--lines 1000000] [--repeats 5] [--keep DIR]`.

Imports the log generator (`access_data.py`), `common.py`, `eventstore.time_key` (the form of
the events table's time column, for the SQL count) and the standard library.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from access_data import START, TZ, write_access_log
from common import MIB, Run, fmt_int, median, prov_command, run_measured, source_line

from eventstore import time_key

AIM_S = 1.0
STORE = "access.db"
BUILD = "build.json"
FLOOR = "`prov report access --help` (start-up floor)"
# The dated report: a week from the day the offset changes (--to is inclusive: see above).
RANGE_FROM = (START + dt.timedelta(days=7)).date()
RANGE_TO = RANGE_FROM + dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Report:
    """One report: its arguments, whether the projection answers it (the aim's scope), and
    whether it covers only the dated range (its requests are checked against that range)."""

    args: tuple[str, ...]
    from_projection: bool = True
    dated: bool = False

    @property
    def label(self) -> str:
        basis = "" if self.from_projection else " (reads the events)"
        return f"`{' '.join(self.args)}`{basis}"


REPORTS = (
    Report(("--by", "agent")),
    Report(("--by", "agent", "--bucket", "day", "--tz", TZ)),
    Report(("--by", "service,agent,client", "--top", "20")),
    Report(("--by", "path", "--bucket", "week")),
    Report(("--by", "status_class", "--bucket", "hour")),
    Report(
        (
            "--by",
            "agent,path",
            "--from",
            RANGE_FROM.isoformat(),
            "--to",
            RANGE_TO.isoformat(),
            "--tz",
            TZ,
        ),
        dated=True,
    ),
    Report(("--by", "druid", "--top", "10"), from_projection=False),
)


def _count_events(store: Path, since: str | None = None, until: str | None = None) -> int:
    """`ServiceAccessed` events in the events table, by time key (straight SQL)."""
    sql = "SELECT count(*) FROM events WHERE type = 'ServiceAccessed'"
    params: list[str] = []
    if since is not None and until is not None:
        sql += " AND time_key >= ? AND time_key < ?"
        params = [since, until]
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        count: int = db.execute(sql, params).fetchone()[0]
    return count


def _projection_size(store: Path) -> tuple[int, int]:
    """The AccessCounts projection's rows and bytes of (JSON) values."""
    sql = "SELECT count(*), coalesce(sum(length(value)), 0) FROM projections WHERE projection = ?"
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        rows, size = db.execute(sql, ("access_counts",)).fetchone()
    return rows, size


def _store_mib(store: Path) -> float:
    return sum(p.stat().st_size for p in store.parent.glob(f"{store.name}*")) / MIB


def build_store(directory: Path, lines: int) -> dict[str, Any]:
    """Write the log, ingest it into `directory/access.db`; what was built, and how fast."""
    store = directory / STORE
    for stale in directory.glob(f"{STORE}*"):  # an earlier build that did not finish
        stale.unlink()
    log = directory / "stacks_access.log"
    started = time.perf_counter()
    stats = write_access_log(log, lines)
    generated_s = time.perf_counter() - started
    cmd = [prov_command(), "ingest", "--store", f"sqlite:///{store}", "--source", "clf"]
    cmd += ["--service", "stacks", "--format", "json", str(log)]
    print(f"bench: building the store from {fmt_int(lines)} lines", file=sys.stderr, flush=True)
    run = run_measured(cmd)
    log.unlink()
    return {
        "lines": lines,
        "input": {**dataclasses.asdict(stats), "generate_s": generated_s},
        "ingest": {
            "wall_s": run.wall_s,
            "cpu_s": run.cpu_s,
            "max_rss_mib": run.max_rss_mib,
            "report": json.loads(run.stdout),
        },
        "built": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": source_line().removeprefix("- code: "),
    }


def kept_store(directory: Path, lines: int) -> dict[str, Any]:
    """The build kept in `directory` for `lines` lines, building it first if there is none."""
    directory.mkdir(parents=True, exist_ok=True)
    meta = directory / BUILD
    if meta.exists() and (directory / STORE).exists():
        build: dict[str, Any] = json.loads(meta.read_text())
        if build["lines"] != lines:
            raise SystemExit(
                f"bench: {directory} holds a store of {fmt_int(build['lines'])} lines, not "
                f"{fmt_int(lines)}: give another --keep directory or delete this one"
            )
        build["reused_from"] = str(directory)
        return build
    build = build_store(directory, lines)
    meta.write_text(json.dumps(build, indent=2))
    return build


def _rows(label: str, run: Run) -> list[dict[str, Any]]:
    try:
        rows = json.loads(run.stdout)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"bench: {label} printed invalid JSON: {exc}") from None
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and isinstance(row.get("requests"), int) for row in rows
    ):
        raise SystemExit(f"bench: {label} did not print a list of rows with requests")
    return rows


def measure(store: Path, build: dict[str, Any], repeats: int) -> dict[str, Any]:
    """Time the floor and every report; check every output (see the module docstring)."""
    events = build["ingest"]["report"]["events"]
    stored = _count_events(store)
    if stored != events:
        raise SystemExit(
            f"bench: the store holds {fmt_int(stored)} access events, its build reported "
            f"{fmt_int(events)}: not the store that was built; delete it and build again"
        )
    start = dt.datetime.combine(RANGE_FROM, dt.time(), START.tzinfo)
    stop = dt.datetime.combine(RANGE_TO + dt.timedelta(days=1), dt.time(), START.tzinfo)
    in_range = _count_events(store, time_key(start), time_key(stop))
    prov = prov_command()
    url = f"sqlite:///{store}"
    runs: dict[str, list[Run]] = {FLOOR: [], **{report.label: [] for report in REPORTS}}
    outputs: dict[str, bytes] = {}
    totals: dict[str, tuple[int, int, int]] = {}  # label: (rows, requests, bytes)
    for _round in range(repeats):
        runs[FLOOR].append(run_measured([prov, "report", "access", "--help"]))
        for report in REPORTS:
            label = report.label
            cmd = [prov, "report", "access", "--store", url, "--format", "json", *report.args]
            run = run_measured(cmd)
            runs[label].append(run)
            if outputs.setdefault(label, run.stdout) != run.stdout:
                raise SystemExit(f"bench: {label} printed different rows in different rounds")
            if label in totals:
                continue
            rows = _rows(label, run)
            requests = sum(row["requests"] for row in rows)
            expected = in_range if report.dated else events
            if requests != expected:
                scope = "in its range" if report.dated else "in all"
                raise SystemExit(
                    f"bench: {label} counts {fmt_int(requests)} requests, the store holds "
                    f"{fmt_int(expected)} access events {scope}"
                )
            totals[label] = (len(rows), requests, sum(row["bytes"] for row in rows))
    whole_bytes = {totals[r.label][2] for r in REPORTS if not r.dated}
    if len(whole_bytes) != 1:
        raise SystemExit(f"bench: the whole-range reports disagree on bytes: {whole_bytes}")
    projection_rows, projection_bytes = _projection_size(store)
    figures: dict[str, Any] = {
        "repeats": repeats,
        "build": build,
        "store_mib": _store_mib(store),
        "projection": {"rows": projection_rows, "mib": projection_bytes / MIB},
        "events": events,
        "in_range": in_range,
        "runs": {},
    }
    for label, done in runs.items():
        walls = [run.wall_s for run in done]
        printed, requests, _bytes = totals.get(label, (0, 0, 0))
        figures["runs"][label] = {
            "wall_s": median(walls),
            "low_s": min(walls),
            "high_s": max(walls),
            "cpu_s": median([run.cpu_s for run in done]),
            "max_rss_mib": max(run.max_rss_mib for run in done),
            "rows": printed,
            "requests": requests,
        }
    return figures


def _aim_lines(figures: dict[str, Any]) -> list[str]:
    runs = figures["runs"]
    projected = [report.label for report in REPORTS if report.from_projection]
    slowest = max(projected, key=lambda label: runs[label]["wall_s"])
    missed = [label for label in projected if runs[label]["wall_s"] >= AIM_S]
    lines = figures["build"]["lines"]
    scale = "" if lines >= 1_000_000 else " (at this size; the aim is for 1,000,000 lines)"
    if missed:
        verdict = f"**missed** by {len(missed)} of {len(projected)}: {', '.join(missed)}"
    else:
        verdict = f"**met** by all {len(projected)}"
    events_based = [report.label for report in REPORTS if not report.from_projection]
    return [
        f"- Aim: a report over {fmt_int(figures['events'])} access events from the projection "
        f"in under {AIM_S:.0f} s{scale}: {verdict} (median wall, start-up included; slowest "
        f"{slowest} at {runs[slowest]['wall_s']:.2f} s). Not held to it: "
        + ", ".join(f"{label} {runs[label]['wall_s']:.2f} s" for label in events_based)
        + "."
    ]


def markdown(figures: dict[str, Any]) -> str:
    build, runs = figures["build"], figures["runs"]
    data, ingest = build["input"], build["ingest"]
    report = ingest["report"]
    floor = runs[FLOOR]["wall_s"]
    if "reused_from" in build:
        origin = (
            f"reused from `--keep {build['reused_from']}`, built {build['built']} from "
            f"{build['code']}"
        )
    else:
        origin = "built for this run"
    out = [
        f"### 5. `prov report access` over {fmt_int(figures['events'])} access events",
        "",
        f"Input: {fmt_int(data['lines'])} lines ({data['size_bytes'] / MIB:.0f} MiB, generated in "
        f"{data['generate_s']:.0f} s, not timed) of the synthetic stacks access log of section 4: "
        f"{fmt_int(data['clients'])} clients, {fmt_int(data['agents'])} user agents, "
        f"{fmt_int(data['druids'])} druids, 30 days. Store ({origin}): `prov ingest --source "
        f"clf --service stacks` took {ingest['wall_s']:.1f} s wall ({ingest['cpu_s']:.1f} s "
        f"CPU, {fmt_int(data['lines'] / ingest['wall_s'])} lines/s, peak RSS "
        f"{ingest['max_rss_mib']:.0f} MiB): {fmt_int(report['events'])} events, "
        f"{fmt_int(report['quarantined'])} lines quarantined; {figures['store_mib']:.0f} MiB, "
        f"of which the AccessCounts projection {fmt_int(figures['projection']['rows'])} rows, "
        f"{figures['projection']['mib']:.1f} MiB of JSON.",
        "",
        "Each row: `prov report access --store sqlite:///<tmp>/access.db --format json ARGS`, "
        f"{figures['repeats']} run(s) in a fresh process, round-robin (median and range of wall "
        "time, median CPU, largest peak RSS). `requests` is the sum over the rows printed.",
        "",
        "| report ARGS | rows | requests | wall s | − floor s | wall range s | CPU s | "
        "peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, run in runs.items():
        # The floor's row leaves rows, requests and its own excess blank.
        counted = (
            ("", "", "")
            if label == FLOOR
            else (
                fmt_int(run["rows"]),
                fmt_int(run["requests"]),
                f"{run['wall_s'] - floor:.2f}",
            )
        )
        out.append(
            f"| {label} | {counted[0]} | {counted[1]} | {run['wall_s']:.2f} | {counted[2]} | "
            f"{run['low_s']:.2f}–{run['high_s']:.2f} | {run['cpu_s']:.2f} | "
            f"{run['max_rss_mib']:.0f} |"
        )
    out += [
        "",
        *_aim_lines(figures),
        f"- Checked: every output parsed, was the same in every round, and added up to the "
        f"{fmt_int(figures['events'])} events stored ({fmt_int(figures['in_range'])} in the "
        f"dated report's range, {RANGE_FROM} to {RANGE_TO} inclusive in {TZ}, counted with "
        "SQL in the events table); the whole-range reports agree on the bytes.",
    ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the store here, reuse it")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.lines < 1:
        parser.error("--lines and --repeats must be at least 1")
    if args.keep:
        directory = args.keep.resolve()
        figures = measure(directory / STORE, kept_store(directory, args.lines), args.repeats)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
            directory = Path(tmp)
            build = build_store(directory, args.lines)
            figures = measure(directory / STORE, build, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
