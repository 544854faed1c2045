r"""How an input's bytes become the lines sources read: one rule for `prov ingest`, `prov ship`
and the ingest handler, so a line gets the same identity whichever way it came.

- A line ends at "\n"; it loses that, and then one "\r".
- A UTF-8 byte-order mark at the very start of an input is not part of its first line.
- A line is decoded as UTF-8; bytes that are not UTF-8 become lone surrogates
  (`surrogateescape`), which identity hashes as the bytes they were and which events show
  visibly (`premis.escaping.visible_surrogates`: the byte 0xE9 is written `\xe9`).
- A line longer than `MAX_LINE_BYTES` (512 KiB, without its line end) is *over-long*: it is
  read in pieces, never held whole, and arrives as an `OverlongLine` (its first
  `OVERLONG_KEPT_BYTES`, its length, and digests of the whole of it) to be quarantined. Its
  identity digest is the SHA-1 of all its bytes, as for any line, so two over-long lines that
  differ anywhere get different ids, and reading it whole from a list gives the same one.
- A line after which the input fails (damaged compressed data, a read error) never got its
  line end: it arrives as a `CutLine`, to be quarantined rather than parsed (what is there of
  it may read as something it is not), then the error is raised. Its identity is that of a
  line with its bytes, as for any line.
  The cap is what one Kinesis record can carry whatever the line holds (base64 makes 512 KiB
  some 700 KB; `provenance.records.envelope`), so a line `prov ship` sends is never altered on the
  way and gets the id `prov ingest` gives it: one rule for every reader, not one per transport.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

MAX_LINE_BYTES = 512 * 1024
"""The longest line read as a line (bytes, without its line end); longer ones are quarantined.
No larger than a Kinesis record can hold as base64 with its envelope (a test pins it)."""
OVERLONG_KEPT_BYTES = 64 * 1024
"""How much of an over-long line is kept (the quarantine record shows it, marked truncated)."""
BOM = b"\xef\xbb\xbf"
_PIECE = 1024 * 1024
# A line of exactly MAX_LINE_BYTES with "\r\n" still comes in one read.
_FIRST_READ = MAX_LINE_BYTES + 2


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """A line longer than `MAX_LINE_BYTES`, without its line end: what is kept of it."""

    kept: bytes
    length: int
    sha1: bytes
    """The whole line's SHA-1: its `provenance.domain.identity.line_digest`."""
    sha256: str
    """The whole line's SHA-256 (hex), as a truncated quarantine record states it."""

    @property
    def reason(self) -> str:
        return f"line too long ({self.length:,} bytes > {MAX_LINE_BYTES:,})"


Line = bytes | OverlongLine
"""A line as read: its bytes without the line end, or what is kept of an over-long one."""


@dataclass(frozen=True, slots=True)
class CutLine:
    """The start of a line that the input's failure cut short (no line end came)."""

    data: bytes

    reason: ClassVar[str] = "cut short by damaged or unreadable input"


def strip_line_end(raw: bytes) -> bytes:
    r"""`raw` without a trailing "\n" and then one "\r"."""
    line = raw[:-1] if raw.endswith(b"\n") else raw
    return line[:-1] if line.endswith(b"\r") else line


def capped(line: bytes) -> Line:
    """A line held in memory already (a record's lines), as reading it would give it."""
    if len(line) <= MAX_LINE_BYTES:
        return line
    return OverlongLine(
        line[:OVERLONG_KEPT_BYTES],
        len(line),
        hashlib.sha1(line).digest(),
        hashlib.sha256(line).hexdigest(),
    )


def strip_bom(data: bytes) -> bytes:
    """`data` (the start of an input) without a leading UTF-8 byte-order mark."""
    return data[len(BOM) :] if data.startswith(BOM) else data


def read_lines(stream: BinaryIO) -> Iterator[Line | CutLine]:
    """Every line of `stream` from its start, by the rules above, in bounded memory.

    A read that fails is raised; a line without its end just before it comes first, as a
    `CutLine` (the stream must give what it read before failing as an end of input once:
    `provenance.ingest.inputs` does)."""
    readline = stream.readline
    raw = readline(_FIRST_READ + len(BOM))
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    while raw:
        if raw.endswith(b"\n"):
            line = raw[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) <= MAX_LINE_BYTES:
                yield line
                raw = readline(_FIRST_READ)
                continue
        last, _, complete = _finish(raw, readline)
        if complete:
            yield last
            raw = readline(_FIRST_READ)
            continue
        # No line end: the input ended here, or failed. The next read tells which.
        try:
            raw = readline(_FIRST_READ)
        except Exception:
            yield CutLine(last) if isinstance(last, bytes) else last
            raise
        yield last


def read_line(stream: BinaryIO, *, at_start: bool) -> tuple[Line, int, bool] | None:
    r"""The next line of `stream`, or None at its end: the line, how many bytes it took (its
    line end, and a byte-order mark if `at_start`, included), and whether it ended with "\n"
    (a line without one may still be being written)."""
    raw = stream.readline(_FIRST_READ + len(BOM) if at_start else _FIRST_READ)
    skipped = 0
    if at_start and raw.startswith(BOM):
        raw, skipped = raw[len(BOM) :], len(BOM)
    if not raw:
        return None  # a byte-order mark alone is no line yet, as `read_lines` reads it
    line, size, complete = _finish(raw, stream.readline)
    return line, size + skipped, complete


def _finish(raw: bytes, readline: Callable[[int], bytes]) -> tuple[Line, int, bool]:
    """The line that starts with `raw` (one read): with how many bytes it took and whether it
    ended with a line end. One too long already is read on in pieces, hashed as it goes."""
    if raw.endswith(b"\n"):
        return capped(strip_line_end(raw)), len(raw), True
    line = strip_line_end(raw)
    if len(line) <= MAX_LINE_BYTES:
        # A read stopped by its size limit would be longer: this is the end of the input.
        return line, len(raw), False
    sha1, sha256 = hashlib.sha1(), hashlib.sha256()
    length = taken = 0
    carry = b""  # a "\r" that is the line end's if the next piece starts with "\n"
    piece = raw
    complete = False
    while piece:
        taken += len(piece)
        complete = piece.endswith(b"\n")
        body = carry + (piece[:-1] if complete else piece)
        carry = b""
        if complete:
            body = body[:-1] if body.endswith(b"\r") else body
        elif body.endswith(b"\r"):
            body, carry = body[:-1], b"\r"
        sha1.update(body)
        sha256.update(body)
        length += len(body)
        if complete:
            break
        piece = readline(_PIECE)
    # A "\r" still carried ended the input: dropped, as strip_line_end drops it.
    kept = raw[:OVERLONG_KEPT_BYTES]
    return OverlongLine(kept, length, sha1.digest(), sha256.hexdigest()), taken, complete
