"""What `prov ingest` and `prov ship` take as inputs, and how one is opened for reading.

Names (`resolve`):
- `-` is standard input, read as a stream (refused when the command was started with it
  closed).
- A regular file is read from its start (`prov ship` follows it by byte offset instead).
- A stream: a FIFO, a process substitution (`<(zcat x.gz)` is /dev/fd/N, a pipe) or a
  character device (/dev/null is an empty input) is read once, to its end.
- A directory is refused ("is a directory: give its files, or --recursive"); with `recursive`
  it stands for every regular file below it, in sorted path order (symbolic links to
  directories are not followed; FIFOs, devices and sockets found there are passed by).
- A name that does not exist: "no such file". Anything else (a socket, a block device) is
  refused.
`input_kind` tells which a name is; `prov ship`, which follows regular files only, asks it too,
and reads each file's text from its offset the way `open_input` reads it (`text_after`).

Content (`open_input`, every input, files found in a directory too):
- compressed input (gzip, bzip2 or xz, recognised by its first bytes:
`provenance.ingest.compression`)
  is decompressed as it is read; damage found later (or a read error) stops the input with
  `DamagedInputError`, after the lines before it were read, the one it cut short included;
- input that is clearly not text, NUL bytes in its first 8 KiB after decompression, is refused
  (`BinaryInputError`, nothing of it read) unless `force`; a file found in a directory is then
  passed by instead (`probe` tells, before anything is read). `refuse_binary` is that rule,
  for `prov ship` too.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import BinaryIO, cast

from provenance.domain.errors import ProvenanceError
from provenance.ingest.compression import MAGIC_BYTES, READ_ERRORS, detect, open_decompressed

STDIN = "-"
BINARY_SNIFF_BYTES = 8 * 1024
"""An input with a NUL byte in this many first bytes (after decompression) is not text."""
LOOKS_BINARY = "looks binary (NUL bytes in the first 8 KiB)"
_BUFFER_BYTES = 64 * 1024
_LINE_END = ord("\n")
# What `input_kind` says of a name besides what else it is ("a socket", "a block device").
FILE = "file"
STREAM = "stream"
DIRECTORY = "directory"


class InputError(ProvenanceError):
    """An input that cannot be read (one line, naming it)."""


class BinaryInputError(InputError):
    """An input that is clearly not text, refused without `--force`."""


class DamagedInputError(InputError):
    """An input whose compressed data (or device) failed part-way: what came before was read."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail
        """What the decompressor or the device said, in one line."""


@dataclass(frozen=True, slots=True)
class Input:
    """One input to read: its name (as given, or the path found below a directory)."""

    name: str
    stream: bool = False
    """Read once as a stream (stdin, a FIFO, a character device), not a regular file."""
    found: bool = False
    """Found below a directory given with --recursive (passed by if it looks binary)."""


def resolve(names: Sequence[str], *, recursive: bool = False) -> list[Input]:
    """The inputs `names` stand for, checked before anything is read; InputError says which
    name cannot be read and why."""
    inputs: list[Input] = []
    for name in names:
        if name == STDIN:
            if sys.stdin is None:  # started with standard input closed (`<&-`)
                raise InputError(f"cannot read {STDIN}: standard input is closed")
            inputs.append(Input(name, stream=True))
            continue
        kind = input_kind(name)
        if kind == FILE:
            inputs.append(Input(name))
        elif kind == STREAM:
            inputs.append(Input(name, stream=True))
        elif kind == DIRECTORY:
            if not recursive:
                raise InputError(
                    f"cannot read {name}: is a directory: give its files, or --recursive"
                )
            inputs.extend(_below(name))
        else:
            raise InputError(f"cannot read {name}: {kind}, not a file or a stream")
    return inputs


def input_kind(name: str) -> str:
    """What `name` names: FILE (a regular file), STREAM (a FIFO or a character device),
    DIRECTORY, or what else it is ("a socket", "a block device"). InputError if it does not
    exist or cannot be looked at. Opening is not needed (opening a FIFO waits for a writer)."""
    mode = _mode(name)
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return STREAM
    if stat.S_ISDIR(mode):
        return DIRECTORY
    return _kind(mode)


def probe(item: Input) -> str | None:
    """Why a regular file would be refused as not text (`LOOKS_BINARY`), or None if it is
    text; InputError if it cannot be read. Streams are not probed (that would consume them)."""
    if item.stream:
        return None
    try:
        with open_input(item):
            return None  # damage past the first block shows when the input is read
    except BinaryInputError:
        return LOOKS_BINARY


@contextmanager
def open_input(item: Input, *, force: bool = False) -> Iterator[BinaryIO]:
    """The input's text as a binary stream: decompressed if it is compressed; errors while it
    is read later are `InputError`s naming it. BinaryInputError unless `force` if it looks
    binary; InputError if it cannot be opened or its compressed data is damaged at once."""
    name = item.name
    with ExitStack() as stack:
        if name == STDIN:
            raw: BinaryIO = sys.stdin.buffer
        else:
            try:
                raw = stack.enter_context(open(name, "rb"))
            except OSError as exc:
                raise InputError(f"cannot read {name}: {_reason(exc)}") from None
        head, error = read_head(raw, name, None)
        kind = detect(head[:MAGIC_BYTES])
        stream: BinaryIO = _joined(head, raw, error, name, None, text=kind is None)
        if kind is not None:
            stream = stack.enter_context(open_decompressed(stream, kind))
            head, error = read_head(stream, name, kind)
            stream = _joined(head, stream, error, name, kind, text=True)
        refuse_binary(head, name, force=force)
        yield stream


