"""The synthesised templates, property by property: a changed setting in cdk/ fails here.

Two deployments are synthesised: cdk.json's `dev` stage (the shared `dev` fixture), and
`prod` with every setting that reaches a template overridden the way `-c prov:KEY=VALUE`
gives it (strings), so that each asserted value is seen to follow its setting rather than
being a constant that happens to match. Names of tables, keys and attributes come from
`eventstore.schema`, the module the runtime uses; handler names, metric names and
environment variables are checked against the runtime's sources.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from aws_cdk import CfnElement, Stack
from aws_cdk.assertions import Capture, Match, Template
from constructs import IConstruct

from cdk.app import Deployment
from cdk.config import ConfigError, StageConfig, parse_stage
from cdk.functions import RUNTIME_PYTHON
from cdk.store import PSEUDONYM_KEY_LENGTH
from eventstore import schema
from eventstore.url import dynamodb_location
from provenance.access.policy import AccessPolicy
from provenance.access.pseudonym_key import KEY_ENV, MIN_KEY_LENGTH
from provenance.access.rules import RETENTION_ENV
from provenance.domain.agent_registry import registry_from_text
from provenance.query.http_api import ALLOWED_METHODS, ROUTE_LIST
from tests.cdk.conftest import DASHBOARD, REPO, DeploymentFactory, cdk_json_context

# Every setting that reaches a template, changed from its default and from cdk.json's prod,
# as strings (what `-c prov:KEY=VALUE` passes).
CHANGED = {
    "stream_mode": "on-demand",
    "stream_retention_hours": "48",
    "batch_size": "500",
    "batch_window_seconds": "30",
    "retry_attempts": "3",
    "max_record_age_hours": "12",
    "parallelization_factor": "4",
    "projector_batch_size": "50",
    "projector_retry_attempts": "4",
    "access_event_expiry_days": "never",
    "alarm_email": "preservation-ops@example.edu",
    "iterator_age_alarm_minutes": "7",
    "organization": "Stanford University Libraries",
    "endpoints": ["aws_s3_west_2", "aws_s3_east_1", "gcp_s3_south_1"],
    "log_time_zone": "America/New_York",
    "architecture": "x86_64",
    "ingest_memory_mb": "2048",
    "projector_memory_mb": "256",
    "api_memory_mb": "768",
    "log_retention_days": "90",
    "api_rate_limit": "20",
    "api_burst_limit": "40",
    "table_name": "sdr-provenance-events",
    "table_class": "standard-ia",
    "agents_file": str(REPO / "tests" / "cdk" / "agents.toml"),
    # What the dashboard builds: tests/cdk/test_dashboard.py.
    "dashboard": json.dumps(DASHBOARD),
}

RUNTIME_SOURCES = ("handlers", "provenance", "eventstore")
ROUTE_KEYS = {
    f"{method} {path}"
    for method in ("GET", "HEAD")
    for path in (
        "/objects",
        "/objects/{druid}/events",
        "/objects/{druid}/state",
        "/objects/{druid}/premis",
        "/reports/access",
        "/reports/fleet",
    )
}
# One entry per function: its handler string, its POWERTOOLS_SERVICE_NAME, its timeout (s).
FUNCTIONS = {
    "ingest": ("handlers.ingest.handler", "prov-ingest", 300),
    "projector": ("handlers.projector.handler", "prov-projector", 120),
    # Below API Gateway's 30-second integration limit, so the function's own timeout answers.
    "api": ("handlers.api.handler", "prov-api", 29),
}
FUNCTION_ENVIRONMENT = {
    "ingest": {"PROV_STORE", "PROV_TZ", "PROV_ACCESS_EVENT_DAYS", "PROV_PSEUDONYM_KEY_SECRET"},
    "projector": {"PROV_STORE"},
    "api": {"PROV_STORE"},
}
POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
FAILURE_QUEUE_RETENTION = 14 * 24 * 3600  # SQS's longest


# -- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def changed(make_deployment: DeploymentFactory) -> Deployment:
    return make_deployment("prod", **CHANGED)


@pytest.fixture(scope="module")
def changed_pipeline(changed: Deployment) -> Template:
    return Template.from_stack(changed.pipeline)


@pytest.fixture(scope="module")
def changed_store(changed: Deployment) -> Template:
    return Template.from_stack(changed.store)


def test_the_changed_deployment_changes_every_setting(changed: Deployment) -> None:
    """So that a new setting cannot reach the templates untested (add it to CHANGED, then
    assert what it changes), and no value of CHANGED is one prod has anyway."""
    # `shards` has its own test: an on-demand stream (CHANGED's) has none.
    assert set(CHANGED) == set(StageConfig.model_fields) - {"stage", "shards"}
    prod = parse_stage({"stage": "prod", **cdk_json_context()["prov:stages"]["prod"]})
    for key in CHANGED:
        assert getattr(changed.config, key) != getattr(prod, key), key


def test_the_dashboard_setting_adds_the_dashboard(
    changed_pipeline: Template, pipeline_template: Template
) -> None:
    changed_pipeline.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 1)
    changed_pipeline.resource_count_is("AWS::Cognito::UserPool", 1)
    pipeline_template.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 0)


def logical_id(construct: IConstruct) -> str:
    """The logical id of an L2 construct's CloudFormation resource (or of an L1 itself)."""
    element = cast(CfnElement, construct.node.default_child or construct)
    stack = Stack.of(construct)
    return cast(str, stack.resolve(stack.get_logical_id(element)))


def function_ids(deployment: Deployment) -> dict[str, str]:
    pipeline = deployment.pipeline
    return {
        "ingest": logical_id(pipeline.ingest.handler.function),
        "projector": logical_id(pipeline.projector.handler.function),
        "api": logical_id(pipeline.query_api.handler.function),
    }


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return cast(dict[str, dict[str, Any]], template.find_resources(kind))


def properties(template: Template, resource_id: str) -> dict[str, Any]:
    return cast(dict[str, Any], template.to_json()["Resources"][resource_id]["Properties"])


