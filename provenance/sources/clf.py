"""The `clf` source: web access logs in Common or Combined Log Format -> `ServiceAccessed`.

Owns the access-log line format, one request per line:

    [vhost:port ]client ident user [dd/Mon/YYYY:HH:MM:SS +zzzz] "METHOD target PROTOCOL"
        status bytes[ "referer" "user agent"][ seconds]

Common Log Format ends at `bytes`; Combined adds the quoted referer and user agent. The
optional last field is the request's duration in seconds, as Rack's CommonLogger writes it
(sdr-services-app: `... "GET /objects/druid:bb123cd4567/content/a.pdf HTTP/1.1" 200 12345
0.0123`). Apache's `vhost_combined` puts `%v:%p` first: that vhost becomes `host` (without
the port); otherwise `host` is None, as CLF does not name the server. The client field is the
address (IPv4, IPv6) or name as logged; older Rack writes X-Forwarded-For there, a list
`client, proxy, ...`, of which the first is the client. `-` (ident, user, bytes, referer, user
agent) means none. Inside the quoted fields `\\"` and `\\\\` are unescaped, and so are `\\xhh`
runs (nginx's escaping) that decode to printable UTF-8; other escapes stay as logged.

Each line is one entry. A request line that is not `METHOD target PROTOCOL` (Apache's `"-"`
for a connection that sent nothing, TLS handshakes sent to the HTTP port) is quarantined; an
HTTP/0.9 request (`"GET /path"`, no protocol) is accepted with `protocol` None. Impossible
dates and zone offsets and statuses outside 100..599 are quarantined too (a time near the ends
of the calendar is ingest's to refuse, by the rule of `provenance.domain.event_time`); blank lines
are ignored.

`service`, `agent` and `client_id` are left to ingest (the last two are its access policy's
to decide).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

from provenance.domain.events import ServiceAccessed
from provenance.sources.access_request import normalise
from provenance.sources.base import Draft, Entry, Source, SourceContext

# A quoted field with backslash escapes, unrolled and possessive (`[^"\\]*(?:\\.[^"\\]*)*`):
# it never needs to give characters back, and not trying to is what makes it fast.
_QUOTED = r'[^"\\]*+(?:\\.[^"\\]*+)*+'
_TIME = r"[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}"
# The address fields: client, ident, user. Nearly every line has just these; the empty vhost
# group keeps the groups in the order of the other form's.
_PLAIN_ADDRESSES = r"(?P<vhost>)(?P<client>\S++) \S++ (?P<user>\S++) "
# The other form: `vhost_combined`'s `vhost:port` first, and Rack's X-Forwarded-For list as
# the client. Only tried when the plain form fails: finding `:port` needs backtracking.
_ADDRESSES = r"(?:(?P<vhost>\S+):[0-9]{1,5} )?(?P<client>(?:\S+, )*\S+) \S+ (?P<user>\S+) "
_REQUEST_FIELDS = (
    rf"\[(?P<time>{_TIME})\] "
    r'"(?P<method>[A-Z][A-Z0-9_-]{0,31}) (?P<target>(?=[^\s"])[^\s"\\]*+(?:\\\S[^\s"\\]*+)*+)'
    r'(?: (?P<protocol>[A-Z][A-Z0-9]{0,15}/[0-9](?:\.[0-9])?))?" '
    r"(?P<status>[0-9]{3}) (?P<bytes>[0-9]{1,18}|-)"
    rf'(?: "(?P<referer>{_QUOTED})" "(?P<agent>{_QUOTED})")?'
    r"(?: (?P<duration>[0-9]{1,9}(?:\.[0-9]{1,9})?))?[ \t]*\Z"
)
_LINE = re.compile(_PLAIN_ADDRESSES + _REQUEST_FIELDS, re.DOTALL)
_LINE_WITH_VHOST_OR_PROXIES = re.compile(_ADDRESSES + _REQUEST_FIELDS, re.DOTALL)
# The same layout, loosely: only used to say what is wrong with a line the others refused.
_LOOSE = re.compile(
    _ADDRESSES + rf'\[(?P<time>[^\]]*)\] "(?P<request>{_QUOTED})" (?P<status>\S+) (?P<bytes>\S+)',
    re.DOTALL,
)
# Three fields before the bracketed time, or a few more (vhost, a proxy list): looks like CLF.
# Possessive and lazy, as `auto` asks this of every line of every format.
_DETECT = re.compile(r"(?:\S++ ){3,8}?\[[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:")
_TIME_ONLY = re.compile(_TIME + r"\Z")
_REQUEST = re.compile(r"[A-Z][A-Z0-9_-]{0,31} \S+(?: [A-Z][A-Z0-9]{0,15}/[0-9](?:\.[0-9])?)?\Z")
_STATUS = re.compile(r"[0-9]{3}\Z")
_BYTES = re.compile(r"(?:[0-9]{1,18}|-)\Z")
_ESCAPE = re.compile(r"\\(?:x[0-9A-Fa-f]{2}(?:\\x[0-9A-Fa-f]{2})*|(.))", re.DOTALL)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
# Zone offsets seen so far (at most 2 x 10^4 spellings, so unbounded is bounded); None: invalid.
_ZONES: dict[str, timezone | None] = {}

NOT_A_REQUEST = "request line is not METHOD TARGET PROTOCOL"


class _RejectError(ValueError):
    """A line in the layout whose values are impossible; the message is the reason."""


class ClfSource(Source):
    """One access-log line -> one `ServiceAccessed` draft (or a reason); remembers the last time."""

    name: ClassVar[str] = "clf"

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        # Busy logs write many lines per second, in order: parse each time once.
        self._last_time: tuple[str, datetime] | None = None

    @classmethod
    def detect(cls, line: str) -> bool:
        return _DETECT.match(line) is not None

    def feed(self, line_no: int, line: str) -> list[Entry]:
        match = _LINE.match(line) or _LINE_WITH_VHOST_OR_PROXIES.match(line)
        if match is not None:
            try:
                return [Entry(line_no, [line], [Draft(ServiceAccessed, self._fields(match))])]
            except _RejectError as reject:
                return [Entry(line_no, [line], quarantined=str(reject))]
        if not line or line.isspace():
            return [Entry(line_no, [line], ignored="blank line")]
        return [Entry(line_no, [line], quarantined=_diagnose(line))]

    def flush(self) -> list[Entry]:
        return []

    def _fields(self, match: re.Match[str]) -> dict[str, Any]:
        # Positional, in the order of `_LINE`'s groups: cheaper than a lookup per name.
        (
            vhost,
            client,
            user,
            time,
            method,
            target,
            protocol,
            status,
            size,
            referer,
            agent,
            duration,
        ) = match.groups()
        if protocol is None and target[0] != "/":
            # HTTP/0.9 has no protocol field, but its target is always a path.
            raise _RejectError(NOT_A_REQUEST)
        code = int(status)
        if not 100 <= code <= 599:
            raise _RejectError("status out of range")
        last = self._last_time
        if last is not None and last[0] == time:
            occurred_at = last[1]
        else:
            occurred_at = _moment(time)
            self._last_time = (time, occurred_at)
        if "," in client:
            client = client.split(",", 1)[0]
        path = _unescape(target) if "\\" in target else target
        template, druid = normalise(path)
        return {
            "object": None,
            "occurred_at": occurred_at,
            "host": vhost or None,
            "client": client if client != "-" else None,
            "user": user if user != "-" else None,
            "method": method,
            "path": path,
            "template": template,
            "druid": druid,
            "protocol": protocol,
            "status": code,
            "bytes": int(size) if size != "-" else None,
            "duration_ms": round(float(duration) * 1000, 6) if duration is not None else None,
            "referer": _quoted(referer),
            "user_agent": _quoted(agent),
        }


def _moment(text: str) -> datetime:
    """`02/Mar/2026:10:01:02 -0800` (shape already checked) as an aware datetime."""
    month = _MONTHS.get(text[3:6])
    if month is None:
        raise _RejectError("malformed timestamp")
    zone_text = text[21:26]
    if zone_text in _ZONES:
        zone = _ZONES[zone_text]
    else:
        zone = _ZONES[zone_text] = _zone(zone_text)
    if zone is None:
        raise _RejectError("invalid zone offset")
    try:
        return datetime(
            int(text[7:11]),
            month,
            int(text[0:2]),
            int(text[12:14]),
            int(text[15:17]),
            int(text[18:20]),
            tzinfo=zone,
        )
    except ValueError:
        raise _RejectError("invalid date or time") from None


def _zone(text: str) -> timezone | None:
    hours, minutes = int(text[1:3]), int(text[3:5])
    if hours > 23 or minutes > 59:
        return None
    if hours == minutes == 0:
        return UTC
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _quoted(field: str | None) -> str | None:
    """A referer or user agent: `-` or empty is none."""
    if not field or field == "-":
        return None
    return _unescape(field) if "\\" in field else field


def _unescape(text: str) -> str:
    """A quoted field as sent: escapes undone where they are unambiguous."""
    return _ESCAPE.sub(_unescaped, text)


def _unescaped(escape: re.Match[str]) -> str:
    char = escape[1]
    if char is not None:
        return char if char in '"\\' else escape[0]
    # A run of `\xhh` bytes: nginx's escaping of non-ASCII text (and of `"`).
    try:
        text = bytes.fromhex(escape[0].replace("\\x", "")).decode("utf-8")
    except UnicodeDecodeError:
        return escape[0]
    return text if text.isprintable() else escape[0]


def _diagnose(line: str) -> str:
    """Why neither line pattern took a (non-blank) line."""
    loose = _LOOSE.match(line)
    if loose is None:
        return "not a Common or Combined Log Format line"
    if _TIME_ONLY.match(loose["time"]) is None:
        return "malformed timestamp"
    if _REQUEST.match(loose["request"]) is None:
        return NOT_A_REQUEST
    if _STATUS.match(loose["status"]) is None:
        return "malformed status"
    if _BYTES.match(loose["bytes"]) is None:
        return "malformed bytes"
    return "malformed referer, user agent or duration"
