"""The prescat source's one-match parse and its drafts built without validation.

The layout and the result are read in one match per line (`prescat._HEAD`), and a draft's
event is built from its fields as they are (`provenance.domain.event_shapes`): both must give
exactly what the two patterns and the model's validator gave before, for any line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from provenance.cli.demo.world import generate
from provenance.domain.events import QUARANTINE_STREAM, DomainEvent, SourceRef, dump_event
from provenance.sources.base import Entry, SourceContext
from provenance.sources.prescat import _HEAD, PrescatSource
from provenance.sources.prescat_messages import recognise
from tests.sources.test_prescat import LA, _any_line, feed

# The two patterns a line went through before (the layout, then the result in its message).
_SEVERITY = r"(?:DEBUG|INFO|WARN|ERROR|FATAL|UNKNOWN|ANY)"
_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]{1,9})?"
_ZONE = r"(?: ?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?))?"
LAYOUT = re.compile(
    rf"[DIWEFAU], \[(?P<rts>{_TIME}{_ZONE}) ?#[0-9]+\] +{_SEVERITY} -- (?P<prog>.*?):(?: |$)"
    r"(?P<rmsg>.*)"
    rf"|\[(?P<ts>{_TIME}{_ZONE})\] \[{_SEVERITY}\](?: \[[^\]]*\])*(?: |$)(?P<msg>.*)"
    r"|(?P<header># Logfile created on .*)",
    re.DOTALL,
)
RESULT = re.compile(
    r"(?P<check>[A-Za-z_][A-Za-z0-9_:]*)\((?P<druid>[^,()]*),(?P<area>[^()]*)\)(?: (?P<msg>.*))?",
    re.DOTALL,
)
_RECORDED = re.compile(rb'"recorded_at":"[^"]*"')
NAMES = ("rts", "ts", "header", "check", "druid", "area", "result")


def two_matches(line: str) -> tuple[str | None, ...] | None:
    layout = LAYOUT.match(line)
    if layout is None:
        return None
    result = RESULT.fullmatch(layout["rmsg"] if layout["rts"] is not None else layout["msg"] or "")
    parts = result.group("check", "druid", "area", "msg") if result else (None,) * 4
    return (layout["rts"], layout["ts"], layout["header"], *parts)


def one_match(line: str) -> tuple[str | None, ...] | None:
    head = _HEAD.match(line)
    return None if head is None else head.group(*NAMES)


_lines = st.one_of(_any_line, st.text(), st.text(alphabet="[]():, #-TIWE0123456789\n"))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_lines)
def test_one_match_reads_a_line_as_the_two_patterns_did(line: str) -> None:
    assert one_match(line) == two_matches(line)


@pytest.mark.parametrize(
    "line",
    [
        "I, [2026-03-01T22:14:05.123456 #1]  INFO -- a: b: check(bj102hs9687, r) checksum(s) match",
        "I, [2026-03-01T22:14:05.123456 #1]  INFO -- :x check(bj102hs9687, r) checksum(s) match",
        "[2026-03-02T10:01:02-08:00] [INFO] [a]x check(bj102hs9687, r) checksum(s) match",
        "[2026-03-02T10:01:02-08:00] [INFO] [a] [b] check(bj102hs9687, r) checksum(s) match",
        "[2026-03-02T10:01:02-08:00] [INFO]check(bj102hs9687, r) x",
        "I, [2026-03-01T22:14:05 #1]  INFO -- : check(bj102hs9687, r)\n",
    ],
)
def test_splits_that_a_result_could_tempt(line: str) -> None:
    """A result later in the line never moves the layout's split (the atomic groups)."""
    assert one_match(line) == two_matches(line)


def assert_built_as_validated(entries: list[Entry]) -> int:
    """Every draft's event built from its fields is the event its model validates from them:
    same class, field values (and their types), field order, set fields and stored bytes."""
    built = 0
    recorded_at = datetime(2026, 3, 5, tzinfo=UTC)
    for entry in entries:
        ref = SourceRef(type="prescat", origin="", file="a.log", line=entry.line_no)
        for draft in entry.drafts:
            assert draft.shape is not None and draft.shape.model is draft.model
            fast = draft.event("id-1", recorded_at, ref)
            checked: DomainEvent = draft.model(
                event_id="id-1", recorded_at=recorded_at, source=ref, **draft.fields
            )
            assert type(fast) is type(checked)
            assert list(fast.__dict__.items()) == list(checked.__dict__.items())
            assert _types(fast) == _types(checked)
            assert fast.model_fields_set == checked.model_fields_set
            assert dump_event(fast) == dump_event(checked)
            # What ingest stores: the event's values without the instance, its source as a
            # dict (`EventShape.values`, `Reader._records`).
            values = draft.shape.values(draft.fields, "id-1", recorded_at, dict(ref))
            assert to_json(values) == dump_event(checked)
            assert values == {**checked.__dict__, "source": dict(ref)}
            assert draft.shape.type_name == checked.type  # type: ignore[attr-defined]
            built += 1
    return built


