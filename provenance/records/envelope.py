"""The record envelope: how `prov ship` puts log lines into a Kinesis record.

A record's data is this JSON object, gzip-compressed by default (a PUT payload unit is 25 KB,
and log lines compress about tenfold):

    {"prov_envelope": 1,                 version of this format; also what marks an envelope
     "source": "auto",                   the source (parser) name, as `prov ingest --source`
     "service": "stacks",                the service the lines' requests went to, or null
     "host": "sul-stacks-prod-a",        where the file lives (the events' origin)
     "file": "/var/log/httpd/access_log",
     "file_id": "2049:131077",           device:inode of the file when it was read
     "offset": 0, "end": 18231,          byte range of these lines in the file
     "first_line": 1,                    line number of the first line (1-based)
     "lines": ["...", "..."],            the lines, without their line ends
     "binary": {"3": "<base64>"},        lines sent as base64, by index ("lines" has "")
     "overlong": {"5": {...}},           lines over the length cap, by index ("lines" has "")
     "occurrences": {"9f0c2a...": 2},    identity state (below)
     "memory": {"lines": [...], "binary": {...}},   what the source remembers (below)
     "cut": "<base64>"}                  a last line the file's damage cut short (below)

A line goes in `binary` when it is not UTF-8, or when its JSON string would be longer than its
base64 (control characters take up to 6 bytes each in JSON, any byte 4/3 in base64): so a line
of up to the cap takes at most 4/3 of its length, and every line `provenance.records.lines` reads
whole fits one record with room to spare (`encoded_size`, and a test of the worst case).

A line longer than the cap (`provenance.records.lines.MAX_LINE_BYTES`) is never sent whole: its
entry in `overlong` holds what is kept of it and what its identity and quarantine record need,
`{"kept": "<base64>", "bytes": 52428800, "sha1": "<hex>", "sha256": "<hex>"}`, so the ingest
handler quarantines it with the id `prov ingest` of the file gives it.

Identity state: an event's id counts the identical entries before it in the same file
(`provenance.domain.identity`). A record holds whole entries; `occurrences` gives, for each entry
head in the record whose line was seen before in the file, how many times it was seen before this
record (keyed by the first 8 bytes of the head's `line_digest`, in hex). The ingest handler
starts its counter from these, so a file shipped in any number of records gets the same event
ids as `prov ingest` of the whole file.

Memory (optional): what the file's source remembered across entries where the record begins
(`provenance.sources.base.Source.memory`: robots, a description of each job a thread is
processing; auto, that per format and the format of the line before), as lines of the
source's own making, sent as "lines" are, at most `MAX_MEMORY_BYTES`. The ingest handler's
fresh source takes them in (`recall`) before the record's lines; they are not log lines, so
nothing in them is read or counted as one. An older handler ignores the key and reads the
record as before, with a fresh source that may describe such entries with less detail.

Cut (optional): the start of the line after the record's last one, which the file's damaged
compressed data cut short (`provenance.records.lines.CutLine`), as base64; it is line number
`first_line + len(lines)`, and the handler quarantines it as `prov ingest` does. An older
handler ignores it.

Optional keys are left out when empty, so the version stays 1: a reader of this version
ignores keys it does not know.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from provenance.records.lines import Line, OverlongLine

VERSION = 1
MARKER = "prov_envelope"
GZIP_MAGIC = b"\x1f\x8b"
MAX_RECORD_BYTES = 1_000_000
"""Kinesis takes at most 1 MiB per record, partition key included; this leaves room for it."""
MAX_DECODED_BYTES = 8 * 1024 * 1024
"""The most a record's data may hold once decompressed; the ingest handler quarantines a record
that holds more whole, unread (it takes seconds and megabytes to make one holding millions of
lines). What real producers send stays well below: `prov ship` aims at 256 KiB of lines a
record and cuts a record that would pass this; a CloudWatch Logs subscription record carries
the log events of PutLogEvents batches, at most 1,048,576 bytes of messages and 10,000 events
each, and log text compresses some 7 to 10 times, so a 1 MiB record decompresses to ~10 MiB at
the very most, typically a few. The longest line (`provenance.records.lines.MAX_LINE_BYTES`, sent as
base64 when its JSON would be longer) fits, so `prov ship` can always send one line a record."""
MAX_RECORD_LINES = 100_000
"""The most lines the ingest handler reads from one record; it quarantines a record with more
whole, unread (each line may cost a store write, and Lambda retries a batch whole). `prov ship`
cuts its records to stay within; a CloudWatch batch of 1 MiB would need lines of 10 bytes on
average to pass it (a real record of `prov ship` holds some 1,300)."""
_CONTROLS = bytes(range(0x20))
# What a line costs in a document besides its own characters, at most: the `"",` in "lines"
# and its key in "binary" or "overlong" (index, quotes, colon, comma), and the entry the head of
# an entry may add to "occurrences" (16 hex digits, quotes, colon, a count of up to 20 digits,
# comma); each also pays once for the name of the object it is in.
_INDEX_ENTRY_BYTES = 48
_OCCURRENCE_ENTRY_BYTES = 60
_OVERLONG_FIELDS_BYTES = 160  # "kept", "bytes", "sha1", "sha256": names, digests, the length


class EnvelopeError(ValueError):
    """Data that claims to be an envelope but is not a valid one (one-line reason)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """Lines of one file, with where they came from and the identity state they need."""

    source: str
    service: str | None
    host: str
    file: str
    file_id: str
    offset: int
    end: int
    first_line: int
    lines: list[Line]
    occurrences: dict[bytes, int] = field(default_factory=dict)
    memory: list[bytes] = field(default_factory=list)
    """What the source remembered where the record begins (lines, without line ends)."""
    cut: bytes | None = None
    """The start of the line after the last one, cut short by the input's damage."""

    def to_json(self) -> dict[str, Any]:
        texts, binary, overlong = _lines_json(self.lines)
        document: dict[str, Any] = {
            MARKER: VERSION,
            "source": self.source,
            "service": self.service,
            "host": self.host,
            "file": self.file,
            "file_id": self.file_id,
            "offset": self.offset,
            "end": self.end,
            "first_line": self.first_line,
            "lines": texts,
        }
        if binary:
            document["binary"] = binary
        if overlong:
            document["overlong"] = overlong
        if self.occurrences:
            document["occurrences"] = {key.hex(): n for key, n in self.occurrences.items()}
        if self.memory:
            memory_texts, memory_binary, _ = _lines_json(self.memory)
            document["memory"] = {"lines": memory_texts}
            if memory_binary:
                document["memory"]["binary"] = memory_binary
        if self.cut is not None:
            document["cut"] = base64.b64encode(self.cut).decode("ascii")
        return document


