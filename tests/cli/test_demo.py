"""`prov demo` as a user runs it: its arguments checked before anything is touched, a folder it
filled before filled again (`make demo` twice), anything else in the folder refused unless
--force (provenance/cli/demo/folder.py)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import provenance.cli.demo.tour
from provenance.cli.demo.folder import MANIFEST
from provenance.cli.demo.world import MAX_DAYS, MAX_OBJECTS, MIN_DAYS, MIN_OBJECTS
from tests.cli.test_cli import run

SMALL = ("--objects", "3", "--days", "5")
PROV = (sys.executable, "-c", "from provenance.cli.main import main; main()")


def demo(capsys: pytest.CaptureFixture[str], folder: Path, *args: str) -> tuple[int, str, str]:
    return run(capsys, "demo", "--dir", str(folder), *SMALL, *args)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `folder`: content, inode and modification time."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            info = path.lstat()
            content = path.read_bytes() if path.is_file() else os.readlink(path).encode()
            files[path.relative_to(folder).as_posix()] = (content, info.st_ino, info.st_mtime_ns)
    return files


def manifest(folder: Path) -> dict[str, str]:
    lines = (folder / MANIFEST).read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def refused(code: int, out: str, err: str, fragment: str) -> None:
    assert (code, out) == (1, "")
    assert err.startswith("prov: error: ") and err.count("\n") == 1, err
    assert fragment in err and "Traceback" not in err


@pytest.fixture
def made(capsys, tmp_path: Path) -> Path:
    """A folder the demo filled."""
    folder = tmp_path / "prov-demo"
    code, _, err = demo(capsys, folder)
    assert (code, err) == (0, ""), err
    return folder


def test_the_manifest_lists_every_file_the_demo_wrote_with_its_digest(made: Path) -> None:
    listed = manifest(made)
    files = {
        path.relative_to(made).as_posix()
        for path in made.rglob("*")
        if path.is_file() and path.name != MANIFEST
    }
    assert set(listed) == files
    assert {"provenance.db", "pseudonym.key", "access-policy.toml"} <= files
    assert any(name.startswith("premis/") for name in files)
    assert any(name.startswith("logs/access/") for name in files)
    for name, digest in listed.items():
        assert hashlib.sha256((made / name).read_bytes()).hexdigest() == digest
    assert stat.S_IMODE((made / "pseudonym.key").stat().st_mode) == 0o600


def test_make_demo_twice_in_a_row(capsys, tmp_path: Path, monkeypatch) -> None:
    """`make demo` runs `prov demo` with the default --dir, here and again."""
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        code, out, err = run(capsys, "demo", *SMALL)
        assert (code, err) == (0, ""), err
        assert "done in" in out
    assert set(manifest(tmp_path / "prov-demo")) >= {"provenance.db", "pseudonym.key"}


def test_queries_of_the_demo_store_leave_it_the_demos_own(capsys, made: Path) -> None:
    url = f"sqlite:///{made / 'provenance.db'}"
    druid = "druid:" + next((made / "premis").iterdir()).stem
    for args in (
        ["history", druid],
        ["state", druid],
        ["premis", druid],
        ["quarantine"],
        ["report", "access", "--by", "druid"],
    ):
        assert run(capsys, *args, "--store", url)[0] == 0, args

    code, _, err = demo(capsys, made)
    assert (code, err) == (0, "")


def test_a_store_with_more_ingested_is_refused_and_untouched(capsys, made: Path) -> None:
    log = made.parent / "mine.log"
    log.write_text("a line of the user's own\n")
    assert run(capsys, "ingest", "--store", f"sqlite:///{made / 'provenance.db'}", str(log))[0] == 0
    before = snapshot(made)

    code, out, err = demo(capsys, made)

    refused(code, out, err, f"{made / 'provenance.db'} has changed since the demo made it")
    assert "--force" in err
    assert snapshot(made) == before


def test_a_folder_holding_a_store_the_demo_did_not_make_is_refused(capsys, tmp_path) -> None:
    """The issue's case: the demo used to delete DIR/provenance.db without asking."""
    folder = tmp_path / "mine"
    url = f"sqlite:///{folder / 'provenance.db'}"
    folder.mkdir()
    assert run(capsys, "init", "--store", url)[0] == 0
    before = snapshot(folder)

    code, out, err = demo(capsys, folder)

    refused(code, out, err, f"{folder / 'provenance.db'} was not made by the demo")
    assert snapshot(folder) == before


