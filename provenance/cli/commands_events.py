"""`prov init`, `ingest`, `history`, `state`, `premis`, `quarantine`, `rebuild` and `expire`: the
commands over the event store (the three queries ask a deployed API instead with --api).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from eventstore.store import MAX_LIMIT
from provenance.cli.app import FailError, ProvCommand, echo, print_json, stderr_is_terminal
from provenance.cli.options import (
    DEFAULT_STORE_PATH,
    access_policy_option,
    api_client,
    api_options,
    check_store_url,
    format_option,
    open_store,
    origin_host_option,
    refuse_writing_the_store,
    store_option,
)
from provenance.cli.params import BaseUri, Text, WholeNumber


@click.command(cls=ProvCommand)
@store_option
def init(store_url: str | None) -> None:
    """Create the event store (idempotent): an SQLite file, or a DynamoDB table with its
    feed index, stream and TTL."""
    from eventstore.url import init_store

    if store_url is None:
        with open_store(store_url, create=True):
            pass
        echo(f"store ready: sqlite:///{DEFAULT_STORE_PATH}")
        return
    check_store_url(store_url)
    echo(f"{init_store(store_url)}: {store_url}")


@click.command(cls=ProvCommand)
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
@format_option("table", "json")
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
    from provenance.cli.render import ingest_progress_printer, print_ingest_report
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
            # Spelled as the report's other file names (`spelled_bytes`): a list for a person.
            report.passed_by[visible_surrogates(item.name)] = binary
            echo(f"prov: note: passing by {item.name}: {binary} (--force reads it)", err=True)
        else:
            raise FailError(f"{item.name} {binary}: use --force to read it anyway")
    progress = ingest_progress_printer() if stderr_is_terminal() else None
    failed: list[str] = []
    with open_store(store_url, create=True) as store:
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
        echo("", err=True)
    if fmt == "json":
        print_json(report.as_json())
    else:
        print_ingest_report(report)
    if failed:
        for message in failed[:-1]:
            echo(f"prov: error: {message}", err=True)
        raise FailError(failed[-1])


@click.command(cls=ProvCommand)
@click.argument("druid")
@store_option
@api_options
@click.option("--limit", type=WholeNumber(0, MAX_LIMIT), default=None, help="at most N events")
@click.option(
    "--after", type=Text(), default=None, metavar="CURSOR", help="continue after this cursor"
)
@format_option("table", "json")
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
    client = api_client(store_url, api_url, region)
    if client is not None:
        events = client.history(druid, limit=limit, after=after)
    else:
        from provenance.query.views import object_history

        with open_store(store_url) as store:
            events = object_history(store, druid, limit=limit, after=after)
    if fmt == "json":
        print_json(events)
        return
    from provenance.cli.render import history_table

    echo(history_table(events))


@click.command(cls=ProvCommand)
@click.argument("druid")
@store_option
@api_options
@format_option("table", "json")
def state(
    druid: str, store_url: str | None, api_url: str | None, region: str | None, fmt: str
) -> None:
    """An object's current preservation state (the Object State Dashboard)."""
    client = api_client(store_url, api_url, region)
    if client is not None:
        view = client.state(druid)
    else:
        from provenance.query.views import object_state_view

        with open_store(store_url) as store:
            view = object_state_view(store, druid)
    if fmt == "json":
        print_json(view)
        return
    from provenance.cli.render import state_table

    echo(state_table(view))


