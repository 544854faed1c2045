"""The `prov` command: the contract of DESIGN.md ("Command line").

Parses arguments, calls one application function, prints the result. Heavy modules (pydantic,
lxml, rdflib, the sources) are imported inside the commands so `prov --help` answers at once.
Exit codes: 0 ok, 1 usage or input error (one line on stderr), 2 not found. Nothing else in
the project prints to the terminal or decides exit codes.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from eventstore.store import MAX_LIMIT
from provenance.cli.params import (
    MAX_SERVE_THREADS,
    MAX_SHIP_ATTEMPTS,
    MAX_SHIP_RECORD_BYTES,
    AccessDays,
    EndpointUrl,
    FiniteFloat,
    IsoTime,
    Text,
    WholeNumber,
)

if TYPE_CHECKING:
    from eventstore import EventStore
    from provenance.aws.api_client import ApiClient
    from provenance.aws.ship import ShipReport
    from provenance.ingest.report import IngestReport

DEFAULT_STORE_PATH = (
    Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    / "sdr-provenance"
    / "provenance.db"
)
_Command = TypeVar("_Command", bound=Callable[..., Any])
EXIT_INPUT = 1
EXIT_NOT_FOUND = 2


def _check_store_url(url: str) -> None:
    """Refuse a store URL without scheme (a bare path would become a new, empty store wherever
    prov runs) or otherwise malformed, in one line naming where it came from."""
    from click.core import ParameterSource

    from eventstore.errors import StoreUnavailableError
    from eventstore.url import check_store_url

    try:
        check_store_url(url)
    except StoreUnavailableError as exc:
        context = click.get_current_context(silent=True)
        from_env = (
            context is not None
            and context.get_parameter_source("store_url") is ParameterSource.ENVIRONMENT
        )
        raise click.UsageError(f"{'PROV_STORE' if from_env else '--store'}: {exc}") from None


def _checked_store_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--store` typed on the command line is checked at once, before any work is done;
    PROV_STORE when a store is opened (a command asking `--api` never reads it)."""
    from click.core import ParameterSource

    if value is not None and ctx.get_parameter_source(param.name or "") is (
        ParameterSource.COMMANDLINE
    ):
        _check_store_url(value)
    return value


store_option = click.option(
    "--store",
    "store_url",
    envvar="PROV_STORE",
    default=None,
    metavar="URL",
    callback=_checked_store_url,
    help="sqlite:///path.db (sqlite:////abs/path.db) or dynamodb://TABLE?region=R "
    f"[env PROV_STORE; default sqlite:///{DEFAULT_STORE_PATH}]",
)
# The queries a deployed pipeline answers too: `--api URL` asks its query API instead of a store.
api_option = click.option(
    "--api",
    "api_url",
    type=EndpointUrl(),
    envvar="PROV_API",
    default=None,
    metavar="URL",
    help="ask a deployed query API (its base URL) instead of a store; requests are signed "
    "with your AWS credentials (SigV4) [env PROV_API]",
)
region_option = click.option(
    "--region",
    type=Text(),
    default=None,
    metavar="REGION",
    help="with --api: the AWS region to sign for [default: from the URL, else AWS_REGION or "
    "the AWS configuration's]",
)


def _api_options(command: _Command) -> _Command:
    return api_option(region_option(command))


def _api_client(store_url: str | None, api_url: str | None, region: str | None) -> ApiClient | None:
    """The client of the API to ask instead of the store (--api), or None to read the store.

    On the command line --api and --store exclude each other; one given there beats the other's
    environment variable (PROV_API, PROV_STORE), and both variables set is as ambiguous.
    """
    from click.core import ParameterSource

    if api_url is not None and store_url is not None:
        context = click.get_current_context()
        api_given = context.get_parameter_source("api_url") is ParameterSource.COMMANDLINE
        store_given = context.get_parameter_source("store_url") is ParameterSource.COMMANDLINE
        if api_given == store_given:
            raise click.UsageError(
                "--api and --store exclude each other: ask a deployed API or read a store"
                if api_given
                else "PROV_API and PROV_STORE are both set: choose with --api or --store"
            )
        if store_given:
            api_url = None
    if api_url is None:
        if region is not None:
            raise click.UsageError("--region goes with --api (a store URL names its own region)")
        return None
    from provenance.aws.api_client import ApiClient

    return ApiClient(api_url, region=region)


