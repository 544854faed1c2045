"""Shared fixtures: a fresh embedded store per test, and a way to ingest text."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings

from eventstore.sqlite import SQLiteEventStore
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.ingest.report import IngestReport
from tests.aws_server import FAKE_CREDENTIALS, MotoServer

# No deadline on any property: a loaded CI machine can take longer than hypothesis's 200 ms
# for one example, which says nothing about the code (tests assert no timings).
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

LA = ZoneInfo("America/Los_Angeles")
TEST_KEY = "test-pseudonym-key-0123456789"


@pytest.fixture(autouse=True)
def _private_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real user's configuration (access policy, pseudonym key)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("PROV_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("PROV_ACCESS_POLICY", raising=False)
    # A deployment's settings in the developer's shell would change what tests expect.
    monkeypatch.delenv("PROV_ACCESS_EVENT_DAYS", raising=False)
    monkeypatch.delenv("PROV_PSEUDONYM_KEY_SECRET", raising=False)


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
    service: str | None = None,
) -> IngestReport:
    options = IngestOptions(source=source, origin=origin, tz=tz, service=service)
    return ingest_stream(store, io.BytesIO(data), name, options)


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and no profile: a client without the moto endpoint cannot sign in."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # AWS_REGION beats AWS_DEFAULT_REGION (eventstore.aws_region): a shell's must not leak in.
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("PROV_STORE", raising=False)
    monkeypatch.delenv("PROV_API", raising=False)  # `prov` would ask a deployed API instead


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """The moto server of this test process (each xdist worker starts its own)."""
    for name, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    server = MotoServer()
    yield server
    server.stop()
