"""Reading a small file the user named whole (a policy file, a key file): the one rule for it.

A setting that names a file can name anything: `/dev/zero` or `/dev/urandom` never end (read
whole, they fill memory), a FIFO waits for a writer that may never come. So only a regular
file is read, opened without waiting (O_NONBLOCK: a FIFO's open returns at once) and checked
on the open descriptor (no swap between a look and the read), and at most `limit` bytes are
kept: one byte more is read only to tell that the file is larger.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from provenance.domain.errors import ProvenanceError


class SmallFileError(ProvenanceError):
    """A file that is not read: `reason` says why, for the caller to put in its one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_small_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them.

    FileNotFoundError passes on (callers say how to make the file); any other failure, a file
    that is not a regular file, or one larger than `limit`, is a SmallFileError."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SmallFileError(f"cannot read it: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise SmallFileError(f"it is not a regular file ({kind_of(mode)})")
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise SmallFileError(f"cannot read it: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise SmallFileError(f"it is larger than {limit:,} bytes")
    return data


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, for people: "a character device", ..."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"
