"""Fleet queries (`provenance.query.fleet`): lists and totals across every object, answered
from the indexes and totals the object state projection keeps, compared with what reading
every object's state says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from eventstore import EventStore, SQLiteEventStore
from provenance.cli.demo.world import generate
from provenance.ingest.pipeline import ingest_stream
from provenance.ingest.reader import IngestOptions
from provenance.projections import object_state
from provenance.projections.object_fleet import fleet_index
from provenance.query.fleet import (
    FAILURE_KINDS,
    FleetQuery,
    FleetQueryError,
    fleet_objects,
    fleet_report,
    object_view,
)
from provenance.query.http_api import QueryApi

LA = ZoneInfo("America/Los_Angeles")


def _ingest(directory: Path, name: str, files: list[Path]) -> SQLiteEventStore:
    store = SQLiteEventStore(directory / name)
    options = IngestOptions(source="auto", tz=LA)
    for path in files:
        with path.open("rb") as stream:
            ingest_stream(store, stream, path.name, options)
    return store


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EventStore, EventStore]]:
    """The same small demo world ingested in two orders."""
    directory: Path = tmp_path_factory.mktemp("fleet")
    data = generate(directory, objects=40, days=30)
    files = [file.path for file in data.files]
    forward = _ingest(directory, "forward.db", files)
    backward = _ingest(directory, "backward.db", files[::-1])
    object_state.catch_up(forward)
    object_state.catch_up(backward)
    yield forward, backward
    forward.close()
    backward.close()


@pytest.fixture(scope="module")
def store(world: tuple[EventStore, EventStore]) -> EventStore:
    return world[0]


def _states(store: EventStore) -> dict[str, dict[str, Any]]:
    """Every object's state, read row by row (what the indexes spare a request)."""
    states = {}
    for druid in store.streams(prefix="druid:"):
        state = object_state.get_state(store, druid)
        assert state is not None
        states[druid] = state
    return states


def _index(store: EventStore, index: str) -> list[tuple[str, str]]:
    return [
        (entry.term, entry.key)
        for entry in store.read_index(object_state.PROJECTION, index, limit=100_000)
    ]


INDEXES = ("failing", "failing_kind", "status", "root", "fixity", "fixity_root", "replicas")


def test_entries_and_totals_are_those_of_every_row(store: EventStore) -> None:
    entries: set[tuple[str, str, str]] = set()
    totals: dict[str, int] = {}
    for druid, state in _states(store).items():
        indexed = fleet_index(state, object_state.open_failures(state))
        entries |= {(index, term, druid) for index, term in indexed.entries}
        for name, count in indexed.totals.items():
            totals[name] = totals.get(name, 0) + count

    stored = {(i, t, k) for i in (*INDEXES, "activity") for t, k in _index(store, i)}
    assert stored == entries
    assert store.projection_totals(object_state.PROJECTION) == totals
    assert totals["objects"] == len(list(store.streams(prefix="druid:")))


def test_ingest_order_and_rebuild_give_the_same_entries_and_totals(
    world: tuple[EventStore, EventStore], tmp_path: Path
) -> None:
    forward, backward = world
    expected = {index: _index(forward, index) for index in INDEXES}
    totals = forward.projection_totals(object_state.PROJECTION)
    assert {index: _index(backward, index) for index in INDEXES} == expected
    assert backward.projection_totals(object_state.PROJECTION) == totals

    object_state.rebuild(backward)
    assert {index: _index(backward, index) for index in INDEXES} == expected
    assert backward.projection_totals(object_state.PROJECTION) == totals


