"""Compressed input, recognised by its first bytes, never by its name: gzip, bzip2 and xz.

Rotated logs are normally compressed (`access.log.2.gz`), and a name says nothing reliable
(`access.log` may be gzip, `x.gz` may be plain). The formats are the standard library's, read
either as a stream in bounded memory (`open_decompressed`: files, pipes) or as bytes up to a
size limit (`decompress`: a Kinesis record, where more would be a decompression bomb).
Concatenated members (gzip) and streams (bzip2, xz) are read one after another, as `zcat`,
`bzcat` and `xzcat` do.

What a damaged stream raises while it is read is `READ_ERRORS`; `decompress` turns it into
`CompressionError` with a one-line reason.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from collections.abc import Callable
from typing import BinaryIO, Protocol, cast

GZIP = "gzip"
BZIP2 = "bzip2"
XZ = "xz"

MAGIC_BYTES = 10
"""How many first bytes `detect` needs to decide."""
_GZIP_MAGIC = b"\x1f\x8b"  # no text starts so: 0x8b is a UTF-8 continuation byte
_XZ_MAGIC = b"\xfd7zXZ\x00"
# "BZh", a block size digit, then a block's magic (pi) or the end of stream (sqrt(pi)).
_BZIP2_BLOCKS = (b"1AY&SY", b"\x17rE8P\x90")

READ_ERRORS: tuple[type[Exception], ...] = (EOFError, OSError, zlib.error, lzma.LZMAError)
"""What reading a damaged or truncated compressed stream raises (gzip.BadGzipFile is an
OSError; a stream that ends early raises EOFError)."""


class CompressionError(ValueError):
    """Compressed data that cannot be read whole (one-line reason)."""


def detect(head: bytes) -> str | None:
    """The compression `head` (the first `MAGIC_BYTES` bytes of an input) starts, or None."""
    if head.startswith(_GZIP_MAGIC):
        return GZIP
    if head.startswith(_XZ_MAGIC):
        return XZ
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in _BZIP2_BLOCKS:
        return BZIP2
    return None


def open_decompressed(raw: BinaryIO, kind: str) -> BinaryIO:
    """A binary stream of what `raw` (compressed as `kind`) holds, decompressed as it is read.

    Seeking forward reads on; seeking back needs `raw` seekable. Closing it leaves `raw` open.
    """
    if kind == GZIP:
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == BZIP2:
        return cast(BinaryIO, bz2.BZ2File(raw, mode="rb"))
    if kind == XZ:
        return cast(BinaryIO, lzma.LZMAFile(raw, mode="rb"))
    raise ValueError(f"unknown compression {kind!r}")


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


_DECOMPRESSORS: dict[str, tuple[bytes, Callable[[], _Decompressor]]] = {
    GZIP: (_GZIP_MAGIC, lambda: zlib.decompressobj(wbits=31)),  # 16 + 15: gzip framing
    BZIP2: (b"BZh", bz2.BZ2Decompressor),
    XZ: (_XZ_MAGIC, lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ)),
}


def decompress(data: bytes, kind: str, limit: int) -> bytes:
    """Every member of `data` (compressed as `kind`) decompressed; CompressionError when it is
    damaged, ends early, has other bytes after its last member, or would exceed `limit` bytes.
    """
    magic, make = _DECOMPRESSORS[kind]
    parts: list[bytes] = []
    size = 0
    rest = data
    while rest:
        if not rest.startswith(magic):
            raise CompressionError(f"not valid {kind} data: trailing bytes after the last member")
        decompressor = make()
        try:
            part = decompressor.decompress(rest, limit - size + 1)
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
            raise CompressionError(f"not valid {kind} data: {exc}") from None
        size += len(part)
        if size > limit:
            raise CompressionError(f"{kind} data decompresses to more than {limit:,} bytes")
        if not decompressor.eof:
            raise CompressionError(f"not valid {kind} data: it ends before its last member does")
        parts.append(part)
        rest = decompressor.unused_data
    return b"".join(parts)
