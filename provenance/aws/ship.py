"""`prov ship`: follow log files and put their lines into a Kinesis stream as record envelopes.

Each file is read as `prov ingest` reads it (`provenance.ingest.inputs.text_after`,
`provenance.records.lines`: line ends, a byte-order mark, the 512 KiB line cap, a line that damaged
compressed data cut short; an over-long line travels as what `OverlongLine` keeps of it), and the
file's source runs here too: to know where entries begin and end, and what it remembers across them.
Records hold whole entries only, and each carries what the source remembered where it begins
(`Source.memory`: robots, what each thread is processing; auto, the format of the line before).
So the ingest handler, which reads each record with a fresh source that recalls that memory
and with the occurrence counts the record carries (`provenance.records.envelope`), stores every
event as `prov ingest` of the whole file stores it: the same id, the same payload.

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
cap takes at most 4/3 of its length, and the memory at most `MAX_MEMORY_BYTES`, so `_records`
never has to cut inside a stretch or alter a line.

Lines are aggregated into records of about `record_bytes` (256 KiB of log lines compress to
some 30-60 KB; PUT payload units are counted per 25 KB, entries per call are few), never more
than `MAX_RECORD_BYTES` with the partition key, nor more than the ingest handler reads of one
record (`MAX_RECORD_LINES` lines, `MAX_DECODED_BYTES` decompressed), and up to 500 records /
5 MB per PutRecords call. The partition key (host and path) keeps a file's records on one
shard. Entries a PutRecords call could not write are retried alone, with exponential backoff
and full jitter, a bounded number of times; botocore's own retries (set explicitly) cover a
call that fails whole (throttling, connection errors).

After each call, what Kinesis acknowledged is committed to the state file (`ship_state`): the
offset, line number, occurrence counts and source memory at the end of the last acknowledged
record of each file, and the fingerprint of what was shipped (the SHA-1 and size of the first
line and of the line ending at the offset). A crash restarts there with the same counts and
memory: no line is lost, and lines shipped again get the same ids (duplicates, which the store
ignores).

Following (`tail -F`): at the end of a growing file, a line without its "\\n" waits for the
rest of it. Lines whose entries are all complete are shipped at once; an entry still open
waits for the line that completes it, or for `idle_flush_seconds` of quiet, after which it is
finished and shipped (an idle flush, counted apart: if the entry goes on later, the rest is
read as new entries). `--once` reads a plain file to its very end and finishes its source only
when the file has not changed for `idle_flush_seconds` (an idle flush, if an entry was open);
otherwise it reads it as a look does (a cron job on a live log: a line, a request or a
backtrace still being written waits for the next run), and never past the size it judged the
file by. A compressed file is read to its very end. When the path names another file
(rotation), the old file is read to its end and finished, then the new one is shipped from
byte 0 with a fresh counter.

A device and inode say which file a path named, not what it holds (ext4 gives a new file the
inode of one just deleted; copytruncate keeps the inode and drops the content). So shipping
resumes in a file only where it holds what was shipped: its first line and the line ending at
the offset are the ones fingerprinted (`_holds`). That is checked for the file the path names
when shipping starts, and at every look while following. When the path's file does not hold
them (rotated, truncated, replaced), the old content is looked for beside it: a file of the
same folder, renamed (`access.log.1`) or compressed (`access.log.1.gz`), that holds them, not
binary (`_find_previous`); it is finished from the offset first, then any file rotated from the
path after it (`_rotated_between`: changed between the two, not a copy of either), each from
byte 0 with a fresh counter and a warning, then the path's file from byte 0. When none does,
a warning says from which byte of the old file nothing was shipped. The path's file with the
identity saved but not the content is a truncation, unless the system says it was made after
the state was saved (`provenance.aws.file_birth`): then a new file took the old inode, a rotation.
A state row saved by an older prov has no fingerprint: its file is trusted by identity as
before (with a note), but only where the offset falls on a line end; a copy of it (compressed
or not) only where exactly the lines shipped end at the offset.

The state is kept per stream name: a stream given by ARN is the stream of that name
(`ship_state.stream_name`), so naming it either way does not ship a file twice.

Regular files only (a FIFO or a device has no offsets to resume at); one that looks binary is
refused unless `force`: `provenance.ingest.inputs` says what a name is and what is not text, for
`prov ingest` and here alike. A compressed file (`provenance.ingest.compression`) is read once, to
its end, and never followed; its offsets are in what it decompresses to. Compressed data found
damaged ends that file where the damage is (`ShipReport.damaged`). A path that is not UTF-8 is
kept in the state as its bytes and shown with each undecodable byte as `\\xNN` (the envelope's
`file`, as `prov ingest` names it; `premis.escaping.visible_surrogates`).

boto3 is imported here for the Kinesis client (by the CLI's `ship` command only); the other
modules of `provenance` that reach AWS (`redrive`, `api_client`, `pseudonym_secret`) import
it themselves. Imports the envelope, identity, sources, the state file, the errors, how inputs
are read (`provenance.ingest.compression`, `provenance.ingest.inputs`, `provenance.records.lines`),
when a file was made (`provenance.aws.file_birth`), `premis.escaping` (visible names) and
`eventstore.aws_region` (the client's region).
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import re
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import Any, BinaryIO, Protocol, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from eventstore.aws_region import NoRegionError, arn_region, resolve_region
from eventstore.url import check_client_endpoint
from premis.escaping import visible_surrogates
from provenance.aws.file_birth import birth_time
from provenance.aws.ship_state import (
    Advance,
    Change,
    FileKey,
    Fingerprint,
    Reset,
    SavedFile,
    ShipState,
    stream_name,
)
from provenance.domain.errors import ProvenanceError
from provenance.domain.identity import OccurrenceCounter
from provenance.ingest.compression import MAGIC_BYTES, READ_ERRORS, detect, open_decompressed
from provenance.ingest.inputs import (
    DIRECTORY,
    FILE,
    STREAM,
    BinaryInputError,
    DamagedInputError,
    InputError,
    input_kind,
    read_head,
    refuse_binary,
    text_after,
)
from provenance.records.envelope import (
    MAX_RECORD_BYTES,
    Envelope,
    encode,
    encoded_size,
    sendable_memory,
    within_record_limits,
)
from provenance.records.lines import MAX_LINE_BYTES, CutLine, Line, OverlongLine, read_line
from provenance.sources import create_source
from provenance.sources.base import Entry, Source, SourceContext

DEFAULT_RECORD_BYTES = 256 * 1024
"""Aim for this many bytes of lines per record (some 30-60 KB once compressed)."""
MAX_CALL_RECORDS = 500
MAX_CALL_BYTES = 5_000_000
"""Kinesis takes 5 MiB per PutRecords call, partition keys included; this leaves room."""
MAX_PARTITION_KEY = 256
PAYLOAD_UNIT = 25 * 1024
DEFAULT_MAX_ATTEMPTS = 8
# Per-entry error codes that retrying cannot fix: fail at once rather than after the backoff.
_FATAL_CODES_PREFIX = "KMS"
_RETRYABLE_KMS = "KMSThrottlingException"

Warn = Callable[[str], None]


class ShipError(ProvenanceError):
    """Shipping cannot go on (one-line reason); what was acknowledged is saved."""


class KinesisClient(Protocol):
    """The part of a boto3 Kinesis client the shipper uses (tests wrap it to inject faults)."""

    def put_records(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ShipOptions:
    """What to ship where, and how big records and calls may get."""

    stream: str
    source: str = "auto"
    service: str | None = None
    host: str = ""
    tz: tzinfo = UTC
    compress: bool = True
    record_bytes: int = DEFAULT_RECORD_BYTES
    max_record_bytes: int = MAX_RECORD_BYTES
    max_call_records: int = MAX_CALL_RECORDS
    max_call_bytes: int = MAX_CALL_BYTES
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base: float = 0.1
    backoff_cap: float = 5.0
    poll_seconds: float = 1.0
    idle_flush_seconds: float = 30.0
    force: bool = False
    """Ship files that look binary (NUL bytes in their first 8 KiB) all the same."""

    @property
    def stretch_limit(self) -> int:
        """The most a stretch of lines may add to a record (`encoded_size`) before it is cut
        anyway: 7/8 of a record, which leaves the rest (125 KB) for the source's memory
        (`MAX_MEMORY_BYTES`) and the envelope's own fields (host, service, file name)."""
        return self.max_record_bytes * 7 // 8