def exported(store: Template, value: Mapping[str, Any]) -> Any:
    """What an `Fn::ImportValue` of the pipeline stack stands for in the store stack."""
    name = value["Fn::ImportValue"]
    for output in store.to_json()["Outputs"].values():
        if output.get("Export", {}).get("Name") == name:
            return output["Value"]
    raise AssertionError(f"the store stack exports no {name}")


def joined(value: Any) -> str:
    """An `Fn::Join` as text, its tokens (references) replaced by `<token>`."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    return cast(str, separator).join(part if isinstance(part, str) else "<token>" for part in parts)


def statements(template: Template, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for resource_id, resource in resources(template, kind).items():
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            yield resource_id, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def dashboard_metrics(template: Template) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, dimensions) of every graph of the one dashboard."""
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(joined(dashboard["Properties"]["DashboardBody"]))
    found = []
    for widget in body["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            names = [part for part in metric if isinstance(part, str)]
            namespace, name, *pairs = names
            found.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return found


def string_literals(*packages: str) -> set[str]:
    """Every string constant in the code of `packages` (docstrings and comments are not
    enough: a name only mentioned is not read)."""
    found: set[str] = set()
    for package in packages:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(node.value)
    return found


# -- the event table and the pseudonym key (store stack) ----------------------------------------


def test_table_keys_and_index_are_the_schema(store_template: Template) -> None:
    store_template.resource_count_is("AWS::DynamoDB::Table", 1)
    (table,) = resources(store_template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": schema.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": schema.SORT_KEY, "KeyType": "RANGE"},
    ]
    # Exactly the key attributes: DynamoDB refuses a definition no key or index uses.
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        [
            {"AttributeName": schema.PARTITION_KEY, "AttributeType": schema.KEY_TYPE},
            {"AttributeName": schema.SORT_KEY, "AttributeType": schema.KEY_TYPE},
            {"AttributeName": schema.FEED_PARTITION_KEY, "AttributeType": schema.FEED_KEY_TYPE},
            {"AttributeName": schema.FEED_SORT_KEY, "AttributeType": schema.FEED_KEY_TYPE},
        ],
        key=lambda a: a["AttributeName"],
    )
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": schema.FEED_INDEX,
            "KeySchema": [
                {"AttributeName": schema.FEED_PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": schema.FEED_SORT_KEY, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert "LocalSecondaryIndexes" not in props


def test_table_is_on_demand_recoverable_encrypted_and_streamed(store_template: Template) -> None:
    store_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "provenance-dev",
            "BillingMode": "PAY_PER_REQUEST",
            "ProvisionedThroughput": Match.absent(),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            # KMS with the AWS-managed key (aws/dynamodb): no key id, no customer key.
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": Match.absent(),
                "KMSMasterKeyId": Match.absent(),
            },
            "StreamSpecification": {"StreamViewType": schema.STREAM_VIEW_TYPE},
            "DeletionProtectionEnabled": True,
        },
    )


def test_table_class_is_the_configured_one(
    store_template: Template, changed_store: Template
) -> None:
    # Written out even for the default, so that the template says which prices apply.
    store_template.has_resource_properties("AWS::DynamoDB::Table", {"TableClass": "STANDARD"})
    changed_store.has_resource_properties(
        "AWS::DynamoDB::Table", {"TableClass": "STANDARD_INFREQUENT_ACCESS"}
    )


def test_table_ttl_is_on_whatever_the_access_policy(
    store_template: Template, changed_store: Template
) -> None:
    # The TTL deletes only items carrying the attribute: applied-markers always, access
    # events only where the policy lets them expire (the ingest function's
    # PROV_ACCESS_EVENT_DAYS, checked in test_environment_values_are_what_the_runtime_accepts).
    for template in (store_template, changed_store):
        template.has_resource_properties(
            "AWS::DynamoDB::Table",
            {"TimeToLiveSpecification": {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}},
        )


def test_the_record_is_retained_and_protected(dev: Deployment, store_template: Template) -> None:
    for kind in ("AWS::DynamoDB::Table", "AWS::SecretsManager::Secret"):
        store_template.has_resource(
            kind, {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
        )
    assert dev.store.termination_protection is True


def test_pseudonym_key_is_generated_and_long_enough(store_template: Template) -> None:
    store_template.resource_count_is("AWS::SecretsManager::Secret", 1)
    store_template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "GenerateSecretString": {
                "PasswordLength": PSEUDONYM_KEY_LENGTH,
                # The secret string is the bare key (the ingest handler reads it as stored),
                # not a JSON document with the key under some field.
                "SecretStringTemplate": Match.absent(),
                "GenerateStringKey": Match.absent(),
            },
            "SecretString": Match.absent(),
        },
    )
    assert PSEUDONYM_KEY_LENGTH >= MIN_KEY_LENGTH


def test_store_outputs(store_template: Template) -> None:
    (table_id,) = resources(store_template, "AWS::DynamoDB::Table")
    store_template.has_output("TableName", {"Value": {"Ref": table_id}})
    (secret_id,) = resources(store_template, "AWS::SecretsManager::Secret")
    store_template.has_output("PseudonymKeySecretArn", {"Value": {"Ref": secret_id}})
    url = joined(store_template.to_json()["Outputs"]["StoreUrl"]["Value"])
    assert url == "dynamodb://provenance-dev?region=<token>"


# -- Kinesis ------------------------------------------------------------------------------------


def test_stream_is_one_provisioned_shard_encrypted_with_retention_from_config(
    dev: Deployment, pipeline_template: Template
) -> None:
    pipeline_template.resource_count_is("AWS::Kinesis::Stream", 1)
    pipeline_template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
            "ShardCount": 1,
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
            "RetentionPeriodHours": dev.config.stream_retention_hours,
        },
    )
    # Explicit encryption: CDK's default is a region condition, not a setting.
    assert "Conditions" not in pipeline_template.to_json()


def test_the_pipeline_stack_can_be_torn_down(pipeline_template: Template) -> None:
    """Nothing in it is the record: a retained stream would go on costing after a teardown.
    What outlives it is operational logs (and, while CDK retains keys by default, a key)."""
    pipeline_template.has_resource("AWS::Kinesis::Stream", {"DeletionPolicy": "Delete"})
    retained = {
        resource["Type"]
        for resource in pipeline_template.to_json()["Resources"].values()
        if resource.get("DeletionPolicy", "Delete") != "Delete"
    }
    assert retained <= {"AWS::Logs::LogGroup", "AWS::KMS::Key"}


