"""Per-stage settings of a deployment, typed and checked, from CDK context.

`cdk.json` holds one table per stage under the context key `prov:stages`; `-c stage=NAME`
picks one (default `dev`), and `-c prov:KEY=VALUE` overrides a single setting for one command
(`npx cdk deploy -c stage=prod -c prov:alarm_email=ops@example.edu`). Every setting has a
default, so a stage may name only what differs. Unknown keys and impossible values (a batch
of 20,000 records, a record age longer than the stream keeps records) are refused before
anything is synthesised, with one line naming the key.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

CONTEXT_STAGES = "prov:stages"
CONTEXT_STAGE = "stage"
CONTEXT_OVERRIDE_PREFIX = "prov:"
DEFAULT_STAGE = "dev"

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

Architecture = Literal["arm64", "x86_64"]
StreamMode = Literal["on-demand", "provisioned"]
TableClass = Literal["standard", "standard-ia"]


class ConfigError(ValueError):
    """A stage's settings cannot be deployed; the message is one line naming the setting."""


# A hosted-UI domain prefix: Cognito refuses these words in it.
_RESERVED_IN_PREFIX = ("aws", "amazon", "cognito")


class SamlProvider(BaseModel):
    """The institution's SAML 2.0 identity provider, federated into the dashboard's user pool."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The name staff see on the sign-in page's button (Cognito: 1 to 32 characters).
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$")
    # The IdP's metadata: a URL Cognito reads (and re-reads as keys rotate), or a file read at
    # synth (relative to where cdk runs, as `agents_file`). One of the two.
    metadata_url: str | None = Field(default=None, pattern=r"^https://\S+$")
    metadata_file: str | None = Field(default=None, min_length=1)
    # The SAML attribute that carries the user's email address.
    email_attribute: str = Field(
        default="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        min_length=1,
    )

    @model_validator(mode="after")
    def _one_metadata(self) -> SamlProvider:
        if (self.metadata_url is None) == (self.metadata_file is None):
            raise ValueError("give the IdP's metadata_url or its metadata_file (one of the two)")
        return self


class OidcProvider(BaseModel):
    """The institution's OpenID Connect identity provider, federated into the user pool."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$")
    issuer: str = Field(pattern=r"^https://\S+$")
    client_id: str = Field(min_length=1, max_length=255)
    # The client secret stays in Secrets Manager: its ARN or name (CloudFormation resolves it at
    # deploy time; it is never in the template or cdk.json).
    client_secret: str = Field(
        pattern=r"^(arn:aws[a-z-]*:secretsmanager:\S+|[A-Za-z0-9_/+=.@-]+)$", max_length=2048
    )
    scopes: tuple[str, ...] = ("openid", "email")
    # The claim that carries the user's email address.
    email_attribute: str = Field(default="email", min_length=1)

    @field_validator("scopes")
    @classmethod
    def _openid(cls, scopes: tuple[str, ...]) -> tuple[str, ...]:
        if "openid" not in scopes:
            raise ValueError("scopes must include openid")
        return scopes


