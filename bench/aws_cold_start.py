"""Lambda cold start: importing the handlers against importing boto3 alone, in the same run.

Issue 12 asked for `python -X importtime -c "import handlers.ingest"` against `import boto3`
alone, in the same run, under 2x; issue 13 for at most 1.5x.

Each command below runs in a fresh interpreter (`python -c CODE`, working directory the
repository), `--rounds` rounds, round-robin in an order that turns by one each round, after
one warm-up round that is not counted (it leaves the byte-code caches written):

- `pass`: the interpreter's own start-up, the floor of every wall time;
- `import boto3`;
- `import handlers.ingest`, `import handlers.projector`, `import handlers.api`: what Lambda
  does before the first invocation (the init phase);
- two "ready to work" variants: `import boto3` plus `boto3.client("dynamodb", ...)`, and
  `import handlers.ingest` plus the setup its first invocation does (`_options` and
  `handlers.container.store()`: the store named by `PROV_STORE` opened, which imports
  `eventstore.dynamodb` and boto3 and makes the client; access policy and zone). Making a
  client does not touch the network;
- "two records ingested": the ingest setup above, then two Kinesis records ingested as the
  handler ingests each (`ingest_record`: five access-log lines, then two audit lines of the
  preservation catalog) into an in-memory SQLite store (DynamoDB would be the network). What
  the init phase leaves for later (event models built on first use) is paid here.

With `--before DIR` (a tree of older code: `git archive COMMIT | tar -x -C DIR`), the three
`handlers.ingest` rows run from DIR too (`python -c` in DIR, so DIR's packages are imported),
in the same rounds: before and after measured side by side.

Each command runs twice per round: once with `-X importtime`, whose report gives the import
time (the cumulative microseconds of every top-level import made after start-up: the modules
`python -c pass` imports are left out), and once without, timed from outside (wall time of the
process, with its CPU time and peak RSS, see `common.py`). Medians are reported, and the ratio
of each to `import boto3`'s median; the issue's aim is the import time of `handlers.ingest`
at most 1.5x that of boto3. For `handlers.ingest` the biggest direct imports (median run) show
where its time goes.

Also tried: another CPython 3.12 found under `~/.pyenv/versions/3.12*` (Lambda's python3.12
runtime), only if boto3, Powertools and the project import there.

With `--instructions`, each of `pass`, `import boto3` and the `handlers.ingest` rows (and their
`--before` rows) also runs once under valgrind's callgrind, which counts the instructions the
process executes: a count the machine's load does not change (times on a shared machine do,
by more than a 10% change), though it leaves out what instructions do not show (waiting for
files and memory). Counts are above `pass`'s, with `PYTHONHASHSEED=0`.

Run: `.venv/bin/python bench/aws_cold_start.py [--rounds 9] [--before DIR] [--instructions]
[--json FILE]`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import PYTHON, REPO, median, run_measured

AIM_RATIO = 1.5
STORE = "dynamodb://provenance-events?region=us-east-1"
SETUP = (
    f"import os; os.environ['PROV_STORE'] = {STORE!r}; "
    "import handlers.ingest; handlers.ingest._options(()); handlers.container.store()"
)
ACCESS_LINES = "".join(
    f'171.64.{n}.9 - - [01/Mar/2026:22:14:0{n} -0800] "GET /file/druid:bj102hs9687/thesis.pdf '
    f'HTTP/1.1" 200 1024 "-" "Mozilla/5.0 (X11; Linux x86_64)"\n'
    for n in range(5)
)
AUDIT_LINES = "".join(
    f"I, [2026-03-01T22:14:05.{n}23456 #4711]  INFO -- : validate_checksums(bj102hs9687, "
    f"fixture_sr3) {what}\n"
    for n, what in enumerate(
        ("checksum(s) match", "MoabRecord status changed from ok to invalid_checksum")
    )
)
INGEST = "handlers.ingest + two records ingested"
COMMANDS: dict[str, str] = {
    "pass": "pass",
    "import boto3": "import boto3",
    "import handlers.ingest": "import handlers.ingest",
    "import handlers.projector": "import handlers.projector",
    "import handlers.api": "import handlers.api",
    "boto3 + a DynamoDB client": (
        "import boto3; boto3.client('dynamodb', region_name='us-east-1')"
    ),
    "handlers.ingest + its first invocation's setup": SETUP,
    INGEST: (
        f"{SETUP}; from eventstore import open_store; "
        "from provenance.ingest.kinesis_records import RecordOrigin, ingest_record; "
        "store = open_store('sqlite:///:memory:'); "
        f"[ingest_record(store, data.encode(), RecordOrigin('prov-logs', str(n)), "
        "handlers.ingest._options(())) "
        f"for n, data in enumerate(({ACCESS_LINES!r}, {AUDIT_LINES!r}))]"
    ),
}
# The rows that also run from `--before DIR`.
INGEST_ROWS = (
    "import handlers.ingest",
    "handlers.ingest + its first invocation's setup",
    INGEST,
)
BEFORE = "before: "
BASELINE = "import boto3"
FLOOR = "pass"
# No user configuration is read (it would vary with the machine) and nothing reaches AWS.
ENVIRONMENT = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    # The deployed function reads its pseudonym key from Secrets Manager, a network call this
    # benchmark cannot make; without a key its first invocation's setup refuses to start.
    "PROV_PSEUDONYM_KEY": "bench: a pseudonym key of at least 32 characters",
}


def parse_importtime(stderr: str) -> list[tuple[int, str, int]]:
    """`-X importtime` lines as (depth, module, cumulative us), in the order printed."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue  # the header
        name = parts[2]
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append((depth, name.strip(), int(parts[1])))
    return entries


