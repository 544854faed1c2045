"""Access events built directly (no log format in between), for projection and report tests."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eventstore import EventRecord, EventStore, SQLiteEventStore
from provenance.domain.events import AgentRef, ServiceAccessed, SourceRef, access_stream, dump_event
from provenance.projections import access_counts

T0 = datetime(2026, 3, 1, tzinfo=UTC)
AGENTS = (
    AgentRef(name="crawler:Googlebot", kind="software"),
    AgentRef(name="stanford", kind="organization"),
    AgentRef(name="user:argo", kind="person"),
    AgentRef(name="client:anon:0123456789ab", kind="hardware"),
)
TEMPLATES = ("/file/druid:{druid}/{file}", "/{druid}", "/v1/objects/druid:{druid}/events", None)
DRUIDS = ("druid:bb123cd4567", "druid:cc234dd5678", None)


def access_record(
    number: int,
    *,
    at: datetime = T0,
    service: str = "stacks",
    agent: AgentRef = AGENTS[0],
    client_id: str | None = "anon:0123456789ab",
    status: int | None = 200,
    template: str | None = TEMPLATES[0],
    druid: str | None = DRUIDS[0],
    size: int | None = 1000,
    expires_at: datetime | None = None,
) -> EventRecord:
    event = ServiceAccessed(
        event_id=f"00000000-0000-5000-8000-{number:012d}",
        object=None,
        occurred_at=at,
        recorded_at=at,
        source=SourceRef(type="clf"),
        agent=agent,
        service=service,
        client="192.0.2.1" if client_id else None,
        client_id=client_id,
        status=status,
        template=template,
        druid=druid,
        bytes=size,
    )
    record = EventRecord(
        event_id=event.event_id,
        stream=access_stream(service, at),
        type="ServiceAccessed",
        occurred_at=at,
        payload=dump_event(event),
    )
    return record if expires_at is None else replace(record, expires_at=expires_at)


def random_records(count: int, seed: int, *, days: int = 10) -> list[EventRecord]:
    """Varied requests over `days` days from T0: every dimension takes several values."""
    rng = random.Random(seed)
    return [
        access_record(
            number,
            at=T0 + timedelta(seconds=rng.randrange(days * 86_400)),
            service=rng.choice(("stacks", "purl", "sdr-api")),
            agent=rng.choice(AGENTS),
            client_id=rng.choice(("anon:0123456789ab", "anon:ba9876543210", "171.64.1.2", None)),
            status=rng.choice((200, 200, 200, 304, 404, 500, None)),
            template=rng.choice(TEMPLATES),
            druid=rng.choice(DRUIDS),
            size=rng.choice((0, 512, 1_000_000, None)),
        )
        for number in range(count)
    ]


VIEW_FIELDS = {
    access_counts.CELLS: ("cells",),
    access_counts.SUMMARIES: ("agent", "path", "status", "agent_path"),
    access_counts.DAILY: ("agent", "path", "status", "agent_path"),
    access_counts.DRUIDS: ("druid",),
    access_counts.TOTALS: ("agent", "path", "status"),
    access_counts.CLIENTS: ("agent_client",),
}


def replayed_views(
    records: list[EventRecord], path: Path
) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """`summed_views` of what the checkpointed projector makes of `records` in a new store
    at `path` (the count a replay, `prov rebuild`, gives)."""
    with SQLiteEventStore(path) as store:
        store.append(records)
        access_counts.catch_up(store)
        return summed_views(store)


def summed_views(store: EventStore) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """Every kind of AccessCounts row as `access_counts.rows` gives it to reports, summed per
    service and hour (day): what any reader sees, whatever shards, continuation rows or rows
    per change hold the counts. The agents' kinds are merged where the kind keeps them."""
    views: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for kind, fields in VIEW_FIELDS.items():
        width = 10 if kind in access_counts.DAY_KINDS else 13
        summed = views[kind] = {}
        for row in access_counts.rows(store, None, None, kind=kind):
            target = summed.setdefault((row["service"], row["hour"][:width]), {})
            if kind in (access_counts.CELLS, access_counts.SUMMARIES, access_counts.DAILY):
                target.setdefault("agents", {}).update(row["agents"])
            for name in fields:
                counts = target.setdefault(name, {})
                for entry, (requests, size) in row[name].items():
                    total = counts.setdefault(entry, [0, 0])
                    total[0] += requests
                    total[1] += size
    return views


def busy_records(count: int, seed: int) -> list[EventRecord]:
    """Requests of a busy service over three hours: most clients, druids and agents are new,
    so every kind of row gathers more distinct keys than a fixed number of shards would hold."""
    rng = random.Random(seed)
    records = []
    for number in range(count):
        client = f"anon:{rng.randrange(16**12):012x}"
        agent = (
            rng.choice(AGENTS)
            if rng.random() < 0.5
            else AgentRef(name=f"client:{client}", kind="hardware")
        )
        records.append(
            access_record(
                number,
                at=T0 + timedelta(seconds=rng.randrange(3 * 3600)),
                agent=agent,
                client_id=client,
                status=rng.choice((200, 304, 404, None)),
                template=rng.choice(TEMPLATES),
                druid=f"druid:bb{rng.randrange(1000):03d}cd{rng.randrange(10000):04d}",
                size=rng.choice((0, 512, None)),
            )
        )
    return sorted(records, key=lambda record: record.occurred_at)
