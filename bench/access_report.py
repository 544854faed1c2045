"""`prov report access` over 1,000,000 access events, each report against DuckDB's answer.

The issue's row: "`prov report access --by druid` over 1M events ≤ 3× DuckDB counting druids
from the raw log text; every other report kind ≤ 1×" (no longer than DuckDB answering the same
question from the raw log text). The input is `--lines` lines of the synthetic stacks access
log (`access_data.py`, 30 days from 2026-03-01 in America/Los_Angeles, five bad lines),
written to a file (not timed) and built once into a SQLite store with

    prov ingest --store sqlite:///<dir>/access.db --source clf --service stacks --format json FILE

whose wall time, CPU time and peak RSS are reported but are not this benchmark's figure (the
ingest benchmark is `clf_ingest.py`). Ingest leaves the AccessCounts projection caught up, so
the reports below find nothing to project first. Then each of these runs as a child process,
`--repeats` rounds round-robin (median wall time, CPU time, the largest peak RSS; see
`common.py`), as `prov report access --store sqlite:///<dir>/access.db --format json ARGS`,
each followed by its peer, `python bench/access_duckdb.py FILE QUERY` (DuckDB over the same
log file, every core it finds; see that script for what each query groups by):

1. `--by agent` (the whole range); DuckDB: per user agent
2. `--by agent --bucket day --tz America/Los_Angeles`; per user agent and local day
3. `--by service,agent,client --top 20`; the 20 busiest (user agent, address)
4. `--by path --bucket week`; per target and week
5. `--by status_class --bucket hour`; per status class and hour
6. `--by agent,path --from 2026-03-08 --to 2026-03-15 --tz America/Los_Angeles`: a week from
   the day the zone's offset changes; `--to` is a date and inclusive, so the range is the
   eight local days up to the end of the 15th. `--tz` is given so the dates mean the same
   whatever the machine's zone or `PROV_TZ`; DuckDB: per user agent and target in that range
7. `--by druid --top 10`: the ten most asked-for druids (held to 3× DuckDB, the others to 1×).

The floor is `prov report access --help`: Python start-up and the CLI's imports, no store,
which every report pays too; the table shows each report's time above that floor.

Every output must parse as a JSON list of rows, be identical in every round, and its
`requests` must add up to the events it covers: all `ServiceAccessed` events of the store
(the ingest report's count, checked against the store's events table), or for the dated
report those whose time falls in its range, counted in the events table with SQL (not
through the projection). The whole-range reports must also agree on the total bytes (the
projection's against the events'). DuckDB's answers must add up to the same requests (and
bytes), and give the same numbers where the question is the same: the ten druids with their
requests and bytes, every (status class, hour), the requests of the 20 busiest clients. Any
mismatch stops the benchmark with an error.

`--keep DIR` builds the store in DIR (with `build.json`, what was built and how long it took,
and the log) and reuses it on later runs with the same `--lines`, which saves the minutes a
1M-line build takes. A kept store holds what the code of its build day wrote: delete DIR after
changing ingest or the projections. Without `--keep` everything is made in a temporary
directory that is removed after.

`--before DIR` also runs every report with the code of a tree made by `git archive COMMIT |
tar -x -C DIR` (as `python -c` in DIR, so DIR's packages come first), on the same store: timed,
and required to print the same bytes.

Run: `.venv/bin/python bench/access_report.py [--lines 1000000] [--repeats 5] [--keep DIR]
[--before DIR]` (needs the bench extra: `make .venv/.bench-installed`).

Imports the log generator (`access_data.py`), `common.py`, `eventstore.time_key` (the form of
the events table's time column, for the SQL count) and the standard library; DuckDB only in
its own child processes (`access_duckdb.py`).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from access_data import START, TZ, write_access_log
from common import (
    BENCH_DIR,
    MIB,
    PYTHON,
    Run,
    fmt_int,
    median,
    prov_command,
    run_measured,
    source_line,
)

from eventstore import SQLiteEventStore, time_key

STORE = "access.db"
LOG = "stacks_access.log"
BUILD = "build.json"
FLOOR = "`prov report access --help` (start-up floor)"
# `python -c` in the tree of the code before: its packages come first on sys.path.
_PROV_MAIN = "import sys; from provenance.cli.main import main; sys.exit(main())"
# The dated report: a week from the day the offset changes (--to is inclusive: see above).
RANGE_FROM = (START + dt.timedelta(days=7)).date()
RANGE_TO = RANGE_FROM + dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Report:
    """One report: its arguments, its DuckDB peer (`access_duckdb.QUERIES`), the most it may
    take as a multiple of the peer's time, and whether it covers only the dated range (its
    requests are checked against that range)."""

    args: tuple[str, ...]
    peer: str
    target: float = 1.0
    dated: bool = False

    @property
    def label(self) -> str:
        return f"`{' '.join(self.args)}`"


REPORTS = (
    Report(("--by", "agent"), "agent"),
    Report(("--by", "agent", "--bucket", "day", "--tz", TZ), "agent-day-la"),
    Report(("--by", "service,agent,client", "--top", "20"), "agent-client"),
    Report(("--by", "path", "--bucket", "week"), "path-week"),
    Report(("--by", "status_class", "--bucket", "hour"), "status-class-hour"),
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
        "agent-path-dated",
        dated=True,
    ),
    Report(("--by", "druid", "--top", "10"), "druid", target=3.0),
)


def _count_events(store: Path, since: str | None = None, until: str | None = None) -> int:
    """`ServiceAccessed` events in the store, by time key (through the store's own reader, which
    reads any layout it writes or upgrades)."""
    start = None if since is None else dt.datetime.fromisoformat(since)
    stop = None if until is None else dt.datetime.fromisoformat(until)
    with SQLiteEventStore(store, create=False) as events:
        return sum(1 for _ in events.read_all(types=["ServiceAccessed"], since=start, until=stop))


def _projection_size(store: Path) -> tuple[int, int]:
    """The AccessCounts projection's rows and bytes of (JSON) values."""
    with SQLiteEventStore(store, create=False) as events:
        sizes = [len(row.value) for row in events.read_projection("access_counts")]
    return len(sizes), sum(sizes)