@pytest.mark.parametrize("name", ["notes.txt", "logs/mine.log", "premis/keep.xml"])
def test_an_unlisted_file_is_refused_then_left_alone_by_force(capsys, made: Path, name: str):
    extra = made / name
    extra.write_text("the user's")
    before = snapshot(made)

    refused(*demo(capsys, made), f"{extra} was not made by the demo")
    assert snapshot(made) == before

    code, _, err = demo(capsys, made, "--force")
    assert (code, err) == (0, "")
    assert extra.read_text() == "the user's"
    assert name not in manifest(made)


def test_force_replaces_a_changed_store_with_a_demo_store(capsys, made: Path) -> None:
    store = made / "provenance.db"
    log = made.parent / "mine.log"
    log.write_text("a line of the user's own\n")
    assert run(capsys, "ingest", "--store", f"sqlite:///{store}", str(log))[0] == 0

    code, _, err = demo(capsys, made, "--force")

    assert (code, err) == (0, "")
    assert manifest(made)["provenance.db"] == hashlib.sha256(store.read_bytes()).hexdigest()
    assert demo(capsys, made)[0] == 0  # the demo's own again


def test_a_changed_log_is_refused(capsys, made: Path) -> None:
    log = made / "logs" / "events.jsonl"
    log.write_text(log.read_text() + "one more line\n")

    refused(*demo(capsys, made), f"{log} has changed since the demo made it")