def test_the_report_is_what_every_object_says(store: EventStore) -> None:
    states = _states(store)
    views = {druid: object_view(state, []) for druid, state in states.items()}

    report = fleet_report(store)

    assert report["objects"] == len(states)
    assert report["versions"] == sum(len(s["versions"]) for s in states.values())
    assert report["events"] == sum(sum(s["events_by_type"].values()) for s in states.values())
    failing = [v for v in views.values() if v["open_failures"]]
    assert report["failing"] == len(failing) > 0
    for kind in FAILURE_KINDS:
        count = sum(1 for v in failing if any(f["kind"] == kind for f in v["open_failures"]))
        assert report["failing_by_kind"].get(kind, 0) == count
    by_status: dict[str, int] = {}
    copies = 0
    for view in views.values():
        copies += len(view["status"])
        for status in set(view["status"].values()):
            by_status[status] = by_status.get(status, 0) + 1
    assert report["by_status"] == dict(sorted(by_status.items()))
    assert sum(sum(s.values()) for s in report["by_root"].values()) == copies
    before = report["overdue"]["before"]
    assert report["overdue"]["count"] == sum(
        1
        for v in views.values()
        if v["status"] and (v["last_fixity_at"] is None or v["last_fixity_at"] < before)
    )
    failures = sum(sum(s["failed_on"].values()) for s in states.values())
    assert sum(report["failures_by_day"].values()) == failures
    assert report["as_of"] == max(v["last_event"] for v in views.values())
    assert [o["druid"] for o in report["recent_failures"]] == [
        o["druid"] for o in fleet_objects(store, FleetQuery(failing=True, limit=10)).objects
    ]
    assert report["recent_activity"] == fleet_objects(store, FleetQuery(limit=10)).objects
    newest = sorted((v["last_event"] for v in views.values()), reverse=True)[:10]
    assert [o["last_event"][:13] for o in report["recent_activity"]] == [t[:13] for t in newest]
    json.dumps(report)  # plain JSON


def _all_pages(store: EventStore, query: FleetQuery, **options: Any) -> list[str]:
    druids: list[str] = []
    after = None
    for _ in range(1000):
        page = fleet_objects(store, FleetQuery(**{**query.__dict__, "after": after}), **options)
        druids += [item["druid"] for item in page.objects]
        if page.next is None:
            return druids
        after = page.next
    raise AssertionError("paging did not end")


def test_failing_objects_newest_failure_first_in_pages(store: EventStore) -> None:
    views = [object_view(state, []) for state in _states(store).values()]
    newest = {
        v["druid"]: max(f["since"] for f in v["open_failures"]) for v in views if v["open_failures"]
    }
    expected = sorted(newest, key=lambda druid: (newest[druid], druid), reverse=True)

    assert _all_pages(store, FleetQuery(failing=True, limit=2)) == expected
    first = fleet_objects(store, FleetQuery(failing=True, limit=3))
    assert [o["druid"] for o in first.objects] == expected[:3]
    for item in first.objects:
        assert item["open_failures"] and item["failing_since"] is not None


@pytest.mark.parametrize("kind", FAILURE_KINDS)
def test_failing_of_one_kind(store: EventStore, kind: str) -> None:
    views = [object_view(state, []) for state in _states(store).values()]
    expected = {v["druid"] for v in views if any(f["kind"] == kind for f in v["open_failures"])}

    found = _all_pages(store, FleetQuery(failing=True, kind=kind, limit=2))

    assert sorted(found) == sorted(expected)
    assert len(found) == len(set(found))


def test_by_status_and_root(store: EventStore) -> None:
    views = [object_view(state, []) for state in _states(store).values()]
    pairs = {(status, root) for v in views for root, status in v["status"].items()}
    assert pairs
    for status, root in sorted(pairs)[:4]:
        both = FleetQuery(status=status, root=root, limit=3)
        assert sorted(_all_pages(store, both)) == sorted(
            v["druid"] for v in views if v["status"].get(root) == status
        )
        assert sorted(_all_pages(store, FleetQuery(root=root, limit=7))) == sorted(
            v["druid"] for v in views if root in v["status"]
        )
        assert sorted(set(_all_pages(store, FleetQuery(status=status, limit=7)))) == sorted(
            v["druid"] for v in views if status in v["status"].values()
        )


