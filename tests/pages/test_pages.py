"""The dashboard's pages through the query API (no browser): content negotiation, the headers
of pages and assets, escaping, the charts' geometry, and Jinja2 kept out of the JSON path."""

from __future__ import annotations

import base64
import gzip
import os
import re
import signal
import subprocess
import sys
import urllib.request
from typing import Any

import pytest
from lxml import html

from eventstore.sqlite import SQLiteEventStore
from provenance.query.http_api import QueryApi
from provenance.query.pages import charts
from provenance.query.pages.fleet_pages import failure_days, objects_page, overview_page
from provenance.query.pages.templating import ASSET_CACHE_CONTROL, static_url
from provenance.query.serve import PerThreadStore
from tests.aws_lambda import http_event
from tests.conftest import ingest_bytes
from tests.query.test_http_api import Demo

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def api(demo: Demo) -> QueryApi:
    return QueryApi(PerThreadStore(demo.url))


def page_paths(druid: str) -> list[str]:
    return ["/", "/objects", f"/objects/{druid}", "/reports/access", "/quarantine"]


def text(response: dict[str, Any]) -> str:
    assert not response["isBase64Encoded"]
    return str(response["body"])


def test_a_browser_gets_pages_and_everyone_else_json(api: QueryApi, demo: Demo) -> None:
    for path in page_paths(demo.druid):
        page = api.handle(http_event(path, headers=BROWSER))
        assert page["statusCode"] == 200, page["body"]
        assert page["headers"]["Content-Type"] == "text/html; charset=utf-8"
        assert "Accept" in page["headers"]["Vary"]
        for accept in (None, "*/*", "application/json"):
            headers = {"accept": accept} if accept else None
            other = api.handle(http_event(path, headers=headers))
            assert other["headers"]["Content-Type"] == "application/json", (path, accept)
        forced = api.handle(http_event(path, {"format": "json"}, headers=BROWSER))
        assert forced["headers"]["Content-Type"] == "application/json"


def test_object_json_is_the_state_route(api: QueryApi, demo: Demo) -> None:
    page = api.handle(http_event(f"/objects/{demo.druid}"))
    state = api.handle(http_event(f"/objects/{demo.druid}/state"))
    assert page["body"] == state["body"]


