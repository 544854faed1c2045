"""What `prov demo` may replace in its folder, and the manifest that says so.

The demo writes its logs, access policy, pseudonym key, PREMIS document and store into one
folder, each by the rules of `provenance.files.output_file`, and lists every file it wrote, with its
SHA-256, in the folder's manifest (`demo-files.sha256`, the format of `sha256sum`, so
`sha256sum -c` checks it), rewritten after each file. A later run may replace a listed file
whose content is unchanged: that is the demo's own. A file that changed since (more ingested
into the demo's store) or that the manifest does not list (a store, a symlink, anything the
user put there) makes the run refuse before it touches anything, naming the first such file;
`--force` replaces the files the demo writes whatever they hold, and still leaves every other
file alone. What not even `--force` replaces is refused first, with or without it: a folder,
FIFO, device or socket at a name the demo writes, anything but a folder where it makes one.
The demo's files are never written through a symlink: under `--force` a link standing at one
of the demo's names (or where it puts a folder) is replaced itself, and what it points to is
not touched.

One run at a time holds the folder (an advisory lock on it), so a run may remove what a run
killed outright left beside the demo's files (`.<name>.<8 hex>.tmp`, with SQLite's side files):
only in the demo's own folders, reached without following a symlink.

The store is built beside its final name and renamed onto it when complete, so a run that
fails leaves the previous store as it was. The previous store is held from the start of the
run (refused, with or without `--force`, if another process has it open: said so rather
than offering `--force` for the -shm such a store has beside it) until the new one takes its
name, and leaves WAL mode just before: SQLite pairs a `-wal` file with a database by name, so
an old one left beside the new store would be replayed into it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from types import TracebackType

from eventstore.sqlite import SIDE_FILE_SUFFIXES
from provenance.domain.errors import ProvenanceError
from provenance.files.output_file import is_temporary_of, replacing_path, write_bytes

MANIFEST = "demo-files.sha256"
STORE = "provenance.db"
_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
_SQLITE_IN_USE = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class DemoFolderError(ProvenanceError):
    """The demo's folder holds what the demo may not replace, or cannot be made."""


