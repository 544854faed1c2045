"""Access events built without the model (`provenance.ingest.access_event`) are the model's.

The stored payload bytes must be exactly `dump_event(ServiceAccessed(...))`, and the plain data
handed to the projections exactly what `load_payload` reads back, for every request line our
parsers read: generated Common/Combined Log Format lines, the demo's access logs (clf, lograge,
rails), and arbitrary field values (which either give the same bytes or are left to the model).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import time_key
from eventstore.sqlite import SQLiteEventStore
from provenance.access.policy import AccessPolicy
from provenance.cli.demo.world import DemoFile, generate
from provenance.domain.events import (
    AgentRef,
    ServiceAccessed,
    SourceRef,
    dump_event,
    load_payload,
)
from provenance.ingest import reader
from provenance.ingest.access_event import access_event, time_text, typed_fields
from provenance.ingest.event_records import make_visible
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.sources import create_source
from provenance.sources.base import SourceContext

LA = ZoneInfo("America/Los_Angeles")
RECORDED = datetime(2026, 12, 7, 8, 0, 1, 250_000, tzinfo=UTC)
SOURCE = {"type": "clf", "origin": "stacks-web-1", "file": "access.log", "line": 7}
AGENT = AgentRef(name="crawler:Googlebot", kind="software")
POLICY = AccessPolicy.default(key=b"k" * 32)


def model_payload(fields: dict[str, Any], service: str = "stacks") -> bytes:
    """What ingest stored before: the model, validated, then serialized."""
    event = ServiceAccessed(
        event_id="4f0c5a1e-0000-5000-8000-000000000000",
        recorded_at=RECORDED,
        source=SourceRef(**SOURCE),
        agent=AGENT,
        client_id="anon:0123456789ab",
        **{"service": service, **fields},
    )
    return dump_event(event)


def built(fields: dict[str, Any], service: str = "stacks") -> tuple[dict[str, Any], bytes]:
    return access_event(
        fields,
        event_id="4f0c5a1e-0000-5000-8000-000000000000",
        occurred_at=time_text(fields["occurred_at"]),
        recorded_at=time_text(RECORDED),
        source=dict(SOURCE),
        agent=AGENT.model_dump(mode="json"),
        client_id="anon:0123456789ab",
        service=service,
    )


def assert_same_as_model(fields: dict[str, Any]) -> None:
    assert typed_fields(fields), fields
    data, payload = built(fields)
    assert payload == model_payload(fields)
    assert data == load_payload(payload)


# Common / Combined Log Format lines, field by field, with what real logs put in each.
_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters='"\\\n\r'), max_size=30)
_escaped = st.lists(
    st.one_of(_text, st.sampled_from(['\\"', "\\\\", "\\x22", "\\xc3\\xa9", "\\xff", "\\t"])),
    max_size=4,
).map("".join)
_clients = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["-", "crawl-66-249-66-1.googlebot.com", "10.0.0.1, 192.168.1.1"]),
)
_times = st.builds(
    lambda moment, zone: moment.strftime("%d/%b/%Y:%H:%M:%S ") + zone,
    st.datetimes(datetime(1990, 1, 1), datetime(2040, 1, 1)),
    st.sampled_from(["-0800", "+0000", "+0530", "-0000", "+1400", "-1159"]),
)
_targets = st.one_of(
    st.sampled_from(
        [
            "/file/druid:bb123cd4567/a%20b.pdf?download=true",
            "/image/iiif/bb123cd4567%2Fpage_0001/full/!400,400/0/default.jpg",
            "/v1/objects/druid:bb123cd4567/events?page=2&per=100",
            "/",
            "*",
            "http://purl.stanford.edu/bb123cd4567.xml",
            '/a\\"b',
        ]
    ),
    st.text(alphabet=st.characters(codec="ascii", exclude_characters=' "\\\x7f'), min_size=1)
    .filter(lambda t: not t[0].isspace() and all(c.isprintable() for c in t))
    .map(lambda t: "/" + t),
)
_lines = st.builds(
    lambda vhost, client, user, time, method, target, protocol, status, size, tail, duration: (
        f'{vhost}{client} - {user} [{time}] "{method} {target}{protocol}" {status} {size}'
        f"{tail}{duration}"
    ),
    st.sampled_from(["", "stacks.stanford.edu:443 "]),
    _clients,
    st.sampled_from(["-", "jdoe", "svc-account"]),
    _times,
    st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "PROPFIND"]),
    _targets,
    st.sampled_from([" HTTP/1.1", " HTTP/2.0", " HTTP/2", ""]),
    st.integers(100, 599),
    st.one_of(st.just("-"), st.integers(0, 10**18 - 1).map(str)),
    st.one_of(st.just(""), st.builds(lambda r, a: f' "{r}" "{a}"', _escaped, _escaped)),
    st.one_of(
        st.just(""),
        st.decimals(0, 10**6, places=4, allow_nan=False).map(lambda d: f" {d}"),
        st.integers(0, 999_999_999).map(lambda n: f" {n}"),
    ),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_lines)
def test_clf_lines_give_the_models_bytes(line: str) -> None:
    source = create_source("clf", SourceContext(tz=LA, origin="stacks-web-1"))
    for entry in source.feed(1, line):
        for draft in entry.drafts:
            assert_same_as_model(draft.fields)


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=10),
    st.datetimes(timezones=st.just(UTC)),
    st.lists(st.integers(), max_size=2),
)
_names = st.sampled_from(
    [
        "object",
        "host",
        "client",
        "user",
        "method",
        "path",
        "template",
        "protocol",
        "status",
        "bytes",
        "duration_ms",
        "referer",
        "user_agent",
        "druid",
        "request_id",
        "controller",
        "response_format",
        "complete",
        "object_conforming",
        "version",
        "detail",
        "premis_type",
        "outcome",
        "type",
        "service",
        "client_id",
        "agent",
        "linked_objects",
        "schema_version",
        "unknown_field",
    ]
)
_zones = st.one_of(
    st.just(UTC),
    st.timezones(),
    st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
)


@settings(max_examples=500)
@given(
    st.dictionaries(_names, _values, max_size=8),
    st.one_of(st.datetimes(timezones=_zones), st.datetimes(), st.none()),
)
def test_any_fields_give_the_models_bytes_or_are_left_to_the_model(
    extra: dict[str, Any], occurred_at: datetime | None
) -> None:
    fields: dict[str, Any] = {"object": None, **extra}
    if occurred_at is not None:
        fields["occurred_at"] = occurred_at
    if not typed_fields(fields):
        return
    try:
        expected = model_payload(fields)
    except Exception as refused:  # whatever the model refuses, the builder must refuse too
        with pytest.raises(type(refused)):
            built(fields)
        return
    data, payload = built(fields)
    assert payload == expected
    assert data == load_payload(payload)


def test_what_the_model_would_validate_is_left_to_it() -> None:
    base: dict[str, Any] = {"object": None, "occurred_at": datetime(2026, 3, 1, tzinfo=UTC)}
    assert typed_fields(base)
    for name, value in [
        ("status", "200"),  # the model would coerce it
        ("status", True),
        ("duration_ms", 5),
        ("duration_ms", float("inf")),
        ("duration_ms", float("nan")),
        ("type", "ServiceAccessed"),
        ("linked_objects", ()),
        ("agent", "someone"),
        ("client_id", "anon:1"),
        ("schema_version", 1),
        ("nonsense", 1),
    ]:
        assert not typed_fields({**base, name: value}), name
    assert not typed_fields({"object": None})
    assert not typed_fields({"occurred_at": base["occurred_at"]})  # `object` is required
    assert not typed_fields({**base, "occurred_at": datetime(2026, 3, 1)})  # naive
    assert not typed_fields({**base, "occurred_at": "2026-03-01T00:00:00Z"})


def test_undecodable_text_is_refused_like_the_model_refuses_it() -> None:
    fields = {"object": None, "occurred_at": datetime(2026, 3, 1, tzinfo=UTC), "path": "/\udcff"}
    assert typed_fields(fields)
    with pytest.raises(ValueError, match="surrogates"):
        model_payload(fields)
    with pytest.raises(ValueError, match="surrogates"):
        built(fields)


@pytest.fixture(scope="module")
def demo_logs(tmp_path_factory: pytest.TempPathFactory) -> list[DemoFile]:
    """The demo's access logs (each with its source and service)."""
    data = generate(tmp_path_factory.mktemp("demo"), objects=60, days=20)
    logs = [item for item in data.files if item.service is not None]
    assert {log.source for log in logs} >= {"clf", "lograge", "rails"}
    return logs