# The origin of events read from log files: part of their identity (DESIGN.md, "Event
# identity"). One definition for `ingest` and `ship`, so the same file gives the same ids
# whichever way it goes. The default is no origin rather than this machine's name: the origin
# names the machine that wrote the log, and `prov ingest` mostly reads copies elsewhere.
origin_host_option = click.option(
    "--host",
    type=Text(),
    envvar="PROV_HOST",
    default="",
    metavar="NAME",
    help="the machine that wrote the logs, part of event identity: give each machine of a "
    "service its own [env PROV_HOST; default: none]",
)

access_policy_option = click.option(
    "--access-policy",
    "policy_path",
    envvar="PROV_ACCESS_POLICY",
    default=None,
    metavar="FILE",
    help="agent rules, pseudonyms, retention (TOML) [env PROV_ACCESS_POLICY]",
)


def _format_option(*choices: str) -> Callable[[_Command], _Command]:
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True
    )


class _FailError(Exception):
    """A one-line error for the user, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def _open_store(url: str | None, *, create: bool = False) -> EventStore:
    from eventstore import open_store

    if url is None:
        url = f"sqlite:///{DEFAULT_STORE_PATH}"
        if create:
            DEFAULT_STORE_PATH.parent.mkdir(parents=True, exist_ok=True)
    else:
        _check_store_url(url)
    return open_store(url, create=create)


def _refuse_writing_the_store(target: str | None, store_url: str | None) -> None:
    """A file a command writes (`-o`, `--chart`) must not be the store it reads, through a
    symlink or a hard link, nor one of its side files: the store would be replaced by what is
    written."""
    from eventstore.sqlite import SIDE_FILE_SUFFIXES
    from eventstore.url import sqlite_file
    from provenance.files.output_file import STDOUT, OutputError, same_file

    if target is None or target == STDOUT:
        return
    url = store_url or f"sqlite:///{DEFAULT_STORE_PATH}"
    _check_store_url(url)
    path = sqlite_file(url)
    if path is None:
        return
    # SQLite puts the side files beside the real file, the symlinks resolved. A side file is
    # compared by name too: opening the store makes its -wal, after this check.
    real = os.path.realpath(path)
    side_files = [f"{real}{suffix}" for suffix in SIDE_FILE_SUFFIXES]
    if any(same_file(target, name) for name in (path, *side_files)) or (
        os.path.realpath(target) in side_files
    ):
        raise OutputError(target, f"it is the store this command reads ({url})")


def _echo(text: str, *, err: bool = False) -> None:
    """Print one line for a person, or a rendered table (`TerminalText`). Everything `prov`
    prints for a person goes through here or `_fail` (JSON, CSV and the progress counter do
    not), so a control character from a log or an argument is shown as an escape."""
    from provenance.domain.terminal import TerminalText, visible
    from provenance.files.output_file import standard_output

    shown = text if isinstance(text, TerminalText) else visible(text)
    if err:
        click.echo(shown, err=True)  # closed (`2>&-`): nothing shown, as click does
    else:
        with _writing_stdout():
            click.echo(shown, file=standard_output())


def _print_json(document: Any) -> None:
    from provenance.domain.terminal import json_text
    from provenance.files.output_file import standard_output

    with _writing_stdout():
        click.echo(json_text(document), file=standard_output())


@contextmanager
def _writing_stdout() -> Iterator[None]:
    """Around every write to standard output (`_echo`, `_print_json`, the CSV writer, the last
    flush in `main`): a write the system refuses (`> /dev/full`, a full disk) is the one-line
    `cannot write -: REASON`, and what is still buffered for stdout is dropped (it would fail
    again as Python exits). A reader that left (BrokenPipeError) goes on to `main`, which ends
    quietly. Files named with `-o`, `-` included, have their own rule (`output_file`)."""
    from provenance.files.output_file import STDOUT, OutputError

    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        _discard_stdout()
        raise OutputError(STDOUT, _reason(exc)) from None


def _discard_stdout() -> None:
    """Point standard output at /dev/null: what is still buffered for it is dropped when Python
    flushes it, instead of failing again on the way out."""
    with suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


class _ReaderLeft(Exception):  # noqa: N818  (not an error: the end of a pipeline)
    """Standard output's reader went away (`prov ... | head`): `main` ends quietly."""


@contextmanager
def _clicks_own_output() -> Iterator[None]:
    """Around click's parsing of a command line, where it prints the help and the version
    itself (`click.echo`, then `ctx.exit()`), outside `_echo`: the same rules as everything
    `prov` prints. A refused write (`prov --help > /dev/full`) is `cannot write -: REASON`
    rather than a traceback; a closed stdout is `cannot write -: standard output is closed`
    (click prints nothing and ends with 0); a reader that left reaches `main` as `_ReaderLeft`.
    Parsing does no other I/O (the options' types and callbacks read nothing), so an OSError
    here is a write to stdout."""
    from provenance.files.output_file import STDOUT, STDOUT_CLOSED, OutputError

    try:
        with _writing_stdout():
            yield
    except BrokenPipeError as exc:
        raise _ReaderLeft from exc
    except click.exceptions.Exit as exc:
        # Parsing ends early with 0 only after printing the help or the version.
        if exc.exit_code == 0 and sys.stdout is None:
            raise OutputError(STDOUT, STDOUT_CLOSED) from None
        raise