def test_on_demand_stream_has_no_shard_count(changed_pipeline: Template) -> None:
    changed_pipeline.has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
            "ShardCount": Match.absent(),
            "RetentionPeriodHours": 48,
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
        },
    )


def test_provisioned_stream_has_the_configured_shards(make_deployment: DeploymentFactory) -> None:
    template = Template.from_stack(make_deployment("dev", shards="3").pipeline)
    template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {"StreamModeDetails": {"StreamMode": "PROVISIONED"}, "ShardCount": 3},
    )


def test_a_bad_agents_file_is_refused_in_one_line_before_anything_is_built(
    make_deployment: DeploymentFactory, tmp_path: Path
) -> None:
    agents = tmp_path / "agents.toml"
    agents.write_text("[agents.a]\ntype = 'robot'\n")
    with pytest.raises(ConfigError) as refused:
        make_deployment("dev", agents_file=str(agents))
    assert str(refused.value) == (
        f"stage dev: agents_file {agents}: agents.a.type must be one of software, organization, "
        "person, hardware"
    )
    with pytest.raises(ConfigError, match=r"^stage dev: agents_file \S+: cannot read it: No such"):
        make_deployment("dev", agents_file=str(tmp_path / "absent.toml"))


def test_an_agents_file_past_lambdas_4_kb_of_environment_is_refused_in_one_line(
    make_deployment: DeploymentFactory, tmp_path: Path
) -> None:
    agents = tmp_path / "agents.toml"
    aliases = ", ".join(f'"catalog-{n}"' for n in range(320))
    agents.write_text(f"[agents.preservation_catalog]\naliases = [{aliases}]\n")
    with pytest.raises(ConfigError) as refused:
        make_deployment("dev", agents_file=str(agents))
    message = str(refused.value)
    assert message.startswith("stage dev: the environment of handlers.api.handler would be ")
    assert message.endswith(
        f"bytes, over Lambda's 4 KB (4,096); its largest variable, PROV_AGENTS_TOML, is "
        f"{agents.stat().st_size:,}"
    )


def test_on_demand_stream_with_shards_is_refused_in_one_line(
    make_deployment: DeploymentFactory,
) -> None:
    with pytest.raises(ConfigError) as refused:
        make_deployment("dev", stream_mode="on-demand", shards="2")
    message = str(refused.value)
    assert "shards" in message
    assert "\n" not in message


# -- the ingest event source mapping ------------------------------------------------------------


def ingest_mapping(deployment: Deployment, template: Template) -> dict[str, Any]:
    stream_id = logical_id(deployment.pipeline.ingest.stream)
    found = template.find_resources(
        "AWS::Lambda::EventSourceMapping",
        {"Properties": {"EventSourceArn": {"Fn::GetAtt": [stream_id, "Arn"]}}},
    )
    assert len(found) == 1, found
    return cast(dict[str, Any], next(iter(found.values()))["Properties"])


def test_ingest_mapping_never_blocks_a_shard(dev: Deployment, pipeline_template: Template) -> None:
    config = dev.config
    destination = Capture()
    pipeline_template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [logical_id(dev.pipeline.ingest.stream), "Arn"]},
            "FunctionName": {"Ref": function_ids(dev)["ingest"]},
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": config.batch_size,
            "MaximumBatchingWindowInSeconds": config.batch_window_seconds,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": config.retry_attempts,
            "MaximumRecordAgeInSeconds": config.max_record_age_hours * 3600,
            "ParallelizationFactor": config.parallelization_factor,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {
                "OnFailure": {"Destination": {"Fn::GetAtt": [destination, "Arn"]}}
            },
        },
    )
    assert destination.as_string() == logical_id(dev.pipeline.ingest.failures)
    mapping = ingest_mapping(dev, pipeline_template)
    # Finite, and records given up on can still be read again from the stream.
    assert mapping["MaximumRetryAttempts"] >= 0
    assert 0 < mapping["MaximumRecordAgeInSeconds"] < config.stream_retention_hours * 3600


def test_ingest_mapping_follows_its_settings(
    changed: Deployment, changed_pipeline: Template
) -> None:
    mapping = ingest_mapping(changed, changed_pipeline)
    assert {
        key: mapping[key]
        for key in (
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds",
            "ParallelizationFactor",
        )
    } == {
        "BatchSize": 500,
        "MaximumBatchingWindowInSeconds": 30,
        "MaximumRetryAttempts": 3,
        "MaximumRecordAgeInSeconds": 12 * 3600,
        "ParallelizationFactor": 4,
    }


# -- failure queues -----------------------------------------------------------------------------


def failure_queues(deployment: Deployment) -> dict[str, str]:
    pipeline = deployment.pipeline
    return {
        "Ingest": logical_id(pipeline.ingest.failures),
        "Projector": logical_id(pipeline.projector.failures),
    }


def test_failure_queues_are_encrypted_tls_only_and_kept_two_weeks(
    dev: Deployment, pipeline_template: Template
) -> None:
    queues = failure_queues(dev)
    pipeline_template.resource_count_is("AWS::SQS::Queue", 2)
    for queue_id in queues.values():
        settings = properties(pipeline_template, queue_id)
        settings.pop("Tags", None)
        # SQS-managed encryption, and nothing else (no visibility or delay tuning to review).
        assert settings == {
            "SqsManagedSseEnabled": True,
            "MessageRetentionPeriod": FAILURE_QUEUE_RETENTION,
        }
        pipeline_template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": queue_id}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "sqs:*",
                                    "Principal": {"AWS": "*"},
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                    "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
                                }
                            )
                        ]
                    )
                },
            },
        )


