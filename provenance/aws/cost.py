"""`prov cost`: what running the deployed pipeline costs a month, from measured units.

`estimate(Inputs) -> Estimate` is a pure function: list prices times the units the AWS runtime
benchmark counted per log line and per event (BENCHMARKS.md, sections 6.2 and 6.3), scaled to
the caller's volume and mix. Nothing here talks to AWS or reads the store. The model, per
month of `DAYS_PER_MONTH` days, for `L` log lines of which a share `s` are access lines:

- events: access `A = L*s` (one access event per access line); preservation
  `P = L*(1-s)*p`, `p` the measured preservation events per other line; `E = A + P`.
- Kinesis: on-demand `hours * stream-hour + GB in * in + GB out * out` (data read once by
  ingest), or provisioned `shards * hours * shard-hour + PUT units * unit`; GB and PUT units
  per line as measured.
- DynamoDB writes: ingest `5 * E` (event item 2, id guard 2, feed-index copy 1) plus a small
  per-line remainder; projector per kind (applied-marker plus row rewrites, measured);
  applied-markers expire by the table's TTL, which writes nothing billed. Reads: ingest one
  guard check per event; projector per kind, measured.
- DynamoDB storage at the end of the month asked for: bytes per event (event item, its feed
  index copy, its guard) for preservation events since the start, for access events of the
  last `access_days` only; hourly-count rows per access event; 48 hours of applied-markers;
  one ObjectState row per object.
- Lambda: CPU seconds (ingest per line, projector per event, measured), stretched by Lambda's
  CPU share below a full vCPU, plus DynamoDB calls times an assumed latency, times the memory
  in GB and the architecture's GB-second price; requests per Kinesis record (ingest) and per
  100 table-stream records (projector); the api function per request, at an assumed duration.
- API Gateway: requests times the HTTP (or REST) API price.

Imports the standard library, `provenance.domain.errors` and `provenance.domain.terminal` only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from provenance.domain.errors import ProvenanceError
from provenance.domain.terminal import TerminalText, terminal_lines

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
"""provenance.access.policy.MAX_RETENTION_DAYS: the longest retention a policy takes."""
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
_PRESERVATION_EVENTS_PER_OTHER_LINE = BENCH_PRESERVATION_EVENTS / (
    BENCH_LINES - BENCH_ACCESS_EVENTS
)
_EVENT_BYTES = (
    2 * (BENCH_EVENT_ITEM_BYTES + ITEM_OVERHEAD_BYTES * BENCH_EVENTS) / BENCH_EVENTS
    + (BENCH_GUARD_BYTES + ITEM_OVERHEAD_BYTES * BENCH_GUARDS) / BENCH_GUARDS
)
"""Stored bytes per event: its item, the feed index's copy of it, and its id guard."""


class CostInputError(ProvenanceError):
    """Inputs an estimate cannot be made from (one line, names the input)."""


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the caller knows about the deployment and its logs."""

    lines_per_day: float
    access_share: float = MEASURED_ACCESS_SHARE
    access_days: int | None = ACCESS_EVENT_DAYS
    """Days access events are kept (None: forever)."""
    objects: int | None = None
    """Preserved objects (ObjectState rows); None: as many per preservation event as measured."""
    stream_mode: StreamMode = "on-demand"
    shards: int | None = None
    """Provisioned streams only (default 1)."""
    architecture: Architecture = ARCHITECTURE
    ingest_memory_mb: int = INGEST_MEMORY_MB
    projector_memory_mb: int = PROJECTOR_MEMORY_MB
    api_memory_mb: int = API_MEMORY_MB
    api_requests_per_month: int = API_REQUESTS_PER_MONTH
    api_ms_per_request: float = API_MS_PER_REQUEST
    api_gateway: ApiKind = "http"
    dynamodb_latency_ms: float = DYNAMODB_LATENCY_MS
    month: int = MONTH_SHOWN


@dataclass(frozen=True, slots=True)
class LineItem:
    """One billed quantity of one service, for the month."""

    service: Service
    item: str
    quantity: float
    unit: str
    dollars: float


@dataclass(frozen=True, slots=True)
class Volumes:
    """What flows through the pipeline in a month."""

    lines: float
    access_events: float
    preservation_events: float
    kinesis_records: float
    objects: int
    objects_derived: bool

    @property
    def events(self) -> float:
        return self.access_events + self.preservation_events


@dataclass(frozen=True, slots=True)
class Storage:
    """The table's size (GB, feed index included) at the end of the month shown."""

    month: int
    preservation_events_gb: float
    access_events_gb: float
    access_counts_gb: float
    markers_gb: float
    object_state_gb: float
    preservation_growth_gb: float
    """Added every month, forever (preservation events and hourly counts)."""
    access_steady_gb: float | None
    """Access events once the oldest expire as fast as new ones come (None: kept forever)."""

    @property
    def total_gb(self) -> float:
        return (
            self.preservation_events_gb
            + self.access_events_gb
            + self.access_counts_gb
            + self.markers_gb
            + self.object_state_gb
        )