class _ProvCommand(click.Command):
    """Every `prov` command: what click prints while parsing its command line (its --help)
    follows `_clicks_own_output`. A subcommand's line is parsed by its own `make_context`,
    inside the group's `invoke`, hence a class for the commands and not only the group."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with _clicks_own_output():
            return super().make_context(info_name, args, parent, **extra)


class _Prov(_ProvCommand, click.Group):
    """The `prov` group (and `prov report`): a broken pipe, wherever it happens (a command, its
    --help), reaches `main` as `_ReaderLeft`. Click itself would end the process with exit
    code 1 and no word, before `main` could tell a reader that left from a real error."""

    command_class = _ProvCommand
    group_class = type  # a subgroup is a `_Prov` too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _ReaderLeft from exc


@click.group(cls=_Prov, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sdr-provenance")
def cli() -> None:
    """Preservation logs -> provenance events -> object history, state and PREMIS 3."""


@cli.command()
@store_option
def init(store_url: str | None) -> None:
    """Create the event store (idempotent): an SQLite file, or a DynamoDB table with its
    feed index, stream and TTL."""
    from eventstore.url import init_store

    if store_url is None:
        with _open_store(store_url, create=True):
            pass
        _echo(f"store ready: sqlite:///{DEFAULT_STORE_PATH}")
        return
    _check_store_url(store_url)
    _echo(f"{init_store(store_url)}: {store_url}")


@cli.command()
@store_option
@click.option(
    "--source", type=Text(), default="auto", show_default=True, help="input format (see below)"
)
@click.option("--service", type=Text(), default=None, help="the service the logs come from")
@origin_host_option
@click.option(
    "--tz",
    type=Text(),
    default=None,
    envvar="PROV_TZ",
    help="zone of zone-less times [env PROV_TZ]",
)
@access_policy_option
@click.option(
    "--recursive",
    "-r",
    is_flag=True,
    help="read the files below a directory given (sorted by path; binary ones passed by)",
)
@click.option("--force", is_flag=True, help="read inputs that look binary all the same")
@_format_option("table", "json")
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
def ingest(
    store_url: str | None,
    source: str,
    service: str | None,
    host: str,
    tz: str | None,
    policy_path: str | None,
    recursive: bool,
    force: bool,
    fmt: str,
    files: tuple[str, ...],
) -> None:
    """Read log FILES (or - for stdin) into the store.

    Sources: prescat, robots, sdr-events (preservation logs); clf, lograge, rails (web access
    logs: give --service); auto (detect per line).

    FILES may be gzip, bzip2 or xz compressed (told by their content), pipes or process
    substitutions; lines longer than 512 KiB are quarantined in part. A file with NUL bytes in
    its first 8 KiB is refused as binary unless --force.
    """
    from premis.escaping import visible_surrogates
    from provenance.access.policy import AccessPolicy
    from provenance.domain.timezones import resolve_zone
    from provenance.ingest.inputs import DamagedInputError, InputError, open_input, probe, resolve
    from provenance.ingest.pipeline import ingest_stream
    from provenance.ingest.reader import IngestOptions
    from provenance.ingest.report import IngestReport
    from provenance.sources import source_class

    source_class(source)  # unknown names fail before anything is read
    options = IngestOptions(
        source=source,
        origin=host,
        service=service,
        tz=resolve_zone(tz),
        # Loaded before anything is read, so a mistake in the policy stops the run at once.
        access_policy=AccessPolicy.load(Path(policy_path) if policy_path else None),
    )
    # Every name is checked, and every file's first block, before anything is read.
    inputs = []
    report = IngestReport()
    for item in resolve(files, recursive=recursive):
        binary = None if force else probe(item)
        if binary is None:
            inputs.append(item)
        elif item.found:
            report.passed_by[visible_surrogates(item.name)] = binary
            _echo(f"prov: note: passing by {item.name}: {binary} (--force reads it)", err=True)
        else:
            raise _FailError(f"{item.name} {binary}: use --force to read it anyway")
    progress = _progress_printer() if _stderr_is_terminal() else None
    failed: list[str] = []
    with _open_store(store_url, create=True) as store:
        for item in inputs:
            lines_before = report.lines
            try:
                with open_input(item, force=force) as stream:
                    ingest_stream(store, stream, item.name, options, report, progress)
            except InputError as exc:
                # A stream found binary, or damage part-way: the other inputs go on, and what
                # came before the damage is stored and counted.
                message = str(exc)
                if isinstance(exc, DamagedInputError):
                    message += f": the {report.lines - lines_before:,} lines before it are stored"
                failed.append(message)
    if progress is not None:
        _echo("", err=True)
    if fmt == "json":
        _print_json(report.as_json())
    else:
        _print_ingest_report(report)
    if failed:
        for message in failed[:-1]:
            _echo(f"prov: error: {message}", err=True)
        raise _FailError(failed[-1])


def _print_ingest_report(report: IngestReport) -> None:
    from provenance.ingest.report import natural_order

    _echo(
        f"{report.lines:,} lines: {report.consumed:,} consumed, {report.ignored:,} ignored, "
        f"{report.quarantined:,} quarantined"
    )
    _echo(f"{report.events:,} new events, {report.duplicates:,} already stored")
    for kind, count in sorted(report.by_type.items()):
        _echo(f"  {kind:<28} {count:>9,}")
    for label, reasons in (
        ("ignored", report.ignored_by_reason),
        ("quarantined", report.quarantined_by_reason),
    ):
        for reason, count in natural_order(reasons):
            _echo(f"  {label}: {reason} ({count:,} lines)")


def _progress_printer() -> Any:
    def show(lines: int) -> None:
        click.echo(f"\r{lines:,} lines read", nl=False, err=True)

    return show


@cli.command()
@click.argument("druid")
@store_option
@_api_options
@click.option("--limit", type=WholeNumber(0, MAX_LIMIT), default=None, help="at most N events")
@click.option(
    "--after", type=Text(), default=None, metavar="CURSOR", help="continue after this cursor"
)
@_format_option("table", "json")
def history(
    druid: str,
    store_url: str | None,
    api_url: str | None,
    region: str | None,
    limit: int | None,
    after: str | None,
    fmt: str,
) -> None:
    """One object's events in time order."""
    client = _api_client(store_url, api_url, region)
    if client is not None:
        events = client.history(druid, limit=limit, after=after)
    else:
        from provenance.query.views import object_history

        with _open_store(store_url) as store:
            events = object_history(store, druid, limit=limit, after=after)
    if fmt == "json":
        _print_json(events)
        return
    from provenance.cli.render import history_table

    _echo(history_table(events))


