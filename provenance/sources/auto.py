"""`auto`: detect the format per line and hand each line to the right source.

A line no source recognises continues the entry of the source that had the previous head
(multi-line messages and backtraces); with none, it is quarantined. When the format changes,
the previous source's pending entry is completed first, so entries come out in input order;
except for interleaved formats (Rails requests joined by request id), whose open requests
stay open across other lines and which are asked first whether a line belongs to one of them.

Its memory (`memory`): what each format's source remembers, then the last line recognised as
the format of the line before (the *marker*), so that a fresh `auto` taking it in (`recall`)
sends a line no format recognises (a blank line, say) where the running one would. The marker
is only recognised, never read as a line.
Imports the registry and the sources it dispatches to.
"""

from __future__ import annotations

from collections.abc import Sequence

from provenance.sources import DETECTION_ORDER, source_class
from provenance.sources.base import Entry, Source, SourceContext


class AutoSource(Source):
    name = "auto"

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self._classes = [source_class(name) for name in DETECTION_ORDER]
        self._instances: dict[type[Source], Source] = {}
        self._current: Source | None = None
        self._interleaved: list[Source] = []
        # The last line each format's source was chosen for by detection.
        self._markers: dict[Source, str] = {}

    @classmethod
    def detect(cls, line: str) -> bool:
        return False

    def feed(self, line_no: int, line: str) -> list[Entry]:
        target = self._claimant(line)
        if target is None:
            for cls in self._classes:
                if cls.detect(line):
                    target = self._instances.get(cls) or self._made(cls)
                    self._markers[target] = line
                    break
            else:
                if self._current is None:
                    return [Entry(line_no, [line], quarantined="format not recognised")]
                return _stamp(self._current.feed(line_no, line), self._current.name)
        done: list[Entry] = []
        current = self._current
        if current is not None and current is not target and not current.interleaved:
            done = _stamp(current.flush(), current.name)
        self._current = target
        entries = _stamp(target.feed(line_no, line), target.name)
        return done + entries if done else entries

    def _made(self, cls: type[Source]) -> Source:
        """The source of a format, made on its first line."""
        target = self._instances[cls] = cls(self.context)
        if target.interleaved:
            self._interleaved.append(target)
        return target

    def memory(self) -> tuple[str, ...]:
        current = self._current
        if current is None:
            return ()
        lines: list[str] = []
        for source in self._instances.values():
            if source is not current:
                lines.extend(source.memory())
        # The current format's own lines last, and its marker after them: recall makes it
        # the current format again.
        lines.extend(current.memory())
        lines.append(self._markers[current])
        return tuple(lines)

    def recall(self, memory: Sequence[str]) -> None:
        if not memory:
            return
        *remembered, marker = memory
        for line in remembered:
            self.feed(0, line)
        self.flush()
        for cls in self._classes:
            if cls.detect(marker):
                target = self._instances.get(cls) or self._made(cls)
                self._markers[target] = marker
                self._current = target
                return

    def _claimant(self, line: str) -> Source | None:
        # A Rails request's own lines (Parameters, SQL, Rendered) look like any Rails line
        # (prescat would detect them): the source holding that request open asks for them.
        for source in self._interleaved:
            if source.claims(line):
                return source
        return None

    def flush(self) -> list[Entry]:
        done: list[Entry] = []
        for source in self._instances.values():
            done.extend(_stamp(source.flush(), source.name))
        return done


def _stamp(entries: list[Entry], name: str) -> list[Entry]:
    for entry in entries:
        entry.source = name
    return entries