@dataclass(frozen=True, slots=True)
class Estimate:
    """The month's bill by line item, the storage behind it, and what it assumes."""

    inputs: Inputs
    volumes: Volumes
    items: tuple[LineItem, ...]
    storage: Storage
    assumptions: tuple[str, ...] = field(default=())

    def service_total(self, service: Service) -> float:
        return sum(item.dollars for item in self.items if item.service == service)

    @property
    def total(self) -> float:
        return sum(item.dollars for item in self.items)

    def as_json(self) -> dict[str, Any]:
        return {
            "inputs": asdict(self.inputs),
            "days_per_month": DAYS_PER_MONTH,
            "volumes": {**asdict(self.volumes), "events": self.volumes.events},
            "services": {service: self.service_total(service) for service in SERVICES},
            "total": self.total,
            "items": [asdict(item) for item in self.items],
            "storage": {**asdict(self.storage), "total_gb": self.storage.total_gb},
            "assumptions": list(self.assumptions),
        }


def estimate(inputs: Inputs) -> Estimate:
    """The bill of month `inputs.month` of running the pipeline at `inputs`' volume."""
    inputs = _checked(inputs)
    volumes = _volumes(inputs)
    storage = _storage(inputs, volumes)
    items = (
        *_kinesis(inputs, volumes),
        *_lambda(inputs, volumes),
        *_dynamodb(volumes, storage),
        _api_gateway(inputs),
    )
    result = Estimate(inputs, volumes, items, storage)
    return replace(result, assumptions=_assumptions(result))


def _checked(inputs: Inputs) -> Inputs:
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise CostInputError(message)

    def within(value: float | None, low: float, high: float) -> bool:
        # Both ends are finite and `low <= nan` is false: infinities and NaN fail too.
        return value is not None and low <= value <= high

    need(
        within(inputs.lines_per_day, 0, MAX_LINES_PER_DAY),
        f"lines per day must be from 0 to {MAX_LINES_PER_DAY:,.0f}, got {inputs.lines_per_day}",
    )
    need(
        within(inputs.access_share, 0, 1),
        f"access share must be a fraction from 0 to 1, got {inputs.access_share}",
    )
    need(
        inputs.access_days is None or within(inputs.access_days, 1, MAX_ACCESS_DAYS),
        f"access days must be from 1 to {MAX_ACCESS_DAYS:,} (or never), got {inputs.access_days}",
    )
    need(
        inputs.objects is None or within(inputs.objects, 0, MAX_OBJECTS),
        f"objects must be from 0 to {MAX_OBJECTS:,}, got {inputs.objects}",
    )
    need(
        inputs.stream_mode in ("on-demand", "provisioned"),
        f"stream mode must be on-demand or provisioned, got {inputs.stream_mode}",
    )
    if inputs.stream_mode == "on-demand":
        need(inputs.shards is None, "shards: an on-demand stream scales itself; leave shards out")
    else:
        need(
            inputs.shards is None or within(inputs.shards, 1, MAX_SHARDS),
            f"shards must be from 1 to {MAX_SHARDS:,}, got {inputs.shards}",
        )
    need(
        inputs.architecture in LAMBDA_GB_SECOND,
        f"architecture must be arm64 or x86_64, got {inputs.architecture}",
    )
    for name in ("ingest_memory_mb", "projector_memory_mb", "api_memory_mb"):
        memory = getattr(inputs, name)
        need(
            within(memory, *LAMBDA_MEMORY_MB),
            f"{name}: Lambda memory is 128 to 10,240 MB, got {memory}",
        )
    need(
        within(inputs.api_requests_per_month, 0, MAX_API_REQUESTS_PER_MONTH),
        f"API requests must be from 0 to {MAX_API_REQUESTS_PER_MONTH:,}, "
        f"got {inputs.api_requests_per_month}",
    )
    need(
        inputs.api_gateway in API_GATEWAY_REQUEST,
        f"API Gateway kind must be http or rest, got {inputs.api_gateway}",
    )
    need(
        within(inputs.api_ms_per_request, 0, MAX_MS),
        f"API milliseconds per request must be from 0 to {MAX_MS:,.0f}, "
        f"got {inputs.api_ms_per_request}",
    )
    need(
        within(inputs.dynamodb_latency_ms, 0, MAX_MS),
        f"DynamoDB latency must be from 0 to {MAX_MS:,.0f} milliseconds, "
        f"got {inputs.dynamodb_latency_ms}",
    )
    need(
        within(inputs.month, 1, MAX_MONTH),
        f"month must be from 1 to {MAX_MONTH:,}, got {inputs.month}",
    )
    if inputs.stream_mode == "provisioned" and inputs.shards is None:
        return replace(inputs, shards=1)
    return inputs


