"""prescat parse-and-type throughput against a bare regex match over the same lines.

What it measures: lines per second, in-process and single-threaded, for four stages over the
same lines, each stage timed in its own fresh child process, in CPU time (`process_time`: the
machine is shared; the lines are read into memory before the clock starts; imports and
start-up are not timed):

- `regex`: a bare `re.compile(<simple layout regex>).match(line)` loop, the floor any parser
  pays (a Ruby Logger regex for the audit logs, a Rails tagged-line regex for the Rails log:
  `BARE` below);
- `feed`: `PrescatSource.feed` / `finish` only (layout, audit and template regexes, drafts);
- `type`: the issue's "parse and type": `feed` plus the typed event of every draft exactly as
  `provenance.ingest.reader.Reader._records` makes it (line digest, occurrence count, the id
  from `identity.event_ids`, the source's fields, `EventShape.values`: the event's field values
  as its model holds them, in its order, from the parser's typed values, not validated again;
  what the payload is written from);
- `identity`: the line digest, occurrence count and `event_id` of every line, nothing else:
  the part of `type` that event identity costs whatever the parser does (not a stage of the
  pipeline: a floor under `type`);
- `ingest`: `provenance.ingest.pipeline.ingest_stream` into an in-memory SQLite store: the whole
  pipeline (accounting, JSON payloads, appends, the ObjectState projection) without file I/O.

Two line sets come from `provenance.cli.demo.world.generate` (objects=2000, days=150): the audit
logs (`audit_checksum_validation.log`, `audit_catalog_to_moab.log`, `c2a.log`: nearly every
line is an audit result, so an event) and the Rails `production.log` (request noise: nearly
every line is ignored as "not an audit result"). Stages are run round-robin, `--repeats`
rounds, and medians are reported, with `type` / `regex` as the headline ratio.

With `--before DIR` (a tree of the code before: `git archive COMMIT | tar -x -C DIR`), DIR's own
`bench/prescat_parse.py` runs its `feed`, `type` and `ingest` stages over the same lines in the
same rounds, with DIR's packages first on the path, as `before: feed`, `before: type` and
`before: ingest`.

Run: `.venv/bin/python bench/prescat_parse.py [--repeats 5] [--quick] [--before DIR]`. All data
is made in a temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import PYTHON, fmt_int, median, run_measured

STAGES = ("regex", "identity", "feed", "type", "ingest")
BEFORE_STAGES = ("feed", "type", "ingest")
# The before tree's script, run with the tree first on the path (`-c`: the working directory).
# Its loops are timed in CPU time too: its `time.perf_counter` is `time.process_time`.
_RUN_BEFORE = (
    "import runpy, sys, time; time.perf_counter = time.process_time; "
    "sys.path.insert(0, 'bench'); sys.argv[0] = 'bench/prescat_parse.py'; "
    "runpy.run_path('bench/prescat_parse.py', run_name='__main__')"
)
TZ = "America/Los_Angeles"
AUDIT_FILES = ("audit_checksum_validation.log", "audit_catalog_to_moab.log", "c2a.log")
RAILS_FILES = ("production.log",)
# The bare regexes: a simple pattern for the set's line layout, capturing its parts.
BARE = {
    # Ruby Logger: severity initial, time, pid, level, progname, message.
    "ruby": r"([DIWEFAU]), \[([^\]]+) #(\d+)\] +([A-Z]+) -- ([^:]*): (.*)",
    # Rails tagged logging: time, level, request id, message.
    "rails": r"\[([^\]]+)\] \[([A-Z]+)\] \[([^\]]*)\] (.*)",
}
SETS = {  # label -> (demo files, bare regex)
    "audit results": (AUDIT_FILES, "ruby"),
    "Rails request log": (RAILS_FILES, "rails"),
}


# --- the child: one stage over one file, timed in-process ------------------------------------


def _child(stage: str, path: Path, layout: str) -> dict[str, float | int]:
    # CPU time of the loop (process_time), not wall time: on a shared machine (two cores, a
    # load of 17 when this was last run) wall time measures the neighbours; the loops are
    # single-threaded and do no I/O, so their CPU time is their cost.
    time.perf_counter = time.process_time
    raw = path.read_bytes()
    lines = raw.decode("utf-8", "surrogateescape").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if stage == "regex":
        return _time_regex(lines, BARE[layout])
    if stage in ("feed", "type"):
        return _time_source(lines, path.name, build=stage == "type")
    if stage == "identity":
        return _time_identity(lines)
    if stage == "ingest":
        return _time_ingest(raw, path.name)
    raise SystemExit(f"unknown stage {stage}")


def _time_regex(lines: list[str], pattern: str) -> dict[str, float | int]:
    match = re.compile(pattern).match
    start = time.perf_counter()
    matched = 0
    for line in lines:
        if match(line) is not None:
            matched += 1
    seconds = time.perf_counter() - start
    return {"lines": len(lines), "seconds": seconds, "matched": matched, "events": 0}


def _time_identity(lines: list[str]) -> dict[str, float | int]:
    from provenance.domain.identity import OccurrenceCounter, event_ids, line_digest

    counter = OccurrenceCounter()
    ids = event_ids("prescat", "")
    start = time.perf_counter()
    for line in lines:
        digest = line_digest(line)
        ids(digest, counter.next(digest), 0)
    seconds = time.perf_counter() - start
    return {"lines": len(lines), "seconds": seconds, "events": len(lines), "matched": 0}


def _time_source(lines: list[str], name: str, *, build: bool) -> dict[str, float | int]:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from provenance.domain.identity import OccurrenceCounter, event_ids
    from provenance.sources.base import Entry, SourceContext
    from provenance.sources.prescat import PrescatSource

    source = PrescatSource(SourceContext(tz=ZoneInfo(TZ), file=name))
    counter = OccurrenceCounter()
    recorded_at = datetime.now(UTC)
    source_name = PrescatSource.name
    ids = event_ids(source_name, "")
    drafts = 0
    events = 0

    def typed(entries: list[Entry]) -> int:  # the body of Reader._records, per completed entry
        made = 0
        for entry in entries:
            if not entry.drafts:
                continue
            digest = entry.digest
            occurrence = counter.next(digest)
            ref = {"type": source_name, "origin": "", "file": name, "line": entry.line_no}
            for index, draft in enumerate(entry.drafts):
                shape = draft.shape
                assert shape is not None
                shape.values(draft.fields, ids(digest, occurrence, index), recorded_at, ref)
                made += 1
        return made

    feed = source.feed
    start = time.perf_counter()
    if build:
        for line_no, line in enumerate(lines, start=1):
            entries = feed(line_no, line)
            if entries:
                events += typed(entries)
        events += typed(source.finish())
    else:
        for line_no, line in enumerate(lines, start=1):
            for entry in feed(line_no, line):
                drafts += len(entry.drafts)
        for entry in source.finish():
            drafts += len(entry.drafts)
    seconds = time.perf_counter() - start
    return {"lines": len(lines), "seconds": seconds, "events": events or drafts, "matched": 0}


def _time_ingest(raw: bytes, name: str) -> dict[str, float | int]:
    import io
    from zoneinfo import ZoneInfo

    from eventstore.sqlite import MEMORY, SQLiteEventStore
    from provenance.ingest.pipeline import ingest_stream
    from provenance.ingest.reader import IngestOptions

    store = SQLiteEventStore(MEMORY)
    options = IngestOptions(source="prescat", tz=ZoneInfo(TZ))
    start = time.perf_counter()
    report = ingest_stream(store, io.BytesIO(raw), name, options)
    seconds = time.perf_counter() - start
    store.close()
    return {"lines": report.lines, "seconds": seconds, "events": report.events, "matched": 0}


# --- the parent: make the lines, run the children, report -------------------------------------


def _make_inputs(directory: Path, *, quick: bool) -> dict[str, tuple[Path, str]]:
    from provenance.cli.demo.world import generate

    objects, days = (300, 60) if quick else (2000, 150)
    data = generate(directory / "demo", objects=objects, days=days, tz=TZ)
    by_name = {f.path.name: f.path for f in data.files}
    inputs = {}
    for label, (names, layout) in SETS.items():
        target = directory / f"{label.split()[0].lower()}.log"
        with target.open("wb") as out:
            for name in names:
                out.write(by_name[name].read_bytes())
        inputs[label] = (target, layout)
    return inputs


def measure(repeats: int, *, quick: bool, before: Path | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    stages = [*STAGES, *(f"before: {stage}" for stage in BEFORE_STAGES if before)]
    with tempfile.TemporaryDirectory(prefix="bench-prescat-") as tmp:
        inputs = _make_inputs(Path(tmp), quick=quick)
        for label, (path, layout) in inputs.items():
            results: dict[str, list[dict[str, float | int]]] = {stage: [] for stage in stages}
            for _ in range(repeats):
                for stage in stages:  # round-robin: drift on a shared machine hits all alike
                    args = ["--child", stage.removeprefix("before: "), "--input", str(path)]
                    args += ["--layout", layout]
                    if stage.startswith("before: "):
                        run = run_measured([PYTHON, "-c", _RUN_BEFORE, *args], cwd=before)
                    else:
                        run = run_measured([PYTHON, __file__, *args])
                    results[stage].append(json.loads(run.stdout))
            regex_s = median([r["seconds"] for r in results["regex"]])
            for stage in stages:
                runs = results[stage]
                per_round = [
                    t["seconds"] / r["seconds"] for t, r in zip(runs, results["regex"], strict=True)
                ]
                seconds = median([r["seconds"] for r in runs])
                rows.append(
                    {
                        "set": label,
                        "bare_regex": BARE[layout],
                        "stage": stage,
                        "lines": runs[0]["lines"],
                        "events": runs[0]["events"] if stage != "regex" else runs[0]["matched"],
                        "seconds": seconds,
                        "lines_per_s": runs[0]["lines"] / seconds,
                        "x_regex": seconds / regex_s,
                        "ratio_range": (min(per_round), max(per_round)),
                    }
                )
    return rows


def markdown(rows: list[dict[str, Any]], repeats: int) -> str:
    out = [
        "### 1. prescat parse-and-type vs a bare regex",
        "",
        f"Median of {repeats} runs per stage, each in a fresh process, CPU time of the loop; "
        "lines already in memory.",
        "`events` is the number of typed events built (for `regex`: lines the bare regex matched).",
        "",
        "| line set | stage | lines | events | median s | lines/s | time × bare regex |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        out.append(
            f"| {row['set']} | {row['stage']} | {fmt_int(row['lines'])} | "
            f"{fmt_int(row['events'])} | {row['seconds']:.3f} | "
            f"{fmt_int(row['lines_per_s'])} | {row['x_regex']:.1f} |"
        )
    out.append("")
    seen = set()
    for row in rows:
        if row["set"] not in seen:
            seen.add(row["set"])
            out.append(f"- bare regex for {row['set']}: `{row['bare_regex']}`")
    by_stage = {(row["set"], row["stage"]): row for row in rows}
    for row in rows:
        if row["stage"] == "type":
            low, high = row["ratio_range"]
            line = (
                f"- {row['set']}: parse-and-type takes {row['x_regex']:.1f}× the bare regex's "
                f"time (per-round ratios {low:.1f}–{high:.1f}×), "
                f"{1 / row['x_regex']:.3f} of its speed"
            )
            before = by_stage.get((row["set"], "before: type"))
            if before is not None:
                low, high = before["ratio_range"]
                line += (
                    f"; before: {before['x_regex']:.1f}× (per round {low:.1f}–{high:.1f}×), "
                    f"{before['seconds'] / row['seconds']:.2f}× the time of now"
                )
            identity = by_stage[(row["set"], "identity")]
            line += (
                f". Identity alone (digest, occurrence, id of every line) takes "
                f"{identity['x_regex']:.1f}×."
            )
            ingest, before_ingest = (
                by_stage[(row["set"], "ingest")],
                by_stage.get((row["set"], "before: ingest")),
            )
            if before_ingest is not None:
                line += (
                    f" Ingest end to end: {ingest['seconds']:.3f} s, before "
                    f"{before_ingest['seconds']:.3f} s."
                )
            out.append(line)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small input, for trying it out")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--before",
        type=Path,
        help="a tree of the code before (git archive COMMIT | tar -x -C DIR): its feed, type and "
        "ingest stages run too, over the same lines",
    )
    parser.add_argument("--child", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--layout", choices=sorted(BARE), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.input, args.layout)))
        return 0
    rows = measure(args.repeats, quick=args.quick, before=args.before and args.before.resolve())
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    print(markdown(rows, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
