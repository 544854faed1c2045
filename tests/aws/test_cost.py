"""`prov cost`: the estimate against figures computed by hand from the units file
(`provenance/aws/units.json`, what `bench/aws_units.py --units` counted; BENCHMARKS.md section 6).

The expected values are worked out here from the file's raw counts, read with `json` (not through
`provenance.aws.cost_figures`), and reference/aws.md's prices, not computed with
`provenance.aws.cost`'s own constants, so a wrong constant or formula fails.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from provenance.access.rules import MAX_RETENTION_DAYS
from provenance.aws import cost_figures
from provenance.aws.cost import CostInputError, Estimate, Inputs, estimate
from tests.cli.test_cli import run as run_prov

REPO = Path(__file__).resolve().parents[2]
UNITS_FILE = REPO / "provenance" / "aws" / "units.json"
U = json.loads(UNITS_FILE.read_text())["units"]
PER_MILLION = 1e6 / U["lines"]
WRITE_PRICE, READ_PRICE = 0.625 / 1e6, 0.125 / 1e6
# Standard-IA, us-east-1 on-demand (AWS's pricing page: storage 60% less, requests 25% more).
IA_WRITE_PRICE, IA_READ_PRICE, IA_GB_MONTH = 0.78125 / 1e6, 0.15625 / 1e6, 0.10

MONTH_DAYS = 30.4
MILLION_LINES_A_DAY = 1_000_000
# Per 1,000,000 log lines.
WRITE_DOLLARS_INGEST = U["ingest_write_units"] * PER_MILLION * WRITE_PRICE
PROJECTOR_WRITE_UNITS = (
    U["object_marker_write_units"]
    + U["object_row_write_units"]
    + U["object_index_write_units"]
    + U["access_marker_write_units"]
    + U["access_row_write_units"]
)
WRITE_DOLLARS_PROJECTOR = PROJECTOR_WRITE_UNITS * PER_MILLION * WRITE_PRICE
READ_DOLLARS = (
    (U["ingest_read_units"] + U["object_read_units"] + U["access_read_units"])
    * PER_MILLION
    * READ_PRICE
)
# Lambda compute per 1,000,000 lines with the CPU share counted (a vCPU at 1,769 MB): GB-s.
INGEST_GB_S_AT_1024 = U["ingest_cpu_s"] * PER_MILLION * 1769 / 1024
PROJECTOR_GB_S_AT_512 = U["projector_cpu_s"] * PER_MILLION * 1769 / 512 * 0.5
ARM64, X86 = 0.0000133334, 0.0000166667


def item(result: Estimate, name: str) -> float:
    (found,) = [i.dollars for i in result.items if i.item == name]
    return found


def quantity(result: Estimate, name: str) -> float:
    (found,) = [i.quantity for i in result.items if i.item == name]
    return found


def test_dynamodb_writes_at_the_measured_mix_are_lines_times_measured_units_times_price() -> None:
    result = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY))
    millions = MONTH_DAYS  # million lines a month
    assert item(result, "write units, ingest") == pytest.approx(
        millions * WRITE_DOLLARS_INGEST, rel=1e-4
    )
    assert item(result, "write units, projector") == pytest.approx(
        millions * WRITE_DOLLARS_PROJECTOR, rel=1e-4
    )
    # Applied-markers expire by the table's TTL: deleting them costs no write units.
    assert [i.item for i in result.items if "prun" in i.item or "marker" in i.item] == []
    assert any("TTL" in a and "applied-markers expire" in a.lower() for a in result.assumptions)
    writes = [i for i in result.items if i.service == "DynamoDB" and i.unit == "WRU"]
    assert sum(i.dollars for i in writes) == pytest.approx(
        millions * (WRITE_DOLLARS_INGEST + WRITE_DOLLARS_PROJECTOR), rel=1e-4
    )
    reads = item(result, "read units, ingest") + item(result, "read units, projector")
    assert reads == pytest.approx(millions * READ_DOLLARS, rel=1e-3)


def test_standard_ia_prices_the_same_units_and_bytes_at_its_own_prices() -> None:
    standard = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY))
    ia = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY, table_class="standard-ia"))
    assert standard.inputs.table_class == "standard"
    millions = MONTH_DAYS
    assert item(ia, "write units, ingest") == pytest.approx(
        millions * U["ingest_write_units"] * PER_MILLION * IA_WRITE_PRICE, rel=1e-4
    )
    assert item(ia, "write units, projector") == pytest.approx(
        millions * PROJECTOR_WRITE_UNITS * PER_MILLION * IA_WRITE_PRICE, rel=1e-4
    )
    reads = item(ia, "read units, ingest") + item(ia, "read units, projector")
    assert reads == pytest.approx(millions * READ_DOLLARS * IA_READ_PRICE / READ_PRICE, rel=1e-3)
    (storage,) = [i for i in ia.items if i.unit == "GB-month"]
    assert storage.quantity == pytest.approx(standard.storage.total_gb)
    assert storage.dollars == pytest.approx(standard.storage.total_gb * IA_GB_MONTH)
    # The class changes DynamoDB's prices and nothing else.
    assert [(i.item, i.quantity) for i in ia.items] == [
        (i.item, i.quantity) for i in standard.items
    ]
    for service in ("Kinesis", "Lambda", "API Gateway"):
        assert ia.service_total(service) == standard.service_total(service)


def test_each_class_says_what_the_other_would_cost() -> None:
    inputs = Inputs(lines_per_day=2_000_000, month=12)
    standard = estimate(inputs)
    ia = estimate(replace(inputs, table_class="standard-ia"))
    (said,) = [a for a in standard.assumptions if a.startswith("DynamoDB table class: Standard ")]
    assert f"in Standard-IA would cost ${ia.service_total('DynamoDB'):,.2f}" in said
    (said,) = [a for a in ia.assumptions if a.startswith("DynamoDB table class: Standard-IA ")]
    assert "$0.78125 and $0.15625 per million" in said and "$0.10 a GB-month" in said
    assert f"in Standard would cost ${standard.service_total('DynamoDB'):,.2f}" in said


def test_lambda_compute_matches_the_benchmarks_gb_seconds() -> None:
    inputs = Inputs(lines_per_day=MILLION_LINES_A_DAY, dynamodb_latency_ms=0)
    result = estimate(replace(inputs, architecture="x86_64"))
    assert quantity(result, "ingest compute, x86_64") == pytest.approx(
        MONTH_DAYS * INGEST_GB_S_AT_1024, rel=1e-3
    )
    assert quantity(result, "projector compute, x86_64") == pytest.approx(
        MONTH_DAYS * PROJECTOR_GB_S_AT_512, rel=1e-3
    )
    # Each millisecond of DynamoDB latency: the ingest calls per 1M lines, at 1 GB.
    slower = estimate(replace(inputs, architecture="x86_64", dynamodb_latency_ms=10))
    waited = quantity(slower, "ingest compute, x86_64") - quantity(result, "ingest compute, x86_64")
    assert waited == pytest.approx(MONTH_DAYS * U["ingest_calls"] * PER_MILLION * 0.010, rel=1e-3)


def test_projector_requests_count_only_what_the_deployed_filter_passes() -> None:
    # The filter (cdk/projector.py) passes event items and bundles only: new preservation
    # events, new bundles of access events, and bundles the TTL removes. In month 1 nothing
    # has expired yet (365-day retention).
    result = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY, month=1))
    volumes = result.volumes
    records = (
        volumes.preservation_events + volumes.access_events * U["bundles"] / U["access_events"]
    )
    projector = records / 100  # one invocation per 100 records, the deployment's batch size
    others = result.volumes.kinesis_records + result.inputs.api_requests_per_month
    assert quantity(result, "requests") == pytest.approx(others + projector, rel=1e-6)


def test_arm64_is_cheaper_than_x86_64_by_the_price_ratio() -> None:
    inputs = Inputs(lines_per_day=2_000_000)
    arm = estimate(replace(inputs, architecture="arm64"))
    x86 = estimate(replace(inputs, architecture="x86_64"))
    assert arm.service_total("Lambda") < x86.service_total("Lambda")
    assert item(arm, "projector compute, arm64") / item(x86, "projector compute, x86_64") == (
        pytest.approx(ARM64 / X86)
    )
    assert arm.service_total("DynamoDB") == x86.service_total("DynamoDB")


def test_cost_is_affine_in_lines_and_units_are_linear() -> None:
    def at(lines: float) -> Estimate:
        return estimate(Inputs(lines_per_day=lines, objects=1_000))

    one, two, three = at(500_000), at(1_000_000), at(1_500_000)
    assert three.total - two.total == pytest.approx(two.total - one.total)
    assert two.total > one.total
    for name in ("write units, ingest", "write units, projector", "read units, projector"):
        assert quantity(two, name) == pytest.approx(2 * quantity(one, name))
    # The shard-hours and the API do not grow with lines.
    assert item(two, "shard-hours (1 shard)") == item(one, "shard-hours (1 shard)")
    assert two.service_total("API Gateway") == one.service_total("API Gateway")


def test_on_demand_pays_stream_hours_and_provisioned_pays_shard_hours() -> None:
    inputs = Inputs(lines_per_day=MILLION_LINES_A_DAY, stream_mode="on-demand")
    on_demand = estimate(inputs)
    assert item(on_demand, "on-demand stream-hours") == pytest.approx(24 * MONTH_DAYS * 0.04)
    # Data in and out: the run's records, rounded up to 1 KB each, at $0.08 and $0.04 per GB.
    data = item(on_demand, "on-demand data in") + item(
        on_demand, "on-demand data out (read by ingest)"
    )
    gb = MONTH_DAYS * 1e6 * U["kinesis_kb_rounded"] * 1024 / U["lines"] / 2**30
    assert data == pytest.approx(gb * 0.12)

    one = estimate(replace(inputs, stream_mode="provisioned"))
    three = estimate(replace(inputs, stream_mode="provisioned", shards=3))
    assert item(one, "shard-hours (1 shard)") == pytest.approx(24 * MONTH_DAYS * 0.015)
    assert item(three, "shard-hours (3 shards)") == pytest.approx(3 * 24 * MONTH_DAYS * 0.015)
    # The run's PUT payload units per 1M lines, $0.014 per million.
    assert quantity(one, "PUT payload units (25 KB)") == pytest.approx(
        MONTH_DAYS * U["kinesis_put_units"] * PER_MILLION, rel=1e-3
    )
    assert one.service_total("Kinesis") < on_demand.service_total("Kinesis")
    assert one.service_total("DynamoDB") == on_demand.service_total("DynamoDB")


def test_a_provisioned_stream_too_small_for_the_traffic_is_flagged() -> None:
    small = estimate(Inputs(lines_per_day=10_000_000, stream_mode="provisioned"))
    huge = estimate(Inputs(lines_per_day=10_000_000_000, stream_mode="provisioned"))
    assert not any(a.startswith("Warning") for a in small.assumptions)
    assert any(a.startswith("Warning: 1 shard(s)") for a in huge.assumptions)


def test_access_days_set_the_steady_state_of_access_event_storage() -> None:
    # Only access lines, so that every stored event is an access event.
    inputs = Inputs(lines_per_day=MILLION_LINES_A_DAY, access_share=1.0, objects=0, month=24)
    short = estimate(replace(inputs, access_days=30)).storage
    year = estimate(replace(inputs, access_days=365)).storage
    forever = estimate(replace(inputs, access_days=None)).storage
    # An access event keeps its share of its bundle and of the feed index's copy of it (bytes
    # counted with DynamoDB's 100 of overhead per item); bundles have no guards.
    per_event = 2 * (U["bundle_bytes"] + 100 * U["bundles"]) / U["access_events"]
    assert short.access_events_gb == pytest.approx(1e6 * 30 * per_event / 2**30, rel=1e-3)
    assert short.access_steady_gb == pytest.approx(short.access_events_gb)
    assert year.access_events_gb == pytest.approx(1e6 * 365 * per_event / 2**30, rel=1e-3)
    assert forever.access_steady_gb is None
    assert forever.access_events_gb == pytest.approx(
        1e6 * 24 * MONTH_DAYS * per_event / 2**30, rel=1e-3
    )
    assert short.total_gb < year.total_gb < forever.total_gb
    # The hourly counts stay, whatever the expiry.
    assert short.access_counts_gb == forever.access_counts_gb > 0


def test_preservation_events_grow_month_by_month_and_access_events_level_off() -> None:
    inputs = Inputs(lines_per_day=MILLION_LINES_A_DAY, access_days=30)
    m12, m24 = estimate(replace(inputs, month=12)), estimate(replace(inputs, month=24))
    assert m24.storage.preservation_events_gb == pytest.approx(
        2 * m12.storage.preservation_events_gb
    )
    assert m24.storage.access_events_gb == pytest.approx(m12.storage.access_events_gb)
    assert item(m24, "storage at the end of month 24") > item(m12, "storage at the end of month 12")


def test_the_mix_moves_events_between_kinds() -> None:
    lines = MILLION_LINES_A_DAY * MONTH_DAYS
    only_access = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY, access_share=1.0)).volumes
    no_access = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY, access_share=0.0)).volumes
    assert only_access.access_events == pytest.approx(lines)
    assert only_access.preservation_events == 0
    # The measured other lines made the measured preservation events.
    other_lines = U["lines"] - U["access_events"]
    assert no_access.preservation_events == pytest.approx(
        lines * U["preservation_events"] / other_lines
    )
    assert no_access.access_events == 0


def test_preservation_event_storage_is_item_index_copy_and_guard() -> None:
    inputs = Inputs(lines_per_day=MILLION_LINES_A_DAY, access_share=0.0, objects=0, month=1)
    storage = estimate(inputs).storage
    per_event = (
        2 * (U["event_item_bytes"] + 100 * U["event_items_stored"])
        + U["guard_bytes"]
        + 100 * U["guards"]
    ) / U["event_items_stored"]
    events = estimate(inputs).volumes.preservation_events
    assert storage.preservation_events_gb == pytest.approx(events * per_event / 2**30, rel=1e-3)


def test_ingest_writes_and_reads_the_measured_units_of_each_kind() -> None:
    # Preservation events: the event item, its guard and its feed-index copy, and the guard's
    # read; access events: their share of bundles and of the bundles' feed-index copies, and
    # of the Query for a stream-hour's ids; stream names, the counter and quarantine items
    # per line.
    preservation = U["ingest_preservation_write_units"] / U["preservation_events"]
    access = U["ingest_access_write_units"] / U["access_events"]
    rest = (
        U["ingest_write_units"]
        - U["ingest_preservation_write_units"]
        - U["ingest_access_write_units"]
    ) * PER_MILLION
    read_preservation = U["ingest_preservation_read_units"] / U["preservation_events"]
    read_access = U["ingest_access_read_units"] / U["access_events"]
    read_rest = (
        U["ingest_read_units"] - U["ingest_preservation_read_units"] - U["ingest_access_read_units"]
    ) * PER_MILLION
    for share in (0.0, 0.5, 1.0):
        result = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY, access_share=share))
        v = result.volumes
        expected = (
            preservation * v.preservation_events + access * v.access_events + MONTH_DAYS * rest
        )
        assert quantity(result, "write units, ingest") == pytest.approx(expected, rel=1e-4)
        reads = (
            read_preservation * v.preservation_events
            + read_access * v.access_events
            + MONTH_DAYS * read_rest
        )
        assert quantity(result, "read units, ingest") == pytest.approx(reads, rel=1e-4)
    # Bundled, an access event costs far less at ingest than a preservation event.
    assert access < preservation / 3


def test_assumptions_say_whether_the_mix_was_measured_or_extrapolated() -> None:
    measured = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY)).assumptions
    extrapolated = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY, access_share=0.8))
    share = f"access share is {U['access_events'] / U['lines']:.3f}"
    assert any(share in a and "uses the measured mix" in a for a in measured)
    assert any("0.8 is extrapolated" in a for a in extrapolated.assumptions)
    text = " ".join(measured)
    for word in ("us-east-1", "Free tiers ignored", "Not counted", "CloudWatch", "moto"):
        assert word in text


def test_objects_default_to_the_benchmarks_rate_and_can_be_given() -> None:
    # The benchmark's own volume (its lines over its days) had its objects.
    benchmark = estimate(Inputs(lines_per_day=U["lines"] / U["days"]))
    assert benchmark.volumes.objects == U["objects"]
    assert benchmark.volumes.objects_derived
    given = estimate(Inputs(lines_per_day=U["lines"] / U["days"], objects=10_000))
    # The rows' size at the end of the run, plus 100 bytes of overhead; and their index
    # entries and totals (the fleet's), items of their own.
    row = U["object_row_bytes"] / U["object_rows"] + 100
    row += (U["object_index_bytes"] + 100 * U["object_index_items"]) / U["object_rows"]
    assert given.storage.object_state_gb == pytest.approx(10_000 * row / 2**30, rel=1e-3)
    assert not given.volumes.objects_derived


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lines_per_day": -1}, "lines per day"),
        ({"lines_per_day": float("nan")}, "lines per day"),
        ({"access_share": 1.5}, "access share"),
        ({"access_share": -0.1}, "access share"),
        ({"access_days": 0}, "access days"),
        ({"stream_mode": "on-demand", "shards": 2}, "on-demand stream scales itself"),
        ({"stream_mode": "provisioned", "shards": 0}, "shards"),
        ({"table_class": "glacier"}, "table class must be standard or standard-ia"),
        ({"ingest_memory_mb": 64}, "ingest_memory_mb"),
        ({"month": 0}, "month"),
        ({"month": 10**20}, "month"),
        ({"lines_per_day": 1e308}, "lines per day"),
        ({"lines_per_day": float("inf")}, "lines per day"),
        ({"access_share": float("nan")}, "access share"),
        ({"access_days": 10**20}, "access days"),
        ({"objects": 10**400}, "objects"),
        ({"api_requests_per_month": 10**400}, "API requests"),
        ({"api_ms_per_request": float("inf")}, "API milliseconds"),
        ({"dynamodb_latency_ms": float("nan")}, "DynamoDB latency"),
        ({"stream_mode": "provisioned", "shards": 10**20}, "shards"),
        ({"dashboard": True, "dashboard_users": -1}, "dashboard_users"),
        ({"dashboard": True, "dashboard_federated_users": 10**20}, "dashboard_federated_users"),
        ({"dashboard": True, "dashboard_requests_per_month": -5}, "dashboard_requests"),
    ],
)
def test_impossible_inputs_are_refused_with_one_line(change: dict, message: str) -> None:
    with pytest.raises(CostInputError, match=message) as raised:
        estimate(replace(Inputs(lines_per_day=1_000), **change))
    assert "\n" not in str(raised.value)


def test_every_figure_is_finite_at_the_largest_inputs() -> None:
    largest = Inputs(
        lines_per_day=cost_figures.MAX_LINES_PER_DAY,
        access_days=cost_figures.MAX_ACCESS_DAYS,
        objects=cost_figures.MAX_OBJECTS,
        stream_mode="provisioned",
        shards=cost_figures.MAX_SHARDS,
        ingest_memory_mb=10_240,
        api_requests_per_month=cost_figures.MAX_API_REQUESTS_PER_MONTH,
        api_ms_per_request=cost_figures.MAX_MS,
        dynamodb_latency_ms=cost_figures.MAX_MS,
        month=cost_figures.MAX_MONTH,
    )
    for inputs in (
        largest,
        replace(largest, access_days=None, stream_mode="on-demand", shards=None),
    ):
        document = estimate(inputs).as_json()
        numbers = [document["total"], *document["services"].values()]
        numbers += [item["dollars"] for item in document["items"]]
        numbers += [value for value in document["storage"].values() if value is not None]
        assert all(math.isfinite(number) for number in numbers)


def test_the_retention_bound_is_the_access_policys() -> None:
    assert cost_figures.MAX_ACCESS_DAYS == MAX_RETENTION_DAYS


# --- the staff dashboard -----------------------------------------------------------------------
# us-east-1 list prices (the pages cited in provenance/aws/cost_dashboard.py): ALB $0.0225 an
# hour and $0.008 per LCU-hour, public IPv4 $0.005 an address-hour (two: one per zone), Cognito
# Lite $0.0055 per MAU above 10,000 free, federated $0.015 per MAU above 50 free.
DASHBOARD_SERVICES = {"ELB", "Cognito"}
MONTH_HOURS = 24 * MONTH_DAYS


def dashboard_items(result: Estimate) -> dict[str, float]:
    return {
        i.item: i.dollars
        for i in result.items
        if i.service in DASHBOARD_SERVICES or "dashboard" in i.item
    }


def test_a_stage_without_a_dashboard_pays_nothing_for_one() -> None:
    result = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY))

    assert dashboard_items(result) == {}
    assert set(result.as_json()["services"]) == {"Kinesis", "Lambda", "DynamoDB", "API Gateway"}
    assert any(
        a.startswith("No staff dashboard") and "--dashboard" in a for a in result.assumptions
    )


def test_the_dashboards_fixed_costs_are_load_balancer_hours_and_its_addresses() -> None:
    base = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY))
    # No one looks: what is left is what any month costs.
    idle = estimate(
        replace(base.inputs, dashboard=True, dashboard_users=0, dashboard_requests_per_month=0)
    )

    fixed = MONTH_HOURS * 0.0225 + 2 * MONTH_HOURS * 0.005
    assert idle.total - base.total == pytest.approx(fixed, rel=1e-9)
    assert idle.service_total("ELB") == pytest.approx(fixed, rel=1e-9)
    assert idle.service_total("Cognito") == 0
    (said,) = [a for a in idle.assumptions if a.startswith("Dashboard")]
    assert f"${fixed:,.2f} a month is fixed" in said


def test_the_dashboards_use_adds_lcus_users_over_the_free_tiers_and_lambda() -> None:
    inputs = Inputs(
        lines_per_day=MILLION_LINES_A_DAY,
        dashboard=True,
        dashboard_users=10_400,
        dashboard_federated_users=250,
        dashboard_requests_per_month=2_000_000,
    )
    result = estimate(inputs)
    items = dashboard_items(result)

    assert items["Lite MAUs (10,400; first 10,000 free)"] == pytest.approx(400 * 0.0055)
    assert items["federated MAUs (250; first 50 free)"] == pytest.approx(200 * 0.015)
    # 40 KB a request: 0.4 GB an hour of Lambda-target bytes is one LCU (new connections, 25 a
    # second, are fewer LCUs at this rate).
    gb_per_hour = 2_000_000 / MONTH_HOURS * 40 * 1024 / 1024**3
    assert items["ALB LCU-hours"] == pytest.approx(gb_per_hour / 0.4 * MONTH_HOURS * 0.008)
    # The api function answers each request: 100 ms at 1,024 MB, arm64, and a request each.
    assert items["api compute, dashboard requests, arm64"] == pytest.approx(2_000_000 * 0.1 * ARM64)
    assert items["requests, dashboard"] == pytest.approx(2_000_000 * 0.20 / 1e6)
    # API Gateway does not see them.
    assert result.service_total("API Gateway") == pytest.approx(
        estimate(replace(inputs, dashboard=False)).service_total("API Gateway")
    )


def test_prov_cost_dashboard_prices_it_in_table_and_json(capsys) -> None:
    code, out, err = run(capsys, "--lines-per-day", "1000", "--dashboard")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    for service in ("ELB", "Cognito"):
        assert any(line.startswith(service + " ") for line in lines), service

    code, out, _ = run(
        capsys,
        "--lines-per-day",
        "1000",
        "--dashboard",
        "--dashboard-federated-users",
        "80",
        "--format",
        "json",
    )
    document = json.loads(out)
    assert code == 0
    assert set(document["services"]) >= DASHBOARD_SERVICES
    assert document["services"]["Cognito"] == pytest.approx(30 * 0.015)
    assert sum(document["services"].values()) == pytest.approx(document["total"])
    assert document["inputs"]["dashboard"] is True


# --- the command -------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_prov(capsys, "cost", *args)


def test_table_shows_each_service_a_total_and_the_assumptions(capsys) -> None:
    code, out, err = run(capsys, "--lines-per-day", "2000000")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    for service in ("Kinesis", "Lambda", "DynamoDB", "API Gateway", "total"):
        assert any(line.startswith(service + " ") for line in lines), service
    expected = estimate(Inputs(lines_per_day=2_000_000))
    (total,) = [line for line in lines if line.startswith("total ")]
    assert total.split()[-1] == f"${expected.total:,.2f}"
    assert "Assumptions:" in lines
    assert lines.index("Assumptions:") > lines.index(total)
    assert "2,000,000 log lines a day" in out


def test_json_is_one_document_with_the_same_figures(capsys) -> None:
    code, out, _ = run(
        capsys,
        "--lines-per-day",
        "100000",
        "--access-share",
        "0.8",
        "--access-days",
        "never",
        "--stream-mode",
        "provisioned",
        "--shards",
        "2",
        "--architecture",
        "x86_64",
        "--table-class",
        "standard-ia",
        "--format",
        "json",
    )
    assert code == 0
    document = json.loads(out)
    expected = estimate(
        Inputs(
            lines_per_day=100_000,
            access_share=0.8,
            access_days=None,
            stream_mode="provisioned",
            shards=2,
            architecture="x86_64",
            table_class="standard-ia",
        )
    )
    assert document["total"] == pytest.approx(expected.total)
    assert document["inputs"]["table_class"] == "standard-ia"
    assert document["inputs"]["access_days"] is None
    assert set(document["services"]) == {"Kinesis", "Lambda", "DynamoDB", "API Gateway"}
    assert sum(document["services"].values()) == pytest.approx(document["total"])
    assert document["storage"]["access_steady_gb"] is None
    assert document["assumptions"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lines-per-day", "-5"], "--lines-per-day"),
        (["--lines-per-day", "5", "--access-share", "1.5"], "--access-share"),
        (["--lines-per-day", "5", "--access-days", "soon"], "--access-days"),
        (
            ["--lines-per-day", "5", "--stream-mode", "on-demand", "--shards", "3"],
            "leave shards out",
        ),
        (["--lines-per-day", "nan"], "--lines-per-day"),
        (["--lines-per-day", "5", "--table-class", "glacier"], "--table-class"),
        (["--lines-per-day", "inf"], "--lines-per-day"),
        (["--lines-per-day", "1e400"], "--lines-per-day"),
        (["--lines-per-day", "1e308"], "--lines-per-day"),
        (["--lines-per-day", "5", "--access-share", "nan"], "--access-share"),
        (["--lines-per-day", "5", "--api-ms-per-request", "inf"], "--api-ms-per-request"),
        (["--lines-per-day", "5", "--objects", "9" * 400], "--objects"),
        (["--lines-per-day", "5", "--api-requests-per-month", "1" + "0" * 20], "--api-requests"),
        (["--lines-per-day", "5", "--access-days", "99999999999999999999"], "--access-days"),
        (["--lines-per-day", "5", "--month", "99999999999999999999"], "--month"),
        ([], "--lines-per-day"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(capsys, args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("prov: error:") and message in err


def test_projector_units_are_the_measured_ones_of_each_kind() -> None:
    # Applied-markers and row rewrites of each projection, and their reads.
    access = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY, access_share=1.0))
    events = access.volumes.access_events
    assert quantity(access, "write units, projector") == pytest.approx(
        events * (U["access_marker_write_units"] + U["access_row_write_units"]) / U["access_events"]
    )
    assert quantity(access, "read units, projector") == pytest.approx(
        events * U["access_read_units"] / U["access_events"]
    )
    preservation = estimate(Inputs(lines_per_day=MILLION_LINES_A_DAY, access_share=0.0))
    events = preservation.volumes.preservation_events
    assert quantity(preservation, "write units, projector") == pytest.approx(
        events
        * (
            U["object_marker_write_units"]
            + U["object_row_write_units"]
            + U["object_index_write_units"]
        )
        / U["preservation_events"]
    )
    assert quantity(preservation, "read units, projector") == pytest.approx(
        events * U["object_read_units"] / U["preservation_events"]
    )


# --- the units file -----------------------------------------------------------------------------


def _bench_units_document(figures: dict[str, Any]) -> dict[str, Any]:
    """`bench/aws_units.py`'s `units_document` (the bench scripts import `common` from beside
    them)."""
    bench = REPO / "bench"
    sys.path.insert(0, str(bench))
    try:
        spec = importlib.util.spec_from_file_location("bench_aws_units", bench / "aws_units.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(bench))
        sys.modules.pop("bench_aws_units", None)
    document: dict[str, Any] = module.units_document(figures)
    return document


def _figures() -> dict[str, Any]:
    """A run's saved figures (`bench/aws_units.py --json`), small and made up."""

    def tally(items: int, size: int, units: float) -> dict[str, float]:
        return {"items": items, "bytes": size, "units": units}

    kept = {"items": 3, "bytes": 300}
    return {
        "lines": 1000,
        "days": 10,
        "objects": 5,
        "dynamodb_event_items": 700,
        "preservation_events": 400,
        "access_events": 300,
        "kinesis": {"records": 2, "payload_units": 3, "kb_rounded": 40, "bytes": 39_000},
        "writes": {
            "ingest": {
                "event item": tally(400, 4e5, 800),
                "id guard": tally(400, 4e4, 800),
                "access bundle": tally(30, 6e4, 60),
                "bundle's feed index (GSI) copy": tally(30, 6e4, 60),
            },
            "projector": {
                "object_state applied-marker": tally(400, 4e4, 800),
                "object_state row": tally(300, 3e5, 600),
                "access_counts applied-marker": tally(300, 3e4, 600),
                "access_counts row": tally(200, 5e4, 400),
            },
        },
        "reads": {
            "ingest": {
                "id guard": tally(400, 0, 400),
                "stream-hour ids (Query)": tally(30, 0, 30),
            },
            "projector": {},
        },
        "calls": {"ingest": {"PutItem": 9}, "projector": {"Query": 4}},
        "storage": {
            "by_kind": {
                k: kept for k in ("event item", "id guard", "object_state row", "access bundle")
            },
        },
        "stream_records": {"event item": 700},
        "projector": {"invocations": 7, "cpu_s": 1.5, "records": 700},
        "ingest": {"cpu_s": 1.0},
        "sqlite": {"projections left to the stream": {"cpu_s": 0.5}},
        "measured": {"command": "python bench/aws_units.py", "machine": ["code: commit abc"]},
    }


