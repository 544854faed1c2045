"""Packing chunks of whole entries into Kinesis records, for `prov ship` (`pack_records`).

Lines are aggregated into records of about `record_bytes` (256 KiB of log lines compress to
some 30-60 KB; PUT payload units are counted per 25 KB, entries per call are few), never more
than `MAX_RECORD_BYTES` with the partition key, nor more than the ingest handler reads of one
record (`MAX_RECORD_LINES` lines, `MAX_DECODED_BYTES` decompressed). The partition key (host
and path) keeps a file's records on one shard.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast

from provenance.aws.ship_files import line_sha1, shown_path
from provenance.aws.ship_options import ShipError, ShipOptions
from provenance.aws.ship_reader import Chunk, FileReader
from provenance.aws.ship_state import FileKey, Fingerprint, Reset
from provenance.records.envelope import Envelope, encode, within_record_limits
from provenance.records.lines import CutLine, Line

MAX_PARTITION_KEY = 256


@dataclass(slots=True)
class Record:
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


QueueItem = Record | Reset


def partition_key(host: str, path: str) -> str:
    """host:path, shortened with a digest when longer than Kinesis allows (256 characters)."""
    key = f"{host}:{path}"
    if len(key) <= MAX_PARTITION_KEY:
        return key
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{key[: MAX_PARTITION_KEY - len(digest) - 1]}#{digest}"


def pack_records(
    options: ShipOptions, key: FileKey, reader: FileReader, chunks: list[Chunk]
) -> list[Record]:
    """One record of `chunks`, or more, split between chunks, when it would pass the
    record limit (or what the ingest handler reads of a record:
    `envelope.within_record_limits`). A chunk alone always fits (its lines add at most
    `stretch_limit`, or it is one line within the cap), unless the envelope's own fields
    (host, service, file name) take the rest: ShipError."""
    shown = shown_path(key.path)
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
        else Fingerprint(reader.head, line_sha1(last.lines[-1]), last.sizes[-1], reader.head_bytes)
    )
    record = Record(
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
        return pack_records(options, key, reader, chunks[:half]) + pack_records(
            options, key, reader, chunks[half:]
        )
    raise ShipError(
        f"cannot ship {shown} from line {first.first_line:,}: a record of its "
        f"{len(read):,} line(s) takes {record.size:,} bytes, more than the "
        f"{options.max_record_bytes:,} a Kinesis record holds (are --host, --service or "
        "the file name very long?)"
    )


def _as_bytes(line: str) -> bytes:
    """A line a source read, as the bytes it was read from."""
    return line.encode("utf-8", "surrogateescape")
