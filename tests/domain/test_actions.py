"""Reports -> actions: a notification repeating a logged action joins it, in any order."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstore import ProjectionWrite
from eventstore.sqlite import SQLiteEventStore
from provenance.domain.actions import WINDOW, Action, Facts, actions, facts_of, matched
from provenance.projections import object_state
from provenance.query.premis_export import ExportOptions, export_object
from provenance.query.views import object_history, object_state_view
from tests.conftest import ingest_bytes
from tests.samples import CHECKSUM_MISMATCH, CHECKSUM_OK, STATUS_CHANGED

DRUID = "bj102hs9687"
# The catalog's notification of CHECKSUM_MISMATCH's run (22:14:05 in Los Angeles = 06:14:05Z).
AUDIT_FAILURE = (
    '{"druid": "druid:bj102hs9687", "event_type": "preservation_audit_failure", "data": '
    '{"host": "preservation-catalog-prod-02", "invoked_by": "preservation-catalog", '
    '"storage_area": "fixture_sr3", "actual_version": 1, "check_name": "preservation-audit", '
    '"error": "validate_checksums (actual location: fixture_sr3; actual version: 1) checksums or'
    " size for /services-disk02/sdr2objects/bj/102/hs/9687/bj102hs9687/v0001/data/content/"
    'eric-smith-dissertation.pdf version 1 do not match entry in latest signatureCatalog.xml."},'
    ' "created_at": "2026-03-02T06:14:07Z"}'
)
SECOND_MISMATCH = CHECKSUM_MISMATCH.replace("05.123456", "05.124000").replace(
    "eric-smith-dissertation.pdf", "appendix.pdf"
)
TWO_FAILURES = AUDIT_FAILURE.replace(
    'signatureCatalog.xml."}',
    "signatureCatalog.xml. && checksums or size for /services-disk02/sdr2objects/bj/102/hs/9687/"
    "bj102hs9687/v0001/data/content/appendix.pdf version 1 do not match entry in latest "
    'signatureCatalog.xml."}',
)
SHELVE = [
    "2026-02-01T09:10:00.000Z pid=12 tid=abd INFO: druid:bj102hs9687 processing shelve "
    "(accessionWF)",
    "2026-02-01T09:10:09.500Z pid=12 tid=abd INFO: Finished druid:bj102hs9687 in 9.5000s",
]
SHELVED = (
    '{"druid": "druid:bj102hs9687", "event_type": "shelving_complete", "data": '
    '{"host": "common-accessioning-prod-01", "invoked_by": "common-accessioning", "version": 1},'
    ' "created_at": "2026-02-01T09:10:11Z"}'
)
# A notification with nothing to repeat: the catalog's log of that run was never loaded.
LONE_FAILURE = AUDIT_FAILURE.replace("2026-03-02T06:14:07Z", "2026-04-02T06:14:07Z")

LOG = "\n".join([CHECKSUM_MISMATCH, SECOND_MISMATCH, STATUS_CHANGED, CHECKSUM_OK, *SHELVE]) + "\n"
EVENTS = "\n".join([TWO_FAILURES, SHELVED, LONE_FAILURE]) + "\n"


def _load(store: SQLiteEventStore, *parts: str) -> None:
    for part in parts:
        name = "events.jsonl" if part.startswith("{") else "audit.log"
        ingest_bytes(store, part.encode(), name=name)


def _premis(store: SQLiteEventStore) -> bytes:
    out = io.BytesIO()
    export_object(store, DRUID, options=ExportOptions(), stdout=out)
    return out.getvalue()


def _stable_state(store: SQLiteEventStore) -> dict[str, object]:
    object_state.catch_up(store)
    return object_state_view(store, DRUID)


def test_a_notification_joins_the_reports_it_repeats_and_adds_no_action(store) -> None:
    _load(store, LOG, EVENTS)
    history = object_history(store, DRUID)
    assert len(store.read_stream(f"druid:{DRUID}")) == 9
    # Nine reports, seven actions: the run's notification and shelving_complete join.
    assert [(e["type"], e["outcome"], len(e["also_reported_by"])) for e in history] == [
        ("WorkflowStepRecorded", None, 0),  # started
        ("WorkflowStepRecorded", "success", 1),
        ("FixityChecked", "fail", 1),
        ("FixityChecked", "fail", 1),
        ("FixityChecked", "success", 0),
        ("PreservationStatusChanged", None, 0),
        ("FixityChecked", "fail", 0),  # the lone notification is the action
    ]
    # One notification carried both failures of the run: it joins both.
    assert (
        history[2]["also_reported_by"][0]["event_id"]
        == (history[3]["also_reported_by"][0]["event_id"])
    )
    assert history[1]["also_reported_by"][0]["event_type"] == "shelving_complete"
    assert history[-1]["source"]["type"] == "sdr-events"


def test_history_state_and_premis_are_the_same_whatever_the_ingest_order(tmp_path: Path) -> None:
    results = []
    for name, parts in (("logs-first", (LOG, EVENTS)), ("events-first", (EVENTS, LOG))):
        with SQLiteEventStore(tmp_path / f"{name}.db") as store:
            _load(store, *parts)
            history = [
                (e["event_id"], [a["event_id"] for a in e["also_reported_by"]])
                for e in object_history(store, DRUID)
            ]
            state = _stable_state(store)
            object_state.rebuild(store)
            assert object_state_view(store, DRUID) == state  # rebuild equals incremental
            results.append((history, state, _premis(store)))
    assert results[0] == results[1]
    _, state, document = results[0]
    assert state["events_by_type"] == {
        "FixityChecked": 4,
        "PreservationStatusChanged": 1,
        "WorkflowStepRecorded": 2,
    }
    assert document.count(b"<premis:event ") == 5  # the status change is no PREMIS event
    assert document.count(b"<sdrprov:report_source>sdr-events<") == 3


def test_history_pages_give_the_actions_of_one_read(store) -> None:
    _load(store, EVENTS, LOG)
    whole = object_history(store, DRUID)
    for size in (1, 2, 3):
        pages: list[dict[str, object]] = []
        after = None
        while True:
            page = object_history(store, DRUID, limit=size, after=after)
            pages += page
            if len(page) < size:
                break
            after = str(page[-1]["cursor"])
        assert pages == whole


# --- the matching rule on its own -------------------------------------------------------------

T0 = datetime(2026, 3, 2, 6, 14, 5, tzinfo=UTC)


def _facts(
    event_id: str,
    seconds: float,
    *,
    source: str = "prescat",
    outcome: str = "fail",
    check: str | None = "validate_checksums",
    root: str | None = "sr1",
    detail: str = "validate_checksums: bad file a",
) -> Facts:
    return Facts(
        event_id=event_id,
        type="FixityChecked",
        at=T0 + timedelta(seconds=seconds),
        source=source,
        outcome=outcome,
        check=check,
        storage_root=root,
        result_code=None,
        premis_type="fix",
        detail=detail,
        step=None,
        status=None,
        event_type=None,
    )


def _notice(event_id: str, seconds: float, **kwargs: object) -> Facts:
    return _facts(event_id, seconds, source="sdr-events", **kwargs)  # type: ignore[arg-type]


def test_a_notification_repeats_the_nearest_run_of_the_same_audit_and_root_only() -> None:
    notice = _notice("n", 2, detail="validate_checksums (actual location: sr1) bad file b")
    near, far = _facts("p1", 0), _facts("p2", -3000)
    assert matched(notice, [far, near]) == [near]
    assert matched(notice, [_facts("x", 0, root="sr2")]) == []
    assert matched(notice, [_facts("x", 0, check="check_catalog_version")]) == []
    assert matched(notice, [_facts("x", 0, outcome="success")]) == []
    assert matched(notice, [_facts("x", WINDOW.total_seconds() + 3)]) == []
    # The run's messages it quotes win over nearness.
    quoted = _facts("q", -60, detail="validate_checksums: bad file b")
    assert matched(notice, [near, quoted]) == [quoted]


def _run(reports: list[Facts]) -> list[tuple[str, list[str]]]:
    ordered = sorted(reports, key=lambda f: (f.at, f.event_id))
    found: list[Action[Facts]] = list(actions(ordered, lambda f: f))
    return [(a.report.event_id, [n.event_id for n in a.notices]) for a in found]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 6 * 3600), st.sampled_from(["sr1", "sr2"])),
        max_size=25,
    ),
    st.randoms(use_true_random=False),
)
def test_streamed_actions_equal_the_rule_applied_to_the_whole_set(
    spec: list[tuple[bool, int, str]], rng: random.Random
) -> None:
    reports = [
        (_notice if is_notice else _facts)(f"r{i:02d}", seconds, root=root)
        for i, (is_notice, seconds, root) in enumerate(spec)
    ]
    # The rule over the whole set, with no streaming.
    expected = []
    for fact in sorted(reports, key=lambda f: (f.at, f.event_id)):
        if fact.notice_kind is not None:
            if not matched(fact, reports):
                expected.append((fact.event_id, []))
            continue
        joined = [
            n.event_id
            for n in sorted(reports, key=lambda f: (f.at, f.event_id))
            if n.notice_kind is not None and fact in matched(n, reports)
        ]
        expected.append((fact.event_id, joined))
    shuffled = reports[:]
    rng.shuffle(shuffled)
    assert _run(shuffled) == expected


def test_facts_read_stored_payloads_and_typed_events_alike(store) -> None:
    from provenance.domain.events import load_event, load_payload

    _load(store, EVENTS)
    for record in store.read_stream(f"druid:{DRUID}"):
        assert facts_of(load_payload(record.payload)) == facts_of(load_event(record.payload))


# --- what an independent review found ---------------------------------------------------------


def test_a_notification_from_before_year_1000_does_not_stop_the_state(store) -> None:
    # The look-up cursor of such a time was written without its leading zero and refused.
    early = SHELVED.replace("2026-02-01T09:10:11Z", "0999-03-02T06:14:07Z")
    _load(store, early, LOG)
    state = _stable_state(store)
    assert state["events_by_type"]["RepositoryEventRecorded"] == 1
    assert object_history(store, DRUID, after="0500-01-01T00:00:00.000000Z#x")


def test_each_notification_is_matched_once_however_many_reports_are_near_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import provenance.domain.actions as module

    calls: list[str] = []
    real = module.matched

    def counted(notice: Facts, neighbours: Iterable[Facts]) -> list[Facts]:
        calls.append(notice.event_id)
        return real(notice, neighbours)

    monkeypatch.setattr(module, "matched", counted)
    failures = [
        _facts(f"p{i:04d}", i / 10, detail=f"validate_checksums: bad {i}") for i in range(300)
    ]
    notice = _notice("n", 31, detail=" && ".join(f"bad {i}" for i in range(300)))
    found = _run([*failures, notice])
    assert len(found) == 300 and all(notices == ["n"] for _, notices in found)
    assert calls == ["n"]


def test_a_notification_never_joins_a_report_that_is_no_premis_event(store) -> None:
    # The catalog's bookkeeping line of the same moment has no PREMIS type: the validation the
    # notification reports must not vanish into it.
    bookkeeping = (
        "I, [2026-03-01T22:14:05.100000 #4711]  INFO -- : update_after_validation(bj102hs9687, "
        "fixture_sr3) actual version (2) greater than MoabRecord db version (1)"
    )
    success = (
        '{"druid": "druid:bj102hs9687", "event_type": "preservation_audit_success", "data": '
        '{"host": "h", "invoked_by": "preservation-catalog", "storage_area": "fixture_sr3", '
        '"check_name": "moab-valid", "actual_version": 2}, "created_at": "2026-03-02T06:14:07Z"}'
    )
    _load(store, bookkeeping + "\n", success + "\n")
    assert _premis(store).count(b"<premis:event ") == 1
    assert [len(e["also_reported_by"]) for e in object_history(store, DRUID)] == [0, 0]


def test_what_only_the_notification_says_stays_in_the_premis_event(store) -> None:
    # Only the first failure's log line was loaded; the notification names both.
    _load(store, CHECKSUM_MISMATCH + "\n", TWO_FAILURES + "\n")
    document = _premis(store)
    assert document.count(b"<premis:event ") == 1
    assert b"appendix.pdf" in document


def test_a_log_time_in_the_hour_clocks_go_back_still_meets_its_notification(store) -> None:
    # 01:30 on 2026-11-01 in Los Angeles happens twice; a zone-less log time is read as the
    # first (PDT, 08:30Z); the catalog's notification came at the second (PST, 09:30Z).
    line = CHECKSUM_MISMATCH.replace("2026-03-01T22:14:05.123456", "2026-11-01T01:30:00.000000")
    notice = AUDIT_FAILURE.replace("2026-03-02T06:14:07Z", "2026-11-01T09:30:02Z")
    _load(store, line + "\n", notice + "\n")
    assert [len(e["also_reported_by"]) for e in object_history(store, DRUID)] == [1]


def test_a_check_that_could_not_run_leaves_the_failure_before_it_open(store) -> None:
    skipped = (
        "E, [2026-03-05T03:00:00.000001 #4711] ERROR -- : validate_checksums(bj102hs9687, "
        "fixture_sr3) unable to validate when MoabRecord status is invalid_checksum"
    )
    _load(store, CHECKSUM_MISMATCH + "\n" + skipped + "\n")
    open_checks = [item["check"] for item in _stable_state(store)["open_failures"]]
    assert open_checks == [
        "skipped|FixityChecked|validate_checksums|fixture_sr3",
        "FixityChecked|validate_checksums|fixture_sr3",
    ]
    later_pass = CHECKSUM_OK.replace("2026-03-01T22:14:05.223456", "2026-03-09T03:00:00.000001")
    _load(store, later_pass + "\n")
    assert _stable_state(store)["open_failures"] == []


def test_the_quick_filter_never_drops_a_report_a_notification_repeats(store) -> None:
    from provenance.domain.actions import candidate, may_repeat
    from provenance.domain.events import load_payload

    _load(store, LOG, EVENTS)
    payloads = [load_payload(r.payload) for r in store.read_stream(f"druid:{DRUID}")]
    notices = [facts_of(p) for p in payloads if facts_of(p).notice_kind is not None]
    reports = [p for p in payloads if facts_of(p).notice_kind is None]
    repeated = [p for p in reports if any(candidate(n, facts_of(p)) for n in notices)]
    assert repeated and all(may_repeat(p) for p in repeated)
    assert not all(may_repeat(p) for p in reports)


def test_state_rows_an_older_version_made_are_rebuilt_before_they_are_read(store) -> None:
    from provenance.projections.object_state import LAYOUT_KEY, PROJECTION

    _load(store, LOG, EVENTS)
    expected = _stable_state(store)
    # What an older version left: no layout row, and the notifications counted as actions.
    projector = object_state.ObjectStateProjector(store)
    row = projector.get(f"druid:{DRUID}")
    assert row is not None
    row["events_by_type"]["FixityChecked"] = 99
    row.pop("notices", None)
    stored = store.get_projection(PROJECTION, f"druid:{DRUID}")
    assert stored is not None
    store.put_projection(PROJECTION, {LAYOUT_KEY: None})
    store.write_projection(
        PROJECTION, [ProjectionWrite(f"druid:{DRUID}", json.dumps(row).encode(), stored.version)]
    )
    assert (
        object_state.get_state(store, f"druid:{DRUID}")["events_by_type"]
        != (expected["events_by_type"])
    )
    assert _stable_state(store) == expected
    assert store.get_projection(PROJECTION, LAYOUT_KEY) is not None
