"""Where the time goes: `prov ingest` and `prov premis` under cProfile, split by pipeline stage.

Not a speed figure (cProfile slows pure-Python code more than C code, so only the shares
mean something): it explains the throughput figures of `ingest_1m.py` and `premis_export.py`.
Each command runs once as `python -m cProfile -o <tmp> <prov script> ...` in a fresh process,
on the same inputs those benchmarks use:

- `prov ingest` of the `audit only` input (`ingest_1m.make_audit_only`, `--lines` lines,
  fresh store), split into: reading lines and the loop, `source.feed` (parsing),
  `Reader.handle` (typed pydantic events, ids, JSON payloads), `SQLiteEventStore.append`
  and the ObjectState catch-up (`ObjectStateProjector.catch_up`, which reads the batch back
  from SQLite and folds it into the projection);
- `prov premis` of one object with `--events` events (`premis_export.build_store`), split into
  reading the store (`read_stream`), `load_event`, `EventMapper.to_premis`, building the XML
  nodes (`premis.xml._event_node`) and writing them (`premis.xml._emit`, lxml `xmlfile`).

Run: `.venv/bin/python bench/profile_hotspots.py [--lines 1000000] [--events 100000]`
(about 4 minutes; not part of `run_all.py`).
"""

from __future__ import annotations

import argparse
import pstats
import sys
import tempfile
from pathlib import Path

from common import PYTHON, fmt_int, prov_command, run_measured

# (label, path suffix, function name); the first row is the total the others are shares of.
INGEST_STAGES = (
    ("ingest_stream (total)", "provenance/ingest/pipeline.py", "ingest_stream"),
    ("source.feed: parsing", "provenance/sources/auto.py", "feed"),
    ("Reader.handle: typed events, ids, payloads", "provenance/ingest/reader.py", "handle"),
    ("SQLiteEventStore.append", "eventstore/sqlite.py", "append"),
    (
        "ObjectState catch-up (reads the batch back)",
        "provenance/projections/object_state.py",
        "catch_up",
    ),
)
PREMIS_STAGES = (
    ("export_object (total)", "provenance/query/premis_export.py", "export_object"),
    ("read_stream: SQLite pages", "eventstore/sqlite.py", "read_stream"),
    ("load_event: JSON -> pydantic", "provenance/domain/events.py", "load_event"),
    ("EventMapper.to_premis", "provenance/query/premis_export.py", "to_premis"),
    ("premis.xml._event_node: build nodes", "premis/xml.py", "_event_node"),
    ("premis.xml._emit: lxml xmlfile writes", "premis/xml.py", "_emit"),
)


def cumulative(stats_path: Path, stages: tuple[tuple[str, str, str], ...]) -> list[tuple]:
    """Cumulative seconds per stage (summed over same-named functions in that file)."""
    stats = pstats.Stats(str(stats_path)).stats  # type: ignore[attr-defined]
    rows = []
    for label, suffix, name in stages:
        seconds = sum(
            value[3]
            for (path, _line, func), value in stats.items()
            if func == name and path.endswith(suffix)
        )
        rows.append((label, seconds))
    return rows


def profile(cmd: list[str], out: Path) -> None:
    run_measured([PYTHON, "-m", "cProfile", "-o", str(out), *cmd])


def table(title: str, command: str, rows: list[tuple]) -> list[str]:
    total = rows[0][1]
    lines = [
        f"#### {title}",
        "",
        f"Profiled command: `{command}`",
        "",
        "| stage | profiled s | share |",
        "| --- | ---: | ---: |",
        f"| {rows[0][0]} | {total:.1f} | 100% |",
    ]
    rest = total
    for label, seconds in rows[1:]:
        rest -= seconds
        lines.append(f"| {label} | {seconds:.1f} | {100 * seconds / total:.0f}% |")
    lines.append(f"| everything else | {rest:.1f} | {100 * rest / total:.0f}% |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args(argv)
    import ingest_1m
    import premis_export

    prov = prov_command()
    out = ["### Profiles (cProfile: shares, not speeds)", ""]
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        directory = Path(tmp)
        files, _ = ingest_1m.make_audit_only(directory, args.lines)
        db = directory / "ingest.db"
        cmd = [prov, "ingest", "--store", f"sqlite:///{db}", "--tz", ingest_1m.TZ]
        cmd += ["--format", "json", *map(str, files)]
        profile(cmd, directory / "ingest.prof")
        rows = cumulative(directory / "ingest.prof", INGEST_STAGES)
        shown = f"prov ingest --store sqlite:///<tmp>/ingest.db --tz {ingest_1m.TZ} --format json"
        out += table(
            f"`prov ingest`, audit only, {fmt_int(args.lines)} lines, fresh store",
            f"python -m cProfile {shown} audit_only.log",
            rows,
        )
        for path in files:
            path.unlink()

        store = premis_export.build_store(directory, args.events)
        xml = directory / "prov.xml"
        cmd = [prov, "premis", premis_export.DRUID, "--store", store["url"], "-o", str(xml)]
        profile(cmd, directory / "premis.prof")
        rows = cumulative(directory / "premis.prof", PREMIS_STAGES)
        out += table(
            f"`prov premis`, one object, {fmt_int(store['events'])} events",
            f"python -m cProfile prov premis {premis_export.DRUID} --store sqlite:///<tmp>/"
            "premis.db -o <tmp>/prov.xml",
            rows,
        )
    print("\n".join(out).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