def test_each_failure_queue_raises_an_alarm_to_the_topic(
    dev: Deployment, pipeline_template: Template
) -> None:
    topic_id = logical_id(dev.pipeline.monitoring.topic)
    for name, queue_id in failure_queues(dev).items():
        alarm_id = logical_id(dev.pipeline.monitoring.alarms[f"{name}FailureQueue"])
        props = properties(pipeline_template, alarm_id)
        assert props["Namespace"] == "AWS/SQS"
        assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert props["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
        ]
        assert props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["AlarmActions"] == [{"Ref": topic_id}]


def test_each_function_may_send_to_its_own_failure_queue(
    dev: Deployment, pipeline_template: Template
) -> None:
    """Lambda sends on-failure records with the function's role: without the grant, records
    given up on would be lost instead of reported."""
    roles = {
        "Ingest": logical_id(dev.pipeline.ingest.handler.role),
        "Projector": logical_id(dev.pipeline.projector.handler.role),
    }
    for name, queue_id in failure_queues(dev).items():
        senders = {
            resource_id
            for resource_id, statement in statements(pipeline_template, "AWS::IAM::Policy")
            if "sqs:SendMessage" in as_list(statement["Action"])
            and statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        }
        assert len(senders) == 1
        (policy,) = senders
        assert properties(pipeline_template, policy)["Roles"] == [{"Ref": roles[name]}]


# -- the functions ------------------------------------------------------------------------------


def test_exactly_the_three_functions_and_no_helper_functions(pipeline_template: Template) -> None:
    # No custom-resource providers (log retention, bucket deployment) with roles of their own.
    pipeline_template.resource_count_is("AWS::Lambda::Function", 3)
    pipeline_template.resource_count_is("Custom::LogRetention", 0)
    handlers = {
        props["Properties"]["Handler"]
        for props in resources(pipeline_template, "AWS::Lambda::Function").values()
    }
    assert handlers == {handler for handler, _, _ in FUNCTIONS.values()}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_strings_name_real_handlers(name: str) -> None:
    handler, _, _ = FUNCTIONS[name]
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name)
    function = getattr(module, function_name)
    assert callable(function)
    assert len(inspect.signature(function).parameters) == 2  # (event, context)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_runtime_code_memory_timeout(
    name: str, dev: Deployment, pipeline_template: Template
) -> None:
    handler, _, timeout = FUNCTIONS[name]
    memory = {
        "ingest": dev.config.ingest_memory_mb,
        "projector": dev.config.projector_memory_mb,
        "api": dev.config.api_memory_mb,
    }[name]
    layer_id = next(iter(resources(pipeline_template, "AWS::Lambda::LayerVersion")))
    pipeline_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": handler,
            "Runtime": "python3.12",
            "Architectures": [dev.config.architecture],
            "MemorySize": memory,
            "Timeout": timeout,
            "Layers": [{"Ref": layer_id}],
        },
    )
    # The wheels in the layer are chosen for this Python (cdk.bundling).
    assert f"python{RUNTIME_PYTHON}" == "python3.12"


def test_one_layer_for_the_runtime_and_architecture(
    dev: Deployment, pipeline_template: Template, changed_pipeline: Template
) -> None:
    pipeline_template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    pipeline_template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["arm64"]},
    )
    changed_pipeline.has_resource_properties(
        "AWS::Lambda::LayerVersion", {"CompatibleArchitectures": ["x86_64"]}
    )
    assert dev.config.architecture == "arm64"  # the default, kept by cdk.json's dev


def test_functions_follow_architecture_and_memory_settings(
    changed: Deployment, changed_pipeline: Template
) -> None:
    ids = function_ids(changed)
    settings = {
        key: (props["Architectures"], props["MemorySize"])
        for key, props in ((k, properties(changed_pipeline, ids[k])) for k in FUNCTIONS)
    }
    assert settings == {
        "ingest": (["x86_64"], 2048),
        "projector": (["x86_64"], 256),
        "api": (["x86_64"], 768),
    }


def environments(deployment: Deployment, template: Template) -> dict[str, dict[str, Any]]:
    ids = function_ids(deployment)
    return {
        name: cast(dict[str, Any], properties(template, ids[name])["Environment"]["Variables"])
        for name in FUNCTIONS
    }


def test_function_environments(
    dev: Deployment, store_template: Template, pipeline_template: Template
) -> None:
    found = environments(dev, pipeline_template)
    for name, (_, service, _) in FUNCTIONS.items():
        variables = found[name]
        assert set(variables) == FUNCTION_ENVIRONMENT[name] | POWERTOOLS_ENVIRONMENT, name
        assert variables["PROV_STORE"] == "dynamodb://provenance-dev"
        assert variables["POWERTOOLS_SERVICE_NAME"] == service
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Provenance/dev"
        assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"
    ingest = found["ingest"]
    assert ingest["PROV_TZ"] == "UTC"
    assert ingest["PROV_ACCESS_EVENT_DAYS"] == "30"
    # The secret's ARN (its Ref), exported by the store stack: the key itself is never here.
    (secret_id,) = resources(store_template, "AWS::SecretsManager::Secret")
    assert exported(store_template, ingest["PROV_PSEUDONYM_KEY_SECRET"]) == {"Ref": secret_id}


def test_function_environments_follow_settings(
    changed: Deployment, changed_pipeline: Template
) -> None:
    found = environments(changed, changed_pipeline)
    for name in FUNCTIONS:
        assert found[name]["PROV_STORE"] == f"dynamodb://{CHANGED['table_name']}"
        assert found[name]["POWERTOOLS_METRICS_NAMESPACE"] == "Provenance/prod"
    assert found["ingest"]["PROV_TZ"] == "America/New_York"
    assert found["ingest"]["PROV_ACCESS_EVENT_DAYS"] == "never"
    # The organisation names the PREMIS agent, which only the query API writes.
    assert found["api"]["PROV_ORGANIZATION"] == CHANGED["organization"]
    assert "PROV_ORGANIZATION" not in found["ingest"]
    assert "PROV_ORGANIZATION" not in found["projector"]
    # So do the agents: the file's text, since the function has no file of the deployer's.
    assert found["api"]["PROV_AGENTS_TOML"] == Path(CHANGED["agents_file"]).read_text()
    assert "PROV_AGENTS_TOML" not in found["ingest"]
    assert "PROV_AGENTS_TOML" not in found["projector"]
    # The endpoints every version belongs on: the fleet's replication gaps, which the API lists.
    assert found["api"]["PROV_ENDPOINTS"] == "aws_s3_west_2,aws_s3_east_1,gcp_s3_south_1"
    assert "PROV_ENDPOINTS" not in found["ingest"]


