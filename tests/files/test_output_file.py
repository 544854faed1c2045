"""Every file a command writes, by one rule (provenance/files/output_file.py), as a user meets it:
`prov premis -o`, `prov report access --chart`, the default pseudonym key, `prov ship --state`.

Tests run as root in CI: an unwritable target is a path under /proc (root cannot create files
there either) or a regular file standing where a folder should be, never a chmod.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pytest

import premis
from provenance.files import output_file
from provenance.files.output_file import OutputError, open_output, replacing_path, write_new
from tests.cli.test_cli import run
from tests.cli.test_cli_access import ACCESS_LOG
from tests.samples import OBJECT_LOG

DRUID = "druid:bj102hs9687"
NOT_PREMIS = b"<premis xmlns='urn:not-premis'/>"
PROV = (sys.executable, "-c", "from provenance.cli.main import main; main()")


@pytest.fixture
def url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A store holding one object's events and a few access events."""
    store = f"sqlite:///{tmp_path / 'store' / 'cli.db'}"
    (tmp_path / "store").mkdir()
    logs = tmp_path / "store" / "object.log", tmp_path / "store" / "stacks.log"
    logs[0].write_text(OBJECT_LOG)
    logs[1].write_text(ACCESS_LOG + "\n")
    assert run(capsys, "ingest", "--store", store, "--tz", "UTC", str(logs[0]))[0] == 0
    args = ["--source", "clf", "--service", "stacks", str(logs[1])]
    assert run(capsys, "ingest", "--store", store, *args)[0] == 0
    return store


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder for outputs (the store lives beside it)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def premis_to(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    return run(capsys, "premis", DRUID, "--store", url, *args)


def one_line_error(code: int, out: str, err: str, fragment: str) -> None:
    assert code == 1, err
    assert out == ""
    assert err.startswith("prov: error: ") and err.count("\n") == 1, err
    assert fragment in err, err
    assert "Traceback" not in err and ".tmp" not in err


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def document(capsys: pytest.CaptureFixture[str], url: str) -> bytes:
    """The document `prov premis` writes to standard output."""
    code, text, err = premis_to(capsys, url)
    assert code == 0, err
    return text.encode()


# --- what the target is ----------------------------------------------------------------------


def test_dash_is_standard_output_not_a_file(capsys, url, out, monkeypatch) -> None:
    monkeypatch.chdir(out)

    code, text, err = premis_to(capsys, url, "-o", "-")

    assert (code, err) == (0, "")
    assert text.startswith("<?xml") and text == document(capsys, url).decode()
    assert list(out.iterdir()) == []


def test_a_symlink_is_written_through_and_stays_a_link(capsys, url, out) -> None:
    real = out / "real.xml"
    real.write_text("old")
    real.chmod(0o640)
    link = out / "link.xml"
    link.symlink_to("real.xml")

    code, _, err = premis_to(capsys, url, "-o", str(link))

    assert (code, err) == (0, f"wrote {link}\n")
    assert link.is_symlink() and os.readlink(link) == "real.xml"
    assert real.read_bytes() == document(capsys, url)
    assert mode(real) == 0o640
    assert sorted(p.name for p in out.iterdir()) == ["link.xml", "real.xml"]


def test_a_dangling_symlink_creates_its_target(capsys, url, out) -> None:
    link = out / "link.xml"
    link.symlink_to(out / "sub" / "made.xml")

    assert premis_to(capsys, url, "-o", str(link))[0] == 0

    assert link.is_symlink()
    assert (out / "sub" / "made.xml").read_bytes() == document(capsys, url)


def test_a_fifo_is_written_directly_to_its_reader(capsys, url, out) -> None:
    fifo = out / "pipe.xml"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()

    code, _, err = premis_to(capsys, url, "-o", str(fifo))
    reader.join(timeout=60)

    assert (code, err) == (0, f"wrote {fifo}\n")
    assert received == [document(capsys, url)]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in out.iterdir()] == ["pipe.xml"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_device_is_one_line_and_stays_a_device(capsys, url) -> None:
    code, out, err = premis_to(capsys, url, "-o", "/dev/full")

    one_line_error(code, out, err, "cannot write /dev/full: No space left on device")
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_dev_stdout_is_the_open_descriptor_never_reopened(url, out) -> None:
    """Redirected to a file in append mode, `-o /dev/stdout` appends, as `-o -` does: the file
    is neither truncated nor replaced by another one."""
    target = out / "collected.xml"
    target.write_bytes(b"before\n")
    inode = target.stat().st_ino
    was_a_link = os.path.islink("/dev/stdout")
    with target.open("ab") as stdout:
        done = subprocess.run(
            [*PROV, "premis", DRUID, "--store", url, "-o", "/dev/stdout"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
    assert done.returncode == 0, done.stderr
    content = target.read_bytes()
    assert content.startswith(b"before\n<?xml") and content.endswith(b"</premis:premis>\n")
    assert target.stat().st_ino == inode
    assert os.path.islink("/dev/stdout") == was_a_link


@pytest.mark.parametrize(
    "name",
    [
        "/dev/fd/99999999999999999999",  # more than any integer a system call takes
        "/proc/self/fd/2147483648",  # one more than a C int
        "/dev/fd/2147483647",  # a C int, but no descriptor open
        "/proc/thread-self/fd/" + "9" * 5000,  # a long run of digits is not read whole
    ],
    ids=["20 digits", "C int + 1", "C int", "5000 digits"],
)
def test_a_descriptor_no_process_has_is_one_line(capsys, url, name: str) -> None:
    code, out, err = premis_to(capsys, url, "-o", name)

    one_line_error(code, out, err, f"cannot write {name}: Bad file descriptor")


def test_a_directory_is_refused(capsys, url, out) -> None:
    code, text, err = premis_to(capsys, url, "-o", str(out))

    one_line_error(code, text, err, "is a directory")
    assert list(out.iterdir()) == []


# --- modes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(capsys, url, out, mask: int, expected: int) -> None:
    target = out / "new.xml"
    with umask(mask):
        code, _, err = premis_to(capsys, url, "-o", str(target))

    assert code == 0, err
    assert mode(target) == expected


def test_a_replaced_file_keeps_its_mode_and_owner(capsys, url, out) -> None:
    target = out / "kept.xml"
    target.write_text("old")
    target.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(target, 4321, 4322)  # as root, a file someone else owns
    before = target.stat()

    with umask(0o077):
        assert premis_to(capsys, url, "-o", str(target))[0] == 0

    after = target.stat()
    assert target.read_bytes() == document(capsys, url)
    assert after.st_ino != before.st_ino  # replaced, not rewritten in place
    assert (mode(target), after.st_uid, after.st_gid) == (0o640, before.st_uid, before.st_gid)


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/proc/prov-test-premis.xml", "/proc/version"])
def test_an_unwritable_place_is_one_line_naming_the_target_and_why(capsys, url, target) -> None:
    """The reason is the folder's: /proc takes no new file (/proc/version itself exists)."""
    code, out, err = premis_to(capsys, url, "-o", target)

    one_line_error(code, out, err, f"cannot write {target}: cannot create a file in /proc: ")
    assert target == "/proc/version" or not Path(target).exists()


def test_a_file_where_a_folder_should_be_is_one_line_and_leaves_nothing(capsys, url, out) -> None:
    (out / "file").write_text("a file, not a folder")
    target = out / "file" / "deeper" / "x.xml"

    code, text, err = premis_to(capsys, url, "-o", str(target))

    one_line_error(code, text, err, f"cannot write {target}: Not a directory")
    assert [p.name for p in out.iterdir()] == ["file"]


def test_missing_folders_made_for_a_failed_write_are_removed(capsys, url, out, monkeypatch):
    def full_disk(descriptor: int, existing: object) -> None:
        raise OSError(errno.ENOSPC, "No space left")  # as fsync reports it

    monkeypatch.setattr(output_file, "_settle", full_disk)
    target = out / "a" / "b" / "x.xml"

    code, text, err = premis_to(capsys, url, "-o", str(target))

    one_line_error(code, text, err, f"cannot write {target}: No space left")
    assert list(out.iterdir()) == []


def _write_then(error: BaseException) -> Any:
    def write_document(stream: BinaryIO, *args: Any) -> None:
        stream.write(b"<?xml version='1.0'?>\n<partial")
        raise error

    return write_document


@pytest.mark.parametrize("exists", [True, False], ids=["existing", "new"])
def test_ctrl_c_mid_write_leaves_the_target_as_it_was_and_no_temporary(
    capsys, url, out, monkeypatch, exists: bool
) -> None:
    target = out / "x.xml"
    if exists:
        target.write_text("the old document")
    monkeypatch.setattr(premis, "write_document", _write_then(KeyboardInterrupt()))

    code, _, err = premis_to(capsys, url, "-o", str(target))

    assert code == 130 and err.strip() == "prov: error: interrupted"
    assert [p.name for p in out.iterdir()] == (["x.xml"] if exists else [])
    assert not exists or target.read_text() == "the old document"


def test_validate_failure_leaves_an_existing_file_untouched(capsys, url, out, monkeypatch):
    target = out / "x.xml"
    target.write_text("the old document")
    monkeypatch.setattr(premis, "write_document", lambda stream, *a: stream.write(NOT_PREMIS))

    code, text, err = premis_to(capsys, url, "--validate", "-o", str(target))

    one_line_error(code, text, err, "")
    assert target.read_text() == "the old document"
    assert [p.name for p in out.iterdir()] == ["x.xml"]


@pytest.mark.parametrize("where", ["-", "fifo"])
def test_validate_failure_writes_nothing_to_a_stream(
    capsys, url, out, monkeypatch, where: str
) -> None:
    monkeypatch.setattr(premis, "write_document", lambda stream, *a: stream.write(NOT_PREMIS))
    received: list[bytes] = []
    target = where
    if where == "fifo":
        fifo = out / "pipe.xml"
        os.mkfifo(fifo)
        target = str(fifo)

    code, text, err = premis_to(capsys, url, "--validate", "-o", target)

    one_line_error(code, text, err, "")
    if where == "fifo":
        # Nothing was opened for writing: a reader opening it now waits for a writer, and
        # gets end of file from the one this test opens and closes.
        reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
        reader.start()
        os.close(os.open(fifo, os.O_WRONLY))
        reader.join(timeout=60)
        assert received == [b""]


def test_validate_success_to_a_fifo(capsys, url, out) -> None:
    fifo = out / "pipe.xml"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()

    assert premis_to(capsys, url, "--validate", "-o", str(fifo))[0] == 0
    reader.join(timeout=60)

    assert received == [document(capsys, url)]


# --- the chart -------------------------------------------------------------------------------


def test_chart_dash_is_refused_before_the_report(capsys, tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    code, out, err = run(capsys, "report", "access", "--store", missing, "--chart", "-")

    one_line_error(code, out, err, "--chart -: a chart's format comes from its file name")


def test_chart_follows_the_same_rule(capsys, url, out) -> None:
    pytest.importorskip("matplotlib")
    real = out / "real.svg"
    real.write_text("old")
    real.chmod(0o640)
    link = out / "chart.svg"
    link.symlink_to(real)

    code, text, err = run(capsys, "report", "access", "--store", url, "--chart", str(link))

    assert code == 0, err
    assert text.endswith(f"chart: {link}\n")
    assert link.is_symlink() and real.read_text().count("<svg") == 1
    assert mode(real) == 0o640
    assert sorted(p.name for p in out.iterdir()) == ["chart.svg", "real.svg"]

    code, text, err = run(
        capsys, "report", "access", "--store", url, "--chart", "/proc/prov-test.svg"
    )
    one_line_error(code, text, err, "cannot write /proc/prov-test.svg: ")


# --- the default pseudonym key ---------------------------------------------------------------


def ingest_access(capsys, tmp_path: Path) -> tuple[int, str, str]:
    log = tmp_path / "stacks.log"
    log.write_text(ACCESS_LOG + "\n")
    store = f"sqlite:///{tmp_path / 'key-test.db'}"
    return run(
        capsys, "ingest", "--store", store, "--source", "clf", "--service", "stacks", str(log)
    )


def test_the_default_key_is_private_and_written_through_a_symlink(
    capsys, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("PROV_PSEUDONYM_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config" / "sdr-provenance").mkdir(parents=True)
    link = tmp_path / "config" / "sdr-provenance" / "pseudonym.key"
    (tmp_path / "secrets").mkdir()
    link.symlink_to(tmp_path / "secrets" / "prov.key")

    with umask(0o022):
        code, _, err = ingest_access(capsys, tmp_path)

    assert code == 0, err
    key = tmp_path / "secrets" / "prov.key"
    assert link.is_symlink() and len(key.read_bytes()) == 32
    assert mode(key) == 0o600
    assert [p.name for p in key.parent.iterdir()] == ["prov.key"]


def test_a_default_key_that_cannot_be_made_is_one_line(capsys, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("PROV_PSEUDONYM_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/proc/prov-test-config")

    code, out, err = ingest_access(capsys, tmp_path)

    one_line_error(
        code, out, err, "pseudonym key file /proc/prov-test-config/sdr-provenance/pseudonym.key"
    )


# --- the module's other two entry points -----------------------------------------------------


class FullStream(io.BytesIO):
    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


class FullFile(io.FileIO):
    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("target", ["file", "stdout"])
def test_a_write_the_system_refuses_is_the_targets_error(tmp_path: Path, monkeypatch, target):
    name = str(tmp_path / "x.xml") if target == "file" else "-"
    if target == "file":
        monkeypatch.setattr(os, "fdopen", lambda descriptor, *args: FullFile(descriptor, "wb"))

    with pytest.raises(OutputError) as caught, open_output(name, stdout=FullStream()) as out:
        out.write(b"<premis/>")

    assert str(caught.value) == f"cannot write {name}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_an_error_of_the_callers_own_work_is_not_blamed_on_the_target(tmp_path: Path) -> None:
    """Only this module's own calls are guarded: an OSError of the work inside the block (here
    a read of another file) passes as it is, and the target is left as it was."""
    target = tmp_path / "x.xml"
    target.write_bytes(b"old")

    with pytest.raises(FileNotFoundError) as caught, open_output(target) as out:
        out.write(b"partial")
        (tmp_path / "missing.log").read_bytes()
    assert not isinstance(caught.value, OutputError)

    with pytest.raises(BrokenPipeError), replacing_path(tmp_path / "store.db") as building:
        building.write_bytes(b"half a store")
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")  # `prov demo | head -1`, mid-build

    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.xml"]
    assert target.read_bytes() == b"old"


def test_write_new_never_replaces(tmp_path: Path) -> None:
    target = tmp_path / "k"
    with umask(0o022):
        assert write_new(target, b"first") is True
        assert write_new(target, b"second") is False
    assert target.read_bytes() == b"first" and mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def test_replacing_path_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in ("-", fifo, "/dev/null"):
        with pytest.raises(Exception, match="not a regular file"), replacing_path(target):
            pass
    assert [p.name for p in tmp_path.iterdir()] == ["fifo"]


def test_open_output_writes_to_a_given_standard_output(tmp_path: Path) -> None:
    import io

    stdout = io.BytesIO()
    with open_output("-", stdout=stdout) as stream:
        stream.write(b"bytes")
    assert stdout.getvalue() == b"bytes"
    assert list(tmp_path.iterdir()) == []


# --- names that cannot name a file -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "cannot write '': the file name is empty"),
        ("newdir/", "cannot write newdir/: that names a folder, not a file"),
        ("newdir/.", "cannot write newdir/.: that names a folder, not a file"),
        ("newdir/..", "cannot write newdir/..: that names a folder, not a file"),
    ],
)
def test_a_name_that_cannot_name_a_file_is_refused_and_nothing_is_made(
    capsys, url, out, monkeypatch, name: str, fragment: str
) -> None:
    here = out / "here"
    here.mkdir()
    monkeypatch.chdir(here)

    code, text, err = premis_to(capsys, url, "-o", name)

    one_line_error(code, text, err, fragment)
    assert [p.name for p in out.iterdir()] == ["here"]  # nothing beside the working folder
    assert list(here.iterdir()) == []


def test_an_empty_chart_name_is_refused(capsys, url) -> None:
    code, out, err = run(capsys, "report", "access", "--store", url, "--chart", "")

    one_line_error(code, out, err, "--chart : the file name must end in .png or .svg")


def test_an_empty_ship_state_name_is_refused(capsys, tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("a line\n")

    code, out, err = run(
        capsys, "ship", str(log), "--stream", "s", "--region", "us-east-1", "--state", ""
    )

    one_line_error(code, out, err, "cannot open ship state '': the file name is empty")
    assert [p.name for p in tmp_path.iterdir()] == ["a.log"]


# --- the store being read --------------------------------------------------------------------


def store_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


@pytest.mark.parametrize(
    "how",
    [
        "itself",
        "symlink",
        "hard link",
        "its -wal",
        "its -wal, not made yet",
        "its -shm, not made yet",
        "its -journal, not made yet",
        "a symlink to its -wal, not made yet",
    ],
)
def test_output_onto_the_store_being_read_is_refused(capsys, url, out, how: str) -> None:
    store = store_path(url)
    before = store.read_bytes()
    target = store
    if how == "symlink":
        target = out / "link.xml"
        target.symlink_to(store)
    elif how == "hard link":
        target = out / "hard.xml"
        os.link(store, target)
    elif how == "its -wal":
        target = Path(f"{store}-wal")
        target.write_bytes(b"")  # as an open connection has it
    elif how.startswith("its -"):
        # Opening the store makes the -wal (and -shm) after any look at what exists.
        target = Path(f"{store}{how.split()[1].rstrip(',')}")
    elif how.startswith("a symlink to"):
        target = out / "link.xml"
        target.symlink_to(f"{store}-wal")
    assert how in ("itself", "symlink", "hard link", "its -wal") or not target.exists()

    code, text, err = premis_to(capsys, url, "-o", str(target))

    one_line_error(code, text, err, f"cannot write {target}: it is the store this command reads")
    assert store.read_bytes() == before
    assert run(capsys, "history", DRUID, "--store", url)[0] == 0


def test_a_chart_onto_the_store_being_read_is_refused(capsys, url, out) -> None:
    store = store_path(url)
    before = store.read_bytes()
    link = out / "chart.svg"
    link.symlink_to(store)

    code, text, err = run(capsys, "report", "access", "--store", url, "--chart", str(link))

    one_line_error(code, text, err, f"cannot write {link}: it is the store this command reads")
    assert store.read_bytes() == before and link.is_symlink()


# --- standard output closed, or its reader gone ----------------------------------------------


def prov(url: str, *args: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PROV, *args, "--store", url],
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        **popen,
    )


def closed_stdout() -> None:
    os.close(1)  # `prov ... >&-`


def test_with_stdout_closed_a_file_is_still_written(url, out) -> None:
    target = out / "x.xml"

    done = prov(url, "premis", DRUID, "-o", str(target), preexec_fn=closed_stdout)

    assert (done.returncode, done.stderr) == (0, f"wrote {target}\n")
    assert target.read_bytes().startswith(b"<?xml")


@pytest.mark.parametrize(
    "args",
    [
        ("premis", DRUID),
        ("premis", DRUID, "-o", "/dev/stdout"),
        ("history", DRUID, "--format", "json"),
        ("report", "access", "--format", "csv"),
        ("report", "access"),
    ],
)
def test_with_stdout_closed_output_for_it_is_one_line(url, args: tuple[str, ...]) -> None:
    done = prov(url, *args, preexec_fn=closed_stdout)

    target = "/dev/stdout" if "/dev/stdout" in args else "-"
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"prov: error: cannot write {target}: standard output is closed\n"


CLICKS_OWN_OUTPUT = [
    ("--help",),
    ("--version",),
    ("history", "--help"),
    ("report", "--help"),
    ("report", "access", "--help"),
]


def prov_alone(*args: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    """`prov ARGS` with no store: the help and the version are printed by click itself."""
    return subprocess.run(
        [*PROV, *args],
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        **popen,
    )


@pytest.mark.parametrize("args", CLICKS_OWN_OUTPUT)
def test_with_stdout_closed_the_help_and_version_are_one_line(args: tuple[str, ...]) -> None:
    done = prov_alone(*args, preexec_fn=closed_stdout)

    assert (done.returncode, done.stderr) == (
        1,
        "prov: error: cannot write -: standard output is closed\n",
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", CLICKS_OWN_OUTPUT)
def test_the_help_and_version_on_a_full_stdout_are_one_line(args: tuple[str, ...]) -> None:
    with open("/dev/full", "wb") as full:
        done = prov_alone(*args, stdout=full)

    assert (done.returncode, done.stderr) == (
        1,
        "prov: error: cannot write -: No space left on device\n",
    )


@pytest.mark.parametrize("group", [(), ("report",)])
def test_a_group_without_its_command_is_one_line(capsys, group: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *group)

    path = " ".join(("prov", *group))
    assert (code, out) == (1, "")
    assert err == f"prov: error: no command given ({path} --help lists them)\n"


@pytest.mark.parametrize(
    "args",
    [
        ("premis", DRUID),
        ("history", DRUID, "--format", "json"),
        ("report", "access", "--format", "csv"),
        ("report", "access"),
        ("history", "--help"),
    ],
)
def test_a_reader_that_left_ends_the_command_quietly(url, args: tuple[str, ...]) -> None:
    """`prov premis D | head -c 10`: the pipe's reader is gone before anything is written."""
    reading, writing = os.pipe()
    os.close(reading)
    try:
        done = prov(url, *args, stdout=writing)
    finally:
        os.close(writing)

    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ("premis", DRUID),
        ("history", DRUID),
        ("history", DRUID, "--format", "json"),
        ("report", "access", "--format", "csv"),
        ("report", "access"),
    ],
)
def test_a_stdout_that_refuses_writes_is_one_line(url, args: tuple[str, ...]) -> None:
    """`prov history D > /dev/full`, as on a full disk: one line, no traceback, and nothing
    more from Python flushing the rest on the way out."""
    with open("/dev/full", "wb") as full:
        done = prov(url, *args, stdout=full)

    assert done.returncode == 1, done.stderr
    assert done.stderr == "prov: error: cannot write -: No space left on device\n"


def test_a_descriptor_whose_reader_left_is_that_files_error(url) -> None:
    reading, writing = os.pipe()
    os.close(reading)
    try:
        done = prov(url, "premis", DRUID, "-o", f"/dev/fd/{writing}", pass_fds=(writing,))
    finally:
        os.close(writing)

    assert done.returncode == 1
    assert done.stderr == (
        f"prov: error: cannot write /dev/fd/{writing}: the reader closed it (broken pipe)\n"
    )


# --- stopped by a signal ---------------------------------------------------------------------

# `prov premis -o` stopped by SIGTERM in the middle of writing: the signal is sent by the
# document writer itself, so it lands there every time.
SIGNALLED_PREMIS = """
import os, signal, sys
import premis
from provenance.cli.main import main

def write_document(stream, *args):
    stream.write(b"<?xml version='1.0'?>\\n<partial")
    os.kill(os.getpid(), signal.SIGTERM)
    stream.write(b" more")

premis.write_document = write_document
main(sys.argv[1:])
"""


@pytest.mark.parametrize("exists", [True, False], ids=["existing", "new"])
def test_sigterm_mid_write_leaves_the_target_as_it_was_and_no_temporary(url, out, exists):
    target = out / "x.xml"
    if exists:
        target.write_text("the old document")

    command = [sys.executable, "-c", SIGNALLED_PREMIS, "premis", DRUID, "--store", url]
    done = subprocess.run(
        [*command, "-o", str(target)],
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )

    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert done.stderr.strip() == "prov: error: interrupted (SIGTERM)"
    assert [p.name for p in out.iterdir()] == (["x.xml"] if exists else [])
    assert not exists or target.read_text() == "the old document"


def test_a_folder_another_process_makes_meanwhile_is_used_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first runs make the config folder for the default key at once: the one whose mkdir
    comes second finds it made (FileExistsError) and goes on, leaving the folder alone."""
    folder = tmp_path / "config" / "sdr-provenance"
    real_exists = Path.exists

    def racing_exists(path: Path, *args: Any, **kwargs: Any) -> bool:
        if path == folder and not real_exists(path):
            folder.mkdir(parents=True)  # the other process, between the look and the mkdir
            return False
        return real_exists(path, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", racing_exists)
    assert write_new(folder / "pseudonym.key", b"k" * 32)
    assert (folder / "pseudonym.key").read_bytes() == b"k" * 32