class DemoFolder:
    """The folder of one `prov demo` run: what it may replace, and the manifest it keeps.
    Held until `close()` (or the end of a `with` block)."""

    def __init__(
        self, directory: Path, listed: dict[str, str], lock: int | None, old_store: _OldStore
    ) -> None:
        self.directory = directory
        self.store = directory / STORE
        # Relative path -> SHA-256 of every file that is the demo's own right now: the earlier
        # runs' files still unchanged, and the ones this run wrote.
        self._listed = listed
        self._written: set[str] = set()
        self._lock = lock
        self._old_store = old_store

    @classmethod
    def claim(cls, directory: Path, writes: Iterable[str], *, force: bool) -> DemoFolder:
        """Take `directory` for one run that writes the files `writes` names (relative to
        it, besides the store and the manifest). DemoFolderError, before anything in it is
        touched, names the first file the demo may not replace (unless `force`), what not
        even `force` replaces (a folder, FIFO or device at a name the demo writes, a
        non-folder where it makes a folder), another run holding the folder, or another
        process holding the store. Then the leftovers of runs killed outright are removed,
        and the folder is made if it is missing."""
        if directory.exists() and not directory.is_dir():
            raise DemoFolderError(f"{directory} is not a folder")
        if not directory.exists():
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DemoFolderError(f"cannot create {directory}: {exc.strerror}") from None
        lock = _lock(directory)
        try:
            demo_names = [*writes, STORE, MANIFEST]
            _refuse_blockers(directory, demo_names)
            try:
                listed = _read_manifest(directory)
            except DemoFolderError:
                if not force:
                    raise
                listed = {}
            own = {
                name: digest
                for name, digest in listed.items()
                if _unchanged(directory, name, digest)
            }
            names = _DemoNames([*listed, *demo_names])
            if not force:
                strangers = _strangers(directory, listed, own, names)
                first = next(strangers, None)
                if first is not None:
                    if _open_elsewhere(directory / STORE):
                        # Its -shm is a stranger then, or the store has changed; --force
                        # would be refused as well, so it is not offered.
                        raise _in_use(directory / STORE)
                    more = " (and more)" if next(strangers, None) is not None else ""
                    raise _refusal(directory / first[0], first[1] + more)
            old_store = _OldStore.hold(directory / STORE)
            names.remove_leftovers(directory)
        except BaseException:
            _unlock(lock)
            raise
        return cls(directory, own, lock, old_store)

    def __enter__(self) -> DemoFolder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the previous store (if it is still there) and of the folder."""
        self._old_store.release()
        _unlock(self._lock)
        self._lock = None

    def write(self, path: Path, data: bytes, *, private: bool = False) -> None:
        """`data` to `path` (atomically, never through a symlink), listed in the manifest."""
        self._unlink_folder_links(path)
        write_bytes(path, data, private=private, follow_links=False)
        self.record(path)

    @contextmanager
    def building_store(self) -> Iterator[Path]:
        """The path to build the demo's SQLite store at; renamed onto `self.store` once the
        block ends (the store closed) and listed, or removed with its side files on failure."""
        self._unlink_folder_links(self.store)
        with replacing_path(self.store, follow_links=False) as building:
            try:
                yield building
            except BaseException:
                # A store closed cleanly has none; after a failure they hold nothing anyone needs.
                for suffix in SIDE_FILE_SUFFIXES:
                    Path(f"{building}{suffix}").unlink(missing_ok=True)
                raise
            self._old_store.retire()
        self._old_store.release()
        self.record(self.store)

    def record(self, path: Path) -> None:
        """List `path`, just written, with its content's digest."""
        name = path.relative_to(self.directory).as_posix()
        self._listed[name] = _digest(path)
        self._written.add(name)
        self._save()

    def finish(self) -> None:
        """Remove the earlier runs' files this run did not write again (still unchanged: the
        demo's own), so the folder holds one run's files, all listed."""
        for name in sorted(set(self._listed) - self._written):
            if _unchanged(self.directory, name, self._listed.pop(name)):
                (self.directory / name).unlink(missing_ok=True)
        self._save()

    def _save(self) -> None:
        text = "".join(f"{digest}  {name}\n" for name, digest in sorted(self._listed.items()))
        write_bytes(self.directory / MANIFEST, text.encode(), follow_links=False)

    def _unlink_folder_links(self, path: Path) -> None:
        """A symlink standing where the demo puts one of `path`'s folders is removed (the
        folder is then made): written through, it would put the demo's files elsewhere. Only
        `--force` gets here with one; `claim` refuses it otherwise."""
        for folder in reversed(path.relative_to(self.directory).parents[:-1]):
            where = self.directory / folder
            if where.is_symlink():
                where.unlink()


class _OldStore:
    """The store a run replaces: held (SQLite's exclusive locking mode) from the start of the
    run until the new store has its name, so no process can write it meanwhile."""

    def __init__(self, path: Path, connection: sqlite3.Connection | None) -> None:
        self.path = path
        self._connection = connection

    @classmethod
    def hold(cls, path: Path) -> _OldStore:
        """Hold the store at `path`, if a regular file is there: DemoFolderError when another
        process has it open. A file that is not a database cannot be open as one: not held."""
        try:
            if not stat.S_ISREG(path.lstat().st_mode):
                return cls(path, None)  # a symlink is replaced itself: its target is no concern
        except FileNotFoundError:
            return cls(path, None)
        uri = f"{path.resolve().as_uri()}?mode=rw"
        connection = None
        try:
            connection = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
            # Exclusive locking mode keeps the lock the first transaction takes until the
            # connection closes; on a WAL store that lock is refused while anyone has it open.
            connection.execute("PRAGMA locking_mode=EXCLUSIVE")
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection is not None:
                connection.close()
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code == sqlite3.SQLITE_NOTADB:
                return cls(path, None)
            if code in _SQLITE_IN_USE:
                raise _in_use(path) from None
            raise DemoFolderError(f"cannot take over {path}: {exc}") from None
        return cls(path, connection)

    def retire(self) -> None:
        """Just before the new store takes the name: the old one leaves WAL mode (SQLite
        checkpoints and deletes its log), and no -wal, -shm or -journal is left beside the
        name. A crash in between leaves the old store whole, in rollback-journal mode."""
        if self._connection is not None:
            self._connection.execute("PRAGMA journal_mode=DELETE")
        # Held, no other connection uses them; not held, no database is there to use them.
        for suffix in SIDE_FILE_SUFFIXES:
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _in_use(store: Path) -> DemoFolderError:
    return DemoFolderError(
        f"{store} is open in another process (an ingest, prov serve?): stop it, "
        "then run the demo again"
    )