def test_environment_values_are_what_the_runtime_accepts(
    dev: Deployment,
    changed: Deployment,
    store_template: Template,
    pipeline_template: Template,
    changed_store: Template,
    changed_pipeline: Template,
    tmp_path: Path,
) -> None:
    """The values the template sets, parsed by the runtime's own code, mean what the store
    stack built: the functions open its table, and access events expire exactly when (and
    only when) the table has a TTL."""
    for deployment, store, pipeline in (
        (dev, store_template, pipeline_template),
        (changed, changed_store, changed_pipeline),
    ):
        (table,) = resources(store, "AWS::DynamoDB::Table").values()
        found = environments(deployment, pipeline)
        for variables in found.values():
            location = dynamodb_location(variables["PROV_STORE"])
            assert location["table"] == table["Properties"]["TableName"]
        ingest = found["ingest"]
        ZoneInfo(ingest["PROV_TZ"])
        policy = AccessPolicy.load(
            environ={
                RETENTION_ENV: ingest[RETENTION_ENV],
                # What the handler adds from the secret (a key of the generated length).
                KEY_ENV: "k" * PSEUDONYM_KEY_LENGTH,
                "XDG_CONFIG_HOME": str(tmp_path),
            },
            allow_default_key=False,
        )
        assert policy.retention_days == deployment.config.access_event_expiry_days
        if deployment.config.agents_file is not None:
            agents = registry_from_text(found["api"]["PROV_AGENTS_TOML"], "PROV_AGENTS_TOML")
            assert agents.resolve("pres-cat", "software").name == "SDR Preservation Catalog"


def test_every_environment_variable_is_read_by_the_runtime(
    dev: Deployment, changed: Deployment, pipeline_template: Template, changed_pipeline: Template
) -> None:
    """A variable renamed on one side only would be set and ignored: each PROV_* name must be
    a string in the runtime's code, each POWERTOOLS_* one there or among Powertools' own."""
    from aws_lambda_powertools.shared import constants as powertools

    literals = string_literals(*RUNTIME_SOURCES)
    powertools_reads = {value for value in vars(powertools).values() if isinstance(value, str)}
    names = {
        name
        for deployment, template in ((dev, pipeline_template), (changed, changed_pipeline))
        for variables in environments(deployment, template).values()
        for name in variables
    }
    assert {name for name in names if name.startswith("PROV_")} <= literals
    powertools_names = {name for name in names if name.startswith("POWERTOOLS_")}
    assert powertools_names <= literals | powertools_reads
    assert names == {name for name in names if name.startswith(("PROV_", "POWERTOOLS_"))}, (
        "a variable of neither family"
    )


def test_each_function_logs_to_its_own_group_with_the_configured_retention(
    dev: Deployment, changed: Deployment, pipeline_template: Template, changed_pipeline: Template
) -> None:
    for deployment, template, days in (
        (dev, pipeline_template, 30),
        (changed, changed_pipeline, 90),
    ):
        ids = function_ids(deployment)
        groups = {
            name: properties(template, ids[name])["LoggingConfig"]["LogGroup"]["Ref"]
            for name in FUNCTIONS
        }
        assert len(set(groups.values())) == 3
        for group in groups.values():
            assert properties(template, group)["RetentionInDays"] == days
        # Every log group of the stack, the API's access logs included, has a retention.
        for group in resources(template, "AWS::Logs::LogGroup").values():
            assert group["Properties"]["RetentionInDays"] == days
    assert dev.config.log_retention_days == 30


def test_each_function_has_its_own_lambda_only_role_without_managed_policies(
    dev: Deployment, pipeline_template: Template
) -> None:
    ids = function_ids(dev)
    roles = {
        name: properties(pipeline_template, ids[name])["Role"]["Fn::GetAtt"][0]
        for name in FUNCTIONS
    }
    assert len(set(roles.values())) == 3
    for role_id in roles.values():
        role = properties(pipeline_template, role_id)
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ]
        assert "ManagedPolicyArns" not in role
        assert "Policies" not in role
    # A role's own inline policy is attached to it alone; its log rights are on its own group.
    for name, role_id in roles.items():
        group = properties(pipeline_template, ids[name])["LoggingConfig"]["LogGroup"]["Ref"]
        policies = template_policies_of(pipeline_template, role_id)
        assert len(policies) == 1
        log_statements = [
            statement
            for statement in policies[0]["PolicyDocument"]["Statement"]
            if any(action.startswith("logs:") for action in as_list(statement["Action"]))
        ]
        assert log_statements == [
            {
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [group, "Arn"]},
            }
        ]


def template_policies_of(template: Template, role_id: str) -> list[dict[str, Any]]:
    found = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        attached = policy["Properties"]["Roles"]
        if {"Ref": role_id} in attached:
            assert attached == [{"Ref": role_id}]
            found.append(policy["Properties"])
    return found


