"""What the staff dashboard adds to the bill (`prov cost --dashboard`), for a stage with
`dashboard` settings (`cdk/dashboard.py`): an Application Load Balancer, its public IPv4
addresses, the Cognito user pool's monthly active users, and the api function's work for the
dashboard's requests (which reach it through the ALB, not API Gateway).

Most of it is fixed: the ALB's hours and its addresses are billed whether anyone looks or not
(about $24 a month); LCUs, users and requests are what varies. A stage without a dashboard pays
none of it.

Prices: us-east-1 list prices, as the pages below gave them (recheck before quoting money).
"""

from __future__ import annotations

from dataclasses import dataclass

from provenance.aws.cost_figures import (
    HOURS_PER_MONTH,
    LAMBDA_GB_SECOND,
    LAMBDA_REQUEST,
    Architecture,
    Service,
)

# Elastic Load Balancing pricing (https://aws.amazon.com/elasticloadbalancing/pricing/, us-east-1,
# as transcribed in api-evangelist/amazon-elastic-load-balancing plans/…-plans-pricing.yml, read
# 2026-09-20): an Application Load Balancer costs $0.0225 an hour and $0.008 per LCU-hour. An LCU
# is the most of: 25 new connections a second, 3,000 active connections a minute, 0.4 GB an
# hour processed for Lambda targets (1 GB for others), 1,000 rule evaluations a second.
ALB_HOUR = 0.0225
ALB_LCU_HOUR = 0.008
LCU_NEW_CONNECTIONS_PER_SECOND = 25
LCU_LAMBDA_GB_PER_HOUR = 0.4
# Public IPv4 addresses: "Starting on February 1, 2024, Amazon Web Services will charge for all
# public IPv4 addresses" (EC2 API reference, Subnet.map_public_ip_on_launch, pointing at the
# "Public IPv4 Address" tab of https://aws.amazon.com/vpc/pricing/), load balancers' included;
# $0.005 an address-hour as AWS announced it in July 2023 (quoted by
# https://github.com/LeanerCloud/aws-ipv4-cost-viewer, "3.65 USD monthly" per address, and
# cmbuckley.github.io, 2024-01-28). An internet-facing ALB has one per zone: two here.
PUBLIC_IPV4_HOUR = 0.005
ALB_PUBLIC_IPV4_ADDRESSES = 2
# Amazon Cognito pricing (https://aws.amazon.com/cognito/pricing/, as transcribed in
# api-evangelist/amazon-cognito plans/amazon-cognito-plans-pricing.yml, read 2026-09-20): the
# Lite feature plan (cdk/dashboard.py's) bills $0.0055 per monthly active user above a free
# tier of 10,000 MAUs per account; users federated through SAML or OIDC have their own free
# tier of 50 MAUs per account and $0.015 per MAU above it. A user counts once in a month in
# which they sign in (or an administrator creates or changes them).
COGNITO_LITE_MAU = 0.0055
COGNITO_LITE_FREE_MAU = 10_000
COGNITO_FEDERATED_MAU = 0.015
COGNITO_FEDERATED_FREE_MAU = 50

# Assumptions, not measurements.
DASHBOARD_USERS = 20
"""Staff who sign in in a month."""
DASHBOARD_REQUESTS_PER_MONTH = 20_000
"""Pages and JSON answers through the ALB (about 1,000 per user a month)."""
DASHBOARD_KB_PER_REQUEST = 40.0
"""Bytes through the ALB per request, both ways (a gzipped page with its assets)."""
MAX_DASHBOARD_USERS = 10**9
MAX_DASHBOARD_REQUESTS = 10**12


@dataclass(frozen=True, slots=True)
class Charge:
    """One line item of the dashboard's (`provenance.aws.cost.LineItem`'s fields)."""

    service: Service
    item: str
    quantity: float
    unit: str
    dollars: float