@cli.command()
@click.argument("druid")
@store_option
@_api_options
@_format_option("table", "json")
def state(
    druid: str, store_url: str | None, api_url: str | None, region: str | None, fmt: str
) -> None:
    """An object's current preservation state (the Object State Dashboard)."""
    client = _api_client(store_url, api_url, region)
    if client is not None:
        view = client.state(druid)
    else:
        from provenance.query.views import object_state_view

        with _open_store(store_url) as store:
            view = object_state_view(store, druid)
    if fmt == "json":
        _print_json(view)
        return
    from provenance.cli.render import state_table

    _echo(state_table(view))


@cli.command()
@click.argument("druid")
@store_option
@_api_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xml", "turtle", "json-ld"]),
    default="xml",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="file to write (- for stdout, the default); written atomically, see the README",
)
@click.option("--validate", is_flag=True, help="validate against the PREMIS 3 XSD before writing")
@click.option(
    "--organization",
    type=Text(),
    envvar="PROV_ORGANIZATION",
    default=None,
    help="the organisation agent's name [env PROV_ORGANIZATION]",
)
def premis(
    druid: str,
    store_url: str | None,
    api_url: str | None,
    region: str | None,
    fmt: str,
    output: str | None,
    validate: bool,
    organization: str | None,
) -> None:
    """Export one object's history as a PREMIS 3 document."""
    client = _api_client(store_url, api_url, region)
    if client is not None:
        from click.core import ParameterSource

        from provenance.aws.api_client import write_premis

        if click.get_current_context().get_parameter_source("organization") is (
            ParameterSource.COMMANDLINE
        ):
            raise click.UsageError(
                "--organization names the agent when PREMIS is made from a store; the API uses "
                "the one it was deployed with"
            )
        if validate and fmt != "xml":
            raise _FailError("--validate checks the XML against the PREMIS XSD: use --format xml")
        write_premis(client.premis(druid, fmt), target=output, validate=validate)
        _wrote(output)
        return
    from provenance.query.premis_export import ExportOptions, export_object

    _refuse_writing_the_store(output, store_url)
    options = ExportOptions(organization=organization) if organization else ExportOptions()
    with _open_store(store_url) as store:
        export_object(store, druid, fmt=fmt, target=output, validate=validate, options=options)
    _wrote(output)