# SQLite's dead-man-switch lock (https://sqlite.org/walformat.html, "the DMS lock"): byte 128
# of a WAL store's -shm, which every connection holds a read lock on while it is open.
_SHM_DMS_BYTE = 128


def _open_elsewhere(store: Path) -> bool:
    """Whether another process has the store at `store` open in WAL mode (the mode prov's
    stores use), found as SQLite finds it when it opens one: the DMS byte of its -shm cannot
    be locked for writing. Unlike `_OldStore.hold` nothing is written: holding a store that is
    not in use and letting it go checkpoints and removes its -wal and -shm, and this asks
    before a refusal that must leave the folder untouched. The lock, if taken, is let go at
    once (closing the descriptor)."""
    try:
        descriptor = os.open(f"{store}-shm", os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False  # no -shm (or not ours to open): no WAL connection to find
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EACCES)
    finally:
        os.close(descriptor)
    return False


class _DemoNames:
    """The names the demo writes, by folder: what its temporary files are recognised by."""

    def __init__(self, names: Iterable[str]) -> None:
        self._by_folder: dict[str, set[str]] = {}
        for name in names:
            folder, _, base = name.rpartition("/")
            self._by_folder.setdefault(folder, set()).add(base)

    def is_leftover(self, name: str) -> bool:
        folder, _, base = name.rpartition("/")
        return any(is_temporary_of(base, mine) for mine in self._by_folder.get(folder, ()))

    def remove_leftovers(self, directory: Path) -> None:
        """Remove the temporary files that runs killed outright (SIGKILL) left beside the
        demo's files. Only its own folders are looked into, never below them, each reached
        from `directory` without following a symlink (`logs -> ../elsewhere` is not the
        demo's folder), and held open while its leftovers are removed, so no link put in
        place meanwhile leads elsewhere."""
        for folder in self._by_folder:
            descriptor = _open_own_folder(directory, folder)
            if descriptor is None:
                continue
            try:
                for name in os.listdir(descriptor):
                    if not self.is_leftover(f"{folder}/{name}" if folder else name):
                        continue
                    try:
                        os.unlink(name, dir_fd=descriptor)
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        raise DemoFolderError(
                            f"cannot remove {directory / folder / name}, left by an earlier "
                            f"run: {exc.strerror}"
                        ) from None
            finally:
                os.close(descriptor)


def _open_own_folder(directory: Path, folder: str) -> int | None:
    """A descriptor of `directory/folder`, opened one component at a time, none of them a
    symlink; None when one is missing, a symlink or not a folder."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    for part in PurePosixPath(folder).parts:
        try:
            inner = os.open(part, flags, dir_fd=descriptor)
        except OSError:
            os.close(descriptor)
            return None
        os.close(descriptor)
        descriptor = inner
    return descriptor


def _kind(directory: Path, name: str) -> str | None:
    """What stands at `name` below `directory`, each of its folders looked at without
    following a symlink: "folder", "file" (regular), "symlink", "other" (FIFO, device,
    socket), "under a symlink" or "under a non-folder" (at one of its folders), or None
    (nothing there, or it cannot be looked at). The folder itself (name "") is a folder."""
    where = directory
    parts = PurePosixPath(name).parts
    if not parts:
        return "folder"
    mode = 0
    for index, part in enumerate(parts):
        where = where / part
        try:
            mode = where.lstat().st_mode
        except OSError:
            return None
        if index == len(parts) - 1:
            break
        if stat.S_ISLNK(mode):
            return "under a symlink"
        if not stat.S_ISDIR(mode):
            return "under a non-folder"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "file"
    return "symlink" if stat.S_ISLNK(mode) else "other"


def _refuse_blockers(directory: Path, names: Iterable[str]) -> None:
    """DemoFolderError naming the first thing at a name in `names` (files the demo writes)
    or at one of their folders that not even --force replaces: what it holds would be lost
    (a folder, a file where a folder goes) or it is no file (a FIFO, device or socket). A
    symlink is the user's to decide on: refused without --force, replaced itself with it."""
    folders = sorted({str(parent) for name in names for parent in PurePosixPath(name).parents})
    for folder in folders:
        if folder != "." and _kind(directory, folder) in ("file", "other"):
            raise _blocked(directory / folder, "is not a folder, where the demo makes one")
    for name in sorted(names):
        kind = _kind(directory, name)
        if kind == "folder":
            raise _blocked(directory / name, "is a folder, where the demo writes a file")
        if kind == "other":
            raise _blocked(
                directory / name, "is a device, FIFO or socket, where the demo writes a file"
            )


