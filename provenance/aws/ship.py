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

The shipper is in parts, a module each: what to ship where and the limits (`ship_options`),
what a run did (`ship_report`); which file a path names and whether it still holds what was
shipped (`ship_files`: rotation, truncation, the old content found beside it); reading a file
into chunks of whole entries (`ship_reader`: where a record may begin); packing chunks into
records (`ship_records`); sending them with retries and committing what was acknowledged
(`ship_send`, to the state file of `ship_state`). `Shipper`, here, follows the paths, looks at
them and hands on what they hold.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence

from provenance.aws.ship_files import file_identity, find_previous, open_to_ship, shown_path
from provenance.aws.ship_follow import Followed, Follower
from provenance.aws.ship_options import ShipError
from provenance.aws.ship_reader import Chunk, FileReader
from provenance.aws.ship_records import pack_records
from provenance.aws.ship_report import ShipReport
from provenance.aws.ship_state import Reset, SavedFile


class Shipper(Follower):
    """Ships files to a stream, committing acknowledged progress to `state`. Its parts: the
    paths followed (`ship_follow.Follower`), the records put and committed
    (`ship_send.Sender`)."""

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

    def _poll(self, item: Followed, *, final: bool) -> None:
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

    def _quiet(self, reader: FileReader) -> tuple[int | None, bool]:
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

    def _note_damage(self, path: str, reader: FileReader) -> None:
        shown = shown_path(path)
        if reader.damaged is not None and not any(shown in d for d in self.report.damaged):
            message = f"{shown}: {reader.damaged}: the lines before it are shipped"
            self.report.damaged.append(message)
            self._warn(message)

    def _check_path(self, item: Followed) -> None:
        """Move on to the file the path names now (rotation), or ship the file again from its
        start when it no longer holds what was read (truncation)."""
        reader = item.reader
        path = item.key.path
        try:
            status = os.stat(path)
        except OSError:
            return  # moved away and not replaced yet: keep reading the open file
        rotated = file_identity(status) != reader.file_id
        if not rotated and status.st_size >= reader.offset and reader.still_holds():
            return
        try:
            opened = open_to_ship(path, force=True)
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
            copy = find_previous(path, saved)
            if copy is not None:
                # copytruncate: what was written after the last look is in the copy.
                copy_opened, copy_path = copy
                self._warn(
                    f"{shown_path(path)} was truncated: finishing what it held from "
                    f"{shown_path(copy_path)} first, then shipping it again from the start"
                )
                reader.continue_in(copy_opened)
                self._finish_file(item, reader)
            else:
                self._warn(f"{shown_path(path)} was truncated: shipping it again from the start")
                # What the file holds now is not what followed the lines read.
                self._finish_file(item, reader, more=False)
        file_id = opened.file_id
        self._enqueue(Reset(item.key, file_id))
        item.reader = self._reader(opened, file_id, path)
        self._take(item, item.reader.read(final=False))

    def _finish_file(self, item: Followed, reader: FileReader, *, more: bool = True) -> None:
        """Read a file that is being left to its end (`more`), finish its source, ship the
        rest."""
        self._take(item, reader.read(final=True, more=more), reader)
        self._note_damage(item.key.path, reader)
        self._pack(item, reader)
        reader.close()

    def _take(
        self, item: Followed, chunks: Iterator[Chunk], reader: FileReader | None = None
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
                f"{shown_path(item.key.path)}: no place to begin a record within "
                f"{self.options.stretch_limit:,} bytes before line {line_no:,}: one begins "
                "there anyway (a forced cut), and the entries still open there are split "
                "between records"
            )
        self.report.forced_cuts += len(reader.forced_at) - forced
        self.report.idle_flushes += reader.idle_flushes - idle

    def _pack(self, item: Followed, reader: FileReader | None = None) -> None:
        """Turn the chunks waiting in `item` into records and queue them."""
        if not item.chunks:
            return
        chunks, item.chunks, item.chunk_bytes = item.chunks, [], 0
        for record in pack_records(self.options, item.key, reader or item.reader, chunks):
            self._enqueue(record)
            self._send(whole_queue=False)

    def _pause(self, seconds: float) -> None:
        """Sleep between polls (really: `sleep` is for backoff), waking early to stop."""
        deadline = time.monotonic() + seconds
        while not self._stop:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))
