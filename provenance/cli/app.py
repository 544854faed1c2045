"""The `prov` group and what every command shares: the exit codes, the one-line error a command
raises (`FailError`), and the guards around standard output (`echo`, `print_json`,
`writing_stdout`) and around what click prints itself (its --help and --version), which every
command gets by being a `ProvCommand` (a group such as `prov report`, a `ProvGroup`). The group
has no commands of its own: `main` attaches them.

Exit codes: 0 ok, 1 usage or input error (one line on stderr), 2 not found. Nothing outside
`provenance.cli` prints to the terminal or decides exit codes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import click

EXIT_INPUT = 1
EXIT_NOT_FOUND = 2


class FailError(Exception):
    """A one-line error for the user, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def echo(text: str, *, err: bool = False) -> None:
    """Print one line for a person, or a rendered table (`TerminalText`). Everything `prov`
    prints for a person goes through here or `_fail` (JSON, CSV and the progress counter do
    not), so a control character from a log or an argument is shown as an escape."""
    from provenance.domain.terminal import TerminalText, visible
    from provenance.files.output_file import standard_output

    shown = text if isinstance(text, TerminalText) else visible(text)
    if err:
        click.echo(shown, err=True)  # closed (`2>&-`): nothing shown, as click does
    else:
        with writing_stdout():
            click.echo(shown, file=standard_output())


def print_json(document: Any, *, encode: Callable[[Any], str] | None = None) -> None:
    """`document` as `json_text` writes it; `encode`: a faster writer of the same text for a
    document of a known shape (`provenance.access.report_json`)."""
    from provenance.domain.terminal import json_text
    from provenance.files.output_file import standard_output

    text = (encode or json_text)(document)
    with writing_stdout():
        click.echo(text, file=standard_output())


@contextmanager
def writing_stdout() -> Iterator[None]:
    """Around every write to standard output (`echo`, `print_json`, the CSV writer, the last
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
        discard_stdout()
        raise OutputError(STDOUT, reason(exc)) from None


def discard_stdout() -> None:
    """Point standard output at /dev/null: what is still buffered for it is dropped when Python
    flushes it, instead of failing again on the way out."""
    with suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


class ReaderLeft(Exception):  # noqa: N818  (not an error: the end of a pipeline)
    """Standard output's reader went away (`prov ... | head`): `main` ends quietly."""


@contextmanager
def _clicks_own_output() -> Iterator[None]:
    """Around click's parsing of a command line, where it prints the help and the version
    itself (`click.echo`, then `ctx.exit()`), outside `echo`: the same rules as everything
    `prov` prints. A refused write (`prov --help > /dev/full`) is `cannot write -: REASON`
    rather than a traceback; a closed stdout is `cannot write -: standard output is closed`
    (click prints nothing and ends with 0); a reader that left reaches `main` as `ReaderLeft`.
    Parsing does no other I/O (the options' types and callbacks read nothing), so an OSError
    here is a write to stdout."""
    from provenance.files.output_file import STDOUT, STDOUT_CLOSED, OutputError

    try:
        with writing_stdout():
            yield
    except BrokenPipeError as exc:
        raise ReaderLeft from exc
    except click.exceptions.Exit as exc:
        # Parsing ends early with 0 only after printing the help or the version.
        if exc.exit_code == 0 and sys.stdout is None:
            raise OutputError(STDOUT, STDOUT_CLOSED) from None
        raise


class ProvCommand(click.Command):
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


class ProvGroup(ProvCommand, click.Group):
    """The `prov` group (and `prov report`): a broken pipe, wherever it happens (a command, its
    --help), reaches `main` as `ReaderLeft`. Click itself would end the process with exit
    code 1 and no word, before `main` could tell a reader that left from a real error."""

    command_class = ProvCommand
    group_class = type  # a subgroup is a `ProvGroup` too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise ReaderLeft from exc


@click.group(cls=ProvGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sdr-provenance")
def cli() -> None:
    """Preservation logs -> provenance events -> object history, state and PREMIS 3."""


def stderr_is_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()
