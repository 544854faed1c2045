"""The figures `prov cost` rests on: list prices, what the CDK app deploys, the assumptions
that are not measurements, the bounds of an estimate's inputs, and the units the AWS runtime
benchmark counted (`units.json`, written by `bench/aws_units.py --units`; BENCHMARKS.md,
section 6), never typed in by hand.

Standard library only: `prov cost --help` shows its defaults from here without loading the
model (`provenance.aws.cost`) or its text (`provenance.aws.cost_text`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Service = Literal["Kinesis", "Lambda", "DynamoDB", "API Gateway", "ELB", "Cognito"]
SERVICES: tuple[Service, ...] = ("Kinesis", "Lambda", "DynamoDB", "API Gateway")
DASHBOARD_SERVICES: tuple[Service, ...] = ("ELB", "Cognito")
"""Billed only for a stage with the staff dashboard (`provenance.aws.cost_dashboard`)."""
StreamMode = Literal["on-demand", "provisioned"]
Architecture = Literal["arm64", "x86_64"]
ApiKind = Literal["http", "rest"]
TableClass = Literal["standard", "standard-ia"]
TABLE_CLASSES: tuple[TableClass, ...] = ("standard", "standard-ia")

DAYS_PER_MONTH = 30.4
HOURS_PER_MONTH = 24 * DAYS_PER_MONTH
GIB = 1024**3
"""DynamoDB and Kinesis bill GB of 2**30 bytes, as the benchmark counted them."""

# --- list prices -----------------------------------------------------------------------------
# ../shared/reference/aws.md, table "List prices (us-east-1; several from third-party tables,
# recheck)". The table carries no date: last seen 2026-11-28 (copied then; the same prices
# BENCHMARKS.md section 6 used on 2026-11-27). Recheck before quoting money.
KINESIS_SHARD_HOUR = 0.015
KINESIS_PUT_UNIT = 0.014 / 1e6
KINESIS_ON_DEMAND_STREAM_HOUR = 0.04
KINESIS_ON_DEMAND_IN_GB = 0.08
KINESIS_ON_DEMAND_OUT_GB = 0.04
LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB_SECOND: dict[Architecture, float] = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
DYNAMODB_WRITE_UNIT = 0.625 / 1e6
DYNAMODB_READ_UNIT = 0.125 / 1e6
DYNAMODB_GB_MONTH = 0.25
API_GATEWAY_REQUEST: dict[ApiKind, float] = {"http": 1.00 / 1e6, "rest": 3.50 / 1e6}
PRICES_SEEN = "2026-11-28"

# DynamoDB's Standard-IA table class is not in reference/aws.md. AWS's DynamoDB pricing page
# and its table classes page ("Considerations when choosing a table class") give it as storage
# 60% cheaper and reads and writes 25% dearer than Standard in the same region: derived from
# the Standard prices above by those ratios (us-east-1 on-demand: $0.10 a GB-month, $0.78125
# and $0.15625 per million write and read units). Recheck before quoting money.
STANDARD_IA_STORAGE_RATIO = 1 - 0.60
STANDARD_IA_REQUEST_RATIO = 1 + 0.25


@dataclass(frozen=True, slots=True)
class DynamoDBPrices:
    """What a table of one table class pays: per write and read request unit, per GB-month."""

    write_unit: float
    read_unit: float
    gb_month: float


DYNAMODB_PRICES: dict[TableClass, DynamoDBPrices] = {
    "standard": DynamoDBPrices(DYNAMODB_WRITE_UNIT, DYNAMODB_READ_UNIT, DYNAMODB_GB_MONTH),
    "standard-ia": DynamoDBPrices(
        DYNAMODB_WRITE_UNIT * STANDARD_IA_REQUEST_RATIO,
        DYNAMODB_READ_UNIT * STANDARD_IA_REQUEST_RATIO,
        DYNAMODB_GB_MONTH * STANDARD_IA_STORAGE_RATIO,
    ),
}

# --- what the CDK app deploys ----------------------------------------------------------------
# The defaults of cdk/config.py (StageConfig) must match these (a test checks that they agree).
INGEST_MEMORY_MB = 1024
PROJECTOR_MEMORY_MB = 512
API_MEMORY_MB = 1024
ARCHITECTURE: Architecture = "arm64"
STREAM_MODE: StreamMode = "provisioned"
"""cdk/config.py `stream_mode`: one provisioned shard unless a stage says otherwise."""
TABLE_CLASS: TableClass = "standard"
"""cdk/config.py `table_class`: DynamoDB's default class unless a stage says otherwise."""
PROJECTOR_BATCH_SIZE = 100  # records per projector invocation (cdk/config.py's default)
ACCESS_EVENT_DAYS = 365
"""cdk/config.py `access_event_expiry_days`, and docs/access-policy.example.toml's."""
MARKER_HOURS = 48
"""provenance/projections/base.py MARKER_HOURS: applied-markers expire (TTL) this long after
their change's hour."""