@dataclass(slots=True)
class FileReport:
    """One followed path: what was acknowledged, and where shipping would resume."""

    path: str
    file_id: str = ""
    offset: int = 0
    next_line: int = 1
    lines: int = 0
    records: int = 0
    bytes: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "file_id": self.file_id,
            "offset": self.offset,
            "next_line": self.next_line,
            "lines": self.lines,
            "records": self.records,
            "bytes": self.bytes,
        }


@dataclass(slots=True)
class ShipReport:
    """What one `prov ship` run did. Counts are of acknowledged records only."""

    stream: str
    files: list[FileReport] = field(default_factory=list)
    lines: int = 0
    records: int = 0
    bytes: int = 0
    payload_units: int = 0
    put_calls: int = 0
    retried_entries: int = 0
    forced_cuts: int = 0
    # Entries finished after --idle-flush seconds of quiet (split only if they go on later).
    idle_flushes: int = 0
    rotations: int = 0
    truncations: int = 0
    stopped: bool = False
    # Compressed files that were damaged part-way (one line each; what came before is shipped).
    damaged: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "files": [report.as_json() for report in self.files],
            "lines": self.lines,
            "records": self.records,
            "bytes": self.bytes,
            "payload_units": self.payload_units,
            "put_calls": self.put_calls,
            "retried_entries": self.retried_entries,
            "forced_cuts": self.forced_cuts,
            "idle_flushes": self.idle_flushes,
            "rotations": self.rotations,
            "truncations": self.truncations,
            "stopped": self.stopped,
            "damaged": self.damaged,
        }


def partition_key(host: str, path: str) -> str:
    """host:path, shortened with a digest when longer than Kinesis allows (256 characters)."""
    key = f"{host}:{path}"
    if len(key) <= MAX_PARTITION_KEY:
        return key
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{key[: MAX_PARTITION_KEY - len(digest) - 1]}#{digest}"


