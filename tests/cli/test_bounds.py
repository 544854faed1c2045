"""Numbers and times are checked at the edge (issue 11, item 5).

Every option of `prov` that takes a number, a time, a zone or a paging cursor is found by
walking the click command tree (so a new option is covered without touching this file) and
given edge values (integers near 2**31, 2**63 and 10**20, negatives, floats, NaN and infinities,
huge exponents, dates of year 1 and 9999 with zones, garbage) and then values from hypothesis.
Whatever the value, the command exits 0, 1 or 2 and an error is one line on stderr: never a
traceback. The query API's parameters get the same through `QueryApi.handle` (what `prov serve`
and the Lambda run): never a 500. A small real SQLite store with a few events, among them events
at the first and the last second a datetime holds, lets the code past the parsing run.
"""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import open_store
from provenance.cli.main import cli, main
from provenance.cli.params import AccessDays, FiniteFloat, IsoTime, WholeNumber
from provenance.domain.event_time import FIRST_TIME, LAST_TIME
from provenance.domain.whole_numbers import read_whole_number
from provenance.query import http_api
from provenance.query.http_api import QueryApi
from tests.aws_lambda import http_event
from tests.cli.test_cli import run
from tests.domain.test_event_time import SOURCES
from tests.samples import OBJECT_LOG

DRUID = "druid:bj102hs9687"
ACCESS_LOG = (
    '171.64.1.2 - - [02/Mar/2026:10:01:02 -0800] "GET /file/druid:bb123cd4567/a.pdf HTTP/1.1"'
    ' 200 1000 "-" "Mozilla/5.0 (compatible; Googlebot/2.1)"\n'
    '171.64.1.3 - alice [03/Mar/2026:23:59:59 +1400] "GET /bb123cd4567 HTTP/1.1" 200 10 "-" "-"\n'
)
# Repository events at the first and the last second a datetime holds: a store written before
# ingest's time window (provenance.domain.event_time) holds such events, so they are ingested with
# the window off, with access events at the same seconds.
CALENDAR_ENDS = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
EXTREME_EVENTS = "".join(
    json.dumps({"druid": DRUID, "event_type": "update", "data": {}, "created_at": at}) + "\n"
    for at in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")
)
# Access events at the edges of the window from each access source (and just outside it: those
# lines are quarantined).
WINDOW_EDGES = [FIRST_TIME, LAST_TIME.replace(microsecond=0)]
JUST_OUTSIDE = [FIRST_TIME - timedelta(seconds=1), LAST_TIME + timedelta(microseconds=1)]
ACCESS_SOURCES = ("clf", "lograge", "rails")

# --- the options -------------------------------------------------------------------------------

NUMBER_TYPES = (click.types.IntParamType, click.types.FloatParamType, AccessDays)
# Options that take such values as plain text, by name.
BY_NAME = {"tz": "zone", "access_event_days": "number", "after": "cursor"}


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _kind(option: click.Option) -> str | None:
    if isinstance(option.type, IsoTime):
        return "time"
    if isinstance(option.type, NUMBER_TYPES):
        return "number"
    return BY_NAME.get(option.name or "")


OPTIONS = [
    (path, option, kind)
    for path, command in _commands(cli)
    for option in command.params
    if isinstance(option, click.Option) and (kind := _kind(option)) is not None
]
OPTION_IDS = [f"{' '.join(path)} {option.opts[0]}" for path, option, _ in OPTIONS]


def test_the_walk_finds_the_options_the_issue_names() -> None:
    found = set(OPTION_IDS)
    for expected in (
        "history --limit",
        "quarantine --limit",
        "report access --from",
        "report access --to",
        "report access --top",
        "report access --tz",
        "cost --lines-per-day",
        "cost --access-days",
        "ship --poll",
        "serve --port",
        "redrive --access-event-days",
    ):
        assert expected in found


def test_every_number_option_has_both_bounds() -> None:
    for (_path, option, _), name in zip(OPTIONS, OPTION_IDS, strict=True):
        taken = option.type
        if isinstance(taken, click.types.FloatParamType):
            assert isinstance(taken, FiniteFloat), f"{name}: use FiniteFloat (NaN passes ranges)"
        if isinstance(taken, click.types.IntParamType):
            assert isinstance(taken, WholeNumber), f"{name}: use WholeNumber (int() takes '+5')"
            assert taken.min is not None and taken.max is not None, f"{name}: give both bounds"


