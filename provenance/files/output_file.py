"""Writing a file the user named: the one rule for every file a `prov` command writes.

- A name must name a file: an empty one, or one ending in `/`, `.` or `..`, is refused.
- `-` is standard output; `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` and `/proc/self/fd/N` are
  the descriptor they name, written where it already points (never reopened, so never
  truncated or replaced, whatever the shell redirected it to). Standard output closed when
  `prov` started (`>&-`) is an OutputError, found only when something is written to it.
- A regular file, or a name not taken yet, is replaced atomically: written to a temporary file
  beside it, fsynced, renamed onto it. A symlink is written through: its target is replaced,
  the link stays; with `follow_links=False` (the demo's own files) the link itself is replaced
  by the new file and its target is never touched. Missing parent directories are made (and
  removed again on failure). The rename makes a new file: another hard link to the old one
  keeps the old content.
- Anything else but a directory (a character or block device, a FIFO) is written directly:
  never renamed over, never unlinked. A directory is refused.
- A new file gets mode 0o666 less the umask (0o600 when `private`: keys, the ship state); a
  replaced file keeps its mode, and its owner and group where the process may set them.
- A `check` (e.g. XSD validation) sees the whole file before it reaches the target: a stream
  target is then spooled to a temporary file first, so a failed check writes nothing anywhere.
- On any failure, Ctrl-C included (and SIGTERM, SIGHUP: the CLI makes them KeyboardInterrupt),
  no temporary file is left behind, and an OSError of this module's own calls (making the
  file, writing the stream it hands out, fsync, rename) becomes an `OutputError` naming the
  target as the user gave it, never the temporary file. Whatever else the caller's block
  raises (its own reads, a reader of standard output that left) passes on unchanged. Only
  SIGKILL or a crash can leave a temporary file: `is_temporary_of` recognises it.
- A descriptor number no process can have (`/dev/fd/99999999999999999999`) is a bad
  descriptor, as one not open is.

`open_output` gives a stream to write, `write_bytes` writes bytes, `replacing_path` a path for
a writer that needs one (an SQLite store built whole), `write_new` creates a file once and
never replaces it (a key), `prepare_database` checks (and creates, with these modes) a
database file that is then updated in place (the ship state); `standard_output` is stdout or
the error saying it is closed, `same_file` tells a target that is a file being read.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO, cast

from eventstore.sqlite import SIDE_FILE_SUFFIXES
from provenance.domain.errors import ProvenanceError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

STDOUT = "-"
Target = str | os.PathLike[str]
Check = Callable[[Path], None]
_NEW_FILE_MODE = 0o666
_PRIVATE_MODE = 0o600
_NAMED_DESCRIPTORS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_DESCRIPTOR_PATH = re.compile(r"/(?:dev/fd|proc/self/fd|proc/thread-self/fd)/([0-9]+)")
_MAX_DESCRIPTOR = 2**31 - 1  # a C int: the system calls take no larger one
_TEMP_ATTEMPTS = 100
# `.<name>.<8 hex digits>.tmp`: the temporary file beside `<name>` (an SQLite writer adds its
# side files to it). The name is cut to 100 characters to stay within NAME_MAX.
_TEMPORARY = re.compile(
    rf"\.(.{{1,100}})\.[0-9a-f]{{8}}\.tmp(?:{'|'.join(map(re.escape, SIDE_FILE_SUFFIXES))})?",
    re.DOTALL,
)
_NAME_KEPT = 100
STDOUT_CLOSED = "standard output is closed"


class OutputError(ProvenanceError):
    """A file could not be written: `target` as the user gave it, `reason` the system's words."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"cannot write {target}: {reason}")
        self.target = target
        self.reason = reason


@contextmanager
def open_output(
    target: Target,
    *,
    private: bool = False,
    check: Check | None = None,
    stdout: BinaryIO | None = None,
    follow_links: bool = True,
) -> Iterator[BinaryIO]:
    """A binary stream whose bytes reach `target` when the block ends without an exception
    (see the module docstring for each kind of target). `stdout` stands for standard output
    (tests and the HTTP API give their own); without it, the process's, looked up only when
    `target` is standard output."""
    name = _checked_name(target)
    descriptor = _descriptor(name)
    if descriptor is None and _kind(name, follow_links=follow_links) == "replace":
        with _replacing(name, private=private, check=check, follow_links=follow_links) as stream:
            yield stream
        return
    opener: Callable[[], BinaryIO]
    if descriptor is None:
        opener = partial(_open_device, name)
    elif descriptor == 1:
        standard = stdout if stdout is not None else _standard_output(name)
        opener = partial(_given, standard)
    else:
        opener = partial(_open_descriptor, descriptor)
    with _streaming(name, opener, owned=descriptor != 1, check=check) as stream:
        yield stream


