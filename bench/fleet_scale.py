"""The fleet queries at 2,000,000 objects: every list's first page and a deep page, and the
fleet report, on SQLite; and their read units per page on DynamoDB (issue 15, "Scale").

1. SQLite. A store file (in a temporary directory) whose `object_state` projection holds
   `--objects` ObjectState rows, written through `store.write_projection` with the index
   entries and totals `fleet_index` gives them, 20,000 rows per call: exactly what the
   projector stores (`bench/fleet_data.py` says how the rows are drawn). Drawing a row
   applies some 28 events to it (about 1 ms a row on this machine), so `--distinct` rows are
   drawn and each is written under `--objects / --distinct` druids (its index terms and
   totals repeated; the row's druid is its own). The store has no events: its checkpoint
   (`$checkpoint` 0) and `$layout` say the projection is current, so no query rebuilds it
   (checked: `catch_up` reads nothing). Every drawn row is checked: its index lists the
   kinds of failure it was drawn with; and a sample of rows read back gives, through the
   projector's own `index_of`, the entries the store holds for it.
   Then, each in a fresh process (cold: the store just opened; the file is in the OS cache)
   and in one process that runs them `--repeats` times (warm: the median): `fleet_report`,
   and the first page (limit 50) and a deep page (after following `next` `--deep` pages) of
   each list. The warm process's SQL statements are checked with `EXPLAIN QUERY PLAN`: every
   read searches a primary key (no SCAN). Peak RSS is the query process's (`bench/common.py`).
2. DynamoDB, over a moto server on 127.0.0.1 (`tests.aws_server`, as `bench/aws_units.py`):
   `--ddb-objects` rows (the first drawn rows, none repeated) written through the DynamoDB
   store's `write_projection`, then the read units of a page of each list and of the report,
   counted per call by DynamoDB's rules from the items that came back (moto's
   `ReturnConsumedCapacity` figures are shown beside them: see the section's notes), and the
   write units of typical updates (the transaction the projector writes).

Run: `.venv/bin/python bench/fleet_scale.py [--objects 2000000] [--distinct 100000]
[--repeats 5] [--deep 100] [--ddb-objects 5000] [--store FILE] [--json FILE]` (about 25
minutes for 2,000,000 objects on a loaded 2-core machine, 17 of them building the store, which
takes 10 GiB in the temporary directory; `--store FILE` keeps the store there, and measures it
again without building when it exists). `--quick`: 20,000 objects and 500 on DynamoDB, to
try it out. Needs the dev dependencies (moto[server]).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from common import PYTHON, REPO, fmt_int, machine_lines, median, run_measured

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PROJECTION = "object_state"
BATCH = 20_000
SAMPLE = 1_000
PAGE = 50


def cases(end: date) -> dict[str, dict[str, Any]]:
    """Every list measured: its name and FleetQuery fields (JSON)."""
    listed: dict[str, dict[str, Any]] = {"failing": {"failing": True}}
    from provenance.query.fleet import FAILURE_KINDS

    for kind in FAILURE_KINDS:
        listed[f"failing, kind {kind}"] = {"failing": True, "kind": kind}
    listed |= {
        "status ok": {"status": "ok"},
        "root services-disk02": {"root": "services-disk02"},
        "status ok + root services-disk02": {"status": "ok", "root": "services-disk02"},
        "not checked since (90 days)": {
            "not_checked_since": (end - timedelta(days=90)).isoformat()
        },
        "unreplicated": {"unreplicated": True},
        "every object (newest activity first)": {},
    }
    return listed


def fleet_query(fields: dict[str, Any], after: str | None = None) -> Any:
    from provenance.query.fleet import FleetQuery

    given = dict(fields)
    if "not_checked_since" in given:
        given["not_checked_since"] = date.fromisoformat(given["not_checked_since"])
    return FleetQuery(**given, limit=PAGE, after=after)


def _progress(message: str, started: float = time.perf_counter()) -> None:
    print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)


# --- building the store ----------------------------------------------------------------------


def build(path: Path, objects: int, distinct: int) -> dict[str, Any]:
    """Write the fleet into a new store at `path`; return what it took."""
    import random

    from fleet_data import druid_of, failure_kinds, fleet_rows
    from pydantic_core import to_json

    from eventstore import ProjectionWrite, SQLiteEventStore
    from provenance.projections import object_state
    from provenance.projections.base import CHECKPOINT

    started = time.perf_counter()
    copies = -(-objects // distinct)
    store = SQLiteEventStore(path)
    store.put_projection(
        PROJECTION, {object_state.LAYOUT_KEY: object_state.LAYOUT, CHECKPOINT: b"0"}
    )
    names = random.Random(2026)
    batch: list[Any] = []
    written = entries = 0
    for drawn, row in enumerate(fleet_rows(min(distinct, objects))):
        if failure_kinds(row.indexed) != row.kinds:
            raise SystemExit(
                f"bench: {row.druid} was drawn failing {set(row.kinds)} but its "
                f"index says {set(failure_kinds(row.indexed))}"
            )
        value = to_json(row.state)
        totals = tuple(row.indexed.totals.items())
        for copy in range(copies):
            number = drawn * copies + copy
            if number >= objects:
                break
            druid = row.druid if copy == 0 else druid_of(number, names)
            own = value if copy == 0 else value.replace(row.druid.encode(), druid.encode(), 1)
            batch.append(
                ProjectionWrite(druid, own, 0, index_add=row.indexed.entries, totals=totals)
            )
            entries += len(row.indexed.entries)
        if len(batch) >= BATCH:
            store.write_projection(PROJECTION, batch)
            written += len(batch)
            batch = []
            _progress(f"built {fmt_int(written)} of {fmt_int(objects)} rows")
    store.write_projection(PROJECTION, batch)
    written += len(batch)
    store.close()
    seconds = time.perf_counter() - started
    _progress(f"built {fmt_int(written)} rows in {seconds:.0f} s")
    return {
        "seconds": seconds,
        "rows": written,
        "entries": entries,
        "distinct": distinct,
        "copies": copies,
    }


def verify(path: Path, objects: int, entries: int) -> dict[str, Any]:
    """The store's projection is current (nothing to replay), holds every row and the index
    entries written, and a sample of rows has each entry the projector's `index_of` gives it
    (looked up by primary key: the index has no key-first order to list a row's entries)."""
    import random

    from fleet_data import druid_of

    from eventstore import SQLiteEventStore
    from provenance.projections import object_state

    store = SQLiteEventStore(path, create=False)
    read = object_state.catch_up(store)
    totals = store.projection_totals(PROJECTION)
    if read != 0 or totals.get("objects") != objects:
        raise SystemExit(
            f"bench: catch_up read {read} events; totals say {totals.get('objects')} objects"
        )
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        index_rows = con.execute("SELECT count(*) FROM projection_index").fetchone()[0]
        if index_rows != entries:
            raise SystemExit(f"bench: {index_rows} index entries in the store, {entries} written")
        projector = object_state.ObjectStateProjector(store)
        draw = random.Random(7)
        sampled = set()
        for _ in range(SAMPLE):
            # The first row from a random druid on (a primary key search, not a scan).
            (key,) = con.execute(
                "SELECT key FROM projections WHERE projection = ? AND key >= ? ORDER BY key "
                "LIMIT 1",
                [PROJECTION, druid_of(draw.randrange(objects), draw)],
            ).fetchone() or ("$layout",)
            if key.startswith("$") or key in sampled:
                continue
            sampled.add(key)
            row = store.get_projection(PROJECTION, key)
            assert row is not None
            for index, term in projector.index_of(object_state.from_value(row.value)).entries:
                if not con.execute(
                    "SELECT 1 FROM projection_index WHERE projection = ? AND idx = ? "
                    "AND term = ? AND key = ?",
                    [PROJECTION, index, term, key],
                ).fetchone():
                    raise SystemExit(f"bench: {key} lacks its index entry {index} {term}")
    store.close()
    return {"index_entries": index_rows, "sampled": len(sampled), "totals": len(totals)}


# --- measuring (child processes) -------------------------------------------------------------


def warm(path: Path, repeats: int, deep: int) -> dict[str, Any]:
    """Child: every query `repeats` times in this process (after one untimed run); the
    tokens of each list's deep page; the query plans of every statement run."""
    from eventstore import SQLiteEventStore
    from provenance.query.fleet import fleet_objects, fleet_report

    store = SQLiteEventStore(path, create=False)
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    report_runs = []
    for _ in range(repeats + 1):
        begun = time.perf_counter()
        report = fleet_report(store)
        report_runs.append(time.perf_counter() - begun)
    end = date.fromisoformat(report["as_of"][:10])
    figures: dict[str, Any] = {
        "report": {
            "s": median(report_runs[1:]),
            "objects": report["objects"],
            "failing": report["failing"],
        },
        "end": end.isoformat(),
        "lists": {},
    }
    for name, fields in cases(end).items():
        first = [_timed(store, fleet_query(fields)) for _ in range(repeats + 1)]
        page, _ = first[0]
        token, followed, begun = page.next, 0, time.perf_counter()
        while token is not None and followed < deep:
            token = fleet_objects(store, fleet_query(fields, token)).next
            followed += 1
        follow_s = time.perf_counter() - begun
        deeper = (
            []
            if token is None
            else [_timed(store, fleet_query(fields, token)) for _ in range(repeats + 1)]
        )
        middle, entries = middle_token(path, fleet_query(fields))
        halfway = (
            []
            if middle is None
            else [_timed(store, fleet_query(fields, middle)) for _ in range(repeats + 1)]
        )
        figures["lists"][name] = {
            "entries": entries,
            "middle_token": middle,
            "middle_s": median([s for _, s in halfway[1:]]) if halfway else None,
            "first_s": median([s for _, s in first[1:]]),
            "first_count": len(page.objects),
            "followed": followed,
            "follow_s_per_page": follow_s / followed if followed else None,
            "deep_token": token,
            "deep_s": median([s for _, s in deeper[1:]]) if deeper else None,
            "deep_count": len(deeper[0][0].objects) if deeper else 0,
        }
    figures["plans"] = plans(path, statements)
    return figures


def middle_token(path: Path, query: Any) -> tuple[str | None, int]:
    """The `next` token of the page that starts halfway down the list's index range (made
    from that entry, as a page ending there would give it), and the range's length."""
    from fleet_data import ENDPOINTS

    from eventstore import IndexEntry
    from provenance.query.fleet import _scan, _token

    scan = _scan(query, len(ENDPOINTS))
    if scan is None:
        return None, 0
    where, params = "projection = ? AND idx = ?", [PROJECTION, scan.index]
    if scan.start is not None:
        where, params = where + " AND term >= ?", [*params, scan.start]
    if scan.stop is not None:
        where, params = where + " AND term < ?", [*params, scan.stop]
    order = "DESC" if scan.descending else "ASC"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        (count,) = con.execute(
            f"SELECT count(*) FROM projection_index WHERE {where}", params
        ).fetchone()
        found = con.execute(
            f"SELECT term, key FROM projection_index WHERE {where} "
            f"ORDER BY term {order}, key {order} LIMIT 1 OFFSET ?",
            [*params, count // 2],
        ).fetchone()
    if count < 2 * PAGE or found is None:
        return None, count
    return _token(scan.index, IndexEntry(*found)), count


def _timed(store: Any, query: Any) -> tuple[Any, float]:
    from provenance.query.fleet import fleet_objects

    begun = time.perf_counter()
    page = fleet_objects(store, query)
    return page, time.perf_counter() - begun


def plans(path: Path, statements: list[str]) -> dict[str, Any]:
    """EXPLAIN QUERY PLAN of every distinct read statement: whether any scans a table."""
    shapes: dict[str, str] = {}
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            shapes.setdefault(_shape(sql), sql)
    details: dict[str, list[str]] = {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        for shape, sql in shapes.items():
            details[shape] = [row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {sql}")]
    scans = {shape: d for shape, d in details.items() if any(x.startswith("SCAN") for x in d)}
    return {
        "statements": len(statements),
        "distinct": len(details),
        "details": details,
        "scans": scans,
    }


def _shape(sql: str) -> str:
    """A statement with its literals and IN lists folded, to group statements."""
    import re

    folded = re.sub(r"'(?:[^']|'')*'|\b\d+\b", "?", sql)
    return re.sub(r"\((?:\?, )+\?\)", "(...)", folded)


def cold(path: Path, fields: dict[str, Any] | None, after: str | None) -> dict[str, Any]:
    """Child: open the store and answer one query (None: the report)."""
    begun = time.perf_counter()
    from eventstore import SQLiteEventStore
    from provenance.query.fleet import fleet_objects, fleet_report

    imported = time.perf_counter()
    store = SQLiteEventStore(path, create=False)
    opened = time.perf_counter()
    if fields is None:
        count = fleet_report(store)["objects"]
    else:
        count = len(fleet_objects(store, fleet_query(fields, after)).objects)
    done = time.perf_counter()
    return {
        "import_s": imported - begun,
        "open_s": opened - imported,
        "query_s": done - opened,
        "count": count,
    }


def measure_sqlite(path: Path, repeats: int, deep: int) -> dict[str, Any]:
    me = [PYTHON, str(Path(__file__).resolve())]
    _progress("warm: every query in one process")
    run = run_measured([*me, "--warm", str(path), "--repeats", str(repeats), "--deep", str(deep)])
    figures = json.loads(run.stdout)
    figures["warm_rss_mib"] = run.max_rss_mib
    _progress("cold: each query in a fresh process")
    cold_runs = []
    for name, fields in [("report", None), *cases(date.fromisoformat(figures["end"])).items()]:
        pages = [("first", None)]
        if fields is not None:
            for which in ("deep", "middle"):
                if figures["lists"][name][f"{which}_token"]:
                    pages.append((which, figures["lists"][name][f"{which}_token"]))
        for which, token in pages:
            args = ["--cold", str(path), "--fields", json.dumps(fields)]
            run = run_measured([*me, *args, *(["--after", token] if token else [])])
            got = json.loads(run.stdout)
            cold_runs.append(
                {
                    "name": name,
                    "page": which,
                    "wall_s": run.wall_s,
                    "rss_mib": run.max_rss_mib,
                    **got,
                }
            )
    figures["cold"] = cold_runs
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2_000_000)
    parser.add_argument("--distinct", type=int, default=100_000, help="rows drawn (see above)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--deep", type=int, default=100, help="pages followed to the deep page")
    parser.add_argument("--ddb-objects", type=int, default=5_000)
    parser.add_argument("--store", type=Path, help="build the store here (kept), or reuse it")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--quick", action="store_true", help="20,000 objects, 500 on DynamoDB")
    parser.add_argument("--warm", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cold", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fields", help=argparse.SUPPRESS)
    parser.add_argument("--after", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warm:
        print(json.dumps(warm(args.warm, args.repeats, args.deep)))
        return 0
    if args.cold:
        print(json.dumps(cold(args.cold, json.loads(args.fields), args.after)))
        return 0
    if args.quick:
        args.objects, args.distinct, args.ddb_objects = 20_000, 5_000, 500
        args.repeats, args.deep = 2, 10
    command = " ".join(
        ["python bench/fleet_scale.py", *(argv if argv is not None else sys.argv[1:])]
    )
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        path = args.store or Path(tmp) / "fleet.db"
        figures: dict[str, Any] = {
            "objects": args.objects,
            "command": command,
            "repeats": args.repeats,
            "deep": args.deep,
        }
        built = path.with_name(path.name + ".build.json")
        if not path.exists():
            _progress(f"building {fmt_int(args.objects)} rows in {path}")
            built.write_text(json.dumps(build(path, args.objects, args.distinct)))
        figures["build"] = json.loads(built.read_text())
        figures["size_bytes"] = sum(
            p.stat().st_size for p in path.parent.glob(path.name + "*") if p != built
        )
        _progress("checking the store")
        figures["verify"] = verify(path, args.objects, figures["build"]["entries"])
        figures["sqlite"] = measure_sqlite(path, args.repeats, args.deep)
    from fleet_dynamodb import measure_dynamodb

    _progress(f"DynamoDB: {fmt_int(args.ddb_objects)} rows over moto")
    figures["dynamodb"] = measure_dynamodb(args.ddb_objects, figures)
    figures["machine"] = machine_lines()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    from fleet_markdown import markdown

    print(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
