"""Run every benchmark and print one markdown summary (what `make bench` runs).

Runs, one after the other, each in its own process (each of them starts a fresh child process
per measurement):

1. `bench/prescat_parse.py`  prescat parse-and-type vs a bare regex (about 1 min);
2. `bench/ingest_1m.py`      `prov ingest` of 1,000,000 lines, twice per input (about 4 min);
3. `bench/premis_export.py`  `prov premis` of 100,000 events vs metsrw (about 5 min);
   `bench/premis_xml.py`     its XML writer vs a bare `lxml.etree.xmlfile` writer of the same
   document, and `prov premis` with the writer before issue 13 (about 3 min);
   `bench/premis_rdf.py`     `prov premis --format turtle|json-ld` of 100,000 events, with
   the XML and the read+map floor (about 2 min; the before/after comparison is run by hand
   with `--before`, see its docstring);
4. `bench/clf_ingest.py`     `prov ingest --source clf` of 1,000,000 access-log lines vs
   apache-log-parser's parse of the same lines (about 8 min);
5. `bench/access_report.py`  `prov report access` over 1,000,000 access events, seven
   reports, each with its DuckDB peer over the raw log, five rounds each, after building the
   store once (about 5 min before the peers were added);
6. `bench/aws_cold_start.py` the Lambda handlers' imports against `import boto3`, fresh
   interpreters, nine rounds (about 1 min);
7. `bench/aws_units.py`      the AWS runtime over a moto server on 127.0.0.1: 100,000 log
   lines shipped, ingested and projected, DynamoDB and Kinesis units counted and priced per
   1,000,000 lines, handler time (about 8 min, most of it moto's);
8. `bench/lambda_bundle.py`  the Lambda asset's size, and the handlers' imports from it under
   Python 3.12 with and without bytecode (about 20 s; needs a Python 3.12).
9. `bench/long_line.py`      peak memory of `prov ingest` on one line of 5 and of 50 MiB, the
   50 MiB one gzip-compressed, and 2,000 lines of 200 KiB, against one short line (about
   1 min).
10. `bench/store_size.py`    bytes on disk per event in the SQLite store, 1,000,000 access-log
   lines and 1,000,000 audit lines (about 6 min).
11. `bench/fleet_scale.py`   the fleet queries (`prov objects`, `prov report fleet`) over a
   generated store of 2,000,000 objects, cold and warm, with their query plans; and their
   DynamoDB read units per page over moto (about 25 min, 17 of them building the store;
   10 GiB in the temporary directory).

The summary starts with the machine and the date, then each script's section with its figures.
`--markdown FILE` also writes it to FILE; `--quick` runs small sizes (for trying the scripts
out: those figures are not the benchmark's). Every script makes its data in a temporary
directory and removes it. Needs the `bench` and `dev` extras (metsrw, apache-log-parser;
moto[server] for the AWS runtime), which `make bench` installs from requirements/bench.txt.

Run: `.venv/bin/python bench/run_all.py [--markdown results.md] [--quick]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from common import BENCH_DIR, PYTHON, REPO, machine_lines

SCRIPTS: tuple[tuple[str, list[str], list[str]], ...] = (
    # script, full-size arguments, --quick arguments
    ("prescat_parse.py", ["--repeats", "5"], ["--repeats", "2", "--quick"]),
    ("ingest_1m.py", ["--lines", "1000000"], ["--lines", "50000"]),
    ("premis_export.py", ["--events", "100000", "--repeats", "3"], ["--events", "5000"]),
    ("premis_xml.py", ["--events", "100000", "--repeats", "5"], ["--events", "5000"]),
    ("premis_rdf.py", ["--events", "100000", "--repeats", "3"], ["--events", "5000"]),
    ("clf_ingest.py", ["--lines", "1000000"], ["--lines", "20000"]),
    ("access_report.py", ["--lines", "1000000"], ["--lines", "20000", "--repeats", "2"]),
    ("aws_cold_start.py", ["--rounds", "9"], ["--rounds", "2"]),
    ("aws_units.py", ["--lines", "100000"], ["--lines", "10000"]),
    ("lambda_bundle.py", ["--rounds", "9"], ["--rounds", "2"]),
    ("long_line.py", ["--repeats", "3"], ["--sizes", "2", "3", "--many", "200", "--repeats", "1"]),
    ("store_size.py", ["--lines", "1000000"], ["--lines", "20000"]),
    ("fleet_scale.py", ["--objects", "2000000"], ["--quick"]),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path, help="also write the summary here")
    parser.add_argument("--quick", action="store_true", help="small sizes, to try it out")
    args = parser.parse_args(argv)
    sections = ["## Benchmark results", "", *machine_lines(), ""]
    started = time.perf_counter()
    for script, full, quick in SCRIPTS:
        cmd = [PYTHON, str(BENCH_DIR / script), *(quick if args.quick else full)]
        shown = " ".join(["python", f"bench/{script}", *cmd[2:]])
        print(f"running: {shown}", file=sys.stderr, flush=True)
        begun = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            print(f"bench: {shown} failed with exit code {done.returncode}", file=sys.stderr)
            return done.returncode
        took = time.perf_counter() - begun
        sections += [done.stdout.rstrip(), "", f"Command: `{shown}` ({took:.0f} s)", ""]
    sections.append(f"Total: {time.perf_counter() - started:.0f} s.")
    summary = "\n".join(sections)
    print(summary)
    if args.markdown:
        args.markdown.write_text(summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