def _store_mib(store: Path) -> float:
    return sum(p.stat().st_size for p in store.parent.glob(f"{store.name}*")) / MIB


def build_store(directory: Path, lines: int) -> dict[str, Any]:
    """Write the log, ingest it into `directory/access.db`; what was built, and how fast."""
    store = directory / STORE
    for stale in directory.glob(f"{STORE}*"):  # an earlier build that did not finish
        stale.unlink()
    log = directory / LOG
    started = time.perf_counter()
    stats = write_access_log(log, lines)
    generated_s = time.perf_counter() - started
    cmd = [prov_command(), "ingest", "--store", f"sqlite:///{store}", "--source", "clf"]
    cmd += ["--service", "stacks", "--format", "json", str(log)]
    print(f"bench: building the store from {fmt_int(lines)} lines", file=sys.stderr, flush=True)
    run = run_measured(cmd)
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
        if not (directory / LOG).exists():  # kept by an older version of this script
            write_access_log(directory / LOG, lines)
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


def _peer_label(report: Report) -> str:
    return f"DuckDB: {report.peer}"


def _before_label(report: Report) -> str:
    return f"before: {report.label}"


def _check_peer(
    report: Report, rows: list[dict[str, Any]], answer: list[list[Any]], expected: int
) -> None:
    """DuckDB's answer adds up to the requests prov counted, and gives prov's numbers where
    the question is the same (see the module docstring); SystemExit if not."""

    def fail(what: str) -> None:
        raise SystemExit(f"bench: {report.label} and DuckDB's {report.peer} {what}")

    kept = [row for row in rows if "(other)" not in row.values()]
    if report.peer == "druid":
        mine = [[row["druid"], row["requests"], row["bytes"]] for row in kept]
        if mine != answer:
            fail(f"disagree on the druids: {mine[:3]}... against {answer[:3]}...")
    elif report.peer == "agent-client":
        if sorted(row["requests"] for row in kept) != sorted(row[-2] for row in answer):
            fail("disagree on the busiest clients' requests")
    else:
        if sum(row[-2] for row in answer) != expected:
            fail(f"count {sum(row[-2] for row in answer):,} requests, not {expected:,}")
        if sum(row[-1] for row in answer) != sum(row["bytes"] for row in rows):
            fail("disagree on the bytes")
    if report.peer == "status-class-hour":
        mine_hours = sorted(
            [
                row["status_class"],
                int(dt.datetime.fromisoformat(row["bucket"]).timestamp()),
                row["requests"],
                row["bytes"],
            ]
            for row in rows
        )
        if mine_hours != sorted(answer):
            fail("disagree on the status classes per hour")


