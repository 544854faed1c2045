"""One time window for every source, and reports that survive the ends of the calendar.

An event's time must lie from 0001-01-02 to 9999-12-30 in UTC (`provenance.domain.event_time`):
ingest quarantines an entry outside it as "time out of range", whichever source read it, and events
at the window's edges go through every report, bucket and zone. Events stored before the rule (at
the very first and last second a datetime holds) still give reports, not tracebacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from eventstore import open_store
from provenance.domain.event_time import FIRST_TIME, LAST_TIME, TIME_OUT_OF_RANGE, clamp, in_window
from provenance.query.http_api import QueryApi
from tests.aws_lambda import http_event
from tests.cli.test_cli import run

DRUID = "bb123cd4567"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _offset(moment: datetime, colon: bool) -> str:
    minutes = int((moment.utcoffset() or timedelta()).total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{rest:02d}"


def _wall(moment: datetime, separator: str = "T") -> str:
    # Not strftime: glibc's %Y does not pad the year 1 to four digits.
    return f"{moment.year:04d}-{moment:%m-%d}{separator}{moment:%H:%M:%S}"


# One line (or request) of each source at a given time, every one of them a consumed event when
# the time is an ordinary one.
def _clf(moment: datetime) -> str:
    when = f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year:04d}:{moment:%H:%M:%S}"
    return (
        f'171.64.1.2 - - [{when} {_offset(moment, False)}] "GET /{DRUID}/a.pdf HTTP/1.1" 200 5'
        ' "-" "-"\n'
    )


def _lograge(moment: datetime) -> str:
    return (
        f"[{_wall(moment)}{_offset(moment, True)}] [INFO] [e62c5490-4b43-189e-a449-4dad88114cb8] "
        f"method=GET path=/{DRUID} format=html controller=A action=i status=200 duration=1.0 "
        "remote_ip=1.2.3.4\n"
    )


def _rails(moment: datetime) -> str:
    tag = f"[{_wall(moment)}{_offset(moment, True)}] [INFO] [8c1d5e2f-0a9b-4c3d-8e7f-6a5b4c3d2e1f]"
    return (
        f'{tag} Started GET "/{DRUID}/iiif/manifest" for 171.64.1.2 at '
        f"{_wall(moment, ' ')} {_offset(moment, False)}\n"
        f"{tag} Processing by IiifController#manifest as JSON\n"
        f"{tag} Completed 200 OK in 17ms (Views: 1.2ms | ActiveRecord: 3.4ms)\n"
    )


def _sdr_events(moment: datetime) -> str:
    return (
        json.dumps(
            {
                "druid": f"druid:{DRUID}",
                "event_type": "registration",
                "data": {"host": "h", "invoked_by": "x"},
                "created_at": moment.isoformat(),
            }
        )
        + "\n"
    )


def _prescat(moment: datetime) -> str:
    # The Ruby Logger's time has no zone: read in --tz UTC, so `moment` must be in UTC.
    return (
        f"I, [{_wall(moment)}.223456 #4711]  INFO -- : validate_checksums({DRUID}, fixture_sr3) "
        "checksum(s) match\n"
    )


def _robots(moment: datetime) -> str:
    when = f"{_wall(moment)}.000{_offset(moment, True)}"
    return (
        f"{when} pid=12 tid=abc INFO: druid:{DRUID} processing transfer-object "
        "(preservationIngestWF)\n"
        f"{when} pid=12 tid=abc INFO: Finished druid:{DRUID} in 3.5000s\n"
    )


SOURCES: dict[str, Callable[[datetime], str]] = {
    "clf": _clf,
    "lograge": _lograge,
    "rails": _rails,
    "sdr-events": _sdr_events,
    "prescat": _prescat,
    "robots": _robots,
}
ZONED = timezone(timedelta(hours=-5))
INSIDE = [
    FIRST_TIME,
    LAST_TIME.replace(microsecond=0),
    datetime(2026, 3, 2, 10, 1, 2, tzinfo=UTC),
    # 0001-01-02T00:00 UTC, written west of Greenwich.
    datetime(1, 1, 1, 19, tzinfo=ZONED),
]
OUTSIDE = [
    datetime(1, 1, 1, 23, 59, 59, tzinfo=UTC),
    datetime(9999, 12, 31, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    # 9999-12-31T00:00 UTC, written west of Greenwich: a year 9999 local time, past the window.
    datetime(9999, 12, 30, 19, tzinfo=ZONED),
]


def _ingest(
    capsys: pytest.CaptureFixture[str], url: str, source: str, log: Path
) -> dict[str, object]:
    code, out, err = run(
        capsys, "ingest", "--store", url, "--source", source, "--service", "edge", "--tz", "UTC",
        "--format", "json", str(log),
    )  # fmt: skip
    assert code == 0, err
    report: dict[str, object] = json.loads(out)
    return report


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_keeps_times_inside_the_window_and_quarantines_the_rest_alike(
    capsys, tmp_path: Path, source: str
) -> None:
    write = SOURCES[source]
    url = f"sqlite:///{tmp_path / 'window.db'}"
    for index, moment in enumerate(INSIDE + OUTSIDE):
        if source == "prescat" and moment.utcoffset():
            continue  # its times have no zone
        log = tmp_path / f"{index}.log"
        log.write_text(write(moment))

        report = _ingest(capsys, url, source, log)

        if moment in INSIDE:
            assert report["quarantined"] == 0 and report["events"], (moment, report)
        else:
            assert report["events"] == 0, (moment, report)
            assert report["quarantined_by_reason"] == {TIME_OUT_OF_RANGE: report["quarantined"]}


def test_the_window() -> None:
    assert in_window(FIRST_TIME) and in_window(LAST_TIME)
    assert not in_window(FIRST_TIME - timedelta(microseconds=1))
    assert not in_window(LAST_TIME + timedelta(microseconds=1))
    # A day inside the calendar on both sides: every zone can show it, a day can end after it.
    for moment in (FIRST_TIME, LAST_TIME):
        for hours in (-23, 23):
            moment.astimezone(timezone(timedelta(hours=hours, minutes=59)))
    assert LAST_TIME + timedelta(days=1) > LAST_TIME
    assert clamp(datetime(1, 1, 1, tzinfo=UTC)) == FIRST_TIME
    assert clamp(datetime.max.replace(tzinfo=UTC)) == LAST_TIME


def test_a_retention_past_the_calendar_means_never(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 100 years after 9990: no expiry can be written, and the request is still a request.
    monkeypatch.setenv("PROV_ACCESS_EVENT_DAYS", "36525")
    log = tmp_path / "late.log"
    log.write_text(_lograge(datetime(9990, 6, 1, tzinfo=UTC)))
    url = f"sqlite:///{tmp_path / 'late.db'}"

    report = _ingest(capsys, url, "lograge", log)

    assert (report["events"], report["quarantined"]) == (1, 0)
    with open_store(url, create=False) as store:
        (record,) = store.read_all(types=("ServiceAccessed",))
    assert record.expires_at is None


# --- reports -----------------------------------------------------------------------------------

REPORTS = [
    [],
    *(["--bucket", bucket] for bucket in ("hour", "day", "week", "month")),
    *(["--bucket", bucket, "--tz", tz] for bucket in ("hour", "week") for tz in ("Etc/GMT+12",)),
    *(["--bucket", bucket, "--tz", "Etc/GMT-14"] for bucket in ("day", "month")),
    ["--from", "9999-12-30"],
    ["--from", "9999-12-31"],
    ["--to", "0001-01-02"],
    ["--by", "druid", "--bucket", "hour", "--tz", "Etc/GMT+12"],
    ["--by", "druid", "--bucket", "week", "--tz", "Etc/GMT-14"],
    ["--by", "agent,path", "--bucket", "week", "--tz", "Pacific/Kiritimati"],
]


def _access_store(capsys: pytest.CaptureFixture[str], folder: Path, times: list[datetime]) -> str:
    url = f"sqlite:///{folder / 'access.db'}"
    for source in ("clf", "lograge", "rails"):
        log = folder / f"{source}.log"
        log.write_text("".join(SOURCES[source](moment) for moment in times))
        report = _ingest(capsys, url, source, log)
        assert report["events"] == len(times), report
    return url


def _assert_reports_add_up(capsys, url: str, requests: int) -> None:
    for args in REPORTS:
        code, out, err = run(capsys, "report", "access", "--store", url, *args, "--format", "json")
        assert code == 0, (args, err)
        if not {"--from", "--to"} & set(args):
            assert sum(row["requests"] for row in json.loads(out)) == requests, args
    with open_store(url, create=False) as store:
        api = QueryApi(lambda: store)
        for params in (
            {},
            {"bucket": "hour", "tz": "Etc/GMT-14"},
            {"by": "druid", "bucket": "week"},
        ):
            response = api.handle(http_event("/reports/access", params))
            assert response["statusCode"] == 200, (params, response["body"])


def test_access_events_at_the_window_s_edges_go_through_every_report(
    capsys, tmp_path: Path
) -> None:
    url = _access_store(capsys, tmp_path, [FIRST_TIME, LAST_TIME.replace(microsecond=0)])
    _assert_reports_add_up(capsys, url, 6)


def test_access_events_stored_before_the_window_still_give_reports(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store written before the rule: the first and the last second a datetime holds.
    monkeypatch.setattr("provenance.ingest.reader.in_window", lambda moment: True)
    url = _access_store(
        capsys,
        tmp_path,
        [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)],
    )
    monkeypatch.undo()
    _assert_reports_add_up(capsys, url, 6)
    # The issue's own cases: the default report, each bucket, a start on the last day.
    code, out, _ = run(capsys, "report", "access", "--store", url, "--from", "9999-12-31")
    assert code == 0 and "total: 3 requests" in out


def test_a_chart_at_the_window_s_edges_is_drawn_or_refused_in_one_line(
    capsys, tmp_path: Path
) -> None:
    url = _access_store(capsys, tmp_path, [FIRST_TIME, LAST_TIME.replace(microsecond=0)])
    chart = tmp_path / "edges.png"
    for args in (["--tz", "UTC"], ["--tz", "Etc/GMT-14"], ["--from", "9999-12-01"]):
        code, out, err = run(
            capsys, "report", "access", "--store", url, "--bucket", "day", "--chart", str(chart),
            *args,
        )  # fmt: skip
        assert code in (0, 1), err
        if code:
            assert err.startswith("prov: error: --chart: matplotlib cannot draw"), err
            assert err.count("\n") == 1 and out == ""