def test_the_bounds_are_the_ones_they_name() -> None:
    from provenance.aws import ship_options
    from provenance.cli import params as cli_params

    assert cli_params.MAX_SHIP_RECORD_BYTES == ship_options.MAX_CALL_BYTES


# --- the values --------------------------------------------------------------------------------

EDGE_NUMBERS = [
    *(str(n) for n in (2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**20, -(2**63), -1, 0, 1)),
    "99999999999999999999",
    "9" * 5000,
    *("nan", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400", "1e308", "1e19"),
    *("0.5", "-0.0", "1.0", "3.14", "0x10", "1_000", " 5 ", "+5", "\u0665", "never", "", "x"),
]
EDGE_TIMES = [
    *("9999-12-31", "0001-01-01", "99991231", "9999-W52-5", "0000-01-01", "10000-01-01"),
    *("9999-12-31T23:59:59.999999", "9999-12-31T23:00-05:00", "9999-12-31T23:59:59+14:00"),
    *("9999-12-31T00:00:00-23:59", "0001-01-01T00:00+14:00", "0001-01-01T00:00-14:00"),
    *("0001-01-01T00:00:00+23:59", "0001-01-01T00:00Z", "2026-03-08T02:30", "2026-11-01T01:30"),
    *("2026-03-02T10:00Z", "2026-02-30", "2026-03-02T24:00", "2026-03-02T10:00+24:00", ""),
    *("T", "2026", "2026-03", "-2026-03-02", "2026-03-02T10:00:00.1234567", "now"),
]
EDGE_ZONES = [
    *("UTC", "Etc/GMT+12", "Etc/GMT-14", "Pacific/Kiritimati", "America/Los_Angeles", "Factory"),
    *("posixrules", "a" * 300, "a/" * 3000, "../../etc/passwd", "/etc/localtime", "America"),
    *("America/", "Mars/Olympus", "UTC\x00", "", " "),
]
EDGE_CURSORS = [
    "9999-12-31T23:59:59.999999Z#x",
    "0001-01-01T00:00:00.000000Z#x",
    "2026-03-01T22:14:05.123456Z#" + "f" * 5000,
    "#",
    "",
]
EDGES = {"number": EDGE_NUMBERS, "time": EDGE_TIMES, "zone": EDGE_ZONES, "cursor": EDGE_CURSORS}

_garbage = st.text(max_size=30)
_numbers = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.integers(-5, 70).map(lambda power: f"1e{power}"),
    st.floats().map(repr),
    st.sampled_from(EDGE_NUMBERS),
    _garbage,
)
_offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: (
        f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    )
)
_times = st.one_of(
    st.dates().map(lambda day: day.isoformat()),
    st.builds(
        lambda moment, zone: moment.isoformat() + zone,
        st.datetimes(),
        st.sampled_from(["", "Z"]) | _offsets,
    ),
    st.sampled_from(EDGE_TIMES),
    _garbage,
)
_zones = st.one_of(
    st.sampled_from(sorted(zoneinfo.available_timezones())), st.sampled_from(EDGE_ZONES), _garbage
)
_cursors = st.one_of(
    st.builds(lambda moment, rest: f"{moment.isoformat(timespec='microseconds')}Z#{rest}",
              st.datetimes(), st.text(max_size=10)),
    st.sampled_from(EDGE_CURSORS),
    _garbage,
)  # fmt: skip
VALUES = {"number": _numbers, "time": _times, "zone": _zones, "cursor": _cursors}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12) | st.integers(-10, 10**7).map(str) | st.sampled_from(EDGE_NUMBERS))
def test_a_whole_number_is_read_alike_by_the_cli_and_the_api(text: str) -> None:
    digits = text.isascii() and text.isdigit() and len(text) < 100
    expected = int(text) if digits and int(text) <= 10**6 else None
    try:
        got = WholeNumber(0, 10**6).convert(text, None, None)
    except click.BadParameter:
        got = None
    assert got == expected == read_whole_number(text, 0, 10**6)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=12)
    | st.floats().map(repr)
    | st.from_regex(r"[0-9]{0,7}\.?[0-9]{0,3}", fullmatch=True)
    | st.sampled_from([*EDGE_NUMBERS, "1_0", "١٢٣", "+1", "-0", "1e3", " 1", "1. ", "."])
)
def test_a_float_option_takes_ascii_digits_and_a_point_alone(text: str) -> None:
    decimal = text.isascii() and text != "." and text.replace(".", "", 1).isdigit()
    expected = float(text) if decimal and float(text) <= 10**6 else None
    try:
        got = FiniteFloat(0, 10**6).convert(text, None, None)
    except click.BadParameter:
        got = None
    assert got == expected