def test_the_query_api_function_only_reads_the_table(
    dev: Deployment, pipeline_template: Template
) -> None:
    role_id = logical_id(dev.pipeline.query_api.handler.role)
    (policy,) = template_policies_of(pipeline_template, role_id)
    actions = {
        action
        for statement in policy["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
    }
    table_actions = {a.removeprefix("dynamodb:") for a in actions if a.startswith("dynamodb:")}
    # Which reads it needs is tests/cdk/test_permissions.py's business: here, only reads.
    assert table_actions
    assert table_actions <= {"GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable"}
    assert {a.split(":")[0] for a in actions} == {"dynamodb", "logs"}


def test_no_identity_policy_has_wildcards_beyond_list_streams(pipeline_template: Template) -> None:
    """cdk-nag's acknowledgement of `Resource::*` on the projector's role would also hide a
    new `*` on that role: this test does not."""
    wildcards = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for resource_id, statement in statements(pipeline_template, kind):
            assert statement["Effect"] == "Allow"
            assert not any("*" in action for action in as_list(statement["Action"])), statement
            if "*" in as_list(statement["Resource"]):
                wildcards.append((resource_id, statement["Action"]))
    assert len(wildcards) == 1
    ((_, action),) = wildcards
    # ListStreams has no resource-level permissions (added by the DynamoDB event source).
    assert action == "dynamodb:ListStreams"


# -- the projector's event source mapping -------------------------------------------------------


def projector_mapping(deployment: Deployment, template: Template) -> dict[str, Any]:
    found = template.find_resources(
        "AWS::Lambda::EventSourceMapping",
        {"Properties": {"FunctionName": {"Ref": function_ids(deployment)["projector"]}}},
    )
    assert len(found) == 1, found
    return cast(dict[str, Any], next(iter(found.values()))["Properties"])


def test_projector_reads_the_table_stream_with_bounded_retries(
    dev: Deployment, store_template: Template, pipeline_template: Template
) -> None:
    pipeline_template.resource_count_is("AWS::Lambda::EventSourceMapping", 2)
    mapping = projector_mapping(dev, pipeline_template)
    (table_id,) = resources(store_template, "AWS::DynamoDB::Table")
    assert exported(store_template, mapping["EventSourceArn"]) == {
        "Fn::GetAtt": [table_id, "StreamArn"]
    }
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == dev.config.projector_batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == dev.config.projector_retry_attempts
    assert 0 <= mapping["MaximumRetryAttempts"] <= 10_000
    # The table's stream keeps records 24 hours: older ones are gone anyway.
    assert mapping["MaximumRecordAgeInSeconds"] == 86400
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [failure_queues(dev)["Projector"], "Arn"]}}
    }


def test_projector_sees_only_event_items(dev: Deployment, pipeline_template: Template) -> None:
    """Inserted and expired events; not the projection rows the projector itself writes."""
    (criteria,) = projector_mapping(dev, pipeline_template)["FilterCriteria"]["Filters"]
    assert json.loads(criteria["Pattern"]) == {
        "eventName": ["INSERT", "REMOVE"],
        "dynamodb": {
            "Keys": {schema.PARTITION_KEY: {schema.KEY_TYPE: [{"prefix": schema.EVENT_PREFIX}]}}
        },
    }
    # The prefix tells events from every other kind of item of the table.
    others = (
        schema.EVENT_ID_PREFIX,
        schema.PROJECTION_PREFIX,
        schema.STREAM_NAME_PREFIX,
        schema.COUNTER_KEY,
    )
    assert not any(other.startswith(schema.EVENT_PREFIX) for other in others)


def test_projector_mapping_follows_its_settings(
    changed: Deployment, changed_pipeline: Template
) -> None:
    mapping = projector_mapping(changed, changed_pipeline)
    assert (mapping["BatchSize"], mapping["MaximumRetryAttempts"]) == (50, 4)


# -- the query API ------------------------------------------------------------------------------


def api_ids(deployment: Deployment) -> tuple[str, str]:
    """The HTTP API's and the api function's logical ids."""
    return logical_id(deployment.pipeline.query_api.api), function_ids(deployment)["api"]


def test_http_api_has_exactly_the_iam_routes_for_get_and_head(
    dev: Deployment, pipeline_template: Template
) -> None:
    api_id, function_id = api_ids(dev)
    pipeline_template.resource_count_is("AWS::ApiGatewayV2::Api", 1)
    pipeline_template.has_resource_properties("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"})
    routes = resources(pipeline_template, "AWS::ApiGatewayV2::Route")
    assert {route["Properties"]["RouteKey"] for route in routes.values()} == ROUTE_KEYS
    assert len(routes) == len(ROUTE_KEYS)  # and no `$default` catch-all
    for route in routes.values():
        props = route["Properties"]
        assert props["ApiId"] == {"Ref": api_id}
        assert props["AuthorizationType"] == "AWS_IAM"
        target = props["Target"]["Fn::Join"][1]
        assert target[0] == "integrations/"
        integration = properties(pipeline_template, target[1]["Ref"])
        assert integration == {
            "ApiId": {"Ref": api_id},
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": {"Fn::GetAtt": [function_id, "Arn"]},
            "PayloadFormatVersion": "2.0",
        }
    # API Gateway may invoke the function, and nothing else is allowed to.
    for permission in resources(pipeline_template, "AWS::Lambda::Permission").values():
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
        assert permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_api_routes_are_the_routes_the_runtime_serves() -> None:
    served = {
        f"{method} {path}"
        for method in ALLOWED_METHODS.split(", ")
        for path in ROUTE_LIST.split(", ")
    }
    assert served == ROUTE_KEYS


def test_api_stage_is_throttled_and_logs_each_request_as_json(
    dev: Deployment, changed: Deployment, pipeline_template: Template, changed_pipeline: Template
) -> None:
    for deployment, template, (rate, burst) in (
        (dev, pipeline_template, (dev.config.api_rate_limit, dev.config.api_burst_limit)),
        (changed, changed_pipeline, (20, 40)),
    ):
        api_id, _ = api_ids(deployment)
        template.resource_count_is("AWS::ApiGatewayV2::Stage", 1)
        access_logs = Capture()
        log_format = Capture()
        template.has_resource_properties(
            "AWS::ApiGatewayV2::Stage",
            {
                "ApiId": {"Ref": api_id},
                "StageName": "$default",
                "AutoDeploy": True,
                "DefaultRouteSettings": {
                    "ThrottlingRateLimit": rate,
                    "ThrottlingBurstLimit": burst,
                },
                "AccessLogSettings": {
                    "DestinationArn": {"Fn::GetAtt": [access_logs, "Arn"]},
                    "Format": log_format,
                },
            },
        )
        assert access_logs.as_string() == logical_id(deployment.pipeline.query_api.access_logs)
        fields = json.loads(log_format.as_string())
        assert fields["requestId"] == "$context.requestId"
        assert {"caller", "routeKey", "status"} <= set(fields)