def test_every_page_forbids_other_origins_and_inline_code(api: QueryApi, demo: Demo) -> None:
    for path in page_paths(demo.druid):
        page = api.handle(http_event(path, headers=BROWSER))
        policy = page["headers"]["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert page["headers"]["X-Content-Type-Options"] == "nosniff"
        body = text(page)
        # The policy forbids inline style and script: the pages must not need them.
        assert not re.search(r"<script|\sstyle=|\son[a-z]+=", body), path
        assert re.search(r'<html lang="en">', body)
        document = html.fromstring(body)
        # Every form control has a label.
        labelled = {label.get("for") for label in document.iter("label")}
        for control in document.xpath("//select | //input[not(@type='checkbox')]"):
            assert control.get("id") in labelled, (path, control.get("name"))
        for table in document.iter("table"):
            assert table.find("caption") is not None, path


def test_pages_keep_etag_head_and_gzip(api: QueryApi, demo: Demo) -> None:
    path = f"/objects/{demo.druid}"
    page = api.handle(http_event(path, headers=BROWSER))
    again = api.handle(
        http_event(path, headers={**BROWSER, "if-none-match": page["headers"]["ETag"]})
    )
    assert again["statusCode"] == 304
    head = api.handle(http_event(path, headers=BROWSER, method="HEAD"))
    assert head["body"] == "" and head["headers"]["Content-Length"] == str(len(text(page).encode()))
    zipped = api.handle(http_event(path, headers={**BROWSER, "accept-encoding": "gzip"}))
    assert zipped["headers"]["Content-Encoding"] == "gzip"
    assert gzip.decompress(base64.b64decode(zipped["body"])).decode() == text(page)


def test_assets_are_cached_for_long_under_their_hash(api: QueryApi) -> None:
    for name, media in (("dashboard.css", "text/css"), ("favicon.svg", "image/svg+xml")):
        url = static_url(name)
        assert re.fullmatch(r"/static/[a-z]+\.[0-9a-f]{12}\.[a-z]+", url)
        response = api.handle(http_event(url, headers=BROWSER))
        assert response["statusCode"] == 200
        assert response["headers"]["Content-Type"] == media
        assert response["headers"]["Cache-Control"] == ASSET_CACHE_CONTROL
    stale = api.handle(http_event("/static/dashboard.000000000000.css"))
    assert stale["statusCode"] == 404


@pytest.mark.parametrize(
    ("fmt", "extension"), [("xml", "xml"), ("turtle", "ttl"), ("json-ld", "jsonld")]
)
def test_premis_download_names_its_file(
    api: QueryApi, demo: Demo, fmt: str, extension: str
) -> None:
    path = f"/objects/{demo.druid}/premis"
    response = api.handle(http_event(path, {"format": fmt, "download": "1"}))
    bare = demo.druid.removeprefix("druid:")
    expected = f'attachment; filename="{bare}.premis.{extension}"'
    assert response["headers"]["Content-Disposition"] == expected
    shown = api.handle(http_event(path, {"format": fmt}))
    assert "Content-Disposition" not in shown["headers"]


def test_an_error_is_json_unless_a_browser_asks(api: QueryApi) -> None:
    path = "/objects/bc123df4567"
    assert api.handle(http_event(path))["headers"]["Content-Type"] == "application/json"
    page = api.handle(http_event(path, headers=BROWSER))
    assert page["statusCode"] == 404
    assert "no events for druid:bc123df4567" in text(page)
    assert page["headers"]["Content-Security-Policy"]


def test_quarantined_lines_are_shown_as_text(store: SQLiteEventStore, store_path) -> None:
    ingest_bytes(store, b'{"broken": <script>alert("x")</script> \xff\xfe\x07\n', source="auto")
    api = QueryApi(PerThreadStore(f"sqlite:///{store_path}"))
    body = text(api.handle(http_event("/quarantine", headers=BROWSER)))
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "not UTF-8" in body and r"\xff\xfe" in body and r"\x07" in body and "\x07" not in body


def test_json_answers_never_import_jinja2(demo: Demo) -> None:
    """The Lambda's cold start for JSON requests stays as it was: templates load for pages."""
    script = (
        "import sys\n"
        "from provenance.query.http_api import QueryApi\n"
        "from provenance.query.serve import PerThreadStore\n"
        f"api = QueryApi(PerThreadStore({demo.url!r}))\n"
        "def get(path):\n"
        "    context = {'http': {'method': 'GET', 'path': path}, 'stage': '$default'}\n"
        "    return api.handle({'rawPath': path, 'requestContext': context})['statusCode']\n"
        f"assert get('/objects/{demo.druid}') == 200\n"
        "assert get('/quarantine') == 200\n"
        "assert get('/reports/access') == 200\n"
        "assert 'jinja2' not in sys.modules, 'jinja2 imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


# -- charts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (250, 500)])
def test_the_value_axis_ends_on_a_round_number(value: int, top: int) -> None:
    assert charts.nice_ceiling(value) == top


def test_columns_are_as_tall_as_their_values() -> None:
    chart = charts.columns([("a", 10), ("b", 5), ("c", 0)], title="t", unit="u")
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 2 * heights[1] and heights[2] == 0
    assert all(bar.y + bar.height == chart.plot_bottom for bar in chart.bars)
    assert [tick.label for tick in chart.ticks] == ["0", "5", "10"]


def test_rows_rank_the_largest_widest() -> None:
    chart = charts.rows([("a", 8), ("b", 2)], title="t", unit="u")
    assert chart.bars[0].width == 4 * chart.bars[1].width
    assert chart.bars[0].y < chart.bars[1].y


# -- the fleet pages, over answers of the shapes of provenance.query.fleet ------------------------


def fleet_object(druid: str, *, failing: bool) -> dict[str, Any]:
    failure = {
        "kind": "fixity", "check": "fixity|services-disk01", "place": "services-disk01",
        "since": "2026-11-30T10:00:00Z", "outcome": "fail",
        "result_code": "MOAB_FILE_CHECKSUM_MISMATCH", "version": 3, "detail": "<b>bad</b>",
    }  # fmt: skip
    return {
        "druid": druid, "latest_version": 3, "versions": 3,
        "status": {"services-disk01": "invalid_checksum" if failing else "ok"},
        "open_failures": [failure] if failing else [],
        "failing_since": "2026-11-30T10:00:00Z" if failing else None,
        "last_fixity": {"services-disk01": "2026-10-01T08:00:00Z"},
        "last_fixity_at": "2026-10-01T08:00:00Z",
        "unreplicated": [{"version": 3, "endpoints": ["aws_s3_west_2"], "missing": ["ibm_us_south"],
                          "waiting_since": "2026-11-29T00:00:00Z"}],
        "last_event": "2026-11-30T10:00:00Z",
    }  # fmt: skip


FLEET_REPORT = {
    "objects": 1234, "versions": 3456, "events": 99999, "failing": 12,
    "failing_by_kind": {"fixity": 3, "replication": 9},
    "by_status": {"ok": 1200, "invalid_checksum": 3},
    "by_root": {
        "services-disk01": {"ok": 600, "invalid_checksum": 3},
        "services-disk02": {"ok": 600},
    },
    "by_endpoint": {"aws_s3_west_2": 3400, "ibm_us_south": 3390},
    "endpoints": ["aws_s3_west_2", "ibm_us_south"],
    "unreplicated": 66,
    "overdue": {"days": 90, "before": "2026-09-08", "count": 40, "never": 5},
    "failures_by_day": {"2026-11-20": 1, "2026-11-29": 3, "2026-11-30": 7},
    "recent_failures": [fleet_object("druid:bc123df4567", failing=True)],
    "as_of": "2026-11-30T10:00:00Z",
}  # fmt: skip


def test_overview_shows_the_fleet_report() -> None:
    document = html.fromstring(overview_page(FLEET_REPORT).body)
    totals = {
        node.get("data-total"): int(node.text_content().replace(",", ""))
        for node in document.xpath("//*[@data-total]")
    }
    assert totals == {
        "objects": 1234, "versions": 3456, "events": 99999, "failing": 12, "overdue": 40,
        "unreplicated": 66,
    }  # fmt: skip
    rows = document.xpath("//table[@id='failures-by-day']/tbody/tr")
    assert len(rows) == 11  # 2026-11-20 .. 2026-11-30, quiet days as 0
    assert len(document.xpath("//figure[@class='chart']//rect")) == 11
    recent = document.xpath("//table[@id='recent-failures']/tbody/tr/th/a")
    assert [link.get("href") for link in recent] == ["/objects/druid:bc123df4567"]
    by_root = document.xpath("//table[@id='by-root']/tbody/tr/td")
    assert [cell.text_content() for cell in by_root] == ["3", "600", "0", "600"]


def test_failure_days_fill_the_quiet_days_and_stop_at_thirty() -> None:
    days = failure_days({"2026-01-01": 1, "2026-03-01": 2})
    assert len(days) == charts_days() and days[-1] == ("2026-03-01", 2)
    assert days[0] == ("2026-01-31", 0)
    assert failure_days({}) == []


def charts_days() -> int:
    from provenance.query.pages.fleet_pages import CHART_DAYS

    return CHART_DAYS


def test_objects_page_keeps_the_filters_in_the_form_and_the_next_link() -> None:
    asked = {"failing": "true", "kind": "fixity", "root": "services-disk01", "limit": "2"}
    reply = objects_page(
        asked, [fleet_object("druid:bc123df4567", failing=True)], "token/+1", FLEET_REPORT
    )
    document = html.fromstring(reply.body)
    assert document.xpath("//input[@name='failing']/@checked")
    assert document.xpath("//select[@name='kind']/option[@selected]/@value") == ["fixity"]
    assert document.xpath("//select[@name='root']/option[@selected]/@value") == ["services-disk01"]
    (following,) = document.xpath("//a[@rel='next']/@href")
    assert following == (
        "/objects?failing=true&kind=fixity&root=services-disk01&limit=2&after=token%2F%2B1"
    )
    assert document.xpath("//table[@id='objects']/tbody/tr/th/a/text()") == ["druid:bc123df4567"]


def test_prov_demo_serve_serves_the_dashboard_of_its_store(tmp_path) -> None:
    """`prov demo --serve`: the tour, then the dashboard on the URL it prints, until Ctrl-C."""
    command = [
        sys.executable, "-c", "from provenance.cli.main import main; main()",
        "demo", "--dir", str(tmp_path / "demo"), "--objects", "3", "--days", "5",
        "--serve", "--port", "0",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("serving the query API on "):
                break
        assert any(line.startswith("the dashboard: ") for line in lines), lines
        url = lines[-1].split()[5]
        request = urllib.request.Request(url, headers=BROWSER)
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert b"<h1>Overview</h1>" in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 128 + signal.SIGINT


def test_prov_demo_serve_without_waitress_says_so_before_the_tour(
    capsys, tmp_path, monkeypatch
) -> None:
    import importlib.util

    from tests.cli.test_cli import run

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "waitress" else found(name)
    )
    folder = tmp_path / "demo"
    code, out, err = run(capsys, "demo", "--dir", str(folder), "--serve", "--objects", "3")
    assert (code, out) == (1, "")
    assert err.startswith("prov: error: prov demo --serve needs waitress") and err.count("\n") == 1
    assert not folder.exists()


@pytest.mark.parametrize(
    ("status", "shown_as"),
    [
        ("ok", "good"),
        ("invalid_checksum", "bad"),
        ("invalid_moab", "bad"),
        ("online_moab_not_found", "bad"),
        ("unexpected_version_on_storage", "bad"),
        ("validity_unknown", "muted"),
        ("no_change_logged", "muted"),
        (None, "muted"),
    ],
)
def test_a_catalog_status_is_coloured_by_what_it_says(status: str | None, shown_as: str) -> None:
    from provenance.query.pages.templating import status_class

    assert status_class(status) == shown_as
