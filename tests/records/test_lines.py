"""How bytes become lines (`provenance.records.lines`): line ends, the byte-order mark, the length
cap.

The rules are checked against a plain reference (split the whole input in memory) with a cap
made small, so that over-long lines, pieces and "\\r\\n" split across reads all occur.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provenance.records import lines
from provenance.records.lines import (
    BOM,
    OverlongLine,
    capped,
    read_line,
    read_lines,
    strip_line_end,
)

SMALL_CAP = 10


@contextmanager
def small_cap() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lines, "MAX_LINE_BYTES", SMALL_CAP)
        patch.setattr(lines, "OVERLONG_KEPT_BYTES", 4)
        patch.setattr(lines, "_FIRST_READ", SMALL_CAP + 2)
        patch.setattr(lines, "_PIECE", 3)
        yield


def reference(data: bytes) -> list[lines.Line]:
    """The lines of `data`, held whole: what reading in bounded memory must give."""
    body = data[len(BOM) :] if data.startswith(BOM) else data
    parts = body.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [capped(strip_line_end(part)) for part in parts]


inputs = st.builds(
    lambda bom, data: (BOM if bom else b"") + data,
    st.booleans(),
    st.binary(max_size=80)
    # Mostly long lines, with "\r" and "\n" where the pieces of reading fall.
    | st.lists(st.sampled_from([b"a"] * 6 + [b"\xe9", b"\r", b"\r\n", b"\n"]), max_size=60).map(
        b"".join
    ),
)


# A "\r" that ends one piece of an over-long line and a "\n" that starts the next.
SPLIT_LINE_END = b"x\n" + b"a" * (SMALL_CAP + 1) + b"\r\n" + b"a" * (SMALL_CAP + 3) + b"\r"


@settings(max_examples=500)
@example(data=SPLIT_LINE_END, buffer=5)
@given(data=inputs, buffer=st.integers(min_value=1, max_value=16))
def test_reading_in_pieces_gives_the_lines_held_whole(data: bytes, buffer: int) -> None:
    with small_cap():
        got = list(read_lines(io.BufferedReader(io.BytesIO(data), buffer_size=buffer)))
        assert got == reference(data)


@settings(max_examples=500)
@example(data=SPLIT_LINE_END)
@given(data=inputs)
def test_line_by_line_reading_agrees_and_accounts_for_every_byte(data: bytes) -> None:
    stream = io.BytesIO(data)
    got: list[lines.Line] = []
    taken = 0
    with small_cap():
        while (read := read_line(stream, at_start=taken == 0)) is not None:
            line, size, complete = read
            got.append(line)
            taken += size
            assert complete == data[:taken].endswith(b"\n")
        assert got == reference(data)
    assert taken == (0 if data == BOM else len(data))


def test_an_over_long_line_keeps_its_start_its_length_and_digests_of_all_of_it() -> None:
    whole = b"0123456789abcdef"
    with small_cap():
        (line,) = read_lines(io.BytesIO(whole + b"\r\n"))
        assert line == OverlongLine(
            kept=b"0123",
            length=16,
            sha1=hashlib.sha1(whole).digest(),
            sha256=hashlib.sha256(whole).hexdigest(),
        )
        assert line == capped(whole)
        assert line.reason == "line too long (16 bytes > 10)"


def test_over_long_lines_that_share_their_start_differ() -> None:
    with small_cap():
        first, second = read_lines(io.BytesIO(b"x" * 20 + b"1\n" + b"x" * 20 + b"2\n"))
    assert isinstance(first, OverlongLine) and isinstance(second, OverlongLine)
    assert first.kept == second.kept and first.length == second.length
    assert first.sha1 != second.sha1


def test_at_the_real_cap_a_line_is_whole_and_one_byte_more_is_over_long() -> None:
    cap = lines.MAX_LINE_BYTES
    (exact, over) = read_lines(io.BytesIO(b"a" * cap + b"\r\n" + b"b" * (cap + 1)))
    assert exact == b"a" * cap
    assert isinstance(over, OverlongLine) and over.length == cap + 1
    assert over.kept == b"b" * lines.OVERLONG_KEPT_BYTES
    assert over.sha1 == hashlib.sha1(b"b" * (cap + 1)).digest()


def test_a_byte_order_mark_is_stripped_only_at_the_start() -> None:
    data = BOM + b"first\n" + BOM + b"second\n"
    assert list(read_lines(io.BytesIO(data))) == [b"first", BOM + b"second"]
    assert list(read_lines(io.BytesIO(BOM))) == []
    assert list(read_lines(io.BytesIO(BOM + b"\n"))) == [b""]


class _FailingAfter(io.RawIOBase):
    """`data`, then an end of input once (as `provenance.ingest.inputs` gives it before an error in
    the middle of a line), then OSError."""

    def __init__(self, data: bytes, *, end_once: bool) -> None:
        super().__init__()
        self.data = data
        self.end_once = end_once

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.data:
            size = min(len(buffer), len(self.data))
            buffer[:size] = self.data[:size]
            self.data = self.data[size:]
            return size
        if self.end_once:
            self.end_once = False
            return 0
        raise OSError("damaged")


def test_a_line_the_input_fails_after_comes_cut_short_then_the_error() -> None:
    stream = io.BufferedReader(_FailingAfter(b"one\r\ntwo\nthr", end_once=True), 4)
    got = []
    with pytest.raises(OSError, match="damaged"):
        for line in read_lines(stream):
            got.append(line)
    assert got == [b"one", b"two", lines.CutLine(b"thr")]


def test_an_input_that_fails_between_lines_cuts_none_short() -> None:
    stream = io.BufferedReader(_FailingAfter(b"one\ntwo\n", end_once=False), 4)
    got = []
    with pytest.raises(OSError, match="damaged"):
        for line in read_lines(stream):
            got.append(line)
    assert got == [b"one", b"two"]


def test_a_last_line_without_its_end_is_a_line_when_the_input_ends_cleanly() -> None:
    assert list(read_lines(io.BytesIO(b"one\ntwo"))) == [b"one", b"two"]