def _blocked(path: Path, why: str) -> DemoFolderError:
    return DemoFolderError(f"{path} {why}: move it away or choose another --dir")


def _lock(directory: Path) -> int | None:
    """An advisory lock on the folder for this run: DemoFolderError when another run has it.
    A filesystem without locks runs unlocked."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise DemoFolderError(f"cannot open {directory}: {exc.strerror}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise DemoFolderError(
            f"another prov demo is writing {directory}: let it finish, or choose another --dir"
        ) from None
    except OSError:
        pass
    return descriptor


def _unlock(descriptor: int | None) -> None:
    if descriptor is not None:
        with contextlib.suppress(OSError):
            os.close(descriptor)  # closing the descriptor releases the lock


def _refusal(path: Path, why: str) -> DemoFolderError:
    return DemoFolderError(
        f"{path} {why}: choose another --dir, or give --force to write the demo's files "
        "whatever is there (other files are left alone)"
    )


def _read_manifest(directory: Path) -> dict[str, str]:
    path = directory / MANIFEST
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            raise _refusal(path, "is not a manifest the demo wrote (not a regular file)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise DemoFolderError(f"cannot read {path}: {exc}") from None
    listed: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.fullmatch(line)
        if match is None or not _inside(match.group(2)):
            raise DemoFolderError(
                f"{path} is not a manifest the demo wrote: choose another --dir, or give --force"
            )
        listed[match.group(2)] = match.group(1)
    return listed


def _inside(name: str) -> bool:
    """A manifest entry names a file in the folder: relative, no `..`, no detours."""
    parts = PurePosixPath(name).parts
    return bool(parts) and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def _strangers(
    directory: Path, listed: dict[str, str], own: dict[str, str], names: _DemoNames
) -> Iterator[tuple[str, str]]:
    """What the demo may not replace, as (relative name, why), found lazily: the caller stops
    at the first (`--dir /usr` is refused at once, not after walking the whole tree)."""
    for name, unreadable in _entries(directory):
        if unreadable is not None:
            yield name, unreadable
        elif (
            name == MANIFEST
            or name in own
            or names.is_leftover(name)
            or _empty_side_file(directory, name)
        ):
            continue
        elif name in listed:
            yield name, "has changed since the demo made it"
        elif name.endswith(SIDE_FILE_SUFFIXES):
            yield name, "belongs to a store that is open elsewhere or was not closed"
        else:
            yield name, "was not made by the demo"


def _empty_side_file(directory: Path, name: str) -> bool:
    """An empty -wal, -shm or -journal of the store: it can carry nothing into a store, and a
    run killed while holding the previous store leaves an empty -wal (the next run's hold
    finds out whether a live process has the store open)."""
    if name not in {f"{STORE}{suffix}" for suffix in SIDE_FILE_SUFFIXES}:
        return False
    try:
        info = (directory / name).lstat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == 0


def _entries(directory: Path) -> Iterator[tuple[str, str | None]]:
    """Everything below `directory` that is not a folder (symlinks included, never followed),
    each folder's files by name before its subfolders, as (relative name, None); a subfolder
    that cannot be read comes as (its name, why)."""
    pending = [directory]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            if folder == directory:
                raise DemoFolderError(f"cannot look into {folder}: {exc.strerror}") from None
            yield _relative(folder, directory), f"cannot be looked into ({exc.strerror})"
            continue
        subfolders = []
        for entry in entries:
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if is_folder:
                subfolders.append(Path(entry.path))
            else:
                yield _relative(Path(entry.path), directory), None
        pending.extend(reversed(subfolders))


def _relative(path: Path, directory: Path) -> str:
    return path.relative_to(directory).as_posix()


def _unchanged(directory: Path, name: str, digest: str) -> bool:
    """Whether the listed file is still the regular file, inside the folder, the demo wrote."""
    path = directory / name
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(directory)):
            return False  # reached through a symlinked folder
        return _digest(path) == digest
    except OSError:
        return False


def _digest(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
