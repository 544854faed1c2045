"""Whatever bytes come in, ingest never raises and every line is accounted for."""

from __future__ import annotations

import io
from datetime import UTC

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore.sqlite import MEMORY, SQLiteEventStore
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from tests.samples import (
    CHECKSUM_MISMATCH,
    CHECKSUM_OK,
    REPLICATED,
    ROBOT_FINISHED,
    ROBOT_PROCESSING,
    STATUS_CHANGED,
)

RAILS_ID = "[2026-03-02T10:01:02-08:00] [INFO] [8c1d5e2f]"
REAL = [
    CHECKSUM_OK,
    CHECKSUM_MISMATCH,
    STATUS_CHANGED,
    REPLICATED,
    ROBOT_PROCESSING,
    ROBOT_FINISHED,
    '171.64.1.2 - - [02/Mar/2026:10:01:02 -0800] "GET /file/druid:bb123cd4567/a.pdf HTTP/1.1"'
    ' 200 12345 "-" "Mozilla/5.0 (compatible; Googlebot/2.1)" 0.0123',
    "[2026-03-02T10:01:02-08:00] [INFO] [3f2a] method=GET path=/v1/objects/druid:bc123df4567"
    " format=json controller=EventsController action=index status=200 duration=58.33",
    f'{RAILS_ID} Started GET "/bb123cd4567" for 171.64.1.2 at 2026-03-02 10:01:02 -0800',
    f"{RAILS_ID} Processing by PurlController#show as HTML",
    f'{RAILS_ID}   Parameters: {{"id"=>"bb123cd4567"}}',
    f"{RAILS_ID} Completed 200 OK in 17ms (Views: 1.2ms)",
]
SOURCES = ["auto", "prescat", "robots", "sdr-events", "clf", "lograge", "rails"]
real_lines = st.sampled_from([line.encode() for line in REAL])
# Real lines with a few bytes flipped, cut short or extended: the near misses parsers meet.
mutated = st.builds(
    lambda line, at, junk: (line[:at] + junk + line[at + len(junk) :]).replace(b"\n", b""),
    real_lines,
    st.integers(0, 200),
    st.binary(max_size=4),
)
any_line = st.one_of(
    real_lines, mutated, st.binary(max_size=300).map(lambda b: b.replace(b"\n", b""))
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_line, max_size=40), st.sampled_from(SOURCES))
def test_ingest_never_raises_and_accounts_for_every_line(lines: list[bytes], source: str) -> None:
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    with SQLiteEventStore(MEMORY) as store:
        report = ingest_stream(store, io.BytesIO(data), "fuzz.log", IngestOptions(source, tz=UTC))
        assert report.lines == len(lines)
        assert report.lines == report.consumed + report.ignored + report.quarantined
        again = ingest_stream(store, io.BytesIO(data), "again.log", IngestOptions(source, tz=UTC))
        assert again.events == 0
        assert again.duplicates == report.events