# --- assumptions, not measurements -----------------------------------------------------------
DYNAMODB_LATENCY_MS = 10.0
"""Wall time per DynamoDB call that Lambda bills on top of CPU: assumed, since moto's latency
says nothing about DynamoDB's."""
API_MS_PER_REQUEST = 100.0
"""Billed duration of one query API request: assumed; no benchmark times the api handler."""
API_REQUESTS_PER_MONTH = 100_000
MONTH_SHOWN = 12
"""The bill shown is this month's: storage grows, so month 12 shows the end of year 1."""

# --- what an estimate takes ------------------------------------------------------------------
# Upper bounds far beyond any deployment that keep every figure a finite number; `prov cost`
# states them in --help and checks them on the command line, `estimate` again.
MAX_LINES_PER_DAY = 1e12
MAX_OBJECTS = 10**12
MAX_SHARDS = 1_000_000
MAX_API_REQUESTS_PER_MONTH = 10**12
MAX_MS = 900_000.0
"""Lambda's longest run (15 minutes): no request or DynamoDB call is billed for longer."""
MAX_ACCESS_DAYS = 36_525
"""provenance.access.rules.MAX_RETENTION_DAYS: the longest retention a policy takes."""
MAX_MONTH = 1_200
"""A century of running."""
LAMBDA_MEMORY_MB = (128, 10_240)

# --- measured: BENCHMARKS.md section 6 --------------------------------------------------------
# Counted by `python bench/aws_units.py --units provenance/aws/units.json` (a demo world of about
# 100,000 log lines through the whole AWS path on a moto server; Lambda batches of 100), which
# names the commit and machine it measured. `PROV_COST_UNITS=FILE` prices another run's file.
UNIT_FIELDS: tuple[str, ...] = (
    "lines",
    "events",
    "days",
    "objects",
    "preservation_events",
    "access_events",
    "kinesis_records",
    "kinesis_put_units",
    "kinesis_kb_rounded",
    "kinesis_bytes",
    "ingest_write_units",
    "ingest_preservation_write_units",
    "ingest_access_write_units",
    "ingest_read_units",
    "ingest_preservation_read_units",
    "ingest_access_read_units",
    "object_marker_write_units",
    "object_row_writes",
    "object_row_write_units",
    "object_index_write_units",
    "object_read_units",
    "access_marker_write_units",
    "access_row_writes",
    "access_row_write_units",
    "access_read_units",
    "object_row_final_write_units",
    "event_items_stored",
    "event_item_bytes",
    "guards",
    "guard_bytes",
    "bundles",
    "bundle_bytes",
    "access_rows",
    "access_row_bytes",
    "object_rows",
    "object_row_bytes",
    "object_index_items",
    "object_index_bytes",
    "markers",
    "marker_bytes",
    "access_markers",
    "stream_records",
    "projector_invocations",
    "ingest_cpu_s",
    "ingest_sqlite_cpu_s",
    "projector_cpu_s",
    "ingest_calls",
    "projector_calls",
)
"""What a units file holds (`units`), no more and no less: `load_units` refuses anything else,
so a benchmark that stopped counting something cannot leave a stale figure behind."""
UNITS_FILE = Path(__file__).with_name("units.json")


class UnitsFileError(ValueError):
    """A units file that is not what `bench/aws_units.py --units` writes."""