def _wrote(output: str | None) -> None:
    if output is not None and output != "-":
        _echo(f"wrote {output}", err=True)


@cli.command()
@store_option
@click.option("--limit", type=WholeNumber(0, MAX_LIMIT), default=None, help="at most N entries")
@click.option(
    "--replay",
    is_flag=True,
    help="run every quarantined entry through the parsers again (after a parser fix)",
)
@click.option(
    "--tz",
    type=Text(),
    default=None,
    envvar="PROV_TZ",
    help="with --replay: zone of zone-less times",
)
@_format_option("table", "json")
def quarantine(
    store_url: str | None, limit: int | None, replay: bool, tz: str | None, fmt: str
) -> None:
    """Lines that were not understood, kept verbatim with the reason."""
    if replay:
        from provenance.domain.timezones import resolve_zone
        from provenance.ingest.reader import IngestOptions
        from provenance.ingest.replay import replay_quarantine

        with _open_store(store_url) as store:
            report = replay_quarantine(store, IngestOptions(tz=resolve_zone(tz)))
        if fmt == "json":
            _print_json(report.as_json())
        else:
            _echo(
                f"{report.lines:,} quarantined lines replayed: {report.events:,} new events, "
                f"{report.quarantined:,} lines still not understood"
            )
        return
    from provenance.cli.render import quarantine_table
    from provenance.query.views import quarantined_lines

    with _open_store(store_url) as store:
        items = quarantined_lines(store, limit=limit)
    if fmt == "json":
        _print_json(items)
        return
    if items:
        _echo(quarantine_table(items))
    _echo(f"{len(items)} quarantined entries", err=True)


@cli.command()
@store_option
def rebuild(store_url: str | None) -> None:
    """Rebuild every projection from the events alone."""
    from provenance.projections import access_counts, object_state

    with _open_store(store_url) as store:
        if store.projected_by_stream:
            # A rebuild clears the applied-markers too: an event still on its way through the
            # table's stream would then be counted twice.
            _echo(
                "note: the projector must be stopped with nothing in flight (ingest paused, "
                "the projector's iterator age 0): see the README, 'Watching it'",
                err=True,
            )
        for name, rebuild_one in (
            ("object_state", object_state.rebuild),
            ("access_counts", access_counts.rebuild),
        ):
            count = rebuild_one(store)
            _echo(f"{name} rebuilt from {count:,} events")


@cli.command()
@store_option
def expire(store_url: str | None) -> None:
    """Delete access events past their retention (their hourly counts stay)."""
    from datetime import UTC, datetime

    from provenance.projections import access_counts

    with _open_store(store_url) as store:
        if store.projected_by_stream:
            _echo(
                "nothing to do here: the table's TTL deletes access events when their "
                "retention ends, and the projector keeps their counts"
            )
            return
        result = access_counts.expire(store, datetime.now(UTC))
    _echo(
        f"{result.deleted:,} access events expired"
        + (f" (the latest from {result.latest.isoformat()})" if result.latest else "")
    )


@cli.group()
def report() -> None:
    """Reports over the stored events."""


