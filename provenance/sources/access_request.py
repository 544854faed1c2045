"""What a web request asked for: its path template ("normalised query") and the druid it names.

Reports count requests by template, so that `/file/druid:bb123cd4567/a.pdf` and
`/file/druid:cc234dd5678/b.tif` are one query, `/file/druid:{druid}/{file}`. The path is cut
at `/` and each segment, percent-decoded, becomes:

- a druid (bare or `druid:` form, any case, percent-encoded or not) -> `{druid}`, keeping a
  `druid:` prefix (lower-cased): `/v1/objects/druid:{druid}/events`; a format suffix stays
  (purl's `/{druid}.xml`), and a druid with a file behind an encoded slash, as IIIF image
  identifiers are, reads `{druid}%2F{file}`; a segment naming a druid among other text
  (`bb123cd4567_0001.jp2`) is `{file}` or `{id}`, its druid still the request's;
- a number -> `{n}`;
- a file name (`name.ext`) -> `{file}`, except the names that belong to an API rather than to
  the content (IIIF's `info.json`, `manifest.json` and `{quality}.{format}` such as
  `default.jpg`, Moab manifests such as `signatureCatalog.xml`, `robots.txt`, `favicon.ico`);
- a word (letters, `._~-`, at most one digit: `objects`, `iiif3`, `.well-known`) or an API
  version `v1`..`v99` -> itself;
- anything else (ids, uuids, hashes, IIIF regions and sizes such as `0,0,100,100` and
  `!400,400`, free text) -> `{id}`.

The query string keeps its parameter names, sorted and without repeats, with values
abstracted: `?page={}&q={}` (a name that is not a plain word is `{id}`). A druid named only in
the query (`/v1/resources?druid=...`) is still the request's druid. An absolute-form target
(`http://host/path`) is reduced to its path; `*` (OPTIONS) stays `*`, and a CONNECT target
(`host:port`) is `{authority}`. A fragment is dropped. Templates are at most MAX_TEMPLATE
characters (cut at a separator, ending in `…`); only the first MAX_TARGET characters of a
target are read. No input raises.

So a template never holds a druid or a run of two digits outside a `v<n>` segment: it stays
low-cardinality, which is what grouping by it needs.

Shared by the access-log sources (`clf`, `lograge`, `rails`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote, unquote_plus

from provenance.domain.druid import IN_TEXT, PREFIX

MAX_TEMPLATE = 200
# Longer targets are junk or attacks; reading a bounded prefix bounds the cache's memory too.
MAX_TARGET = 1_024
_MAX_WORD = 40
# Longer segments are junk: not worth a cache entry.
_MAX_CACHED_SEGMENT = 256

_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_AUTHORITY = re.compile(r"[^/?#\s]+:[0-9]{1,5}\Z")
_NUMBER = re.compile(r"[0-9]+\Z")
_WORD = re.compile(r"[A-Za-z._~-]*[0-9]?[A-Za-z._~-]*\Z")
_API_VERSION = re.compile(r"v[1-9][0-9]?\Z")
# `name.ext`: something other than a dot before the last dot (`.env` is a word, not a file).
_FILE = re.compile(r".*[^.]\.[A-Za-z]{1,8}[0-9]?\Z", re.DOTALL)
_FORMAT_SUFFIX = re.compile(r"\.[A-Za-z]{1,8}[0-9]?\Z")
_IIIF_IMAGE_FILE = re.compile(
    r"(?:default|color|gray|bitonal|native)\.(?:jpg|jpeg|png|gif|webp|tif|tiff|jp2|pdf)\Z"
)
_API_FILES = frozenset(
    {
        "info.json",
        "manifest.json",
        # Moab manifests, served by name by sdr-services-app's `/objects/:druid/manifest/:file`.
        "fileInventoryDifference.xml",
        "manifestInventory.xml",
        "signatureCatalog.xml",
        "versionAdditions.xml",
        "versionInventory.xml",
        "favicon.ico",
        "robots.txt",
        "sitemap.xml",
    }
)
_PARAM = re.compile(r"[A-Za-z_][A-Za-z._\[\]-]*[0-9]?[A-Za-z._\[\]-]*\Z")


def normalise(target: str) -> tuple[str, str | None]:
    """(template, druid or None) of a request target (path and optional query string).

    Cached, as targets and their segments repeat; reading at most MAX_TARGET characters keeps
    the cache's memory bounded.
    """
    return _normalise(target[:MAX_TARGET])


# 16,384 entries each (about 26 MiB less at a million requests than 65,536, for no speed
# measurable on the benchmark's log: BENCHMARKS.md section 8): ingest's memory stays flat.
@lru_cache(maxsize=16_384)
def _normalise(target: str) -> tuple[str, str | None]:
    if "#" in target:
        target = target.partition("#")[0]
    if target[:1] != "/":
        if target == "*":
            return "*", None
        absolute = _ABSOLUTE.match(target)
        if absolute is not None:
            target = target[absolute.end() :] or "/"
        elif _AUTHORITY.match(target):
            return "{authority}", None
    path, has_query, query = target.partition("?")
    parts: list[str] = []
    druid: str | None = None
    for segment in path.split("/"):
        if len(segment) <= _MAX_CACHED_SEGMENT:
            part, named = _segment(segment)
        else:
            part, named = _segment.__wrapped__(segment)
        parts.append(part)
        if named is not None and druid is None:
            druid = named
    template = "/".join(parts) or "/"
    if has_query:
        names = {_param_name(pair.partition("=")[0]) for pair in query.split("&") if pair}
        if names:
            template += "?" + "&".join(f"{name}={{}}" for name in sorted(names))
        if druid is None:
            found = IN_TEXT.search(unquote_plus(query).lower())
            druid = PREFIX + found[1] if found is not None else None
    return (template if len(template) <= MAX_TEMPLATE else _bounded(template)), druid


# Segments recur far more than whole targets do (`iiif`, `full`, `default.jpg`, one druid's
# many IIIF tiles), so a target seen for the first time is mostly made of cached segments.
@lru_cache(maxsize=16_384)
def _segment(segment: str) -> tuple[str, str | None]:
    """(template part, druid or None) of one path segment as logged; an empty one stays empty."""
    text = unquote(segment) if "%" in segment else segment
    if _NUMBER.match(text):
        return "{n}", None
    lowered = text.lower()
    found = IN_TEXT.search(lowered)
    if found is not None:
        return _druid_segment(lowered, found), PREFIX + found[1]
    if _FILE.match(text):
        if text in _API_FILES or _IIIF_IMAGE_FILE.match(text):
            return text, None
        return "{file}", None
    if len(text) <= _MAX_WORD and (_WORD.match(text) or _API_VERSION.match(text)):
        return text, None
    return "{id}", None


def _druid_segment(lowered: str, found: re.Match[str]) -> str:
    """The template part of a (lower-cased) segment that names a druid."""
    if found.start() == 0:
        druid = "druid:{druid}" if found[0].startswith(PREFIX) else "{druid}"
        rest = lowered[found.end() :]
        if not rest:
            return druid
        if _FORMAT_SUFFIX.match(rest):
            return druid + rest
        if rest[0] == "/":
            # Decoded from `%2F`: IIIF identifiers are `<druid>%2F<file>`.
            return druid + "%2F{file}"
    return "{file}" if _FILE.match(lowered) else "{id}"


def _param_name(raw: str) -> str:
    name = unquote_plus(raw) if "%" in raw or "+" in raw else raw
    return name if len(name) <= _MAX_WORD and _PARAM.match(name) else "{id}"


def _bounded(template: str) -> str:
    # Cut at a separator, so that no placeholder or word is left half.
    cut = max(template.rfind(sep, 0, MAX_TEMPLATE) for sep in "/?&")
    return template[: cut if cut > 0 else MAX_TEMPLATE - 1] + "…"