def test_reader_policy_allows_invoking_the_routes_by_get_and_head_only(
    dev: Deployment, pipeline_template: Template
) -> None:
    api_id, _ = api_ids(dev)
    policy = properties(pipeline_template, logical_id(dev.pipeline.query_api.reader_policy))
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "execute-api:Invoke")
    resources_ = statement["Resource"]
    assert all({"Ref": api_id} in arn["Fn::Join"][1] for arn in resources_)
    assert {joined(arn).rpartition(":")[2] for arn in resources_} == {
        f"<token>/$default/{method}{path}"
        for method in ("GET", "HEAD")
        for path in (
            "/objects",
            "/objects/*/events",
            "/objects/*/state",
            "/objects/*/premis",
            "/reports/access",
            "/reports/fleet",
        )
    }
    assert all(joined(arn).startswith("arn:<token>:execute-api:") for arn in resources_)


# -- monitoring ---------------------------------------------------------------------------------


def test_alarm_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(
    dev: Deployment, pipeline_template: Template
) -> None:
    monitoring = dev.pipeline.monitoring
    topic_id = logical_id(monitoring.topic)
    pipeline_template.resource_count_is("AWS::SNS::Topic", 1)
    pipeline_template.resource_count_is("AWS::KMS::Key", 1)
    key_id = next(iter(resources(pipeline_template, "AWS::KMS::Key")))
    assert properties(pipeline_template, topic_id)["KmsMasterKeyId"] == {
        "Fn::GetAtt": [key_id, "Arn"]
    }
    key = properties(pipeline_template, key_id)
    assert key["EnableKeyRotation"] is True
    cloudwatch = [
        statement
        for statement in key["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(cloudwatch) == 1
    assert cloudwatch[0]["Effect"] == "Allow"
    assert set(as_list(cloudwatch[0]["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    pipeline_template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sns:Publish",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                "Resource": {"Ref": topic_id},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_email_subscription_only_with_an_alarm_address(
    pipeline_template: Template, changed: Deployment, changed_pipeline: Template
) -> None:
    pipeline_template.resource_count_is("AWS::SNS::Subscription", 0)
    changed_pipeline.resource_count_is("AWS::SNS::Subscription", 1)
    changed_pipeline.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": CHANGED["alarm_email"],
            "TopicArn": {"Ref": logical_id(changed.pipeline.monitoring.topic)},
        },
    )


# Alarm (construct id in cdk/monitoring.py) -> (namespace, metric); dimensions checked below.
ALARMS = {
    "IngestIteratorAge": ("AWS/Lambda", "IteratorAge"),
    "ProjectorIteratorAge": ("AWS/Lambda", "IteratorAge"),
    "IngestErrors": ("AWS/Lambda", "Errors"),
    "ProjectorErrors": ("AWS/Lambda", "Errors"),
    "ApiErrors": ("AWS/Lambda", "Errors"),
    "IngestThrottles": ("AWS/Lambda", "Throttles"),
    "ProjectorThrottles": ("AWS/Lambda", "Throttles"),
    "ApiThrottles": ("AWS/Lambda", "Throttles"),
    "TableThrottles": ("AWS/DynamoDB", "(ReadThrottleEvents|WriteThrottleEvents)"),
    "StreamWriteThrottles": ("AWS/Kinesis", "WriteProvisionedThroughputExceeded"),
    "IngestFailureQueue": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "ProjectorFailureQueue": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "ApiServerErrors": ("AWS/ApiGateway", "5xx"),
}


def alarm_metrics(props: Mapping[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(namespace, metric, dimensions) an alarm watches: its metric, or its math's inputs."""
    if "MetricName" in props:
        return [(props["Namespace"], props["MetricName"], props["Dimensions"])]
    return [
        (
            query["MetricStat"]["Metric"]["Namespace"],
            query["MetricStat"]["Metric"]["MetricName"],
            query["MetricStat"]["Metric"]["Dimensions"],
        )
        for query in props["Metrics"]
        if "MetricStat" in query
    ]


def test_every_alarm_watches_its_resource_and_notifies_the_topic(
    dev: Deployment, store_template: Template, pipeline_template: Template
) -> None:
    pipeline = dev.pipeline
    alarms = pipeline.monitoring.alarms
    pipeline_template.resource_count_is("AWS::CloudWatch::Alarm", len(ALARMS))
    topic = {"Ref": logical_id(pipeline.monitoring.topic)}
    functions = function_ids(dev)
    (table_id,) = resources(store_template, "AWS::DynamoDB::Table")
    queues = failure_queues(dev)
    watched = {
        "Ingest": [{"Name": "FunctionName", "Value": {"Ref": functions["ingest"]}}],
        "Projector": [{"Name": "FunctionName", "Value": {"Ref": functions["projector"]}}],
        "Api": [{"Name": "FunctionName", "Value": {"Ref": functions["api"]}}],
        "Stream": [{"Name": "StreamName", "Value": {"Ref": logical_id(pipeline.ingest.stream)}}],
        "IngestQueue": [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [queues["Ingest"], "QueueName"]}}
        ],
        "ProjectorQueue": [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [queues["Projector"], "QueueName"]}}
        ],
        "HttpApi": [{"Name": "ApiId", "Value": {"Ref": api_ids(dev)[0]}}],
    }
    subject = {
        "IngestFailureQueue": "IngestQueue",
        "ProjectorFailureQueue": "ProjectorQueue",
        "ApiServerErrors": "HttpApi",
        "StreamWriteThrottles": "Stream",
    }
    for name, (namespace, metric) in ALARMS.items():
        props = properties(pipeline_template, logical_id(alarms[name]))
        assert props["AlarmActions"] == [topic], name
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        assert props["Threshold"] >= 1, name
        metrics = alarm_metrics(props)
        assert metrics, name
        for found_namespace, found_metric, dimensions in metrics:
            assert found_namespace == namespace, name
            assert re.fullmatch(metric, found_metric), name
            if name == "TableThrottles":
                (table,) = [d["Value"] for d in dimensions if d["Name"] == "TableName"]
                assert exported(store_template, table) == {"Ref": table_id}
            else:
                key = subject.get(name) or next(p for p in watched if name.startswith(p))
                assert dimensions == watched[key], name


def test_table_throttles_count_the_table_and_its_feed_index_even_when_one_is_silent(
    dev: Deployment, pipeline_template: Template
) -> None:
    props = properties(
        pipeline_template, logical_id(dev.pipeline.monitoring.alarms["TableThrottles"])
    )
    (expression,) = [q["Expression"] for q in props["Metrics"] if "Expression" in q]
    series = {
        q["Id"]: (q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Metric"]["Dimensions"])
        for q in props["Metrics"]
        if "MetricStat" in q
    }
    # Every series is FILLed: DynamoDB publishes throttle events only when they happen, and
    # metric math over a missing series would leave the sum (and the alarm) empty.
    for metric_id in series:
        assert f"FILL({metric_id}, 0)" in expression
    names = sorted(
        (name, [d["Name"] for d in dims if d["Name"] != "TableName"])
        for name, dims in series.values()
    )
    assert names == [
        ("ReadThrottleEvents", []),
        ("WriteThrottleEvents", []),
        ("WriteThrottleEvents", ["GlobalSecondaryIndexName"]),
    ]
    index = [
        d["Value"]
        for _, dims in series.values()
        for d in dims
        if d["Name"] == "GlobalSecondaryIndexName"
    ]
    assert index == [schema.FEED_INDEX]


def test_alarm_thresholds(
    dev: Deployment, pipeline_template: Template, changed: Deployment, changed_pipeline: Template
) -> None:
    def threshold(deployment: Deployment, template: Template, name: str) -> Any:
        alarm = deployment.pipeline.monitoring.alarms[name]
        return properties(template, logical_id(alarm))["Threshold"]

    for name in ("IngestIteratorAge", "ProjectorIteratorAge"):
        assert threshold(dev, pipeline_template, name) == 15 * 60_000
        assert threshold(changed, changed_pipeline, name) == 7 * 60_000
    assert threshold(dev, pipeline_template, "ApiServerErrors") == 5
    for name in ALARMS.keys() - {"IngestIteratorAge", "ProjectorIteratorAge", "ApiServerErrors"}:
        assert threshold(dev, pipeline_template, name) == 1, name


def test_dashboard_shows_throughput_lag_events_errors_and_latency(
    pipeline_template: Template,
) -> None:
    metrics = {(namespace, name) for namespace, name, _ in dashboard_metrics(pipeline_template)}
    own = "Provenance/dev"
    assert {
        ("AWS/Kinesis", "IncomingRecords"),
        ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
        ("AWS/Lambda", "IteratorAge"),
        ("AWS/Lambda", "Errors"),
        (own, "Lines"),
        (own, "Events"),
        (own, "Duplicates"),
        (own, "Quarantined"),
        (own, "ProjectionLag"),
        ("AWS/ApiGateway", "Latency"),
    } <= metrics


def test_dashboard_metrics_are_the_ones_the_handlers_emit(
    dev: Deployment, changed: Deployment, pipeline_template: Template, changed_pipeline: Template
) -> None:
    """A metric renamed in a handler would leave an empty graph: each of the handlers' own
    metrics on the dashboard is named where the handlers take their metrics from (handlers/,
    and the ingest function's batch report in provenance/ingest/), under the service name its
    function has."""
    emitted = string_literals("handlers", "provenance/ingest")
    for deployment, template in ((dev, pipeline_template), (changed, changed_pipeline)):
        namespace = deployment.config.metrics_namespace
        services = {
            variables["POWERTOOLS_SERVICE_NAME"]
            for variables in environments(deployment, template).values()
        }
        own = [m for m in dashboard_metrics(template) if m[0] == namespace]
        assert len(own) >= 5
        for _, name, dimensions in own:
            assert name in emitted, name
            assert dimensions.keys() == {"service"}, name
            assert dimensions["service"] in services, name
    assert changed.config.metrics_namespace == "Provenance/prod"


# -- outputs ------------------------------------------------------------------------------------


def test_pipeline_outputs(dev: Deployment, pipeline_template: Template) -> None:
    pipeline = dev.pipeline
    stream = logical_id(pipeline.ingest.stream)
    expected = {
        "StreamName": {"Ref": stream},
        "StreamArn": {"Fn::GetAtt": [stream, "Arn"]},
        "LogsSubscriptionRoleArn": {
            "Fn::GetAtt": [logical_id(pipeline.ingest.subscription_role), "Arn"]
        },
        "ShipperPolicyArn": {"Ref": logical_id(pipeline.ingest.shipper_policy)},
        "ApiUrl": {"Fn::GetAtt": [api_ids(dev)[0], "ApiEndpoint"]},
        "ApiReaderPolicyArn": {"Ref": logical_id(pipeline.query_api.reader_policy)},
        "AlarmTopicArn": {"Ref": logical_id(pipeline.monitoring.topic)},
        "IngestFailureQueueUrl": {"Ref": failure_queues(dev)["Ingest"]},
        "ProjectorFailureQueueUrl": {"Ref": failure_queues(dev)["Projector"]},
    }
    for name, value in expected.items():
        pipeline_template.has_output(name, {"Value": value, "Description": Match.any_value()})
    outputs = pipeline_template.to_json()["Outputs"]
    assert {name for name in outputs if not name.startswith("Exports")} == set(expected)


def test_producers_may_put_records_on_the_stream_and_nothing_else(
    dev: Deployment, pipeline_template: Template
) -> None:
    stream = {"Fn::GetAtt": [logical_id(dev.pipeline.ingest.stream), "Arn"]}
    shipper = properties(pipeline_template, logical_id(dev.pipeline.ingest.shipper_policy))
    subscription_role = logical_id(dev.pipeline.ingest.subscription_role)
    (subscription,) = template_policies_of(pipeline_template, subscription_role)
    for policy in (shipper, subscription):
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert set(as_list(statement["Action"])) == {"kinesis:PutRecord", "kinesis:PutRecords"}
        assert statement["Resource"] == stream
    trust = properties(pipeline_template, subscription_role)["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "logs.amazonaws.com"}
    # Only CloudWatch Logs of this account and region (no confused deputy).
    source = joined(statement["Condition"]["StringLike"]["aws:SourceArn"])
    assert source == "arn:<token>:logs:<token>:<token>:*"
