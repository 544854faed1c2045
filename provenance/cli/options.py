"""The options several `prov` commands share, each declared once: `--store` (checked as typed)
and the store it names, `--api` and `--region` and the API client they make, `--host` (the
origin of events), `--access-policy` and `--format`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from provenance.cli.params import EndpointUrl, Text

if TYPE_CHECKING:
    from eventstore import EventStore
    from provenance.aws.api_client import ApiClient


DEFAULT_STORE_PATH = (
    Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    / "sdr-provenance"
    / "provenance.db"
)
Command = TypeVar("Command", bound=Callable[..., Any])


def check_store_url(url: str) -> None:
    """Refuse a store URL without scheme (a bare path would become a new, empty store wherever
    prov runs) or otherwise malformed, in one line naming where it came from."""
    from click.core import ParameterSource

    import eventstore.url
    from eventstore.errors import StoreUnavailableError

    try:
        eventstore.url.check_store_url(url)
    except StoreUnavailableError as exc:
        context = click.get_current_context(silent=True)
        from_env = (
            context is not None
            and context.get_parameter_source("store_url") is ParameterSource.ENVIRONMENT
        )
        raise click.UsageError(f"{'PROV_STORE' if from_env else '--store'}: {exc}") from None


def checked_store_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--store` typed on the command line is checked at once, before any work is done;
    PROV_STORE when a store is opened (a command asking `--api` never reads it)."""
    from click.core import ParameterSource

    if value is not None and ctx.get_parameter_source(param.name or "") is (
        ParameterSource.COMMANDLINE
    ):
        check_store_url(value)
    return value


store_option = click.option(
    "--store",
    "store_url",
    envvar="PROV_STORE",
    default=None,
    metavar="URL",
    callback=checked_store_url,
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


def api_options(command: Command) -> Command:
    return api_option(region_option(command))


def api_client(store_url: str | None, api_url: str | None, region: str | None) -> ApiClient | None:
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


def format_option(*choices: str) -> Callable[[Command], Command]:
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True
    )


def open_store(url: str | None, *, create: bool = False) -> EventStore:
    import eventstore

    if url is None:
        url = f"sqlite:///{DEFAULT_STORE_PATH}"
        if create:
            DEFAULT_STORE_PATH.parent.mkdir(parents=True, exist_ok=True)
    else:
        check_store_url(url)
    from provenance.domain.events import ACCESS_STREAM_PREFIX

    # Access events in bundles on DynamoDB (one item per service, hour and append).
    return eventstore.open_store(url, create=create, bundled_prefixes=(ACCESS_STREAM_PREFIX,))


def refuse_writing_the_store(target: str | None, store_url: str | None) -> None:
    """A file a command writes (`-o`, `--chart`) must not be the store it reads, through a
    symlink or a hard link, nor one of its side files: the store would be replaced by what is
    written."""
    from eventstore.sqlite import SIDE_FILE_SUFFIXES
    from eventstore.url import sqlite_file
    from provenance.files.output_file import STDOUT, OutputError, same_file

    if target is None or target == STDOUT:
        return
    url = store_url or f"sqlite:///{DEFAULT_STORE_PATH}"
    check_store_url(url)
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
