"""An external sort of RDF subjects by URI, in memory bounded by a byte budget.

Turtle and JSON-LD list subjects in URI order while a store yields events in time order: each
subject's triples are kept as one small marshal record, and when the records held pass the
budget they are sorted and spilled to a temporary file (a run). Reading merges the runs and
the records still held, and unites the triples of records with the same subject URI (an rdflib
graph holds a triple once, however often it was added). Memory is the budget plus one record
per run, whatever the number of events.
"""

from __future__ import annotations

import heapq
import marshal
import tempfile
from collections.abc import Iterator
from operator import itemgetter
from types import TracebackType
from typing import IO, Self

from premis.rdf_triples import Term, Triple

Record = tuple[str, tuple[tuple[str, str, str], ...]]
"""A subject URI and its triples as (predicate, kind, text)."""
Properties = dict[str, set[Term]]
"""A subject's triples: each predicate's set of objects."""

DEFAULT_BUDGET = 48 * 1024 * 1024
"""Bytes of records held before a run is spilled; ~3 KB of Python objects per event beside."""


def _run_records(run: IO[bytes]) -> Iterator[Record]:
    run.seek(0)
    while True:
        try:
            yield marshal.load(run)
        except EOFError:
            return


class SubjectSorter:
    """Collects triples by subject; `subjects()` yields them in URI order, merged per URI."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._held: list[tuple[str, bytes]] = []
        self._held_bytes = 0
        self._runs: list[IO[bytes]] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for run in self._runs:
            run.close()

    def add(self, triples: list[Triple]) -> None:
        """Holds `triples` as one record per subject (consecutive triples share a subject)."""
        start = 0
        for end in range(1, len(triples) + 1):
            if end == len(triples) or triples[end][0] != triples[start][0]:
                subject = triples[start][0]
                body = tuple((p, kind, text) for _, p, (kind, text) in triples[start:end])
                data = marshal.dumps((subject, body))
                self._held.append((subject, data))
                self._held_bytes += len(data) + len(subject)
                start = end
        if self._held_bytes > self.budget:
            self._spill()

    def _spill(self) -> None:
        self._held.sort(key=itemgetter(0))
        run = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)
        for _, data in self._held:
            run.write(data)
        run.flush()
        self._runs.append(run)
        self._held = []
        self._held_bytes = 0

    def _records(self) -> Iterator[Record]:
        self._held.sort(key=itemgetter(0))
        held = (marshal.loads(data) for _, data in self._held)
        if not self._runs:
            return held
        sources = [_run_records(run) for run in self._runs]
        return heapq.merge(held, *sources, key=itemgetter(0))

    def subjects(self) -> Iterator[tuple[str, Properties]]:
        """Every subject once, in URI order, with the union of its triples; may be repeated."""
        current: str | None = None
        properties: Properties = {}
        for subject, body in self._records():
            if subject != current:
                if current is not None:
                    yield current, properties
                current, properties = subject, {}
            for predicate, kind, text in body:
                properties.setdefault(predicate, set()).add((kind, text))
        if current is not None:
            yield current, properties
