"""`prov ship`: follow log files and put their lines into a Kinesis stream as record envelopes.

Each file is read as `prov ingest` reads it (`provenance.lines`: line ends, a byte-order mark,
the 1 MiB line cap; an over-long line travels as what `OverlongLine` keeps of it), and the
file's source runs here too, for one reason: to know where entries begin and end. Records hold
whole entries only, so the ingest handler, which reads each record with a fresh source and the
occurrence counts the record carries (`provenance.envelope`), gives every event the id
`prov ingest` of the whole file gives it.

Where a record may begin: before a line, when every line before it is in an entry the source
has completed. Either nothing was open after the line before, or this line is the only one
still open (most sources hold an entry until the next head line shows it complete; the line
must then be in none of the entries it completed, which `Entry.lines`, verbatim, tells). And a
fresh source must treat the line as the running one did: `auto` sends a line it recognises as
no format (a blank line, say) to the format of the line before, which a fresh source cannot
know. That check runs only where a record is about to be cut, not at every line. A stretch
with no such place that outgrows the record limit (a runaway backtrace, a request that never
completes) is cut anyway and counted as a forced cut: its entries then get ids of their own,
but no line is lost. A source's memory across entries (robots remember what each thread is
processing) is not in a record: a fresh source may describe such an entry with less detail.

Lines are aggregated into records of about `record_bytes` (256 KiB of log lines compress to
some 30-60 KB; PUT payload units are counted per 25 KB, entries per call are few), never more
than `MAX_RECORD_BYTES` with the partition key, nor more than the ingest handler reads of one
record (`MAX_RECORD_LINES` lines, `MAX_DECODED_BYTES` decompressed), and up to 500 records /
5 MB per PutRecords call. The partition key (host and path) keeps a file's records on one
shard. Entries a PutRecords call could not write are retried alone, with exponential backoff
and full jitter, a bounded number of times; botocore's own retries (set explicitly) cover a
call that fails whole (throttling, connection errors).

After each call, what Kinesis acknowledged is committed to the state file (`ship_state`): the
offset, line number and occurrence counts at the end of the last acknowledged record of each
file. A crash restarts there with the same counts: no line is lost, and lines shipped again get
the same ids (duplicates, which the store ignores).

Following (`tail -F`): at the end of a growing file, a line without its "\\n" waits for the
rest of it. Lines whose entries are all complete are shipped at once; an entry still open
waits for the line that completes it, or for `idle_flush_seconds` of quiet, after which it is
finished and shipped (a forced cut: if it goes on later, the rest is read as new entries). When
the path names another file (rotation), the old file is read to its end and finished, then the
new one is shipped from byte 0 with a fresh counter; when the file shrinks below the shipped
offset (truncation), it is shipped again from byte 0.

Regular files only (a FIFO or a device has no offsets to resume at); one that looks binary is
refused unless `force` (`provenance.inputs`). A compressed file (`provenance.compression`) is
read once, to its end, and never followed; its offsets are in what it decompresses to. When
the file a path named was rotated and compressed while no shipper ran, the compressed copy in
the same folder whose content has exactly the lines shipped before the saved offset is
finished from there first (`_find_compressed`). Compressed data found damaged ends that file
where the damage is (`ShipReport.damaged`).

The only module of `provenance` that imports boto3 (imported by the CLI's `ship` command only).
Imports the envelope, identity, sources, the state file, the errors, how inputs are read
(`provenance.compression`, `provenance.inputs`, `provenance.lines`) and `eventstore.aws_region`
(the client's region).
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import Any, BinaryIO, Protocol, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from eventstore.aws_region import NoRegionError, resolve_region
from provenance.compression import MAGIC_BYTES, READ_ERRORS, detect, open_decompressed
from provenance.envelope import MAX_RECORD_BYTES, Envelope, encode, within_record_limits
from provenance.errors import ProvenanceError
from provenance.identity import OccurrenceCounter
from provenance.inputs import LOOKS_BINARY, binary_head
from provenance.lines import Line, OverlongLine, read_line
from provenance.ship_state import Advance, Change, FileKey, Reset, SavedFile, ShipState
from provenance.sources import create_source
from provenance.sources.base import Entry, SourceContext

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
        """Bytes of lines with no entry end in them after which a record is cut anyway."""
        return max(self.record_bytes, self.max_record_bytes // 2)


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
    oversized_lines: int = 0
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
            "oversized_lines": self.oversized_lines,
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
    region: str | None = None,
    endpoint_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> KinesisClient:
    """A boto3 Kinesis client whose own retries (whole-call throttling and connection errors)
    are set explicitly rather than left to the environment's defaults. Its region: `region`
    (--region), else AWS_REGION, else botocore's (`eventstore.aws_region`)."""
    config = Config(
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="prov-ship",
    )
    try:
        client = boto3.session.Session().client(
            "kinesis",
            region_name=resolve_region(region),
            endpoint_url=endpoint_url,
            config=config,
        )
    except NoRegionError as exc:
        raise ShipError(str(exc)) from None
    except (BotoCoreError, ValueError) as exc:  # ValueError: a malformed endpoint URL
        raise ShipError(f"cannot make a Kinesis client: {_one_line(exc)}") from None
    return cast("KinesisClient", client)


