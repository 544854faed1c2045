"""The dashboard in a real browser: `prov serve`'s stack over a demo store, headless Chromium.

One demo store, one server and one browser per test session (each test gets a fresh browser
context: no cookies or cache shared). Chromium is Debian's package, which the Makefile installs
before the unit tests (Playwright's own browser download is not reachable from every machine).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, Response, sync_playwright

from provenance.query.http_api import QueryApi
from provenance.query.serve import LocalServer, PerThreadStore, wsgi_app
from tests.query.test_http_api import Demo, make_demo

CHROMIUM = "/usr/bin/chromium"
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return make_demo(tmp_path_factory.mktemp("pages-demo"))


@pytest.fixture(scope="session")
def origin(demo: Demo) -> Iterator[str]:
    """`prov serve` over the demo store (waitress, the WSGI adapter, the query API) on a free
    port of 127.0.0.1, in a thread of this process."""
    api = QueryApi(PerThreadStore(demo.url))
    server = LocalServer(wsgi_app(api.handle), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.url
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@dataclass
class Visit:
    """A browser tab that records what a page did: every request, console errors."""

    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> Response:
        response = self.page.goto(self.origin + path)
        assert response is not None
        return response


@pytest.fixture
def visit(browser: Browser, origin: str) -> Iterator[Visit]:
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    seen = Visit(page, origin)

    def console(message: Any) -> None:
        if message.type in ("error", "warning"):
            seen.errors.append(f"console {message.type}: {message.text}")

    def request(sent: Request) -> None:
        seen.requests.append(sent.url)

    page.on("console", console)
    page.on("pageerror", lambda error: seen.errors.append(f"page error: {error}"))
    page.on("request", request)
    yield seen
    context.close()
    # Every page: nothing logged to the console (a CSP violation is logged there), and no
    # request anywhere but the server (no CDN, no font, no beacon).
    assert seen.errors == []
    foreign = [url for url in seen.requests if not url.startswith(origin + "/")]
    assert foreign == []
    assert seen.requests, "the test made no request"
