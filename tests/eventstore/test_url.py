"""`open_store`: which URL opens which store, and what it says about the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventstore import SQLiteEventStore, StoreUnavailableError, open_store
from eventstore.url import check_store_url, dynamodb_location, init_store
from tests.eventstore.contract import event


def _holds_a(path: Path) -> bool:
    with SQLiteEventStore(path, create=False) as store:
        return [r.event_id for r in store.read_all()] == ["a"]


@pytest.mark.parametrize("url", ["sqlite:///events.db", "sqlite:///sub/events.db"])
def test_relative_sqlite_urls(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()

    with open_store(url) as store:
        store.append([event("a")])

    assert _holds_a(tmp_path / url.removeprefix("sqlite:///"))


@pytest.mark.parametrize("form", ["sqlite:///{}", "SQLite:///{}"])
def test_absolute_sqlite_urls(form: str, tmp_path: Path) -> None:
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


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("garbage", "sqlite:///garbage"),
        ("events.db", "sqlite:///events.db"),
        ("sub/events.db", "sqlite:///sub/events.db"),
        ("{tmp}/events.db", "sqlite:///{tmp}/events.db"),  # four slashes: absolute
        (":memory:", "sqlite:///:memory:"),
    ],
)
@pytest.mark.parametrize("opener", ["open", "init", "check"])
def test_a_path_without_scheme_is_refused_with_its_url_and_nothing_is_created(
    given: str, suggested: str, opener: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    given, suggested = given.format(tmp=tmp_path), suggested.format(tmp=tmp_path)
    call = {"open": open_store, "init": init_store, "check": check_store_url}[opener]

    with pytest.raises(StoreUnavailableError) as refused:
        call(given)

    message = str(refused.value)
    assert f"give {suggested};" in message
    assert "sqlite:////absolute/path.db" in message and "dynamodb://TABLE" in message
    assert "\n" not in message
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub"]


@pytest.mark.parametrize("url", ["sqlite:/events.db", "dynamodb:table", "file:events.db"])
def test_a_url_without_slashes_gets_the_forms_but_no_path_suggestion(url: str) -> None:
    with pytest.raises(StoreUnavailableError) as refused:
        check_store_url(url)
    assert "is not a store URL: use sqlite:///" in str(refused.value)
    assert "give sqlite:///" not in str(refused.value)


def test_check_store_url_names_the_backend() -> None:
    assert check_store_url("sqlite:///events.db") == "sqlite"
    assert check_store_url("dynamodb://provenance-events?region=us-west-2") == "dynamodb"
