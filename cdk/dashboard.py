"""The staff dashboard on AWS: nobody sees a page or a JSON answer before signing in.

    browser --HTTPS--> Application Load Balancer --authenticate-cognito--> Cognito user pool
                          | (signed in)                                    (optional: the
                          v                                                 institution's
                       forward --> Lambda target group --> the api function  SAML or OIDC IdP)

AWS verifies the sign-in: the ALB's `authenticate-cognito` action runs the OAuth flow with the
user pool's hosted UI and keeps the session in its own cookie; the function receives only
requests the ALB authenticated (with the user's `sub` in `x-amzn-oidc-identity`, which
`provenance.query.alb` logs). There is no token-checking code of ours.

The function is the query API's (`cdk.query_api`): same code, same handler; it tells an ALB
event from API Gateway's by its shape. The IAM HTTP API stays as it is for `prov --api`.
The only ways to invoke the function are that API and this target group: the Lambda permission
for `elasticloadbalancing.amazonaws.com` names this target group (by its fixed name: its ARN
cannot be referenced, as the group needs the permission before it registers the function), in
this account.

The user pool is the Lite feature plan (staff sign-in needs none of Essentials' features; its
first 10,000 monthly active users are free): no self sign-up, users created by an
administrator (`aws cognito-idp admin-create-user`), a strong password policy, TOTP MFA, and
retained with deletion protection (users and their MFA devices cannot be re-created by a
deploy). Federation to the institution's identity provider (SAML or OIDC) is per stage.

The network: a VPC of two public subnets and no NAT gateway (the ALB needs no more; nothing
else runs in it), or an existing VPC's public subnets. Access logs go to an S3 bucket
(SSE-S3, the one encryption ALB log delivery supports) when the stack's region is known, as on
`cdk deploy` (the bucket policy names the region's ELB log-delivery principal).
"""

from __future__ import annotations

from pathlib import Path

import jsii
from aws_cdk import (
    Annotations,
    ArnFormat,
    Duration,
    RemovalPolicy,
    SecretValue,
    Stack,
    Token,
)
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_elasticloadbalancingv2_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.config import ConfigError, DashboardConfig, StageConfig

LOAD_BALANCER_PRINCIPAL = "elasticloadbalancing.amazonaws.com"
# The ALB returns here after the sign-in (fixed by Elastic Load Balancing).
ALB_CALLBACK_PATH = "/oauth2/idpresponse"
PASSWORD_MIN_LENGTH = 14
TEMPORARY_PASSWORD_DAYS = 3
VPC_AZS = 2


def target_group_name(config: StageConfig) -> str:
    """The target group's fixed name (at most 32 characters: the stage has at most 20), which
    the Lambda permission's source ARN names."""
    return f"prov-{config.stage}-dash"


def cognito_domain(config: StageConfig, region: str) -> str:
    """The hosted UI's host name."""
    return f"{config.cognito_domain_prefix}.auth.{region}.amazoncognito.com"