def test_the_units_file_the_bench_writes_and_the_model_reads_hold_the_same_fields() -> None:
    written = _bench_units_document(_figures())
    committed = json.loads(UNITS_FILE.read_text())
    assert set(written) == set(committed) == {"measured", "units"}
    assert set(written["units"]) == set(committed["units"]) == set(cost_figures.UNIT_FIELDS)
    assert written["units"]["ingest_preservation_write_units"] == 1600
    assert written["units"]["ingest_access_write_units"] == 120
    assert written["units"]["ingest_access_read_units"] == 30
    # The committed file names the run: its command and the commit and machine it measured.
    measured = committed["measured"]
    assert measured["command"].startswith("python bench/aws_units.py")
    assert any(line.startswith("code: commit ") for line in measured["machine"])


def _prov_cost_with(tmp_path: Path, units: dict[str, Any], *args: str) -> dict[str, Any]:
    path = tmp_path / "units.json"
    path.write_text(json.dumps({"measured": {}, "units": units}))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "prov"), "cost", "--format", "json", *args],
        env={**os.environ, "PROV_COST_UNITS": str(path)},
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_prov_cost_prices_what_the_units_file_says(tmp_path: Path) -> None:
    def line(document: dict[str, Any], name: str) -> float:
        (found,) = [i["quantity"] for i in document["items"] if i["item"] == name]
        return float(found)

    args = ("--lines-per-day", "1000000", "--access-share", "0.5")
    same = _prov_cost_with(tmp_path, U, *args)
    assert same["total"] == pytest.approx(estimate(Inputs(1_000_000, access_share=0.5)).total)
    # Twice the units an access event costs at ingest, and twice the projector's access rows.
    doubled = {
        **U,
        "ingest_write_units": U["ingest_write_units"] + U["ingest_access_write_units"],
        "ingest_access_write_units": 2 * U["ingest_access_write_units"],
        "access_row_write_units": 2 * U["access_row_write_units"],
    }
    more = _prov_cost_with(tmp_path, doubled, *args)
    events = same["volumes"]["access_events"]
    extra = events * U["ingest_access_write_units"] / U["access_events"]
    assert line(more, "write units, ingest") == pytest.approx(
        line(same, "write units, ingest") + extra
    )
    access = same["volumes"]["access_events"]
    assert line(more, "write units, projector") == pytest.approx(
        line(same, "write units, projector")
        + access * U["access_row_write_units"] / U["access_events"]
    )