class DashboardConfig(BaseModel):
    """The staff dashboard on AWS (`cdk/dashboard.py`): an Application Load Balancer that signs
    staff in with a Cognito user pool before the api function answers any page or JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The name staff open (a DNS record of yours points it at the load balancer), which the
    # certificate covers: the ALB's sign-in needs HTTPS, and Cognito returns to this name.
    host_name: str = Field(
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", max_length=253
    )
    # An ACM certificate for host_name, in the stack's region.
    certificate_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-fA-F-]+$"
    )
    # The hosted sign-in page's prefix, <prefix>.auth.<region>.amazoncognito.com (unique in the
    # region; default sdr-provenance-<stage>).
    domain_prefix: str | None = Field(
        default=None, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
    )
    # Who may reach the load balancer at all (IPv4 CIDRs; the sign-in still applies to all).
    allowed_cidrs: tuple[str, ...] = Field(default=("0.0.0.0/0",), min_length=1)
    # An existing VPC with public subnets in two or more zones, instead of the one the
    # construct makes (two zones, public subnets only, no NAT gateway).
    vpc_id: str | None = Field(default=None, pattern=r"^vpc-[0-9a-f]{8,17}$")
    subnet_ids: tuple[str, ...] = ()
    # MFA for users of the pool itself (federated users get their IdP's): required, or
    # optional (each user may turn TOTP on). TOTP only: no SMS.
    mfa: Literal["required", "optional"] = "required"
    # Hours a signed-in session lasts before the ALB asks again.
    session_hours: int = Field(default=12, ge=1, le=24 * 7)
    saml: SamlProvider | None = None
    oidc: OidcProvider | None = None

    @field_validator("allowed_cidrs")
    @classmethod
    def _ipv4_networks(cls, cidrs: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in cidrs:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a network: {exc}") from None
            if network.version != 4:
                raise ValueError(f"{cidr!r}: the load balancer is IPv4 only")
        return cidrs

    @field_validator("domain_prefix")
    @classmethod
    def _allowed_prefix(cls, prefix: str | None) -> str | None:
        if prefix is not None and any(word in prefix for word in _RESERVED_IN_PREFIX):
            raise ValueError(f"Cognito refuses a prefix with {', '.join(_RESERVED_IN_PREFIX)}")
        return prefix

    @model_validator(mode="after")
    def _consistent(self) -> DashboardConfig:
        if self.saml is not None and self.oidc is not None:
            raise ValueError("federate one identity provider: saml or oidc, not both")
        if self.vpc_id is None and self.subnet_ids:
            raise ValueError("subnet_ids belong to a vpc_id: give both, or neither")
        if self.vpc_id is not None and len(set(self.subnet_ids)) < 2:
            raise ValueError(
                "an existing vpc_id needs subnet_ids: two or more public subnets in different "
                "zones (a load balancer spans at least two)"
            )
        return self


class StageConfig(BaseModel):
    """What may differ between deployments (dev, staging, prod) of the same pipeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = Field(default=DEFAULT_STAGE, pattern=r"^[a-z][a-z0-9-]{0,19}$")

    # Kinesis: one provisioned shard by default. It takes 1 MB/s or 1,000 records/s (about
    # 40,000 log lines a second as `prov ship` packs them; 2,000,000 lines a day average 23)
    # for $10.94 a month, where an on-demand stream costs $29.18 a month whatever flows
    # through it (retention beyond 24 hours is billed extra in either mode). On-demand suits
    # traffic that cannot be planned; the StreamWriteThrottles alarm says when a provisioned
    # stream needs more shards. `shards` defaults to 1.
    stream_mode: StreamMode = "provisioned"
    shards: int | None = Field(default=None, ge=1, le=500)
    # Long enough to re-read records the ingest function gave up on (see max_record_age_hours).
    stream_retention_hours: int = Field(default=168, ge=24, le=8760)

    # The ingest function's event source mapping.
    batch_size: int = Field(default=100, ge=1, le=10_000)
    batch_window_seconds: int = Field(default=5, ge=0, le=300)
    retry_attempts: int = Field(default=5, ge=0, le=10_000)
    max_record_age_hours: int = Field(default=24, ge=1, le=168)
    parallelization_factor: int = Field(default=1, ge=1, le=10)

    # The projector's event source mapping (the table's stream keeps records 24 hours).
    projector_batch_size: int = Field(default=100, ge=1, le=10_000)
    projector_retry_attempts: int = Field(default=10, ge=0, le=10_000)

    # Raw access events (with their client addresses) expire after this many days; their
    # hourly counts stay. None (`never`) keeps them forever.
    access_event_expiry_days: int | None = Field(default=365, ge=1, le=36_525)

    # The event table's DynamoDB table class. Standard-IA stores for 60% less and charges 25%
    # more per read and write unit: it pays once storage is more than about 5/12 of the
    # table's request bill (the record only grows: preservation events and access counts are
    # kept forever), so an old, large table gains and a young, busy one loses. `prov cost
    # --table-class` prices both; a live table's class can be changed in place.
    table_class: TableClass = "standard"

    # Who gets the alarms; without an address the SNS topic has no subscriber yet.
    alarm_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    # Consumer lag that raises the iterator-age alarms.
    iterator_age_alarm_minutes: int = Field(default=15, ge=1, le=24 * 60)

    # The PREMIS organisation agent's name (None: the exporter's default).
    organization: str | None = Field(default=None, min_length=1, max_length=200)
    # A TOML agents file for the API's PREMIS (as `prov premis --agents`; None: the built-in
    # agents), relative to where cdk runs (cdk.json's directory). Read and checked at synth,
    # its text goes into the api function's environment (`cdk.query_api.agents_text`).
    agents_file: str | None = Field(default=None, min_length=1)
    # The replication endpoints every version belongs on, for the fleet's replication gaps
    # (`prov objects --unreplicated`; empty: every endpoint any version was replicated to).
    endpoints: list[Annotated[str, Field(pattern=r"^[^,\s]+$", max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    # Zone of zone-less log times (the Ruby and Sidekiq logs carry none).
    log_time_zone: str = "UTC"

    # Graviton costs a fifth less per GB-second; the asset is built for the architecture.
    architecture: Architecture = "arm64"
    ingest_memory_mb: int = Field(default=1024, ge=128, le=10_240)
    projector_memory_mb: int = Field(default=512, ge=128, le=10_240)
    api_memory_mb: int = Field(default=1024, ge=128, le=10_240)
    log_retention_days: int = 365

    # The query API's stage throttling (requests per second, and the burst above it).
    api_rate_limit: int = Field(default=50, ge=1, le=10_000)
    api_burst_limit: int = Field(default=100, ge=1, le=5_000)

    # The event table's name (default `provenance-<stage>`): staff may also open it with
    # `--store dynamodb://NAME`, so it is predictable rather than generated.
    table_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{3,255}$")

    # The staff dashboard behind a sign-in (`cdk/dashboard.py`); a stage without it has none.
    dashboard: DashboardConfig | None = None

    @field_validator("dashboard", mode="before")
    @classmethod
    def _dashboard_json(cls, value: object) -> object:
        # `-c prov:dashboard='{"host_name": ...}'`: context values are strings.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("give the dashboard's settings as a JSON object") from None
        return value

    @field_validator("access_event_expiry_days", mode="before")
    @classmethod
    def _never(cls, value: object) -> object:
        # `-c prov:access_event_expiry_days=never`: context values are strings, never null.
        if isinstance(value, str) and value.strip().lower() in ("never", "none", ""):
            return None
        return value

    @model_validator(mode="before")
    @classmethod
    def _one_shard(cls, data: Any) -> Any:
        # A provisioned stream without a shard count gets one (the default's); written as a
        # default rather than left None so the template and `prov cost` read one number.
        if not isinstance(data, Mapping) or data.get("shards") is not None:
            return data
        if data.get("stream_mode", "provisioned") == "provisioned":
            return {**data, "shards": 1}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> StageConfig:
        if self.stream_mode == "on-demand" and self.shards is not None:
            raise ValueError("shards: an on-demand stream scales itself; leave shards out")
        if self.max_record_age_hours >= self.stream_retention_hours:
            raise ValueError(
                "max_record_age_hours must be shorter than stream_retention_hours, so that "
                "records the ingest function gave up on can still be read again"
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be one of CloudWatch's: {list(LOG_RETENTION_DAYS)}"
            )
        if self.api_burst_limit < self.api_rate_limit:
            raise ValueError("api_burst_limit must be at least api_rate_limit")
        return self

    @property
    def cognito_domain_prefix(self) -> str | None:
        """The hosted sign-in page's prefix (None without a dashboard)."""
        if self.dashboard is None:
            return None
        return self.dashboard.domain_prefix or f"sdr-provenance-{self.stage}"

    @property
    def event_table_name(self) -> str:
        return self.table_name or f"provenance-{self.stage}"

    @property
    def metrics_namespace(self) -> str:
        """CloudWatch namespace of the handlers' own metrics: one per stage, so that two
        stages in one account never mix their counts."""
        return f"Provenance/{self.stage}"


def stage_config(context: Any) -> StageConfig:
    """The settings of the stage CDK context selects.

    `context` is the app's `node` (anything with `try_get_context(key)`)."""
    name = context.try_get_context(CONTEXT_STAGE) or DEFAULT_STAGE
    stages = context.try_get_context(CONTEXT_STAGES) or {}
    if not isinstance(stages, Mapping):
        raise ConfigError(f"{CONTEXT_STAGES} in cdk.json must be a table of stages")
    if name not in stages:
        known = ", ".join(sorted(stages)) or "none"
        raise ConfigError(f"no stage {name!r} in {CONTEXT_STAGES} (cdk.json); known: {known}")
    settings: dict[str, Any] = {"stage": name, **(stages[name] or {})}
    for key in StageConfig.model_fields:
        override = context.try_get_context(CONTEXT_OVERRIDE_PREFIX + key)
        if override is not None:
            settings[key] = override
    return parse_stage(settings)


def parse_stage(settings: Mapping[str, Any]) -> StageConfig:
    """Check one stage's settings; the first problem becomes one line."""
    try:
        return StageConfig.model_validate(dict(settings))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "settings"
        message = re.sub(r"^Value error, ", "", error["msg"])
        stage = settings.get("stage", "?")
        raise ConfigError(f"stage {stage}: {where}: {message}") from None