@report.command("access")
@store_option
@_api_options
@click.option(
    "--by",
    "by",
    type=Text(),
    default="service",
    show_default=True,
    metavar="DIM[,DIM...]",
    help="group by agent, agent_kind, client, service, path, druid, status, status_class",
)
@click.option("--bucket", type=click.Choice(["hour", "day", "week", "month"]), default=None)
@click.option("--from", "start", type=IsoTime(), default=None, help="ISO date or time (inclusive)")
@click.option(
    "--to",
    "stop",
    type=IsoTime(),
    default=None,
    help="ISO date (inclusive) or time; 9999-12-31 or later: no end",
)
@click.option(
    "--top", type=WholeNumber(1, MAX_LIMIT), default=None, help="keep the N largest groups"
)
@click.option(
    "--service", "services", type=Text(), multiple=True, help="only this service (repeatable)"
)
@click.option("--agent", "agents", type=Text(), multiple=True, help="only this agent (repeatable)")
@click.option(
    "--tz",
    type=Text(),
    default=None,
    envvar="PROV_TZ",
    help="zone of buckets and dates [env PROV_TZ]",
)
@click.option(
    "--chart", type=click.Path(dir_okay=False), default=None, help="also draw FILE.png|.svg"
)
@_format_option("table", "json", "csv")
def access(
    store_url: str | None,
    api_url: str | None,
    region: str | None,
    by: str,
    bucket: str | None,
    start: str | None,
    stop: str | None,
    top: int | None,
    services: tuple[str, ...],
    agents: tuple[str, ...],
    tz: str | None,
    chart: str | None,
    fmt: str,
) -> None:
    """Who queries which services, how often, with what queries.

    Counts requests and bytes per group (--by, several dimensions with commas) and, with
    --bucket, per hour/day/week/month in --tz. `path` is the query template
    (/file/druid:{druid}/{file}). Answered from the hourly counts; --by druid reads the
    access events themselves (only what retention kept).
    """
    from provenance.access.report import ReportQuery, access_report, csv_rows, parse_time
    from provenance.domain.timezones import resolve_zone

    zone = resolve_zone(tz)
    if chart is not None:
        from provenance.access.chart import chart_format

        chart_format(chart)  # a wrong name fails before the report is made
    if chart is not None and bucket is None:
        bucket = "day"  # a chart is over time; a day is the natural default step
    query = ReportQuery(
        by=tuple(name.strip() for name in by.split(",") if name.strip()),
        bucket=bucket,  # type: ignore[arg-type]
        start=parse_time(start, zone) if start else None,
        stop=parse_time(stop, zone, end=True) if stop else None,
        top=top,
        services=services,
        agents=agents,
        tz=zone,
    )
    client = _api_client(store_url, api_url, region)
    if client is not None:
        result = client.access_report(query)
    else:
        _refuse_writing_the_store(chart, store_url)
        with _open_store(store_url) as store:
            result = access_report(store, query)
    if chart is not None:
        from provenance.access.chart import write_chart

        write_chart(
            result, chart, warn=lambda message: _echo(f"prov: warning: {message}", err=True)
        )
    if fmt == "json":
        _print_json(result.rows)
    elif fmt == "csv":
        import csv

        from provenance.files.output_file import standard_output

        with _writing_stdout():
            csv.writer(standard_output(), lineterminator="\n").writerows(csv_rows(result))
            standard_output().flush()
    else:
        from provenance.cli.render import access_table

        _echo(access_table(result))
    if chart is not None and fmt == "table":
        _echo(f"chart: {chart}")


@cli.command()
@store_option
@click.option(
    "--host",
    type=Text(),
    default="127.0.0.1",
    show_default=True,
    help="address to listen on (the API has no authentication: expose it deliberately)",
)
@click.option("--port", type=WholeNumber(0, 65535), default=8080, show_default=True)
@click.option(
    "--threads",
    type=WholeNumber(1, MAX_SERVE_THREADS),
    default=4,
    show_default=True,
    help="requests answered at once (one store connection each)",
)
@click.option(
    "--organization",
    type=Text(),
    envvar="PROV_ORGANIZATION",
    default=None,
    help="the PREMIS organisation agent's name [env PROV_ORGANIZATION]",
)
def serve(
    store_url: str | None, host: str, port: int, threads: int, organization: str | None
) -> None:
    """Serve the query API over HTTP (the Lambda's routes; waitress, until Ctrl-C)."""
    import ipaddress

    from provenance.query.serve import serve_api

    url = store_url or f"sqlite:///{DEFAULT_STORE_PATH}"
    with _open_store(url):  # a missing or unreadable store fails now, not on the first request
        pass
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        _echo(
            f"prov: warning: listening on {host}: anyone who can reach it can read the store",
            err=True,
        )
    serve_api(
        url,
        host=host,
        port=port,
        threads=threads,
        organization=organization,
        echo=_echo,
        log_failed=_request_log_failed,
    )


def _request_log_failed(error: OSError) -> None:
    """`prov serve`'s request log cannot be written to stdout: what is still buffered for it
    is dropped (it would fail again on the way out), and unless its reader just left (`prov
    serve | head -1`, not an error) a warning says the log stopped."""
    _discard_stdout()
    if not isinstance(error, BrokenPipeError):
        _echo(f"prov: warning: the request log stopped: cannot write -: {_reason(error)}", err=True)


def _demo_world() -> Any:
    """`provenance.cli.demo_data`, for the world sizes `prov demo` offers (no heavy imports)."""
    from provenance.cli import demo_data

    return demo_data