# --- the store and the commands ----------------------------------------------------------------


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A few preservation and access events and quarantined lines, ingested by `prov`; access
    events at the edges of the time window, and events of every kind at the ends of the
    calendar, as a store written before the window holds them."""
    folder = tmp_path_factory.mktemp("bounds")
    (folder / "object.log").write_text("not a log line\n" + OBJECT_LOG)
    (folder / "access.log").write_text(ACCESS_LOG)
    url = f"sqlite:///{folder / 'bounds.db'}"
    main(["ingest", "--store", url, "--tz", "UTC", str(folder / "object.log")])
    main(
        ["ingest", "--store", url, "--source", "clf", "--service", "s", str(folder / "access.log")]
    )
    edges = folder / "edges"
    edges.mkdir()
    for source in ACCESS_SOURCES:
        write = SOURCES[source]
        (edges / f"{source}.log").write_text("".join(map(write, WINDOW_EDGES + JUST_OUTSIDE)))
        (edges / f"{source}-legacy.log").write_text("".join(map(write, CALENDAR_ENDS)))
    (edges / "object-legacy.log").write_text(EXTREME_EVENTS)
    for source in ACCESS_SOURCES:
        name = str(edges / f"{source}.log")
        main(["ingest", "--store", url, "--source", source, "--service", "edge", name])
    with pytest.MonkeyPatch.context() as window_off:
        window_off.setattr("provenance.ingest.reader.in_window", lambda moment: True)
        main(["ingest", "--store", url, "--tz", "UTC", str(edges / "object-legacy.log")])
        for source in ACCESS_SOURCES:
            name = str(edges / f"{source}-legacy.log")
            main(["ingest", "--store", url, "--source", source, "--service", "old", name])
    return url


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Stand-ins for the server, the AWS calls and the demo's generator: those commands stop
    once their options are read and checked."""
    import provenance.aws.redrive
    import provenance.aws.ship
    import provenance.aws.ship_report
    import provenance.aws.ship_send
    import provenance.cli.demo.tour
    import provenance.query.serve

    monkeypatch.setattr(provenance.query.serve, "serve_api", lambda *args, **kwargs: None)
    monkeypatch.setattr(provenance.cli.demo.tour, "run_demo", lambda *args, **kwargs: None)
    monkeypatch.setattr(provenance.aws.ship_send, "kinesis_client", lambda **kwargs: object())
    monkeypatch.setattr(
        provenance.aws.ship.Shipper,
        "run",
        lambda self, paths, once=False: provenance.aws.ship_report.ShipReport(
            stream=self.options.stream
        ),
    )
    monkeypatch.setattr(
        provenance.aws.redrive,
        "redrive",
        lambda store, run, *args, **kwargs: provenance.aws.redrive.RedriveReport(run.queue_url),
    )
    log = tmp_path / "ship.log"
    log.write_text(OBJECT_LOG)
    return tmp_path


