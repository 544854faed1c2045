"""`prov ship`, `prov cost` and `prov redrive`: the operator's AWS commands (what they do is in
`provenance.aws`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from eventstore.store import MAX_LIMIT
from provenance.cli.app import FailError, ProvCommand, echo, print_json, stderr_is_terminal
from provenance.cli.options import (
    Command,
    check_store_url,
    checked_store_url,
    format_option,
    open_store,
    origin_host_option,
)
from provenance.cli.params import (
    MAX_SHIP_ATTEMPTS,
    MAX_SHIP_RECORD_BYTES,
    AccessDays,
    EndpointUrl,
    FiniteFloat,
    Text,
    WholeNumber,
)


@click.command(cls=ProvCommand)
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--stream", type=Text(), required=True, help="the Kinesis stream (name or ARN)")
@click.option(
    "--source", type=Text(), default="auto", show_default=True, help="input format, as for ingest"
)
@click.option("--service", type=Text(), default=None, help="the service the logs come from")
@origin_host_option
@click.option(
    "--endpoint-url",
    type=EndpointUrl(),
    default=None,
    metavar="URL",
    help="another Kinesis endpoint",
)
@click.option(
    "--region",
    type=Text(),
    default=None,
    help="AWS region [default: a stream ARN's (which wins over this), else AWS_REGION, else "
    "AWS_DEFAULT_REGION or the profile's]",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="where shipped offsets are kept [default: $XDG_STATE_HOME/prov/ship.db]",
)
@click.option("--once", is_flag=True, help="ship the files to their ends and exit (batch jobs)")
@click.option(
    "--poll",
    type=FiniteFloat(0.01, 3_600),
    default=1.0,
    show_default=True,
    help="seconds between looks at followed files",
)
@click.option(
    "--idle-flush",
    type=FiniteFloat(0, 86_400),
    default=30.0,
    show_default=True,
    help="seconds of quiet after which an entry still open at the end of a file is shipped "
    "(with --once: after which a file is read to its very end and its last entry finished)",
)
@click.option(
    "--tz",
    type=Text(),
    default=None,
    envvar="PROV_TZ",
    help="zone of zone-less times here (the ingest handler has its own) [env PROV_TZ]",
)
@click.option("--no-compress", is_flag=True, help="records as plain JSON instead of gzip")
@click.option("--force", is_flag=True, help="ship files that look binary all the same")
@click.option(
    "--record-bytes",
    type=WholeNumber(1, MAX_SHIP_RECORD_BYTES),
    default=None,
    help="bytes of lines to aim for per record, at most what a PutRecords call carries "
    "[default: 262144]",
)
@click.option(
    "--call-records",
    type=WholeNumber(1, 500),
    default=500,
    show_default=True,
    help="records per PutRecords call (fewer: smaller, more frequent calls)",
)
@click.option(
    "--max-attempts",
    type=WholeNumber(1, MAX_SHIP_ATTEMPTS),
    default=8,
    show_default=True,
    help="tries per record (and per call) before giving up",
)
@format_option("table", "json")
def ship(
    files: tuple[str, ...],
    stream: str,
    source: str,
    service: str | None,
    host: str,
    endpoint_url: str | None,
    region: str | None,
    state_path: str | None,
    once: bool,
    poll: float,
    idle_flush: float,
    tz: str | None,
    no_compress: bool,
    record_bytes: int | None,
    call_records: int,
    max_attempts: int,
    force: bool,
    fmt: str,
) -> None:
    """Send log FILES to a Kinesis stream, following them like `tail -F` (or --once).

    Records are `prov ship` envelopes of whole entries; progress is saved after every
    acknowledged call, so a restart goes on where the last one stopped, losing no line.
    Ctrl-C or SIGTERM stops after the current call. FILES are regular files (a pipe has no
    offsets to resume at); a compressed one (gzip, bzip2, xz) is read once, not followed.
    """
    import signal
    from dataclasses import replace

    from provenance.aws.ship import Shipper
    from provenance.aws.ship_files import check_path
    from provenance.aws.ship_options import ShipOptions
    from provenance.aws.ship_send import kinesis_client
    from provenance.aws.ship_state import ShipState, default_state_path
    from provenance.cli.render import print_ship_report, ship_progress_printer
    from provenance.domain.timezones import resolve_zone
    from provenance.sources import source_class

    source_class(source)  # unknown names fail before anything is read
    options = ShipOptions(
        stream=stream,
        source=source,
        service=service,
        host=host,
        tz=resolve_zone(tz),
        compress=not no_compress,
        max_call_records=call_records,
        max_attempts=max_attempts,
        poll_seconds=poll,
        idle_flush_seconds=idle_flush,
        force=force,
    )
    if record_bytes is not None:
        options = replace(options, record_bytes=record_bytes)
    for name in files:
        check_path(name, force=force)  # before the client or the state is touched
    client = kinesis_client(
        stream=stream, region=region, endpoint_url=endpoint_url, max_attempts=max_attempts
    )
    progress = ship_progress_printer() if stderr_is_terminal() else None
    with ShipState(state_path if state_path is not None else default_state_path()) as state:
        shipper = Shipper(
            client,
            state,
            options,
            warn=lambda message: echo(f"prov: warning: {message}", err=True),
            progress=progress,
        )

        def stop(signum: int, frame: object) -> None:
            if shipper.stopping and signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl-C: do not wait for the call
            shipper.request_stop()

        handlers = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            report = shipper.run(files, once=once)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    if progress is not None:
        echo("", err=True)
    if fmt == "json":
        print_json(report.as_json())
    else:
        print_ship_report(report)
    if report.damaged:
        # Each was warned about as it was found; the run did not read all it was given.
        raise FailError(
            f"{len(report.damaged)} compressed file(s) damaged part-way (warned above): what "
            "came before the damage is shipped"
        )


def _cost_model() -> Any:
    """`provenance.aws.cost_figures`, for its defaults in `prov cost --help` (standard library
    only)."""
    from provenance.aws import cost_figures as cost

    return cost


_COST = _cost_model()


def _dashboard_model() -> Any:
    """`provenance.aws.cost_dashboard`, for its defaults (standard library only)."""
    from provenance.aws import cost_dashboard

    return cost_dashboard


_DASHBOARD = _dashboard_model()


def _memory_option(name: str, default: int, function: str) -> Callable[[Command], Command]:
    return click.option(
        name,
        type=WholeNumber(*_COST.LAMBDA_MEMORY_MB),
        default=default,
        show_default=True,
        help=f"the {function} function's memory (MB; default: what the CDK app deploys)",
    )


@click.command(cls=ProvCommand)
@click.option(
    "--lines-per-day",
    type=FiniteFloat(0, _COST.MAX_LINES_PER_DAY),
    required=True,
    metavar="N",
    help="log lines shipped a day, every source together",
)
@click.option(
    "--access-share",
    type=FiniteFloat(0, 1),
    default=None,
    metavar="F",
    help="fraction of the lines that are web access log lines (one access event each) "
    f"[default: the benchmark's mix, {_COST.MEASURED_ACCESS_SHARE:.3f}]",
)
@click.option(
    "--access-days",
    type=AccessDays(_COST.MAX_ACCESS_DAYS),
    metavar="DAYS|never",
    default=str(_COST.ACCESS_EVENT_DAYS),
    show_default=True,
    help="days access events are kept before they expire, or 'never'",
)
@click.option(
    "--objects",
    type=WholeNumber(0, _COST.MAX_OBJECTS),
    default=None,
    metavar="N",
    help="preserved objects (ObjectState rows) [default: as many as the benchmark had per "
    "preservation event]",
)
@click.option(
    "--stream-mode",
    type=click.Choice(["on-demand", "provisioned"]),
    default=_COST.STREAM_MODE,
    show_default=True,
    help="Kinesis capacity mode (default: what the CDK app deploys)",
)
@click.option(
    "--shards",
    type=WholeNumber(1, _COST.MAX_SHARDS),
    default=None,
    metavar="N",
    help="shards of a provisioned stream [default: 1]",
)
@click.option(
    "--table-class",
    type=click.Choice(["standard", "standard-ia"]),
    default=_COST.TABLE_CLASS,
    show_default=True,
    help="DynamoDB table class (default: what the CDK app deploys): standard-ia stores for "
    "60% less and charges 25% more per read and write; a live table's class can be changed",
)
@click.option(
    "--architecture",
    type=click.Choice(["arm64", "x86_64"]),
    default=_COST.ARCHITECTURE,
    show_default=True,
    help="the Lambda functions' architecture",
)
@_memory_option("--ingest-memory-mb", _COST.INGEST_MEMORY_MB, "ingest")
@_memory_option("--projector-memory-mb", _COST.PROJECTOR_MEMORY_MB, "projector")
@_memory_option("--api-memory-mb", _COST.API_MEMORY_MB, "api")
@click.option(
    "--api-requests-per-month",
    type=WholeNumber(0, _COST.MAX_API_REQUESTS_PER_MONTH),
    default=_COST.API_REQUESTS_PER_MONTH,
    show_default=True,
    metavar="N",
    help="requests to the query API",
)
@click.option(
    "--api-ms-per-request",
    type=FiniteFloat(0, _COST.MAX_MS),
    default=_COST.API_MS_PER_REQUEST,
    show_default=True,
    metavar="MS",
    help="billed duration of one API request (assumed: not measured)",
)
@click.option(
    "--api-gateway",
    type=click.Choice(["http", "rest"]),
    default="http",
    show_default=True,
    help="API Gateway kind (HTTP API or REST API prices)",
)
@click.option(
    "--dynamodb-latency-ms",
    type=FiniteFloat(0, _COST.MAX_MS),
    default=_COST.DYNAMODB_LATENCY_MS,
    show_default=True,
    metavar="MS",
    help="time a function waits per DynamoDB call, billed as compute (assumed: not measured)",
)
@click.option(
    "--month",
    type=WholeNumber(1, _COST.MAX_MONTH),
    default=_COST.MONTH_SHOWN,
    show_default=True,
    metavar="N",
    help="the month of running whose bill is shown (storage grows month by month)",
)
@click.option(
    "--dashboard",
    is_flag=True,
    help="the stage has the staff dashboard (cdk.json `dashboard`): add its load balancer, "
    "public IPv4 addresses and Cognito users (about $24 a month fixed)",
)
@click.option(
    "--dashboard-users",
    type=WholeNumber(0, _DASHBOARD.MAX_DASHBOARD_USERS),
    default=_DASHBOARD.DASHBOARD_USERS,
    show_default=True,
    metavar="N",
    help="with --dashboard: staff signing in to the user pool itself in a month",
)
@click.option(
    "--dashboard-federated-users",
    type=WholeNumber(0, _DASHBOARD.MAX_DASHBOARD_USERS),
    default=0,
    show_default=True,
    metavar="N",
    help="with --dashboard: staff signing in through the institution's SAML or OIDC provider",
)
@click.option(
    "--dashboard-requests-per-month",
    type=WholeNumber(0, _DASHBOARD.MAX_DASHBOARD_REQUESTS),
    default=_DASHBOARD.DASHBOARD_REQUESTS_PER_MONTH,
    show_default=True,
    metavar="N",
    help="with --dashboard: pages and answers through the load balancer",
)
@format_option("table", "json")
def cost(
    lines_per_day: float,
    access_share: float | None,
    access_days: int | None,
    objects: int | None,
    stream_mode: str,
    shards: int | None,
    table_class: str,
    architecture: str,
    ingest_memory_mb: int,
    projector_memory_mb: int,
    api_memory_mb: int,
    api_requests_per_month: int,
    api_ms_per_request: float,
    api_gateway: str,
    dynamodb_latency_ms: float,
    month: int,
    dashboard: bool,
    dashboard_users: int,
    dashboard_federated_users: int,
    dashboard_requests_per_month: int,
    fmt: str,
) -> None:
    """Estimate the monthly AWS bill of the deployed pipeline (Kinesis, Lambda, DynamoDB, API
    Gateway; with --dashboard, the staff dashboard's load balancer and Cognito) from list
    prices and the units the AWS benchmark measured, with its assumptions."""
    from provenance.aws.cost import Inputs, estimate
    from provenance.aws.cost_text import render_table

    if _COST.UNITS_ERROR is not None:
        raise FailError(f"$PROV_COST_UNITS: {_COST.UNITS_ERROR}")
    # The choices were checked by click; the estimate checks the rest.
    chosen: dict[str, Any] = {
        "stream_mode": stream_mode,
        "table_class": table_class,
        "architecture": architecture,
        "api_gateway": api_gateway,
    }
    if access_share is not None:
        chosen["access_share"] = access_share
    result = estimate(
        Inputs(
            lines_per_day=lines_per_day,
            access_days=access_days,
            objects=objects,
            shards=shards,
            ingest_memory_mb=ingest_memory_mb,
            projector_memory_mb=projector_memory_mb,
            api_memory_mb=api_memory_mb,
            api_requests_per_month=api_requests_per_month,
            api_ms_per_request=api_ms_per_request,
            dynamodb_latency_ms=dynamodb_latency_ms,
            month=month,
            dashboard=dashboard,
            dashboard_users=dashboard_users,
            dashboard_federated_users=dashboard_federated_users,
            dashboard_requests_per_month=dashboard_requests_per_month,
            **chosen,
        )
    )
    if fmt == "json":
        print_json(result.as_json())
        return
    echo(render_table(result))


@click.command(cls=ProvCommand)
@click.option(
    "--queue",
    "queue_url",
    type=Text(),
    required=True,
    metavar="URL",
    help="the ingest function's failure queue URL (the stack's IngestFailureQueueUrl)",
)
@click.option(
    "--store",
    "store_url",
    envvar="PROV_STORE",
    required=True,
    metavar="URL",
    callback=checked_store_url,
    help="the deployment's store (the store stack's StoreUrl) [env PROV_STORE]",
)
@click.option(
    "--max-messages",
    type=WholeNumber(1, MAX_LIMIT),
    default=None,
    metavar="N",
    help="handle at most N messages [default: until the queue is empty]",
)
@click.option("--dry-run", is_flag=True, help="read the records; store and delete nothing")
@click.option(
    "--tz",
    type=Text(),
    default=None,
    envvar="PROV_TZ",
    metavar="ZONE",
    help="the deployment's zone of zone-less log times (required) [env PROV_TZ]",
)
@click.option(
    "--access-event-days",
    type=Text(),
    default=None,
    envvar="PROV_ACCESS_EVENT_DAYS",
    metavar="DAYS|never",
    help="the deployment's access event retention: days, or never (required; its "
    "access_event_expiry_days) [env PROV_ACCESS_EVENT_DAYS]",
)
@click.option(
    "--access-policy",
    "policy_path",
    envvar="PROV_ACCESS_POLICY",
    default=None,
    metavar="FILE",
    help="the deployment's access policy file, if it has one (your own is never read) "
    "[env PROV_ACCESS_POLICY; default: the built-in rules]",
)
@click.option(
    "--pseudonym-key-secret",
    "key_secret",
    type=Text(),
    envvar="PROV_PSEUDONYM_KEY_SECRET",
    default=None,
    metavar="ARN",
    help="the Secrets Manager secret holding the deployment's pseudonym key "
    "[env PROV_PSEUDONYM_KEY_SECRET; or give the key in PROV_PSEUDONYM_KEY]",
)
@click.option(
    "--region",
    type=Text(),
    default=None,
    help="the queue's region [default: from the queue URL, else AWS_REGION, else "
    "AWS_DEFAULT_REGION or the profile's]",
)
@click.option(
    "--endpoint-url",
    type=EndpointUrl(),
    default=None,
    metavar="URL",
    help="another endpoint for SQS, Kinesis and Secrets Manager",
)
@click.option(
    "--wait",
    "wait_seconds",
    type=WholeNumber(0, 20),
    default=2,
    show_default=True,
    metavar="SECONDS",
    help="long polling: how long to wait for a message before taking the queue as empty",
)
@format_option("table", "json")
def redrive(
    queue_url: str,
    store_url: str,
    max_messages: int | None,
    dry_run: bool,
    tz: str | None,
    access_event_days: str | None,
    policy_path: str | None,
    key_secret: str | None,
    region: str | None,
    endpoint_url: str | None,
    wait_seconds: int,
    fmt: str,
) -> None:
    """Ingest again the Kinesis records the ingest function gave up on.

    Each message of the failure queue names a batch Lambda gave up on (a store outage longer
    than its retries, or records older than its maximum age): its records are read from the
    stream again and ingested as the function does, so events get the ids they would have had
    (what was stored after all counts as duplicates). A message is deleted once all its
    records are stored. Kept, with a line saying why: records gone from the stream (past its
    retention), projector failures (run `prov rebuild` after fixing the cause) and messages
    that are not failure records. Give the settings the function has: its zone (--tz), access
    event retention (--access-event-days), pseudonym key and access policy, if any (your own
    ~/.config/sdr-provenance/access-policy.toml is never read). Exit code 1 when a message
    was kept.
    """
    from provenance.aws.deployment import ingest_options
    from provenance.aws.redrive import AwsClients, RedriveOptions
    from provenance.aws.redrive import redrive as run_redrive
    from provenance.projections import object_state

    check_store_url(store_url)  # PROV_STORE too, before any AWS client is made
    options = ingest_options(
        tz=tz,
        access_event_days=access_event_days,
        policy_path=Path(policy_path) if policy_path else None,
        key_secret=key_secret,
        region=region,
        endpoint_url=endpoint_url,
    )
    clients = AwsClients(queue_url, region=region, endpoint_url=endpoint_url)
    run = RedriveOptions(
        queue_url=queue_url,
        max_messages=max_messages,
        dry_run=dry_run,
        wait_seconds=wait_seconds,
    )

    def echo_message(result: Any) -> None:
        echo(result.line(dry_run=dry_run))

    with open_store(store_url, create=False) as store:
        # A store that does not answer fails now, before any message is taken from the queue.
        # A batch read: the ingest function's table actions (all redrive needs) have no GetItem.
        store.get_projections(object_state.PROJECTION, ["redrive-check"])
        if dry_run and fmt == "table":
            echo("dry run: nothing is stored or deleted")
        report = run_redrive(
            store, run, options, clients, on_message=echo_message if fmt == "table" else None
        )
    if fmt == "json":
        print_json(report.as_json())
    elif not report.messages:
        echo(f"no messages in {queue_url}")
    else:
        for line in report.summary():
            echo(line)
    if report.stopped:
        raise FailError(report.stopped)
    if report.kept:
        verb = "would be kept" if dry_run else "kept"
        raise FailError(
            f"{len(report.kept):,} of {len(report.messages):,} messages {verb} in the queue "
            "(their lines say why)"
        )
