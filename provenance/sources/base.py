"""What every source (one parser per input format) gives the ingest pipeline.

A source is fed the input's lines one at a time and hands back `Entry`s: a head line with its
continuation lines, each entry accounted as events (drafts), ignored (with a reason) or
quarantined (with a reason). What a source remembers across entries (robots: what each thread
is processing; auto: the format of the line before; rails: the requests that ended) it can
state as lines (`memory`, oldest first: a record short of room carries the last ones), which a
fresh source takes in (`recall`): how a part of an input read on its own (a `prov ship`
record) is read as the running source would read it. The pipeline, not the source, gives
events their identity and envelope (`provenance.domain.identity`, `provenance.ingest.pipeline`).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from hashlib import sha1 as _sha1
from typing import Any, ClassVar

from provenance.domain.event_shapes import EventShape
from provenance.domain.events import DomainEvent, SourceRef
from provenance.records.lines import CutLine, OverlongLine


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What a source needs besides the lines: the zone for zone-less times, and the origin."""

    tz: tzinfo
    origin: str = ""
    service: str | None = None
    file: str | None = None


@dataclass(slots=True)
class Draft:
    """A domain event before identity and envelope: its model and fields.

    The pipeline adds `event_id`, `recorded_at` and `source` (`event`); everything else comes
    from here. A source whose fields already have the model's types, and exactly the fields
    its `shape` names, gives that shape: the event is then built without validating them
    again (`provenance.domain.event_shapes`); without one, the model validates them.
    """

    model: type[DomainEvent]
    fields: dict[str, Any]
    shape: EventShape[Any] | None = None

    def event(self, event_id: str, recorded_at: datetime, source: SourceRef) -> DomainEvent:
        """The typed event, with its identity and envelope."""
        if self.shape is not None:
            built: DomainEvent = self.shape.build(self.fields, event_id, recorded_at, source)
            return built
        return self.model(event_id=event_id, recorded_at=recorded_at, source=source, **self.fields)


@dataclass(slots=True)
class Entry:
    """One accounted unit of input: a head line plus the continuation lines that belong to it.

    Exactly one of: `drafts` non-empty (consumed), `ignored` set, `quarantined` set.
    `lines` holds every physical line of the entry verbatim (head first).
    """

    line_no: int
    lines: list[str]
    drafts: list[Draft] = field(default_factory=list)
    ignored: str | None = None
    quarantined: str | None = None
    # The concrete source that read it; set by `auto` so identities match an explicit --source.
    source: str | None = None
    # The line, when the entry is a line too long to be read (then quarantined, kept in part).
    overlong: OverlongLine | None = None

    @property
    def head(self) -> str:
        return self.lines[0]

    @property
    def digest(self) -> bytes:
        """The identity digest of the head line (`line_digest`): of the whole line even when
        only part of an over-long one is kept."""
        if self.overlong is not None:
            return self.overlong.sha1
        # `provenance.domain.identity.line_digest`, written out: once per entry.
        return _sha1(self.lines[0].encode("utf-8", "surrogateescape")).digest()

    @classmethod
    def too_long(cls, line_no: int, line: OverlongLine) -> Entry:
        """An over-long line, quarantined without a parser seeing it (what is kept of it alone
        would read as something it is not)."""
        text = line.kept.decode("utf-8", "surrogateescape")
        return cls(line_no, [text], quarantined=line.reason, overlong=line)

    @classmethod
    def cut_short(cls, line_no: int, line: CutLine) -> Entry:
        """The start of a line the input's failure cut short, quarantined without a parser
        seeing it (part of a line may read as something it is not)."""
        text = line.data.decode("utf-8", "surrogateescape")
        return cls(line_no, [text], quarantined=line.reason)


class Source(ABC):
    """A stateful parser for one format. Feed lines in order, then call `finish()`.

    `feed` returns the entries completed by this line (usually zero or one);
    `flush` completes the pending entry, if any (used when `auto` switches formats).
    """

    name: ClassVar[str]
    # True for formats whose entries interleave (Rails requests joined by request id): `auto`
    # then does not complete their pending entries when another format's line comes between.
    interleaved: ClassVar[bool] = False

    def __init__(self, context: SourceContext) -> None:
        self.context = context

    @classmethod
    @abstractmethod
    def detect(cls, line: str) -> bool:
        """Whether this line starts an entry of this format (cheap: used per line by `auto`)."""

    def claims(self, line: str) -> bool:
        """Whether this instance wants the line for an entry it has open, whatever `detect`
        says of it (asked by `auto` before detection, only of interleaved sources)."""
        return False

    @abstractmethod
    def feed(self, line_no: int, line: str) -> list[Entry]:
        """Take one line (without its line ending); return the entries it completes."""

    @abstractmethod
    def flush(self) -> list[Entry]:
        """Complete the pending entry, if any."""

    def finish(self) -> list[Entry]:
        """End of input: every line fed so far is now in a returned entry."""
        return self.flush()

    def memory(self) -> tuple[str, ...]:
        """What this source remembers across entries, as lines of its own making (text, no
        line ends): `recall` of them makes a fresh source of the same kind read the next lines
        as this one would. Asked between entries (every line fed is in a returned entry, or
        the last one alone is still open, which is no part of it); the same object while
        nothing changed. Empty for a source that remembers nothing that changes what later
        entries become (a cache is not memory)."""
        return ()

    def recall(self, memory: Sequence[str]) -> None:
        """Take `memory` (what `memory()` of a source of this kind gave) as what this fresh
        source remembers. Lines it cannot read (a record is not to be trusted) are passed
        by. A source that remembers nothing has nothing to take."""
        return None


class MultilineSource(Source):
    """A format whose entries start with a recognisable head and may continue on more lines.

    Subclasses give `HEAD` (a compiled regex matched at the start of a line) and `make_entry`.
    A line that is not a head continues the pending entry; with no pending entry it is
    quarantined as an orphan.
    """

    HEAD: ClassVar[re.Pattern[str]]

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self._pending: tuple[int, re.Match[str], list[str]] | None = None

    @classmethod
    def detect(cls, line: str) -> bool:
        return cls.HEAD.match(line) is not None

    @abstractmethod
    def make_entry(self, line_no: int, head: re.Match[str], lines: list[str]) -> Entry:
        """Turn a complete entry (head match, and all its lines) into an accounted Entry."""

    def feed(self, line_no: int, line: str) -> list[Entry]:
        match = self.HEAD.match(line)
        if match is None:
            if self._pending is not None:
                self._pending[2].append(line)
                return []
            return [Entry(line_no, [line], quarantined=f"not a {self.name} line")]
        # `flush`, then this line opens the next entry (written out: once per line).
        pending = self._pending
        self._pending = (line_no, match, [line])
        if pending is None:
            return []
        return [self.make_entry(*pending)]

    def flush(self) -> list[Entry]:
        if self._pending is None:
            return []
        line_no, match, lines = self._pending
        self._pending = None
        return [self.make_entry(line_no, match, lines)]