_DEMO = _demo_world()


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default="prov-demo",
    show_default=True,
    help="where logs, store and PREMIS files go",
)
@click.option(
    "--objects",
    type=WholeNumber(_DEMO.MIN_OBJECTS, _DEMO.MAX_OBJECTS),
    default=300,
    show_default=True,
    help="objects in the sample repository",
)
@click.option(
    "--days",
    type=WholeNumber(_DEMO.MIN_DAYS, _DEMO.MAX_DAYS),
    default=120,
    show_default=True,
    help="days of logs",
)
@click.option(
    "--force",
    is_flag=True,
    help="replace the demo's files even where the folder holds a store or files the demo "
    "did not make, or changed since (other files are left alone)",
)
def demo(directory: str, objects: int, days: int, force: bool) -> None:
    """Generate sample logs, ingest them into a fresh store, and show a tour.

    A folder the demo filled before is filled again; one holding anything else (a store, files
    the demo did not make or that changed since it made them) is refused, before anything is
    touched, unless --force.
    """
    from provenance.cli.demo import run_demo

    if not directory:
        raise click.BadParameter("the folder name is empty", param_hint="'--dir'")
    run_demo(Path(directory), objects=objects, days=days, echo=_echo, force=force)


@cli.command()
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
@_format_option("table", "json")
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

    from provenance.aws.ship import ShipOptions, Shipper, check_path, kinesis_client
    from provenance.aws.ship_state import ShipState, default_state_path
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
    progress = _ship_progress_printer() if _stderr_is_terminal() else None
    with ShipState(state_path if state_path is not None else default_state_path()) as state:
        shipper = Shipper(
            client,
            state,
            options,
            warn=lambda message: _echo(f"prov: warning: {message}", err=True),
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
        _echo("", err=True)
    if fmt == "json":
        _print_json(report.as_json())
    else:
        _print_ship_report(report)
    if report.damaged:
        # Each was warned about as it was found; the run did not read all it was given.
        raise _FailError(
            f"{len(report.damaged)} compressed file(s) damaged part-way (warned above): what "
            "came before the damage is shipped"
        )


def _print_ship_report(report: ShipReport) -> None:
    _echo(
        f"{report.lines:,} lines in {report.records:,} records ({report.bytes:,} bytes, "
        f"{report.payload_units:,} PUT payload units) to {report.stream}, "
        f"{report.put_calls:,} PutRecords calls" + (" (stopped)" if report.stopped else "")
    )
    for label, count in (
        ("entries retried", report.retried_entries),
        ("forced cuts (entries split across records)", report.forced_cuts),
        ("idle flushes (an open entry shipped after --idle-flush of quiet)", report.idle_flushes),
        ("rotations", report.rotations),
        ("truncations", report.truncations),
    ):
        if count:
            _echo(f"  {label}: {count:,}")
    for item in report.files:
        _echo(f"  {item.path}: {item.lines:,} lines, shipped to byte {item.offset:,}")


def _ship_progress_printer() -> Any:
    def show(report: Any) -> None:
        click.echo(f"\r{report.lines:,} lines in {report.records:,} records", nl=False, err=True)

    return show


def _cost_model() -> Any:
    """`provenance.aws.cost`, for its defaults in `prov cost --help` (standard library only)."""
    from provenance.aws import cost

    return cost


_COST = _cost_model()


def _memory_option(name: str, default: int, function: str) -> Callable[[_Command], _Command]:
    return click.option(
        name,
        type=WholeNumber(*_COST.LAMBDA_MEMORY_MB),
        default=default,
        show_default=True,
        help=f"the {function} function's memory (MB; default: what the CDK app deploys)",
    )


@cli.command()
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
    default="on-demand",
    show_default=True,
    help="Kinesis capacity mode",
)
@click.option(
    "--shards",
    type=WholeNumber(1, _COST.MAX_SHARDS),
    default=None,
    metavar="N",
    help="shards of a provisioned stream [default: 1]",
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
@_format_option("table", "json")
def cost(
    lines_per_day: float,
    access_share: float | None,
    access_days: int | None,
    objects: int | None,
    stream_mode: str,
    shards: int | None,
    architecture: str,
    ingest_memory_mb: int,
    projector_memory_mb: int,
    api_memory_mb: int,
    api_requests_per_month: int,
    api_ms_per_request: float,
    api_gateway: str,
    dynamodb_latency_ms: float,
    month: int,
    fmt: str,
) -> None:
    """Estimate the monthly AWS bill of the deployed pipeline (Kinesis, Lambda, DynamoDB, API
    Gateway) from list prices and the units the AWS benchmark measured, with its assumptions."""
    from provenance.aws.cost import Inputs, estimate, render_table

    # The choices were checked by click; the estimate checks the rest.
    chosen: dict[str, Any] = {
        "stream_mode": stream_mode,
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
            **chosen,
        )
    )
    if fmt == "json":
        _print_json(result.as_json())
        return
    _echo(render_table(result))


