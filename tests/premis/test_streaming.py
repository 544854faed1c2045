"""100,000 events stream through the writer and the validator in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from premis import (
    Agent,
    AgentType,
    Event,
    EventOutcome,
    EventType,
    Identifier,
    LinkingAgent,
    ObjectCategory,
    PremisObject,
    PremisValidationError,
    is_valid,
    validate,
    write_document,
)

EVENTS = 100_000
ENTITY = Identifier("druid", "bc123df4567")
ROBOT = Agent(Identifier("local", "robot"), "Preservation robot", AgentType.SOFTWARE, "1.0")
START = datetime(2026, 1, 1, tzinfo=UTC)
REPO_ROOT = Path(__file__).parents[2]


def _events(count: int, outcome: EventOutcome | None = None) -> Iterator[Event]:
    """A lazy stream: only one event exists at a time.

    The events are small on purpose (tracemalloc slows every allocation several times over);
    the golden and property tests cover the full element set.
    """
    link = (LinkingAgent(ROBOT.identifier),)
    for n in range(count):
        yield Event(
            identifier=Identifier("UUID", f"00000000-0000-5000-8000-{n:012d}"),
            type=EventType.FIXITY_CHECK,
            date_time=START + timedelta(seconds=n),
            outcome=outcome,
            agents=link,
        )


_RSS_PROBE = """
import json, resource, sys
from premis.schema import load_schema, validate
load_schema()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
validate(__import__("pathlib").Path(sys.argv[1]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "after_kib": after}))
"""


def test_a_hundred_thousand_events_stream_in_bounded_memory(tmp_path: Path) -> None:
    target = tmp_path / "large.xml"
    entity = PremisObject(ENTITY, ObjectCategory.INTELLECTUAL_ENTITY)

    tracemalloc.start()
    try:
        with target.open("wb") as out:
            write_document(out, [entity], _events(EVENTS), {"robot": ROBOT})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"writing peaked at {peak / 2**20:.1f} MiB of Python memory"

    size = target.stat().st_size
    assert size > 100_000 * 700  # the document really is large
    with target.open("rb") as stream:
        assert sum(line.count(b'<premis:event version="3.0">') for line in stream) == EVENTS
        stream.seek(-64, 2)
        assert stream.read().endswith(b"  </premis:agent>\n</premis:premis>\n")

    # libxml2 allocates outside tracemalloc's view, so the validator's memory is read from the
    # peak resident size of a fresh process: a full tree of this file would take ~1 GB.
    probe = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(target)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    rss = json.loads(probe.stdout)
    growth_mib = (rss["after_kib"] - rss["before_kib"]) / 1024
    assert growth_mib < 64, f"validation grew the process by {growth_mib:.0f} MiB"


def test_a_large_invalid_document_is_caught_while_streaming(tmp_path: Path) -> None:
    target = tmp_path / "invalid.xml"
    entity = PremisObject(ENTITY, ObjectCategory.INTELLECTUAL_ENTITY)
    with target.open("wb") as out:
        write_document(out, [entity], _events(2_000, EventOutcome.SUCCESS), {"robot": ROBOT})
    # Drop the date of the 1,000th event: its outcome then comes too early.
    broken = target.read_bytes().replace(
        b"<premis:eventDateTime>2026-01-01T00:16:39+00:00</premis:eventDateTime>", b"", 1
    )
    target.write_bytes(broken)
    assert not is_valid(target)
    with pytest.raises(PremisValidationError) as caught:
        validate(target)
    (detail,) = caught.value.details
    assert "eventOutcomeInformation" in detail
    line = int(detail.split(":")[0].removeprefix("line "))
    assert b"<premis:eventOutcomeInformation>" in broken.splitlines()[line - 1]