def measure(
    store: Path, build: dict[str, Any], repeats: int, before: Path | None = None
) -> dict[str, Any]:
    """Time the floor, every report and its DuckDB peer (and the code `before`, if given);
    check every output (see the module docstring)."""
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
    log = store.parent / LOG
    runs: dict[str, list[Run]] = {FLOOR: []}
    for report in REPORTS:
        runs[report.label] = []
        runs[_peer_label(report)] = []
        if before is not None:
            runs[_before_label(report)] = []
    outputs: dict[str, bytes] = {}
    totals: dict[str, tuple[int, int, int]] = {}  # label: (rows, requests, bytes)
    for _round in range(repeats):
        runs[FLOOR].append(run_measured([prov, "report", "access", "--help"]))
        for report in REPORTS:
            label = report.label
            cmd = [prov, "report", "access", "--store", url, "--format", "json", *report.args]
            run = run_measured(cmd)
            runs[label].append(run)
            peer = [PYTHON, str(BENCH_DIR / "access_duckdb.py"), str(log), report.peer]
            if report.dated:
                peer += ["--since", start.isoformat(), "--until", stop.isoformat()]
            peer_run = run_measured(peer)
            runs[_peer_label(report)].append(peer_run)
            for name, done in ((label, run), (_peer_label(report), peer_run)):
                if outputs.setdefault(name, done.stdout) != done.stdout:
                    raise SystemExit(f"bench: {name} printed different rows in different rounds")
            if before is not None:
                old = run_measured([PYTHON, "-c", _PROV_MAIN, *cmd[1:]], cwd=before)
                runs[_before_label(report)].append(old)
                if old.stdout != run.stdout:
                    raise SystemExit(f"bench: {label} printed other rows than the code before")
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
            _check_peer(report, rows, json.loads(peer_run.stdout), expected)
            totals[label] = (len(rows), requests, sum(row["bytes"] for row in rows))
    whole_bytes = {totals[r.label][2] for r in REPORTS if not r.dated}
    if len(whole_bytes) != 1:
        raise SystemExit(f"bench: the whole-range reports disagree on bytes: {whole_bytes}")
    projection_rows, projection_bytes = _projection_size(store)
    figures: dict[str, Any] = {
        "repeats": repeats,
        "before": str(before) if before is not None else None,
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


def _target_lines(figures: dict[str, Any]) -> list[str]:
    runs = figures["runs"]
    lines = figures["build"]["lines"]
    scale = "" if lines >= 1_000_000 else " (at this size; the target is for 1,000,000 lines)"
    missed = []
    for report in REPORTS:
        ratio = runs[report.label]["wall_s"] / runs[_peer_label(report)]["wall_s"]
        if ratio > report.target:
            missed.append(f"{report.label} {ratio:.2f}× (target ≤ {report.target:g}×)")
    verdict = (
        f"**missed** by {len(missed)} of {len(REPORTS)}: " + "; ".join(missed)
        if missed
        else f"**met** by all {len(REPORTS)}"
    )
    return [
        f"- Target: `--by druid` ≤ 3× DuckDB's time, every other report ≤ 1× its peer's"
        f"{scale}: {verdict} (median wall times, start-up included on both sides)."
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
        f"{figures['repeats']} run(s) in a fresh process, round-robin with its DuckDB peer "
        "(`python bench/access_duckdb.py LOG QUERY`, the same question asked of the raw log "
        "file) (median and range of wall time, median CPU, largest peak RSS). `requests` is "
        "the sum over the rows printed.",
        "",
        "| report ARGS | rows | requests | wall s | − floor s | wall range s | CPU s | "
        "peak RSS MiB | DuckDB query | DuckDB wall s | DuckDB CPU s | prov ÷ DuckDB | target | "
        "before wall s | before ÷ DuckDB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: "
        "| ---: | ---: | ---: |",
    ]
    floor_run = runs[FLOOR]
    out.append(
        f"| {FLOOR} |  |  | {floor:.2f} |  | {floor_run['low_s']:.2f}–{floor_run['high_s']:.2f} "
        f"| {floor_run['cpu_s']:.2f} | {floor_run['max_rss_mib']:.0f} |  |  |  |  |  |  |  |"
    )
    for item in REPORTS:
        run, peer = runs[item.label], runs[_peer_label(item)]
        old = runs.get(_before_label(item))
        was = (
            f"{old['wall_s']:.2f} | {old['wall_s'] / peer['wall_s']:.2f}×"
            if old is not None
            else "- | -"
        )
        out.append(
            f"| {item.label} | {fmt_int(run['rows'])} | {fmt_int(run['requests'])} | "
            f"{run['wall_s']:.2f} | {run['wall_s'] - floor:.2f} | "
            f"{run['low_s']:.2f}–{run['high_s']:.2f} | {run['cpu_s']:.2f} | "
            f"{run['max_rss_mib']:.0f} | `{item.peer}` | {peer['wall_s']:.2f} | "
            f"{peer['cpu_s']:.2f} | {run['wall_s'] / peer['wall_s']:.2f}× | "
            f"≤ {item.target:g}× | {was} |"
        )
    out += [
        "",
        *_target_lines(figures),
        f"- Checked: every output parsed, was the same in every round, and added up to the "
        f"{fmt_int(figures['events'])} events stored ({fmt_int(figures['in_range'])} in the "
        f"dated report's range, {RANGE_FROM} to {RANGE_TO} inclusive in {TZ}, counted with "
        "SQL in the events table); the whole-range reports agree on the bytes; DuckDB's "
        "answers add up to the same requests and bytes, and give the same ten druids (requests "
        "and bytes), status classes per hour and busiest clients' requests"
        + (
            f"; the code before (`--before {figures['before']}`, run as `python -c` in that "
            "tree on the same store) printed the same bytes for every report."
            if figures["before"]
            else "."
        ),
    ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the store here, reuse it")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="DIR",
        help="a tree of the code before (git archive COMMIT | tar -x -C DIR): its reports run "
        "on the same store, timed and checked to print the same bytes",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.lines < 1:
        parser.error("--lines and --repeats must be at least 1")
    before = args.before.resolve() if args.before else None
    if args.keep:
        directory = args.keep.resolve()
        build = kept_store(directory, args.lines)
        figures = measure(directory / STORE, build, args.repeats, before)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
            directory = Path(tmp)
            build = build_store(directory, args.lines)
            figures = measure(directory / STORE, build, args.repeats, before)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