def dashboard_charges(
    *,
    users: int,
    federated_users: int,
    requests_per_month: int,
    api_ms_per_request: float,
    api_memory_mb: int,
    architecture: Architecture,
) -> list[Charge]:
    """The dashboard's month: fixed hours and addresses, then what its use adds."""
    hours = HOURS_PER_MONTH
    # Averaged over the month: staff traffic is light, and even a busy hour stays far below one
    # LCU (25 new connections a second is 90,000 requests an hour).
    per_hour = requests_per_month / hours
    gb_per_hour = per_hour * DASHBOARD_KB_PER_REQUEST * 1024 / 1024**3
    lcus = max(
        per_hour / 3600 / LCU_NEW_CONNECTIONS_PER_SECOND, gb_per_hour / LCU_LAMBDA_GB_PER_HOUR
    )
    lcu_hours = lcus * hours
    addresses = ALB_PUBLIC_IPV4_ADDRESSES * hours
    billed_users = max(0, users - COGNITO_LITE_FREE_MAU)
    billed_federated = max(0, federated_users - COGNITO_FEDERATED_FREE_MAU)
    gb_seconds = requests_per_month * api_ms_per_request / 1000 * api_memory_mb / 1024
    return [
        Charge("ELB", "ALB hours (fixed)", hours, "hours", hours * ALB_HOUR),
        Charge("ELB", "ALB LCU-hours", lcu_hours, "LCU-h", lcu_hours * ALB_LCU_HOUR),
        Charge(
            "ELB",
            f"public IPv4 addresses ({ALB_PUBLIC_IPV4_ADDRESSES}, fixed)",
            addresses,
            "IP-hours",
            addresses * PUBLIC_IPV4_HOUR,
        ),
        Charge(
            "Cognito",
            f"Lite MAUs ({users:,}; first {COGNITO_LITE_FREE_MAU:,} free)",
            billed_users,
            "MAU",
            billed_users * COGNITO_LITE_MAU,
        ),
        Charge(
            "Cognito",
            f"federated MAUs ({federated_users:,}; first {COGNITO_FEDERATED_FREE_MAU} free)",
            billed_federated,
            "MAU",
            billed_federated * COGNITO_FEDERATED_MAU,
        ),
        Charge(
            "Lambda",
            f"api compute, dashboard requests, {architecture}",
            gb_seconds,
            "GB-s",
            gb_seconds * LAMBDA_GB_SECOND[architecture],
        ),
        Charge(
            "Lambda",
            "requests, dashboard",
            requests_per_month,
            "requests",
            requests_per_month * LAMBDA_REQUEST,
        ),
    ]


def dashboard_assumption(users: int, federated_users: int, requests_per_month: int) -> str:
    """What the dashboard's line items rest on (one of `prov cost`'s assumptions)."""
    fixed = HOURS_PER_MONTH * (ALB_HOUR + ALB_PUBLIC_IPV4_ADDRESSES * PUBLIC_IPV4_HOUR)
    return (
        f"Dashboard (the stage has `dashboard` settings): ${fixed:,.2f} a month is fixed, "
        f"whether anyone looks or not: the ALB's hours (${ALB_HOUR} an hour) and its "
        f"{ALB_PUBLIC_IPV4_ADDRESSES} public IPv4 addresses (${PUBLIC_IPV4_HOUR} an hour each, "
        f"billed since 2024). LCUs (${ALB_LCU_HOUR} an LCU-hour) for {requests_per_month:,} "
        f"requests of {DASHBOARD_KB_PER_REQUEST:g} KB a month, spread evenly (assumed). Cognito "
        f"Lite: {users:,} users signing in directly ({COGNITO_LITE_FREE_MAU:,} a month free, "
        f"then ${COGNITO_LITE_MAU} each) and {federated_users:,} through the institution's "
        f"SAML or OIDC provider ({COGNITO_FEDERATED_FREE_MAU} free, then "
        f"${COGNITO_FEDERATED_MAU}). The api function answers the dashboard's requests at the "
        "API's assumed duration; they do not pass API Gateway. Not counted: the access-log "
        "bucket's storage, data transfer out, Route 53. A stage without a dashboard pays none "
        "of this."
    )
