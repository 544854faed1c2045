"""Reading a followed file into chunks of whole entries, for `prov ship` (`FileReader`).

Where a record may begin: before a line, when every line before it is in an entry the source
has completed. Either nothing was open after the line before, or this line is the only one
still open (most sources hold an entry until the next head line shows it complete; the line
must then be in none of the entries it completed, which `Entry.lines`, verbatim, tells). And a
fresh source recalling the memory there must treat the line as the running one did (of a
memory larger than `MAX_MEMORY_BYTES` only its last lines that fit are sent: then that part
is all the handler has). That check runs only where a record is about to be cut, not at every
line. Where all that was read is cut (the end of a look, nothing open), this shipper goes on
with a fresh source recalling the memory sent, as the handler will: what each reads next is
read alike.

Lines are measured by what they add to a record (`provenance.records.envelope.encoded_size`: the
JSON or base64 of a line, the kept part of an over-long one), not by the bytes they took in the
file. A stretch with no place to begin a record that would pass 7/8 of the record limit (a
runaway backtrace, a request that never completes, a busy Rails log whose tagged requests
always overlap) is cut anyway before the line that would pass it: a forced cut, counted and
warned about with its line. There the source is finished and started afresh (recalling what
it remembered), and the record ends, exactly as the handler finishes each record and starts
the next with a fresh source, so the record carries the occurrence count of every entry head it
holds and no real repeat is taken for a duplicate; the entries cut keep their first part (and
its ids: a Rails request is stored incomplete, without status and duration), and the lines
after the cut are read as new entries (what no format claims is quarantined; a Rails request's
end is ignored), no line lost. Whatever a stretch holds, a record of it fits: a line within the
cap takes at most 4/3 of its length, and the memory at most `MAX_MEMORY_BYTES`, so
`ship_records.pack_records` never has to cut inside a stretch or alter a line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from provenance.aws.ship_files import OpenedFile, holds_shipped, line_sha1
from provenance.aws.ship_options import ShipOptions
from provenance.aws.ship_state import Fingerprint
from provenance.domain.identity import OccurrenceCounter
from provenance.ingest.compression import READ_ERRORS
from provenance.ingest.inputs import DamagedInputError, InputError, text_after
from provenance.records.envelope import encoded_size, sendable_memory
from provenance.records.lines import MAX_LINE_BYTES, CutLine, Line, OverlongLine, read_line
from provenance.sources import create_source
from provenance.sources.base import Entry, Source, SourceContext

# What reading a file's text may raise: the text layer's errors, and a seek in damaged data's.
_READ_FAILURES: tuple[type[Exception], ...] = (InputError, *READ_ERRORS)
# A last line within the cap (with its line end) is read again at every look at a followed
# file; an over-long one is not (reading it means hashing all of it).
_TAIL_CHECK_BYTES = MAX_LINE_BYTES + 8


@dataclass(slots=True)
class Chunk:
    """Lines from one entry end to another (or to a forced cut), with the entry heads counted
    while they were read: (head line number, digest key, occurrence), in counting order; and
    what the source remembered where it begins and where it ends (`Source.memory`)."""

    offset: int
    end: int
    first_line: int
    # The last may be a `CutLine`: the line the file's damage cut short (sent as `cut`).
    lines: list[Line | CutLine]
    heads: list[tuple[int, bytes, int]]
    # The bytes each line took in the file (line end, and a first line's byte-order mark).
    sizes: list[int]
    memory: tuple[str, ...]
    end_memory: tuple[str, ...]
    # The source was started afresh after it (from `end_memory`): what follows goes in
    # another record, which the handler reads with a fresh source too.
    afresh: bool = False

    @property
    def size(self) -> int:
        return self.end - self.offset


@dataclass(slots=True)
class _Cut:
    """A place a record may begin: before line `line_no`, when every line before it is in a
    completed entry, with what the source remembered there (`memory`). It is taken only if a
    fresh source that recalls that memory (what the ingest handler reads the record with)
    treats the line as the running source did (`expected`)."""

    line_no: int
    offset: int
    heads: int  # entry heads counted in the file before the cut
    text: str
    expected: tuple[tuple[Any, ...], ...]
    memory: tuple[str, ...]
    valid: bool | None = None


class _Stretch:
    """The source run over a file's lines, and the stretch read since the last cut: the entry
    heads counted in it, the places a record may begin (`_Cut`), and the cuts that make it
    chunks (the part of `FileReader` that decides where records begin)."""

    def __init__(
        self,
        source_context: SourceContext,
        options: ShipOptions,
        *,
        offset: int,
        next_line: int,
        counts: dict[bytes, int] | None,
        memory: tuple[str, ...],
    ) -> None:
        self.offset = offset
        self.next_line = next_line
        self.counter = OccurrenceCounter(counts)
        self.context = source_context
        # The last memory measured for a record, and what of it goes (`_sendable`).
        self._measured: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self.source_name = options.source
        memory = self._sendable(memory)
        self.source = self._fresh(memory)
        self.record_bytes = options.record_bytes
        self.stretch_limit = options.stretch_limit
        self.idle_flush_seconds = options.idle_flush_seconds
        self._grown_at = time.monotonic()
        # The line numbers records began at by force (forced cuts: `Shipper._take` counts
        # them and warns).
        self.forced_at: list[int] = []
        self.idle_flushes = 0
        # The open stretch: lines read since the last cut, what each adds to a record, and
        # the entry heads counted since; what the source remembered where it began.
        self._lines: list[Line | CutLine] = []
        self._sizes: list[int] = []
        self._weights: list[int] = []
        self._weight = 0
        self._start = offset
        self._first_line = next_line
        self._memory = memory
        self._heads: list[tuple[int, bytes, int]] = []
        self._heads_before = 0  # heads counted in the file before the stretch
        self._cuts: list[_Cut] = []
        # Lines read that are in no completed entry yet (over the whole file, not the stretch).
        self._open = 0

    def _recalled(self) -> tuple[str, ...]:
        """What the source remembers of the entries completed so far: where a place to cut
        before the line just read is found, every entry before it is (the line's own, open
        or completed by itself, changes what a source remembers only once it is completed,
        or is only `auto`'s marker, which `recall` only recognises)."""
        return self.source.memory()

    def _fresh(self, memory: tuple[str, ...]) -> Source:
        """A fresh source that remembers `memory`: what the handler reads a record with."""
        source = create_source(self.source_name, self.context)
        source.recall(memory)
        return source

    def _sendable(self, memory: tuple[str, ...]) -> tuple[str, ...]:
        """What of `memory` a record carries (`envelope.sendable_memory`: all of it within
        `MAX_MEMORY_BYTES`, as every source bounds its own; else its last lines that fit), as
        last measured while it is the same."""
        measured, sendable = self._measured
        if memory is measured or memory == measured:
            return sendable
        sendable = sendable_memory(memory)
        self._measured = (memory, sendable)
        return sendable

    def _count(self, entry: Entry) -> None:
        digest = entry.digest
        occurrence = self.counter.next(digest)
        self._heads.append((entry.line_no, digest[:8], occurrence))
        self._open -= len(entry.lines)

    def _valid(self, cut: _Cut) -> bool:
        if cut.valid is None:
            fresh = self._fresh(self._sendable(cut.memory))
            cut.valid = _outcome(fresh.feed(cut.line_no, cut.text)) == cut.expected
        return cut.valid

    def _cut_latest(self) -> Chunk | None:
        """Cut at the last place a record may begin, if there is one."""
        for cut in reversed(self._cuts):
            if self._valid(cut):
                return self._cut_at(cut)
        return None

    def _cut_at(self, cut: _Cut) -> Chunk:
        lines = cut.line_no - self._first_line
        heads = cut.heads - self._heads_before
        memory = self._sendable(cut.memory)
        chunk = Chunk(
            self._start,
            cut.offset,
            self._first_line,
            self._lines[:lines],
            self._heads[:heads],
            self._sizes[:lines],
            self._memory,
            memory,
        )
        self._lines = self._lines[lines:]
        self._sizes = self._sizes[lines:]
        self._weights = self._weights[lines:]
        self._weight = sum(self._weights)
        self._heads = self._heads[heads:]
        self._start = cut.offset
        self._first_line = cut.line_no
        self._memory = memory
        self._heads_before = cut.heads
        self._cuts = [later for later in self._cuts if later.line_no > cut.line_no]
        return chunk

    def _forced_cut(self, *, idle: bool = False) -> Chunk:
        """Cut all that was read, with no place to begin a record: a forced cut (`idle`: an
        idle flush, when the file has been quiet). The source is finished first and started
        afresh, as the ingest handler finishes each record and reads the next with a fresh
        source: the entries still open end here, their heads counted in this chunk, so the
        record carries their occurrence counts. The fresh source remembers what the finished
        one did."""
        for entry in self.source.finish():
            self._count(entry)
        self._open = 0  # finishing completes every line fed
        if idle:
            self.idle_flushes += 1
        else:
            self.forced_at.append(self.next_line)
        return self._cut_afresh()

    def _cut_afresh(self) -> Chunk:
        """Cut all that was read, every entry completed, and go on with a fresh source that
        remembers what this one did: what the handler reads the next record with."""
        chunk = self._cut_all()
        chunk.afresh = True
        self.source = self._fresh(chunk.end_memory)
        return chunk

    def _cut_all(self) -> Chunk:
        memory = self._sendable(self.source.memory())
        chunk = Chunk(
            self._start,
            self.offset,
            self._first_line,
            self._lines,
            self._heads,
            self._sizes,
            self._memory,
            memory,
        )
        self._heads_before += len(self._heads)
        self._lines, self._sizes, self._heads, self._cuts = [], [], [], []
        self._weights, self._weight = [], 0
        self._start = self.offset
        self._first_line = self.next_line
        self._memory = memory
        return chunk


class FileReader(_Stretch):
    """One open file: reads complete lines from `offset`, runs the source, cuts chunks.

    It knows the fingerprint of what it has read (`fingerprint`): `head` is the SHA-1 of the
    file's first line, the tail is the last line read (or, resumed, the one saved)."""

    def __init__(
        self,
        opened: OpenedFile,
        file_id: str,
        source_context: SourceContext,
        options: ShipOptions,
        *,
        offset: int = 0,
        next_line: int = 1,
        counts: dict[bytes, int] | None = None,
        head: tuple[bytes, int | None] | None = None,
        tail: tuple[bytes, int] | None = None,
        memory: tuple[str, ...] = (),
    ) -> None:
        self.opened = opened
        self.handle = opened.text
        self.compressed = opened.compression is not None
        self.name = source_context.file or ""
        # Why reading stopped before the end (damaged compressed data), once it did.
        self.damaged: str | None = None
        self.file_id = file_id
        super().__init__(
            source_context,
            options,
            offset=offset,
            next_line=next_line,
            counts=counts,
            memory=memory,
        )
        # The first line's SHA-1 and the bytes it took (None: not known, a state of format 2).
        self.head: bytes | None = None
        self.head_bytes: int | None = None
        if head is not None:
            self.head, self.head_bytes = head
        # The line that ends at `offset` (its SHA-1 once asked for), and the bytes it took.
        self._tail_line: Line | CutLine | None = None
        self._tail_sha1: bytes | None = None
        self._tail_size = 0
        if tail is not None:
            self._tail_sha1, self._tail_size = tail

    def close(self) -> None:
        self.opened.close()

    @property
    def fingerprint(self) -> Fingerprint | None:
        """The fingerprint of what was read before `offset`; None before the first line (or
        when the first line is not known)."""
        if self.head is None:
            return None
        if self._tail_sha1 is None:
            if self._tail_line is None:
                return None
            self._tail_sha1 = line_sha1(self._tail_line)
        return Fingerprint(self.head, self._tail_sha1, self._tail_size, self.head_bytes)

    def still_holds(self) -> bool:
        """Whether the file still holds the last line read where it was read. Copytruncate
        keeps the file and drops its content, and what is written next may outgrow the offset
        before the next look: the size alone cannot tell. (An over-long last line is not read
        again at every look: the size is all that is checked then.)"""
        fingerprint = self.fingerprint
        if fingerprint is None or fingerprint.tail_bytes > _TAIL_CHECK_BYTES:
            return True
        return holds_shipped(self.handle, self.offset, fingerprint, head=False)

    def continue_in(self, opened: OpenedFile) -> None:
        """Read on from `opened`, which holds what this file held (the copy copytruncate made
        before emptying it), at the same offsets."""
        self.opened.close()
        self.opened = opened
        self.handle = opened.text
        self.compressed = opened.compression is not None

    def read(
        self, *, final: bool, more: bool = True, until: int | None = None, idle: bool = False
    ) -> Iterator[Chunk]:
        """The chunks of the lines from `offset` to the end of the file, or to byte `until`
        (the size the file was looked at with: a line that ends past it is left for later,
        whole). Not `final`: a last line without its "\\n" is left for later, and so are the
        lines after the last place a record may begin. `final`: every line is read, the
        source finishes, all is cut (`idle`: because the file has been quiet, an idle flush
        when an entry was still open). Not `more`: nothing more is read (the file no longer
        holds what followed), the lines read are finished and cut.

        The file's text is read as `prov ingest` reads it (`provenance.ingest.inputs.text_after`):
        damaged compressed data (or a read error) ends the file there (`damaged` says why), as
        `final`, and the line it cut short is quarantined as ingest quarantines it."""
        try:
            if more:
                self.handle.seek(self.offset)
                text = text_after(self.handle, self.name, self.opened.compression)
            while more:
                read = read_line(text, at_start=self.offset == 0)
                if read is None:
                    break
                line, size, complete = read
                if until is not None and self.offset + size > until:
                    break  # written after the file was looked at
                if not complete:
                    if not final:
                        break  # still being written
                    # No line end: the end of the file, or its damage. The next read tells.
                    try:
                        read_line(text, at_start=False)
                    except InputError:
                        if isinstance(line, bytes):
                            yield from self._read_line(CutLine(line), size)
                        else:
                            yield from self._read_line(line, size)
                        raise
                yield from self._read_line(line, size)
        except _READ_FAILURES as exc:
            kind = self.opened.compression or "the file's"
            if isinstance(exc, DamagedInputError):
                detail = exc.detail
            else:
                detail = " ".join(str(exc).split()) or type(exc).__name__
            self.damaged = (
                f"{kind} data is damaged or truncated after line {self.next_line - 1:,} ({detail})"
            )
            final = True
        if final:
            if idle and self._open:
                self.idle_flushes += 1
            for entry in self.source.finish():
                self._count(entry)
            if self._lines:
                yield self._cut_all()
        elif self._lines and self._open == 0:
            # Every line read is in a completed entry (single-line formats, always): ship
            # them all now rather than wait for the next line to show a place to cut. The
            # source goes on as the handler's will, from what the record says it remembered.
            yield self._cut_afresh()
        elif self._lines and time.monotonic() - self._grown_at >= self.idle_flush_seconds:
            # The file has been quiet for a while with an entry still open (a multi-line
            # format holds each entry until the next one begins): finish it and ship it, so a
            # quiet log's last entry is not held back indefinitely. If the entry goes on
            # later, its rest is read as new entries.
            yield self._forced_cut(idle=True)
        else:
            latest = self._cut_latest()
            if latest is not None:
                yield latest

    def _read_line(self, line: Line | CutLine, size: int) -> list[Chunk]:
        """Take one line as `provenance.records.lines` read it (as `prov ingest` reads it), which
        took `size` bytes of the file: the chunks cut before it, or with it."""
        chunks: list[Chunk] = []
        weight = _weight(line)
        # The source that read the lines before this one, when a record begins here with a
        # fresh one: whether both read this line alike tells if the cut was forced.
        before: Source | None = None
        if self._lines and self._weight + weight > self.stretch_limit:
            # With this line the record would outgrow its limit: cut before it, at the last
            # place a record may begin, and if that is not enough, anyway.
            chunk = self._cut_latest()
            if chunk is not None:
                chunks.append(chunk)
            if self._lines and self._weight + weight > self.stretch_limit:
                if self._open == 0:
                    # Every line read is in a completed entry: this line begins the record,
                    # read by a fresh source as the handler will read it.
                    before = self.source
                    chunks.append(self._cut_afresh())
                else:
                    chunks.append(self._forced_cut())
        self._grown_at = time.monotonic()
        line_no = self.next_line
        start = self.offset
        if line_no == 1:
            self.head, self.head_bytes = line_sha1(line), size
        self.next_line += 1
        self.offset += size
        self._tail_line, self._tail_sha1, self._tail_size = line, None, size
        self._lines.append(line)
        self._sizes.append(size)
        self._weights.append(weight)
        self._weight += weight
        clear = self._open == 0
        heads = self._heads_before + len(self._heads)
        self._open += 1
        if isinstance(line, OverlongLine):
            # ingest quarantines such a line on its own, without feeding it to the source.
            self._count(Entry.too_long(line_no, line))
        elif isinstance(line, CutLine):
            self._count(Entry.cut_short(line_no, line))  # the last line: no cut after it
        else:
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                text = line.decode("utf-8", "surrogateescape")  # as ingest reads it
            completed = self.source.feed(line_no, text)
            for entry in completed:
                self._count(entry)
            if before is not None and _outcome(before.feed(line_no, text)) != _outcome(completed):
                # `auto` read it by the format of the line before.
                self.forced_at.append(line_no)
            if line_no > self._first_line:
                if clear:
                    # Nothing was open before this line: what it completed holds it alone.
                    cut = _Cut(line_no, start, heads, text, _outcome(completed), self._recalled())
                    self._cuts.append(cut)
                elif self._open == 1 and not any(text in entry.lines for entry in completed):
                    # This line alone is open: what it completed is all before it.
                    heads = self._heads_before + len(self._heads)
                    self._cuts.append(_Cut(line_no, start, heads, text, (), self._recalled()))
        stretch = self.offset - self._start
        if stretch >= self.record_bytes and self._cuts and self._cuts[-1].line_no == line_no:
            cut = self._cuts[-1]
            if self._valid(cut):
                chunks.append(self._cut_at(cut))
        return chunks


def _weight(line: Line | CutLine) -> int:
    """What a line adds to a record (`encoded_size`; a cut line goes as base64, once)."""
    if isinstance(line, CutLine):
        return 4 * ((len(line.data) + 2) // 3) + 16
    return encoded_size(line)


def _outcome(entries: list[Entry]) -> tuple[tuple[Any, ...], ...]:
    """What decides the ids of `entries` (and what they are stored as)."""
    return tuple(
        (
            entry.line_no,
            tuple(entry.lines),
            entry.source,
            len(entry.drafts),
            entry.ignored,
            entry.quarantined,
        )
        for entry in entries
    )