def _types(value: Any) -> Any:
    if isinstance(value, DomainEvent | SourceRef) or hasattr(value, "__pydantic_fields__"):
        return (type(value), {k: _types(v) for k, v in value.__dict__.items()})
    if isinstance(value, tuple):
        return (tuple, [_types(item) for item in value])
    return type(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_any_line, max_size=25))
def test_drafts_build_the_events_their_models_validate(lines: list[str]) -> None:
    assert_built_as_validated(feed(lines))


def test_every_demo_line_builds_the_payload_it_validates_to(tmp_path: Path) -> None:
    data = generate(tmp_path, objects=60, days=30)
    built = 0
    for demo in data.files:
        text = demo.path.read_bytes().decode("utf-8", "surrogateescape")
        if not PrescatSource.detect(text.partition("\n")[0]):
            continue
        built += assert_built_as_validated(feed(text.rstrip("\n").split("\n"), tz=LA))
    assert built > 500


def test_ingest_stores_what_the_validated_events_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Reader._records` stores a shaped draft's values without making its event: the same
    records (ids, streams, types, times, payload bytes) as the model validating every draft."""
    from eventstore.sqlite import SQLiteEventStore
    from provenance.sources import prescat
    from tests.conftest import ingest_bytes

    data = generate(tmp_path / "demo", objects=40, days=20)
    logs = [demo.path.read_bytes() for demo in data.files]
    text = b"".join(
        log
        for log in logs
        if PrescatSource.detect(log.partition(b"\n")[0].decode("utf-8", "surrogateescape"))
    )
    # A line whose bytes are not UTF-8 comes too: the entries after it are made visible.
    text += (
        b"I, [2026-03-01T22:14:05.1 #1]  INFO -- : validate_checksums(bj102hs9687, r\xe9)"
        b" checksum(s) match\n"
    )

    def records(name: str) -> list[tuple[object, ...]]:
        with SQLiteEventStore(tmp_path / name) as store:
            ingest_bytes(store, text, source="prescat", name="a\udce9.log")
            # Each ingest records its own time (a quarantined line's record is dated by it).
            return [
                (r.event_id, r.stream, r.type)
                if r.stream == QUARANTINE_STREAM
                else (r.event_id, r.stream, r.type, r.occurred_at, _RECORDED.sub(b"", r.payload))
                for r in store.read_all()
            ]

    shaped = records("shaped.db")
    # Drafts without a shape: the model validates each, and its instance is stored.
    monkeypatch.setattr(prescat, "_SHAPES", dict.fromkeys(prescat._SHAPES))
    validated = records("validated.db")
    assert len(shaped) > 300
    assert shaped == validated


@settings(max_examples=150, deadline=None)
@given(
    actual=st.one_of(st.just(""), st.from_regex(r"[0-9]{1,12}", fullmatch=True)),
    check=st.sampled_from(
        ["check_catalog_version", "validate_checksums", "create", "update_version", "x"]
    ),
    record=st.sampled_from(["MoabRecord ", "CompleteMoab ", "", "odd words "]),
)
def test_the_commonest_results_values_are_what_the_general_reading_gives(
    actual: str, check: str, record: str
) -> None:
    """VERSION_MATCHES (two lines in five of an audit log) is read by a path of its own in
    `make_entry`: the same fields as `_add_values`, which reads every other result."""
    message = f"actual version ({actual}) matches {record}db version"
    line = f"I, [2026-03-01T22:14:05.123456 #1]  INFO -- : {check}(bj102hs9687, r) {message}"
    source = PrescatSource(SourceContext(tz=LA))
    [entry] = source.feed(1, line) + source.finish()
    [draft] = entry.drafts
    recognised = recognise(message)
    assert recognised is not None and recognised[0] == draft.fields["result_code"]
    # What `make_entry` sets before a result's values, then the general reading of them.
    _, static, _ = source._bases[(recognised[0], check, "r")]
    general = static.copy()
    for name in ("object", "object_conforming", "occurred_at", "detail"):
        general[name] = draft.fields[name]
    source._add_values(draft.model, recognised[0], recognised[1], message, general)
    assert list(draft.fields.items()) == list(general.items())