def import_us(entries: list[tuple[int, str, int]], startup: set[str]) -> int:
    """Cumulative time of every top-level import after start-up."""
    return sum(us for depth, name, us in entries if depth == 0 and name not in startup)


def direct_imports(entries: list[tuple[int, str, int]], module: str) -> list[tuple[str, int]]:
    """The imports made directly by `module` (one level below it), biggest first."""
    index = next(i for i, (depth, name, _) in enumerate(entries) if depth == 0 and name == module)
    children = []
    # importtime prints a module after everything it imported, so its subtree comes before it.
    for depth, name, us in reversed(entries[:index]):
        if depth == 0:
            break
        if depth == 1:
            children.append((name, us))
    return sorted(children, key=lambda child: -child[1])


def measure(python: str, rounds: int, before: Path | None = None) -> dict[str, Any]:
    jobs = {name: (code, REPO) for name, code in COMMANDS.items()}
    if before is not None:
        jobs.update({BEFORE + name: (COMMANDS[name], before) for name in INGEST_ROWS})
    names = list(jobs)
    startup = {name for _, name, _ in parse_importtime(_importtime(python, "pass", REPO))}
    samples: dict[str, dict[str, list[Any]]] = {
        name: {"import_us": [], "wall_s": [], "cpu_s": [], "rss": [], "entries": []}
        for name in names
    }
    for round_no in range(rounds + 1):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            code, cwd = jobs[name]
            entries = parse_importtime(_importtime(python, code, cwd))
            run = run_measured([python, "-c", code], cwd=cwd)
            if round_no == 0:
                continue  # warm-up
            sample = samples[name]
            sample["import_us"].append(import_us(entries, startup))
            sample["entries"].append(entries)
            sample["wall_s"].append(run.wall_s)
            sample["cpu_s"].append(run.cpu_s)
            sample["rss"].append(run.max_rss_mib)
    figures: dict[str, Any] = {
        "python": python,
        "version": _version(python),
        "before": None if before is None else str(before),
        "rows": {},
    }
    floor = median(samples[FLOOR]["wall_s"])
    for name, sample in samples.items():
        figures["rows"][name] = {
            "code": jobs[name][0],
            "import_ms": median(sample["import_us"]) / 1000,
            "import_ms_range": [min(sample["import_us"]) / 1000, max(sample["import_us"]) / 1000],
            "wall_ms": median(sample["wall_s"]) * 1000,
            "wall_ms_range": [min(sample["wall_s"]) * 1000, max(sample["wall_s"]) * 1000],
            "above_floor_ms": (median(sample["wall_s"]) - floor) * 1000,
            "cpu_ms": median(sample["cpu_s"]) * 1000,
            "max_rss_mib": max(sample["rss"]),
            "boto3_imported": any(
                name == "boto3" for entries in sample["entries"] for _, name, _ in entries
            ),
        }
    base = figures["rows"][BASELINE]
    for row in figures["rows"].values():
        row["import_ratio"] = row["import_ms"] / base["import_ms"]
        row["wall_ratio"] = row["above_floor_ms"] / base["above_floor_ms"]
    # Where `import handlers.ingest` spends its time: the run with the median import time.
    for prefix in ("", BEFORE):
        ingest = samples.get(prefix + "import handlers.ingest")
        if ingest is None:
            continue
        ranked = sorted(
            zip(ingest["import_us"], ingest["entries"], strict=True), key=lambda s: s[0]
        )
        median_run = ranked[len(ranked) // 2][1]
        figures[prefix + "ingest_imports"] = direct_imports(median_run, "handlers.ingest")[:10]
    return figures


def _importtime(python: str, code: str, cwd: Path) -> str:
    done = subprocess.run(
        [python, "-X", "importtime", "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: {python} -c {code!r} failed:\n{done.stderr[-2000:]}")
    return done.stderr


def _version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def other_pythons() -> list[tuple[str, str | None]]:
    """CPython 3.12 interpreters under ~/.pyenv, and why each cannot be used (None if it can)."""
    found = []
    for home in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*"))):
        python = str(Path(home) / "bin" / "python")
        if not Path(python).exists():
            continue
        check = "import boto3, aws_lambda_powertools, pydantic, handlers.ingest"
        done = subprocess.run(
            [python, "-c", check],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        reason = None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["failed"])[-1]
            reason = last
        found.append((python, reason))
    return found


def markdown(runs: list[dict[str, Any]], skipped: list[tuple[str, str]], rounds: int) -> str:
    out = [
        "#### 6.1 Cold start: the handlers' imports against boto3's",
        "",
        f"Each row: `python -c CODE` in a fresh interpreter, {rounds} rounds round-robin after a "
        "warm-up round (median; import time from `-X importtime`, every top-level import after "
        "start-up; wall, CPU and peak RSS of the process, from a second run without "
        "`-X importtime`).",
    ]
    for figures in runs:
        rows = figures["rows"]
        out += [
            "",
            f"Python {figures['version']} (`{figures['python']}`):",
            "",
            "| CODE | import ms | range | × boto3 | wall ms | wall − start-up ms | × boto3 "
            "| CPU ms | peak RSS MiB | boto3 imported |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for name, row in rows.items():
            low, high = row["import_ms_range"]
            relative = (
                ["", "", "", ""]
                if name == FLOOR
                else [
                    f"{row['import_ms']:.0f}",
                    f"{low:.0f}–{high:.0f}",
                    f"{row['import_ratio']:.2f}",
                    f"{row['above_floor_ms']:.0f}",
                ]
            )
            wall_ratio = "" if name == FLOOR else f"{row['wall_ratio']:.2f}"
            out.append(
                f"| {name} | {relative[0]} | {relative[1]} | {relative[2]} | "
                f"{row['wall_ms']:.0f} | {relative[3]} | {wall_ratio} | {row['cpu_ms']:.0f} | "
                f"{row['max_rss_mib']:.0f} | {'yes' if row['boto3_imported'] else 'no'} |"
            )
        ingest = rows["import handlers.ingest"]
        verdict = "meets" if ingest["import_ratio"] <= AIM_RATIO else "misses"
        ready = rows["handlers.ingest + its first invocation's setup"]
        client = rows["boto3 + a DynamoDB client"]
        out += [
            "",
            f"- `import handlers.ingest`: {ingest['import_ms']:.0f} ms against "
            f"{rows[BASELINE]['import_ms']:.0f} ms for `import boto3`, "
            f"**{ingest['import_ratio']:.2f}×**: {verdict} the aim of at most "
            f"{AIM_RATIO:.1f}×. Ready to work (store opened) against boto3 with a DynamoDB "
            f"client: {ready['import_ms']:.0f} ms against {client['import_ms']:.0f} ms of "
            f"imports ({ready['import_ms'] / client['import_ms']:.2f}×), "
            f"{ready['above_floor_ms']:.0f} ms against {client['above_floor_ms']:.0f} ms of "
            "wall time above start-up "
            f"({ready['above_floor_ms'] / client['above_floor_ms']:.2f}×).",
            "- Biggest direct imports of `handlers.ingest` (cumulative ms, median run): "
            + ", ".join(f"`{name}` {us / 1000:.0f}" for name, us in figures["ingest_imports"])
            + ".",
        ]
        if figures.get("before"):
            out += _before_lines(figures)
        if figures.get("instructions"):
            out += instruction_lines(figures["instructions"])
    for python, reason in skipped:
        out.append(f"- Not run under `{python}`: the packages do not import there ({reason}).")
    return "\n".join(out)


def instructions(python: str, before: Path | None) -> dict[str, int]:
    """Instructions executed (callgrind's count) above `python -c pass`, per row."""
    jobs = {name: (COMMANDS[name], REPO) for name in (FLOOR, BASELINE, *INGEST_ROWS)}
    if before is not None:
        jobs.update({BEFORE + name: (COMMANDS[name], before) for name in INGEST_ROWS})
    counts = {}
    for name, (code, cwd) in jobs.items():
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-c", code],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        counts[name] = int(done.stderr.split("Collected : ")[1].split()[0])
    floor = counts.pop(FLOOR)
    return {name: count - floor for name, count in counts.items()}


def instruction_lines(counts: dict[str, int]) -> list[str]:
    base = counts[BASELINE]
    out = [
        "",
        "Instructions executed (valgrind callgrind, above `python -c pass`, one run each):",
        "",
        "| CODE | instructions (millions) | × boto3 |",
        "| --- | ---: | ---: |",
    ]
    for name, count in counts.items():
        out.append(f"| {name} | {count / 1e6:,.0f} | {count / base:.2f} |")
    return out


def _before_lines(figures: dict[str, Any]) -> list[str]:
    """Before against after (`--before DIR`), row by row, in the same run."""
    rows = figures["rows"]
    out = [f"- Before (the code in `{figures['before']}`) → after, medians of the same rounds:"]
    for name in INGEST_ROWS:
        old, new = rows[BEFORE + name], rows[name]
        out.append(
            f"  - {name}: imports {old['import_ms']:.0f} → {new['import_ms']:.0f} ms "
            f"({old['import_ratio']:.2f}× → {new['import_ratio']:.2f}× boto3), wall above "
            f"start-up {old['above_floor_ms']:.0f} → {new['above_floor_ms']:.0f} ms, CPU "
            f"{old['cpu_ms']:.0f} → {new['cpu_ms']:.0f} ms"
        )
    out.append(
        "- Biggest direct imports of `handlers.ingest` before (cumulative ms, median run): "
        + ", ".join(f"`{name}` {us / 1000:.0f}" for name, us in figures[BEFORE + "ingest_imports"])
        + "."
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--before",
        type=Path,
        help="a tree of older code (git archive COMMIT | tar -x -C DIR): the handlers.ingest "
        "rows run from it too, in the same rounds",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the instructions of the boto3 and handlers.ingest rows (valgrind)",
    )
    args = parser.parse_args(argv)
    os.environ.update(ENVIRONMENT)
    before = args.before.resolve() if args.before else None
    runs = [measure(PYTHON, args.rounds, before)]
    if args.instructions:
        runs[0]["instructions"] = instructions(PYTHON, before)
    skipped: list[tuple[str, str]] = []
    for python, reason in other_pythons():
        if reason is None:
            runs.append(measure(python, args.rounds))
        else:
            skipped.append((python, reason))
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "skipped": skipped}, indent=2))
    print(markdown(runs, skipped, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