def _volumes(inputs: Inputs) -> Volumes:
    lines = inputs.lines_per_day * DAYS_PER_MONTH
    access = lines * inputs.access_share
    preservation = lines * (1 - inputs.access_share) * _PRESERVATION_EVENTS_PER_OTHER_LINE
    objects = inputs.objects
    if objects is None:
        # As many objects as make this many preservation events at the benchmark's rate.
        per_object_day = BENCH_PRESERVATION_EVENTS / BENCH_OBJECTS / BENCH_DAYS
        objects = round(preservation / DAYS_PER_MONTH / per_object_day)
    return Volumes(
        lines=lines,
        access_events=access,
        preservation_events=preservation,
        kinesis_records=lines * BENCH_KINESIS_RECORDS / BENCH_LINES,
        objects=objects,
        objects_derived=inputs.objects is None,
    )


def _storage(inputs: Inputs, volumes: Volumes) -> Storage:
    days = inputs.month * DAYS_PER_MONTH
    per_day = 1 / DAYS_PER_MONTH
    access_per_day = volumes.access_events * per_day
    preservation_per_day = volumes.preservation_events * per_day
    kept_days = days if inputs.access_days is None else min(days, inputs.access_days)
    counts_per_access_event = (
        BENCH_ACCESS_ROW_BYTES + ITEM_OVERHEAD_BYTES * BENCH_ACCESS_ROWS
    ) / BENCH_ACCESS_EVENTS
    marker_bytes = (BENCH_MARKER_BYTES + ITEM_OVERHEAD_BYTES * BENCH_EVENTS) / BENCH_EVENTS
    row_bytes = (BENCH_OBJECT_ROW_BYTES + ITEM_OVERHEAD_BYTES * BENCH_OBJECTS) / BENCH_OBJECTS
    return Storage(
        month=inputs.month,
        preservation_events_gb=preservation_per_day * days * _EVENT_BYTES / GIB,
        access_events_gb=access_per_day * kept_days * _EVENT_BYTES / GIB,
        access_counts_gb=access_per_day * days * counts_per_access_event / GIB,
        markers_gb=volumes.events * per_day * (MARKER_HOURS / 24) * marker_bytes / GIB,
        object_state_gb=volumes.objects * row_bytes / GIB,
        preservation_growth_gb=(
            volumes.preservation_events * _EVENT_BYTES
            + volumes.access_events * counts_per_access_event
        )
        / GIB,
        access_steady_gb=None
        if inputs.access_days is None
        else access_per_day * inputs.access_days * _EVENT_BYTES / GIB,
    )


