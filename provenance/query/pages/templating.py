"""One Jinja2 environment for every page, the headers every page sends, and the static assets.

Templates autoescape (HTML and SVG): a druid, a log line or a user agent is text, never markup.
Undefined names fail the render instead of printing nothing, so a template bug is a 500 in the
tests and not a silently empty cell.

The assets (one stylesheet, one icon) are served by the API itself under `/static/`, named
with a hash of their content (`dashboard.3f2a9c1b7d0e.css`): a browser may keep them a year,
and a new version is a new name. There is no script: the pages are forms and links.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from http import HTTPStatus
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from provenance.domain.terminal import visible
from provenance.projections.object_fleet import check_label

# Nothing from another origin, no inline style or script, no framing, forms post back here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# A hashed name never changes content: browsers and proxies may keep it for a year.
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
_ASSET_TYPES = {"css": "text/css", "svg": "image/svg+xml"}
_ASSET_FILES = ("dashboard.css", "favicon.svg")


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


@cache
def _catalog() -> tuple[dict[str, Asset], dict[str, str]]:
    """The assets by served (hashed) name, and each file's served name."""
    served: dict[str, Asset] = {}
    names: dict[str, str] = {}
    folder = resources.files(__package__).joinpath("static")
    for name in _ASSET_FILES:
        body = folder.joinpath(name).read_bytes()
        stem, _, suffix = name.rpartition(".")
        hashed = f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{suffix}"
        served[hashed] = Asset(body, _ASSET_TYPES[suffix])
        names[name] = hashed
    return served, names


def asset(served_name: str) -> Asset | None:
    """The asset served as `served_name`, if there is one."""
    return _catalog()[0].get(served_name)


def static_url(name: str) -> str:
    """The URL of the asset file `name` (`dashboard.css`): its hashed name under /static/."""
    return f"/static/{_catalog()[1][name]}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader(__package__ or "provenance.query.pages"),
        autoescape=select_autoescape(("html", "svg")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.filters["visible"] = visible
    env.filters["number"] = number
    env.filters["when"] = when
    env.filters["bytes"] = byte_size
    env.filters["status_class"] = status_class
    env.filters["check"] = check_label
    return env


def render(template: str, **context: Any) -> bytes:
    return environment().get_template(template).render(**context).encode()


def error_page(status: int, message: str) -> str:
    """The page of an error answer: its status, reason and one-line message."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return (
        environment()
        .get_template("error.html")
        .render(section="", json_url=None, status=status, phrase=phrase, message=message)
    )


def status_class(status: str | None) -> str:
    """How a catalog status is coloured: ok is good, a found problem is bad (invalid_*,
    unexpected_*, *_not_found), the rest (validity_unknown, no_change_logged) is muted."""
    if status == "ok":
        return "good"
    if status and (status.startswith(("invalid", "unexpected")) or "not_found" in status):
        return "bad"
    return "muted"


def number(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def when(value: str | None) -> str:
    """A stored UTC time (`2026-01-26T16:38:35.378834Z`) to the second, for people."""
    if not value:
        return "never"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def byte_size(value: int) -> str:
    size = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")