@cli.command()
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
    callback=_checked_store_url,
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
@_format_option("table", "json")
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

    _check_store_url(store_url)  # PROV_STORE too, before any AWS client is made
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

    def echo(result: Any) -> None:
        _echo(result.line(dry_run=dry_run))

    with _open_store(store_url, create=False) as store:
        # A store that does not answer fails now, before any message is taken from the queue.
        # A batch read: the ingest function's table actions (all redrive needs) have no GetItem.
        store.get_projections(object_state.PROJECTION, ["redrive-check"])
        if dry_run and fmt == "table":
            _echo("dry run: nothing is stored or deleted")
        report = run_redrive(
            store, run, options, clients, on_message=echo if fmt == "table" else None
        )
    if fmt == "json":
        _print_json(report.as_json())
    elif not report.messages:
        _echo(f"no messages in {queue_url}")
    else:
        for line in report.summary():
            _echo(line)
    if report.stopped:
        raise _FailError(report.stopped)
    if report.kept:
        verb = "would be kept" if dry_run else "kept"
        raise _FailError(
            f"{len(report.kept):,} of {len(report.messages):,} messages {verb} in the queue "
            "(their lines say why)"
        )


def _fail(message: str, code: int) -> NoReturn:
    from provenance.domain.terminal import visible

    # Messages quote what was typed or read: shown with control characters made visible.
    with suppress(OSError):  # a stderr whose reader left takes no message
        click.echo(f"prov: error: {visible(message)}", err=True)
    sys.exit(code)


def _stderr_is_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C's KeyboardInterrupt would be."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


@contextmanager
def _stopping_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a command the way Ctrl-C does, so the same clean-up runs (no
    temporary file, no half-built store left behind) instead of the process just dying. A
    signal that was ignored when `prov` started (`nohup`) stays ignored; `prov ship` puts
    its own SIGTERM handler in place while it runs (stop after the current call)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (a test calling main from another)
        return
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupted(exc: BaseException) -> NoReturn:
    """Exit as the shell reports a process ended by a signal: 128 + its number."""
    cause = exc if isinstance(exc, KeyboardInterrupt) else exc.__cause__
    signum = cause.signum if isinstance(cause, _Stopped) else signal.SIGINT
    name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    _fail(f"interrupted{name}", 128 + signum)


def _stdout_reader_left() -> bool:
    """Whether standard output is a pipe (or socket) whose reader has gone: poll reports an
    error on its writing end. A broken pipe anywhere else is a real error."""
    try:
        poller = select.poll()
        poller.register(1, select.POLLOUT)
        events = poller.poll(0)
    except (OSError, ValueError):
        return False
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in events)


def _end_of_pipeline(exc: BaseException) -> NoReturn:
    """`prov ... | head`: the reader of standard output left; not an error, exit 0 quietly.
    Standard output is pointed at /dev/null so that what is still buffered for it does not
    fail again when Python flushes it on the way out."""
    if not _stdout_reader_left():
        error = exc.__cause__ if isinstance(exc, _ReaderLeft) else exc
        _fail(f"broken pipe: {error}", EXIT_INPUT)
    _discard_stdout()
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every expected failure is one line on stderr and an exit code."""
    from eventstore.errors import EventStoreError  # stdlib-only module: cheap
    from provenance.domain.errors import NotFoundError, ProvenanceError

    with _stopping_signals():
        try:
            cli.main(args=argv, prog_name="prov", standalone_mode=False)
            if sys.stdout is not None:
                with _writing_stdout():
                    sys.stdout.flush()  # a reader that left, or a full disk, shows here
        except click.exceptions.Abort as exc:
            _interrupted(exc)
        except KeyboardInterrupt as exc:  # a signal outside click's reach (the flush above)
            _interrupted(exc)
        except click.exceptions.NoArgsIsHelpError as exc:
            # Its message is the whole help, which one error line would show with escapes.
            _fail(f"no command given ({exc.ctx.command_path} --help lists them)", EXIT_INPUT)
        except click.ClickException as exc:
            _fail(exc.format_message(), EXIT_INPUT)
        except NotFoundError as exc:
            _fail(str(exc), EXIT_NOT_FOUND)
        except _FailError as exc:
            _fail(str(exc), exc.code)
        except (ProvenanceError, EventStoreError) as exc:
            _fail(str(exc), EXIT_INPUT)
        except (_ReaderLeft, BrokenPipeError) as exc:
            _end_of_pipeline(exc)
        except Exception as exc:
            if _is_premis_error(exc):
                _fail(str(exc), EXIT_INPUT)
            raise


def _is_premis_error(exc: Exception) -> bool:
    premis_errors = sys.modules.get("premis.errors")
    return premis_errors is not None and isinstance(exc, premis_errors.PremisError)