def _kinesis(inputs: Inputs, volumes: Volumes) -> list[LineItem]:
    if inputs.stream_mode == "provisioned":
        shards = inputs.shards or 1
        put_units = volumes.lines * BENCH_KINESIS_PUT_UNITS / BENCH_LINES
        return [
            LineItem(
                "Kinesis",
                f"shard-hours ({shards} shard{'s' if shards > 1 else ''})",
                shards * HOURS_PER_MONTH,
                "hours",
                shards * HOURS_PER_MONTH * KINESIS_SHARD_HOUR,
            ),
            LineItem(
                "Kinesis",
                "PUT payload units (25 KB)",
                put_units,
                "units",
                put_units * KINESIS_PUT_UNIT,
            ),
        ]
    gb = volumes.lines * BENCH_KINESIS_KB_ROUNDED * 1024 / BENCH_LINES / GIB
    return [
        LineItem(
            "Kinesis",
            "on-demand stream-hours",
            HOURS_PER_MONTH,
            "hours",
            HOURS_PER_MONTH * KINESIS_ON_DEMAND_STREAM_HOUR,
        ),
        LineItem("Kinesis", "on-demand data in", gb, "GB", gb * KINESIS_ON_DEMAND_IN_GB),
        LineItem(
            "Kinesis",
            "on-demand data out (read by ingest)",
            gb,
            "GB",
            gb * KINESIS_ON_DEMAND_OUT_GB,
        ),
    ]


def _stretch(memory_mb: int) -> float:
    """How much longer CPU-bound work runs with less than a full vCPU."""
    return max(1.0, VCPU_MB / memory_mb)


def _lambda(inputs: Inputs, volumes: Volumes) -> list[LineItem]:
    price = LAMBDA_GB_SECOND[inputs.architecture]
    latency_s = inputs.dynamodb_latency_ms / 1000

    def gb_seconds(cpu_s: float, calls: float, memory_mb: int) -> float:
        return (cpu_s * _stretch(memory_mb) + calls * latency_s) * memory_mb / 1024

    ingest = gb_seconds(
        volumes.lines * BENCH_INGEST_CPU_S / BENCH_LINES,
        volumes.lines * BENCH_INGEST_CALLS / BENCH_LINES,
        inputs.ingest_memory_mb,
    )
    projector = gb_seconds(
        volumes.events * BENCH_PROJECTOR_CPU_S / BENCH_EVENTS,
        volumes.events * BENCH_PROJECTOR_CALLS / BENCH_EVENTS,
        inputs.projector_memory_mb,
    )
    api = inputs.api_requests_per_month * inputs.api_ms_per_request / 1000
    api *= inputs.api_memory_mb / 1024
    requests = (
        volumes.kinesis_records
        + _stream_records(inputs, volumes) / PROJECTOR_BATCH_SIZE
        + inputs.api_requests_per_month
    )
    arch = inputs.architecture
    return [
        LineItem("Lambda", f"ingest compute, {arch}", ingest, "GB-s", ingest * price),
        LineItem("Lambda", f"projector compute, {arch}", projector, "GB-s", projector * price),
        LineItem("Lambda", f"api compute, {arch}", api, "GB-s", api * price),
        LineItem("Lambda", "requests", requests, "requests", requests * LAMBDA_REQUEST),
    ]


def _stream_records(inputs: Inputs, volumes: Volumes) -> float:
    """Table-stream records that reach the projector in the month: the deployed event source
    mapping's filter (cdk/projector.py) passes only event items, inserted (every event) or
    removed by the TTL (expired access events); guards, markers, projection rows and their
    TTL removals never invoke it."""
    return volumes.events + volumes.access_events * _expiring_share(inputs)


def _expiring_share(inputs: Inputs) -> float:
    """How much of the month's access events' worth expires in the month shown."""
    if inputs.access_days is None:
        return 0.0
    past = inputs.month * DAYS_PER_MONTH - inputs.access_days
    return min(1.0, max(0.0, past / DAYS_PER_MONTH))


