"""Peak memory of `prov ingest` as its input grows: 1M, 3M and 10M lines (issue 13's row
"`prov ingest` peak memory: flat, <= 200 MiB for a 10M-line input").

What runs, each in a fresh child (the launcher of `common.py`: the child's own peak RSS, wall
and CPU time), into a fresh SQLite store removed after the run:

    python -c 'from provenance.cli.main import main; main()' ingest \\
        --store sqlite:///<data>/ingest.db --tz America/Los_Angeles [--source clf \\
        --service stacks] --format json FILE

from this tree, and with `--before DIR` from a tree of the code before (`git archive COMMIT |
tar -x -C DIR`; `python -c` in DIR puts DIR's packages first), on the same file, paired.

Two inputs, written streaming to `--data DIR` (a temporary directory unless given; files
already there are reused, so the before and after runs, or several invocations, read the same
bytes):

- `audit`: the three prescat audit logs of demo worlds of successive seeds (as
  `ingest_1m.py`'s `audit only` makes them), concatenated: nearly every line is a distinct
  event;
- `clf`: the synthetic stacks access log (`access_data.py`), written 1,000,000 lines at a time
  with successive seeds, so each line is distinct and the writer stays small;
- `clf-dense`: the same logs of successive seeds, each cut to its first three days: ten times
  the density (about 333,000 requests a day for one service), where the count rows of an
  hour and a day are largest (not in the default `--inputs`).

A size's file is the first N lines of the largest one. The floor is the same command over the
first 10,000 lines (imports, caches, the store's page cache: what any input costs). Before each
run the free disk space is checked against the input and the store it will write (about
2.5 KB per line today); a size that does not fit is skipped and said so.

Run: `.venv/bin/python bench/ingest_memory.py [--sizes 1000000,3000000,10000000]
[--inputs audit,clf] [--before DIR] [--data DIR] [--json FILE]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from access_data import write_access_log
from common import MIB, PYTHON, REPO, Run, count_lines, fmt_int, machine_lines, run_measured
from ingest_1m import AUDIT_FILES, TZ

AIM_MIB = 200
FLOOR_LINES = 10_000
# What a run needs free on disk per input line: the store (~2 KB per event today), its WAL.
DISK_BYTES_PER_LINE = 2_500
CLF_CHUNK = 1_000_000
_PROV_MAIN = "import sys; from provenance.cli.main import main; sys.exit(main())"
_CLF_ARGS = ["--source", "clf", "--service", "stacks"]
_INPUT_ARGS = {"audit": [], "clf": _CLF_ARGS, "clf-dense": _CLF_ARGS}


def _write_audit(path: Path, lines: int) -> None:
    """The audit logs of demo worlds, seed after seed, until `lines` lines are written."""
    from provenance.cli.demo.world import generate

    written, seed = 0, 1
    with path.open("wb") as out, tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        while written < lines:
            world = Path(tmp) / f"seed-{seed}"
            data = generate(world, objects=2000, days=150, seed=seed, tz=TZ)
            by_name = {f.path.name: f.path for f in data.files}
            for name in AUDIT_FILES:
                with by_name[name].open("rb") as log:
                    for line in log:
                        if written == lines:
                            break
                        out.write(line)
                        written += 1
            shutil.rmtree(world)
            seed += 1


def _write_clf(path: Path, lines: int) -> None:
    """The stacks access log, a million lines (one seed) at a time."""
    written, seed = 0, 1
    with path.open("wb") as out:
        while written < lines:
            part = path.with_suffix(f".part{seed}")
            count = min(CLF_CHUNK, lines - written)
            write_access_log(part, count, seed=seed)
            with part.open("rb") as chunk:
                shutil.copyfileobj(chunk, out, MIB)
            part.unlink()
            written += count
            seed += 1


_FIRST_THREE_DAYS = re.compile(rb"\[0[123]/Mar/2026")


def _write_clf_dense(path: Path, lines: int) -> None:
    """Ten times the stacks log's density: the stacks log of seed after seed (a million lines
    over 30 days each), each cut to the lines of its first three days, until `lines` lines are
    written. Ten seeds give a million lines at about 333,000 requests a day, with ten seeds'
    clients, agents and druids: the hours and days of a busy service."""
    written, seed = 0, 1
    with path.open("wb") as out:
        while written < lines:
            part = path.with_suffix(f".part{seed}")
            write_access_log(part, CLF_CHUNK, seed=seed)
            with part.open("rb") as chunk:
                for line in chunk:
                    if written == lines:
                        break
                    if _FIRST_THREE_DAYS.search(line):
                        out.write(line)
                        written += 1
            part.unlink()
            seed += 1


def _prefix(source: Path, target: Path, lines: int) -> None:
    with source.open("rb") as full, target.open("wb") as out:
        for number, line in enumerate(full):
            if number == lines:
                break
            out.write(line)


_WRITERS = {"audit": _write_audit, "clf": _write_clf, "clf-dense": _write_clf_dense}


def inputs(data: Path, kind: str, sizes: list[int]) -> dict[int, Path]:
    """The input file of each size (the largest written first, the others its prefixes)."""
    largest = max(sizes)
    full = data / f"{kind}-{largest}.log"
    if not full.exists() or count_lines(full) != largest:
        started = time.perf_counter()
        _WRITERS[kind](full, largest)
        print(f"bench: wrote {full} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    files = {largest: full}
    for size in sizes:
        path = data / f"{kind}-{size}.log"
        if size != largest and (not path.exists() or count_lines(path) != size):
            _prefix(full, path, size)
        files[size] = path
    return files


@contextmanager
def _store(data: Path) -> Iterator[Path]:
    # Named for this process: several invocations may share `--data`.
    store = data / f"ingest-{os.getpid()}.db"
    try:
        yield store
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)


def ingest(tree: Path, data: Path, kind: str, path: Path) -> tuple[Run, dict[str, Any]]:
    with _store(data) as store:
        cmd = [PYTHON, "-c", _PROV_MAIN, "ingest", "--store", f"sqlite:///{store}"]
        cmd += ["--tz", TZ, *_INPUT_ARGS[kind], "--format", "json", str(path)]
        run = run_measured(cmd, cwd=tree)
    return run, json.loads(run.stdout)


def _fits(data: Path, lines: int) -> bool:
    return shutil.disk_usage(data).free > lines * DISK_BYTES_PER_LINE


def _row(run: Run, report: dict[str, Any]) -> dict[str, Any]:
    return {
        "lines": report["lines"],
        "events": report["events"],
        "wall_s": run.wall_s,
        "cpu_s": run.cpu_s,
        "max_rss_mib": run.max_rss_mib,
        "lines_per_s": report["lines"] / run.wall_s,
    }


def measure(
    data: Path, kinds: list[str], sizes: list[int], before: Path | None, *, after: bool = True
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    trees = {"before": before} if before is not None else {}
    if after:
        trees["after"] = REPO
    for kind in kinds:
        files = inputs(data, kind, [FLOOR_LINES, *sizes])
        for size in [FLOOR_LINES, *sizes]:
            row: dict[str, Any] = {"input": kind, "size": size}
            if not _fits(data, size):
                row["skipped"] = f"less than {size * DISK_BYTES_PER_LINE / 1e9:.1f} GB free"
                rows.append(row)
                continue
            for label, tree in trees.items():
                row[label] = _row(*ingest(tree, data, kind, files[size]))
                print(f"bench: {kind} {size} {label}: {row[label]}", file=sys.stderr)
            rows.append(row)
    return rows


class _PlainCounter:
    """`OccurrenceCounter` before issue 13: one dict for the whole input (the floor)."""

    def __init__(self) -> None:
        self.seen: dict[bytes, int] = {}

    def next(self, digest: bytes) -> int:
        key = digest[:8]
        seen = self.seen
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        return occurrence


def counter_costs(lines: int) -> list[tuple[str, float]]:
    """CPU microseconds per `next` call over `lines` distinct digests (then each again once, a
    repeat of a line counted long before), in this process: the plain dict, the counter
    within its bound (no file), and past it (counts moved to disk, the filter asked)."""
    import hashlib

    from provenance.domain.identity import MEMORY_BOUND, OccurrenceCounter

    digests = [hashlib.sha1(str(n).encode()).digest() for n in range(lines)]
    sequence = digests + digests[: lines // 10]
    makers: list[tuple[str, Any]] = [
        ("plain dict (before)", _PlainCounter),
        ("OccurrenceCounter within its bound", lambda: OccurrenceCounter(bound=lines + 1)),
        (
            f"OccurrenceCounter past its bound ({fmt_int(MEMORY_BOUND)})",
            OccurrenceCounter,
        ),
    ]
    costs = []
    for name, make in makers:
        best = float("inf")
        for _ in range(3):
            counter = make()
            started = time.process_time()  # CPU time: the machine is shared
            for digest in sequence:
                counter.next(digest)
            best = min(best, time.process_time() - started)
            close = getattr(counter, "close", None)
            if close is not None:
                close()
        costs.append((name, best * 1e6 / len(sequence)))
    return costs


def _cell(row: dict[str, Any], label: str) -> tuple[str, str]:
    """Peak RSS, and lines per CPU second (the machine is shared: wall time says little)."""
    run = row.get(label)
    if run is None:
        return "-", "-"
    return f"{run['max_rss_mib']:.0f}", fmt_int(run["lines"] / run["cpu_s"])


def markdown(rows: list[dict[str, Any]], before: Path | None) -> str:
    out = [
        "| input | lines | events | peak RSS MiB before | peak RSS MiB after "
        "| lines per CPU s before | lines per CPU s after | wall s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if "skipped" in row:
            out.append(f"| {row['input']} | {fmt_int(row['size'])} | skipped: {row['skipped']} |")
            continue
        shown = row.get("after") or row["before"]
        rss_before, speed_before = _cell(row, "before")
        rss_after, speed_after = _cell(row, "after")
        label = " (floor)" if row["size"] == FLOOR_LINES else ""
        out.append(
            f"| {row['input']}{label} | {fmt_int(shown['lines'])} | {fmt_int(shown['events'])} "
            f"| {rss_before} | {rss_after} | {speed_before} | {speed_after} "
            f"| {shown['wall_s']:.0f} |"
        )
    out.append("")
    for kind in dict.fromkeys(row["input"] for row in rows):
        measured = [r for r in rows if r["input"] == kind and "after" in r]
        if not measured:
            continue
        largest = max(measured, key=lambda r: r["size"])
        peak = largest["after"]["max_rss_mib"]
        verdict = "meets" if peak <= AIM_MIB else "misses"
        floor = next(r for r in measured if r["size"] == FLOOR_LINES)["after"]["max_rss_mib"]
        out.append(
            f"- {kind}: {peak:.0f} MiB at {fmt_int(largest['size'])} lines, floor "
            f"{floor:.0f} MiB at {fmt_int(FLOOR_LINES)}: {verdict} the aim (<= {AIM_MIB} MiB"
            + (" at 10,000,000 lines)." if largest["size"] >= 10_000_000 else "; at this size).")
        )
    if before is not None:
        out.append(f"- before: the tree in {before}")
    out += ["", *machine_lines()]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,3000000,10000000")
    parser.add_argument("--inputs", default="audit,clf")
    parser.add_argument("--before", type=Path, help="a tree of the code before (git archive)")
    parser.add_argument("--data", type=Path, help="where the inputs are written (kept)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--counter",
        type=int,
        metavar="LINES",
        help="only time the occurrence counter over LINES distinct digests, in this process",
    )
    parser.add_argument(
        "--before-only", action="store_true", help="run only the --before tree (with --json)"
    )
    parser.add_argument(
        "--before-figures",
        type=Path,
        help="the --json of an earlier --before-only run: its figures are the before column",
    )
    args = parser.parse_args(argv)
    if args.counter:
        print("| counter | CPU µs per line (best of 3) |\n| --- | ---: |")
        for name, seconds in counter_costs(args.counter):
            print(f"| {name} | {seconds:.2f} |")
        print("", *machine_lines(), sep="\n")
        return 0
    sizes = sorted(int(size) for size in args.sizes.split(","))
    kinds = [kind for kind in args.inputs.split(",") if kind]
    unknown = set(kinds) - set(_INPUT_ARGS)
    if unknown:
        parser.error(f"unknown inputs: {', '.join(sorted(unknown))}")
    before = args.before.resolve() if args.before else None
    with tempfile.TemporaryDirectory(prefix="bench-ingest-memory-") as tmp:
        data = args.data.resolve() if args.data else Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        rows = measure(data, kinds, sizes, before, after=not args.before_only)
    if args.before_figures:
        earlier = {(r["input"], r["size"]): r for r in json.loads(args.before_figures.read_text())}
        for row in rows:
            found = earlier.get((row["input"], row["size"]), {}).get("before")
            if found is not None:
                row["before"] = found
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    print(markdown(rows, before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
