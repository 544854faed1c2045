"""The figures `prov cost` rests on: list prices, what the CDK app deploys, the assumptions
that are not measurements, the bounds of an estimate's inputs, and the units the AWS runtime
benchmark counted per log line and per event (BENCHMARKS.md, section 6).

Standard library only: `prov cost --help` shows its defaults from here without loading the
model (`provenance.aws.cost`) or its text (`provenance.aws.cost_text`).
"""

from __future__ import annotations

from typing import Literal

Service = Literal["Kinesis", "Lambda", "DynamoDB", "API Gateway"]
SERVICES: tuple[Service, ...] = ("Kinesis", "Lambda", "DynamoDB", "API Gateway")
StreamMode = Literal["on-demand", "provisioned"]
Architecture = Literal["arm64", "x86_64"]
ApiKind = Literal["http", "rest"]

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

# --- what the CDK app deploys ----------------------------------------------------------------
# The defaults of cdk/config.py (StageConfig) must match these (a test checks that they agree).
INGEST_MEMORY_MB = 1024
PROJECTOR_MEMORY_MB = 512
API_MEMORY_MB = 1024
ARCHITECTURE: Architecture = "arm64"
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
# Unless a comment says otherwise, the run "that counts" of section 6.3 (commit 94a00cd):
# `python bench/aws_units.py --json /tmp/units2.json` (100,000 demo lines, one shard, Lambda
# batches of 100), whose item-level tables are printed by
# `python bench/aws_units.py --render /tmp/units2.json` (section 6.2's layout; BENCHMARKS.md
# prints only 6.3's summary). Byte and CPU-second totals are that run's JSON, which the render
# prints rounded (means, MiB, ms per 1,000 lines).
BENCH_LINES = 100_959
BENCH_EVENTS = 74_622
BENCH_DAYS = 122
BENCH_OBJECTS = 431
# Events by kind: each event leaves exactly one applied-marker, in the projection of its kind
# (6.2 and 6.3 alike: "object_state applied-marker 45,551", "access_counts applied-marker 29,071").
BENCH_PRESERVATION_EVENTS = 45_551
BENCH_ACCESS_EVENTS = 29_071
# Kinesis, shipped by the real Shipper (`prov ship --once`): 6.2 "Input" (unchanged in 6.3):
# 76 records, 133 PUT payload units; on-demand data in with each record rounded up to 1 KB.
BENCH_KINESIS_RECORDS = 76
BENCH_KINESIS_PUT_UNITS = 133
BENCH_KINESIS_KB_ROUNDED = 2_628
BENCH_KINESIS_BYTES = 2_650_091
# DynamoDB write units, ingest (6.3 render: total 374,146): event item 149,244 (2.00 an
# event), id guard 149,258, feed-index copy 74,630; the rest is stream names, the position
# counter and 7 quarantine items.
BENCH_INGEST_WRITE_UNITS = 374_146
INGEST_WRITE_UNITS_PER_EVENT = 5  # every event item fit one 1 KB unit: 2 + 2 + 1
BENCH_INGEST_READ_UNITS = 74_629  # one guard check per event (7 of them quarantine items')
# DynamoDB units, projector (6.3 render), by kind: applied-marker writes, row rewrites, reads.
BENCH_OBJECT_MARKER_WRITE_UNITS = 91_102
BENCH_OBJECT_ROW_WRITES = 30_811
BENCH_OBJECT_ROW_WRITE_UNITS = 76_242
BENCH_OBJECT_READ_UNITS = 45_551 + 30_811  # markers + rows
BENCH_ACCESS_MARKER_WRITE_UNITS = 58_142
BENCH_ACCESS_ROW_WRITES = 27_624
BENCH_ACCESS_ROW_WRITE_UNITS = 55_248
BENCH_ACCESS_READ_UNITS = 29_071 + 27_624  # markers + rows
OBJECT_ROW_FINAL_WRITE_UNITS = 6
"""6.3: ObjectState rows were 2,112 bytes at the end of the run, 6 units per rewrite."""
# Stored bytes at the end (6.3 render, "Items at the end"), without DynamoDB's 100 bytes per item.
ITEM_OVERHEAD_BYTES = 100
BENCH_EVENT_ITEM_BYTES = 54_043_148  # 74,622 event items, 724 bytes on average
BENCH_GUARD_BYTES = 6_791_239  # 74,629 id guards, 91 bytes
BENCH_GUARDS = 74_629
BENCH_ACCESS_ROWS = 21_102
BENCH_ACCESS_ROW_BYTES = 5_696_140  # hourly access-count rows, 270 bytes
BENCH_OBJECT_ROW_BYTES = 910_314  # 431 ObjectState rows, 2,112 bytes
BENCH_MARKER_BYTES = 4_555_100 + 2_936_171  # 74,622 applied-markers, 100 bytes
# The table's stream and the projector (6.3 render): 283,314 stream records, 2,834 invocations.
BENCH_STREAM_RECORDS = 283_314
BENCH_PROJECTOR_INVOCATIONS = 2_834
# Handler CPU (6.3: "Handler CPU per 1,000 lines in this run: ingest 199.1 ms against moto,
# ... projector 485.4 ms"; the render's seconds), and the DynamoDB calls each made.
BENCH_INGEST_CPU_S = 20.103
BENCH_INGEST_SQLITE_CPU_S = 3.998  # the same events into SQLite: the handler without botocore
BENCH_PROJECTOR_CPU_S = 49.001
BENCH_INGEST_CALLS = 787 + 74 + 1_527 + 76
BENCH_PROJECTOR_CALLS = 12_984 + 2 + 6_492
VCPU_MB = 1769
"""bench/aws_units.py: Lambda gives a function one full vCPU at 1,769 MB, less below it."""

# Derived once from the measured figures.
MEASURED_ACCESS_SHARE = BENCH_ACCESS_EVENTS / BENCH_LINES
"""The benchmark's mix, counted as one access line per access event."""
PRESERVATION_EVENTS_PER_OTHER_LINE = BENCH_PRESERVATION_EVENTS / (BENCH_LINES - BENCH_ACCESS_EVENTS)
EVENT_BYTES = (
    2 * (BENCH_EVENT_ITEM_BYTES + ITEM_OVERHEAD_BYTES * BENCH_EVENTS) / BENCH_EVENTS
    + (BENCH_GUARD_BYTES + ITEM_OVERHEAD_BYTES * BENCH_GUARDS) / BENCH_GUARDS
)
"""Stored bytes per event: its item, the feed index's copy of it, and its id guard."""
