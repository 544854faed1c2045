"""The staff dashboard's sign-in on AWS (cdk/dashboard.py), template by template: staff reach the
api function only through the ALB's authenticate-cognito action (or the IAM HTTP API), the user
pool is locked down, federation follows the stage's settings, and a stage without dashboard
settings gets none, saying so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Annotations, Match, Template

from cdk.app import Deployment
from cdk.config import ConfigError, parse_stage
from cdk.dashboard import ALB_CALLBACK_PATH, LOAD_BALANCER_PRINCIPAL, target_group_name
from tests.cdk.conftest import DASHBOARD, DeploymentFactory

SAML = {"name": "Stanford", "metadata_url": "https://idp.example.edu/saml/metadata"}
OIDC = {
    "name": "Campus",
    "issuer": "https://login.example.edu",
    "client_id": "prov-dashboard",
    "client_secret": "prov/dashboard/oidc",
}
RECOMMENDED_TLS = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def synthesised(make_deployment: DeploymentFactory, **dashboard: Any) -> Deployment:
    deployment = make_deployment("dev", dashboard=json.dumps({**DASHBOARD, **dashboard}))
    deployment.app.synth()  # cdk-nag runs here: an unacknowledged finding fails it
    return deployment


@pytest.fixture(scope="module")
def saml(make_deployment: DeploymentFactory) -> Deployment:
    return synthesised(make_deployment, saml=SAML)


@pytest.fixture(scope="module")
def template(saml: Deployment) -> Template:
    return Template.from_stack(saml.pipeline)


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(kind)
    return found


def only(template: Template, kind: str) -> tuple[str, dict[str, Any]]:
    ((name, resource),) = resources(template, kind).items()
    return name, resource


def api_function(deployment: Deployment) -> str:
    function = deployment.pipeline.query_api.handler.function
    stack = Stack.of(function)
    return str(stack.resolve(stack.get_logical_id(function.node.default_child)))  # type: ignore[arg-type]


# -- the path to the function -------------------------------------------------------------------


def test_the_https_listener_signs_in_before_it_forwards(template: Template) -> None:
    listeners = resources(template, "AWS::ElasticLoadBalancingV2::Listener")
    (https,) = [r for r in listeners.values() if r["Properties"]["Port"] == 443]
    properties = https["Properties"]
    actions = sorted(properties["DefaultActions"], key=lambda action: action["Order"])

    assert [action["Type"] for action in actions] == ["authenticate-cognito", "forward"]
    config = actions[0]["AuthenticateCognitoConfig"]
    assert config["OnUnauthenticatedRequest"] == "authenticate"
    assert config["SessionTimeout"] == str(12 * 3600)
    target, _ = only(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert actions[1]["TargetGroupArn"] == {"Ref": target}
    assert properties["Protocol"] == "HTTPS"
    assert properties["SslPolicy"] == RECOMMENDED_TLS
    assert properties["Certificates"] == [{"CertificateArn": DASHBOARD["certificate_arn"]}]
    # No rule beside the default action: nothing reaches the target group unauthenticated.
    template.resource_count_is("AWS::ElasticLoadBalancingV2::ListenerRule", 0)


def test_port_80_only_redirects_to_https(template: Template) -> None:
    listeners = resources(template, "AWS::ElasticLoadBalancingV2::Listener")
    (http,) = [r for r in listeners.values() if r["Properties"]["Port"] == 80]

    (action,) = http["Properties"]["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"
    assert action["RedirectConfig"]["Port"] == "443"


def test_only_the_iam_api_and_this_target_group_may_invoke_the_function(
    saml: Deployment, template: Template
) -> None:
    function = api_function(saml)
    permissions = [
        r["Properties"]
        for r in resources(template, "AWS::Lambda::Permission").values()
        if r["Properties"]["FunctionName"] == {"Fn::GetAtt": [function, "Arn"]}
    ]
    principals = {p["Principal"] for p in permissions}
    assert principals == {"apigateway.amazonaws.com", LOAD_BALANCER_PRINCIPAL}
    (balancer,) = [p for p in permissions if p["Principal"] == LOAD_BALANCER_PRINCIPAL]
    assert balancer["SourceAccount"] == {"Ref": "AWS::AccountId"}
    source = json.dumps(balancer["SourceArn"])
    assert f":targetgroup/{target_group_name(saml.config)}/*" in source
    # Every API Gateway permission names this stack's IAM-authorised HTTP API.
    api = saml.pipeline.resolve(saml.pipeline.query_api.api.api_id)
    for permission in permissions:
        if permission["Principal"] == "apigateway.amazonaws.com":
            assert api in permission["SourceArn"]["Fn::Join"][1]
    template.resource_count_is("AWS::Lambda::Url", 0)
    # The target group registers the function once the permission exists.
    _, group = only(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["Properties"]["Name"] == target_group_name(saml.config)
    assert group["Properties"]["TargetType"] == "lambda"
    assert group["Properties"]["Targets"] == [{"Id": {"Fn::GetAtt": [function, "Arn"]}}]
    assert {"Key": "lambda.multi_value_headers.enabled", "Value": "true"} in group["Properties"][
        "TargetGroupAttributes"
    ]
    assert len(group["DependsOn"]) == 1
    assert resources(template, "AWS::Lambda::Permission")[group["DependsOn"][0]]


def test_the_http_api_keeps_iam_auth_on_every_route(template: Template) -> None:
    for route in resources(template, "AWS::ApiGatewayV2::Route").values():
        assert route["Properties"]["AuthorizationType"] == "AWS_IAM"


def test_the_load_balancer_is_public_drops_bad_headers_and_lets_in_https(
    template: Template,
) -> None:
    _, balancer = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Properties"]["Scheme"] == "internet-facing"
    assert {
        "Key": "routing.http.drop_invalid_header_fields.enabled",
        "Value": "true",
    } in balancer["Properties"]["LoadBalancerAttributes"]
    _, group = only(template, "AWS::EC2::SecurityGroup")
    ingress = {
        (rule["CidrIp"], rule["FromPort"]) for rule in group["Properties"]["SecurityGroupIngress"]
    }
    assert ingress == {("0.0.0.0/0", 443), ("0.0.0.0/0", 80)}
    # Out: HTTPS only, for the sign-in's calls to Cognito.
    (egress,) = group["Properties"]["SecurityGroupEgress"]
    assert (egress["FromPort"], egress["ToPort"], egress["IpProtocol"]) == (443, 443, "tcp")


def test_the_vpc_has_two_public_subnets_and_no_nat(template: Template) -> None:
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::EIP", 0)
    subnets = resources(template, "AWS::EC2::Subnet").values()
    assert len(subnets) == 2
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)


def test_allowed_cidrs_narrow_who_can_connect(make_deployment: DeploymentFactory) -> None:
    deployment = synthesised(make_deployment, allowed_cidrs=["171.64.0.0/14", "128.12.0.0/16"])
    _, group = only(Template.from_stack(deployment.pipeline), "AWS::EC2::SecurityGroup")

    cidrs = {rule["CidrIp"] for rule in group["Properties"]["SecurityGroupIngress"]}
    assert cidrs == {"171.64.0.0/14", "128.12.0.0/16"}


def test_an_existing_vpc_is_used_as_given(make_deployment: DeploymentFactory) -> None:
    deployment = synthesised(
        make_deployment,
        vpc_id="vpc-0123456789abcdef0",
        subnet_ids=["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
    )
    template = Template.from_stack(deployment.pipeline)

    template.resource_count_is("AWS::EC2::VPC", 0)
    _, balancer = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Properties"]["Subnets"] == [
        "subnet-0aaa1111bbbb2222c",
        "subnet-0ddd3333eeee4444f",
    ]
    _, group = only(template, "AWS::EC2::SecurityGroup")
    assert group["Properties"]["VpcId"] == "vpc-0123456789abcdef0"


# -- the user pool ------------------------------------------------------------------------------


def test_the_user_pool_takes_only_staff_an_administrator_created(template: Template) -> None:
    _, pool = only(template, "AWS::Cognito::UserPool")
    properties = pool["Properties"]

    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert properties["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 14,
        "RequireLowercase": True,
        "RequireUppercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "TemporaryPasswordValidityDays": 3,
    }
    assert properties["MfaConfiguration"] == "ON"
    assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert properties["DeletionProtection"] == "ACTIVE"
    assert properties["UserPoolTier"] == "LITE"
    assert pool["DeletionPolicy"] == "Retain"
    assert pool["UpdateReplacePolicy"] == "Retain"


def test_optional_mfa_is_still_totp(make_deployment: DeploymentFactory) -> None:
    deployment = synthesised(make_deployment, mfa="optional")
    _, pool = only(Template.from_stack(deployment.pipeline), "AWS::Cognito::UserPool")

    assert pool["Properties"]["MfaConfiguration"] == "OPTIONAL"
    assert pool["Properties"]["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


def test_the_alb_client_has_a_secret_and_returns_to_the_dashboard(template: Template) -> None:
    _, client = only(template, "AWS::Cognito::UserPoolClient")
    properties = client["Properties"]

    assert properties["GenerateSecret"] is True
    assert properties["AllowedOAuthFlows"] == ["code"]
    assert properties["CallbackURLs"] == [f"https://{DASHBOARD['host_name']}{ALB_CALLBACK_PATH}"]
    template.has_resource_properties(
        "AWS::Cognito::UserPoolDomain", {"Domain": "sdr-provenance-dev"}
    )


# -- federation ---------------------------------------------------------------------------------


def test_saml_federation_maps_email_and_is_offered_at_sign_in(template: Template) -> None:
    name, provider = only(template, "AWS::Cognito::UserPoolIdentityProvider")

    assert provider["Properties"]["ProviderType"] == "SAML"
    assert provider["Properties"]["ProviderDetails"]["MetadataURL"] == SAML["metadata_url"]
    assert provider["Properties"]["AttributeMapping"] == {
        "email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
    }
    _, client = only(template, "AWS::Cognito::UserPoolClient")
    assert client["Properties"]["SupportedIdentityProviders"] == ["COGNITO", {"Ref": name}]
    outputs = template.to_json()["Outputs"]
    assert "/saml2/idpresponse" in json.dumps(outputs["DashboardSamlAcsUrl"]["Value"])
    assert "urn:amazon:cognito:sp:" in json.dumps(outputs["DashboardSamlAudience"]["Value"])


def test_saml_metadata_from_a_file(make_deployment: DeploymentFactory, tmp_path: Path) -> None:
    metadata = tmp_path / "idp.xml"
    metadata.write_text("<EntityDescriptor entityID='https://idp.example.edu'/>")
    deployment = synthesised(
        make_deployment, saml={"name": "Stanford", "metadata_file": str(metadata)}
    )
    _, provider = only(
        Template.from_stack(deployment.pipeline), "AWS::Cognito::UserPoolIdentityProvider"
    )

    assert provider["Properties"]["ProviderDetails"]["MetadataFile"] == metadata.read_text()


def test_an_unreadable_metadata_file_is_one_line(make_deployment: DeploymentFactory) -> None:
    with pytest.raises(ConfigError, match=r"^stage dev: dashboard.saml.metadata_file .*cannot"):
        synthesised(make_deployment, saml={"name": "Stanford", "metadata_file": "/no/such.xml"})


def test_oidc_federation_reads_its_secret_at_deploy_time(
    make_deployment: DeploymentFactory,
) -> None:
    deployment = synthesised(make_deployment, oidc=OIDC)
    template = Template.from_stack(deployment.pipeline)
    _, provider = only(template, "AWS::Cognito::UserPoolIdentityProvider")
    details = provider["Properties"]["ProviderDetails"]

    assert provider["Properties"]["ProviderType"] == "OIDC"
    assert details["oidc_issuer"] == OIDC["issuer"]
    assert details["client_id"] == OIDC["client_id"]
    # A dynamic reference: the secret itself is never in the template.
    assert details["client_secret"] == (
        "{{resolve:secretsmanager:prov/dashboard/oidc:SecretString:::}}"
    )
    assert details["authorize_scopes"] == "openid email"
    assert provider["Properties"]["AttributeMapping"] == {"email": "email"}
    outputs = template.to_json()["Outputs"]
    assert "/oauth2/idpresponse" in json.dumps(outputs["DashboardOidcRedirectUrl"]["Value"])


# -- stages -------------------------------------------------------------------------------------


def test_a_stage_without_dashboard_settings_gets_none_and_is_told(dev: Deployment) -> None:
    template = Template.from_stack(dev.pipeline)

    for kind in (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::Cognito::UserPool",
        "AWS::EC2::VPC",
    ):
        template.resource_count_is(kind, 0)
    assert not [name for name in template.to_json()["Outputs"] if name.startswith("Dashboard")]
    Annotations.from_stack(dev.pipeline).has_info(
        "/prov-dev-pipeline", Match.string_like_regexp("no dashboard")
    )


def test_a_known_region_gets_encrypted_access_logs(
    make_deployment: DeploymentFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
    monkeypatch.setenv("CDK_DEFAULT_REGION", "us-east-1")
    deployment = synthesised(make_deployment)
    template = Template.from_stack(deployment.pipeline)

    bucket, properties = only(template, "AWS::S3::Bucket")
    encryption = properties["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    _, balancer = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": bucket}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"host_name": "Not A Host"}, "dashboard.host_name"),
        ({"certificate_arn": "arn:aws:iam::1:role/x"}, "dashboard.certificate_arn"),
        ({"allowed_cidrs": ["10.0.0.1/8"]}, "has host bits set"),
        ({"allowed_cidrs": ["2001:db8::/32"]}, "IPv4 only"),
        ({"domain_prefix": "my-cognito-login"}, "Cognito refuses"),
        ({"saml": SAML, "oidc": OIDC}, "saml or oidc, not both"),
        ({"saml": {"name": "Stanford"}}, "metadata_url or its metadata_file"),
        ({"vpc_id": "vpc-0123456789abcdef0"}, "needs subnet_ids"),
        ({"subnet_ids": ["subnet-0aaa1111bbbb2222c"]}, "give both, or neither"),
        ({"oidc": {**OIDC, "scopes": ["email"]}}, "scopes must include openid"),
        ({"session": 3}, "dashboard.session"),
    ],
)
def test_impossible_dashboard_settings_are_one_line(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=r"^stage dev: dashboard") as refused:
        parse_stage({"stage": "dev", "dashboard": {**DASHBOARD, **change}})

    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_dashboard_settings_given_on_the_command_line_must_be_json() -> None:
    with pytest.raises(ConfigError, match="as a JSON object"):
        parse_stage({"stage": "dev", "dashboard": "host_name=provenance.example.edu"})
