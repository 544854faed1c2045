"""The cached asset directories under `<repo>/.build/lambda` (git-ignored): each is named by
the hash of what it holds, built under a file lock for its hash in a temporary directory next
to it and renamed into place whole, so nobody ever sees half of one; directories of the same
kind not used for a day are deleted.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from cdk.bundling.runtime import REPO_ROOT, BundlingError

DEFAULT_BUILD_ROOT = REPO_ROOT / ".build" / "lambda"
# Part of every directory's hash: bump it when what a build puts in a directory changes, so
# that no cached directory of the old layout is used again.
LAYOUT = 1
_UNUSED_FOR = 24 * 3600.0  # seconds; directories not used for this long are deleted


def asset_root(build_root: Path | None) -> Path:
    root = Path(build_root) if build_root is not None else DEFAULT_BUILD_ROOT
    try:
        (root / ".locks").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BundlingError(f"cannot create the build directory {root}: {exc}") from exc
    return root


def materialise(root: Path, prefix: str, digest: str, build: Callable[[Path], None]) -> Path:
    """`root/<prefix><digest>`, built by `build` into a temporary directory unless it exists."""
    final = root / f"{prefix}{digest}"
    with _locked(root, final.name, blocking=True):
        if final.is_dir():
            os.utime(final)  # when it was last used: unused directories are pruned after a day
            return final
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=root))
        try:
            build(tmp)
            _make_readable(tmp)
            tmp.rename(final)
        except OSError as exc:
            # Another process built the same directory without our lock (its lock file was
            # pruned and made again meanwhile): the same hash is the same content, keep theirs.
            shutil.rmtree(tmp, ignore_errors=True)
            if not final.is_dir():
                raise BundlingError(f"cannot build {final}: {exc}") from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    _prune(root, prefix, keep=final.name)
    return final


@contextmanager
def _locked(root: Path, name: str, *, blocking: bool) -> Iterator[bool]:
    """Hold the lock of directory `name` (yields False if `blocking` is off and it is taken)."""
    lock: IO[bytes] = (root / ".locks" / f"{name}.lock").open("ab")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        lock.close()  # also releases the lock


def _make_readable(directory: Path) -> None:
    """Lambda runs the code as another user than the one who unpacks it: everything must be
    readable by all (files made under a strict umask, or by mkdtemp, would not be)."""
    for path in [directory, *directory.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & 0o111
        path.chmod(0o755 if executable else 0o644)


def _prune(root: Path, prefix: str, *, keep: str) -> None:
    """Delete directories `prefix*` other than `keep` not used for a day, and leftovers of
    interrupted builds. A directory is renamed away before it is deleted, under its lock, so
    no build that is using it sees it half gone."""
    cutoff = time.time() - _UNUSED_FOR
    for entry in root.iterdir():
        name = entry.name
        leftover = name.startswith((f".tmp-{prefix}", f".trash-{prefix}", ".pip-"))
        if not (leftover or (name.startswith(prefix) and name != keep)):
            continue
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
            if leftover:
                shutil.rmtree(entry, ignore_errors=True)
                continue
            with _locked(root, name, blocking=False) as locked:
                if not locked or entry.stat().st_mtime >= cutoff:
                    continue  # in use, or used again just now
                trash = root / f".trash-{name}-{os.getpid()}"
                entry.rename(trash)
                (root / ".locks" / f"{name}.lock").unlink(missing_ok=True)
            shutil.rmtree(trash, ignore_errors=True)
        except OSError:
            continue  # cleaning up is best effort: what cannot go now goes after the next build
