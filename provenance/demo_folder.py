"""What `prov demo` may replace in its folder, and the manifest that says so.

The demo writes its logs, access policy, pseudonym key, PREMIS document and store into one
folder, each by the rules of `provenance.output_file`, and lists every file it wrote, with its
SHA-256, in the folder's manifest (`demo-files.sha256`, the format of `sha256sum`, so
`sha256sum -c` checks it), rewritten after each file. A later run may replace a listed file
whose content is unchanged: that is the demo's own. A file that changed since (more ingested
into the demo's store) or that the manifest does not list (a store, or anything the user put
there) makes the run refuse before it touches anything, naming the file; `--force` replaces
the files the demo writes whatever they hold, and still leaves every other file alone.

The store is built beside its final name and renamed onto it when complete, so a run that
fails leaves the previous store as it was. Imports `provenance.output_file`.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from provenance.errors import ProvenanceError
from provenance.output_file import replacing_path, write_bytes

MANIFEST = "demo-files.sha256"
_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class DemoFolderError(ProvenanceError):
    """The demo's folder holds what the demo may not replace, or cannot be made."""


class DemoFolder:
    """The folder of one `prov demo` run: what it may replace, and the manifest it keeps."""

    def __init__(self, directory: Path, listed: dict[str, str]) -> None:
        self.directory = directory
        # Relative path -> SHA-256 of every file that is the demo's own right now: the earlier
        # runs' files still unchanged, and the ones this run wrote.
        self._listed = listed
        self._written: set[str] = set()

    @classmethod
    def claim(cls, directory: Path, *, force: bool) -> DemoFolder:
        """Check `directory` (touching nothing) and take it: DemoFolderError names the first
        file the demo may not replace, unless `force`."""
        if directory.exists() and not directory.is_dir():
            raise DemoFolderError(f"{directory} is not a folder")
        if not directory.exists():
            return cls(directory, {})
        try:
            listed = _read_manifest(directory)
        except DemoFolderError:
            if not force:
                raise
            listed = {}
        own = {
            name: digest for name, digest in listed.items() if _unchanged(directory, name, digest)
        }
        if not force:
            others = [
                (name, "has changed since the demo made it" if name in listed else _stranger(name))
                for name in _entries(directory)
                if name != MANIFEST and name not in own
            ]
            if others:
                name, why = others[0]
                more = f" (and {len(others) - 1:,} more)" if len(others) > 1 else ""
                raise DemoFolderError(
                    f"{directory / name} {why}{more}: choose another --dir, or give --force "
                    "to write the demo's files whatever is there (other files are left alone)"
                )
        return cls(directory, own)

    def create(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DemoFolderError(f"cannot create {self.directory}: {exc.strerror}") from None

    def write(self, path: Path, data: bytes, *, private: bool = False) -> None:
        """`data` to `path` (atomically), listed in the manifest."""
        write_bytes(path, data, private=private)
        self.record(path)

    @contextmanager
    def building_store(self, path: Path) -> Iterator[Path]:
        """The path to build the demo's SQLite store at; renamed onto `path` once the block
        ends (the store closed) and listed, or removed with its side files on failure."""
        with replacing_path(path) as building:
            try:
                yield building
            except BaseException:
                # A store closed cleanly has none; after a failure they hold nothing anyone needs.
                for suffix in _SQLITE_SIDE_FILES:
                    Path(f"{building}{suffix}").unlink(missing_ok=True)
                raise
        self.record(path)

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
        write_bytes(self.directory / MANIFEST, text.encode())


def _read_manifest(directory: Path) -> dict[str, str]:
    path = directory / MANIFEST
    try:
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


def _entries(directory: Path) -> Iterator[str]:
    """Everything in `directory` that is not a folder (symlinks included, never followed)."""

    def fail(exc: OSError) -> None:
        raise DemoFolderError(f"cannot look into {exc.filename}: {exc.strerror}")

    for root, folders, files in os.walk(directory, onerror=fail):
        base = Path(root)
        links = [name for name in folders if (base / name).is_symlink()]
        for name in sorted(files + links):
            yield (base / name).relative_to(directory).as_posix()


def _stranger(name: str) -> str:
    if name.endswith(_SQLITE_SIDE_FILES):
        return "belongs to a store that is open elsewhere or was not closed"
    return "was not made by the demo"


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