def _dynamodb(volumes: Volumes, storage: Storage) -> list[LineItem]:
    ingest_writes = (
        volumes.events * INGEST_WRITE_UNITS_PER_EVENT
        + volumes.lines
        * (BENCH_INGEST_WRITE_UNITS - INGEST_WRITE_UNITS_PER_EVENT * BENCH_EVENTS)
        / BENCH_LINES
    )
    projector_writes = (
        volumes.preservation_events
        * (BENCH_OBJECT_MARKER_WRITE_UNITS + BENCH_OBJECT_ROW_WRITE_UNITS)
        / BENCH_PRESERVATION_EVENTS
        + volumes.access_events
        * (BENCH_ACCESS_MARKER_WRITE_UNITS + BENCH_ACCESS_ROW_WRITE_UNITS)
        / BENCH_ACCESS_EVENTS
    )
    ingest_reads = (
        volumes.events + volumes.lines * (BENCH_INGEST_READ_UNITS - BENCH_EVENTS) / BENCH_LINES
    )
    projector_reads = (
        volumes.preservation_events * BENCH_OBJECT_READ_UNITS / BENCH_PRESERVATION_EVENTS
        + volumes.access_events * BENCH_ACCESS_READ_UNITS / BENCH_ACCESS_EVENTS
    )
    gb = storage.total_gb
    return [
        LineItem(
            "DynamoDB",
            "write units, ingest",
            ingest_writes,
            "WRU",
            ingest_writes * DYNAMODB_WRITE_UNIT,
        ),
        LineItem(
            "DynamoDB",
            "write units, projector",
            projector_writes,
            "WRU",
            projector_writes * DYNAMODB_WRITE_UNIT,
        ),
        LineItem(
            "DynamoDB", "read units, ingest", ingest_reads, "RRU", ingest_reads * DYNAMODB_READ_UNIT
        ),
        LineItem(
            "DynamoDB",
            "read units, projector",
            projector_reads,
            "RRU",
            projector_reads * DYNAMODB_READ_UNIT,
        ),
        LineItem(
            "DynamoDB",
            f"storage at the end of month {storage.month}",
            gb,
            "GB-month",
            gb * DYNAMODB_GB_MONTH,
        ),
    ]


def _api_gateway(inputs: Inputs) -> LineItem:
    kind = inputs.api_gateway
    requests = inputs.api_requests_per_month
    return LineItem(
        "API Gateway",
        f"{kind.upper() if kind == 'rest' else 'HTTP'} API requests",
        requests,
        "requests",
        requests * API_GATEWAY_REQUEST[kind],
    )


# --- what the estimate rests on ---------------------------------------------------------------