def _lines_json(
    lines: Sequence[Line],
) -> tuple[list[str], dict[str, str], dict[str, dict[str, Any]]]:
    """Lines as an envelope holds them: texts, and the lines that go as base64 or as what is
    kept of them (over-long) by index, "" in the texts in their place."""
    texts: list[str] = []
    binary: dict[str, str] = {}
    overlong: dict[str, dict[str, Any]] = {}
    for index, line in enumerate(lines):
        if isinstance(line, OverlongLine):
            texts.append("")
            overlong[str(index)] = {
                "kept": base64.b64encode(line.kept).decode("ascii"),
                "bytes": line.length,
                "sha1": line.sha1.hex(),
                "sha256": line.sha256,
            }
            continue
        text = _as_text(line)
        if text is None:
            texts.append("")
            binary[str(index)] = base64.b64encode(line).decode("ascii")
        else:
            texts.append(text)
    return texts, binary, overlong


MAX_MEMORY_BYTES = 64 * 1024
"""The most a source's memory may add to a record (`encoded_size` of its lines): `prov ship`
sends none that is larger (the record then begins with a fresh source), and each source keeps
its own within its share of it (robots,
`provenance.sources.robots_memory.MEMORY_BYTES`)."""


def memory_size(memory: Sequence[str]) -> int:
    """What the lines of a source's memory add to a record (`encoded_size` of each, as the
    bytes a source read them from)."""
    return sum(encoded_size(line.encode("utf-8", "surrogateescape")) for line in memory)


def sendable_memory(memory: tuple[str, ...]) -> tuple[str, ...]:
    """What of a source's memory a record carries: all of it within `MAX_MEMORY_BYTES`, else
    its last lines that fit (a source states what it remembers oldest first, what is needed
    most last: `provenance.sources.base.Source.memory`). A fresh source recalls lines it
    cannot place as nothing, so a part is read as well as the source can."""
    if memory_size(memory) <= MAX_MEMORY_BYTES:
        return memory
    size = 0
    keep = len(memory)
    while keep and size + memory_size(memory[keep - 1 : keep]) <= MAX_MEMORY_BYTES:
        keep -= 1
        size += memory_size(memory[keep : keep + 1])
    return memory[keep:]


def encoded_size(line: Line) -> int:
    """At most how many bytes `line` adds to an envelope's JSON document (before compression),
    the occurrence count its entry may need included. A record's lines are measured by this
    (`provenance.aws.ship`), so a record cut by it always fits."""
    if isinstance(line, OverlongLine):
        return _base64_size(len(line.kept)) + _OVERLONG_FIELDS_BYTES + _OCCURRENCE_ENTRY_BYTES
    if _as_text(line) is None:
        return _base64_size(len(line)) + _INDEX_ENTRY_BYTES + _OCCURRENCE_ENTRY_BYTES
    return _json_size(line) + 1 + _OCCURRENCE_ENTRY_BYTES


