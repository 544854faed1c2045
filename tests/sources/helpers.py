"""What every source test does: feed lines to a source, build its drafts as ingest would."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, tzinfo

from hypothesis import strategies as st

from provenance.domain.events import AgentRef, DomainEvent, ServiceAccessed, SourceRef, dump_event
from provenance.sources.base import Entry, Source, SourceContext


def feed_source(
    source_class: type[Source], lines: list[str], tz: tzinfo, origin: str
) -> list[Entry]:
    source = source_class(SourceContext(tz=tz, origin=origin))
    entries: list[Entry] = []
    for number, text in enumerate(lines, 1):
        entries.extend(source.feed(number, text))
    entries.extend(source.finish())
    return entries


def build_events(entries: list[Entry], source_name: str) -> list[DomainEvent]:
    """Every draft as the pipeline would build it (and store it): the model must accept it."""
    events = []
    for entry in entries:
        for draft in entry.drafts:
            fields = dict(draft.fields)
            if draft.model is ServiceAccessed:
                # Ingest's access policy decides these; a source never does.
                assert "agent" not in fields and "client_id" not in fields
                fields.setdefault("service", "test-service")
                fields["agent"] = AgentRef(name="test-agent")
            event = draft.model(
                event_id="x",
                recorded_at=datetime(2026, 3, 5, tzinfo=UTC),
                source=SourceRef(type=source_name),
                **fields,
            )
            dump_event(event)
            events.append(event)
    return events


def assert_accounted(lines: list[str], entries: list[Entry], *, in_order: bool = True) -> None:
    """Every line fed is in exactly one entry, and every entry is exactly one of consumed,
    ignored or quarantined. Sources that join interleaved lines (rails) emit entries when
    they complete, so for them only the multiset of lines is compared."""
    got = [text for entry in entries for text in entry.lines]
    if in_order:
        assert got == lines
    else:
        assert Counter(got) == Counter(lines)
    for entry in entries:
        kinds = [bool(entry.drafts), entry.ignored is not None, entry.quarantined is not None]
        assert kinds.count(True) == 1, entry


def mutated(real: list[str], reach: int) -> st.SearchStrategy[str]:
    """Real lines with up to four characters overwritten somewhere in their first `reach`:
    the near misses a parser meets in damaged logs."""
    return st.builds(
        lambda line, at, junk: line[:at] + junk + line[at + len(junk) :],
        st.sampled_from(real),
        st.integers(0, reach),
        st.text(max_size=4),
    )


def any_line(real: list[str], *variations: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Real lines, their variations, arbitrary text and very long text: what a fuzz test of
    a line-oriented source draws from."""
    return st.one_of(
        st.sampled_from(real),
        *variations,
        st.text(max_size=200),
        st.text(min_size=5_000, max_size=20_000, alphabet=st.characters(codec="utf-8")),
    )


def log_bytes(lines: list[str]) -> bytes:
    """Lines as a log file's bytes, each ending in a newline."""
    return "".join(f"{line}\n" for line in lines).encode()
