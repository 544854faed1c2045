"""`prov ship` knows a file again by what it holds, not by its device and inode (issue 11, B2).

ext4 gives a new file the inode of one just deleted, copytruncate keeps the inode and drops the
content, and an unrelated file may have the inode a rotated log had. In every case the lines
shipped before must be found again where they are, or a warning must say what was not
shipped; never is another file's content taken for the rest of the log.

Inode reuse cannot be caused on purpose, so it is made here the way the shipper meets it: the
state's saved identity is set to that of the file that now has it.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from provenance.aws.file_birth import birth_time
from provenance.aws.ship import Shipper
from provenance.aws.ship_send import KinesisClient
from provenance.aws.ship_state import FileKey, ShipState
from tests.aws.test_ship import (  # fixtures and helpers of the ship tests
    HOST,
    clf_lines,
    client,  # noqa: F401 (a fixture)
    envelopes_of,
    handler_store,
    ids_in,
    ingest_cli_ids,
    kinesis,  # noqa: F401 (a fixture)
    options,
    ship_cli,
    stream,  # noqa: F401 (a fixture)
    write,
)
from tests.aws.test_ship_state import FORMAT_1_SCHEMA
from tests.aws_server import MotoServer

OLD = clf_lines(40, distinct=8)
LATER = clf_lines(50)[40:]  # written after shipping stopped: 10 lines never shipped
NEW = [line.replace("GET /file", "GET /iiif") for line in clf_lines(60)]  # another content


def _identity(path: Path) -> str:
    status = path.stat()
    return f"{status.st_dev}:{status.st_ino}"


def _reuse_identity(state: Path, path: Path) -> None:
    """What ext4 does when it gives `path` the inode the shipped file had."""
    with sqlite3.connect(state) as db:
        db.execute("UPDATE shipped_files SET file_id = ?", (_identity(path),))


def _gzip(plain: Path, packed: Path) -> Path:
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    return packed


def _expected(capsys: pytest.CaptureFixture[str], tmp_path: Path, *contents: list[str]) -> set[str]:
    """The ids `prov ingest` gives each content read whole (ids do not depend on names)."""
    files = [write(tmp_path / f"expected-{n}.log", lines) for n, lines in enumerate(contents)]
    return ingest_cli_ids(capsys, tmp_path, *files)


@pytest.mark.parametrize("new_lines", [NEW[:5], NEW], ids=["shorter", "longer"])
def test_inode_reuse_after_rotate_and_compress_finishes_the_old_content(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,  # noqa: F811
    stream: str,  # noqa: F811
    new_lines: list[str],
) -> None:
    """mv access.log access.log.1; gzip access.log.1; a new access.log with the old inode: the
    shipper took it for the old file truncated, and the unshipped lines in .1.gz were never
    sent; a new file at least as long as the offset was resumed in the middle, silently."""
    path = write(tmp_path / "access.log", OLD)
    state = tmp_path / "ship.db"
    assert ship_cli(capsys, moto, stream, state, str(path))[0] == 0
    shipped = path.stat().st_size
    write(path, LATER, mode="a")
    _gzip(path.rename(tmp_path / "access.log.1"), tmp_path / "access.log.1.gz")
    write(path, new_lines)
    _reuse_identity(state, path)

    code, report, err = ship_cli(capsys, moto, stream, state, str(path))

    assert code == 0, err
    assert err == (
        f"prov: warning: {path} no longer holds what was shipped of it (rotated, truncated or "
        f"replaced while not shipping): finishing the old content, now in "
        f"{tmp_path}/access.log.1.gz, from byte {shipped:,} first\n"
    )
    assert report["lines"] == len(LATER) + len(new_lines)
    # Issue 11, review 2: reported as a truncation. The file is new (made after the state was
    # saved), where the system says when a file was made.
    if _birth_time_known(path):
        assert (report["rotations"], report["truncations"]) == (1, 0)
    assert ids_in(handler_store(tmp_path, kinesis, stream)) == _expected(
        capsys, tmp_path, OLD + LATER, new_lines
    )


def _birth_time_known(path: Path) -> bool:
    with path.open("rb") as opened:
        return birth_time(opened.fileno()) is not None


@pytest.mark.parametrize("new_lines", [NEW[:3], NEW], ids=["shorter", "longer"])
def test_copytruncate_and_compress_while_not_shipping_finishes_the_copy(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,  # noqa: F811
    stream: str,  # noqa: F811
    new_lines: list[str],
) -> None:
    """logrotate copytruncate + compress: the content goes to access.log.1.gz, the file keeps
    its inode and starts again. 3 events were stored where 10 + 3 were expected."""
    path = write(tmp_path / "access.log", OLD)
    state = tmp_path / "ship.db"
    assert ship_cli(capsys, moto, stream, state, str(path))[0] == 0
    write(path, LATER, mode="a")
    shutil.copyfile(path, tmp_path / "access.log.1")
    write(path, new_lines)  # truncated, and written on
    _gzip(tmp_path / "access.log.1", tmp_path / "access.log.1.gz")

    code, report, err = ship_cli(capsys, moto, stream, state, str(path))

    assert code == 0, err
    assert "finishing the old content, now in" in err and "access.log.1.gz" in err
    assert (report["lines"], report["truncations"]) == (len(LATER) + len(new_lines), 1)
    assert ids_in(handler_store(tmp_path, kinesis, stream)) == _expected(
        capsys, tmp_path, OLD + LATER, new_lines
    )


@pytest.mark.parametrize("impostor", ["sqlite-wal", "text"])
def test_a_file_that_took_the_old_inode_is_never_shipped_as_the_log(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,  # noqa: F811
    stream: str,  # noqa: F811
    impostor: str,
) -> None:
    """The log was deleted, and another file of the folder got its inode: an SQLite -wal was
    shipped as the rest of the log (even though binary). Now it is passed by, and the warning
    says what was not shipped."""
    path = write(tmp_path / "access.log", OLD)
    state = tmp_path / "ship.db"
    assert ship_cli(capsys, moto, stream, state, str(path))[0] == 0
    shipped = path.stat().st_size
    path.unlink()
    other = tmp_path / ("state.db-wal" if impostor == "sqlite-wal" else "notes.txt")
    if impostor == "sqlite-wal":
        other.write_bytes(b"\x37\x7f\x06\x82" + bytes(4000) + b"x\n" * 2000)
    else:
        write(other, NEW)  # text, longer than the offset, lines ending where it stopped
    _reuse_identity(state, other)
    write(path, NEW[:4])

    code, report, err = ship_cli(capsys, moto, stream, state, str(path))

    assert code == 0, err
    assert err == (
        f"prov: warning: {path} no longer holds the lines shipped before byte {shipped:,} "
        "(rotated, truncated or replaced while not shipping), and no file beside it does: what "
        f"followed them in the old file was not shipped; shipping {path} from its start\n"
    )
    assert report["lines"] == 4
    by_file: dict[str, list[bytes]] = {}
    for env in envelopes_of(kinesis, stream, path):
        by_file.setdefault(env.file_id, []).extend(line for line in env.lines)
    assert by_file.pop(_identity(path)) == [line.encode() for line in NEW[:4]]
    assert list(by_file.values()) == [[line.encode() for line in OLD]]  # the first run's


def test_a_compressed_copy_with_as_many_lines_but_other_content_is_not_taken(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,  # noqa: F811
    stream: str,  # noqa: F811
) -> None:
    """The old match: the newest compressed file whose content had as many line ends before
    the offset. A decoy with lines of the same lengths passed it."""
    path = write(tmp_path / "access.log", OLD)
    state = tmp_path / "ship.db"
    assert ship_cli(capsys, moto, stream, state, str(path))[0] == 0
    write(path, LATER, mode="a")
    _gzip(path.rename(tmp_path / "access.log.1"), tmp_path / "access.log.1.gz")
    decoy = [line.replace("GET", "PUT") for line in OLD + LATER]  # the same line lengths
    _gzip(write(tmp_path / "access.log.0", decoy), tmp_path / "access.log.0.gz")
    os.utime(tmp_path / "access.log.0.gz", (2_000_000_000, 2_000_000_000))  # the newest
    write(path, NEW[:5])

    code, _, err = ship_cli(capsys, moto, stream, state, str(path))

    assert code == 0, err
    assert f"now in {tmp_path}/access.log.1.gz, from byte" in err
    assert ids_in(handler_store(tmp_path, kinesis, stream)) == _expected(
        capsys, tmp_path, OLD + LATER, NEW[:5]
    )


def test_copytruncate_while_following_finishes_from_the_copy(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    client: KinesisClient,  # noqa: F811
    kinesis: Any,  # noqa: F811
    stream: str,  # noqa: F811
) -> None:
    """While following: the file is copied and truncated, and written on past the offset
    before the next look. The size alone did not show it: shipping went on in the middle of
    the new content, and the lines written before the copy were lost."""
    path = write(tmp_path / "access.log", OLD)
    warnings: list[str] = []
    with ShipState(tmp_path / "ship.db") as state:
        shipper = Shipper(client, state, options(stream, record_bytes=300), warn=warnings.append)
        shipper.follow([str(path)])
        shipper.poll()
        write(path, LATER, mode="a")
        shutil.copyfile(path, tmp_path / "access.log.1")
        write(path, NEW)
        shipper.poll()
        shipper.poll(final=True)
        shipper.close()
    assert warnings == [
        f"{path} was truncated: finishing what it held from {tmp_path}/access.log.1 first, "
        "then shipping it again from the start"
    ]
    assert shipper.report.truncations == 1
    assert ids_in(handler_store(tmp_path, kinesis, stream)) == _expected(
        capsys, tmp_path, OLD + LATER, NEW
    )


def test_a_file_rotated_twice_while_not_shipping_is_shipped_too(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,  # noqa: F811
    stream: str,  # noqa: F811
) -> None:
    """Two rotations between two runs: only the file holding what was shipped was finished;
    the one rotated after it (access.log.1, 50 lines) was silently skipped: 250 lines
    written, 200 shipped, and the warning named only access.log.2."""
    path = write(tmp_path / "access.log", clf_lines(100))
    state = tmp_path / "ship.db"
    assert ship_cli(capsys, moto, stream, state, str(path))[0] == 0
    middle = [line.replace("GET /file", "GET /iiif") for line in clf_lines(50)]
    path.rename(tmp_path / "access.log.1")
    write(path, middle)
    (tmp_path / "access.log.1").rename(tmp_path / "access.log.2")
    path.rename(tmp_path / "access.log.1")
    newest = [line.replace("GET /file", "GET /purl") for line in clf_lines(50)]
    write(path, newest)
    now = time.time()
    for age, name in ((20, "access.log.2"), (10, "access.log.1"), (0, "access.log")):
        os.utime(tmp_path / name, (now - age, now - age))  # as written minutes apart

    code, report, err = ship_cli(capsys, moto, stream, state, str(path))

    assert code == 0, err
    assert report["lines"] == 100  # nothing after the first 100 in access.log.2
    assert err.splitlines()[1:] == [
        f"prov: warning: {tmp_path}/access.log.1 was rotated from {path} after the old content "
        "and before the file it names now: shipping it too, from its start"
    ]
    assert f"now in {tmp_path}/access.log.2, from byte" in err.splitlines()[0]
    assert ids_in(handler_store(tmp_path, kinesis, stream)) == _expected(
        capsys, tmp_path, clf_lines(100), middle, newest
    )
    # Run again: nothing new, nothing shipped twice.
    code, report, err = ship_cli(capsys, moto, stream, state, str(path))
    assert (code, report["lines"], err) == (0, 0, "")


def test_a_compressed_copy_of_the_old_content_is_not_shipped_again(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,  # noqa: F811
    stream: str,  # noqa: F811
) -> None:
    """Files rotated in between are told by their first line: a compressed copy of the old
    content (delaycompress done late), changed after it, is not one of them."""
    path = write(tmp_path / "access.log", OLD)
    state = tmp_path / "ship.db"
    assert ship_cli(capsys, moto, stream, state, str(path))[0] == 0
    rotated = path.rename(tmp_path / "access.log.1")
    write(path, NEW[:5])
    (tmp_path / "access.log.1.gz").write_bytes(gzip.compress(rotated.read_bytes()))
    os.utime(path, (2_000_000_000, 2_000_000_000))  # the newest of all

    code, report, err = ship_cli(capsys, moto, stream, state, str(path))

    assert (code, report["lines"]) == (0, 5), err
    assert "shipping it too" not in err


# --- a state saved by format 1 (no fingerprints, paths as text) --------------------------------


def as_format_1(state: Path) -> None:
    """Rewrite a state file as format 1 kept it: what an older prov left behind."""
    with sqlite3.connect(state) as db:
        rows = db.execute(
            "SELECT id, stream, host, path, file_id, offset, next_line, updated_at"
            " FROM shipped_files"
        ).fetchall()
        counts = db.execute("SELECT file, digest, count FROM head_counts").fetchall()
    state.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(state) as db:
        db.executescript(FORMAT_1_SCHEMA)
        db.executemany(
            "INSERT INTO shipped_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row[:3], os.fsdecode(row[3]), *row[4:]) for row in rows],
        )
        db.executemany("INSERT INTO head_counts VALUES (?, ?, ?)", counts)


def test_a_state_of_an_older_prov_resumes_by_identity_with_a_note(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,  # noqa: F811
    stream: str,  # noqa: F811
) -> None:
    path = write(tmp_path / "access.log", OLD)
    state = tmp_path / "ship.db"
    assert ship_cli(capsys, moto, stream, state, str(path))[0] == 0
    as_format_1(state)
    write(path, LATER, mode="a")

    code, report, err = ship_cli(capsys, moto, stream, state, str(path))

    assert code == 0, err
    assert err == (
        f"prov: warning: {path}: the ship state (saved by an older prov) has no fingerprint of "
        "what was shipped: its file is known again by identity and line ends alone\n"
    )
    assert report["lines"] == len(LATER)  # resumed where it stopped, not again from 0
    assert ids_in(handler_store(tmp_path, kinesis, stream)) == _expected(
        capsys, tmp_path, OLD + LATER
    )
    with ShipState(state) as saved:  # converted, and fingerprinted from then on
        resume = saved.load(FileKey(stream, HOST, str(path)))
    assert resume is not None and resume.fingerprint is not None
    assert resume.offset == path.stat().st_size


def test_a_state_of_an_older_prov_finds_a_plain_copytruncate_copy(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    moto: MotoServer,
    kinesis: Any,  # noqa: F811
    stream: str,  # noqa: F811
) -> None:
    """With a state of format 1, a compressed copy was accepted by its line count but a plain
    one never (it has not the identity saved): `cp a.log a.log.1; : > a.log` lost the lines
    written after the last run, with a warning."""
    path = write(tmp_path / "access.log", OLD)
    state = tmp_path / "ship.db"
    assert ship_cli(capsys, moto, stream, state, str(path))[0] == 0
    as_format_1(state)
    write(path, LATER, mode="a")
    shutil.copyfile(path, tmp_path / "access.log.1")
    write(path, NEW[:3])

    code, report, err = ship_cli(capsys, moto, stream, state, str(path))

    assert code == 0, err
    assert f"finishing the old content, now in {tmp_path}/access.log.1, from byte" in err
    assert "not shipped" not in err
    assert (report["lines"], report["truncations"]) == (len(LATER) + 3, 1)
    assert ids_in(handler_store(tmp_path, kinesis, stream)) == _expected(
        capsys, tmp_path, OLD + LATER, NEW[:3]
    )
