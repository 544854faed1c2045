"""`auto`: detect the format per line and hand each line to the right source.

A line no source recognises continues the entry of the source that had the previous head
(multi-line messages and backtraces); with none, it is quarantined. When the format changes,
the previous source's pending entry is completed first, so entries come out in input order;
except for interleaved formats (Rails requests joined by request id), whose open requests
stay open across other lines and which are asked first whether a line belongs to one of them.

Its memory (`memory`): for each format's source that remembers something, a line of its name,
a tab and how many lines follow, then those lines; last, `marker`, a tab, and the name of the
format of the line before. A fresh `auto` taking it in (`recall`) gives each source its own,
and sends a line no format recognises (a blank line, say) where the running one would. (A
record of an earlier `prov ship` may give a log line of that format instead of its name: it
is recognised, never read.)
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

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
        # `memory()` as last made, and what it was made of: the current source and the
        # sources' memories (by identity: a source gives the same object while its memory is
        # unchanged). Asked at nearly every line of a log being shipped.
        self._memory: tuple[str, ...] = ()
        self._made_of: tuple[object, ...] = ()

    @classmethod
    def detect(cls, line: str) -> bool:
        return False

    def feed(self, line_no: int, line: str) -> list[Entry]:
        target = self._claimant(line)
        if target is None:
            for cls in self._classes:
                if cls.detect(line):
                    target = self._instances.get(cls) or self._made(cls)
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
        memories = [source.memory() for source in self._instances.values()]
        made_of = (current, *memories)
        before = self._made_of
        if len(made_of) != len(before) or any(
            a is not b for a, b in zip(made_of, before, strict=True)
        ):
            sections = (
                (f"{source.name}\t{len(lines)}", *lines)
                for source, lines in zip(self._instances.values(), memories, strict=True)
                if lines
            )
            self._memory = (*chain.from_iterable(sections), f"{_MARKER}\t{current.name}")
            self._made_of = made_of
        return self._memory

    def recall(self, memory: Sequence[str]) -> None:
        marker: str | None = None
        at = 0
        while at < len(memory):
            name, _, rest = memory[at].partition("\t")
            at += 1
            if name == _MARKER:
                marker = rest
            elif name in DETECTION_ORDER and rest.isascii() and rest.isdigit():  # not "²"
                count = int(rest)
                cls = source_class(name)
                (self._instances.get(cls) or self._made(cls)).recall(memory[at : at + count])
                at += count
        if marker is None:
            return
        for cls in self._classes:
            if marker == cls.name or cls.detect(marker):  # a log line: an earlier prov's
                self._current = self._instances.get(cls) or self._made(cls)
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


_MARKER = "marker"  # not a source's name


def _stamp(entries: list[Entry], name: str) -> list[Entry]:
    for entry in entries:
        entry.source = name
    return entries