def _as_text(line: bytes) -> str | None:
    """The line as a JSON string goes (UTF-8, and no longer so than as base64), else None."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if _json_size(line) <= _base64_size(len(line)) + 2 else None


def _json_size(line: bytes) -> int:
    """At most how many bytes UTF-8 `line` takes as a JSON string, quotes included (`encode`
    keeps non-ASCII characters as they are; a control character takes at most 6 bytes)."""
    controls = len(line) - len(line.translate(None, _CONTROLS))
    return len(line) + 2 + 5 * controls + line.count(b'"') + line.count(b"\\")


def _base64_size(length: int) -> int:
    return 4 * ((length + 2) // 3)


def encode(envelope: Envelope, *, compress: bool = True) -> bytes:
    """The record data for `envelope`: compact JSON, gzip-compressed unless told not to."""
    data = json.dumps(envelope.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
    # mtime=0: the same lines give the same bytes, so a retried PUT is byte-identical.
    return gzip.compress(data, compresslevel=6, mtime=0) if compress else data


def decoded_size(data: bytes) -> int:
    """How many bytes the record data `encode` made holds once decompressed: the size gzip
    writes at the end of its one member (modulo 2**32, far above any record), or the data's."""
    if data.startswith(GZIP_MAGIC):
        return int.from_bytes(data[-4:], "little")
    return len(data)


def within_record_limits(lines: int, data: bytes) -> bool:
    """Whether record data `encode` made, of `lines` lines, is within what the ingest handler
    reads (`MAX_RECORD_LINES`, `MAX_DECODED_BYTES`)."""
    return lines <= MAX_RECORD_LINES and decoded_size(data) <= MAX_DECODED_BYTES


def is_envelope(document: object) -> bool:
    """Whether a decoded JSON document is an envelope (of any version)."""
    return isinstance(document, dict) and MARKER in document


def from_json(document: dict[str, Any]) -> Envelope:
    """The envelope a decoded JSON document holds; EnvelopeError says what is wrong."""
    version = document.get(MARKER)
    if version != VERSION:
        raise EnvelopeError(f"envelope version {version!r} is not supported (this reads {VERSION})")
    try:
        lines = _lines_from(document["lines"], document.get("binary"), document.get("overlong"))
        memory_document = document.get("memory") or {}
        memory = _lines_from(memory_document.get("lines") or [], memory_document.get("binary"))
        cut = document.get("cut")
        occurrences = {
            bytes.fromhex(key): int(n) for key, n in (document.get("occurrences") or {}).items()
        }
        envelope = Envelope(
            source=str(document.get("source") or "auto"),
            service=document.get("service"),
            host=str(document.get("host") or ""),
            file=str(document["file"]),
            file_id=str(document.get("file_id") or ""),
            offset=int(document["offset"]),
            end=int(document["end"]),
            first_line=int(document["first_line"]),
            lines=lines,
            occurrences=occurrences,
            memory=[line for line in memory if isinstance(line, bytes)],
            cut=None if cut is None else base64.b64decode(cut, validate=True),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EnvelopeError(f"malformed envelope: {type(exc).__name__}: {exc}") from exc
    if envelope.service is not None and not isinstance(envelope.service, str):
        raise EnvelopeError("malformed envelope: service must be a string or null")
    if envelope.first_line < 1 or envelope.offset < 0 or envelope.end < envelope.offset:
        raise EnvelopeError("malformed envelope: first_line, offset or end out of range")
    if any(len(key) != 8 or n < 0 for key, n in envelope.occurrences.items()):
        raise EnvelopeError("malformed envelope: occurrences need 16 hex digits and counts >= 0")
    return envelope


def _lines_from(
    texts: list[str], binary: dict[str, str] | None, overlong: dict[str, Any] | None = None
) -> list[Line]:
    binary = binary or {}
    overlong = overlong or {}
    return [
        _overlong(overlong[str(i)])
        if str(i) in overlong
        else base64.b64decode(binary[str(i)], validate=True)
        if str(i) in binary
        else text.encode()
        for i, text in enumerate(texts)
    ]


def _overlong(document: dict[str, Any]) -> OverlongLine:
    line = OverlongLine(
        kept=base64.b64decode(document["kept"], validate=True),
        length=int(document["bytes"]),
        sha1=bytes.fromhex(document["sha1"]),
        sha256=str(document["sha256"]),
    )
    if len(line.sha1) != 20 or len(line.sha256) != 64 or line.length < len(line.kept):
        raise ValueError("overlong line: sha1, sha256 or bytes out of range")
    return line