def _assumptions(result: Estimate) -> tuple[str, ...]:
    inputs, volumes = result.inputs, result.volumes
    measured_mix = math.isclose(inputs.access_share, MEASURED_ACCESS_SHARE, abs_tol=5e-4)
    extra_row_units = (
        volumes.preservation_events
        * BENCH_OBJECT_ROW_WRITES
        / BENCH_PRESERVATION_EVENTS
        * (OBJECT_ROW_FINAL_WRITE_UNITS - BENCH_OBJECT_ROW_WRITE_UNITS / BENCH_OBJECT_ROW_WRITES)
    )
    per_million = 1_000_000 / BENCH_LINES
    preservation_writes = (
        BENCH_OBJECT_MARKER_WRITE_UNITS + BENCH_OBJECT_ROW_WRITE_UNITS
    ) / BENCH_PRESERVATION_EVENTS
    access_writes = (
        BENCH_ACCESS_MARKER_WRITE_UNITS + BENCH_ACCESS_ROW_WRITE_UNITS
    ) / BENCH_ACCESS_EVENTS
    lines_per_record = BENCH_LINES / BENCH_KINESIS_RECORDS
    out = [
        f"Prices: us-east-1 list prices of reference/aws.md (undated table, last seen "
        f"{PRICES_SEEN}; recheck before quoting money). Free tiers ignored (Lambda's free "
        "requests and GB-seconds, DynamoDB's first 25 GB).",
        f"Month: {DAYS_PER_MONTH} days ({HOURS_PER_MONTH:,.1f} hours); the bill of month "
        f"{inputs.month} of running, with storage as at its end.",
        "Units per line and per event: counted over a moto server, not on AWS: BENCHMARKS.md "
        f"6.3 (`python bench/aws_units.py`: {BENCH_LINES:,} demo log lines -> {BENCH_EVENTS:,} "
        "events).",
        f"Mix: those lines made {BENCH_ACCESS_EVENTS:,} access and {BENCH_PRESERVATION_EVENTS:,} "
        "preservation events; the benchmark did not count lines by kind. Counting one access "
        "line per access event (true of CLF and lograge; a multi-line Rails request log makes "
        f"one per request), its access share is {MEASURED_ACCESS_SHARE:.3f}, and the other "
        f"lines made {_PRESERVATION_EVENTS_PER_OTHER_LINE:.3f} preservation events each "
        "(ignored and quarantined lines included). "
        + (
            "This estimate uses the measured mix."
            if measured_mix
            else f"An access share of {inputs.access_share:g} is extrapolated from it."
        ),
        "Per kind: the projector's units were measured per kind (preservation "
        f"{preservation_writes:.2f} write and "
        f"{BENCH_OBJECT_READ_UNITS / BENCH_PRESERVATION_EVENTS:.2f} read units per event, "
        f"access {access_writes:.2f} and {BENCH_ACCESS_READ_UNITS / BENCH_ACCESS_EVENTS:.2f}); "
        "ingest's "
        f"{INGEST_WRITE_UNITS_PER_EVENT} write units and 1 read unit per event hold for both "
        "(every event item fit one 1 KB unit). Kinesis bytes and ingest CPU (per line), "
        f"projector CPU and event size ({BENCH_EVENT_ITEM_BYTES / BENCH_EVENTS:,.0f} bytes, "
        "per event) were measured over the mix only and applied to both kinds alike.",
        "Access counts: the measured rows per access event come from the demo's thin traffic "
        f"(about {BENCH_ACCESS_EVENTS / (BENCH_DAYS * 24):.0f} access events an hour); busier "
        "hours share rows, so access-count writes and storage are likely overestimated.",
        "ObjectState rows grow with an object's history: the run started from empty rows "
        f"({BENCH_OBJECT_ROW_WRITE_UNITS / BENCH_OBJECT_ROW_WRITES:.2f} write units per "
        f"rewrite; {OBJECT_ROW_FINAL_WRITE_UNITS} for rows of the size they ended at). At "
        f"{OBJECT_ROW_FINAL_WRITE_UNITS} units a rewrite, DynamoDB writes would cost "
        f"{money(extra_row_units * DYNAMODB_WRITE_UNIT)} more a month.",
        f"Applied-markers expire by DynamoDB's TTL {MARKER_HOURS} hours after their change: "
        "TTL deletes are free (no write units, no reads); storage counts them for "
        f"{MARKER_HOURS} hours, though TTL deletes in the background, typically within days.",
        "Lambda compute: the handlers' CPU time against moto, ingest "
        f"{1e6 * BENCH_INGEST_CPU_S / BENCH_LINES:.1f} ms per 1,000 lines (botocore's "
        "request handling included: closer to real than the "
        f"{1e6 * BENCH_INGEST_SQLITE_CPU_S / BENCH_LINES:.1f} ms against SQLite), "
        f"projector {1e6 * BENCH_PROJECTOR_CPU_S / BENCH_EVENTS:.1f} ms per 1,000 "
        f"events; stretched by Lambda's CPU share below {VCPU_MB:,} MB (one vCPU); arm64 "
        "assumed as fast as the benchmark's x86_64 core. Waiting for DynamoDB: "
        f"{inputs.dynamodb_latency_ms:g} ms a call, assumed (moto's latency says nothing of "
        f"DynamoDB's), {BENCH_INGEST_CALLS * per_million:,.0f} calls per 1,000,000 lines "
        f"(ingest), {1000 * BENCH_PROJECTOR_CALLS / BENCH_EVENTS:,.0f} per 1,000 events "
        "(projector). Cold starts not counted.",
        "Lambda requests: ingest at most one per Kinesis record; projector one per "
        f"{PROJECTOR_BATCH_SIZE} table-stream records (the deployment's batch size, full "
        "batches as at volume: the benchmark's were, "
        f"{BENCH_STREAM_RECORDS / BENCH_PROJECTOR_INVOCATIONS:.0f} records each), counting "
        "only what the deployed filter lets through: new events and expired access events.",
        f"api function: {inputs.api_ms_per_request:g} ms a request at "
        f"{inputs.api_memory_mb:,} MB, assumed (no benchmark times it); the API's DynamoDB "
        "reads are not counted.",
        f"Kinesis: records as `prov ship --once` makes them ({lines_per_record:,.0f} lines, "
        f"{BENCH_KINESIS_BYTES / BENCH_KINESIS_RECORDS / 1024:.1f} KiB compressed); a "
        "shipper following a slowly growing file sends smaller records, each at least one PUT "
        "unit or 1 KB of on-demand data. Retention beyond 24 hours (the CDK app keeps records "
        "168 hours) is billed extra and not counted: reference/aws.md has no price for it.",
        "Storage: items as DynamoDB sizes them plus 100 bytes each, the feed index's copy of "
        "every event included, billed on the size at the end of the month; "
        + (
            "access events are kept forever (no TTL)."
            if inputs.access_days is None
            else f"access events expire after {inputs.access_days:,} days (TTL deletes are "
            "free); their hourly counts stay."
        ),
        f"Objects: {volumes.objects:,} ObjectState rows of "
        f"{BENCH_OBJECT_ROW_BYTES / BENCH_OBJECTS:,.0f} bytes (the measured size at the end of "
        "the run)"
        + (
            f", derived from the preservation events at the benchmark's rate "
            f"({BENCH_PRESERVATION_EVENTS / BENCH_OBJECTS / BENCH_DAYS:.2f} a day per object); "
            "give --objects to set it."
            if volumes.objects_derived
            else "."
        ),
        "Not counted: CloudWatch logs, metrics, dashboard and alarms; X-Ray; Secrets Manager; "
        "KMS (customer-managed keys); SQS and SNS (failure queues, alarm topic); "
        "point-in-time recovery and other backup storage; data transfer out; the machines "
        "that run the shippers.",
    ]
    warning = _shard_warning(inputs, volumes)
    if warning:
        out.append(warning)
    return tuple(out)