@pytest.mark.parametrize("broken", ["missing", "not json", "not objects"])
def test_a_bad_units_file_fails_prov_cost_in_one_line_and_nothing_else(
    tmp_path: Path, broken: str
) -> None:
    path = tmp_path / "units.json"
    if broken == "not json":
        path.write_text("{units")
    elif broken == "not objects":
        path.write_text('{"units": 5, "measured": 5}')
    prov = str(Path(sys.executable).parent / "prov")
    env = {**os.environ, "PROV_COST_UNITS": str(path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [prov, *args], env=env, capture_output=True, text=True, check=False, cwd=REPO
        )

    cost = run("cost", "--lines-per-day", "1000")
    assert cost.returncode != 0 and cost.stdout == ""
    assert cost.stderr.count("\n") == 1 and "Traceback" not in cost.stderr
    assert f"$PROV_COST_UNITS: cannot read the units file {path}" in cost.stderr or (
        f"$PROV_COST_UNITS: the units file {path}" in cost.stderr
    )
    # Every other command is untouched by it (the CLI reads prov cost's defaults at import).
    assert run("cost", "--help").returncode == 0
    assert run("--help").returncode == 0


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda u: {k: v for k, v in u.items() if k != "guards"}, id="missing"),
        pytest.param(lambda u: {**u, "bytes_per_wish": 1}, id="unknown"),
        pytest.param(lambda u: {**u, "lines": 0}, id="no-lines"),
        pytest.param(lambda u: {**u, "events": "many"}, id="not-a-count"),
    ],
)
def test_a_units_file_that_does_not_match_the_model_is_refused(tmp_path: Path, change: Any) -> None:
    path = tmp_path / "units.json"
    path.write_text(json.dumps({"measured": {}, "units": change(U)}))
    with pytest.raises(cost_figures.UnitsFileError, match=str(path)):
        cost_figures.load_units(path)