def _base(path: tuple[str, ...], option: click.Option, url: str, folder: Path) -> list[str]:
    """A command line that runs `path` as far as it goes, before the option under test (a new
    command with such options needs its line here)."""
    store = ["--store", url]
    return {
        ("history",): ["history", DRUID, *store],
        ("quarantine",): ["quarantine", *store, *(["--replay"] if option.name == "tz" else [])],
        ("report", "access"): ["report", "access", *store],
        ("report", "fleet"): ["report", "fleet", *store],
        ("objects",): ["objects", *store],
        ("ingest",): ["ingest", *store, str(folder / "ship.log")],
        ("serve",): ["serve", *store],
        ("demo",): ["demo", "--dir", str(folder / "demo")],
        ("cost",): ["cost", "--lines-per-day", "1000", "--stream-mode", "provisioned"],
        ("ship",): [
            "ship", str(folder / "ship.log"), "--stream", "s", "--once",
            "--state", str(folder / "state.db"), "--endpoint-url", "http://127.0.0.1:9",
        ],
        ("redrive",): [
            "redrive", "--queue", "http://127.0.0.1:9/123456789012/q", *store, "--tz", "UTC",
            "--access-event-days", "30", "--endpoint-url", "http://127.0.0.1:9", "--wait", "0",
        ],
    }[path]  # fmt: skip


