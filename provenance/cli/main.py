"""The `prov` command: the contract of DESIGN.md ("Command line"), and its entry point.

Parses arguments, calls one application function, prints the result. Each command family
(`commands_*.py`) defines its commands, and they are attached here to the group of `app.py`,
which has none of its own. Heavy modules (pydantic, lxml, rdflib, the sources) are imported
inside the commands so `prov --help` answers at once. `main` makes every expected failure one
line on stderr and an exit code.
"""

from __future__ import annotations

import select
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import NoReturn

import click

from provenance.cli import (
    commands_aws,
    commands_demo,
    commands_events,
    commands_fleet,
    commands_reports,
    commands_serve,
)
from provenance.cli.app import (
    EXIT_INPUT,
    EXIT_NOT_FOUND,
    FailError,
    ReaderLeft,
    cli,
    discard_stdout,
    writing_stdout,
)

cli.add_command(commands_aws.ship)
cli.add_command(commands_aws.cost)
cli.add_command(commands_aws.redrive)
cli.add_command(commands_demo.demo)
cli.add_command(commands_events.init)
cli.add_command(commands_events.ingest)
cli.add_command(commands_events.history)
cli.add_command(commands_events.state)
cli.add_command(commands_events.premis)
cli.add_command(commands_events.quarantine)
cli.add_command(commands_fleet.objects)
cli.add_command(commands_events.rebuild)
cli.add_command(commands_events.expire)
cli.add_command(commands_reports.report)
cli.add_command(commands_serve.serve)


def _fail(message: str, code: int) -> NoReturn:
    from provenance.domain.terminal import visible

    # Messages quote what was typed or read: shown with control characters made visible.
    with suppress(OSError):  # a stderr whose reader left takes no message
        click.echo(f"prov: error: {visible(message)}", err=True)
    sys.exit(code)


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
        error = exc.__cause__ if isinstance(exc, ReaderLeft) else exc
        _fail(f"broken pipe: {error}", EXIT_INPUT)
    discard_stdout()
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every expected failure is one line on stderr and an exit code."""
    from eventstore.errors import EventStoreError  # stdlib-only module: cheap
    from provenance.domain.errors import NotFoundError, ProvenanceError

    with _stopping_signals():
        try:
            cli.main(args=argv, prog_name="prov", standalone_mode=False)
            if sys.stdout is not None:
                with writing_stdout():
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
        except FailError as exc:
            _fail(str(exc), exc.code)
        except (ProvenanceError, EventStoreError) as exc:
            _fail(str(exc), EXIT_INPUT)
        except (ReaderLeft, BrokenPipeError) as exc:
            _end_of_pipeline(exc)
        except Exception as exc:
            if _is_premis_error(exc):
                _fail(str(exc), EXIT_INPUT)
            raise


def _is_premis_error(exc: Exception) -> bool:
    premis_errors = sys.modules.get("premis.errors")
    return premis_errors is not None and isinstance(exc, premis_errors.PremisError)
