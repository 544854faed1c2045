"""Each page of the dashboard in headless Chromium: it loads with its security headers, no
console error and no request to another origin (checked by the `visit` fixture), its filters
and paging work by clicking, and its numbers are the CLI's."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Page

from provenance.query.pages.templating import CONTENT_SECURITY_POLICY
from tests.cli.test_cli import run
from tests.pages.conftest import Visit
from tests.premis_helpers import assert_valid_premis
from tests.query.test_http_api import Demo


def assert_page_headers(response) -> None:
    headers = response.headers
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"


def follow(page: Page, selector: str) -> None:
    """Click what leads to another page, and wait until that page has loaded (reading the
    page right after the click could read the one before)."""
    with page.expect_navigation():
        page.click(selector)


def history_rows(visit: Visit) -> list[list[str]]:
    return [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        for row in visit.page.locator("table.timeline tbody tr").all()
    ]


def test_object_page_shows_the_state_and_the_history(visit: Visit, demo: Demo, capsys) -> None:
    response = visit.open(f"/objects/{demo.druid}")
    assert response.status == 200
    assert_page_headers(response)
    page = visit.page
    assert page.locator("h1").inner_text() == demo.druid
    code, out, _ = run(capsys, "state", demo.druid, "--store", demo.url, "--format", "json")
    assert code == 0
    state = json.loads(out)
    places = page.locator("#where ~ .scroll").first.locator("tbody th").all_inner_texts()
    assert places == [place["name"] for place in state["locations"]]
    # The stylesheet and icon came from the server under their hashed names.
    assert any("/static/dashboard." in url for url in visit.requests)
    assert len(history_rows(visit)) == 50


def test_history_filters_and_paging_work_by_clicking(visit: Visit, demo: Demo, capsys) -> None:
    code, out, _ = run(capsys, "history", demo.druid, "--store", demo.url, "--format", "json")
    assert code == 0
    history = json.loads(out)
    visit.open(f"/objects/{demo.druid}")
    page = visit.page
    page.fill("#f-limit", "7")
    follow(page, "form.filters button")
    assert len(history_rows(visit)) == 7
    follow(page, "text=Next page")
    second = history_rows(visit)
    times = [event["occurred_at"] for event in history[7:14]]
    shown = page.locator("table.timeline tbody time").evaluate_all(
        "nodes => nodes.map(node => node.getAttribute('datetime'))"
    )
    assert shown == times and len(second) == 7
    follow(page, "text=First page")
    assert "after=" not in page.url

    kinds = Counter(event["type"] for event in history)
    kind = min(kinds, key=lambda name: (kinds[name], name))
    page.select_option("#f-type", kind)
    page.fill("#f-limit", "50")
    follow(page, "form.filters button")
    rows = history_rows(visit)
    assert [row[1] for row in rows] == [kind] * min(kinds[kind], 50)

    page.select_option("#f-type", "")
    page.select_option("#f-outcome", "success")
    follow(page, "form.filters button")
    outcomes = page.locator("table.timeline tbody td:nth-child(3)").all_inner_texts()
    assert outcomes and set(outcomes) == {"success"}


def test_premis_xml_download_is_valid_against_the_xsd(visit: Visit, demo: Demo) -> None:
    visit.open(f"/objects/{demo.druid}")
    with visit.page.expect_download() as downloading:
        visit.page.click(".downloads >> text=XML")
    download = downloading.value
    bare = demo.druid.removeprefix("druid:")
    assert download.suggested_filename == f"{bare}.premis.xml"
    assert_valid_premis(Path(download.path()))


def report_rows(visit: Visit, columns: list[str]) -> list[dict[str, object]]:
    rows = []
    for row in visit.page.locator("#report tbody tr").all():
        cells = [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        record: dict[str, object] = dict(zip(columns, cells[: len(columns)], strict=True))
        record["requests"] = int(row.locator("[data-requests]").get_attribute("data-requests"))
        record["bytes"] = int(row.locator("[data-bytes]").get_attribute("data-bytes"))
        rows.append(record)
    return rows


def test_access_page_numbers_are_prov_report_access(visit: Visit, demo: Demo, capsys) -> None:
    response = visit.open("/reports/access")
    assert_page_headers(response)
    page = visit.page
    page.check("input[name=by][value=agent]")
    page.select_option("#a-bucket", "week")
    page.fill("#a-tz", "UTC")
    page.fill("#a-top", "6")
    follow(page, "form.filters button")
    assert "bucket=week" in page.url
    code, out, _ = run(
        capsys, "report", "access", "--store", demo.url, "--by", "service,agent",
        "--bucket", "week", "--tz", "UTC", "--top", "6", "--format", "json",
    )  # fmt: skip
    assert code == 0
    expected = json.loads(out)
    assert expected
    assert report_rows(visit, ["service", "agent", "bucket"]) == expected
    total = int(page.locator("#total-requests").inner_text().replace(",", ""))
    assert total == sum(row["requests"] for row in expected)
    # Two charts (per week, by group), each bar with its tooltip.
    assert page.locator("figure.chart svg").count() == 2
    assert page.locator("figure.chart rect.bar title").count() > 0


def test_quarantine_page_counts_are_prov_quarantine(visit: Visit, demo: Demo, capsys) -> None:
    response = visit.open("/quarantine")
    assert_page_headers(response)
    code, out, _ = run(capsys, "quarantine", "--store", demo.url, "--format", "json")
    assert code == 0
    entries = json.loads(out)
    counts = Counter(entry["reason"] for entry in entries)
    page = visit.page
    shown = {
        row.locator("th").inner_text(): int(row.locator("td").first.inner_text().replace(",", ""))
        for row in page.locator("#reasons tbody tr").all()
    }
    assert shown == dict(counts)
    reason = min(counts)
    follow(page, f"#reasons >> text={reason}")
    assert page.locator("section.samples h2").all_inner_texts() == [reason]
    assert page.locator("section.samples li").count() == counts[reason]


def test_keyboard_users_can_skip_to_the_content(visit: Visit) -> None:
    visit.open("/quarantine")
    page = visit.page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("path", ["/objects/druid:bc123df4567", "/nothing/here"])
def test_an_error_is_a_page_for_a_browser(visit: Visit, path: str) -> None:
    response = visit.open(path)
    assert response.status == 404
    assert_page_headers(response)
    assert "404" in visit.page.title()
    visit.errors.clear()  # the browser logs the 404 status itself


# -- the fleet: the overview and the list -------------------------------------------------------


def cli_fleet(capsys, demo: Demo, *args: str) -> object:
    code, out, err = run(capsys, *args, "--store", demo.url, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def listed(visit: Visit) -> list[str]:
    return visit.page.locator("table#objects tbody th a").all_inner_texts()


def test_overview_numbers_are_prov_report_fleet(visit: Visit, demo: Demo, capsys) -> None:
    response = visit.open("/")
    assert_page_headers(response)
    report = cli_fleet(capsys, demo, "report", "fleet")
    assert isinstance(report, dict)
    page = visit.page
    totals = {
        name: int(page.locator(f"[data-total={name}]").inner_text().replace(",", ""))
        for name in ("objects", "versions", "events", "failing", "overdue", "unreplicated")
    }
    assert totals == {
        "objects": report["objects"],
        "versions": report["versions"],
        "events": report["events"],
        "failing": report["failing"],
        "overdue": report["overdue"]["count"],
        "unreplicated": report["unreplicated"],
    }
    recent = page.locator("table#recent-failures tbody th a").all_inner_texts()
    assert recent == [item["druid"] for item in report["recent_failures"]]
    assert report["failing"] > 0, "the demo store has failing objects to show"
    if report["failures_by_day"]:
        assert page.locator("figure.chart rect.bar").count() > 0


def test_the_failing_list_is_prov_objects_failing(visit: Visit, demo: Demo, capsys) -> None:
    visit.open("/")
    follow(visit.page, "[data-total=failing] a")
    assert "failing=true" in visit.page.url
    failing = cli_fleet(capsys, demo, "objects", "--failing")
    assert isinstance(failing, list) and failing
    assert listed(visit) == [item["druid"] for item in failing]
    assert visit.page.locator("#o-kind").input_value() == ""
    assert visit.page.locator("input[name=failing]").is_checked()


def test_objects_filters_and_paging_work_by_clicking(visit: Visit, demo: Demo, capsys) -> None:
    everything = cli_fleet(capsys, demo, "objects", "--limit", "1000")
    assert isinstance(everything, list) and len(everything) > 2
    response = visit.open("/objects")
    assert_page_headers(response)
    page = visit.page
    page.fill("#o-limit", "2")
    follow(page, "form.filters button")
    seen = listed(visit)
    while page.locator("a[rel=next]").count():
        follow(page, "a[rel=next]")
        assert page.locator("#o-limit").input_value() == "2"
        seen += listed(visit)
    assert seen == [item["druid"] for item in everything]

    root = next(iter(everything[0]["status"]))
    page.select_option("#o-root", root)
    page.fill("#o-limit", "50")
    follow(page, "form.filters button")
    on_root = cli_fleet(capsys, demo, "objects", "--root", root)
    assert isinstance(on_root, list)
    assert listed(visit) == [item["druid"] for item in on_root] and on_root
    follow(page, "table#objects tbody th a >> nth=0")
    assert page.locator("h1").inner_text() == on_root[0]["druid"]
