"""`prov cost`: what running the deployed pipeline costs a month, from measured units.

`estimate(Inputs) -> Estimate` is a pure function: list prices times the units the AWS runtime
benchmark counted per log line and per event (`units.json`, from `bench/aws_units.py --units`;
BENCHMARKS.md, section 6), scaled to the caller's volume and mix. Nothing here talks to AWS or
reads the store. The model, per month of `DAYS_PER_MONTH` days, for `L` log lines of which a
share `s` are access lines:

- events: access `A = L*s` (one access event per access line); preservation
  `P = L*(1-s)*p`, `p` the measured preservation events per other line; `E = A + P`.
- Kinesis: on-demand `hours * stream-hour + GB in * in + GB out * out` (data read once by
  ingest), or provisioned `shards * hours * shard-hour + PUT units * unit`; GB and PUT units
  per line as measured.
- DynamoDB writes: ingest per kind, measured: `u_P * P` (`u_P` the units of a preservation
  event's item, id guard and feed-index copy) plus `u_A * A` (`u_A` an access event's share
  of its bundle and of the bundle's feed-index copy), plus a small per-line remainder;
  projector per kind (an applied-marker per preservation event and row rewrites; a bundle's
  count rows put as rows of its own; measured); applied-markers expire by the table's TTL,
  which writes nothing billed. Reads: ingest per kind, measured (a guard check per
  preservation event; the Query for the ids a stream-hour holds, per bundle); projector per
  kind, measured.
- DynamoDB prices: the table class's (Standard, or Standard-IA: storage 60% cheaper, request
  units 25% dearer); the units and bytes are the same in either class.
- DynamoDB storage at the end of the month asked for: bytes per preservation event (event
  item, its feed index copy, its guard) since the start, per access event (its share of its
  bundle and of the bundle's feed-index copy) for the last `access_days` only; hourly-count
  rows per access event; 48 hours of applied-markers; one ObjectState row per object.
- Lambda: CPU seconds (ingest per line, projector per event, measured), stretched by Lambda's
  CPU share below a full vCPU, plus DynamoDB calls times an assumed latency, times the memory
  in GB and the architecture's GB-second price; requests per Kinesis record (ingest) and per
  100 table-stream records (projector); the api function per request, at an assumed duration.
- API Gateway: requests times the HTTP (or REST) API price.
- The staff dashboard, for a stage that has one (`dashboard`): the load balancer's hours, LCUs
  and public IPv4 addresses, Cognito's monthly active users, the api function's work for the
  dashboard's requests (`provenance.aws.cost_dashboard`).

The figures are in `provenance.aws.cost_figures`; the assumptions and the table printed, in
`provenance.aws.cost_text`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from provenance.aws.cost_dashboard import (
    DASHBOARD_REQUESTS_PER_MONTH,
    DASHBOARD_USERS,
    MAX_DASHBOARD_REQUESTS,
    MAX_DASHBOARD_USERS,
    dashboard_charges,
)
from provenance.aws.cost_figures import (
    ACCESS_EVENT_BYTES,
    ACCESS_EVENT_DAYS,
    ACCESS_MARKERS_PER_ACCESS_EVENT,
    API_GATEWAY_REQUEST,
    API_MEMORY_MB,
    API_MS_PER_REQUEST,
    API_REQUESTS_PER_MONTH,
    ARCHITECTURE,
    BENCH_ACCESS_EVENTS,
    BENCH_ACCESS_MARKER_WRITE_UNITS,
    BENCH_ACCESS_READ_UNITS,
    BENCH_ACCESS_ROW_BYTES,
    BENCH_ACCESS_ROW_WRITE_UNITS,
    BENCH_ACCESS_ROWS,
    BENCH_DAYS,
    BENCH_EVENTS,
    BENCH_INGEST_CALLS,
    BENCH_INGEST_CPU_S,
    BENCH_KINESIS_KB_ROUNDED,
    BENCH_KINESIS_PUT_UNITS,
    BENCH_KINESIS_RECORDS,
    BENCH_LINES,
    BENCH_MARKER_BYTES,
    BENCH_MARKERS,
    BENCH_OBJECT_INDEX_BYTES,
    BENCH_OBJECT_INDEX_ITEMS,
    BENCH_OBJECT_INDEX_WRITE_UNITS,
    BENCH_OBJECT_MARKER_WRITE_UNITS,
    BENCH_OBJECT_READ_UNITS,
    BENCH_OBJECT_ROW_BYTES,
    BENCH_OBJECT_ROW_WRITE_UNITS,
    BENCH_OBJECT_ROWS,
    BENCH_OBJECTS,
    BENCH_PRESERVATION_EVENTS,
    BENCH_PROJECTOR_CALLS,
    BENCH_PROJECTOR_CPU_S,
    BUNDLES_PER_ACCESS_EVENT,
    DASHBOARD_SERVICES,
    DAYS_PER_MONTH,
    DYNAMODB_LATENCY_MS,
    DYNAMODB_PRICES,
    GIB,
    HOURS_PER_MONTH,
    INGEST_MEMORY_MB,
    INGEST_OTHER_READ_UNITS_PER_LINE,
    INGEST_OTHER_WRITE_UNITS_PER_LINE,
    INGEST_READ_UNITS_PER_ACCESS_EVENT,
    INGEST_READ_UNITS_PER_PRESERVATION_EVENT,
    INGEST_WRITE_UNITS_PER_ACCESS_EVENT,
    INGEST_WRITE_UNITS_PER_PRESERVATION_EVENT,
    ITEM_OVERHEAD_BYTES,
    KINESIS_ON_DEMAND_IN_GB,
    KINESIS_ON_DEMAND_OUT_GB,
    KINESIS_ON_DEMAND_STREAM_HOUR,
    KINESIS_PUT_UNIT,
    KINESIS_SHARD_HOUR,
    LAMBDA_GB_SECOND,
    LAMBDA_MEMORY_MB,
    LAMBDA_REQUEST,
    MARKER_HOURS,
    MAX_ACCESS_DAYS,
    MAX_API_REQUESTS_PER_MONTH,
    MAX_LINES_PER_DAY,
    MAX_MONTH,
    MAX_MS,
    MAX_OBJECTS,
    MAX_SHARDS,
    MEASURED_ACCESS_SHARE,
    MONTH_SHOWN,
    PRESERVATION_EVENT_BYTES,
    PRESERVATION_EVENTS_PER_OTHER_LINE,
    PROJECTOR_BATCH_SIZE,
    PROJECTOR_MEMORY_MB,
    SERVICES,
    STREAM_MODE,
    TABLE_CLASS,
    TABLE_CLASSES,
    VCPU_MB,
    ApiKind,
    Architecture,
    Service,
    StreamMode,
    TableClass,
)
from provenance.aws.cost_text import assumptions_of
from provenance.domain.errors import ProvenanceError


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
    stream_mode: StreamMode = STREAM_MODE
    shards: int | None = None
    """Provisioned streams only (default 1, as the CDK app deploys)."""
    table_class: TableClass = TABLE_CLASS
    architecture: Architecture = ARCHITECTURE
    ingest_memory_mb: int = INGEST_MEMORY_MB
    projector_memory_mb: int = PROJECTOR_MEMORY_MB
    api_memory_mb: int = API_MEMORY_MB
    api_requests_per_month: int = API_REQUESTS_PER_MONTH
    api_ms_per_request: float = API_MS_PER_REQUEST
    api_gateway: ApiKind = "http"
    dynamodb_latency_ms: float = DYNAMODB_LATENCY_MS
    month: int = MONTH_SHOWN
    dashboard: bool = False
    """The stage has the staff dashboard (cdk.json `dashboard`): its fixed and used costs."""
    dashboard_users: int = DASHBOARD_USERS
    dashboard_federated_users: int = 0
    dashboard_requests_per_month: int = DASHBOARD_REQUESTS_PER_MONTH


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
    def services(self) -> tuple[Service, ...]:
        """The services billed: the dashboard's only for a stage that has one."""
        return SERVICES + (DASHBOARD_SERVICES if self.inputs.dashboard else ())

    @property
    def total(self) -> float:
        return sum(item.dollars for item in self.items)

    def as_json(self) -> dict[str, Any]:
        return {
            "inputs": asdict(self.inputs),
            "days_per_month": DAYS_PER_MONTH,
            "volumes": {**asdict(self.volumes), "events": self.volumes.events},
            "services": {service: self.service_total(service) for service in self.services},
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
        *_dynamodb(inputs, volumes, storage),
        _api_gateway(inputs),
        *_dashboard(inputs),
    )
    result = Estimate(inputs, volumes, items, storage)
    return replace(result, assumptions=assumptions_of(result))


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
        inputs.table_class in TABLE_CLASSES,
        f"table class must be standard or standard-ia, got {inputs.table_class}",
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
    for name, high in (
        ("dashboard_users", MAX_DASHBOARD_USERS),
        ("dashboard_federated_users", MAX_DASHBOARD_USERS),
        ("dashboard_requests_per_month", MAX_DASHBOARD_REQUESTS),
    ):
        value = getattr(inputs, name)
        need(within(value, 0, high), f"{name} must be from 0 to {high:,}, got {value}")
    if inputs.stream_mode == "provisioned" and inputs.shards is None:
        return replace(inputs, shards=1)
    return inputs


