"""Peak memory of `prov ingest` on long lines: bounded, whatever their length and number.

Issue 11, item 15: "One 50 MB line took 3.8 GB of memory and 24 s. Expected: lines above a
documented cap (e.g. 1 MiB) are quarantined truncated with their length, read in bounded
memory; peak memory of `prov ingest` independent of line length beyond the cap." Its review
added long lines *below* the cap: 2,000 lines of 200 KB (400 MB) peaked at 1,082 MB, a batch
of 20,000 records holding each quarantined line twice (base64 and text) until it was written.
A batch is now also written once its payloads pass 16 MiB
(`provenance.ingest.reader.BATCH_BYTES`).

The inputs, written to a temporary directory before anything is measured: a file of one short
log line (the floor: interpreter, imports, the store), and files of one line of `--sizes` MiB
each (default 5 and 50: random base64 text, so nothing about it is special), the largest also
gzip-compressed (read through the decompressor, as a rotated log would be), and a file of
`--many` lines of `--many-kib` KiB each (default 2,000 of 200: under the cap, so each is read
whole and quarantined as not recognised, kept truncated to what a record holds). Each is read by
`prov ingest --store sqlite:///<tmp>/<n>.db --format json FILE` into a fresh store, in a fresh
child process (`common.run_measured`: wall time, CPU time and the child's own peak RSS),
`--repeats` rounds; the table gives the median wall time and the largest peak RSS of each.

What to read from it: the peak RSS of the over-long lines against each other and against the
floor. The line is read in pieces of 1 MiB and only its first 64 KiB is kept, so the figures
should differ by no more than noise; before the cap, the 50 MiB line alone needed gigabytes.
The many long lines: some tens of MiB above the floor (a batch's 16 MiB of payloads and what
building them takes), not the size of the file.

Run: `.venv/bin/python bench/long_line.py [--sizes 5 50] [--many 2000 --many-kib 200]
[--repeats 3]`. Needs no extra.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import MIB, machine_lines, median, prov_command, run_measured

SHORT_LINE = (
    "I, [2026-03-01T22:14:05.223456 #4711]  INFO -- : "
    "validate_checksums(bj102hs9687, fixture_sr3) checksum(s) match\n"
)


def _one_line(path: Path, mib: int) -> None:
    """A file of one line of `mib` MiB of random base64 text (written in 1 MiB blocks)."""
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(base64.b64encode(os.urandom(MIB * 3 // 4))[:MIB])
        out.write(b"\n")


def _many_lines(path: Path, count: int, kib: int) -> None:
    """A file of `count` lines of `kib` KiB of random base64 text each."""
    with path.open("wb") as out:
        for _ in range(count):
            out.write(base64.b64encode(os.urandom(kib * 768))[: kib * 1024] + b"\n")


def _gzipped(source: Path, target: Path) -> None:
    with source.open("rb") as data, gzip.open(target, "wb", compresslevel=1) as out:
        while block := data.read(MIB):
            out.write(block)


def measure(sizes: list[int], many: int, many_kib: int, repeats: int) -> dict[str, Any]:
    prov = prov_command()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-long-line-") as tmp:
        directory = Path(tmp)
        inputs: list[tuple[str, str, Path]] = []
        short = directory / "short.log"
        short.write_text(SHORT_LINE)
        inputs.append(("floor", "one short line (the floor)", short))
        for mib in sizes:
            path = directory / f"line-{mib}.log"
            _one_line(path, mib)
            inputs.append(("over-long", f"one line of {mib} MiB", path))
        largest = inputs[-1][2]
        packed = directory / f"{largest.name}.gz"
        _gzipped(largest, packed)
        inputs.append(("over-long", f"one line of {max(sizes)} MiB, gzip", packed))
        if many:
            path = directory / f"many-{many}x{many_kib}.log"
            _many_lines(path, many, many_kib)
            inputs.append(("many", f"{many:,} lines of {many_kib} KiB", path))
        for kind, label, path in inputs:
            runs = []
            report: dict[str, Any] = {}
            for attempt in range(repeats):
                store = directory / f"{path.name}-{attempt}.db"
                cmd = [prov, "ingest", "--store", f"sqlite:///{store}", "--format", "json"]
                run = run_measured([*cmd, str(path)])
                runs.append(run)
                report = json.loads(run.stdout)
                for leftover in directory.glob(f"{store.name}*"):
                    leftover.unlink()
            rows.append(
                {
                    "kind": kind,
                    "input": label,
                    "file_mib": path.stat().st_size / MIB,
                    "wall_s": median([run.wall_s for run in runs]),
                    "cpu_s": median([run.cpu_s for run in runs]),
                    "max_rss_mib": max(run.max_rss_mib for run in runs),
                    "quarantined_by_reason": report["quarantined_by_reason"],
                    "events": report["events"],
                }
            )
    return {
        "sizes": sizes,
        "many": many,
        "many_kib": many_kib,
        "repeats": repeats,
        "rows": rows,
    }


def markdown(figures: dict[str, Any]) -> str:
    out = [
        "### 7. `prov ingest` of long lines: peak memory",
        "",
        f"Each row: {figures['repeats']} run(s) in a fresh process into a fresh SQLite store "
        "(median wall and CPU time, start-up included; peak RSS is the largest).",
        "",
        "| input | file MiB | wall s | CPU s | peak RSS MiB | what it became |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in figures["rows"]:
        became = (
            "; ".join(f"quarantined: {reason}" for reason in row["quarantined_by_reason"])
            or f"{row['events']} event(s)"
        )
        out.append(
            f"| {row['input']} | {row['file_mib']:.1f} | {row['wall_s']:.2f} | "
            f"{row['cpu_s']:.2f} | {row['max_rss_mib']:.0f} | {became} |"
        )
    long_rows = [row for row in figures["rows"] if row["kind"] == "over-long"]
    spread = max(r["max_rss_mib"] for r in long_rows) - min(r["max_rss_mib"] for r in long_rows)
    floor = figures["rows"][0]["max_rss_mib"]
    above = max(r["max_rss_mib"] for r in long_rows) - floor
    out += [
        "",
        f"- peak RSS over the over-long lines spans {spread:.0f} MiB; the largest is "
        f"{above:.0f} MiB above the one-short-line floor.",
    ]
    for row in figures["rows"]:
        if row["kind"] == "many":
            out.append(
                f"- {row['input']} ({row['file_mib']:.0f} MiB): peak RSS "
                f"{row['max_rss_mib'] - floor:.0f} MiB above the floor."
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 50], help="MiB per line")
    parser.add_argument("--many", type=int, default=2000, help="lines of the many-lines file")
    parser.add_argument("--many-kib", type=int, default=200, help="KiB per line of that file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--machine", action="store_true", help="print the machine first")
    args = parser.parse_args(argv)
    figures = measure(sorted(args.sizes), args.many, args.many_kib, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if args.machine:
        print("\n".join(machine_lines()) + "\n")
    print(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
