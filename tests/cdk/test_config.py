"""Per-stage settings from CDK context: defaults, overrides, and one-line refusals."""

from __future__ import annotations

from typing import Any

import pytest

from cdk.config import (
    LOG_RETENTION_DAYS,
    ConfigError,
    StageConfig,
    parse_stage,
    stage_config,
)
from tests.cdk.conftest import cdk_json_context


class _Node:
    """What `stage_config` reads: CDK's `node.try_get_context`."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context

    def try_get_context(self, key: str) -> Any:
        return self.context.get(key)


def test_cdk_json_stages_are_valid() -> None:
    context = cdk_json_context()
    for stage in context["prov:stages"]:
        config = stage_config(_Node({**context, "stage": stage}))
        assert config.stage == stage


def test_defaults_are_the_documented_ones() -> None:
    config = parse_stage({"stage": "dev"})
    assert config.stream_mode == "provisioned"
    assert config.shards == 1
    assert config.architecture == "arm64"
    assert config.max_record_age_hours < config.stream_retention_hours
    assert config.event_table_name == "provenance-dev"
    assert config.metrics_namespace == "Provenance/dev"


def test_stage_defaults_to_dev_and_context_overrides_win() -> None:
    context = {
        "prov:stages": {"dev": {"batch_size": 50}},
        # Values given with -c arrive as strings.
        "prov:batch_size": "500",
        "prov:access_event_expiry_days": "never",
    }
    config = stage_config(_Node(context))
    assert config.stage == "dev"
    assert config.batch_size == 500
    assert config.access_event_expiry_days is None


def test_unknown_stage_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"no stage 'qa'.*known: dev, prod"):
        stage_config(_Node({"stage": "qa", "prov:stages": {"dev": {}, "prod": {}}}))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"batch_size": 0}, r"stage dev: batch_size: Input should be greater than or equal to 1"),
        ({"batch_size": 10_001}, r"batch_size"),
        (
            {"stream_mode": "on-demand", "shards": 2},
            r"shards: an on-demand stream scales itself",
        ),
        ({"max_record_age_hours": 168}, r"max_record_age_hours must be shorter"),
        ({"log_retention_days": 10}, r"log_retention_days must be one of"),
        ({"architecture": "sparc"}, r"architecture"),
        ({"table_class": "glacier"}, r"stage dev: table_class: Input should be 'standard'"),
        ({"alarm_email": "not an address"}, r"alarm_email"),
        ({"bacth_size": 10}, r"bacth_size: Extra inputs are not permitted"),
        ({"access_event_expiry_days": 0}, r"access_event_expiry_days"),
        ({"api_rate_limit": 100, "api_burst_limit": 50}, r"api_burst_limit must be at least"),
        ({"stage": "Prod!"}, r"stage"),
    ],
)
def test_impossible_settings_are_one_line_errors(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        parse_stage({"stage": "dev", **settings})
    assert "\n" not in str(error.value)


def test_provisioned_stream_with_shards() -> None:
    config = parse_stage({"stage": "dev", "stream_mode": "provisioned", "shards": 4})
    assert config.shards == 4


def test_a_provisioned_stream_has_one_shard_unless_told_and_on_demand_none() -> None:
    assert parse_stage({"stage": "dev", "stream_mode": "provisioned"}).shards == 1
    assert parse_stage({"stage": "dev", "shards": None}).shards == 1
    assert parse_stage({"stage": "dev", "stream_mode": "on-demand"}).shards is None


def test_every_cloudwatch_retention_maps_to_cdk() -> None:
    from cdk.functions import retention_days

    for days in LOG_RETENTION_DAYS:
        assert retention_days(days).name != "INFINITE"
    assert retention_days(365).name == "ONE_YEAR"
    assert retention_days(3653).name == "TEN_YEARS"


def test_config_is_frozen() -> None:
    config = StageConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.batch_size = 3  # type: ignore[misc]


def test_prov_cost_assumes_what_the_cdk_app_deploys() -> None:
    """`prov cost` defaults to the deployment's memory, architecture and expiry: if the CDK
    defaults change, the estimate must change with them."""
    from provenance.aws import cost_figures

    config = StageConfig()
    assert config.ingest_memory_mb == cost_figures.INGEST_MEMORY_MB
    assert config.projector_memory_mb == cost_figures.PROJECTOR_MEMORY_MB
    assert config.api_memory_mb == cost_figures.API_MEMORY_MB
    assert config.architecture == cost_figures.ARCHITECTURE
    assert config.access_event_expiry_days == cost_figures.ACCESS_EVENT_DAYS
    assert config.projector_batch_size == cost_figures.PROJECTOR_BATCH_SIZE
    assert config.stream_mode == cost_figures.STREAM_MODE
    assert config.table_class == cost_figures.TABLE_CLASS
    assert config.shards == 1  # `prov cost`'s shards of a provisioned stream, unless told


def test_prov_cost_keeps_markers_as_long_as_the_projector() -> None:
    from provenance.aws import cost_figures
    from provenance.projections import base

    assert cost_figures.MARKER_HOURS == base.MARKER_HOURS
