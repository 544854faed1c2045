"""cdk-nag (AwsSolutions) gates synthesis: every stage synthesises clean, a new finding fails
it, and every acknowledgement is specific, reasoned, used, and made on the construct it
concerns (never on a stack or the app, where it would hide the same finding anywhere below).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

from cdk.app import Deployment
from tests.cdk.conftest import DeploymentFactory

REPORT = "validation-report.json"
PLUGIN = "AwsSolutions"
# `AwsSolutions::AwsSolutions-IAM5`, optionally with the finding's detail in brackets.
ACKNOWLEDGED_ID = re.compile(r"AwsSolutions::(AwsSolutions-[A-Z]+[0-9]+)(\[.+\])?")
MIN_REASON = 60  # characters: enough to say why, not just "not needed"
UNENCRYPTED = "UnencryptedQueue"
TOO_BROAD = "TooBroadPolicy"


@pytest.fixture(scope="module")
def prod(make_deployment: DeploymentFactory) -> Deployment:
    deployment = make_deployment("prod")
    deployment.app.synth()
    return deployment


@pytest.fixture(scope="module")
def with_new_findings(make_deployment: DeploymentFactory) -> tuple[Deployment, str]:
    """The dev stage plus two resources nag must refuse; synthesised: (deployment, error)."""
    deployment = make_deployment("dev")
    pipeline = deployment.pipeline
    # SQS2 (no encryption), SQS4 (no TLS), and SQS3 (no DLQ): the failure queues' own SQS3
    # acknowledgement must not cover a new queue.
    sqs.Queue(pipeline, UNENCRYPTED, encryption=sqs.QueueEncryption.UNENCRYPTED)
    # IAM5 on `Resource::*`: acknowledged on the projector's role, and on nothing else.
    iam.ManagedPolicy(
        pipeline,
        TOO_BROAD,
        statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])],
    )
    with pytest.raises(RuntimeError) as failed:
        deployment.app.synth()
    return deployment, str(failed.value)


def report(deployment: Deployment) -> dict[str, Any]:
    path = Path(deployment.app.outdir) / REPORT
    (plugin,) = [
        p for p in json.loads(path.read_text())["pluginReports"] if p["pluginName"] == PLUGIN
    ]
    return dict(plugin)


def acknowledgements(scope: IConstruct) -> Iterator[tuple[IConstruct, str, str]]:
    """(construct, acknowledged id, reason) of every acknowledgement under `scope`, read from
    the construct metadata `Validations.acknowledge` records."""
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in dict(entry.data).items():
                    yield construct, rule, reason


# -- clean stages -------------------------------------------------------------------------------


def test_dev_and_prod_synthesise_without_unacknowledged_findings(
    dev: Deployment, prod: Deployment
) -> None:
    # Both fixtures have synthesised (synth raises on a finding); the report says why.
    for deployment in (dev, prod):
        found = report(deployment)
        assert found["conclusion"] == "success"
        assert found["violations"] == []
        assert found["suppressedViolations"], "the checks ran and found what is acknowledged"


def test_every_acknowledgement_suppresses_a_finding(dev: Deployment, prod: Deployment) -> None:
    """An acknowledgement nothing needs is stale, and would silence the next such finding."""
    for deployment in (dev, prod):
        made = {
            (construct.node.path, rule) for construct, rule, _ in acknowledgements(deployment.app)
        }
        used = {
            (violation["acknowledgedAt"], violation["acknowledgedId"])
            for violation in report(deployment)["suppressedViolations"]
        }
        assert made == used


def test_every_acknowledgement_is_specific_reasoned_and_on_its_construct(
    dev: Deployment, prod: Deployment
) -> None:
    for deployment in (dev, prod):
        found = list(acknowledgements(deployment.app))
        assert found
        for construct, rule, reason in found:
            where = construct.node.path
            assert ACKNOWLEDGED_ID.fullmatch(rule), (where, rule)
            assert len(reason.strip()) >= MIN_REASON, (where, rule, reason)
            assert not cdk.Stack.is_stack(construct), (where, rule)
            assert not cdk.Stage.is_stage(construct), (where, rule)  # the App is a Stage
            # Below a stack, not the stack itself: some resource or its L2 construct.
            assert construct.node.scope is not None
            assert not cdk.Stage.is_stage(construct.node.scope), (where, rule)


def test_suppressed_findings_are_on_or_below_the_acknowledging_construct(
    dev: Deployment,
) -> None:
    for violation in report(dev)["suppressedViolations"]:
        at = violation["acknowledgedAt"]
        for construct in violation["violatingConstructs"]:
            path = construct["constructPath"]
            assert path == at or path.startswith(at + "/"), (violation["ruleName"], path)
            # Never a whole stack's worth of resources.
            assert at.count("/") >= 1


# -- a new finding fails ------------------------------------------------------------------------


def test_a_new_finding_fails_synthesis(with_new_findings: tuple[Deployment, str]) -> None:
    _, error = with_new_findings
    assert "ValidationFailed" in error
    assert REPORT in error


def test_the_report_names_the_rules_and_the_new_constructs(
    with_new_findings: tuple[Deployment, str],
) -> None:
    deployment, _ = with_new_findings
    found = report(deployment)
    assert found["conclusion"] == "failure"
    stack = deployment.pipeline.node.path
    # Rule names may carry the finding's detail: `AwsSolutions-IAM5[Resource::*]`.
    violated = {
        (violation["ruleName"].partition("[")[0], construct["constructPath"])
        for violation in found["violations"]
        for construct in violation["violatingConstructs"]
    }
    queue = f"{stack}/{UNENCRYPTED}/Resource"
    policy = f"{stack}/{TOO_BROAD}/Resource"
    assert {
        ("AwsSolutions-SQS2", queue),
        ("AwsSolutions-SQS3", queue),
        ("AwsSolutions-SQS4", queue),
        ("AwsSolutions-IAM5", policy),
    } <= violated
    # Only the new constructs fail: the rest of the stage is as clean as before.
    assert {path for _, path in violated} == {queue, policy}