# --- reading a file into chunks of whole entries ---------------------------------------------


@dataclass(slots=True)
class _Chunk:
    """Lines from one entry end to another (or to a forced cut), with the entry heads counted
    while they were read: (head line number, digest key, occurrence), in counting order."""

    offset: int
    end: int
    first_line: int
    lines: list[Line]
    heads: list[tuple[int, bytes, int]]
    # The bytes each line took in the file (line end, and a first line's byte-order mark).
    sizes: list[int]

    @property
    def size(self) -> int:
        return self.end - self.offset


@dataclass(slots=True)
class _Cut:
    """A place a record may begin: before line `line_no`, when every line before it is in a
    completed entry. It is taken only if a fresh source (what the ingest handler reads the
    record with) treats that line as the running source did (`expected`): `auto` sends a line
    it does not recognise to the format of the line before, which a fresh source cannot know.
    """

    line_no: int
    offset: int
    heads: int  # entry heads counted in the file before the cut
    text: str
    expected: tuple[tuple[Any, ...], ...]
    valid: bool | None = None


class _FileReader:
    """One open file: reads complete lines from `offset`, runs the source, cuts chunks."""

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
    ) -> None:
        self.opened = opened
        self.handle = opened.text
        self.compressed = opened.compression is not None
        # Why reading stopped before the end (damaged compressed data), once it did.
        self.damaged: str | None = None
        self.file_id = file_id
        self.offset = offset
        self.next_line = next_line
        self.counter = OccurrenceCounter(counts)
        self.context = source_context
        self.source_name = options.source
        self.source = create_source(options.source, source_context)
        self.record_bytes = options.record_bytes
        self.stretch_limit = options.stretch_limit
        self.idle_flush_seconds = options.idle_flush_seconds
        self._grown_at = time.monotonic()
        self.forced_cuts = 0
        # The open stretch: lines read since the last cut, and the entry heads counted since.
        self._lines: list[Line] = []
        self._sizes: list[int] = []
        self._start = offset
        self._first_line = next_line
        self._heads: list[tuple[int, bytes, int]] = []
        self._heads_before = 0  # heads counted in the file before the stretch
        self._cuts: list[_Cut] = []
        # Lines read that are in no completed entry yet (over the whole file, not the stretch).
        self._open = 0

    def close(self) -> None:
        self.opened.close()

    def read(self, *, final: bool) -> Iterator[_Chunk]:
        """The chunks of the lines from `offset` to the end of the file. Not `final`: a last
        line without its "\\n" is left for later, and so are the lines after the last place a
        record may begin. `final`: every line is read, the source finishes, all is cut.

        Compressed data found damaged ends the file there (`damaged` says why), as `final`."""
        handle = self.handle
        try:
            handle.seek(self.offset)
            while True:
                read = read_line(handle, at_start=self.offset == 0)
                if read is None:
                    break
                line, size, complete = read
                if not final and not complete:
                    break  # still being written
                chunk = self._read_line(line, size)
                if chunk is not None:
                    yield chunk
        except READ_ERRORS as exc:
            kind = self.opened.compression or "the file's"
            detail = " ".join(str(exc).split()) or type(exc).__name__
            self.damaged = (
                f"{kind} data is damaged or truncated after line {self.next_line - 1:,} ({detail})"
            )
            final = True
        if final:
            for entry in self.source.finish():
                self._count(entry)
            # Heads counted with no line left to carry them can only follow a forced cut;
            # the file is done, so their counts matter to nobody.
            if self._lines:
                yield self._cut_all()
        elif self._lines and self._open == 0:
            # Every line read is in a completed entry (single-line formats, always): ship
            # them all now rather than wait for the next line to show a place to cut.
            yield self._cut_all()
        elif self._lines and time.monotonic() - self._grown_at >= self.idle_flush_seconds:
            # The file has been quiet for a while with an entry still open (a multi-line
            # format holds each entry until the next one begins): finish it and ship it, so a
            # quiet log's last entry is not held back indefinitely. If the entry goes on
            # later, its rest is read as new entries: a forced cut, counted.
            for entry in self.source.finish():
                self._count(entry)
            self.source = create_source(self.source_name, self.context)
            self.forced_cuts += 1
            yield self._cut_all()
        else:
            chunk = self._cut_latest()
            if chunk is not None:
                yield chunk

    def _read_line(self, line: Line, size: int) -> _Chunk | None:
        """Take one line as `provenance.lines` read it (as `prov ingest` reads it), which took
        `size` bytes of the file."""
        self._grown_at = time.monotonic()
        line_no = self.next_line
        start = self.offset
        self.next_line += 1
        self.offset += size
        self._lines.append(line)
        self._sizes.append(size)
        clear = self._open == 0
        heads = self._heads_before + len(self._heads)
        self._open += 1
        if isinstance(line, OverlongLine):
            # ingest quarantines such a line on its own, without feeding it to the source.
            self._count(Entry.too_long(line_no, line))
        else:
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                text = line.decode("utf-8", "surrogateescape")  # as ingest reads it
            completed = self.source.feed(line_no, text)
            for entry in completed:
                self._count(entry)
            if line_no > self._first_line:
                if clear:
                    # Nothing was open before this line: what it completed holds it alone.
                    self._cuts.append(_Cut(line_no, start, heads, text, _outcome(completed)))
                elif self._open == 1 and not any(text in entry.lines for entry in completed):
                    # This line alone is open: what it completed is all before it.
                    heads = self._heads_before + len(self._heads)
                    self._cuts.append(_Cut(line_no, start, heads, text, ()))
        stretch = self.offset - self._start
        if stretch >= self.record_bytes and self._cuts and self._cuts[-1].line_no == line_no:
            cut = self._cuts[-1]
            if self._valid(cut):
                return self._cut_at(cut)
        if stretch > self.stretch_limit:
            chunk = self._cut_latest()
            if chunk is not None:
                return chunk
            self.forced_cuts += 1
            return self._cut_all()
        return None

    def _count(self, entry: Entry) -> None:
        digest = entry.digest
        occurrence = self.counter.next(digest)
        self._heads.append((entry.line_no, digest[:8], occurrence))
        self._open -= len(entry.lines)

    def _valid(self, cut: _Cut) -> bool:
        if cut.valid is None:
            fresh = create_source(self.source_name, self.context)
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
        chunk = _Chunk(
            self._start,
            cut.offset,
            self._first_line,
            self._lines[:lines],
            self._heads[:heads],
            self._sizes[:lines],
        )
        self._lines = self._lines[lines:]
        self._sizes = self._sizes[lines:]
        self._heads = self._heads[heads:]
        self._start = cut.offset
        self._first_line = cut.line_no
        self._heads_before = cut.heads
        self._cuts = [later for later in self._cuts if later.line_no > cut.line_no]
        return chunk

    def _cut_all(self) -> _Chunk:
        chunk = _Chunk(
            self._start, self.offset, self._first_line, self._lines, self._heads, self._sizes
        )
        self._heads_before += len(self._heads)
        self._lines, self._sizes, self._heads, self._cuts = [], [], [], []
        self._start = self.offset
        self._first_line = self.next_line
        return chunk


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
        # A file the path named when shipping last stopped, found again after a rotation.
        self.previous: _FileReader | None = None
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
        for path in dict.fromkeys(map(os.path.abspath, paths)):
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
            if item.previous is not None:
                item.previous.close()
        self._followed = []

    # --- files ---------------------------------------------------------------------------

    def _follow(self, path: str) -> _Followed:
        """Open `path` where shipping it stopped last time (or at byte 0)."""
        key = FileKey(self.options.stream, self.options.host, path)
        opened = _open(path, force=self.options.force)
        file_id = opened.file_id
        report = FileReport(path, file_id)
        self.report.files.append(report)
        saved = self.state.load(key)
        if saved is None:
            self._check_same_host(key, opened)
            return _Followed(key, report, self._reader(opened, file_id, path))
        report.offset, report.next_line = saved.offset, saved.next_line
        if saved.file_id == file_id:
            # A compressed file does not change: its offsets are in what it decompresses to.
            if opened.compression is not None or opened.size >= saved.offset:
                reader = self._reader(
                    opened,
                    file_id,
                    path,
                    offset=saved.offset,
                    next_line=saved.next_line,
                    counts=saved.counts,
                )
                return _Followed(key, report, reader)
            self.report.truncations += 1
            self._warn(
                f"{path} is shorter than the {saved.offset:,} bytes shipped before "
                "(truncated): shipping it again from the start"
            )
            self._enqueue(Reset(key, file_id))
            return _Followed(key, report, self._reader(opened, file_id, path))
        followed = _Followed(key, report, self._reader(opened, file_id, path))
        old = _find_file(os.path.dirname(path), saved.file_id)
        if old is not None:
            old_opened, old_path = old
            if old_opened.size >= saved.offset:
                followed.previous = self._resumed(old_opened, saved, path)
                self.report.rotations += 1
                self._warn(
                    f"{path} was rotated while not shipping: finishing the old file "
                    f"(now {old_path}) from byte {saved.offset:,} first"
                )
                return followed
            old_opened.close()
        sibling = _find_compressed(path, saved)
        if sibling is not None:
            sibling_opened, sibling_path = sibling
            followed.previous = self._resumed(sibling_opened, saved, path)
            self.report.rotations += 1
            self._warn(
                f"{path} was rotated and compressed while not shipping: finishing the old "
                f"file (now {sibling_path}) from byte {saved.offset:,} of its content first"
            )
            return followed
        self.report.rotations += 1
        self._warn(
            f"{path} names another file than when shipping stopped, and the old one "
            f"({saved.file_id}) is no longer in its directory as it was: its lines after "
            f"byte {saved.offset:,} were not shipped"
        )
        self._enqueue(Reset(key, file_id))
        return followed

    def _check_same_host(self, key: FileKey, opened: _Opened) -> None:
        """Refuse to ship a file again under another host than before (a changed --host, or
        the machine's name that was once the default): its lines would go again, with other
        event ids, and be stored twice."""
        shipped_as = [host for host in self.state.hosts(key.stream, key.path) if host != key.host]
        if shipped_as:
            opened.close()
            raise ShipError(
                f"{key.path} was shipped to {key.stream} as host {shipped_as[0]!r}, not "
                f"{key.host!r}: its lines would be sent again with other event ids; give "
                f"--host {shipped_as[0]!r} (or PROV_HOST) to go on where it stopped, or another "
                "--state to ship it all again under the new host"
            )

    def _resumed(self, opened: _Opened, saved: SavedFile, path: str) -> _FileReader:
        """A reader of the file `path` named when shipping stopped, where it stopped."""
        return self._reader(
            opened,
            saved.file_id,
            path,
            offset=saved.offset,
            next_line=saved.next_line,
            counts=saved.counts,
        )

    def _reader(
        self,
        opened: _Opened,
        file_id: str,
        path: str,
        *,
        offset: int = 0,
        next_line: int = 1,
        counts: dict[bytes, int] | None = None,
    ) -> _FileReader:
        options = self.options
        context = SourceContext(
            tz=options.tz, origin=options.host, service=options.service, file=path
        )
        return _FileReader(
            opened,
            file_id,
            context,
            options,
            offset=offset,
            next_line=next_line,
            counts=counts,
        )

    def _poll(self, item: _Followed, *, final: bool) -> None:
        """Ship what is new in one path; notice rotation and truncation. A compressed file is
        read to its end at once, and then left alone."""
        if item.done:
            return
        if item.previous is not None:
            previous, item.previous = item.previous, None
            self._finish_file(item, previous)
            self._enqueue(Reset(item.key, item.reader.file_id))
        reader = item.reader
        self._take(item, reader.read(final=final or reader.compressed))
        self._note_damage(item.key.path, reader)
        if reader.compressed or reader.damaged is not None:
            item.done = not self._stop
        elif not final and not self._stop:
            self._check_path(item)
        self._pack(item)

    def _note_damage(self, path: str, reader: _FileReader) -> None:
        if reader.damaged is not None and not any(path in d for d in self.report.damaged):
            message = f"{path}: {reader.damaged}: the lines before it are shipped"
            self.report.damaged.append(message)
            self._warn(message)

    def _check_path(self, item: _Followed) -> None:
        """Move on to the file the path names now (rotation), or ship the file again from its
        start (truncation)."""
        reader = item.reader
        path = item.key.path
        try:
            status = os.stat(path)
        except OSError:
            return  # moved away and not replaced yet: keep reading the open file
        rotated = _identity(status) != reader.file_id
        if not rotated and status.st_size >= reader.offset:
            return
        try:
            opened = _open(path, force=True)
        except ShipError:
            return  # gone again: look next time
        self._finish_file(item, reader)
        if rotated:
            self.report.rotations += 1
        else:
            self.report.truncations += 1
            self._warn(f"{path} was truncated: shipping it again from the start")
        file_id = opened.file_id
        self._enqueue(Reset(item.key, file_id))
        item.reader = self._reader(opened, file_id, path)
        self._take(item, item.reader.read(final=False))

    def _finish_file(self, item: _Followed, reader: _FileReader) -> None:
        """Read a file that is being left to its end, finish its source, ship the rest."""
        self._take(item, reader.read(final=True), reader)
        self._note_damage(item.key.path, reader)
        self._pack(item, reader)
        reader.close()

    def _take(
        self, item: _Followed, chunks: Iterator[_Chunk], reader: _FileReader | None = None
    ) -> None:
        reader = reader or item.reader
        limit = self.options.record_bytes
        forced = reader.forced_cuts
        for chunk in chunks:
            if item.chunks and item.chunk_bytes + chunk.size > limit:
                self._pack(item, reader)
            item.chunks.append(chunk)
            item.chunk_bytes += chunk.size
            if item.chunk_bytes >= limit:
                self._pack(item, reader)
            if self._stop:
                break
        self.report.forced_cuts += reader.forced_cuts - forced

    def _pack(self, item: _Followed, reader: _FileReader | None = None) -> None:
        """Turn the chunks waiting in `item` into records and queue them."""
        if not item.chunks:
            return
        file_id = (reader or item.reader).file_id
        chunks, item.chunks, item.chunk_bytes = item.chunks, [], 0
        for record in self._records(item.key, file_id, chunks):
            self._enqueue(record)
            self._send(whole_queue=False)

    # --- records -------------------------------------------------------------------------

    def _records(self, key: FileKey, file_id: str, chunks: list[_Chunk]) -> list[_Record]:
        """One record of `chunks`, or more when it would pass the record limit (or what the
        ingest handler reads of a record: `envelope.within_record_limits`): split between
        chunks, else inside one (a forced cut), else a single line is shortened."""
        options = self.options
        pkey = partition_key(key.host, key.path)
        lines = [line for chunk in chunks for line in chunk.lines]
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
            file=key.path,
            file_id=file_id,
            offset=first.offset,
            end=last.end,
            first_line=first.first_line,
            lines=lines,
            occurrences=occurrences,
        )
        data = encode(envelope, compress=options.compress)
        record = _Record(
            key, file_id, data, pkey, last.end, first.first_line + len(lines), len(lines), counts
        )
        if record.size <= options.max_record_bytes and within_record_limits(len(lines), data):
            return [record]
        if len(chunks) > 1:
            half = len(chunks) // 2
            return self._records(key, file_id, chunks[:half]) + self._records(
                key, file_id, chunks[half:]
            )
        if len(lines) > 1:
            self.report.forced_cuts += 1
            return [
                record for part in _split(first) for record in self._records(key, file_id, [part])
            ]
        self.report.oversized_lines += 1
        [line] = lines
        length = line.length if isinstance(line, OverlongLine) else len(line)
        self._warn(
            f"{key.path}:{first.first_line}: a line of {length:,} bytes does not fit "
            f"in a Kinesis record: shipped shortened"
        )
        return [_shortened(record, envelope, options)]

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
        reports = {report.path: report for report in self.report.files}
        for item in call:
            key = item.key
            if isinstance(item, Reset):
                if key not in stopped:
                    changes.append(item)
                    open_advance.pop(key, None)
                    report = reports[key.path]
                    report.file_id, report.offset, report.next_line = item.file_id, 0, 1
                continue
            if not next(ack) or key in stopped:
                stopped.add(key)
                continue
            self._count(item, reports[key.path])
            at = open_advance.get(key)
            if at is None:
                open_advance[key] = len(changes)
                changes.append(
                    Advance(key, item.file_id, item.end, item.next_line, dict(item.counts))
                )
            else:
                merged = cast(Advance, changes[at])
                merged.counts.update(item.counts)
                changes[at] = replace(merged, offset=item.end, next_line=item.next_line)
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
    directory, a stream (no offsets to resume at), a file that looks binary (unless `force`)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ShipError(f"cannot read {path}: no such file") from None
    except OSError as exc:
        raise ShipError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise ShipError(f"cannot ship {path}: is a directory: give the files to follow")
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        # Checked before opening: opening a FIFO waits for a writer.
        raise ShipError(
            f"cannot ship {path}: a pipe or device has no offsets to resume at: ship a "
            "regular file, or read the stream with prov ingest"
        )
    try:
        raw = open(path, "rb")  # noqa: SIM115 (kept open while followed)
    except OSError as exc:
        raise ShipError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        status = os.fstat(raw.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ShipError(f"cannot ship {path}: not a regular file")
        compression = detect(raw.read(MAGIC_BYTES))
        raw.seek(0)
        text = raw if compression is None else open_decompressed(raw, compression)
        opened = _Opened(raw, text, _identity(status), status.st_size, compression)
        try:
            binary = binary_head(text)
        except READ_ERRORS:
            binary = False  # damaged at once: shown when it is read
        if binary and not force:
            opened.close()
            raise ShipError(f"{path} {LOOKS_BINARY}: use --force to ship it anyway")
    except BaseException:
        raw.close()
        raise
    return opened


def _identity(status: os.stat_result) -> str:
    return f"{status.st_dev}:{status.st_ino}"


def _find_file(directory: str, file_id: str) -> tuple[_Opened, str] | None:
    """The file of `directory` with identity `file_id` (a log rotated by renaming), opened."""
    try:
        entries = list(os.scandir(directory or "."))
    except OSError:
        return None
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and _identity(entry.stat()) == file_id:
                return _open(entry.path, force=True), entry.path
        except (OSError, ShipError):
            continue
    return None


def _find_compressed(path: str, saved: SavedFile) -> tuple[_Opened, str] | None:
    """The compressed copy logrotate made of the file `path` named when shipping stopped
    (`access.log.1.gz`, the original removed), opened: a compressed file in the same folder
    whose name starts with the path's, newest first, whose content has exactly the lines
    shipped before `saved.offset` (counted, not parsed) and goes on from there."""
    folder, base = os.path.split(path)
    if saved.offset == 0:
        return None  # nothing was shipped: nothing tells which copy it was
    candidates: list[tuple[float, str]] = []
    try:
        entries = list(os.scandir(folder or "."))
    except OSError:
        return None
    for entry in entries:
        if entry.name == base or not entry.name.startswith(base):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                candidates.append((entry.stat().st_mtime, entry.path))
        except OSError:
            continue
    for _, candidate in sorted(candidates, reverse=True):
        try:
            opened = _open(candidate, force=True)
        except ShipError:
            continue
        if opened.compression is not None and _lines_before(opened.text, saved.offset) == (
            saved.next_line - 1
        ):
            return opened, candidate
        opened.close()
    return None


def _lines_before(text: BinaryIO, offset: int) -> int | None:
    """How many lines the first `offset` bytes of `text` hold (a last one without its line
    end counted too), or None if it is shorter or cannot be read that far."""
    lines = 0
    left = offset
    last = b""
    try:
        text.seek(0)
        while left:
            block = text.read(min(left, 1024 * 1024))
            if not block:
                return None
            lines += block.count(b"\n")
            left -= len(block)
            last = block[-1:]
    except READ_ERRORS:
        return None
    return lines + (last != b"\n")


def _split(chunk: _Chunk) -> list[_Chunk]:
    """A chunk cut in two halves of its lines (an entry may be cut: a forced cut)."""
    half = len(chunk.lines) // 2
    middle = chunk.offset + sum(chunk.sizes[:half])
    cut_line = chunk.first_line + half
    return [
        _Chunk(
            chunk.offset,
            middle,
            chunk.first_line,
            chunk.lines[:half],
            [head for head in chunk.heads if head[0] < cut_line],
            chunk.sizes[:half],
        ),
        _Chunk(
            middle,
            chunk.end,
            cut_line,
            chunk.lines[half:],
            [head for head in chunk.heads if head[0] >= cut_line],
            chunk.sizes[half:],
        ),
    ]


def _shortened(record: _Record, envelope: Envelope, options: ShipOptions) -> _Record:
    """`record` with its single line cut to the longest prefix that fits the record limit
    (of an over-long line, the part kept of it)."""
    [whole] = envelope.lines
    line = whole.kept if isinstance(whole, OverlongLine) else whole

    def data(length: int) -> bytes:
        cut = length
        # Keep whole UTF-8 characters: a continuation byte is 0b10xxxxxx.
        while 0 < cut < len(line) and line[cut] & 0xC0 == 0x80:
            cut -= 1
        part: Line = (
            replace(whole, kept=line[:cut]) if isinstance(whole, OverlongLine) else line[:cut]
        )
        shortened = replace(envelope, lines=[part])
        return encode(shortened, compress=options.compress)

    budget = options.max_record_bytes - (record.size - len(record.data))
    low, high = 0, len(line)
    while low < high:
        middle = (low + high + 1) // 2
        if len(data(middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    return replace(record, data=data(low))


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