def write_bytes(
    target: Target,
    data: bytes,
    *,
    private: bool = False,
    stdout: BinaryIO | None = None,
    follow_links: bool = True,
) -> None:
    """`data` to `target`, by the same rules as `open_output`."""
    with open_output(target, private=private, stdout=stdout, follow_links=follow_links) as out:
        out.write(data)


def standard_output(name: str = STDOUT) -> TextIO:
    """The process's standard output (text; `.buffer` for bytes), or an OutputError naming
    `name` when it was closed before `prov` started (`prov ... >&-`: Python then has none)."""
    if sys.stdout is None:
        raise OutputError(name, STDOUT_CLOSED)
    return sys.stdout


def _standard_output(name: str) -> BinaryIO:
    return standard_output(name).buffer


@contextmanager
def replacing_path(
    target: Target, *, private: bool = False, follow_links: bool = True
) -> Iterator[Path]:
    """A temporary path beside `target` for a writer that needs a path of its own (SQLite):
    renamed onto `target` when the block ends without an exception, removed otherwise.
    Only a regular file (or a name not taken yet) can be replaced this way."""
    name = _checked_name(target)
    if _descriptor(name) is not None or _kind(name, follow_links=follow_links) != "replace":
        raise OutputError(name, "not a regular file")
    with _beside(name, private=private, replacing=True, follow_links=follow_links) as temporary:
        os.close(temporary.descriptor)
        yield temporary.path  # the caller's work: what it raises is its own
        with _guarded(name), open(temporary.path, "rb") as written:
            _settle(written.fileno(), temporary.existing)
            os.replace(temporary.path, temporary.real)


