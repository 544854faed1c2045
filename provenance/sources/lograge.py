"""The `lograge` source: Rails lograge key=value request lines -> one ServiceAccessed per line.

Owns the key=value message and its mapping. A request line, in any Rails layout (the prefix and
its tags are optional; see `provenance.sources.rails.LAYOUT`):

    [2026-03-02T10:01:02-08:00] [INFO] [3f2a9c1e-...] method=GET path=/v1/objects/druid:bc1
        23df4567/events format=json controller=EventsController action=index status=200
        duration=58.33 view=40.43 db=15.26

(one line, wrapped here). Values are bare, double-quoted with backslash escapes (logfmt),
single-quoted (the KeyValue formatter's `error='...'`, which may hold quotes of its own) or Ruby
hashes and arrays (`params={"id"=>"x y"}`). A line is a request when it has `method=`, `path=`
and `status=` or `controller=`. Mapping: method, path (-> template and druid,
`provenance.sources.access_request`), format -> response_format, controller + action ->
`EventsController#index`, status (int), duration (ms), remote_ip | ip | client_ip -> client,
user | user_id | sub | current_user -> user, host, user_agent | ua, referer | referrer,
bytes | length (`-`: none), the first tag (else `request_id=`) -> request_id. Other keys
(params, view, db, allocations, error) are not kept.

The time is the layout's (zone-less: the context's zone), else a `time=` or `timestamp=` value;
a request line with neither is quarantined ("no time"): a time is never invented, ids must be
the same on every replay. Also quarantined: a malformed time, status, duration or bytes.
Lines with a time prefix that are not requests (the app's other Rails lines) are ignored ("not a
request line"); other lines that are not requests continue the entry before them (backtraces),
or are quarantined with nothing before them ("not a lograge line").
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from provenance.domain.events import ServiceAccessed
from provenance.sources.access_request import normalise
from provenance.sources.base import Draft, Entry, Source, SourceContext
from provenance.sources.rails import LAYOUT, TimeReader

NOT_A_REQUEST_LINE = "not a request line"
NOT_A_LOGRAGE_LINE = "not a lograge line"
NO_TIME = "no time"

_KEY = r"[A-Za-z_@][\w.@-]*+"
# A value that may hold spaces runs to where the next `key=` (or the end of the line) starts.
_TO_NEXT_KEY = rf"(?=\s+{_KEY}=|\s*\Z)"
# How far such a value is looked for: unclosed quotes cannot make a line cost quadratic time
# (a longer value is read as its first token).
_MAX_SPANNING = 4096
_QUOTED = (
    r'"(?:[^"\\]++|\\.)*+"'
    rf"|'.{{0,{_MAX_SPANNING}}}?'{_TO_NEXT_KEY}"
    rf"|\{{.{{0,{_MAX_SPANNING}}}?\}}{_TO_NEXT_KEY}"
    rf"|\[.{{0,{_MAX_SPANNING}}}?\]{_TO_NEXT_KEY}"
)
# One token per match, so the scan moves a token at a time (a token that is not a pair gives
# an empty key); bare values, the common case, are tried first.
_PAIR = re.compile(
    rf"\s*+(?:({_KEY})=([^\s\"'{{\[]\S*+|{_QUOTED}|\S*+)|\S++)",
    re.DOTALL,
)
_QUOTES = ('"', "'")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_METHOD_KEY = re.compile(r"(?<!\S)method=")
_PATH_KEY = re.compile(r"(?<!\S)path=")
_STATUS = re.compile(r"[0-9]{1,3}\Z")
_NUMBER = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?\Z")
_BYTES = re.compile(r"[0-9]{1,18}\Z")


class LogrageSource(Source):
    """Lograge request lines -> ServiceAccessed drafts; other lines are accounted around them."""

    name: ClassVar[str] = "lograge"

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self._times = TimeReader(context.tz)
        # The last head line's entry: the non-request lines without a time that follow are its.
        self._pending: Entry | None = None

    @classmethod
    def detect(cls, line: str) -> bool:
        if "method=" not in line or "path=" not in line:
            return False
        if "status=" not in line and "controller=" not in line:
            return False
        return _METHOD_KEY.search(line) is not None and _PATH_KEY.search(line) is not None

    def feed(self, line_no: int, line: str) -> list[Entry]:
        framed = LAYOUT.match(line)
        message = line[framed.end() :] if framed is not None else line
        values: dict[str, str] | None = None
        if "method=" in message and "path=" in message:
            values = _values(message)
            if (
                not values.get("method")
                or not values.get("path")
                or ("status" not in values and "controller" not in values)
            ):
                values = None
        if values is None:
            if framed is None or (framed["time"] is None and framed["logger_time"] is None):
                pending = self._pending
                if pending is not None:
                    pending.lines.append(line)
                    return []
                return [Entry(line_no, [line], quarantined=NOT_A_LOGRAGE_LINE)]
            entry = Entry(line_no, [line], ignored=NOT_A_REQUEST_LINE)
        else:
            draft = self._draft(framed, values)
            if isinstance(draft, Draft):
                entry = Entry(line_no, [line], drafts=[draft])
            else:
                entry = Entry(line_no, [line], quarantined=draft)
        pending = self._pending
        self._pending = entry
        return [pending] if pending is not None else []

    def flush(self) -> list[Entry]:
        pending = self._pending
        if pending is None:
            return []
        self._pending = None
        return [pending]

    def _draft(self, framed: re.Match[str] | None, values: dict[str, str]) -> Draft | str:
        """The request's draft, or why it is quarantined."""
        get = values.get
        when: str | None = None
        request_id: str | None = None
        if framed is not None:
            time, logger_time, request_id = framed.group("time", "logger_time", "tag")
            when = time or logger_time
        if when is None:
            when = get("time") or get("timestamp")
            if not when:
                return NO_TIME
        occurred_at = self._times.read(when)
        if occurred_at is None:
            return "malformed time"

        status: int | None = None
        if (text := get("status")) is not None:
            if _STATUS.match(text) is None:
                return "malformed status"
            status = int(text)
        duration_ms: float | None = None
        if (text := get("duration")) is not None:
            if _NUMBER.match(text) is None:
                return "malformed duration"
            duration_ms = float(text)
        size: int | None = None
        if (text := get("bytes") or get("length")) and text != "-":
            if _BYTES.match(text) is None:
                return "malformed bytes"
            size = int(text)

        path = values["path"]
        template, druid = normalise(path)
        controller = get("controller") or None
        if controller is not None and (action := get("action")):
            controller = f"{controller}#{action}"
        # Lograge logs nil as an empty value: `or None` makes both absent.
        fields: dict[str, Any] = {
            "object": None,
            "occurred_at": occurred_at,
            "host": get("host") or None,
            "client": get("remote_ip") or get("ip") or get("client_ip") or None,
            "user": get("user") or get("user_id") or get("sub") or get("current_user") or None,
            "method": values["method"],
            "path": path,
            "template": template,
            "druid": druid,
            "status": status,
            "bytes": size,
            "duration_ms": duration_ms,
            "referer": get("referer") or get("referrer") or None,
            "user_agent": get("user_agent") or get("ua") or None,
            "request_id": request_id or get("request_id") or None,
            "controller": controller,
            "response_format": get("format") or None,
        }
        return Draft(ServiceAccessed, fields)


def _values(message: str) -> dict[str, str]:
    """The key=value pairs of a message, values without their quotes."""
    if '"' in message or "'" in message or "{" in message or "[" in message:
        values = dict(_PAIR.findall(message))
        for key, value in values.items():
            if value.startswith(_QUOTES):
                values[key] = _unquote(value)
        return values
    # Nothing quoted, so a value is one token: splitting gives what `_PAIR` would, for every
    # well-formed key, at two thirds of the cost.
    pairs = [token.partition("=") for token in message.split()]
    return {key: value for key, _, value in pairs}


def _unquote(value: str) -> str:
    """A value as logged without its quotes (and, double-quoted, its backslash escapes)."""
    if len(value) >= 2:
        first = value[0]
        if first == '"' and value[-1] == '"':
            inner = value[1:-1]
            return _ESCAPE.sub(r"\1", inner) if "\\" in inner else inner
        if first == "'" and value[-1] == "'":
            return value[1:-1]
    return value
