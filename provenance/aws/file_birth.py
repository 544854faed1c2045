"""When a file was made (its birth time), where the system says: to tell a new file that was
given the inode of a deleted one (ext4 does) from the same file emptied by copytruncate, which
the device and inode alone cannot (`provenance.aws.ship_files`).

Python's `os.stat` gives `st_birthtime` on macOS and the BSDs (and Windows from 3.12); on Linux
it is asked of `statx(2)` (Linux 4.11, glibc 2.28), which file systems answer when they keep it
(ext4, XFS, Btrfs, tmpfs do). None where nobody says.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from functools import cache
from typing import Any

_AT_EMPTY_PATH = 0x1000
_STATX_BTIME = 0x800
_STATX_SIZE = 256  # struct statx, with the kernel's spare room
# struct statx: stx_mask (u32) at 0; stx_btime (tv_sec s64, tv_nsec u32) at 80.
_MASK = struct.Struct("=I")
_BTIME = struct.Struct("=qI")
_BTIME_AT = 80


def birth_time(fd: int) -> float | None:
    """When the open file `fd` was made (seconds since the epoch), or None if not known."""
    born: float | None = getattr(os.fstat(fd), "st_birthtime", None)
    if born is not None:
        return born
    statx = _statx()
    if statx is None:
        return None
    buffer = ctypes.create_string_buffer(_STATX_SIZE)
    if statx(fd, b"", _AT_EMPTY_PATH, _STATX_BTIME, buffer) != 0:
        return None
    (mask,) = _MASK.unpack_from(buffer.raw, 0)
    if not mask & _STATX_BTIME:
        return None
    seconds, nanoseconds = _BTIME.unpack_from(buffer.raw, _BTIME_AT)
    return float(seconds) + float(nanoseconds) / 1e9


@cache
def _statx() -> Any:
    """glibc's statx, or None (not Linux, or a C library without it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).statx
    except (OSError, AttributeError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_char_p,
    ]
    function.restype = ctypes.c_int
    return function
