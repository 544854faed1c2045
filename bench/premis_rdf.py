"""PREMIS 3 Turtle and JSON-LD export of one object with 100,000 events: streamed vs rdflib graph.

What it measures, each run in a fresh child process (wall time, CPU time, the child's own peak
RSS; see `common.py`), `--repeats` times round-robin, medians reported:

- `prov premis druid:bc123df4567 --store ... --format turtle|json-ld -o <tmp>/out`, the real
  console script: the streamed writer (`premis.rdf_stream.write_rdf`);
- with `--before DIR`, `before: prov premis --format turtle|json-ld`: the same command run
  from a tree of the code before the streamed writer (`python -c` in DIR, so DIR's packages
  come first), which built one rdflib graph of the whole document; once per run as it is slow;
  its output must be byte-identical to the streamed one;
- `prov premis` XML (`--format xml`), for scale;
- `read+map only` (bench/premis_export.py's child): reading and mapping the events with no
  writer, the floor every writer stands on.

The store is bench/premis_export.py's (prescat audit lines for one druid). Aims (issue 13):
streamed, peak RSS at most 250 MB at any size, at most 10 s.

Run: `git archive d18fca9 | tar -x -C /tmp/before` (the commit before), then
`.venv/bin/python bench/premis_rdf.py [--events 100000] [--repeats 3] [--before /tmp/before]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import MIB, PYTHON, fmt_int, median, prov_command, run_measured, runs_table
from premis_export import DRUID, build_store

AIM_SECONDS = 10.0
AIM_EVENTS = 100_000
AIM_MB = 250
HERE = Path(__file__).resolve().parent


_PROV_MAIN = "import sys; from provenance.cli.main import main; sys.exit(main())"


def measure(count: int, repeats: int, before: Path | None) -> dict[str, Any]:
    prov = prov_command()
    with tempfile.TemporaryDirectory(prefix="bench-premis-rdf-") as tmp:
        directory = Path(tmp)
        store = build_store(directory, count)
        url = store["url"]
        outputs = {fmt: directory / f"prov.{fmt}" for fmt in ("xml", "turtle", "json-ld")}
        commands = {
            f"prov premis --format {fmt}": [
                prov,
                "premis",
                DRUID,
                "--store",
                url,
                "--format",
                fmt,
                "-o",
                str(path),
            ]
            for fmt, path in outputs.items()
        }
        commands["read+map only"] = [PYTHON, str(HERE / "premis_export.py"), "--child",
                                     "read-map", "--store", url]  # fmt: skip
        runs: dict[str, list[Any]] = {name: [] for name in commands}
        for _ in range(repeats):
            for name, cmd in commands.items():
                runs[name].append(run_measured(cmd))
        sizes = {
            f"prov premis --format {fmt}": path.stat().st_size for fmt, path in outputs.items()
        }
        identical: dict[str, bool] = {}
        if before is not None:
            for fmt in ("turtle", "json-ld"):
                path = directory / f"before.{fmt}"
                name = f"before: prov premis --format {fmt}"
                cmd = [PYTHON, "-c", _PROV_MAIN, "premis", DRUID, "--store", url,
                       "--format", fmt, "-o", str(path)]  # fmt: skip
                # `python -c` puts the working directory first on sys.path: the old tree's code
                runs[name] = [run_measured(cmd, cwd=before)]
                sizes[name] = path.stat().st_size
                identical[fmt] = path.read_bytes() == outputs[fmt].read_bytes()
    summary = {
        name: {
            "wall_s": median([r.wall_s for r in rs]),
            "cpu_s": median([r.cpu_s for r in rs]),
            "max_rss_mib": max(r.max_rss_mib for r in rs),
            **({"size_mib": sizes[name] / MIB} if name in sizes else {}),
        }
        for name, rs in runs.items()
    }
    return {"events": count, "repeats": repeats, "store": store, "runs": summary,
            "identical": identical}  # fmt: skip


def markdown(figures: dict[str, Any]) -> str:
    runs = figures["runs"]
    out = [
        f"PREMIS Turtle / JSON-LD export of {fmt_int(figures['events'])} events "
        f"({DRUID}); median of {figures['repeats']} runs (before: one run), fresh process "
        f"per run, peak RSS the largest. Aims: ≤ {AIM_SECONDS:.0f} s, ≤ {AIM_MB} MB.",
        "",
        *runs_table(runs),
    ]
    floor = runs["read+map only"]["wall_s"]
    out.append("")
    for fmt in ("turtle", "json-ld"):
        run = runs[f"prov premis --format {fmt}"]
        mb = run["max_rss_mib"] * MIB / 1e6
        memory = "meets" if mb <= AIM_MB else "misses"
        if figures["events"] == AIM_EVENTS:
            time = "meets" if run["wall_s"] <= AIM_SECONDS else "misses"
            verdict = f"{time} the time aim, {memory} the memory aim"
        else:  # the time aim is for 100,000 events; the memory aim is for any size
            verdict = f"{memory} the memory aim (the time aim is for {fmt_int(AIM_EVENTS)} events)"
        line = (
            f"- {fmt}: {run['wall_s']:.2f} s ({run['wall_s'] / floor:.1f}× read+map), "
            f"{mb:.0f} MB: {verdict}"
        )
        before = runs.get(f"before: prov premis --format {fmt}")
        if before:
            line += (
                f"; before {before['wall_s']:.1f} s, "
                f"{before['max_rss_mib'] * MIB / 1e6:.0f} MB "
                f"({before['wall_s'] / run['wall_s']:.0f}× the time); byte-identical: "
                f"{'yes' if figures['identical'][fmt] else 'NO'}"
            )
        out.append(line + ".")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--before",
        type=Path,
        help="a tree of the code before (git archive COMMIT | tar -x -C DIR): its prov premis "
        "is run too, once (slow), and its output compared byte for byte",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    before = args.before.resolve() if args.before else None
    figures = measure(args.events, args.repeats, before)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    print(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
