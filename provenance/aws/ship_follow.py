"""Following the paths given to `prov ship`: which file each names when shipping starts, where
in it shipping resumes, and what was rotated from it meanwhile (`Follower`, a part of `Shipper`).

The state is kept per stream name: a stream given by ARN is the stream of that name
(`ship_state.stream_name`), so naming it either way does not ship a file twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from provenance.aws.ship_files import (
    OpenedFile,
    born_after,
    find_previous,
    first_line_sha1,
    holds_saved,
    open_to_ship,
    rotated_between,
    shown_path,
)
from provenance.aws.ship_options import ShipError, ShipOptions, Warn
from provenance.aws.ship_reader import Chunk, FileReader
from provenance.aws.ship_report import FileReport, ShipReport
from provenance.aws.ship_send import KinesisClient, Sender
from provenance.aws.ship_state import FileKey, Reset, SavedFile, ShipState, stream_name
from provenance.sources.base import SourceContext


class Followed:
    """One path given on the command line: its open file, and chunks not yet in a record."""

    def __init__(self, key: FileKey, report: FileReport, reader: FileReader) -> None:
        self.key = key
        self.report = report
        self.reader = reader
        # Files the path named before, to ship first, oldest first: the one it named when
        # shipping last stopped, found again after a rotation, and any rotated after it.
        self.previous: list[FileReader] = []
        self.chunks: list[Chunk] = []
        self.chunk_bytes = 0
        # A compressed file is read once, to its end, and never followed.
        self.done = False


class Follower(Sender):
    """Opens each followed path where shipping it stopped, if its file still holds what was
    shipped, and finds the old content when it does not (the part of `Shipper` that knows
    which file a path names)."""

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
        super().__init__(client, state, options, progress=progress, sleep=sleep, jitter=jitter)
        self._warn = warn or (lambda message: None)
        self._followed: list[Followed] = []
        # Every path given to follow (a file rotated from one is never another's rotation).
        self._paths: set[str] = set()

    def _follow(self, path: str) -> Followed:
        """Open `path` where shipping it stopped last time, if its file still holds what was
        shipped; else finish the old content where it is now, and ship the file from byte 0."""
        key = FileKey(stream_name(self.options.stream), self.options.host, path)
        opened = open_to_ship(path, force=self.options.force)
        report = FileReport(shown_path(path), opened.file_id)
        self.report.files.append(report)
        self._reports[key] = report
        saved = self.state.load(key)
        if saved is None:
            self._check_same_host(key, opened)
            return Followed(key, report, self._reader(opened, opened.file_id, path))
        report.offset, report.next_line = saved.offset, saved.next_line
        if saved.offset and saved.fingerprint is None:
            self._warn(
                f"{shown_path(path)}: the ship state (saved by an older prov) has no fingerprint "
                "of what was shipped: its file is known again by identity and line ends alone"
            )
        same_file = opened.file_id == saved.file_id
        if holds_saved(opened, saved, identified=same_file):
            return Followed(key, report, self._resumed(opened, saved, path))
        followed = Followed(key, report, self._reader(opened, opened.file_id, path))
        if same_file and not born_after(opened, saved):
            self.report.truncations += 1
        else:
            # Another file, or a new one that was given the inode of the one shipped.
            self.report.rotations += 1
        previous = find_previous(path, saved)
        if previous is not None:
            old_opened, old_path = previous
            followed.previous.append(self._resumed(old_opened, saved, path))
            self._warn(
                f"{shown_path(path)} no longer holds what was shipped of it (rotated, truncated or "
                f"replaced while not shipping): finishing the old content, now in "
                f"{shown_path(old_path)}, from byte {saved.offset:,} first"
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
        self._warn(f"{shown_path(path)} {lost}; shipping {shown_path(path)} from its start")
        self._enqueue(Reset(key, opened.file_id))
        return followed

    def _check_same_host(self, key: FileKey, opened: OpenedFile) -> None:
        """Refuse to ship a file again under another host than before (a changed --host, or
        the machine's name that was once the default): its lines would go again, with other
        event ids, and be stored twice."""
        shipped_as = [host for host in self.state.hosts(key.stream, key.path) if host != key.host]
        if shipped_as:
            opened.close()
            raise ShipError(
                f"{shown_path(key.path)} was shipped to {key.stream} as host {shipped_as[0]!r}, "
                f"not {key.host!r}: its lines would be sent again with other event ids; give "
                f"--host {shipped_as[0]!r} (or PROV_HOST) to go on where it stopped, or another "
                "--state to ship it all again under the new host"
            )

    def _resumed(self, opened: OpenedFile, saved: SavedFile, path: str) -> FileReader:
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
            head, tail = first_line_sha1(opened.text), None
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

    def _rotated_since(self, path: str, older: OpenedFile, newer: OpenedFile) -> list[FileReader]:
        """Readers from byte 0 of the files rotated away from `path` after `older` and before
        `newer` (rotated twice or more while not looked at), oldest first, each named in a
        warning."""
        readers = []
        followed = {item.key.path for item in self._followed} | self._paths
        for opened, name in rotated_between(path, older, newer, followed):
            self._warn(
                f"{shown_path(name)} was rotated from {shown_path(path)} after the old content and "
                "before the file it names now: shipping it too, from its start"
            )
            readers.append(self._reader(opened, opened.file_id, path))
        return readers

    def _reader(
        self,
        opened: OpenedFile,
        file_id: str,
        path: str,
        *,
        offset: int = 0,
        next_line: int = 1,
        counts: dict[bytes, int] | None = None,
        head: tuple[bytes, int | None] | None = None,
        tail: tuple[bytes, int] | None = None,
        memory: tuple[str, ...] = (),
    ) -> FileReader:
        options = self.options
        context = SourceContext(
            tz=options.tz, origin=options.host, service=options.service, file=shown_path(path)
        )
        return FileReader(
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