def assert_no_traceback(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> tuple[int, str, str]:
    code, out, err = run(capsys, *args)
    assert code in (0, 1, 2), (args, code, err)
    if code:
        assert err.startswith("prov: error: ") and err.count("\n") == 1, (args, err)
    return code, out, err


# A report's other options change which code runs past the parsing.
REPORT_SHAPES = [
    [],
    ["--by", "druid", "--bucket", "hour"],
    ["--by", "agent,path", "--bucket", "week", "--tz", "Pacific/Kiritimati"],
    ["--bucket", "month", "--tz", "Etc/GMT+12", "--top", "1"],
]


def _extra(path: tuple[str, ...], index: int) -> list[str]:
    return REPORT_SHAPES[index % len(REPORT_SHAPES)] if path == ("report", "access") else []


@pytest.mark.parametrize(("path", "option", "kind"), OPTIONS, ids=OPTION_IDS)
def test_edge_values_end_in_one_line_at_most(
    capsys, store_url: str, stubbed: Path, path, option: click.Option, kind: str
) -> None:
    values = list(EDGES[kind])
    if isinstance(option.type, click.types._NumberRangeBase):
        for bound in (option.type.min, option.type.max):
            if bound is not None:
                values += [str(bound), str(bound - 1), str(bound + 1)]
    base = _base(path, option, store_url, stubbed)
    for index, value in enumerate(values):
        assert_no_traceback(capsys, [*base, *_extra(path, index), option.opts[0], value])


@pytest.mark.parametrize(("path", "option", "kind"), OPTIONS, ids=OPTION_IDS)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_value_ends_in_one_line_at_most(
    capsys, store_url: str, stubbed: Path, path, option: click.Option, kind: str, data
) -> None:
    value = data.draw(VALUES[kind], label=option.opts[0])
    extra = _extra(path, data.draw(st.integers(0, len(REPORT_SHAPES) - 1)))
    base = _base(path, option, store_url, stubbed)
    assert_no_traceback(capsys, [*base, *extra, option.opts[0], value])


def test_the_cases_of_the_issue(capsys, store_url: str) -> None:
    for args in (
        ["history", DRUID, "--limit", "99999999999999999999"],
        ["quarantine", "--limit", "99999999999999999999"],
    ):
        code, _, err = assert_no_traceback(capsys, [*args, "--store", store_url])
        assert code == 1 and "0<=x<=2147483647" in err
    code, out, err = assert_no_traceback(
        capsys,
        ["history", DRUID, "--limit", "2147483647", "--store", store_url, "--format", "json"],
    )
    assert code == 0 and len(json.loads(out)) == 10
    # --to 9999-12-31: to the end of time, so the last event is in.
    code, out, err = assert_no_traceback(
        capsys,
        ["report", "access", "--store", store_url, "--to", "9999-12-31", "--format", "json"],
    )
    assert code == 0 and json.loads(out) == [
        {"service": "edge", "requests": 6, "bytes": 10},
        {"service": "old", "requests": 6, "bytes": 10},
        {"service": "s", "requests": 2, "bytes": 1010},
    ]
    # Access events at the ends of the calendar: every report, bucket and zone (issue A4).
    for args in (
        [],
        *(["--bucket", bucket] for bucket in ("hour", "day", "week", "month")),
        ["--from", "9999-12-31"],
        ["--by", "druid", "--bucket", "hour", "--tz", "Etc/GMT+12"],
    ):
        code, out, err = assert_no_traceback(
            capsys, ["report", "access", "--store", store_url, *args, "--format", "json"]
        )
        assert code == 0, (args, err)
    code, _, err = assert_no_traceback(
        capsys, ["report", "access", "--store", store_url, "--from", "9999-12-31T23:00-05:00"]
    )
    assert code == 1 and "after the last time that can be stored" in err
    for value in ("nan", "inf", "1e400"):
        code, _, err = assert_no_traceback(capsys, ["cost", "--lines-per-day", value])
        assert code == 1 and "--lines-per-day" in err
    # A number is written with the digits 0-9 (and a decimal point) alone, floats too.
    for args in (
        ["cost", "--lines-per-day", "١٢٣"],
        ["cost", "--lines-per-day", "1_000"],
        ["ship", "--stream", "s", "--poll", "١", "x.log"],
        ["ship", "--stream", "s", "--idle-flush", "1_0", "x.log"],
    ):
        code, _, err = assert_no_traceback(capsys, args)
        assert code == 1 and "(the digits 0-9 and a decimal point alone)" in err, err
    code, out, err = assert_no_traceback(capsys, ["cost", "--lines-per-day", "2000000.5"])
    assert code == 0, err


# --- the query API -----------------------------------------------------------------------------

API_ROUTES = {
    "/objects/{druid}/events": http_api.EVENTS_PARAMS,
    "/reports/access": http_api.REPORT_PARAMS,
}
API_KINDS = {"limit": "number", "top": "number", "from": "time", "to": "time", "tz": "zone"}
API_KINDS["after"] = "cursor"
API_PARAMS = [(route, name) for route, names in API_ROUTES.items() for name in names]


@pytest.fixture(scope="module")
def api(store_url: str) -> Iterator[QueryApi]:
    with open_store(store_url, create=False) as store:
        yield QueryApi(lambda: store)


def assert_not_500(api: QueryApi, route: str, params: dict[str, str]) -> dict[str, Any]:
    response = api.handle(http_event(route.format(druid=DRUID), dict(params)))
    assert response["statusCode"] in (200, 400, 404, 406), (params, response)
    if response["statusCode"] != 200:
        message = json.loads(response["body"])["error"]
        assert "\n" not in message and message != "internal error"
    return response


@pytest.mark.parametrize(("route", "name"), API_PARAMS)
def test_api_edge_values_are_answered_or_refused_with_400(
    api: QueryApi, route: str, name: str
) -> None:
    values = EDGES.get(API_KINDS.get(name, ""), EDGE_NUMBERS + EDGE_TIMES[:5])
    for index, value in enumerate(values):
        params = {name: value}
        if route == "/reports/access" and name != "by":
            params.setdefault("by", ("service", "druid", "agent,path")[index % 3])
        assert_not_500(api, route, params)


@pytest.mark.parametrize(("route", "name"), API_PARAMS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_api_any_value_is_answered_or_refused_with_400(
    api: QueryApi, route: str, name: str, data
) -> None:
    value = data.draw(VALUES.get(API_KINDS.get(name, ""), _garbage), label=name)
    extra = data.draw(
        st.sampled_from([{}, {"by": "druid"}, {"bucket": "week", "tz": "Etc/GMT-14"}])
    )
    params = {**(extra if route == "/reports/access" else {}), name: value}
    assert_not_500(api, route, params)


def test_the_api_cases_of_the_issue(api: QueryApi) -> None:
    response = assert_not_500(api, "/reports/access", {"to": "9999-12-31"})
    assert response["statusCode"] == 200
    for params in ({}, {"from": "9999-12-31"}, {"by": "druid", "bucket": "hour", "tz": "UTC"}):
        assert assert_not_500(api, "/reports/access", params)["statusCode"] == 200
    for route, params in (
        ("/objects/{druid}/events", {"limit": "99999999999999999999"}),
        ("/reports/access", {"top": "99999999999999999999"}),
        ("/reports/access", {"from": "9999-12-31T23:00-05:00"}),
        ("/reports/access", {"tz": "a" * 10_000}),
    ):
        assert assert_not_500(api, route, params)["statusCode"] == 400
