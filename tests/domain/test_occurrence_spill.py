"""The occurrence counter past its memory bound: counts moved to a temporary file give the
occurrences a plain dict gives (DESIGN.md, "Event identity"), and the file goes with it."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstore.sqlite import SQLiteEventStore
from provenance.domain import identity
from provenance.domain.identity import OccurrenceCounter
from provenance.domain.occurrence_spill import DigestFilter, digest_key, digest_number
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from tests.conftest import LA
from tests.samples import OBJECT_LOG

# Keys from a small pool, so that lines repeat, some of them after their count was moved.
KEYS = st.lists(st.integers(0, 40), max_size=300)


def digest(number: int) -> bytes:
    return hashlib.sha1(str(number).encode()).digest()


def plain_occurrences(numbers: list[int], seed: dict[bytes, int]) -> list[int]:
    seen = dict(seed)
    out = []
    for number in numbers:
        key = digest(number)[:8]
        out.append(seen.get(key, 0))
        seen[key] = out[-1] + 1
    return out


@settings(max_examples=60, deadline=None)
@given(numbers=KEYS, bound=st.integers(1, 6), seeded=st.lists(st.integers(0, 40), max_size=8))
def test_a_spilling_counter_counts_as_a_plain_dict(
    numbers: list[int], bound: int, seeded: list[int]
) -> None:
    seed = {digest(number)[:8]: number % 3 + 1 for number in seeded}
    counter = OccurrenceCounter(dict(seed), bound=bound)
    got = [counter.next(digest(number)) for number in numbers]
    assert got == plain_occurrences(numbers, seed)
    # Every count, wherever it is, once.
    expected = dict(seed)
    for number in numbers:
        key = digest(number)[:8]
        expected[key] = expected.get(key, 0) + 1
    items = list(counter.items())
    assert dict(items) == expected and len(items) == len(expected)
    # Moved once a new line came with the bound reached (a larger seed waits for one).
    assert (counter.spilled is not None) == (len(expected) > max(bound, len(seed)))
    counter.close()


def test_below_the_bound_nothing_is_moved_and_the_seed_is_the_counters_dict() -> None:
    seed = {digest(1)[:8]: 2}
    counter = OccurrenceCounter(seed, bound=10)
    assert [counter.next(digest(n)) for n in (1, 2, 1)] == [2, 0, 3]
    assert counter.spilled is None and counter.seen is seed
    assert seed == {digest(1)[:8]: 4, digest(2)[:8]: 1}


def test_a_counter_resumed_from_a_spilled_counters_counts_goes_on_alike() -> None:
    """What `prov ship` does: persist the counts with a file offset, resume from them."""
    first = [n % 25 for n in range(0, 200, 3)]
    rest = [n % 30 for n in range(0, 150, 7)]
    whole = OccurrenceCounter(bound=4)
    expected = [whole.next(digest(n)) for n in first + rest]
    spilled = OccurrenceCounter(bound=4)
    head = [spilled.next(digest(n)) for n in first]
    resumed = OccurrenceCounter(dict(spilled.items()), bound=4)
    assert head + [resumed.next(digest(n)) for n in rest] == expected


def test_the_spill_file_is_private_and_gone_on_close() -> None:
    counter = OccurrenceCounter(bound=2)
    for n in range(10):
        counter.next(digest(n))
    spilled = counter.spilled
    assert spilled is not None
    counter.close()
    assert counter.spilled is None
    with pytest.raises(Exception, match="closed"):
        spilled.count(digest(1)[:8])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(min_size=8, max_size=8), min_size=1, max_size=200, unique=True))
def test_the_digest_filter_has_no_false_negatives(keys: list[bytes]) -> None:
    bloom = DigestFilter(8)
    for key in keys:
        bloom.add(digest_number(key))
    assert all(digest_number(key) in bloom for key in keys)
    assert [digest_key(digest_number(key)) for key in keys] == keys


def test_the_digest_filter_mostly_says_no_to_digests_it_never_saw() -> None:
    bloom = DigestFilter(1000)
    for n in range(1000):
        bloom.add(digest_number(digest(n)[:8]))
    false = sum(digest_number(digest(n)[:8]) in bloom for n in range(1000, 11000))
    assert false < 1000  # a few percent at capacity, not all


def ids(tmp_path: Path, name: str, data: bytes) -> list[str]:
    with SQLiteEventStore(tmp_path / name) as store:
        ingest_stream(store, io.BytesIO(data), "audit.log", IngestOptions(tz=LA))
        return [record.event_id for record in store.read_all()]


def test_ingest_past_the_bound_gives_the_same_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three copies: the second and third copies' lines are repeats whose counts were moved.
    data = (OBJECT_LOG * 3).encode()
    expected = ids(tmp_path, "plain.db", data)
    monkeypatch.setattr(identity, "MEMORY_BOUND", 2)
    assert OccurrenceCounter().bound == 2
    assert ids(tmp_path, "spilled.db", data) == expected
    assert len(set(expected)) == len(expected) == 24