def text_after(stream: BinaryIO, name: str, kind: str | None) -> BinaryIO:
    """The rest of `stream`, an input's text (decompressed already when `kind` says it was
    compressed), from where it stands, read as `open_input` reads text: a failure is a
    `DamagedInputError` naming the input, and a line it cuts short ends the input once before
    it (`provenance.records.lines.read_lines` then gives that line as a `CutLine`). `prov ship`
    reads each file this way from its offset."""
    return _joined(b"", stream, None, name, kind, text=True)


def refuse_binary(head: bytes, name: str, *, force: bool, verb: str = "read") -> None:
    """BinaryInputError, unless `force`, if `head` (an input's first `BINARY_SNIFF_BYTES`
    after decompression, from `read_head`) holds a NUL byte: the input is clearly not text."""
    if not force and b"\0" in head:
        raise BinaryInputError(f"{name} {LOOKS_BINARY}: use --force to {verb} it anyway")


def _mode(name: str) -> int:
    try:
        return os.stat(name).st_mode
    except FileNotFoundError:
        raise InputError(f"cannot read {name}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read {name}: {_reason(exc)}") from None


def _below(directory: str) -> list[Input]:
    """The regular files below `directory`, sorted by path (their ids do not depend on the
    order, but the report's does)."""
    found: list[str] = []

    def unreadable(exc: OSError) -> None:
        raise InputError(f"cannot read {exc.filename}: {_reason(exc)}")

    for folder, subfolders, files in os.walk(directory, onerror=unreadable):
        subfolders.sort()
        for file in files:
            path = os.path.join(folder, file)
            try:
                if stat.S_ISREG(os.stat(path).st_mode):
                    found.append(path)
            except OSError:
                continue  # a dangling symbolic link, or gone meanwhile
    return [Input(path, found=True) for path in sorted(found)]


def _kind(mode: int) -> str:
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_head(stream: BinaryIO, name: str, kind: str | None) -> tuple[bytes, InputError | None]:
    """The first `BINARY_SNIFF_BYTES` of `stream` (fewer at its end), and the error that
    stopped reading them early, if one did (what came before it is still read)."""
    read = getattr(stream, "read1", stream.read)
    parts: list[bytes] = []
    left = BINARY_SNIFF_BYTES
    while left > 0:
        try:
            part = read(left)
        except READ_ERRORS as exc:
            return b"".join(parts), _damaged(name, kind, exc)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts), None


def _joined(
    head: bytes,
    rest: BinaryIO,
    error: InputError | None,
    name: str,
    kind: str | None,
    *,
    text: bool,
) -> BinaryIO:
    """`head`, then `error` if reading it failed, else the rest of `rest`: buffered (lines are
    read with `readline(limit)`); read errors of `rest` are `InputError`s naming the input.
    `text`: the bytes are the input's text (not compressed data), read as lines."""
    joined = _Joined(head, rest, error, name, kind, text)
    return cast(BinaryIO, io.BufferedReader(joined, _BUFFER_BYTES))


class _Joined(io.RawIOBase):
    """Bytes already read from a stream, then the stream (or the error that stopped it).

    Text that fails in the middle of a line gives an end of input once before the error: a
    buffered `readline` drops what it has gathered when a read raises, and that part of the
    line must reach the reader (`provenance.records.lines.read_lines`), which then asks again, gets
    the error, and quarantines the part as cut short."""

    def __init__(
        self,
        head: bytes,
        rest: BinaryIO,
        error: InputError | None,
        name: str,
        kind: str | None,
        text: bool,
    ) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._read = getattr(rest, "read1", rest.read)
        self._error = error
        self._name = name
        self._kind = kind
        self._text = text
        self._in_line = False  # bytes of a line were given, and not yet its line end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            self._in_line = buffer[size - 1] != _LINE_END
            return size
        if self._error is None:
            try:
                data = self._read(len(buffer))
            except InputError as exc:  # the compressed data under this text failed to read
                self._error = exc
            except READ_ERRORS as exc:
                self._error = _damaged(self._name, self._kind, exc)
            else:
                size = len(data)
                buffer[:size] = data
                if size:
                    self._in_line = data[-1] != _LINE_END
                return size
        if self._text and self._in_line:
            self._in_line = False
            return 0
        raise self._error


def _damaged(name: str, kind: str | None, exc: BaseException) -> InputError:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if kind is None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else detail
        return DamagedInputError(f"cannot read {name} to its end: {reason}", reason)
    return DamagedInputError(f"{name}: {kind} data is damaged or truncated ({detail})", detail)