def kinesis_client(
    *,
    stream: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> KinesisClient:
    """A boto3 Kinesis client whose own retries (whole-call throttling and connection errors)
    are set explicitly rather than left to the environment's defaults. Its region: the one
    `stream` names when it is an ARN (where the stream is, whatever --region says, as for
    `prov redrive`), else `region` (--region), else AWS_REGION, else botocore's
    (`eventstore.aws_region`)."""
    config = Config(
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="prov-ship",
    )
    try:
        client = boto3.session.Session().client(
            "kinesis",
            region_name=resolve_region((arn_region(stream) if stream else None) or region),
            endpoint_url=endpoint_url,
            config=config,
        )
        check_client_endpoint(client.meta.endpoint_url)
    except NoRegionError as exc:
        raise ShipError(str(exc)) from None
    except (BotoCoreError, ValueError) as exc:  # ValueError: a malformed endpoint URL
        raise ShipError(f"cannot make a Kinesis client: {_one_line(exc)}") from None
    return cast("KinesisClient", client)


# --- reading a file into chunks of whole entries ---------------------------------------------


@dataclass(slots=True)
class _Chunk:
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


class _FileReader:
    """One open file: reads complete lines from `offset`, runs the source, cuts chunks.

    It knows the fingerprint of what it has read (`fingerprint`): `head` is the SHA-1 of the
    file's first line, the tail is the last line read (or, resumed, the one saved)."""

    def __init__(
        self,
        opened: _Opened,
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
        self.offset = offset
        self.next_line = next_line
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
            self._tail_sha1 = _sha1(self._tail_line)
        return Fingerprint(self.head, self._tail_sha1, self._tail_size, self.head_bytes)

    def still_holds(self) -> bool:
        """Whether the file still holds the last line read where it was read. Copytruncate
        keeps the file and drops its content, and what is written next may outgrow the offset
        before the next look: the size alone cannot tell. (An over-long last line is not read
        again at every look: the size is all that is checked then.)"""
        fingerprint = self.fingerprint
        if fingerprint is None or fingerprint.tail_bytes > _TAIL_CHECK_BYTES:
            return True
        return _holds(self.handle, self.offset, fingerprint, head=False)

    def continue_in(self, opened: _Opened) -> None:
        """Read on from `opened`, which holds what this file held (the copy copytruncate made
        before emptying it), at the same offsets."""
        self.opened.close()
        self.opened = opened
        self.handle = opened.text
        self.compressed = opened.compression is not None

    def read(
        self, *, final: bool, more: bool = True, until: int | None = None, idle: bool = False
    ) -> Iterator[_Chunk]:
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

    def _read_line(self, line: Line | CutLine, size: int) -> list[_Chunk]:
        """Take one line as `provenance.records.lines` read it (as `prov ingest` reads it), which
        took `size` bytes of the file: the chunks cut before it, or with it."""
        chunks: list[_Chunk] = []
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
            self.head, self.head_bytes = _sha1(line), size
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

    def _cut_latest(self) -> _Chunk | None:
        """Cut at the last place a record may begin, if there is one."""
        for cut in reversed(self._cuts):
            if self._valid(cut):
                return self._cut_at(cut)
        return None

    def _cut_at(self, cut: _Cut) -> _Chunk:
        lines = cut.line_no - self._first_line
        heads = cut.heads - self._heads_before
        memory = self._sendable(cut.memory)
        chunk = _Chunk(
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

    def _forced_cut(self, *, idle: bool = False) -> _Chunk:
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

    def _cut_afresh(self) -> _Chunk:
        """Cut all that was read, every entry completed, and go on with a fresh source that
        remembers what this one did: what the handler reads the next record with."""
        chunk = self._cut_all()
        chunk.afresh = True
        self.source = self._fresh(chunk.end_memory)
        return chunk

    def _cut_all(self) -> _Chunk:
        memory = self._sendable(self.source.memory())
        chunk = _Chunk(
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


def _weight(line: Line | CutLine) -> int:
    """What a line adds to a record (`encoded_size`; a cut line goes as base64, once)."""
    if isinstance(line, CutLine):
        return 4 * ((len(line.data) + 2) // 3) + 16
    return encoded_size(line)


def _as_bytes(line: str) -> bytes:
    """A line a source read, as the bytes it was read from."""
    return line.encode("utf-8", "surrogateescape")


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


# --- records ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Record:
    """One Kinesis record, and the state that is saved once it is acknowledged."""

    key: FileKey
    file_id: str
    data: bytes
    partition_key: str
    end: int
    next_line: int
    lines: int
    # Absolute head counts after this record, for the heads it holds.
    counts: dict[bytes, int]
    # What the file held before `end` (None when its first line is not known).
    fingerprint: Fingerprint | None
    # What the source remembered at `end`.
    memory: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode("utf-8", "surrogateescape"))


_Item = _Record | Reset


class _Followed:
    """One path given on the command line: its open file, and chunks not yet in a record."""

    def __init__(self, key: FileKey, report: FileReport, reader: _FileReader) -> None:
        self.key = key
        self.report = report
        self.reader = reader
        # Files the path named before, to ship first, oldest first: the one it named when
        # shipping last stopped, found again after a rotation, and any rotated after it.
        self.previous: list[_FileReader] = []
        self.chunks: list[_Chunk] = []
        self.chunk_bytes = 0
        # A compressed file is read once, to its end, and never followed.
        self.done = False


class Shipper:
    """Ships files to a stream, committing acknowledged progress to `state`."""

    def __init__(
        self,
        client: KinesisClient,
        state: ShipState,
        options: ShipOptions,
        *,
        warn: Warn | None = None,
        progress: Callable[[ShipReport], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.state = state
        self.options = options
        self.report = ShipReport(stream=options.stream)
        self._warn = warn or (lambda message: None)
        self._progress = progress
        self._sleep = sleep
        self._jitter = jitter
        self._stop = False
        self._followed: list[_Followed] = []
        # Every path given to follow (a file rotated from one is never another's rotation).
        self._paths: set[str] = set()
        self._reports: dict[FileKey, FileReport] = {}
        self._queue: list[_Item] = []
        self._queued_records = 0
        self._queued_bytes = 0
        stream_arg = "StreamARN" if options.stream.startswith("arn:") else "StreamName"
        self._stream_arg = {stream_arg: options.stream}

    def request_stop(self) -> None:
        """Stop after the current PutRecords call (safe to call from a signal handler)."""
        self._stop = True

    @property
    def stopping(self) -> bool:
        return self._stop

    def run(self, paths: Sequence[str], *, once: bool = False) -> ShipReport:
        """Ship `paths`: to their ends and return (`once`), or follow them until stopped."""
        try:
            self.follow(paths)
            while True:
                self.poll(final=once)
                if once or self._stop:
                    break
                self._pause(self.options.poll_seconds)
        finally:
            self.close()
        return self.report

    def follow(self, paths: Sequence[str]) -> None:
        """Open `paths` (once each) where shipping them stopped last time, or at byte 0.
        ShipError if one cannot be read."""
        wanted = dict.fromkeys(map(os.path.abspath, paths))
        self._paths.update(wanted)
        for path in wanted:
            if all(item.key.path != path for item in self._followed):
                self._followed.append(self._follow(path))

    def poll(self, *, final: bool = False) -> None:
        """One look at every followed file: ship what is new and complete (`final`: all of it,
        each file read to its end and finished), then send every queued record."""
        for item in self._followed:
            if self._stop:
                break
            self._poll(item, final=final)
        if not self._stop:
            self._send(whole_queue=True)
        self.report.stopped = self._stop

    def close(self) -> None:
        """Close the followed files (records not yet sent are dropped: they were not saved)."""
        for item in self._followed:
            item.reader.close()
            for previous in item.previous:
                previous.close()
        self._followed = []

    # --- files ---------------------------------------------------------------------------

    def _follow(self, path: str) -> _Followed:
        """Open `path` where shipping it stopped last time, if its file still holds what was
        shipped; else finish the old content where it is now, and ship the file from byte 0."""
        key = FileKey(stream_name(self.options.stream), self.options.host, path)
        opened = _open(path, force=self.options.force)
        report = FileReport(_shown(path), opened.file_id)
        self.report.files.append(report)
        self._reports[key] = report
        saved = self.state.load(key)
        if saved is None:
            self._check_same_host(key, opened)
            return _Followed(key, report, self._reader(opened, opened.file_id, path))
        report.offset, report.next_line = saved.offset, saved.next_line
        if saved.offset and saved.fingerprint is None:
            self._warn(
                f"{_shown(path)}: the ship state (saved by an older prov) has no fingerprint "
                "of what was shipped: its file is known again by identity and line ends alone"
            )
        same_file = opened.file_id == saved.file_id
        if _holds_saved(opened, saved, identified=same_file):
            return _Followed(key, report, self._resumed(opened, saved, path))
        followed = _Followed(key, report, self._reader(opened, opened.file_id, path))
        if same_file and not _born_after(opened, saved):
            self.report.truncations += 1
        else:
            # Another file, or a new one that was given the inode of the one shipped.
            self.report.rotations += 1
        previous = _find_previous(path, saved)
        if previous is not None:
            old_opened, old_path = previous
            followed.previous.append(self._resumed(old_opened, saved, path))
            self._warn(
                f"{_shown(path)} no longer holds what was shipped of it (rotated, truncated or "
                f"replaced while not shipping): finishing the old content, now in "
                f"{_shown(old_path)}, from byte {saved.offset:,} first"
            )
            followed.previous += self._rotated_since(path, old_opened, opened)
            return followed
        if saved.offset == 0:
            lost = f"names another file than when shipping stopped ({saved.file_id}), and "
            lost += "that one is no longer beside it: none of its lines were shipped"
        else:
            lost = (
                f"no longer holds the lines shipped before byte {saved.offset:,} (rotated, "
                "truncated or replaced while not shipping), and no file beside it does: what "
                "followed them in the old file was not shipped"
            )
        self._warn(f"{_shown(path)} {lost}; shipping {_shown(path)} from its start")
        self._enqueue(Reset(key, opened.file_id))
        return followed

    def _check_same_host(self, key: FileKey, opened: _Opened) -> None:
        """Refuse to ship a file again under another host than before (a changed --host, or
        the machine's name that was once the default): its lines would go again, with other
        event ids, and be stored twice."""
        shipped_as = [host for host in self.state.hosts(key.stream, key.path) if host != key.host]
        if shipped_as:
            opened.close()
            raise ShipError(
                f"{_shown(key.path)} was shipped to {key.stream} as host {shipped_as[0]!r}, not "
                f"{key.host!r}: its lines would be sent again with other event ids; give "
                f"--host {shipped_as[0]!r} (or PROV_HOST) to go on where it stopped, or another "
                "--state to ship it all again under the new host"
            )

    def _resumed(self, opened: _Opened, saved: SavedFile, path: str) -> _FileReader:
        """A reader of `opened`, which holds what `path` held when shipping stopped (the file
        it names, or the old content found beside it), where shipping stopped."""
        fingerprint = saved.fingerprint
        head: tuple[bytes, int | None] | None
        if fingerprint is not None:
            head = (fingerprint.head, fingerprint.head_bytes)
            tail: tuple[bytes, int] | None = (fingerprint.tail, fingerprint.tail_bytes)
        else:
            # Saved by an older prov: the first line is read now, so that records from here
            # on carry a fingerprint; the tail is the next line read.
            head, tail = _first_line(opened.text), None
        return self._reader(
            opened,
            opened.file_id,
            path,
            offset=saved.offset,
            next_line=saved.next_line,
            counts=saved.counts,
            head=head,
            tail=tail,
            memory=saved.memory,
        )

    def _rotated_since(self, path: str, older: _Opened, newer: _Opened) -> list[_FileReader]:
        """Readers from byte 0 of the files rotated away from `path` after `older` and before
        `newer` (rotated twice or more while not looked at), oldest first, each named in a
        warning."""
        readers = []
        followed = {item.key.path for item in self._followed} | self._paths
        for opened, name in _rotated_between(path, older, newer, followed):
            self._warn(
                f"{_shown(name)} was rotated from {_shown(path)} after the old content and "
                "before the file it names now: shipping it too, from its start"
            )
            readers.append(self._reader(opened, opened.file_id, path))
        return readers

    def _reader(
        self,
        opened: _Opened,
        file_id: str,
        path: str,
        *,
        offset: int = 0,
        next_line: int = 1,
        counts: dict[bytes, int] | None = None,
        head: tuple[bytes, int | None] | None = None,
        tail: tuple[bytes, int] | None = None,
        memory: tuple[str, ...] = (),
    ) -> _FileReader:
        options = self.options
        context = SourceContext(
            tz=options.tz, origin=options.host, service=options.service, file=_shown(path)
        )
        return _FileReader(
            opened,
            file_id,
            context,
            options,
            offset=offset,
            next_line=next_line,
            counts=counts,
            head=head,
            tail=tail,
            memory=memory,
        )

    def _poll(self, item: _Followed, *, final: bool) -> None:
        """Ship what is new in one path; notice rotation and truncation. A compressed file is
        read to its end at once, and then left alone."""
        if item.done:
            return
        while item.previous:
            previous = item.previous.pop(0)
            self._finish_file(item, previous)
            after = item.previous[0] if item.previous else item.reader
            self._enqueue(Reset(item.key, after.file_id))
        if not final and not item.reader.compressed:
            # Before reading: a file emptied and written on since must not be read on from
            # the old offset.
            self._check_path(item)
        reader = item.reader
        if reader.compressed:
            chunks = reader.read(final=True)
        elif final:
            examined, quiet = self._quiet(reader)
            chunks = reader.read(final=quiet, until=examined, idle=True)
        else:
            chunks = reader.read(final=False)
        self._take(item, chunks)
        self._note_damage(item.key.path, reader)
        if reader.compressed or reader.damaged is not None:
            item.done = not self._stop
        self._pack(item)

    def _quiet(self, reader: _FileReader) -> tuple[int | None, bool]:
        """The size of a plain file as looked at now (--once), and whether it may be read to
        that end and finished: only when nothing has changed it for --idle-flush seconds,
        whatever its last byte (a line end says nothing of whether the entry it ends goes on:
        a Rails request in flight, a backtrace being written). Otherwise what follows the
        last place a record may begin is left for the next run, as following leaves it for
        the next look. Lines that end past the size looked at were written since: they too
        are left, whole, for the next run (None: the size is not known; read what is there)."""
        try:
            status = os.fstat(reader.opened.raw.fileno())
        except OSError:
            return None, True  # read as it is: the read says what is wrong
        return status.st_size, time.time() - status.st_mtime >= self.options.idle_flush_seconds

    def _note_damage(self, path: str, reader: _FileReader) -> None:
        shown = _shown(path)
        if reader.damaged is not None and not any(shown in d for d in self.report.damaged):
            message = f"{shown}: {reader.damaged}: the lines before it are shipped"
            self.report.damaged.append(message)
            self._warn(message)

    def _check_path(self, item: _Followed) -> None:
        """Move on to the file the path names now (rotation), or ship the file again from its
        start when it no longer holds what was read (truncation)."""
        reader = item.reader
        path = item.key.path
        try:
            status = os.stat(path)
        except OSError:
            return  # moved away and not replaced yet: keep reading the open file
        rotated = _identity(status) != reader.file_id
        if not rotated and status.st_size >= reader.offset and reader.still_holds():
            return
        try:
            opened = _open(path, force=True)
        except ShipError:
            return  # gone again: look next time
        if rotated:
            # The old file is still open: read it to its end, then any rotated after it.
            self.report.rotations += 1
            since = self._rotated_since(path, reader.opened, opened)
            self._finish_file(item, reader)
            for between in since:
                self._enqueue(Reset(item.key, between.file_id))
                self._finish_file(item, between)
        else:
            self.report.truncations += 1
            saved = SavedFile(
                reader.file_id, reader.offset, reader.next_line, {}, reader.fingerprint
            )
            copy = _find_previous(path, saved)
            if copy is not None:
                # copytruncate: what was written after the last look is in the copy.
                copy_opened, copy_path = copy
                self._warn(
                    f"{_shown(path)} was truncated: finishing what it held from "
                    f"{_shown(copy_path)} first, then shipping it again from the start"
                )
                reader.continue_in(copy_opened)
                self._finish_file(item, reader)
            else:
                self._warn(f"{_shown(path)} was truncated: shipping it again from the start")
                # What the file holds now is not what followed the lines read.
                self._finish_file(item, reader, more=False)
        file_id = opened.file_id
        self._enqueue(Reset(item.key, file_id))
        item.reader = self._reader(opened, file_id, path)
        self._take(item, item.reader.read(final=False))

    def _finish_file(self, item: _Followed, reader: _FileReader, *, more: bool = True) -> None:
        """Read a file that is being left to its end (`more`), finish its source, ship the
        rest."""
        self._take(item, reader.read(final=True, more=more), reader)
        self._note_damage(item.key.path, reader)
        self._pack(item, reader)
        reader.close()

    def _take(
        self, item: _Followed, chunks: Iterator[_Chunk], reader: _FileReader | None = None
    ) -> None:
        reader = reader or item.reader
        limit = self.options.record_bytes
        forced, idle = len(reader.forced_at), reader.idle_flushes
        for chunk in chunks:
            if item.chunks and item.chunk_bytes + chunk.size > limit:
                self._pack(item, reader)
            item.chunks.append(chunk)
            item.chunk_bytes += chunk.size
            if item.chunk_bytes >= limit or chunk.afresh:
                self._pack(item, reader)
            if self._stop:
                break
        for line_no in reader.forced_at[forced:]:
            self._warn(
                f"{_shown(item.key.path)}: no place to begin a record within "
                f"{self.options.stretch_limit:,} bytes before line {line_no:,}: one begins "
                "there anyway (a forced cut), and the entries still open there are split "
                "between records"
            )
        self.report.forced_cuts += len(reader.forced_at) - forced
        self.report.idle_flushes += reader.idle_flushes - idle

    def _pack(self, item: _Followed, reader: _FileReader | None = None) -> None:
        """Turn the chunks waiting in `item` into records and queue them."""
        if not item.chunks:
            return
        chunks, item.chunks, item.chunk_bytes = item.chunks, [], 0
        for record in self._records(item.key, reader or item.reader, chunks):
            self._enqueue(record)
            self._send(whole_queue=False)

    # --- records -------------------------------------------------------------------------

    def _records(self, key: FileKey, reader: _FileReader, chunks: list[_Chunk]) -> list[_Record]:
        """One record of `chunks`, or more, split between chunks, when it would pass the
        record limit (or what the ingest handler reads of a record:
        `envelope.within_record_limits`). A chunk alone always fits (its lines add at most
        `stretch_limit`, or it is one line within the cap), unless the envelope's own fields
        (host, service, file name) take the rest: ShipError."""
        options = self.options
        shown = _shown(key.path)
        pkey = partition_key(key.host, shown)
        read = [line for chunk in chunks for line in chunk.lines]
        # A line the file's damage cut short is its last: it goes on its own (`cut`).
        last_read = read[-1]
        cut = last_read if isinstance(last_read, CutLine) else None
        lines = cast(list[Line], read[:-1] if cut is not None else read)
        heads = [head for chunk in chunks for head in chunk.heads]
        occurrences: dict[bytes, int] = {}
        counts: dict[bytes, int] = {}
        for _, digest, occurrence in heads:
            if digest not in counts and occurrence:
                occurrences[digest] = occurrence
            counts[digest] = occurrence + 1
        first, last = chunks[0], chunks[-1]
        envelope = Envelope(
            source=options.source,
            service=options.service,
            host=key.host,
            file=shown,
            file_id=reader.file_id,
            offset=first.offset,
            end=last.end,
            first_line=first.first_line,
            lines=lines,
            occurrences=occurrences,
            memory=[_as_bytes(line) for line in first.memory],
            cut=None if cut is None else cut.data,
        )
        data = encode(envelope, compress=options.compress)
        fingerprint = (
            None
            if reader.head is None
            else Fingerprint(reader.head, _sha1(last.lines[-1]), last.sizes[-1], reader.head_bytes)
        )
        record = _Record(
            key,
            reader.file_id,
            data,
            pkey,
            last.end,
            first.first_line + len(read),
            len(read),
            counts,
            fingerprint,
            last.end_memory,
        )
        if record.size <= options.max_record_bytes and within_record_limits(len(read), data):
            return [record]
        if len(chunks) > 1:
            half = len(chunks) // 2
            return self._records(key, reader, chunks[:half]) + self._records(
                key, reader, chunks[half:]
            )
        raise ShipError(
            f"cannot ship {shown} from line {first.first_line:,}: a record of its "
            f"{len(read):,} line(s) takes {record.size:,} bytes, more than the "
            f"{options.max_record_bytes:,} a Kinesis record holds (are --host, --service or "
            "the file name very long?)"
        )

    # --- sending -------------------------------------------------------------------------

    def _enqueue(self, item: _Item) -> None:
        self._queue.append(item)
        if isinstance(item, _Record):
            self._queued_records += 1
            self._queued_bytes += item.size

    def _send(self, *, whole_queue: bool) -> None:
        """Send full calls from the queue (all of it if `whole_queue`), committing each."""
        options = self.options
        while self._queue and not self._stop:
            if not whole_queue and (
                self._queued_records < options.max_call_records
                and self._queued_bytes < options.max_call_bytes
            ):
                return
            call: list[_Item] = []
            records: list[_Record] = []
            size = 0
            for item in self._queue:
                if isinstance(item, _Record):
                    if len(records) == options.max_call_records or (
                        records and size + item.size > options.max_call_bytes
                    ):
                        break
                    records.append(item)
                    size += item.size
                call.append(item)
            del self._queue[: len(call)]
            self._queued_records -= len(records)
            self._queued_bytes -= size
            acknowledged, failure = self._put(records) if records else ([], None)
            self._commit(call, acknowledged)
            if failure is not None:
                raise ShipError(
                    f"{failure}; shipping state saved up to the last acknowledged record"
                )
            if self._progress is not None and records:
                self._progress(self.report)

    def _put(self, records: list[_Record]) -> tuple[list[bool], str | None]:
        """PutRecords with retries of the failed entries: which records were acknowledged,
        and why shipping must stop (None if all were)."""
        acknowledged = [False] * len(records)
        pending = list(range(len(records)))
        attempt = 0
        while True:
            entries = [
                {"Data": records[i].data, "PartitionKey": records[i].partition_key} for i in pending
            ]
            try:
                response = self.client.put_records(Records=entries, **self._stream_arg)
            except Exception as exc:
                message = self._call_error(exc)
                if message is None:
                    raise
                return acknowledged, message
            self.report.put_calls += 1
            failed: list[int] = []
            codes: dict[str, str] = {}
            for index, result in zip(pending, response["Records"], strict=True):
                code = result.get("ErrorCode")
                if code:
                    failed.append(index)
                    codes.setdefault(code, str(result.get("ErrorMessage") or ""))
                else:
                    acknowledged[index] = True
            if not failed:
                return acknowledged, None
            attempt += 1
            fatal = any(
                code.startswith(_FATAL_CODES_PREFIX) and code != _RETRYABLE_KMS for code in codes
            )
            if fatal or attempt >= self.options.max_attempts:
                code, text = next(iter(codes.items()))
                after = "" if fatal else f" after {attempt} attempts"
                return acknowledged, _one_line(
                    f"PutRecords to {self.options.stream}: {len(failed)} of {len(records)} "
                    f"records not written{after} ({code}: {text})"
                )
            self.report.retried_entries += len(failed)
            ceiling = min(self.options.backoff_cap, self.options.backoff_base * 2 ** (attempt - 1))
            self._sleep(ceiling * self._jitter())
            pending = failed

    def _call_error(self, exc: Exception) -> str | None:
        """The one-line reason of a failed call (after botocore's retries); None if `exc` is
        not an AWS error (a bug or an injected crash: let it through)."""
        stream = self.options.stream
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "error")
            text = error.get("Message", "")
            if code == "ResourceNotFoundException":
                return _one_line(f"stream {stream} not found ({text})")
            return _one_line(f"PutRecords to {stream} failed: {code}: {text}")
        if isinstance(exc, BotoCoreError):
            return _one_line(f"cannot ship to {stream}: {exc}")
        return None

    def _commit(self, call: list[_Item], acknowledged: list[bool]) -> None:
        """Save, per file, the end of the last record acknowledged with all before it."""
        changes: list[Change] = []
        open_advance: dict[FileKey, int] = {}
        stopped: set[FileKey] = set()
        ack = iter(acknowledged)
        for item in call:
            key = item.key
            report = self._reports[key]
            if isinstance(item, Reset):
                if key not in stopped:
                    changes.append(item)
                    open_advance.pop(key, None)
                    report.file_id, report.offset, report.next_line = item.file_id, 0, 1
                continue
            if not next(ack) or key in stopped:
                stopped.add(key)
                continue
            self._count(item, report)
            at = open_advance.get(key)
            if at is None:
                open_advance[key] = len(changes)
                changes.append(
                    Advance(
                        key,
                        item.file_id,
                        item.end,
                        item.next_line,
                        dict(item.counts),
                        item.fingerprint,
                        item.memory,
                    )
                )
            else:
                merged = cast(Advance, changes[at])
                merged.counts.update(item.counts)
                changes[at] = replace(
                    merged,
                    offset=item.end,
                    next_line=item.next_line,
                    fingerprint=item.fingerprint,
                    memory=item.memory,
                )
        self.state.commit(changes)

    def _count(self, record: _Record, report: FileReport) -> None:
        for counts in (self.report, report):
            counts.lines += record.lines
            counts.records += 1
            counts.bytes += len(record.data)
        self.report.payload_units += math.ceil(record.size / PAYLOAD_UNIT)
        report.file_id, report.offset, report.next_line = (
            record.file_id,
            record.end,
            record.next_line,
        )

    def _pause(self, seconds: float) -> None:
        """Sleep between polls (really: `sleep` is for backoff), waking early to stop."""
        deadline = time.monotonic() + seconds
        while not self._stop:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))


# --- helpers -----------------------------------------------------------------------------------

# What reading a file's text may raise: the text layer's errors, and a seek in damaged data's.
_READ_FAILURES: tuple[type[Exception], ...] = (InputError, *READ_ERRORS)
# A last line within the cap (with its line end) is read again at every look at a followed
# file; an over-long one is not (reading it means hashing all of it).
_TAIL_CHECK_BYTES = MAX_LINE_BYTES + 8
_BLOCK = 1024 * 1024


@dataclass(slots=True)
class _Opened:
    """A regular file open for shipping: its text (decompressed if it is compressed, then
    seekable in what it decompresses to), identity (st_dev:st_ino) and size on disk."""

    raw: BinaryIO
    text: BinaryIO
    file_id: str
    size: int
    compression: str | None

    def close(self) -> None:
        if self.text is not self.raw:
            self.text.close()
        self.raw.close()


def check_path(path: str, *, force: bool = False) -> None:
    """ShipError if `path` cannot be shipped (see `_open`), before anything else is done."""
    _open(path, force=force).close()


def _open(path: str, *, force: bool) -> _Opened:
    """A regular file opened for shipping. ShipError says why a path cannot be followed: a
    directory, a stream (no offsets to resume at), a file that looks binary (unless `force`),
    by the rules of `provenance.ingest.inputs`."""
    shown = _shown(path)
    try:
        kind = input_kind(path)
    except InputError as exc:
        raise ShipError(_shown(str(exc))) from None
    if kind == DIRECTORY:
        raise ShipError(f"cannot ship {shown}: is a directory: give the files to follow")
    if kind == STREAM:
        raise ShipError(
            f"cannot ship {shown}: a pipe or device has no offsets to resume at: ship a "
            "regular file, or read the stream with prov ingest"
        )
    if kind != FILE:
        raise ShipError(f"cannot ship {shown}: {kind}, not a regular file")
    try:
        raw = open(path, "rb")  # noqa: SIM115 (kept open while followed)
    except OSError as exc:
        raise ShipError(f"cannot read {shown}: {exc.strerror or exc}") from None
    try:
        status = os.fstat(raw.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ShipError(f"cannot ship {shown}: not a regular file")
        compression = detect(raw.read(MAGIC_BYTES))
        raw.seek(0)
        text = raw if compression is None else open_decompressed(raw, compression)
        opened = _Opened(raw, text, _identity(status), status.st_size, compression)
        # Damage within the first block is shown when the file is read.
        head, _ = read_head(text, shown, compression)
        text.seek(0)
        try:
            refuse_binary(head, shown, force=force, verb="ship")
        except BinaryInputError as exc:
            opened.close()
            raise ShipError(str(exc)) from None
    except BaseException:
        raw.close()
        raise
    return opened


def _identity(status: os.stat_result) -> str:
    return f"{status.st_dev}:{status.st_ino}"


def _shown(path: str) -> str:
    """A path as events, records and messages show it: bytes that are not UTF-8 as `\\xNN`."""
    return visible_surrogates(path)


def _sha1(line: Line | CutLine) -> bytes:
    """The SHA-1 of a line as read (of the whole of an over-long one)."""
    if isinstance(line, OverlongLine):
        return line.sha1
    return hashlib.sha1(line.data if isinstance(line, CutLine) else line).digest()


def _holds_saved(opened: _Opened, saved: SavedFile, *, identified: bool) -> bool:
    """Whether `opened` holds what was shipped before `saved.offset`, so shipping may resume
    in it there. `identified`: it has the identity saved. With a fingerprint, the fingerprint
    decides (`_holds`). Nothing shipped yet: the identity. A state saved by an older prov, with
    no fingerprint: the file with the identity saved must have a line end just before the
    offset; another (a copy copytruncate made, compressed or not) or a compressed file a line
    end there after exactly the lines shipped."""
    if saved.offset == 0:
        return identified
    if saved.fingerprint is not None:
        return _holds(opened.text, saved.offset, saved.fingerprint)
    if identified and opened.compression is None:
        return _ends_a_line(opened.text, saved.offset)
    # A copy (compressed or not: copytruncate makes a plain one) or a compressed file: the
    # lines shipped end exactly at the offset.
    return _ends_a_line(opened.text, saved.offset, lines=saved.next_line - 1)


def _holds(text: BinaryIO, offset: int, fingerprint: Fingerprint, *, head: bool = True) -> bool:
    """Whether `text` has the fingerprinted first line (unless not `head`) and the
    fingerprinted last line ending exactly at `offset`, read as `provenance.records.lines` reads
    them (a compressed file is decompressed to get there). Each is read no further than the bytes
    it took: a line shipped without its line end (the end of a file, then) may have been
    written on since. When the last line is the first, it is checked once, as the last."""
    start = offset - fingerprint.tail_bytes
    if start < 0:
        return False
    try:
        if head and start > 0:
            text.seek(0)
            first = _line_within(text, 0, fingerprint.head_bytes)
            if first is None or _sha1(first[0]) != fingerprint.head:
                return False
            if fingerprint.head_bytes is not None and first[1] != fingerprint.head_bytes:
                return False
        text.seek(start)
        last = _line_within(text, start, fingerprint.tail_bytes)
    except READ_ERRORS:
        return False
    if last is None:
        return False
    line, size, _ = last
    if not start and head and _sha1(line) != fingerprint.head:
        return False
    return size == fingerprint.tail_bytes and _sha1(line) == fingerprint.tail


def _line_within(text: BinaryIO, at: int, size: int | None) -> tuple[Line, int, bool] | None:
    """The line of `text` that starts where it stands (byte `at`), read no further than
    `size` bytes (None: to its end, for a state of format 2, which kept no size)."""
    stream = text if size is None else cast(BinaryIO, _Window(text, size))
    return read_line(stream, at_start=not at)


def _ends_a_line(text: BinaryIO, offset: int, *, lines: int | None = None) -> bool:
    """Whether the byte before `offset` in `text` is a line end (and, when `lines` is given,
    the bytes before it hold exactly that many line ends)."""
    try:
        if lines is None:
            text.seek(offset - 1)
            return text.read(1) == b"\n"
        text.seek(0)
        seen, left, last = 0, offset, b""
        while left:
            block = text.read(min(left, _BLOCK))
            if not block:
                return False
            seen += block.count(b"\n")
            left -= len(block)
            last = block[-1:]
    except READ_ERRORS:
        return False
    return last == b"\n" and seen == lines


def _first_line(text: BinaryIO) -> tuple[bytes, int] | None:
    """The SHA-1 of the first line of `text`, and the bytes it takes; None if it has none."""
    try:
        text.seek(0)
        first = read_line(text, at_start=True)
    except READ_ERRORS:
        return None
    return None if first is None else (_sha1(first[0]), first[1])


def _born_after(opened: _Opened, saved: SavedFile) -> bool:
    """Whether the file was made after the state of the file shipped was saved: a new file
    that was given the inode of the deleted one. False when the system does not tell."""
    born = birth_time(opened.raw.fileno())
    return born is not None and saved.saved_at is not None and born > saved.saved_at.timestamp()


_ROTATED_SUFFIX = re.compile(
    # logrotate's numbered (`.1`) and dated (`-20260201`, `-2026020110`, `.2026-02-01`,
    # dateformat's `-%Y%m%d-%s`) shapes; Python's, Ruby's and savelog's are of the same kind
    # (`.2026-02-01_10-00`, `.0`). Then the compression logrotate adds, if any, or that alone.
    r"(?:[.\-_][0-9]{1,20}(?:[.\-_][0-9]{1,20}){0,5})?(?:\.(?:gz|bz2|xz))?",
    re.ASCII,
)


def rotated_name(base: str, name: str) -> bool:
    """Whether `name` is what a rotation makes of the file name `base` (`access.log.1`,
    `access.log.2.gz`, `access.log-20260201`, `access.log.gz`): not `base` itself, nor another
    log whose name merely starts with it (`access.log.debug`, `access.log-errors`)."""
    return (
        len(name) > len(base)
        and name.startswith(base)
        and _ROTATED_SUFFIX.fullmatch(name, len(base)) is not None
    )


def _rotated_between(
    path: str, older: _Opened, newer: _Opened, followed: Set[str] = frozenset()
) -> list[tuple[_Opened, str]]:
    """The files beside `path` with a name rotation gives it (`rotated_name`; none of
    `followed`, the paths this run follows: each is shipped as itself), changed last no
    earlier than `older` (the old content) and no later than `newer` (what the path names
    now): rotated away from the path in between. Oldest first; not `older`, `newer` or a copy
    of either (the same first line: a compressed copy, say), one file of each content, none
    that looks binary or is empty."""
    folder, base = os.path.split(path)
    try:
        low = os.fstat(older.raw.fileno()).st_mtime_ns
        high = os.fstat(newer.raw.fileno()).st_mtime_ns
        entries = list(os.scandir(folder or "."))
    except OSError:
        return []
    skip = {older.file_id, newer.file_id}
    changed: list[tuple[int, str]] = []
    for entry in entries:
        if not rotated_name(base, entry.name) or os.path.abspath(entry.path) in followed:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            status = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        # Changed in the same tick as either counts (the clock that stamps files is coarse).
        if _identity(status) not in skip and low <= status.st_mtime_ns <= high:
            changed.append((status.st_mtime_ns, entry.path))
    firsts = {_first_line(older.text), _first_line(newer.text)}
    found = []
    for _, name in sorted(changed):
        try:
            opened = _open(name, force=False)
        except ShipError:
            continue
        first = _first_line(opened.text)
        if first is None or first in firsts:
            opened.close()
            continue
        firsts.add(first)
        found.append((opened, name))
    return found


class _Window:
    """The next `size` bytes of a stream, for `read_line` (which only calls `readline`)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._left = size

    def readline(self, limit: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._stream.readline(self._left if limit < 0 else min(limit, self._left))
        self._left -= len(data)
        return data


def _find_previous(path: str, saved: SavedFile) -> tuple[_Opened, str] | None:
    """The file beside `path` that holds what was shipped of it (`_holds_saved`), opened: the
    file with the identity saved (renamed) first, then the others with a name rotation gives
    the path's (`rotated_name`: rotated copies, compressed or not), newest first. A file that
    looks binary is not one (an SQLite -wal file may have the inode a deleted log had). With
    nothing shipped, only a renamed file with such a name can tell it was the one."""
    folder, base = os.path.split(path)
    try:
        entries = list(os.scandir(folder or "."))
    except OSError:
        return None
    renamed: list[str] = []
    copies: list[tuple[float, str]] = []
    for entry in entries:
        if entry.name == base:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            status = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        rotated = rotated_name(base, entry.name)
        if _identity(status) == saved.file_id and (rotated or saved.offset):
            renamed.append(entry.path)
        elif rotated and saved.offset:
            copies.append((status.st_mtime, entry.path))
    candidates = [(name, True) for name in renamed]
    candidates += [(name, False) for _, name in sorted(copies, reverse=True)]
    for candidate, identified in candidates:
        try:
            opened = _open(candidate, force=False)
        except ShipError:
            continue
        if _holds_saved(opened, saved, identified=identified):
            return opened, candidate
        opened.close()
    return None


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
