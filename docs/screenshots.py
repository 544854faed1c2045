"""Screenshots of the dashboard for the README: each page at a laptop's and a phone's width.

    .venv/bin/python docs/screenshots.py [--out docs/screenshots] [--objects 300 --days 120]

Builds a demo store in a temporary folder (`prov demo`'s generator), serves it as `prov serve`
does (in this process, on a free port of 127.0.0.1), and photographs each page with headless
Chromium (Debian's, as the browser tests use: `make test` installs it). A page the API does not
serve yet is left out with a note. The PNGs are written as `<page>-laptop.png` and
`<page>-phone.png`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from eventstore import open_store
from provenance.cli.demo.tour import run_demo
from provenance.query.http_api import QueryApi
from provenance.query.serve import LocalServer, PerThreadStore, wsgi_app
from provenance.query.views import object_state_view

CHROMIUM = "/usr/bin/chromium"
WIDTHS = {"laptop": (1280, 900), "phone": (390, 844)}


def featured(url: str) -> str:
    """An object worth showing: the one with the most events among those with open failures
    (the most events overall when none fails)."""
    with open_store(url, create=False) as store:
        streams = list(store.streams(prefix="druid:"))
        sizes = {stream: len(store.read_stream(stream)) for stream in streams}
        failing = [s for s in streams if object_state_view(store, s)["open_failures"]]
    return max(failing or streams, key=lambda stream: sizes[stream])


def pages(druid: str) -> dict[str, str]:
    return {
        "overview": "/",
        "objects": "/objects?failing=true",
        "object": f"/objects/{druid}",
        "access": "/reports/access?by=service&bucket=week",
        "quarantine": "/quarantine",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "screenshots")
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        run_demo(Path(folder), objects=args.objects, days=args.days, echo=lambda line: None)
        url = f"sqlite:///{Path(folder) / 'provenance.db'}"
        druid = featured(url)
        server = LocalServer(
            wsgi_app(QueryApi(PerThreadStore(url)).handle), host="127.0.0.1", port=0, threads=2
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                for device, (width, height) in WIDTHS.items():
                    page = browser.new_page(viewport={"width": width, "height": height})
                    for name, path in pages(druid).items():
                        response = page.goto(server.url + path)
                        if response is None or response.status != 200:
                            status = response.status if response else "no answer"
                            print(f"left out {name} ({path}): {status}", file=sys.stderr)
                            continue
                        target = args.out / f"{name}-{device}.png"
                        page.screenshot(path=str(target))
                        print(f"wrote {target} ({target.stat().st_size:,} bytes)")
                    page.close()
                browser.close()
        finally:
            server.close()


if __name__ == "__main__":
    main()
