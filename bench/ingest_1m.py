"""`prov ingest` end to end into SQLite over 1,000,000 lines: lines/s and peak memory.

What it measures: the real console script,

    prov ingest --store sqlite:///<tmp>/<name>.db --tz America/Los_Angeles --format json <files>

run as a child process (fresh store), timed by the wall clock, with the child's own peak RSS
and CPU time (`os.wait4`, see `common.py`); then the same command again over the same files,
where every event is already stored (the re-ingest / replay speed). Figures are taken from the
child's JSON report (lines, events, duplicates, ignored, quarantined).

Two inputs, both written by `provenance.cli.demo.world.generate` in a temporary directory:

- `demo mix`: one generated world (objects=6000, days=122: about 1.0M lines over all seven
  demo files: audit logs, Rails request log, robot logs, events.jsonl). About 40% of its lines
  are Rails request noise that is read and ignored, not stored.
- `audit only`: the three prescat audit logs (`audit_checksum_validation.log`,
  `audit_catalog_to_moab.log`, `c2a.log`) of several worlds with different seeds
  (objects=2000, days=150 each), concatenated and cut at exactly 1,000,000 lines: nearly every
  line becomes an event.

Generating the input is not timed. The aim (issue) is at least 50,000 lines/s on one core.
Each ingest runs once by default (`--repeats N` for more; medians are then reported).

Run: `.venv/bin/python bench/ingest_1m.py [--lines 1000000] [--repeats 1]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import MIB, fmt_int, median, prov_command, run_measured

TZ = "America/Los_Angeles"
AUDIT_FILES = ("audit_checksum_validation.log", "audit_catalog_to_moab.log", "c2a.log")
AIM_LINES_PER_S = 50_000


def make_mixed(directory: Path, lines: int) -> tuple[list[Path], float]:
    """One demo world big enough for `lines` lines (scaled from 6000 objects x 122 days)."""
    from provenance.cli.demo.world import generate

    objects = max(3, round(6000 * lines / 1_000_000))
    start = time.perf_counter()
    data = generate(directory / "mixed", objects=objects, days=122, tz=TZ)
    return sorted(f.path for f in data.files), time.perf_counter() - start


def make_audit_only(directory: Path, lines: int) -> tuple[list[Path], float]:
    """The audit logs of several seeds, concatenated and cut at exactly `lines` lines."""
    from provenance.cli.demo.world import generate

    start = time.perf_counter()
    target = directory / "audit_only.log"
    written = 0
    seed = 1
    with target.open("wb") as out:
        while written < lines:
            world = directory / f"seed-{seed}"
            data = generate(world, objects=2000, days=150, seed=seed, tz=TZ)
            by_name = {f.path.name: f.path for f in data.files}
            for name in AUDIT_FILES:
                for line in by_name[name].read_bytes().splitlines(keepends=True):
                    if written == lines:
                        break
                    out.write(line)
                    written += 1
            shutil.rmtree(world)
            seed += 1
    return [target], time.perf_counter() - start


def ingest(store: Path, files: list[Path]) -> tuple[dict[str, Any], Any]:
    cmd = [prov_command(), "ingest", "--store", f"sqlite:///{store}", "--tz", TZ]
    cmd += ["--format", "json", *map(str, files)]
    run = run_measured(cmd)
    return json.loads(run.stdout), run


def measure(lines: int, repeats: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        directory = Path(tmp)
        for label, make in (("demo mix", make_mixed), ("audit only", make_audit_only)):
            files, gen_s = make(directory, lines)
            size = sum(path.stat().st_size for path in files)
            first: list[tuple[dict[str, Any], Any]] = []
            again: list[tuple[dict[str, Any], Any]] = []
            for attempt in range(repeats):
                store = directory / f"{label.replace(' ', '_')}-{attempt}.db"
                first.append(ingest(store, files))
                again.append(ingest(store, files))
                db_mib = sum(p.stat().st_size for p in directory.glob(f"{store.name}*")) / MIB
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{store}{suffix}").unlink(missing_ok=True)
            for kind, runs in (("fresh store", first), ("re-ingest (all duplicates)", again)):
                report = runs[0][0]
                wall = median([run.wall_s for _, run in runs])
                cpu = median([run.cpu_s for _, run in runs])
                rows.append(
                    {
                        "input": label,
                        "run": kind,
                        "files": len(files),
                        "input_mib": size / MIB,
                        "generate_s": gen_s,
                        "lines": report["lines"],
                        "events": report["events"],
                        "duplicates": report["duplicates"],
                        "consumed": report["consumed"],
                        "ignored": report["ignored"],
                        "quarantined": report["quarantined"],
                        "ignored_by_reason": report["ignored_by_reason"],
                        "events_by_type": report["events_by_type"],
                        "wall_s": wall,
                        "cpu_s": cpu,
                        "lines_per_s": report["lines"] / wall,
                        "lines_per_cpu_s": report["lines"] / cpu,
                        "max_rss_mib": max(run.max_rss_mib for _, run in runs),
                        "db_mib": db_mib,
                        "repeats": len(runs),
                    }
                )
            for path in files:
                path.unlink()
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    out = [
        "### 2. `prov ingest` end to end into SQLite",
        "",
        f"Each row: {rows[0]['repeats']} run(s) of the console script in a fresh process "
        "(median wall and CPU time; peak RSS is the largest). Aim: "
        f"{fmt_int(AIM_LINES_PER_S)} lines/s.",
        "",
        "| input | run | lines | new events | duplicates | ignored | quarantined | wall s "
        "| lines/s (wall) | CPU s | lines/s (CPU) | peak RSS MiB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        out.append(
            f"| {row['input']} | {row['run']} | {fmt_int(row['lines'])} | "
            f"{fmt_int(row['events'])} | {fmt_int(row['duplicates'])} | "
            f"{fmt_int(row['ignored'])} | {fmt_int(row['quarantined'])} | {row['wall_s']:.1f} | "
            f"{fmt_int(row['lines_per_s'])} | {row['cpu_s']:.1f} | "
            f"{fmt_int(row['lines_per_cpu_s'])} | {row['max_rss_mib']:.0f} |"
        )
    out.append("")
    for row in rows:
        if row["run"] != "fresh store":
            continue
        share = 100 * row["consumed"] / row["lines"]
        reasons = ", ".join(f"{k} {fmt_int(v)}" for k, v in row["ignored_by_reason"].items())
        verdict = "meets" if row["lines_per_s"] >= AIM_LINES_PER_S else "misses"
        out.append(
            f"- {row['input']}: {row['files']} file(s), {row['input_mib']:.0f} MiB, generated "
            f"in {row['generate_s']:.0f} s (not timed); {share:.1f}% of lines became events "
            f"(ignored: {reasons or 'none'}); store {row['db_mib']:.0f} MiB after both runs; "
            f"{verdict} the aim ({fmt_int(row['lines_per_s'])} lines/s)."
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    rows = measure(args.lines, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
