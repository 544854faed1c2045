"""Helpers shared by the benchmark scripts: measured child processes, medians, the machine.

Every measurement runs in a fresh child process. Peak memory is the child's peak resident set
size, `ru_maxrss` (what `resource.getrusage(RUSAGE_CHILDREN)` and `/usr/bin/time -v` report),
with its user + system CPU time, taken with `os.wait4` for exactly that child.

Linux keeps a process's peak RSS across `exec`, and a child forked (or vforked) from a big
parent starts with the parent's pages, so a child started straight from a benchmark script
that has just generated 1M lines would report the script's peak, not its own. The child is
therefore started by a tiny launcher (`launch.py`, run as `python -I -S launch.py`, about
10 MiB) that spawns the command, reaps it with `os.wait4` and writes the figures to a file;
the launcher's own size is the floor of any figure. Wall time is measured inside the
launcher, around the command only. The machine is shared and noisy, so the scripts compare
speeds as ratios measured in the same run and report medians of a few repeats where cheap.

Imports only the standard library.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PYTHON = sys.executable
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Run:
    """One finished child: wall and CPU seconds, its own peak RSS, exit code and output."""

    wall_s: float
    cpu_s: float
    max_rss_mib: float
    returncode: int
    stdout: bytes
    stderr: bytes


def prov_command() -> str:
    """The `prov` console script of the interpreter running the benchmark."""
    beside = Path(PYTHON).parent / "prov"
    if beside.exists():
        return str(beside)
    found = shutil.which("prov")
    if found is None:
        raise SystemExit("bench: the `prov` console script is not installed (make bench)")
    return found


def run_measured(cmd: Sequence[str], *, cwd: Path | None = None) -> Run:
    """Run `cmd` as a child (through the launcher); raise with its stderr if it fails."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".json") as figures,
    ):
        launcher = [PYTHON, "-I", "-S", str(BENCH_DIR / "launch.py"), figures.name, *cmd]
        subprocess.run(
            launcher, check=False, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd
        )
        out.seek(0)
        err.seek(0)
        measured = json.loads(figures.read() or "{}")
        run = Run(
            wall_s=measured.get("wall_s", 0.0),
            cpu_s=measured.get("cpu_s", 0.0),
            max_rss_mib=measured.get("max_rss_kib", 0) / 1024,
            returncode=measured.get("returncode", -1),
            stdout=out.read(),
            stderr=err.read(),
        )
    if run.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(cmd)} exited {run.returncode}:\n"
            + run.stderr.decode("utf-8", "replace")[-3000:]
        )
    return run


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def source_line() -> str:
    """The commit measured, and the project files that differed from it (read-only git)."""
    commit = _git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = [
        line[3:]
        for line in _git("status", "--porcelain").splitlines()
        if line and not line[3:].startswith(("bench/", "BENCHMARKS.md"))
    ]
    dirty = f" plus uncommitted changes to {', '.join(changed)}" if changed else " (clean)"
    return f"- code: commit {commit}{dirty}"


def machine_lines() -> list[str]:
    """A markdown list describing where and when the figures were measured."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- date: {now}",
        f"- CPU: {cpu_model()}; nproc {usable}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({os.path.normpath(sys.executable)})",
        f"- SQLite {sqlite3.sqlite_version}; lxml {_version('lxml')}; "
        f"pydantic {_version('pydantic')}; metsrw {_version('metsrw')}",
        source_line(),
    ]


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(MIB), b""))


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def runs_table(runs: dict[str, dict[str, Any]]) -> list[str]:
    """The markdown table of measured runs (`run_measured`'s figures, medians), a row each:
    wall and CPU seconds, peak RSS, and the output's size where the run wrote one."""
    lines = [
        "| run | wall s | CPU s | peak RSS MiB | output MiB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, run in runs.items():
        size = f"{run['size_mib']:.0f}" if "size_mib" in run else "-"
        lines.append(
            f"| {name} | {run['wall_s']:.2f} | {run['cpu_s']:.2f} | {run['max_rss_mib']:.0f} "
            f"| {size} |"
        )
    return lines