class Dashboard(Construct):
    """Cognito user pool (and IdP) + ALB (HTTPS, sign-in first) -> the api function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        settings: DashboardConfig,
        function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.settings = settings
        self.user_pool = self._user_pool(config, settings)
        self.domain = self.user_pool.add_domain(
            "SignIn",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=config.cognito_domain_prefix or ""
            ),
        )
        self.identity_provider = self._identity_provider(config, settings)
        providers = [cognito.UserPoolClientIdentityProvider.COGNITO]
        if self.identity_provider is not None:
            providers.append(
                cognito.UserPoolClientIdentityProvider.custom(self.identity_provider.provider_name)
            )
        self.client = self.user_pool.add_client(
            "LoadBalancerClient",
            user_pool_client_name=f"sdr-provenance-{config.stage}-dashboard",
            # The ALB is a confidential client: it holds the secret (Cognito gives it to the
            # listener through CloudFormation; no person handles it).
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[f"https://{settings.host_name}{ALB_CALLBACK_PATH}"],
                logout_urls=[f"https://{settings.host_name}/"],
            ),
            supported_identity_providers=providers,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(settings.session_hours),
        )
        if self.identity_provider is not None:
            self.client.node.add_dependency(self.identity_provider)

        self.vpc, subnets = self._network(settings)
        self.security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=self.vpc,
            description=f"sdr-provenance {config.stage} dashboard: HTTPS (and its redirect)",
            # Outbound: only what the sign-in needs (the authenticate action adds HTTPS to
            # Cognito's endpoints); a Lambda target is invoked without the network.
            allow_all_outbound=False,
        )
        for cidr in settings.allowed_cidrs:
            peer = ec2.Peer.ipv4(cidr)
            self.security_group.add_ingress_rule(peer, ec2.Port.tcp(443), "HTTPS, signed in")
            self.security_group.add_ingress_rule(peer, ec2.Port.tcp(80), "redirect to HTTPS")
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=self.vpc,
            vpc_subnets=subnets,
            internet_facing=True,
            security_group=self.security_group,
            # Requests whose header names are not valid HTTP never reach the function.
            drop_invalid_header_fields=True,
        )
        self.access_logs = self._access_logs(config)

        permission = lambda_.CfnPermission(
            self,
            "LoadBalancerInvoke",
            action="lambda:InvokeFunction",
            function_name=function.function_arn,
            principal=LOAD_BALANCER_PRINCIPAL,
            source_account=stack.account,
            source_arn=stack.format_arn(
                service="elasticloadbalancing",
                resource="targetgroup",
                resource_name=f"{target_group_name(config)}/*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            ),
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Function",
            target_group_name=target_group_name(config),
            target_type=elbv2.TargetType.LAMBDA,
            targets=[_FunctionTarget(function, permission)],
            # Repeated query parameters (`?by=service&by=agent`) arrive as lists, joined as
            # API Gateway joins them (`provenance.query.alb`).
            multi_value_headers_enabled=True,
        )
        self.listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(settings.certificate_arn)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            # The security group above says who may connect; CDK's `open` would add anywhere.
            open=False,
            default_action=actions.AuthenticateCognitoAction(
                user_pool=self.user_pool,
                user_pool_client=self.client,
                user_pool_domain=self.domain,
                scope="openid email",
                session_timeout=Duration.hours(settings.session_hours),
                on_unauthenticated_request=elbv2.UnauthenticatedAction.AUTHENTICATE,
                next=elbv2.ListenerAction.forward([self.target_group]),
            ),
        )
        self.redirect = self.load_balancer.add_redirect(
            source_protocol=elbv2.ApplicationProtocol.HTTP,
            source_port=80,
            target_protocol=elbv2.ApplicationProtocol.HTTPS,
            target_port=443,
            open=False,
        )

        region = stack.region
        self.url = f"https://{settings.host_name}/"
        self.outputs: dict[str, tuple[str, str]] = {
            "DashboardUrl": (self.url, "the dashboard; staff sign in first"),
            "DashboardLoadBalancerDnsName": (
                self.load_balancer.load_balancer_dns_name,
                f"point {settings.host_name} here (a CNAME, or an alias record)",
            ),
            "DashboardUserPoolId": (
                self.user_pool.user_pool_id,
                "`aws cognito-idp admin-create-user --user-pool-id ID ...` adds a user",
            ),
            "DashboardSignInDomain": (
                cognito_domain(config, region),
                "the hosted sign-in page (Cognito)",
            ),
        }
        if settings.saml is not None:
            self.outputs["DashboardSamlAcsUrl"] = (
                f"https://{cognito_domain(config, region)}/saml2/idpresponse",
                "the identity provider's Assertion Consumer Service (reply) URL",
            )
            self.outputs["DashboardSamlAudience"] = (
                f"urn:amazon:cognito:sp:{self.user_pool.user_pool_id}",
                "the identity provider's audience (SP entity ID)",
            )
        if settings.oidc is not None:
            self.outputs["DashboardOidcRedirectUrl"] = (
                f"https://{cognito_domain(config, region)}/oauth2/idpresponse",
                "the redirect URI to register with the identity provider",
            )

    def _user_pool(self, config: StageConfig, settings: DashboardConfig) -> cognito.UserPool:
        required = settings.mfa == "required"
        return cognito.UserPool(
            self,
            "Staff",
            user_pool_name=f"sdr-provenance-{config.stage}-staff",
            # Lite: what staff sign-in needs, with 10,000 monthly active users free.
            feature_plan=cognito.FeaturePlan.LITE,
            self_sign_up_enabled=False,
            user_invitation=cognito.UserInvitationConfig(
                email_subject=f"sdr-provenance {config.stage}: your dashboard account",
                email_body=(
                    f"Sign in at https://{settings.host_name}/ as {{username}} with the "
                    f"temporary password {{####}} within {TEMPORARY_PASSWORD_DAYS} days; you "
                    "will choose your own password"
                    + (" and set up an authenticator app." if required else ".")
                ),
            ),
            sign_in_aliases=cognito.SignInAliases(email=True, username=False),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=PASSWORD_MIN_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(TEMPORARY_PASSWORD_DAYS),
            ),
            mfa=cognito.Mfa.REQUIRED if required else cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _identity_provider(
        self, config: StageConfig, settings: DashboardConfig
    ) -> cognito.IUserPoolIdentityProvider | None:
        saml, oidc = settings.saml, settings.oidc
        if saml is not None:
            if saml.metadata_url is not None:
                metadata = cognito.UserPoolIdentityProviderSamlMetadata.url(saml.metadata_url)
            else:
                metadata = cognito.UserPoolIdentityProviderSamlMetadata.file(
                    _metadata_text(config, saml.metadata_file or "")
                )
            return cognito.UserPoolIdentityProviderSaml(
                self,
                "Saml",
                user_pool=self.user_pool,
                name=saml.name,
                metadata=metadata,
                attribute_mapping=cognito.AttributeMapping(
                    email=cognito.ProviderAttribute.other(saml.email_attribute)
                ),
            )
        if oidc is not None:
            return cognito.UserPoolIdentityProviderOidc(
                self,
                "Oidc",
                user_pool=self.user_pool,
                name=oidc.name,
                issuer_url=oidc.issuer,
                client_id=oidc.client_id,
                # A dynamic reference (`{{resolve:secretsmanager:...}}`), not the secret: the
                # property is a string, so the SecretValue is unwrapped to its reference, and
                # CloudFormation reads the secret at deploy time.
                client_secret=SecretValue.secrets_manager(oidc.client_secret).unsafe_unwrap(),
                scopes=list(oidc.scopes),
                attribute_mapping=cognito.AttributeMapping(
                    email=cognito.ProviderAttribute.other(oidc.email_attribute)
                ),
            )
        return None

    def _network(self, settings: DashboardConfig) -> tuple[ec2.IVpc, ec2.SubnetSelection]:
        if settings.vpc_id is not None:
            # The load balancer's subnets are named below; the imported VPC's own subnet lists
            # (which its zones would describe) stay empty and unused.
            vpc = ec2.Vpc.from_vpc_attributes(
                self, "Vpc", vpc_id=settings.vpc_id, availability_zones=["unused"]
            )
            subnets = [
                ec2.Subnet.from_subnet_id(self, f"Subnet{n}", subnet)
                for n, subnet in enumerate(settings.subnet_ids)
            ]
            return vpc, ec2.SubnetSelection(subnets=subnets)
        vpc = ec2.Vpc(
            self,
            "Network",
            max_azs=VPC_AZS,
            # The ALB calls Cognito from its own public addresses: no NAT gateway (about $33 a
            # month each), no private subnets.
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    # Nothing but the ALB lives here; no instance should get a (billed) address.
                    map_public_ip_on_launch=False,
                )
            ],
        )
        return vpc, ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)

    def _access_logs(self, config: StageConfig) -> s3.Bucket | None:
        if Token.is_unresolved(Stack.of(self).region):
            Annotations.of(self).add_info(
                "dashboard access logs: the load balancer's log-delivery principal depends on "
                "the region; synthesised without one (no credentials), the template has none. "
                "`cdk deploy` knows the region and adds them."
            )
            return None
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.log_retention_days))],
        )
        self.load_balancer.log_access_logs(bucket, "dashboard")
        return bucket


def _metadata_text(config: StageConfig, path: str) -> str:
    """The SAML metadata file's text, read at synth (as `agents_file`)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f"stage {config.stage}: dashboard.saml.metadata_file {path}"
        raise ConfigError(f"{where}: cannot read it: {reason}") from None


@jsii.implements(elbv2.IApplicationLoadBalancerTarget)
class _FunctionTarget:
    """The api function as the target group's one target, registered only once the Lambda
    permission (scoped to this target group) exists: CDK's `LambdaTarget` grants the load
    balancer service without naming the target group."""

    def __init__(self, function: lambda_.IFunction, permission: lambda_.CfnPermission) -> None:
        self._function = function
        self._permission = permission

    def attach_to_application_target_group(
        self, target_group: elbv2.IApplicationTargetGroup
    ) -> elbv2.LoadBalancerTargetProps:
        target_group.node.add_dependency(self._permission)
        return elbv2.LoadBalancerTargetProps(
            target_type=elbv2.TargetType.LAMBDA,
            target_json={"id": self._function.function_arn},
        )
