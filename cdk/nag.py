"""cdk-nag's AwsSolutions checks on every stack, and the findings acknowledged, each with why.

cdk-nag 3 plugs into CDK's validation: `app.synth()` fails with `ValidationFailed` (and writes
`cdk.out/validation-report.json`) on any finding not acknowledged here. Acknowledgements are
made on the one construct they concern, never on a stack or the app, so the same finding on
a new resource still fails synthesis.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from cdk.query_api import METHODS, ROUTES, STAGE_NAME, route_pattern

if TYPE_CHECKING:
    from cdk.dashboard import Dashboard
    from cdk.stacks import PipelineStack, StoreStack

PACK = "AwsSolutions::"


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge the AwsSolutions finding `rule` (e.g. `AwsSolutions-L1`) on `construct`."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=PACK + rule, reason=reason))


def add_checks(app: cdk.App, *, store: StoreStack, pipeline: PipelineStack) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    acknowledge(
        store.pseudonym_key.secret,
        "AwsSolutions-SMG4",
        "The secret is an HMAC key for client-address pseudonyms, not a credential: rotating "
        "it would give every client a new pseudonym and break reports across the change. "
        "Only the ingest role may read it.",
    )
    for failures in (pipeline.ingest.failures, pipeline.projector.failures):
        acknowledge(
            failures,
            "AwsSolutions-SQS3",
            "This queue is itself the on-failure destination of an event source mapping; "
            "people read it (its depth raises an alarm), nothing consumes it, so a DLQ behind "
            "it would stay empty.",
        )
    for function in (
        pipeline.ingest.handler,
        pipeline.projector.handler,
        pipeline.query_api.handler,
    ):
        acknowledge(
            function.function,
            "AwsSolutions-L1",
            "Python 3.12 on purpose: the asset's compiled wheels (lxml, pydantic-core) are "
            "chosen for it, and the bundle is import-tested under that interpreter "
            "(tests/cdk/test_bundling.py). Moving runtime means moving both, in one change.",
        )
    acknowledge(
        pipeline.projector.handler.role,
        "AwsSolutions-IAM5[Resource::*]",
        "dynamodb:ListStreams on '*', added by the DynamoDB event source: ListStreams has no "
        "resource-level permissions. The stream itself is read by its ARN only.",
    )
    api = pipeline.query_api
    api_id = pipeline.resolve(
        pipeline.get_logical_id(cast(cdk.CfnElement, api.api.node.default_child))
    )
    # cdk-nag names a pseudo parameter `<AWS::Region>`, but a stack with an environment (as
    # `cdk deploy` makes it) has the region and account written out.
    region = "<AWS::Region>" if cdk.Token.is_unresolved(pipeline.region) else pipeline.region
    account = "<AWS::AccountId>" if cdk.Token.is_unresolved(pipeline.account) else pipeline.account
    for path in (path for path in ROUTES if "{" in path):
        for method in METHODS:
            resource = (
                f"arn:<AWS::Partition>:execute-api:{region}:{account}:"
                f"<{api_id}>/{STAGE_NAME}/{method}{route_pattern(path)}"
            )
            acknowledge(
                api.reader_policy,
                f"AwsSolutions-IAM5[Resource::{resource}]",
                f"execute-api:Invoke on {method} {path} of this API's one stage: the wildcard "
                "stands for the path parameter, which names any preserved object by design.",
            )
    if pipeline.dashboard is not None:
        _acknowledge_dashboard(pipeline.dashboard)


def _acknowledge_dashboard(dashboard: Dashboard) -> None:
    acknowledge(
        dashboard.user_pool,
        "AwsSolutions-COG8",
        "Lite feature plan on purpose: Plus (threat protection, $0.02 per monthly active user, "
        "no free tier) guards public sign-ups against credential stuffing; this pool has no "
        "self sign-up, only staff an administrator created, behind TOTP MFA or the "
        "institution's identity provider, and Lite's first 10,000 users are free.",
    )
    if isinstance(dashboard.vpc, ec2.Vpc):
        acknowledge(
            dashboard.vpc,
            "AwsSolutions-VPC7",
            "Nothing runs in this VPC but the dashboard's load balancer (public subnets, no "
            "NAT, no instances): its access logs record every request; flow logs would add "
            "CloudWatch costs and no one to watch.",
        )
    if any(ipaddress.ip_network(cidr).prefixlen == 0 for cidr in dashboard.settings.allowed_cidrs):
        acknowledge(
            dashboard.security_group,
            "AwsSolutions-EC23",
            "The dashboard is for staff wherever they work (the stage's allowed_cidrs narrows "
            "it): every request on 443 must sign in (authenticate-cognito precedes forward), "
            "and port 80 only redirects to HTTPS.",
        )
    if dashboard.access_logs is not None:
        acknowledge(
            dashboard.access_logs,
            "AwsSolutions-S1",
            "This bucket holds the load balancer's access logs; logging access to the log "
            "bucket would need yet another bucket, and so on. Only the ELB log-delivery "
            "principal writes here.",
        )
    else:
        acknowledge(
            dashboard.load_balancer,
            "AwsSolutions-ELB2",
            "Synthesised without a region (no credentials): the access-log bucket's policy "
            "names the region's ELB log-delivery principal, so only a template for a known "
            "region (`cdk deploy`) has access logs, and it does.",
        )