def test_the_demos_access_logs_give_the_models_bytes(demo_logs: list[DemoFile]) -> None:
    drafts = 0
    for log in demo_logs:
        source = create_source(log.source, SourceContext(tz=LA, origin="demo"))
        # The demo's logs have a line that is not UTF-8, read as ingest reads it.
        text = log.path.read_text(encoding="utf-8", errors="surrogateescape")
        entries = [e for n, line in enumerate(text.splitlines(), 1) for e in source.feed(n, line)]
        for entry in [*entries, *source.finish()]:
            make_visible(entry)
            for draft in entry.drafts:
                if draft.model is ServiceAccessed:
                    assert_same_as_model(draft.fields)
                    drafts += 1
    assert drafts > 1_000


def _stored(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every event and projection row, with each event's `recorded_at` (ingest's clock, also
    the time of quarantine records) spelled the same in every run."""
    same = []
    with SQLiteEventStore(path, create=False) as store:
        for record in store.read_all():
            clock = load_payload(record.payload)["recorded_at"]
            expires = None if record.expires_at is None else time_key(record.expires_at)
            same.append(
                (
                    record.position,
                    record.event_id,
                    record.stream,
                    record.type,
                    time_key(record.occurred_at).replace(clock, "T"),
                    record.payload.replace(clock.encode(), b"T"),
                    expires,
                )
            )
        rows = [
            (name, row.key, row.value, row.version)
            for name in ("access_counts", "object_state")
            for row in store.read_projection(name)
        ]
    return same, rows


def test_ingest_stores_what_the_model_path_stored(
    demo_logs: list[DemoFile], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same events, ids, payload bytes, expiries and projection rows (fed from memory)
    as when every access event went through the model and was read back."""
    retaining = AccessPolicy.default(key=b"k" * 32)
    retaining.retention_days = 30
    stores = {}
    for label, typed in (("model", lambda _fields: False), ("typed", typed_fields)):
        monkeypatch.setattr(reader, "typed_fields", typed)
        path = tmp_path / f"{label}.db"
        store = SQLiteEventStore(path)
        for log in demo_logs:
            with log.path.open("rb") as stream:
                options = IngestOptions(
                    source=log.source, service=log.service, tz=LA, access_policy=retaining
                )
                ingest_stream(store, stream, log.path.name, options)
        store.close()
        stores[label] = _stored(path)
    model_events, model_rows = stores["model"]
    typed_events, typed_rows = stores["typed"]
    assert len(typed_events) > 1_000
    assert any(row[6] is not None for row in typed_events)  # expiries were set
    assert typed_events == model_events
    assert typed_rows == model_rows