def _shard_warning(inputs: Inputs, volumes: Volumes) -> str | None:
    """Provisioned shards that cannot take even the average write rate."""
    if inputs.stream_mode != "provisioned":
        return None
    seconds = DAYS_PER_MONTH * 86_400
    bytes_per_s = volumes.lines * BENCH_KINESIS_BYTES / BENCH_LINES / seconds
    records_per_s = volumes.kinesis_records / seconds
    needed = max(1, math.ceil(max(bytes_per_s / 2**20, records_per_s / 1000)))
    if (inputs.shards or 1) >= needed:
        return None
    return (
        f"Warning: {inputs.shards} shard(s) take 1 MB/s each, but the average write rate is "
        f"{bytes_per_s / 2**20:,.1f} MB/s: give at least {needed} (more for peaks)."
    )


# --- printing ---------------------------------------------------------------------------------


def money(dollars: float) -> str:
    """$1,234.56; amounts under a cent keep two significant digits."""
    if 0 < abs(dollars) < 0.01:
        return f"${dollars:.2g}"
    return f"${dollars:,.2f}"


def _quantity(value: float) -> str:
    if value >= 10_000 or value == 0:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:,.1f}"
    return f"{value:,.3g}" if value < 1 else f"{value:,.2f}"


def render_table(result: Estimate) -> TerminalText:
    """The estimate for a terminal: services, line items, storage, assumptions."""
    inputs, volumes, storage = result.inputs, result.volumes, result.storage
    lines = [
        f"Monthly cost of the pipeline, month {inputs.month}: {inputs.lines_per_day:,.0f} log "
        f"lines a day ({volumes.lines:,.0f} a month; access share {inputs.access_share:.3f}), "
        f"{volumes.events:,.0f} events a month. us-east-1 list prices, USD.",
        "",
        f"{'service':<14}{'$ a month':>14}",
    ]
    for service in SERVICES:
        lines.append(f"{service:<14}{money(result.service_total(service)):>14}")
    lines += [f"{'total':<14}{money(result.total):>14}", "", "Line items:"]
    width = max(len(item.item) for item in result.items)
    for item in result.items:
        lines.append(
            f"  {item.service:<12} {item.item:<{width}} {_quantity(item.quantity):>15} "
            f"{item.unit:<9} {money(item.dollars):>11}"
        )
    steady = (
        "kept forever"
        if storage.access_steady_gb is None
        else f"steady at {storage.access_steady_gb:,.1f} GB from day {inputs.access_days:,}"
    )
    lines += [
        "",
        f"Storage at the end of month {storage.month}: {storage.total_gb:,.1f} GB. "
        f"Preservation events {storage.preservation_events_gb:,.1f} GB and hourly access counts "
        f"{storage.access_counts_gb:,.1f} GB, kept forever (together "
        f"+{storage.preservation_growth_gb:,.2f} GB a month); access events "
        f"{storage.access_events_gb:,.1f} GB ({steady}); ObjectState rows "
        f"{storage.object_state_gb:,.2f} GB; applied-markers ({MARKER_HOURS} hours) "
        f"{storage.markers_gb:,.2f} GB.",
        "",
        "Assumptions:",
    ]
    lines += [f"- {text}" for text in result.assumptions]
    return terminal_lines(lines)