def load_units(path: Path) -> tuple[dict[str, float], dict[str, Any]]:
    """The counts of a units file, and what it says about where they were measured."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        counted, measured = document["units"], document["measured"]
        missing = sorted(set(UNIT_FIELDS) - set(counted))
        unknown = sorted(set(counted) - set(UNIT_FIELDS))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnitsFileError(f"cannot read the units file {path}: {exc}") from exc
    if missing or unknown:
        raise UnitsFileError(
            f"the units file {path} does not match this version: missing {missing}, "
            f"unknown {unknown}"
        )
    bad = [k for k in UNIT_FIELDS if not isinstance(counted[k], int | float) or counted[k] < 0]
    if bad or counted["lines"] <= 0 or counted["events"] <= 0:
        raise UnitsFileError(f"the units file {path} has counts that are not counts: {bad}")
    if not isinstance(measured, dict):
        raise UnitsFileError(f"the units file {path}: 'measured' is not an object")
    return {k: float(counted[k]) for k in UNIT_FIELDS}, dict(measured)


def _units_at_import() -> tuple[dict[str, float], dict[str, Any], str | None]:
    """The units `$PROV_COST_UNITS` names (a benchmark's file, to price another run), else the
    committed ones; with why the named file was not used, if it was not: the committed units
    stand in so that importing this module (every `prov` command's help reads its defaults)
    never fails, and `prov cost` reports the error instead of pricing anything."""
    chosen = os.environ.get("PROV_COST_UNITS")
    if chosen:
        try:
            return (*load_units(Path(chosen)), None)
        except UnitsFileError as exc:
            return (*load_units(UNITS_FILE), str(exc))
    return (*load_units(UNITS_FILE), None)


_UNITS, MEASURED, UNITS_ERROR = _units_at_import()

BENCH_LINES = _UNITS["lines"]
BENCH_EVENTS = _UNITS["events"]
BENCH_DAYS = _UNITS["days"]
BENCH_OBJECTS = _UNITS["objects"]
# Events by kind: preservation events are event items, access events the records of bundles.
BENCH_PRESERVATION_EVENTS = _UNITS["preservation_events"]
BENCH_ACCESS_EVENTS = _UNITS["access_events"]
# Kinesis, shipped by the real Shipper (`prov ship --once`); on-demand data in with each
# record rounded up to 1 KB.
BENCH_KINESIS_RECORDS = _UNITS["kinesis_records"]
BENCH_KINESIS_PUT_UNITS = _UNITS["kinesis_put_units"]
BENCH_KINESIS_KB_ROUNDED = _UNITS["kinesis_kb_rounded"]
BENCH_KINESIS_BYTES = _UNITS["kinesis_bytes"]
# DynamoDB units, ingest, by kind: a preservation event's item, id guard and feed-index copy,
# and the id guard's read; access events' bundles (one item per stream, hour and append) with
# their feed-index copies, and the Query for the ids a stream-hour holds already; the rest
# (stream names, the position counter, quarantine items), per line.
BENCH_INGEST_WRITE_UNITS = _UNITS["ingest_write_units"]
BENCH_INGEST_PRESERVATION_WRITE_UNITS = _UNITS["ingest_preservation_write_units"]
BENCH_INGEST_ACCESS_WRITE_UNITS = _UNITS["ingest_access_write_units"]
BENCH_INGEST_READ_UNITS = _UNITS["ingest_read_units"]
BENCH_INGEST_PRESERVATION_READ_UNITS = _UNITS["ingest_preservation_read_units"]
BENCH_INGEST_ACCESS_READ_UNITS = _UNITS["ingest_access_read_units"]
# DynamoDB units, projector, by kind: applied-marker writes, row rewrites, reads.
BENCH_OBJECT_MARKER_WRITE_UNITS = _UNITS["object_marker_write_units"]
BENCH_OBJECT_ROW_WRITES = _UNITS["object_row_writes"]
BENCH_OBJECT_ROW_WRITE_UNITS = _UNITS["object_row_write_units"]
# The fleet's index entries and totals, written in the object rows' transactions.
BENCH_OBJECT_INDEX_WRITE_UNITS = _UNITS["object_index_write_units"]
BENCH_OBJECT_READ_UNITS = _UNITS["object_read_units"]
BENCH_ACCESS_MARKER_WRITE_UNITS = _UNITS["access_marker_write_units"]
BENCH_ACCESS_ROW_WRITES = _UNITS["access_row_writes"]
BENCH_ACCESS_ROW_WRITE_UNITS = _UNITS["access_row_write_units"]
BENCH_ACCESS_READ_UNITS = _UNITS["access_read_units"]
OBJECT_ROW_FINAL_WRITE_UNITS = _UNITS["object_row_final_write_units"]
"""Write units of rewriting an ObjectState row of the size rows ended the run at."""
# Stored bytes at the end, without DynamoDB's 100 bytes per item.
ITEM_OVERHEAD_BYTES = 100
BENCH_EVENT_ITEMS = _UNITS["event_items_stored"]
BENCH_EVENT_ITEM_BYTES = _UNITS["event_item_bytes"]
BENCH_GUARD_BYTES = _UNITS["guard_bytes"]
BENCH_GUARDS = _UNITS["guards"]
BENCH_BUNDLES = _UNITS["bundles"]
BENCH_BUNDLE_BYTES = _UNITS["bundle_bytes"]
BENCH_ACCESS_ROWS = _UNITS["access_rows"]
BENCH_ACCESS_ROW_BYTES = _UNITS["access_row_bytes"]
BENCH_OBJECT_ROWS = _UNITS["object_rows"]
BENCH_OBJECT_ROW_BYTES = _UNITS["object_row_bytes"]
BENCH_OBJECT_INDEX_ITEMS = _UNITS["object_index_items"]
BENCH_OBJECT_INDEX_BYTES = _UNITS["object_index_bytes"]
BENCH_MARKERS = _UNITS["markers"]
BENCH_MARKER_BYTES = _UNITS["marker_bytes"]
BENCH_ACCESS_MARKERS = _UNITS["access_markers"]
# The table's stream and the projector.
BENCH_STREAM_RECORDS = _UNITS["stream_records"]
BENCH_PROJECTOR_INVOCATIONS = _UNITS["projector_invocations"]
# Handler CPU seconds of the run, and the DynamoDB calls each made.
BENCH_INGEST_CPU_S = _UNITS["ingest_cpu_s"]
BENCH_INGEST_SQLITE_CPU_S = _UNITS["ingest_sqlite_cpu_s"]  # the handler without botocore
BENCH_PROJECTOR_CPU_S = _UNITS["projector_cpu_s"]
BENCH_INGEST_CALLS = _UNITS["ingest_calls"]
BENCH_PROJECTOR_CALLS = _UNITS["projector_calls"]
VCPU_MB = 1769
"""bench/aws_units.py: Lambda gives a function one full vCPU at 1,769 MB, less below it."""

# Derived once from the measured figures.
MEASURED_ACCESS_SHARE = BENCH_ACCESS_EVENTS / BENCH_LINES
"""The benchmark's mix, counted as one access line per access event."""
PRESERVATION_EVENTS_PER_OTHER_LINE = BENCH_PRESERVATION_EVENTS / (BENCH_LINES - BENCH_ACCESS_EVENTS)
INGEST_WRITE_UNITS_PER_PRESERVATION_EVENT = (
    BENCH_INGEST_PRESERVATION_WRITE_UNITS / BENCH_PRESERVATION_EVENTS
)
INGEST_WRITE_UNITS_PER_ACCESS_EVENT = BENCH_INGEST_ACCESS_WRITE_UNITS / BENCH_ACCESS_EVENTS
INGEST_OTHER_WRITE_UNITS_PER_LINE = (
    BENCH_INGEST_WRITE_UNITS
    - BENCH_INGEST_PRESERVATION_WRITE_UNITS
    - BENCH_INGEST_ACCESS_WRITE_UNITS
) / BENCH_LINES
"""Stream names, the position counter, quarantine items."""
INGEST_READ_UNITS_PER_PRESERVATION_EVENT = (
    BENCH_INGEST_PRESERVATION_READ_UNITS / BENCH_PRESERVATION_EVENTS
)
INGEST_READ_UNITS_PER_ACCESS_EVENT = BENCH_INGEST_ACCESS_READ_UNITS / BENCH_ACCESS_EVENTS
INGEST_OTHER_READ_UNITS_PER_LINE = (
    BENCH_INGEST_READ_UNITS - BENCH_INGEST_PRESERVATION_READ_UNITS - BENCH_INGEST_ACCESS_READ_UNITS
) / BENCH_LINES
PRESERVATION_EVENT_BYTES = (
    2 * (BENCH_EVENT_ITEM_BYTES + ITEM_OVERHEAD_BYTES * BENCH_EVENT_ITEMS)
    + BENCH_GUARD_BYTES
    + ITEM_OVERHEAD_BYTES * BENCH_GUARDS
) / BENCH_EVENT_ITEMS
"""Stored bytes per preservation event: its item, the feed index's copy of it (projection
ALL: the same bytes), and its id guard."""
ACCESS_EVENT_BYTES = (
    2 * (BENCH_BUNDLE_BYTES + ITEM_OVERHEAD_BYTES * BENCH_BUNDLES) / BENCH_ACCESS_EVENTS
)
"""Stored bytes per access event: its share of its bundle and of the feed index's copy."""
BUNDLES_PER_ACCESS_EVENT = BENCH_BUNDLES / BENCH_ACCESS_EVENTS
"""Bundle items (table-stream records for the projector) per access event: the benchmark's
demo traffic is thin (a few events per service-hour), busier hours fill bundles further."""
ACCESS_MARKERS_PER_ACCESS_EVENT = BENCH_ACCESS_MARKERS / BENCH_ACCESS_EVENTS
"""Applied-markers per access event, as measured: none since a bundle's counts are put in rows
of its own (a units file from before has one per bundle, or per part of a bundle too big for
one atomic write)."""
