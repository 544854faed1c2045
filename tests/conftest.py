"""Shared fixtures: a fresh embedded store per test, and a way to ingest text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from eventstore.sqlite import SQLiteEventStore
from provenance.ingest import IngestOptions, IngestReport, ingest_stream

LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "provenance.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[SQLiteEventStore]:
    with SQLiteEventStore(store_path) as opened:
        yield opened


def ingest_bytes(
    store: SQLiteEventStore,
    data: bytes,
    *,
    source: str = "auto",
    name: str | None = "input.log",
    origin: str = "",
    tz: ZoneInfo = LA,
) -> IngestReport:
    options = IngestOptions(source=source, origin=origin, tz=tz)
    return ingest_stream(store, io.BytesIO(data), name, options)