@click.command(cls=ProvCommand)
@click.argument("druid")
@store_option
@api_options
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
    "--mets",
    is_flag=True,
    help="wrap the PREMIS XML in a METS document (amdSec), as Archivematica's metsrw reads it",
)
@click.option(
    "--organization",
    type=Text(),
    envvar="PROV_ORGANIZATION",
    default=None,
    help="the organisation agent's name [env PROV_ORGANIZATION]",
)
@click.option(
    "--base-uri",
    type=BaseUri(),
    envvar="PROV_PREMIS_BASE_URI",
    default=None,
    help="absolute IRI ending in / or : under which Turtle and JSON-LD name resources not "
    "named by a UUID [default urn:x-local:premis:; env PROV_PREMIS_BASE_URI]",
)
@click.option(
    "--agents",
    "agents_file",
    type=Text(),
    envvar="PROV_AGENTS",
    default=None,
    help="TOML file of agents and the names they are known by (see the README) [env PROV_AGENTS]",
)
def premis(
    druid: str,
    store_url: str | None,
    api_url: str | None,
    region: str | None,
    fmt: str,
    output: str | None,
    validate: bool,
    mets: bool,
    organization: str | None,
    base_uri: str | None,
    agents_file: str | None,
) -> None:
    """Export one object's history as a PREMIS 3 document."""
    from click.core import ParameterSource

    given = click.get_current_context().get_parameter_source
    if fmt == "xml":
        # The XML names every resource by its identifier; only RDF mints URIs.
        if given("base_uri") is ParameterSource.COMMANDLINE:
            raise click.UsageError("--base-uri names RDF resources: use --format turtle or json-ld")
        base_uri = None  # from $PROV_PREMIS_BASE_URI, which may be set for every export
    client = api_client(store_url, api_url, region)
    if client is not None:
        from provenance.aws.api_client import write_premis

        if mets:
            raise click.UsageError("--mets reads a store: the API serves PREMIS XML only")
        # Given on the command line they would be silently not applied: refused. From the
        # environment ($PROV_ORGANIZATION, $PROV_AGENTS) they are ignored, as $PROV_PREMIS_BASE_URI
        # is with XML: set for every export, they must not stop the API's (whose agents file is
        # not even read).
        if given("organization") is ParameterSource.COMMANDLINE:
            raise click.UsageError(
                "--organization names the agent when PREMIS is made from a store; the API uses "
                "the one it was deployed with (stage setting organization)"
            )
        if given("agents_file") is ParameterSource.COMMANDLINE:
            raise click.UsageError(
                "--agents names agents when PREMIS is made from a store; the API uses the "
                "agents it was deployed with (stage setting agents_file)"
            )
        if validate and fmt != "xml":
            raise FailError("--validate checks the XML against the PREMIS XSD: use --format xml")
        write_premis(client.premis(druid, fmt, base_uri), target=output, validate=validate)
        _wrote(output)
        return
    from provenance.query.premis_export import ExportOptions, export_object

    refuse_writing_the_store(output, store_url)
    options = ExportOptions()
    if organization:
        options = replace(options, organization=organization)
    if base_uri:
        options = replace(options, base_uri=base_uri)
    if agents_file:
        from provenance.domain.agent_registry import load_registry

        options = replace(options, agents=load_registry(agents_file))
    with open_store(store_url) as store:
        export_object(
            store, druid, fmt=fmt, target=output, validate=validate, options=options, mets=mets
        )
    _wrote(output)


def _wrote(output: str | None) -> None:
    if output is not None and output != "-":
        echo(f"wrote {output}", err=True)


@click.command(cls=ProvCommand)
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
@format_option("table", "json")
def quarantine(
    store_url: str | None, limit: int | None, replay: bool, tz: str | None, fmt: str
) -> None:
    """Lines that were not understood, kept verbatim with the reason."""
    if replay:
        from provenance.domain.timezones import resolve_zone
        from provenance.ingest.reader import IngestOptions
        from provenance.ingest.replay import replay_quarantine

        with open_store(store_url) as store:
            report = replay_quarantine(store, IngestOptions(tz=resolve_zone(tz)))
        if fmt == "json":
            print_json(report.as_json())
        else:
            echo(
                f"{report.lines:,} quarantined lines replayed: {report.events:,} new events, "
                f"{report.quarantined:,} lines still not understood"
            )
        return
    from provenance.cli.render import quarantine_table
    from provenance.query.views import quarantined_lines

    with open_store(store_url) as store:
        items = quarantined_lines(store, limit=limit)
    if fmt == "json":
        print_json(items)
        return
    if items:
        echo(quarantine_table(items))
    echo(f"{len(items)} quarantined entries", err=True)


@click.command(cls=ProvCommand)
@store_option
def rebuild(store_url: str | None) -> None:
    """Rebuild every projection from the events alone."""
    from provenance.projections import access_counts, object_state

    with open_store(store_url) as store:
        if store.projected_by_stream:
            # A rebuild clears the applied-markers too: an event still on its way through the
            # table's stream would then be counted twice.
            echo(
                "note: the projector must be stopped with nothing in flight (ingest paused, "
                "the projector's iterator age 0): see the README, 'Watching it'",
                err=True,
            )
        for name, rebuild_one in (
            ("object_state", object_state.rebuild),
            ("access_counts", access_counts.rebuild),
        ):
            count = rebuild_one(store)
            echo(f"{name} rebuilt from {count:,} events")


@click.command(cls=ProvCommand)
@store_option
def expire(store_url: str | None) -> None:
    """Delete access events past their retention (their hourly counts stay)."""
    from datetime import UTC, datetime

    from provenance.projections import access_counts

    with open_store(store_url) as store:
        if store.projected_by_stream:
            echo(
                "nothing to do here: the table's TTL deletes access events when their "
                "retention ends, and the projector keeps their counts"
            )
            return
        result = access_counts.expire(store, datetime.now(UTC))
    echo(
        f"{result.deleted:,} access events expired"
        + (f" (the latest from {result.latest.isoformat()})" if result.latest else "")
    )