def test_not_checked_since_oldest_first(store: EventStore) -> None:
    views = [object_view(state, []) for state in _states(store).values()]
    checked = sorted(v["last_fixity_at"] for v in views if v["last_fixity_at"])
    day = date.fromisoformat(checked[len(checked) // 2][:10])
    expected = [
        v
        for v in views
        if v["status"] and (v["last_fixity_at"] is None or v["last_fixity_at"] < day.isoformat())
    ]
    expected.sort(key=lambda v: (v["last_fixity_at"] or "", v["druid"]))

    found = _all_pages(store, FleetQuery(not_checked_since=day, limit=4))

    assert found == [v["druid"] for v in expected]
    root = next(iter(expected[0]["status"]))
    on_root = _all_pages(store, FleetQuery(not_checked_since=day, root=root, limit=4))
    assert on_root == [v["druid"] for v in expected if root in v["status"]]


def test_unreplicated_against_the_configured_endpoints(store: EventStore) -> None:
    report = fleet_report(store)
    known = report["endpoints"]
    assert known  # the demo replicates to its endpoints
    # Every version is on every endpoint seen: no gap; one more endpoint configured: all are.
    gaps = _all_pages(store, FleetQuery(unreplicated=True, limit=5))
    views = {d: object_view(s, known) for d, s in _states(store).items()}
    assert sorted(gaps) == sorted(d for d, v in views.items() if v["unreplicated"])
    wider = [*known, "ibm_us_south"]
    everything = _all_pages(store, FleetQuery(unreplicated=True, limit=5), endpoints=wider)
    preserved = [d for d, s in _states(store).items() if s["version_seen"]]
    assert sorted(everything) == sorted(preserved)
    page = fleet_objects(store, FleetQuery(unreplicated=True, limit=1), endpoints=wider)
    gap = page.objects[0]["unreplicated"][0]
    assert "ibm_us_south" in gap["missing"] and gap["waiting_since"]
    wide = fleet_report(store, endpoints=wider)
    assert wide["unreplicated"] == len(preserved)
    assert wide["by_endpoint"]["ibm_us_south"] == 0


def test_combined_filters_are_all_met(store: EventStore) -> None:
    views = [object_view(state, []) for state in _states(store).values()]
    failing = [v for v in views if v["open_failures"]]
    root, status = next(iter(failing[0]["status"].items()))

    found = _all_pages(store, FleetQuery(failing=True, root=root, limit=2))

    assert sorted(found) == sorted(v["druid"] for v in failing if root in v["status"])
    both = _all_pages(store, FleetQuery(failing=True, status=status, root=root, limit=2))
    assert sorted(both) == sorted(v["druid"] for v in failing if v["status"].get(root) == status)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (FleetQuery(limit=0), "limit"),
        (FleetQuery(kind="bits"), "kind"),
        (FleetQuery(status=""), "status"),
        (FleetQuery(after="not a token!"), "token"),
        (FleetQuery(failing=True, after="MDAwMDAwMDAwMDAwH29rH2Q"), "other filters"),
    ],
)
def test_bad_queries_are_one_line_errors(
    store: EventStore, query: FleetQuery, message: str
) -> None:
    with pytest.raises(FleetQueryError, match=message):
        fleet_objects(store, query)


def test_an_empty_store_has_an_empty_fleet(tmp_path: Path) -> None:
    with SQLiteEventStore(tmp_path / "empty.db") as empty:
        report = fleet_report(empty)
        assert report["objects"] == 0 and report["as_of"] is None
        assert report["recent_failures"] == [] and report["endpoints"] == []
        assert fleet_objects(empty, FleetQuery()).objects == []
        assert fleet_objects(empty, FleetQuery(unreplicated=True)).objects == []


# -- the API -----------------------------------------------------------------------------------


def _get(store: EventStore, path: str, query: str = "") -> dict[str, Any]:
    api = QueryApi(lambda: store)
    event = {
        "rawPath": path,
        "rawQueryString": query,
        "queryStringParameters": dict(p.split("=", 1) for p in query.split("&") if p),
        "headers": {"accept": "application/json"},
        "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"},
    }
    return api.handle(event)