def _volumes(inputs: Inputs) -> Volumes:
    lines = inputs.lines_per_day * DAYS_PER_MONTH
    access = lines * inputs.access_share
    preservation = lines * (1 - inputs.access_share) * PRESERVATION_EVENTS_PER_OTHER_LINE
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
    marker_bytes = (BENCH_MARKER_BYTES + ITEM_OVERHEAD_BYTES * BENCH_MARKERS) / BENCH_MARKERS
    # One marker per preservation event; access events' bundles as measured (none since
    # their counts are put in rows of their own; an older units file has one per bundle).
    markers = volumes.preservation_events + volumes.access_events * ACCESS_MARKERS_PER_ACCESS_EVENT
    # An object's row, and its index entries and share of the totals (the fleet's).
    row_bytes = (
        BENCH_OBJECT_ROW_BYTES
        + ITEM_OVERHEAD_BYTES * BENCH_OBJECT_ROWS
        + BENCH_OBJECT_INDEX_BYTES
        + ITEM_OVERHEAD_BYTES * BENCH_OBJECT_INDEX_ITEMS
    ) / BENCH_OBJECT_ROWS
    return Storage(
        month=inputs.month,
        preservation_events_gb=preservation_per_day * days * PRESERVATION_EVENT_BYTES / GIB,
        access_events_gb=access_per_day * kept_days * ACCESS_EVENT_BYTES / GIB,
        access_counts_gb=access_per_day * days * counts_per_access_event / GIB,
        markers_gb=markers * per_day * (MARKER_HOURS / 24) * marker_bytes / GIB,
        object_state_gb=volumes.objects * row_bytes / GIB,
        preservation_growth_gb=(
            volumes.preservation_events * PRESERVATION_EVENT_BYTES
            + volumes.access_events * counts_per_access_event
        )
        / GIB,
        access_steady_gb=None
        if inputs.access_days is None
        else access_per_day * inputs.access_days * ACCESS_EVENT_BYTES / GIB,
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
    mapping's filter (cdk/projector.py) passes only event items and bundles, inserted (every
    preservation event, every bundle of access events) or removed by the TTL (expired
    bundles); guards, markers, projection rows and their TTL removals never invoke it."""
    bundles = volumes.access_events * BUNDLES_PER_ACCESS_EVENT
    return volumes.preservation_events + bundles * (1 + _expiring_share(inputs))


def _expiring_share(inputs: Inputs) -> float:
    """How much of the month's access events' worth expires in the month shown."""
    if inputs.access_days is None:
        return 0.0
    past = inputs.month * DAYS_PER_MONTH - inputs.access_days
    return min(1.0, max(0.0, past / DAYS_PER_MONTH))


def _dynamodb(inputs: Inputs, volumes: Volumes, storage: Storage) -> list[LineItem]:
    prices = DYNAMODB_PRICES[inputs.table_class]
    ingest_writes = (
        volumes.preservation_events * INGEST_WRITE_UNITS_PER_PRESERVATION_EVENT
        + volumes.access_events * INGEST_WRITE_UNITS_PER_ACCESS_EVENT
        + volumes.lines * INGEST_OTHER_WRITE_UNITS_PER_LINE
    )
    projector_writes = (
        volumes.preservation_events
        * (
            BENCH_OBJECT_MARKER_WRITE_UNITS
            + BENCH_OBJECT_ROW_WRITE_UNITS
            + BENCH_OBJECT_INDEX_WRITE_UNITS
        )
        / BENCH_PRESERVATION_EVENTS
        + volumes.access_events
        * (BENCH_ACCESS_MARKER_WRITE_UNITS + BENCH_ACCESS_ROW_WRITE_UNITS)
        / BENCH_ACCESS_EVENTS
    )
    ingest_reads = (
        volumes.preservation_events * INGEST_READ_UNITS_PER_PRESERVATION_EVENT
        + volumes.access_events * INGEST_READ_UNITS_PER_ACCESS_EVENT
        + volumes.lines * INGEST_OTHER_READ_UNITS_PER_LINE
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
            ingest_writes * prices.write_unit,
        ),
        LineItem(
            "DynamoDB",
            "write units, projector",
            projector_writes,
            "WRU",
            projector_writes * prices.write_unit,
        ),
        LineItem(
            "DynamoDB", "read units, ingest", ingest_reads, "RRU", ingest_reads * prices.read_unit
        ),
        LineItem(
            "DynamoDB",
            "read units, projector",
            projector_reads,
            "RRU",
            projector_reads * prices.read_unit,
        ),
        LineItem(
            "DynamoDB",
            f"storage at the end of month {storage.month}",
            gb,
            "GB-month",
            gb * prices.gb_month,
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


def _dashboard(inputs: Inputs) -> list[LineItem]:
    if not inputs.dashboard:
        return []
    charges = dashboard_charges(
        users=inputs.dashboard_users,
        federated_users=inputs.dashboard_federated_users,
        requests_per_month=inputs.dashboard_requests_per_month,
        api_ms_per_request=inputs.api_ms_per_request,
        api_memory_mb=inputs.api_memory_mb,
        architecture=inputs.architecture,
    )
    return [LineItem(c.service, c.item, c.quantity, c.unit, c.dollars) for c in charges]
