"""Text options take UTF-8 only (issue 11, item 4 of the review: option values).

An argument whose bytes are not UTF-8 (`--host $'caf\\xe9'`, typed in a Latin-1 terminal)
reaches Python with each such byte as a lone surrogate, which no event payload, state file,
PREMIS document or AWS request can carry: it used to end in a traceback (`--host`, `PROV_HOST`
for ship, `serve --host`) or quietly quarantine every line (`--service`). Every option that
takes free text is `cli_params.Text`, found here by walking the command tree (a new option is
covered without touching this file), and refuses such a value in one line naming the option
(or its environment variable) before anything is opened or created. File names are bytes and
stay accepted as they are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from provenance.cli.main import cli
from provenance.cli.params import Text
from tests.cli.test_cli import run
from tests.samples import OBJECT_LOG

UNDECODABLE = os.fsdecode(b"caf\xe9")  # what Python makes of the argument bytes caf\xe9
SHOWN = "'caf\\xe9'"
# Options of plain text that name files (bytes, whatever their encoding): not `Text`.
FILE_NAMES = {"store_url", "policy_path"}


REQUIRED = {
    ("history",): ["bj102hs9687"],
    ("state",): ["bj102hs9687"],
    ("premis",): ["bj102hs9687"],
    ("ingest",): ["x.log"],
    ("ship",): ["--stream", "s", "x.log"],
    ("redrive",): ["--queue", "https://sqs.us-east-1.amazonaws.com/1/q", "--store", "sqlite:///x"],
}


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


ALL_OPTIONS = [
    (path, option)
    for path, command in _commands(cli)
    for option in command.params
    if isinstance(option, click.Option) and not option.is_flag
]
TEXT_OPTIONS = [(path, option) for path, option in ALL_OPTIONS if isinstance(option.type, Text)]
TEXT_IDS = [f"{' '.join(path)} {option.opts[0]}" for path, option in TEXT_OPTIONS]


def test_every_free_text_option_is_text() -> None:
    plain = [
        f"{' '.join(path)} {option.opts[0]}"
        for path, option in ALL_OPTIONS
        if type(option.type) is click.types.StringParamType and option.name not in FILE_NAMES
    ]
    assert plain == [], "give these type=Text() (or name them in FILE_NAMES if they are paths)"


def test_the_walk_finds_the_options_the_review_names() -> None:
    found = set(TEXT_IDS)
    for expected in (
        "ingest --host",
        "ingest --service",
        "ship --host",
        "ship --service",
        "ship --stream",
        "premis --organization",
        "serve --organization",
        "serve --host",
        "report access --service",
        "report access --agent",
    ):
        assert expected in found


@pytest.mark.parametrize(("path", "option"), TEXT_OPTIONS, ids=TEXT_IDS)
def test_text_that_is_not_utf8_is_refused_in_one_line_naming_the_option(
    capsys, tmp_path: Path, monkeypatch, path: tuple[str, ...], option: click.Option
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *path, option.opts[0], UNDECODABLE)
    assert (code, out) == (1, "")
    assert err == (
        f"prov: error: Invalid value for '{option.opts[0]}': {SHOWN} is not UTF-8 text: "
        "give it in UTF-8\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "option"),
    [(path, option) for path, option in TEXT_OPTIONS if isinstance(option.envvar, str)],
    ids=[i for i, (_, o) in zip(TEXT_IDS, TEXT_OPTIONS, strict=True) if isinstance(o.envvar, str)],
)
def test_from_the_environment_the_variable_is_named(
    capsys, tmp_path: Path, monkeypatch, path: tuple[str, ...], option: click.Option
) -> None:
    assert isinstance(option.envvar, str)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(option.envvar, UNDECODABLE)
    # What the command requires, given on the command line (read before the environment).
    args = [*path, *REQUIRED.get(path, [])]
    code, out, err = run(capsys, *args)
    assert (code, out) == (1, "")
    assert err.startswith(
        f"prov: error: Invalid value for '{option.opts[0]}' (from {option.envvar}): {SHOWN} "
    )
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_the_reviewers_commands_through_the_console_script(tmp_path: Path) -> None:
    """The bytes as a shell passes them: no traceback, no store, no state file."""
    prov = Path(sys.executable).with_name("prov")
    log = tmp_path / "a5.log"
    log.write_text(OBJECT_LOG)
    store = f"sqlite:///{tmp_path / 'b4.db'}"
    state = tmp_path / "ship.db"
    runs = [
        ([prov, "ingest", "--store", store, "--host", b"caf\xe9", log], {}, "'--host'"),
        ([prov, "ingest", "--store", store, "--service", b"s\xe9", log], {}, "'--service'"),
        (
            [prov, "ship", "--stream", "s", "--once", "--state", state, log],
            {"PROV_HOST": b"caf\xe9"},
            "'--host' (from PROV_HOST)",
        ),
    ]
    for argv, env, named in runs:
        environment = {**os.environb, **{key.encode(): value for key, value in env.items()}}
        done = subprocess.run(argv, capture_output=True, env=environment, check=False)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith(f"prov: error: Invalid value for {named}: ".encode())
        assert b"Traceback" not in done.stderr and done.stderr.count(b"\n") == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a5.log"]


def test_utf8_text_and_file_names_that_are_not_utf8_are_taken(capsys, tmp_path: Path) -> None:
    """`--host café` is fine; so is a log or a store whose file name is not UTF-8."""
    log = tmp_path / os.fsdecode(b"caf\xe9.log")
    log.write_text(OBJECT_LOG)
    store_path = tmp_path / os.fsdecode(b"st\xe9.db")
    store = f"sqlite:///{store_path}"
    code, _, err = run(capsys, "ingest", "--store", store, "--host", "café", str(log))
    assert code == 0, err
    code, out, err = run(capsys, "history", "bj102hs9687", "--store", store, "--format", "json")
    assert code == 0, err
    assert '"origin": "café"' in out and '"file": "' + str(tmp_path) + '/caf\\\\xe9.log"' in out