def test_the_api_answers_what_the_functions_do(store: EventStore) -> None:
    response = _get(store, "/objects", "failing=true&limit=2")
    assert response["statusCode"] == 200
    page = fleet_objects(store, FleetQuery(failing=True, limit=2))
    assert json.loads(response["body"]) == page.objects
    assert response["headers"]["Prov-Next-After"] == page.next
    following = _get(store, "/objects", f"failing=true&limit=2&after={page.next}")
    assert json.loads(following["body"]) == (
        fleet_objects(store, FleetQuery(failing=True, limit=2, after=page.next)).objects
    )
    report = _get(store, "/reports/fleet")
    assert json.loads(report["body"]) == json.loads(json.dumps(fleet_report(store)))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("failing=yes", "failing must be true or false"),
        ("not_checked_since=2026-13-01", "not_checked_since"),
        ("kind=bits", "kind"),
        ("limit=0", "limit"),
        ("color=red", "unknown parameter"),
        ("after=zzz", "token"),
    ],
)
def test_bad_api_parameters_are_400(store: EventStore, query: str, message: str) -> None:
    response = _get(store, "/objects", query)
    assert response["statusCode"] == 400
    assert message in json.loads(response["body"])["error"]


@pytest.mark.parametrize(
    "root",
    ["\x00fixture_sr3", "disk|02", "back\\slash", "x" * 700, "語" * 200, "déjà\x7fvu"],
    ids=["nul", "bar", "backslash", "long", "long-wide", "del"],
)
def test_any_storage_root_name_is_indexed_and_found(tmp_path: Path, root: str) -> None:
    from tests.conftest import ingest_bytes

    line = (
        "I, [2026-03-01T22:14:05.223456 #4711]  INFO -- : "
        f"validate_checksums(bj102hs9687, {root}) checksum(s) match\n"
    )
    with SQLiteEventStore(tmp_path / "odd.db") as store:
        report = ingest_bytes(store, line.encode(), source="prescat")
        assert report.events == 1
        state = object_state.get_state(store, "druid:bj102hs9687")
        assert state is not None
        (stored_root,) = object_view(state, [])["status"]

        found = fleet_objects(store, FleetQuery(root=stored_root))
        day = date(2026, 3, 3)  # the check was 2026-03-02 in UTC
        overdue = fleet_objects(store, FleetQuery(root=stored_root, not_checked_since=day))

        assert [o["druid"] for o in found.objects] == ["druid:bj102hs9687"]
        assert [o["druid"] for o in overdue.objects] == ["druid:bj102hs9687"]
        assert fleet_objects(store, FleetQuery(root=stored_root + "x")).objects == []
        report = fleet_report(store)
        assert report["objects"] == 1
        # The report names the root as it is (a long one by its beginning), and a link made
        # of that name lists the object.
        (named,) = report["by_root"]
        assert stored_root.startswith(named)
        if len(stored_root.encode()) < 100:
            assert named == stored_root


@pytest.mark.parametrize(
    ("check", "label"),
    [
        (
            "FixityChecked|validate_checksums|services-disk02",
            "validate_checksums at services-disk02",
        ),
        ("replication|aws_s3_west_2|v2", "replication of v2 to aws_s3_west_2"),
        (
            "skipped|VersionAudited|check_existence|services-disk02",
            "check_existence at services-disk02, which could not run",
        ),
        ("IngestStepRecorded|transfer-object|", "transfer-object"),
        ("ObjectValidated||", "ObjectValidated"),
    ],
)
def test_check_labels_say_which_check_and_where(check: str, label: str) -> None:
    from provenance.projections.object_fleet import check_label

    assert check_label(check) == label


def test_the_command_line_offers_the_failure_kinds_there_are() -> None:
    # The CLI names them itself, so that `prov --help` imports nothing of the projections.
    from provenance.cli import commands_fleet

    assert commands_fleet.FAILURE_KINDS == FAILURE_KINDS
