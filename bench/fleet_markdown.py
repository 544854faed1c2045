"""The markdown section of `bench/fleet_scale.py`'s figures."""

from __future__ import annotations

import math
from typing import Any

from common import fmt_int

SHARDS = 8
"""`eventstore.schema.INDEX_SHARDS` and `TOTALS_SHARDS`: a page reads every index shard."""
PAGE = 50
READ_UNIT = 4096


def markdown(figures: dict[str, Any]) -> str:
    return "\n".join([*_sqlite(figures), "", *_dynamodb(figures), ""])


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def _sqlite(figures: dict[str, Any]) -> list[str]:
    build, sqlite, verify = figures["build"], figures["sqlite"], figures["verify"]
    objects = figures["objects"]
    cold = {(run["name"], run["page"]): run for run in sqlite["cold"]}
    lines = [
        f"### Fleet queries at {fmt_int(objects)} objects: SQLite",
        "",
        *figures["machine"],
        f"- command: `{figures['command']}`",
        f"- store: {fmt_int(objects)} ObjectState rows ({fmt_int(build['distinct'])} drawn, each "
        f"under {build['copies']} druids), {fmt_int(verify['index_entries'])} index entries, "
        f"{verify['totals']} totals; built in {build['seconds'] / 60:.1f} min; "
        f"{figures['size_bytes'] / 1024**3:.2f} GiB on disk",
        f"- checked: `catch_up` read 0 events (no rebuild); every drawn row's index lists the "
        f"failures it was drawn with; {verify['sampled']} rows read back have each entry "
        "`index_of` gives them",
        "",
        f"Milliseconds. Warm: the median of {figures.get('repeats', 5)} runs in one process "
        "(after one untimed run). Cold: a fresh process that opens the store and answers the "
        "one query (the query alone; the process's wall time, imports included, in brackets). "
        f"Deep: the page after following `next` {figures.get('deep', 100)} pages (50 objects "
        "each).",
        "",
        "Middle: the page after the entry halfway down the list's index (its token made "
        "from that entry), with the index's length.",
        "",
        "| query | objects | warm first | warm deep | warm middle (of entries) | cold first "
        "| cold deep | cold middle |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    report_cold = cold[("report", "first")]
    lines.append(
        f"| fleet report (`prov report fleet`) | {fmt_int(sqlite['report']['objects'])} "
        f"| {_ms(sqlite['report']['s'])} | - | - | {_ms(report_cold['query_s'])} "
        f"({report_cold['wall_s']:.2f} s) | - | - |"
    )
    for name, run in sqlite["lists"].items():
        first = cold[(name, "first")]
        deep_cold, middle_cold = (
            "-"
            if (got := cold.get((name, which))) is None
            else f"{_ms(got['query_s'])} ({got['wall_s']:.2f} s)"
            for which in ("deep", "middle")
        )
        pages = f" (page {run['followed'] + 1})" if run["deep_s"] is not None else ""
        lines.append(
            f"| {name} | {run['first_count']} | {_ms(run['first_s'])} | {_ms(run['deep_s'])}"
            f"{pages} | {_ms(run['middle_s'])} ({fmt_int(run['entries'])}) "
            f"| {_ms(first['query_s'])} ({first['wall_s']:.2f} s) | {deep_cold} | {middle_cold} |"
        )
    slowest = max(
        [sqlite["report"]["s"]]
        + [
            s
            for run in sqlite["lists"].values()
            for s in (run["first_s"], run["deep_s"], run["middle_s"])
            if s
        ]
        + [run["query_s"] for run in sqlite["cold"]]
    )
    plans = sqlite["plans"]
    scans = plans["scans"]
    lines += [
        "",
        f"- slowest of all: {_ms(slowest)} ms",
        f"- query plans: {fmt_int(plans['statements'])} statements of {plans['distinct']} "
        "shapes, each `EXPLAIN QUERY PLAN`ed: "
        + (
            "every one a SEARCH of a primary key, no SCAN"
            if not scans
            else f"SCANs in: {'; '.join(scans)}"
        ),
        f"- peak RSS: {sqlite['warm_rss_mib']:.0f} MiB in the warm process (every query); "
        f"{max(run['rss_mib'] for run in sqlite['cold']):.0f} MiB at most in a cold one",
    ]
    return lines


def _units(kinds: dict[str, Any], *names: str) -> float:
    return sum(float(kinds[n]["units"]) for n in names if n in kinds)


def _dynamodb(figures: dict[str, Any]) -> list[str]:
    ddb = figures["dynamodb"]
    reads = ddb["reads"]
    totals_2m = _totals_units(ddb, ddb["totals_names_2m"])
    lines = [
        f"### Fleet queries: DynamoDB read units per page ({fmt_int(ddb['objects'])} objects "
        "over moto, and at 2,000,000)",
        "",
        "Counted from the items each call read, by DynamoDB's rules (see "
        "`bench/fleet_dynamodb.py`); moto's `ReturnConsumedCapacity` is not used: it answers "
        "one unit per Query whatever it read and ignores eventual consistency. A page reads "
        f"{SHARDS} index shards (eventually consistent Queries of up to 51 entries each) and "
        "its rows (one strongly consistent BatchGetItem). At 2,000,000 objects every shard "
        "has 51 entries to give: the index figure is computed from the measured entry sizes.",
        "",
        "| list | page | index Query | rows BatchGetItem | page | page at 2M |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for phase, kinds in reads.items():
        if "|" not in phase:
            continue
        name, which = phase.split("|")
        index = _units(kinds, "index Query")
        rows = kinds.get("rows BatchGetItem", {"units": 0, "items": 0})
        per_row = rows["units"] / rows["items"] if rows["items"] else 1.0
        lines.append(
            f"| {name} | {which} | {index:g} | {rows['units']:g} | {index + rows['units']:g} "
            f"| {_index_2m(ddb, phase) + per_row * PAGE:g} |"
        )
    report = reads["report"]
    report_now = sum(float(k["units"]) for k in report.values())
    report_2m = report_now - _units(report, "totals Query") + totals_2m
    report_2m += _index_2m(ddb, "report") - _units(report, "index Query")
    page_totals = _units(next(iter(k for p, k in reads.items() if "|" in p)), "totals Query")
    lines += [
        "",
        f"- fleet report: {report_now:g} units here; about {report_2m:.0f} at 2M (its totals "
        f"Query: {_units(report, 'totals Query'):g} here, {totals_2m:g} for the 2M store's "
        f"{ddb['totals_names_2m']} totals in {SHARDS} shards)",
        f"- without `PROV_ENDPOINTS` every list page also reads the totals (to learn the "
        f"endpoints): +{page_totals:g} units here, +{totals_2m:g} at 2M",
        "- the totals grow with days, not objects: `failures_on:<day>` and "
        "`fixity_on:<day>` add a name per day, and on DynamoDB an item that was added down to 0 "
        f"stays (up to {SHARDS} items, about 50 bytes each, per name): about "
        f"{2 * SHARDS * 50 * 365 / READ_UNIT / 2:.0f} more read units per report per year of "
        "history",
        "",
        "Write units of typical updates (the projector's transaction: row, index entries gained "
        "and lost, totals' deltas, checkpoint; two units per KB per item):",
        "",
        "| update | items | row | index entries | totals | checkpoint | write units |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase, kinds in ddb["writes"].items():
        if not phase.startswith("update|"):
            continue
        index = _units(kinds, "index entry (Put)", "index entry (Delete)")
        items = sum(k["items"] for k in kinds.values())
        total = sum(float(k["units"]) for k in kinds.values())
        lines.append(
            f"| {phase.split('|', 1)[1]} | {items} | {_units(kinds, 'row (Put)'):g} | {index:g} "
            f"| {_units(kinds, 'total (Update ADD)'):g} | {_units(kinds, 'checkpoint (Put)'):g} "
            f"| {total:g} |"
        )
    load = ddb["writes"]["load"]
    lines += [
        "",
        f"- loading {fmt_int(ddb['objects'])} new rows: "
        f"{sum(float(k['units']) for k in load.values()) / ddb['objects']:.1f} write units "
        "per object (transactional)",
    ]
    return lines


def _index_2m(ddb: dict[str, Any], phase: str) -> float:
    """The index Queries of a page when every shard has a full page of entries."""
    measured = ddb["index_items"].get(phase)
    per_item = measured["bytes"] / measured["items"] if measured and measured["items"] else 90
    limit = 11 if phase == "report" else PAGE + 1
    per_shard = max(1, math.ceil(limit * per_item / READ_UNIT)) * 0.5
    return SHARDS * per_shard + (SHARDS * 0.5 if phase == "report" else 0)


def _totals_units(ddb: dict[str, Any], names: int) -> float:
    """The totals Query at `names` totals, each in every shard."""
    report = ddb["reads"]["report"].get("totals Query")
    size = report["bytes"] / report["items"] if report and report["items"] else 50
    return max(1, math.ceil(names * SHARDS * size / READ_UNIT)) * 0.5