def test_a_symlink_in_the_folder_is_not_the_demos(capsys, made: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (made / "logs" / "elsewhere").symlink_to(outside)

    refused(*demo(capsys, made), f"{made / 'logs' / 'elsewhere'} was not made by the demo")


def test_a_manifest_naming_files_outside_the_folder_is_refused(capsys, made, tmp_path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("not the demo's")
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    with (made / MANIFEST).open("a") as listed:
        listed.write(f"{digest}  ../victim.txt\n")

    refused(*demo(capsys, made), "is not a manifest the demo wrote")
    assert demo(capsys, made, "--force")[0] == 0
    assert victim.read_text() == "not the demo's"


def test_a_world_of_another_size_replaces_the_earlier_files(capsys, made: Path) -> None:
    # A file an earlier run wrote (listed, unchanged) that this run does not write again.
    earlier = made / "premis" / "bb111bb1111.xml"
    earlier.write_bytes(b"<premis of an object this world does not have/>")
    digest = hashlib.sha256(earlier.read_bytes()).hexdigest()
    with (made / MANIFEST).open("a") as listed:
        listed.write(f"{digest}  premis/bb111bb1111.xml\n")

    code, _, err = run(capsys, "demo", "--dir", str(made), "--objects", "4", "--days", "6")

    assert (code, err) == (0, "")
    assert not earlier.exists()
    listed = manifest(made)
    on_disk = {p.relative_to(made).as_posix() for p in made.rglob("*") if p.is_file()}
    assert on_disk == {*listed, MANIFEST}
    assert demo(capsys, made)[0] == 0


def test_ctrl_c_mid_ingest_keeps_the_previous_store_and_leaves_no_temporary(
    capsys, made: Path, monkeypatch
) -> None:
    store = made / "provenance.db"
    previous = store.read_bytes()
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    real = provenance.cli.demo.tour.ingest_stream
    monkeypatch.setattr(provenance.cli.demo.tour, "ingest_stream", interrupted)

    code, _, err = demo(capsys, made)

    assert code == 130 and "interrupted" in err
    assert store.read_bytes() == previous
    assert not [p for p in made.rglob(".*")], "a temporary file was left behind"
    monkeypatch.undo()
    assert demo(capsys, made)[0] == 0  # still the demo's own folder


def test_the_folder_cannot_be_made_is_one_line(capsys, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file")

    refused(*demo(capsys, tmp_path / "file" / "demo"), f"cannot create {tmp_path}/file/demo")


def test_the_limits_are_stated_in_help(capsys) -> None:
    code, out, _ = run(capsys, "demo", "--help")
    assert code == 0
    assert f"{MIN_OBJECTS}<=x<={MAX_OBJECTS}" in out and f"{MIN_DAYS}<=x<={MAX_DAYS}" in out


# `run` empties capsys after every call, so sharing it between examples is safe.
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    option=st.sampled_from(["--objects", "--days"]),
    value=st.one_of(st.integers(), st.integers(-10, 2000), st.text(max_size=12)),
)
def test_arguments_are_checked_before_anything_is_touched(
    capsys, tmp_path_factory, option: str, value: int | str
) -> None:
    """Within the limits the demo runs with the value; outside them (or not a number) one line,
    and the folder (here holding a store) is untouched."""
    folder = tmp_path_factory.mktemp("args")
    (folder / "provenance.db").write_bytes(b"a store of the user's")
    low, high = (MIN_OBJECTS, MAX_OBJECTS) if option == "--objects" else (MIN_DAYS, MAX_DAYS)
    ran: list[dict[str, object]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(provenance.cli.demo.tour, "run_demo", lambda directory, **kw: ran.append(kw))
        code, out, err = run(capsys, "demo", "--dir", str(folder), option, str(value))

    number = value if isinstance(value, int) else None
    if number is not None and low <= number <= high:
        assert (code, err) == (0, "")
        assert ran and ran[0][option.removeprefix("--")] == number
    elif code == 0:
        # Text click reads as a number in range (" 7", "+7"): the demo gets that number.
        assert ran and low <= int(str(ran[0][option.removeprefix("--")])) <= high
    else:
        refused(code, out, err, option)
        assert not ran
    assert [p.name for p in folder.iterdir()] == ["provenance.db"]
    assert (folder / "provenance.db").read_bytes() == b"a store of the user's"


def test_the_commands_the_demo_suggests_work_after_the_export_it_prints(
    capsys, made: Path, tmp_path: Path, monkeypatch
) -> None:
    """README: after `make demo`, `prov` examples work once the printed export is run; the
    printed path is absolute, so they work from any folder."""
    code, out, err = demo(capsys, made)
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ask it yourself"))
    export = lines[start + 1].strip()
    assert export.startswith("export PROV_STORE=sqlite:////")
    monkeypatch.setenv("PROV_STORE", export.removeprefix("export PROV_STORE="))
    monkeypatch.chdir(tmp_path)
    commands = [line.strip() for line in lines[start + 2 :] if line.startswith("  prov ")]
    assert len(commands) == 8
    for command in commands:
        code, out, err = run(capsys, *command.split()[1:])
        assert code == 0 and "error" not in err, (command, err)
        assert out.strip(), command


# --- the previous store, symlinks, leftovers (hardening review) -------------------------------

ROOT = Path(__file__).resolve().parents[2]
# Writes 200 rows into a store and keeps them in its write-ahead log (no checkpoint), as an
# ingest into the demo's store does while it runs; then waits to be killed.
HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA wal_autocheckpoint=0")
db.execute("CREATE TABLE not_the_demos(x)")
for _ in range(200):
    db.execute("INSERT INTO not_the_demos VALUES (randomblob(4000))")
print("ready", flush=True)
time.sleep(120)
"""


@contextmanager
def holding(store: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process with `store` open and 200 rows in its write-ahead log."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        assert Path(f"{store}-wal").stat().st_size > 200 * 4000
        yield holder
    finally:
        holder.kill()
        holder.wait()


def tables(store: Path) -> set[str]:
    with closing(sqlite3.connect(store)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master")}


def test_force_refuses_a_store_another_process_has_open(capsys, made: Path) -> None:
    store = made / "provenance.db"
    with holding(store):
        before = snapshot(made)

        code, out, err = demo(capsys, made, "--force")

        refused(code, out, err, f"{store} is open in another process")
        assert snapshot(made) == before


def test_a_store_another_process_has_open_is_named_so_without_force(capsys, made: Path) -> None:
    """Its -shm is no stranger to offer --force for: --force would be refused the same way."""
    store = made / "provenance.db"
    with holding(store):
        before = snapshot(made)

        code, out, err = demo(capsys, made)

        refused(code, out, err, f"{store} is open in another process")
        assert "--force" not in err
        assert snapshot(made) == before


def test_a_store_left_open_by_a_killed_process_is_refused_untouched(capsys, made: Path) -> None:
    """Looking for a process that has the store open writes nothing: the -wal and -shm a
    killed process left stay as they were, and --force is offered."""
    store = made / "provenance.db"
    with holding(store) as holder:
        holder.kill()
        holder.wait()
    before = snapshot(made)

    code, out, err = demo(capsys, made)

    refused(code, out, err, "belongs to a store that is open elsewhere or was not closed")
    assert "give --force" in err
    assert snapshot(made) == before


def test_force_over_a_store_left_with_a_write_ahead_log_does_not_mix_it_in(
    capsys, made: Path
) -> None:
    """A process killed with its rows still in the store's -wal: the new store must not be
    paired with that log (SQLite would replay it into the new store)."""
    store = made / "provenance.db"
    with holding(store) as holder:
        holder.kill()
        holder.wait()
    assert Path(f"{store}-wal").exists()  # a hot log, as a killed ingest leaves it

    code, _, err = demo(capsys, made, "--force")

    assert (code, err) == (0, "")
    assert not [p.name for p in made.iterdir() if p.name.startswith("provenance.db-")]
    assert "not_the_demos" not in tables(store) and "events" in tables(store)
    assert manifest(made)["provenance.db"] == hashlib.sha256(store.read_bytes()).hexdigest()
    assert demo(capsys, made)[0] == 0  # the demo's own again


def test_force_replaces_symlinks_at_the_demos_names_never_writing_through(
    capsys, made: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victims = {name: outside / f"{name}.txt" for name in ("policy", "log", "store")}
    for victim in victims.values():
        victim.write_text("not the demo's")
    for name, victim in (
        ("access-policy.toml", victims["policy"]),
        ("logs/production.log", victims["log"]),
        ("provenance.db", victims["store"]),
    ):
        (made / name).unlink()
        (made / name).symlink_to(victim)
    shutil.rmtree(made / "premis")
    (made / "premis").symlink_to(outside)  # a folder the demo writes into

    refused(*demo(capsys, made), "choose another --dir")
    code, _, err = demo(capsys, made, "--force")

    assert (code, err) == (0, "")
    assert [p.read_text() for p in victims.values()] == ["not the demo's"] * 3
    assert sorted(p.name for p in outside.iterdir()) == sorted(p.name for p in victims.values())
    for name in ("access-policy.toml", "logs/production.log", "provenance.db", "premis"):
        assert not (made / name).is_symlink(), name
    listed = manifest(made)
    for name, digest in listed.items():
        assert (made / name).is_file() and not (made / name).is_symlink(), name
        assert hashlib.sha256((made / name).read_bytes()).hexdigest() == digest
    assert any(name.startswith("premis/") for name in listed)
    assert demo(capsys, made)[0] == 0


@pytest.mark.parametrize("kind", ["to a file", "dangling"])
def test_a_manifest_that_is_a_symlink_is_not_the_demos(
    capsys, made: Path, tmp_path: Path, kind: str
) -> None:
    victim = tmp_path / "victim.txt"
    if kind == "to a file":
        victim.write_text("not the demo's")
    else:
        victim = tmp_path / "newplace" / "created.txt"
    (made / MANIFEST).unlink()
    (made / MANIFEST).symlink_to(victim)
    before = snapshot(made)

    refused(*demo(capsys, made), f"{made / MANIFEST} is not a manifest the demo wrote")
    assert snapshot(made) == before
    code, _, err = demo(capsys, made, "--force")

    assert (code, err) == (0, "")
    assert not (made / MANIFEST).is_symlink()
    assert "provenance.db" in manifest(made)
    if kind == "to a file":
        assert victim.read_text() == "not the demo's"
    else:
        assert not (tmp_path / "newplace").exists()


def test_leftovers_of_a_killed_run_beside_the_demos_files_are_removed(capsys, made) -> None:
    leftovers = [
        ".provenance.db.0123abcd.tmp",
        ".provenance.db.0123abcd.tmp-wal",
        ".provenance.db.0123abcd.tmp-shm",
        f".{MANIFEST}.89abcdef.tmp",
        "logs/.events.jsonl.deadbeef.tmp",
    ]
    for name in leftovers:
        (made / name).write_bytes(b"what a run killed with SIGKILL left")

    code, _, err = demo(capsys, made)

    assert (code, err) == (0, "")
    assert not [name for name in leftovers if (made / name).exists()]
    assert not [p for p in made.rglob(".*")]


@pytest.mark.parametrize(
    "name", [".notes.txt.0123abcd.tmp", ".provenance.db.0123abcd.tmp.bak", "logs/.x.0123abcd.tmp"]
)
def test_a_file_like_a_leftover_of_another_name_is_not_the_demos(
    capsys, made: Path, name: str
) -> None:
    (made / name).write_text("the user's")

    refused(*demo(capsys, made), f"{made / name} was not made by the demo")
    assert demo(capsys, made, "--force")[0] == 0
    assert (made / name).read_text() == "the user's"


@pytest.mark.parametrize("linked", ["logs", "logs/access"])
def test_force_removes_no_leftover_lookalike_through_a_linked_folder(
    capsys, made: Path, tmp_path: Path, linked: str
) -> None:
    """`logs -> ../victim`: the lookalike of a leftover in the link's target is not the demo's."""
    victim = tmp_path / "victim"
    (victim / "access").mkdir(parents=True)
    lookalikes = [victim / "access" / ".purl.log.0123abcd.tmp", victim / ".purl.log.0123abcd.tmp"]
    for lookalike in lookalikes:
        lookalike.write_text("the user's")
    shutil.rmtree(made / linked)
    (made / linked).symlink_to(os.path.relpath(victim, (made / linked).parent))

    code, _, err = demo(capsys, made, "--force")

    assert (code, err) == (0, "")
    assert [lookalike.read_text() for lookalike in lookalikes] == ["the user's"] * 2
    assert not (made / linked).is_symlink()


BLOCKERS = [
    ("provenance.db", "folder", "is a folder, where the demo writes a file"),
    ("logs/production.log", "folder", "is a folder, where the demo writes a file"),
    (MANIFEST, "folder", "is a folder, where the demo writes a file"),
    ("premis", "file", "is not a folder, where the demo makes one"),
    ("logs/access", "file", "is not a folder, where the demo makes one"),
    ("pseudonym.key", "fifo", "is a device, FIFO or socket, where the demo writes a file"),
]


@pytest.mark.parametrize(("name", "kind", "why"), BLOCKERS, ids=[b[0] for b in BLOCKERS])
@pytest.mark.parametrize("force", [False, True], ids=["", "--force"])
def test_what_not_even_force_replaces_is_refused_before_anything_is_touched(
    capsys, tmp_path: Path, name: str, kind: str, why: str, force: bool
) -> None:
    folder = tmp_path / "d"
    where = folder / name
    where.parent.mkdir(parents=True)
    if kind == "folder":
        where.mkdir()
    elif kind == "file":
        where.write_text("the user's")
    else:
        os.mkfifo(where)
    before = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))

    code, out, err = demo(capsys, folder, *(["--force"] if force else []))

    refused(code, out, err, f"{where} {why}: move it away or choose another --dir")
    assert sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")) == before


def test_a_second_run_in_the_same_folder_is_refused(capsys, made: Path) -> None:
    before = snapshot(made)
    descriptor = os.open(made, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run in progress holds it
        refused(*demo(capsys, made, "--force"), f"another prov demo is writing {made}")
    finally:
        os.close(descriptor)
    assert snapshot(made) == before


def test_a_large_tree_is_refused_at_its_first_strangers(capsys, tmp_path, monkeypatch) -> None:
    """`--dir /usr` used to walk the whole tree before refusing (and fail on /proc)."""
    folder = tmp_path / "big"
    for index in range(300):
        (folder / f"d{index:03}").mkdir(parents=True)
        (folder / f"d{index:03}" / "file").write_text("not the demo's")
    looked_into: list[str] = []
    scandir = os.scandir

    def counting(path: Any) -> Any:
        looked_into.append(str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", counting)
    code, out, err = demo(capsys, folder)
    monkeypatch.undo()

    refused(code, out, err, f"{folder / 'd000' / 'file'} was not made by the demo (and more)")
    assert len(looked_into) <= 3


def test_a_folder_that_cannot_be_looked_into_is_a_stranger(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "d"
    (folder / "sealed").mkdir(parents=True)
    scandir = os.scandir

    def sealed(path: Any) -> Any:
        if Path(path).name == "sealed":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", sealed)
    code, out, err = demo(capsys, folder)
    monkeypatch.undo()

    refused(code, out, err, f"{folder / 'sealed'} cannot be looked into (Permission denied)")


def test_an_empty_dir_is_refused(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    code, out, err = run(capsys, "demo", "--dir", "", *SMALL)

    refused(code, out, err, "--dir")
    assert list(tmp_path.iterdir()) == []


def test_the_export_line_is_quoted_for_the_shell(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "my demo $HOME; 'x'"

    code, out, err = demo(capsys, folder)

    assert (code, err) == (0, ""), err
    export = next(line.strip() for line in out.splitlines() if "export PROV_STORE=" in line)
    shown = subprocess.run(
        ["sh", "-c", f'{export}; printf %s "$PROV_STORE"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == f"sqlite:///{folder / 'provenance.db'}"


# A run stopped by a signal in the middle of building the store: the signal is sent by the
# demo's own second ingest call, so it lands there every time.
SIGNALLED_DEMO = """
import os, signal, sys
import provenance.cli.demo.tour
from provenance.cli.main import main

real, calls = provenance.cli.demo.tour.ingest_stream, []

def ingest_stream(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), int(sys.argv[1]))
    return real(*args, **kwargs)

provenance.cli.demo.tour.ingest_stream = ingest_stream
main(sys.argv[2:])
"""


def signalled_demo(folder: Path, signum: int, *, ignored: bool = False) -> tuple[int, str]:
    command = [sys.executable, "-c", SIGNALLED_DEMO, str(int(signum))]
    done = subprocess.run(
        [*command, "demo", "--dir", str(folder), *SMALL],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        preexec_fn=(lambda: signal.signal(signum, signal.SIG_IGN)) if ignored else None,
        check=False,
    )
    return done.returncode, done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_sigterm_or_sighup_mid_build_leaves_no_temporary_and_the_previous_store(
    capsys, made: Path, signum: signal.Signals
) -> None:
    store = made / "provenance.db"
    previous = store.read_bytes()

    code, err = signalled_demo(made, signum)

    assert code == 128 + signum, err
    assert err.strip().splitlines()[-1] == f"prov: error: interrupted ({signum.name})"
    assert "Traceback" not in err
    assert store.read_bytes() == previous
    assert not [p for p in made.rglob(".*")], "a temporary file was left behind"
    assert demo(capsys, made)[0] == 0  # still the demo's own folder


def test_a_sighup_ignored_by_nohup_stays_ignored(capsys, tmp_path: Path) -> None:
    code, err = signalled_demo(tmp_path / "d", signal.SIGHUP, ignored=True)

    assert (code, err) == (0, "")
    assert "provenance.db" in manifest(tmp_path / "d")


def test_a_reader_that_leaves_ends_the_demo_quietly(capsys, tmp_path: Path) -> None:
    """`prov demo | head -1`: the tour's reader is gone while the store is being built."""
    folder = tmp_path / "d"
    process = subprocess.Popen(
        [*PROV, "demo", "--dir", str(folder), *SMALL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    process.stdout.close()
    _, err = process.communicate(timeout=60)

    assert first.startswith("1. generated ")
    assert (process.returncode, err) == (0, "")
    assert not [p for p in folder.rglob(".*")], "a temporary file was left behind"
    assert demo(capsys, folder)[0] == 0  # still the demo's own folder


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_tour_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [*PROV, "demo", "--dir", str(tmp_path / "d"), *SMALL],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            check=False,
        )

    assert (done.returncode, done.stderr) == (
        1,
        "prov: error: cannot write -: No space left on device\n",
    )


def test_the_empty_write_ahead_log_a_run_killed_while_holding_the_store_leaves_is_no_bar(
    capsys, made: Path
) -> None:
    """A run holds the previous store from its start, which gives the store an empty -wal; a
    run killed outright (SIGKILL) leaves that behind. It holds nothing: the next run goes on."""
    side = made / "provenance.db-wal"
    side.write_bytes(b"")

    code, _, err = demo(capsys, made)

    assert (code, err) == (0, "")
    assert not side.exists()


def test_a_write_ahead_log_with_content_is_a_stranger(capsys, made: Path) -> None:
    (made / "provenance.db-wal").write_bytes(b"x" * 32)

    refused(*demo(capsys, made), "belongs to a store that is open elsewhere or was not closed")