def write_new(target: Target, data: bytes, *, private: bool = True) -> bool:
    """Create `target` holding `data` unless it exists; an existing file is never replaced.

    The bytes are written in full to a temporary file beside it and published with a hard
    link, which fails if another process published first (both then use that one): creating
    the final name directly would let a racing reader see it half written. A dangling symlink
    is written through. Returns whether this call made the file.
    """
    name = _checked_name(target)
    folder_mode = 0o700 if private else 0o777
    with (
        _beside(name, private=private, replacing=False, folder_mode=folder_mode) as temporary,
        _guarded(name),
    ):
        with os.fdopen(temporary.descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            _settle(stream.fileno(), None)
        try:
            os.link(temporary.path, temporary.real)
        except FileExistsError:
            return False
    return True


def prepare_database(target: Target, *, private: bool) -> None:
    """Make sure `target` can be a database file updated in place (SQLite): a regular file
    (through a symlink) or a new, empty one created here with the module's modes (SQLite would
    make it 0o644 whatever was asked). A directory, a device, a FIFO or `-` is refused."""
    name = _checked_name(target)
    if name == STDOUT or _descriptor(name) is not None or _kind(name) != "replace":
        raise OutputError(name, "not a regular file (it holds a database)")
    real = Path(os.path.realpath(name))
    with _guarded(name):
        _make_parents(real.parent)
        mode = _PRIVATE_MODE if private else _NEW_FILE_MODE
        with contextlib.suppress(FileExistsError):
            os.close(os.open(real, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode))


def is_temporary_of(name: str, target: str) -> bool:
    """Whether the file `name` is a temporary file of `target` (both names within one folder),
    as a write killed outright (SIGKILL, a power cut) leaves it behind."""
    match = _TEMPORARY.fullmatch(name)
    return match is not None and match.group(1) == target[:_NAME_KEPT]


def same_file(target: Target, path: Target) -> bool:
    """Whether `target` (through symlinks) is the file `path` is, by device and inode (a hard
    link too): writing it would replace what is being read."""
    try:
        mine, other = os.stat(target), os.stat(path)
    except (OSError, ValueError):
        return False  # either does not exist (yet) or cannot be looked at: not the same file
    return (mine.st_dev, mine.st_ino) == (other.st_dev, other.st_ino)


# -- what the target is ----------------------------------------------------------------------


def _checked_name(target: Target) -> str:
    """`target` as a string, refused when it cannot name a file: empty (`-o ''` would be the
    current folder), or ending in `/`, `.` or `..` (`-o newdir/` would make a file `newdir`)."""
    name = os.fspath(target)
    if not name:
        raise OutputError("''", "the file name is empty")
    if name.endswith("/") or os.path.basename(name) in (".", ".."):
        raise OutputError(name, "that names a folder, not a file")
    return name


def _descriptor(name: str) -> int | None:
    """The open descriptor a name stands for: `-` and the /dev and /proc aliases of one. A
    number beyond what a descriptor can be is an OutputError (a bad descriptor)."""
    if name == STDOUT:
        return 1
    path = os.path.normpath(os.path.abspath(name))
    if path in _NAMED_DESCRIPTORS:
        return _NAMED_DESCRIPTORS[path]
    match = _DESCRIPTOR_PATH.fullmatch(path)
    if match is None:
        return None
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > len(str(_MAX_DESCRIPTOR)) or int(digits) > _MAX_DESCRIPTOR:
        raise OutputError(name, os.strerror(errno.EBADF))
    return int(digits)


def _kind(name: str, *, follow_links: bool = True) -> str:
    """How `name` is written: "replace" (a regular file, through symlinks, or nothing yet; a
    symlink itself when not following links) or "direct" (a device, a FIFO); a directory or
    an unreachable path is an OutputError."""
    try:
        info = os.stat(name) if follow_links else os.lstat(name)
    except FileNotFoundError:
        return "replace"
    except OSError as exc:
        raise OutputError(name, _reason(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(name, "it is a directory")
    return "replace" if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode) else "direct"


def _existing(real: Path) -> os.stat_result | None:
    """The regular file `real` names, whose mode and owner its replacement keeps (a symlink
    replaced itself has none worth keeping)."""
    try:
        info = os.lstat(real)
    except FileNotFoundError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


# -- replacing a regular file -----------------------------------------------------------------


@contextmanager
def _replacing(
    name: str, *, private: bool, check: Check | None, follow_links: bool
) -> Iterator[BinaryIO]:
    with _beside(name, private=private, replacing=True, follow_links=follow_links) as temporary:
        stream = os.fdopen(temporary.descriptor, "wb")
        with _owned(name, stream):
            yield _Written.around(stream, name)
            with _guarded(name):
                stream.flush()
                _settle(stream.fileno(), temporary.existing)
        with _guarded(name):
            if check is not None:
                check(temporary.path)
            os.replace(temporary.path, temporary.real)


@dataclass(frozen=True, slots=True)
class _Temporary:
    descriptor: int  # open for writing: the caller closes it
    path: Path
    real: Path  # the name it is renamed to: `target` with every symlink resolved, or as given
    existing: os.stat_result | None  # the file it replaces, if any


@contextmanager
def _beside(
    name: str,
    *,
    private: bool,
    replacing: bool,
    folder_mode: int = 0o777,
    follow_links: bool = True,
) -> Iterator[_Temporary]:
    """A new file beside the real target of `name` (beside `name` itself when not following
    links; its folders made if missing) for the caller to move into place. Whatever the caller
    did not move is removed on the way out, with the folders made for it if the block failed;
    the folder is synced after a success."""
    real = Path(os.path.realpath(name) if follow_links else os.path.abspath(name))
    with _guarded(name):
        existing = _existing(real) if replacing else None
        made = _make_parents(real.parent, mode=folder_mode)
    try:
        try:
            descriptor, path = _create_temporary(real, private=private, replacing=existing)
        except OSError as exc:
            # The target may be fine (`-o /proc/version` exists): its folder takes no file.
            raise OutputError(
                name, f"cannot create a file in {real.parent}: {_reason(exc)}"
            ) from None
        try:
            yield _Temporary(descriptor, path, real, existing)
        finally:
            # Already gone once renamed into place; after a failure, the failure is the news.
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
    except BaseException:
        _remove_directories(made)
        raise
    _sync_directory(real.parent)


def _create_temporary(
    real: Path, *, private: bool, replacing: os.stat_result | None
) -> tuple[int, Path]:
    """A new file beside `real`, open for writing. A replacement starts private and gets the
    old file's mode in `_settle`, so no one reads it in between with wider rights."""
    mode = _PRIVATE_MODE if private or replacing is not None else _NEW_FILE_MODE
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for _ in range(_TEMP_ATTEMPTS):
        temporary = real.with_name(f".{real.name[:_NAME_KEPT]}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, flags, mode), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {real}")


def _settle(descriptor: int, existing: os.stat_result | None) -> None:
    """The replaced file's owner, group and mode (owner first: chown may clear set-id bits),
    then the bytes on disk before the rename: these are archival records."""
    if existing is not None:
        with contextlib.suppress(PermissionError):
            os.fchown(descriptor, existing.st_uid, existing.st_gid)
        os.fchmod(descriptor, stat.S_IMODE(existing.st_mode))
    os.fsync(descriptor)


def _make_parents(directory: Path, *, mode: int = 0o777) -> list[Path]:
    """Create the missing directories up to `directory` (`mode` for that one, the default for
    the others, as `mkdir -p -m`); the ones made, deepest last."""
    missing: list[Path] = []
    for parent in (directory, *directory.parents):
        if parent.exists():
            break
        missing.append(parent)
    missing.reverse()
    made: list[Path] = []
    try:
        for parent in missing:
            try:
                parent.mkdir(mode=mode if parent == directory else 0o777)
            except FileExistsError:
                # Another process made it in the meantime (two first runs making the config
                # folder at once): theirs to keep, and a folder is all that is needed here.
                if not parent.is_dir():
                    raise
                continue
            made.append(parent)
    except BaseException:
        _remove_directories(made)
        raise
    return made


def _remove_directories(made: list[Path]) -> None:
    for directory in reversed(made):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _sync_directory(directory: Path) -> None:
    # The rename itself is durable only once the directory is; some filesystems refuse.
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# -- writing a stream or device directly ------------------------------------------------------


@contextmanager
def _streaming(
    name: str, opener: Callable[[], BinaryIO], *, owned: bool, check: Check | None
) -> Iterator[BinaryIO]:
    """The stream `opener` gives (closed at the end when `owned`; standard output is only
    flushed), or with a `check` a spool whose bytes reach it only once checked."""
    guarded = partial(_guarded, name, broken_pipe=_descriptor(name) == 1)
    if check is None:
        with guarded():
            stream = opener()
        with _owned(name, stream) if owned else contextlib.nullcontext():
            yield _Written.around(stream, name)
            with guarded():
                stream.flush()
        return
    with guarded():
        spool = tempfile.NamedTemporaryFile(prefix="prov-", suffix=".spool")  # noqa: SIM115
    with spool:
        yield _Written.around(cast(BinaryIO, spool), name)
        with guarded():
            spool.flush()
            check(Path(spool.name))
            spool.seek(0)
            stream = opener()
            with _owned(name, stream) if owned else contextlib.nullcontext():
                shutil.copyfileobj(spool, stream)
                stream.flush()


def _given(stream: BinaryIO) -> BinaryIO:
    return stream


def _open_device(name: str) -> BinaryIO:
    # No O_CREAT: a device or FIFO that vanished since it was looked at is not recreated as a
    # plain file; no O_TRUNC needed on what cannot be truncated.
    return os.fdopen(os.open(name, os.O_WRONLY | os.O_CLOEXEC), "wb")


def _open_descriptor(descriptor: int) -> BinaryIO:
    if descriptor == 2:
        sys.stderr.flush()
    return os.fdopen(os.dup(descriptor), "wb")


@contextmanager
def _owned(name: str, stream: BinaryIO) -> Iterator[None]:
    """Close `stream` when the block ends: an OSError closing it (a last flush) is the
    target's error, except after a failure, which is the news then."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            stream.close()
        raise
    with _guarded(name):
        stream.close()


class _Written(io.BufferedIOBase):
    """The stream a caller's block writes to: what it writes goes to the target's stream, and
    an OSError doing so is the target's (`_guarded`), whatever else the block raises is the
    caller's own. It closes nothing: the target's stream is this module's to close. No
    `fileno`: a writer that finds one writes past `write` (Pillow does), unguarded."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        super().__init__()
        self._stream = stream
        self._name = name
        self._standard_output = _descriptor(name) == 1

    @classmethod
    def around(cls, stream: BinaryIO, name: str) -> BinaryIO:
        return cast(BinaryIO, cls(stream, name))

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        with _guarded(self._name, broken_pipe=self._standard_output):
            return self._stream.write(data)

    def flush(self) -> None:
        if self.closed or self._stream.closed:
            return
        with _guarded(self._name, broken_pipe=self._standard_output):
            self._stream.flush()


# -- errors -----------------------------------------------------------------------------------


@contextmanager
def _guarded(name: str, *, broken_pipe: bool = False) -> Iterator[None]:
    """OSError -> OutputError naming the target. A reader of standard output that left (`|
    head`) is not an error of this file: BrokenPipeError goes on to the CLI, which ends
    quietly. Any other reader that left (a FIFO, `/dev/fd/3`) is this file's error."""
    try:
        yield
    except OutputError:
        raise
    except BrokenPipeError:
        if broken_pipe:
            raise
        raise OutputError(name, "the reader closed it (broken pipe)") from None
    except OSError as exc:
        raise OutputError(name, _reason(exc)) from None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
