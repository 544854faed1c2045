"""Which file a path `prov ship` follows names, and whether it still holds what was shipped.

A device and inode say which file a path named, not what it holds (ext4 gives a new file the
inode of one just deleted; copytruncate keeps the inode and drops the content). So shipping
resumes in a file only where it holds what was shipped: its first line and the line ending at
the offset are the ones fingerprinted (`holds_shipped`). That is checked for the file the path names
when shipping starts, and at every look while following. When the path's file does not hold
them (rotated, truncated, replaced), the old content is looked for beside it: a file of the
same folder, renamed (`access.log.1`) or compressed (`access.log.1.gz`), that holds them, not
binary (`find_previous`); it is finished from the offset first, then any file rotated from the
path after it (`rotated_between`: changed between the two, not a copy of either), each from
byte 0 with a fresh counter and a warning, then the path's file from byte 0. When none does,
a warning says from which byte of the old file nothing was shipped. The path's file with the
identity saved but not the content is a truncation, unless the system says it was made after
the state was saved (`provenance.aws.file_birth`): then a new file took the old inode, a rotation.
A state row saved by an older prov has no fingerprint: its file is trusted by identity as
before (with a note), but only where the offset falls on a line end; a copy of it (compressed
or not) only where exactly the lines shipped end at the offset.

Regular files only (a FIFO or a device has no offsets to resume at); one that looks binary is
refused unless `force`: `provenance.ingest.inputs` says what a name is and what is not text, for
`prov ingest` and here alike. A compressed file (`provenance.ingest.compression`) is read once, to
its end, and never followed; its offsets are in what it decompresses to. Compressed data found
damaged ends that file where the damage is (`ShipReport.damaged`). A path that is not UTF-8 is
kept in the state as its bytes and shown with each undecodable byte as `\\xNN` (the envelope's
`file`, as `prov ingest` names it; `premis.escaping.visible_surrogates`).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Set
from dataclasses import dataclass
from typing import BinaryIO, cast

from premis.escaping import visible_surrogates
from provenance.aws.file_birth import birth_time
from provenance.aws.ship_options import ShipError
from provenance.aws.ship_state import Fingerprint, SavedFile
from provenance.ingest.compression import MAGIC_BYTES, READ_ERRORS, detect, open_decompressed
from provenance.ingest.inputs import (
    DIRECTORY,
    FILE,
    STREAM,
    BinaryInputError,
    InputError,
    input_kind,
    read_head,
    refuse_binary,
)
from provenance.records.lines import CutLine, Line, OverlongLine, read_line

_BLOCK = 1024 * 1024


@dataclass(slots=True)
class OpenedFile:
    """A regular file open for shipping: its text (decompressed if it is compressed, then
    seekable in what it decompresses to), identity (st_dev:st_ino) and size on disk."""

    raw: BinaryIO
    text: BinaryIO
    file_id: str
    size: int
    compression: str | None

    def close(self) -> None:
        if self.text is not self.raw:
            self.text.close()
        self.raw.close()


def check_path(path: str, *, force: bool = False) -> None:
    """ShipError if `path` cannot be shipped (see `open_to_ship`), before anything else is done."""
    open_to_ship(path, force=force).close()


def open_to_ship(path: str, *, force: bool) -> OpenedFile:
    """A regular file opened for shipping. ShipError says why a path cannot be followed: a
    directory, a stream (no offsets to resume at), a file that looks binary (unless `force`),
    by the rules of `provenance.ingest.inputs`."""
    shown = shown_path(path)
    try:
        kind = input_kind(path)
    except InputError as exc:
        raise ShipError(shown_path(str(exc))) from None
    if kind == DIRECTORY:
        raise ShipError(f"cannot ship {shown}: is a directory: give the files to follow")
    if kind == STREAM:
        raise ShipError(
            f"cannot ship {shown}: a pipe or device has no offsets to resume at: ship a "
            "regular file, or read the stream with prov ingest"
        )
    if kind != FILE:
        raise ShipError(f"cannot ship {shown}: {kind}, not a regular file")
    try:
        raw = open(path, "rb")  # noqa: SIM115 (kept open while followed)
    except OSError as exc:
        raise ShipError(f"cannot read {shown}: {exc.strerror or exc}") from None
    try:
        status = os.fstat(raw.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ShipError(f"cannot ship {shown}: not a regular file")
        compression = detect(raw.read(MAGIC_BYTES))
        raw.seek(0)
        text = raw if compression is None else open_decompressed(raw, compression)
        opened = OpenedFile(raw, text, file_identity(status), status.st_size, compression)
        # Damage within the first block is shown when the file is read.
        head, _ = read_head(text, shown, compression)
        text.seek(0)
        try:
            refuse_binary(head, shown, force=force, verb="ship")
        except BinaryInputError as exc:
            opened.close()
            raise ShipError(str(exc)) from None
    except BaseException:
        raw.close()
        raise
    return opened


def file_identity(status: os.stat_result) -> str:
    return f"{status.st_dev}:{status.st_ino}"


def shown_path(path: str) -> str:
    """A path as events, records and messages show it: bytes that are not UTF-8 as `\\xNN`.

    The spelling `prov ingest` stores a file name in (`spelled_bytes`), not the reversible one:
    it becomes the envelope's `file`, which must match what ingest gives the same name, and the
    ship state keeps the path's own bytes, so nothing is resumed from this spelling.
    """
    return visible_surrogates(path)


def line_sha1(line: Line | CutLine) -> bytes:
    """The SHA-1 of a line as read (of the whole of an over-long one)."""
    if isinstance(line, OverlongLine):
        return line.sha1
    return hashlib.sha1(line.data if isinstance(line, CutLine) else line).digest()


def holds_saved(opened: OpenedFile, saved: SavedFile, *, identified: bool) -> bool:
    """Whether `opened` holds what was shipped before `saved.offset`, so shipping may resume
    in it there. `identified`: it has the identity saved. With a fingerprint, the fingerprint
    decides (`holds_shipped`). Nothing shipped yet: the identity. A state saved by an older
    prov, with no fingerprint: the file with the identity saved must have a line end just
    before the offset; another (a copy copytruncate made, compressed or not) or a compressed
    file a line end there after exactly the lines shipped."""
    if saved.offset == 0:
        return identified
    if saved.fingerprint is not None:
        return holds_shipped(opened.text, saved.offset, saved.fingerprint)
    if identified and opened.compression is None:
        return _ends_a_line(opened.text, saved.offset)
    # A copy (compressed or not: copytruncate makes a plain one) or a compressed file: the
    # lines shipped end exactly at the offset.
    return _ends_a_line(opened.text, saved.offset, lines=saved.next_line - 1)


def holds_shipped(
    text: BinaryIO, offset: int, fingerprint: Fingerprint, *, head: bool = True
) -> bool:
    """Whether `text` has the fingerprinted first line (unless not `head`) and the
    fingerprinted last line ending exactly at `offset`, read as `provenance.records.lines` reads
    them (a compressed file is decompressed to get there). Each is read no further than the bytes
    it took: a line shipped without its line end (the end of a file, then) may have been
    written on since. When the last line is the first, it is checked once, as the last."""
    start = offset - fingerprint.tail_bytes
    if start < 0:
        return False
    try:
        if head and start > 0:
            text.seek(0)
            first = _line_within(text, 0, fingerprint.head_bytes)
            if first is None or line_sha1(first[0]) != fingerprint.head:
                return False
            if fingerprint.head_bytes is not None and first[1] != fingerprint.head_bytes:
                return False
        text.seek(start)
        last = _line_within(text, start, fingerprint.tail_bytes)
    except READ_ERRORS:
        return False
    if last is None:
        return False
    line, size, _ = last
    if not start and head and line_sha1(line) != fingerprint.head:
        return False
    return size == fingerprint.tail_bytes and line_sha1(line) == fingerprint.tail


def _line_within(text: BinaryIO, at: int, size: int | None) -> tuple[Line, int, bool] | None:
    """The line of `text` that starts where it stands (byte `at`), read no further than
    `size` bytes (None: to its end, for a state of format 2, which kept no size)."""
    stream = text if size is None else cast(BinaryIO, _Window(text, size))
    return read_line(stream, at_start=not at)


def _ends_a_line(text: BinaryIO, offset: int, *, lines: int | None = None) -> bool:
    """Whether the byte before `offset` in `text` is a line end (and, when `lines` is given,
    the bytes before it hold exactly that many line ends)."""
    try:
        if lines is None:
            text.seek(offset - 1)
            return text.read(1) == b"\n"
        text.seek(0)
        seen, left, last = 0, offset, b""
        while left:
            block = text.read(min(left, _BLOCK))
            if not block:
                return False
            seen += block.count(b"\n")
            left -= len(block)
            last = block[-1:]
    except READ_ERRORS:
        return False
    return last == b"\n" and seen == lines


def first_line_sha1(text: BinaryIO) -> tuple[bytes, int] | None:
    """The SHA-1 of the first line of `text`, and the bytes it takes; None if it has none."""
    try:
        text.seek(0)
        first = read_line(text, at_start=True)
    except READ_ERRORS:
        return None
    return None if first is None else (line_sha1(first[0]), first[1])


def born_after(opened: OpenedFile, saved: SavedFile) -> bool:
    """Whether the file was made after the state of the file shipped was saved: a new file
    that was given the inode of the deleted one. False when the system does not tell."""
    born = birth_time(opened.raw.fileno())
    return born is not None and saved.saved_at is not None and born > saved.saved_at.timestamp()


_ROTATED_SUFFIX = re.compile(
    # logrotate's numbered (`.1`) and dated (`-20260201`, `-2026020110`, `.2026-02-01`,
    # dateformat's `-%Y%m%d-%s`) shapes; Python's, Ruby's and savelog's are of the same kind
    # (`.2026-02-01_10-00`, `.0`). Then the compression logrotate adds, if any, or that alone.
    r"(?:[.\-_][0-9]{1,20}(?:[.\-_][0-9]{1,20}){0,5})?(?:\.(?:gz|bz2|xz))?",
    re.ASCII,
)


def rotated_name(base: str, name: str) -> bool:
    """Whether `name` is what a rotation makes of the file name `base` (`access.log.1`,
    `access.log.2.gz`, `access.log-20260201`, `access.log.gz`): not `base` itself, nor another
    log whose name merely starts with it (`access.log.debug`, `access.log-errors`)."""
    return (
        len(name) > len(base)
        and name.startswith(base)
        and _ROTATED_SUFFIX.fullmatch(name, len(base)) is not None
    )


def rotated_between(
    path: str, older: OpenedFile, newer: OpenedFile, followed: Set[str] = frozenset()
) -> list[tuple[OpenedFile, str]]:
    """The files beside `path` with a name rotation gives it (`rotated_name`; none of
    `followed`, the paths this run follows: each is shipped as itself), changed last no
    earlier than `older` (the old content) and no later than `newer` (what the path names
    now): rotated away from the path in between. Oldest first; not `older`, `newer` or a copy
    of either (the same first line: a compressed copy, say), one file of each content, none
    that looks binary or is empty."""
    folder, base = os.path.split(path)
    try:
        low = os.fstat(older.raw.fileno()).st_mtime_ns
        high = os.fstat(newer.raw.fileno()).st_mtime_ns
        entries = list(os.scandir(folder or "."))
    except OSError:
        return []
    skip = {older.file_id, newer.file_id}
    changed: list[tuple[int, str]] = []
    for entry in entries:
        if not rotated_name(base, entry.name) or os.path.abspath(entry.path) in followed:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            status = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        # Changed in the same tick as either counts (the clock that stamps files is coarse).
        if file_identity(status) not in skip and low <= status.st_mtime_ns <= high:
            changed.append((status.st_mtime_ns, entry.path))
    firsts = {first_line_sha1(older.text), first_line_sha1(newer.text)}
    found = []
    for _, name in sorted(changed):
        try:
            opened = open_to_ship(name, force=False)
        except ShipError:
            continue
        first = first_line_sha1(opened.text)
        if first is None or first in firsts:
            opened.close()
            continue
        firsts.add(first)
        found.append((opened, name))
    return found


class _Window:
    """The next `size` bytes of a stream, for `read_line` (which only calls `readline`)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._left = size

    def readline(self, limit: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._stream.readline(self._left if limit < 0 else min(limit, self._left))
        self._left -= len(data)
        return data


def find_previous(path: str, saved: SavedFile) -> tuple[OpenedFile, str] | None:
    """The file beside `path` that holds what was shipped of it (`holds_saved`), opened: the
    file with the identity saved (renamed) first, then the others with a name rotation gives
    the path's (`rotated_name`: rotated copies, compressed or not), newest first. A file that
    looks binary is not one (an SQLite -wal file may have the inode a deleted log had). With
    nothing shipped, only a renamed file with such a name can tell it was the one."""
    folder, base = os.path.split(path)
    try:
        entries = list(os.scandir(folder or "."))
    except OSError:
        return None
    renamed: list[str] = []
    copies: list[tuple[float, str]] = []
    for entry in entries:
        if entry.name == base:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            status = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        rotated = rotated_name(base, entry.name)
        if file_identity(status) == saved.file_id and (rotated or saved.offset):
            renamed.append(entry.path)
        elif rotated and saved.offset:
            copies.append((status.st_mtime, entry.path))
    candidates = [(name, True) for name in renamed]
    candidates += [(name, False) for _, name in sorted(copies, reverse=True)]
    for candidate, identified in candidates:
        try:
            opened = open_to_ship(candidate, force=False)
        except ShipError:
            continue
        if holds_saved(opened, saved, identified=identified):
            return opened, candidate
        opened.close()
    return None
