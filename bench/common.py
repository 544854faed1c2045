"""Helpers shared by the benchmark scripts: measured child processes, medians, the machine.

Every measurement runs in a fresh child process, started with `subprocess.Popen` and reaped
with `os.wait4`, which returns that one child's own resource usage: its peak resident set size
(`ru_maxrss`, the same figure `resource.getrusage(RUSAGE_CHILDREN)` and `/usr/bin/time -v`
report, but for exactly this child rather than the largest child so far) and its user + system
CPU time. Wall time is measured around the child with `time.perf_counter`. The machine is
shared and noisy, so scripts compare speeds as ratios measured in the same run and report
medians of a few repeats where a run is cheap.

Imports only the standard library.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

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
        raise SystemExit("bench: the `prov` console script is not installed (pip install -e .)")
    return found


def run_measured(cmd: Sequence[str], *, cwd: Path | None = None) -> Run:
    """Run `cmd` as a child; raise with its stderr if it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            max_rss_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
            returncode=proc.returncode,
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


def machine_lines() -> list[str]:
    """A markdown list describing where and when the figures were measured."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- date: {now}",
        f"- CPU: {cpu_model()}; nproc {usable}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- SQLite {sqlite3.sqlite_version}; lxml {_version('lxml')}; "
        f"pydantic {_version('pydantic')}; metsrw {_version('metsrw')}",
    ]


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(MIB), b""))


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"
