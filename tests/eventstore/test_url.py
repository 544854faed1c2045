"""`open_store`: which URL opens which store, and what it says about the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventstore import SQLiteEventStore, StoreUnavailableError, open_store
from eventstore.url import dynamodb_location
from tests.eventstore.contract import event


def _holds_a(path: Path) -> bool:
    with SQLiteEventStore(path, create=False) as store:
        return [r.event_id for r in store.read_all()] == ["a"]


@pytest.mark.parametrize(
    "url",
    ["sqlite:///events.db", "sqlite:///sub/events.db", "events.db", "sub/events.db"],
)
def test_relative_sqlite_urls_and_paths(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()

    with open_store(url) as store:
        store.append([event("a")])

    assert _holds_a(tmp_path / url.removeprefix("sqlite:///"))


@pytest.mark.parametrize("form", ["sqlite:///{}", "SQLite:///{}", "{}"])
def test_absolute_sqlite_urls_and_paths(form: str, tmp_path: Path) -> None:
    path = tmp_path / "events.db"

    with open_store(form.format(path)) as store:  # sqlite:/// + /abs/path = four slashes
        store.append([event("a")])

    assert _holds_a(path)


def test_create_false_is_passed_on(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match=r"absent\.db"):
        open_store(f"sqlite:///{tmp_path}/absent.db", create=False)

    assert not (tmp_path / "absent.db").exists()


def test_in_memory_url() -> None:
    with open_store("sqlite:///:memory:") as store:
        assert store.append([event("a")]).written == ["a"]


def test_dynamodb_urls_name_table_region_and_endpoint() -> None:
    assert dynamodb_location(
        "dynamodb://provenance-events?region=us-west-2&endpoint_url=http://127.0.0.1:5000"
    ) == {
        "table": "provenance-events",
        "region": "us-west-2",
        "endpoint_url": "http://127.0.0.1:5000",
    }
    assert dynamodb_location("dynamodb://provenance-events") == {
        "table": "provenance-events",
        "region": None,
        "endpoint_url": None,
    }


@pytest.mark.parametrize(
    "url", ["postgres://db/events", "s3://bucket/key", "sqlite://host/events.db", "sqlite:///", ""]
)
def test_unusable_urls_name_the_accepted_forms(url: str) -> None:
    with pytest.raises(StoreUnavailableError, match=r"sqlite:///relative/path\.db"):
        open_store(url)
