"""The words of a `prov cost` estimate: what it rests on (`assumptions_of`, each assumption
with the figures behind it) and the table printed for a terminal (`render_table`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from provenance.aws.cost_dashboard import dashboard_assumption
from provenance.aws.cost_figures import (
    ACCESS_EVENT_BYTES,
    BENCH_ACCESS_EVENTS,
    BENCH_ACCESS_MARKER_WRITE_UNITS,
    BENCH_ACCESS_READ_UNITS,
    BENCH_ACCESS_ROW_WRITE_UNITS,
    BENCH_BUNDLES,
    BENCH_DAYS,
    BENCH_EVENTS,
    BENCH_INGEST_CALLS,
    BENCH_INGEST_CPU_S,
    BENCH_INGEST_SQLITE_CPU_S,
    BENCH_KINESIS_BYTES,
    BENCH_KINESIS_RECORDS,
    BENCH_LINES,
    BENCH_OBJECT_INDEX_WRITE_UNITS,
    BENCH_OBJECT_MARKER_WRITE_UNITS,
    BENCH_OBJECT_READ_UNITS,
    BENCH_OBJECT_ROW_BYTES,
    BENCH_OBJECT_ROW_WRITE_UNITS,
    BENCH_OBJECT_ROW_WRITES,
    BENCH_OBJECT_ROWS,
    BENCH_OBJECTS,
    BENCH_PRESERVATION_EVENTS,
    BENCH_PROJECTOR_CALLS,
    BENCH_PROJECTOR_CPU_S,
    BENCH_PROJECTOR_INVOCATIONS,
    BENCH_STREAM_RECORDS,
    BUNDLES_PER_ACCESS_EVENT,
    DAYS_PER_MONTH,
    DYNAMODB_PRICES,
    HOURS_PER_MONTH,
    INGEST_READ_UNITS_PER_ACCESS_EVENT,
    INGEST_READ_UNITS_PER_PRESERVATION_EVENT,
    INGEST_WRITE_UNITS_PER_ACCESS_EVENT,
    INGEST_WRITE_UNITS_PER_PRESERVATION_EVENT,
    MARKER_HOURS,
    MEASURED,
    MEASURED_ACCESS_SHARE,
    OBJECT_ROW_FINAL_WRITE_UNITS,
    PRESERVATION_EVENT_BYTES,
    PRESERVATION_EVENTS_PER_OTHER_LINE,
    PRICES_SEEN,
    PROJECTOR_BATCH_SIZE,
    STANDARD_IA_REQUEST_RATIO,
    STANDARD_IA_STORAGE_RATIO,
    TABLE_CLASS,
    VCPU_MB,
    TableClass,
)
from provenance.domain.terminal import TerminalText, terminal_lines

if TYPE_CHECKING:
    from provenance.aws.cost import Estimate, Inputs, Volumes


def assumptions_of(result: Estimate) -> tuple[str, ...]:
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
        BENCH_OBJECT_MARKER_WRITE_UNITS
        + BENCH_OBJECT_ROW_WRITE_UNITS
        + BENCH_OBJECT_INDEX_WRITE_UNITS
    ) / BENCH_PRESERVATION_EVENTS
    access_writes = (
        BENCH_ACCESS_MARKER_WRITE_UNITS + BENCH_ACCESS_ROW_WRITE_UNITS
    ) / BENCH_ACCESS_EVENTS
    lines_per_record = BENCH_LINES / BENCH_KINESIS_RECORDS
    out = [
        f"Prices: us-east-1 list prices of reference/aws.md (undated table, last seen "
        f"{PRICES_SEEN}; recheck before quoting money). Free tiers ignored (Lambda's free "
        "requests and GB-seconds, DynamoDB's first 25 GB).",
        _table_class(result),
        f"Month: {DAYS_PER_MONTH} days ({HOURS_PER_MONTH:,.1f} hours); the bill of month "
        f"{inputs.month} of running, with storage as at its end.",
        "Units per line and per event: counted over a moto server, not on AWS, by "
        f"`{MEASURED.get('command', 'python bench/aws_units.py')}` ({BENCH_LINES:,.0f} demo log "
        f"lines -> {BENCH_EVENTS:,.0f} events; {_measured_where()}): BENCHMARKS.md section 6.",
        f"Mix: those lines made {BENCH_ACCESS_EVENTS:,.0f} access and "
        f"{BENCH_PRESERVATION_EVENTS:,.0f} "
        "preservation events; the benchmark did not count lines by kind. Counting one access "
        "line per access event (true of CLF and lograge; a multi-line Rails request log makes "
        f"one per request), its access share is {MEASURED_ACCESS_SHARE:.3f}, and the other "
        f"lines made {PRESERVATION_EVENTS_PER_OTHER_LINE:.3f} preservation events each "
        "(ignored and quarantined lines included). "
        + (
            "This estimate uses the measured mix."
            if measured_mix
            else f"An access share of {inputs.access_share:g} is extrapolated from it."
        ),
        "Per kind, measured: ingest writes "
        f"{INGEST_WRITE_UNITS_PER_PRESERVATION_EVENT:.2f} units per preservation event (event "
        f"item, id guard, feed-index copy) and {INGEST_WRITE_UNITS_PER_ACCESS_EVENT:.2f} per "
        "access event (its share of a bundle, one compressed item per service, hour and "
        f"append, and of its feed-index copy), and reads "
        f"{INGEST_READ_UNITS_PER_PRESERVATION_EVENT:.2f} (the id guard) and "
        f"{INGEST_READ_UNITS_PER_ACCESS_EVENT:.2f} (the ids the stream-hour holds); the "
        "projector writes "
        f"{preservation_writes:.2f} (row, marker, and the fleet's index entries and totals) "
        "and reads "
        f"{BENCH_OBJECT_READ_UNITS / BENCH_PRESERVATION_EVENTS:.2f} units per preservation "
        f"event, {access_writes:.2f} and {BENCH_ACCESS_READ_UNITS / BENCH_ACCESS_EVENTS:.2f} per "
        "access event (a bundle's count rows put as rows of its own, no marker); stored bytes "
        f"{PRESERVATION_EVENT_BYTES:,.0f} per preservation event and "
        f"{ACCESS_EVENT_BYTES:,.0f} per access event. The benchmark's access traffic is "
        f"thin ({BENCH_ACCESS_EVENTS / BENCH_BUNDLES:.1f} events per bundle): busier services "
        "fill bundles further, so access units are likely overestimated. Kinesis bytes and "
        "ingest CPU (per line) and projector CPU (per event) were measured over the mix only "
        "and applied to both kinds alike.",
        "Access counts: the measured rows per access event come from the demo's thin traffic "
        f"(about {BENCH_ACCESS_EVENTS / (BENCH_DAYS * 24):.0f} access events an hour, a few per "
        "bundle); a bundle of a busy hour puts its one count row for many more events, so "
        "access-count writes and storage are likely overestimated.",
        "ObjectState rows grow with an object's history: the run started from empty rows "
        f"({BENCH_OBJECT_ROW_WRITE_UNITS / BENCH_OBJECT_ROW_WRITES:.2f} write units per "
        f"rewrite; {OBJECT_ROW_FINAL_WRITE_UNITS:.0f} for rows of the size they ended at). At "
        f"{OBJECT_ROW_FINAL_WRITE_UNITS:.0f} units a rewrite, DynamoDB writes would cost "
        f"{money(extra_row_units * DYNAMODB_PRICES[inputs.table_class].write_unit)} more a "
        "month.",
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
        "only what the deployed filter lets through: new preservation events, new bundles of "
        f"access events ({BUNDLES_PER_ACCESS_EVENT:.3f} per access event, measured) and "
        "expired bundles.",
        f"api function: {inputs.api_ms_per_request:g} ms a request at "
        f"{inputs.api_memory_mb:,} MB, assumed (no benchmark times it); the API's DynamoDB "
        "reads are not counted.",
        f"Kinesis: records as `prov ship --once` makes them ({lines_per_record:,.0f} lines, "
        f"{BENCH_KINESIS_BYTES / BENCH_KINESIS_RECORDS / 1024:.1f} KiB compressed); a "
        "shipper following a slowly growing file sends smaller records, each at least one PUT "
        "unit or 1 KB of on-demand data. Retention beyond 24 hours (the CDK app keeps records "
        "168 hours) is billed extra and not counted: reference/aws.md has no price for it.",
        "Storage: items as DynamoDB sizes them plus 100 bytes each, the feed index's copy of "
        "every event item and bundle included, billed on the size at the end of the month; "
        + (
            "access events are kept forever (no TTL)."
            if inputs.access_days is None
            else f"access events expire after {inputs.access_days:,} days (TTL deletes are "
            "free; a bundle goes with its last record's expiry); their hourly counts stay."
        ),
        f"Objects: {volumes.objects:,} ObjectState rows of "
        f"{BENCH_OBJECT_ROW_BYTES / BENCH_OBJECT_ROWS:,.0f} bytes (the measured size at the end of "
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
    if inputs.dashboard:
        out.append(
            dashboard_assumption(
                inputs.dashboard_users,
                inputs.dashboard_federated_users,
                inputs.dashboard_requests_per_month,
            )
        )
    else:
        out.append(
            "No staff dashboard: a stage with `dashboard` settings adds an Application Load "
            "Balancer, its public IPv4 addresses and Cognito users (about $24 a month fixed): "
            "--dashboard prices them."
        )
    warning = _shard_warning(inputs, volumes)
    if warning:
        out.append(warning)
    return tuple(out)


def _table_class(result: Estimate) -> str:
    """The table class priced, its prices, and what the same units cost in the other class."""
    chosen = result.inputs.table_class
    other: TableClass = "standard" if chosen == "standard-ia" else "standard-ia"
    names = {"standard": "Standard", "standard-ia": "Standard-IA"}
    prices = DYNAMODB_PRICES[chosen]
    dynamodb = result.service_total("DynamoDB")
    # The same units and bytes at the other class's prices: the class changes prices only.
    elsewhere = sum(
        item.quantity * _unit_price(item.unit, other)
        for item in result.items
        if item.service == "DynamoDB"
    )
    return (
        f"DynamoDB table class: {names[chosen]} (the CDK app deploys {names[TABLE_CLASS]} "
        f"unless a stage sets `table_class`), ${prices.write_unit * 1e6:.5g} and "
        f"${prices.read_unit * 1e6:.5g} per million write and read request units, "
        f"{money(prices.gb_month)} a GB-month. Standard-IA is not in "
        "reference/aws.md: its prices are Standard's with storage "
        f"{1 - STANDARD_IA_STORAGE_RATIO:.0%} cheaper and request units "
        f"{STANDARD_IA_REQUEST_RATIO - 1:.0%} dearer, as AWS's DynamoDB pricing and table "
        f"classes pages give them (recheck). The same units in {names[other]} would cost "
        f"{money(elsewhere)} for DynamoDB ({money(dynamodb)} here)."
    )


def _unit_price(unit: str, table_class: TableClass) -> float:
    prices = DYNAMODB_PRICES[table_class]
    return {"WRU": prices.write_unit, "RRU": prices.read_unit, "GB-month": prices.gb_month}[unit]


def _measured_where() -> str:
    """The commit and machine of the units file, as `bench/aws_units.py` recorded them."""
    found = [line for line in MEASURED.get("machine", []) if line.startswith(("date:", "code:"))]
    return "; ".join(found) or "where is not recorded"


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
    for service in result.services:
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
