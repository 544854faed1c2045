"""The `rails` source: default multi-line Rails request logs -> one ServiceAccessed per request.

Owns the Rails log layouts (`LAYOUT` and `TimeReader` are shared with `lograge`) and the joining
of one request's lines. Without lograge (purl, stacks), Rails logs a request as

    Started GET "/bb123cd4567/iiif/manifest" for 171.64.1.2 at 2026-03-02 10:01:02 -0800
    Processing by IiifController#manifest as JSON
      Parameters: {"id"=>"bb123cd4567"}
    Completed 200 OK in 17ms (Views: 1.2ms | ActiveRecord: 3.4ms | Allocations: 2345)

each line in one of these layouts (tags are optional; the first tag is the request id):

    [2026-03-02T10:01:02.123-08:00] [INFO] [<request id>] <message>             Rails tagged
    I, [2026-03-02T10:01:02.123456 #1234]  INFO -- : [<request id>] <message>    Ruby Logger
    [<request id>] <message>   or   <message>                                    no layout

How lines join (an entry's head is its Started line; its lines need not be contiguous):
- `Started` opens a request under its request id. Lines without one share one key, so untagged
  logs join sequentially (a Started opens, the next Completed closes); a Started whose key is
  still open emits the open request as incomplete first (so untagged logs of a multi-threaded
  server, whose requests interleave, give incomplete requests: tag them with the request id).
- `Processing by`, and any other framed (layout or tag) line with the key of an open request,
  join it; `Completed` closes it, giving the draft.
- A completed request keeps the framed lines with its key that come right after it (the error
  and backtrace Rails logs after `Completed 500`), until a line of anything else arrives.
- A line without layout or tag continues whatever took the line before it (multi-line
  messages, backtraces); with nothing before it, it is quarantined ("not a rails log line").
- A framed line whose key has no open request is ignored: "end of a request that started before
  this input", "line logged after its request completed", "end of a request already emitted as
  incomplete", or, untagged in a log of tagged requests, "outside any request".
- A request whose Completed never arrives is emitted at `flush()`/`finish()` with
  `complete=False` and no status; at most `MAX_OPEN_REQUESTS` are open (beyond, the oldest is
  emitted incomplete) so a log that lost its Completed lines cannot grow memory without bound.
- Quarantined, with all its lines: a request whose Started line is malformed ("malformed
  Started line"), whose time is ("malformed time"), or that has no time at all ("no time").

`flush()` completes everything pending, as the base contract asks: `auto` calls it when the
format changes and relies on it to account for every line. The consequence: under `auto`, a line
another source claims between a request's Started and its Completed (`prescat` claims every
tagged Rails line, `Parameters:` included) emits the request incomplete, and its Completed is
then ignored. Tagged Rails request logs are read whole with `--source rails`.

What it remembers across requests (`memory`): why the newest request ids' later lines are
ignored (their request completed, or was emitted incomplete), one line each (`completed` or
`incomplete`, a tab, the id), within `MEMORY_BYTES` of a `prov ship` record; so a line logged
after its request completed is ignored for that reason in a later record too. (Open requests
are never in it: a record begins only where every entry before it is complete.)

The time of a request is the Started line's `at` (zone-less: the context's zone), else the
layout's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, ClassVar

from provenance.domain.events import ServiceAccessed
from provenance.records.envelope import memory_size
from provenance.sources.access_request import normalise
from provenance.sources.base import Draft, Entry, Source, SourceContext

MAX_OPEN_REQUESTS = 10_000
# Bound on the request ids remembered after their request ended (only to name ignore reasons).
_MAX_REMEMBERED = 10_000

NOT_A_RAILS_LINE = "not a rails log line"
STARTED_BEFORE_INPUT = "end of a request that started before this input"
AFTER_COMPLETED = "line logged after its request completed"
AFTER_INCOMPLETE = "end of a request already emitted as incomplete"
# How `memory` names each reason.
_GONE_CODES = {AFTER_COMPLETED: "completed", AFTER_INCOMPLETE: "incomplete"}
_GONE_REASONS = {code: reason for reason, code in _GONE_CODES.items()}
MEMORY_BYTES = 2 * 1024
"""At most what `memory()` adds to a record (`envelope.memory_size`): some 30 request ids,
the newest (lines come right after their request's end, if at all)."""
_MAX_MEMORY_KEY = 200  # a request id longer than this is not carried (real ones: 36)
OUTSIDE_REQUEST = "outside any request"
MALFORMED_STARTED = "malformed Started line"
MALFORMED_TIME = "malformed time"
NO_TIME = "no time"

_SEVERITY = r"(?:DEBUG|INFO|WARN|ERROR|FATAL|UNKNOWN|ANY)"
_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]{1,9})?"
_ZONE = r"(?: ?(?:Z|UTC|[+-][0-9]{2}(?::?[0-9]{2})?))?"
# Everything before a Rails log message, or no match for a line without layout or tags.
LAYOUT = re.compile(
    # Ruby Logger: `%s, [%s #%d] %5s -- %s: %s` (severity initial, time, pid, level, progname).
    rf"(?:[DIWEFAU], \[(?P<logger_time>{_TIME}{_ZONE}) ?#[0-9]+\] +{_SEVERITY} -- [^:]*:(?: |\Z)"
    # Rails with a time-and-level formatter, as the SDR apps log: `[time] [LEVEL] `.
    rf"|\[(?P<time>{_TIME}{_ZONE})\] \[{_SEVERITY}\](?: |\Z))?"
    # TaggedLogging tags (`config.log_tags = [:request_id, ...]`): the first is the request id.
    r"(?:\[(?P<tag>[^\[\]\s]{1,255})\](?: \[[^\[\]]{0,255}\])*(?: |\Z))?"
    # Both parts are optional: this refuses the empty match (nothing precedes position 0).
    r"(?<=[ \]:])"
)
_STARTED = re.compile(
    # ActionCable adds ` [WebSocket]` before ` for`; the path may hold quotes (greedy to the last).
    r'Started ([A-Z]+) "(.*)"(?: \[[^\]]*\])* for (\S*)(?: at (.*))?\Z',
    re.DOTALL,
)
_STARTED_HEAD = re.compile(r'Started [A-Z]+ "')
_PROCESSING = re.compile(r"Processing by (\S+)(?: as (\S+))?")
_COMPLETED = re.compile(r"Completed ([0-9]{3}) ")
_DURATION = re.compile(r" in ([0-9]{1,12}(?:\.[0-9]{1,9})?)ms")
# The three messages `detect` claims, in any layout.
_DETECT = re.compile(
    rf'(?:{LAYOUT.pattern})?(?:Started [A-Z]+ "|Processing by |Completed [0-9]{{3}} )'
)
# A log time as Rails and Ruby write them: ISO 8601, or Time#to_s (`2026-03-02 10:01:02 -0800`).
_TIME_TEXT = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]{1,9})?)"
    r" ?(Z|UTC|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)


class TimeReader:
    """Log times -> timezone-aware datetimes (zone-less ones in `tz`); None if malformed.

    Remembers what it read: a busy log repeats each second's time text many times.
    """

    def __init__(self, tz: tzinfo) -> None:
        self._tz = tz
        self._seen: dict[str, datetime | None] = {}

    def read(self, text: str) -> datetime | None:
        seen = self._seen
        if text in seen:
            return seen[text]
        value = self._parse(text)
        if len(seen) >= _MAX_REMEMBERED:
            seen.clear()
        seen[text] = value
        return value

    def _parse(self, text: str) -> datetime | None:
        match = _TIME_TEXT.fullmatch(text)
        if match is None:
            return None
        date, clock, zone = match.groups()
        if zone == "UTC":
            zone = "Z"
        try:
            value = datetime.fromisoformat(f"{date}T{clock}{zone or ''}")
            if value.tzinfo is None:
                value = value.replace(tzinfo=self._tz)
        except ValueError:
            return None
        return value


@dataclass(slots=True)
class _Request:
    """A request between its Started line and its Completed line."""

    line_no: int
    lines: list[str]
    request_id: str | None
    method: str | None = None
    path: str | None = None
    client: str | None = None
    occurred_at: datetime | None = None
    controller: str | None = None
    response_format: str | None = None
    problem: str | None = None


class RailsSource(Source):
    """Rails request logs -> ServiceAccessed drafts; joins each request's lines by request id."""

    name: ClassVar[str] = "rails"
    interleaved: ClassVar[bool] = True

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self._times = TimeReader(context.tz)
        # Open requests by request id (None: untagged); dicts keep order, the first is oldest.
        self._open: dict[str | None, _Request] = {}
        # The entry completed by the last line, still taking its key's lines; and its key.
        self._held: Entry | None = None
        self._held_key: str | None = None
        # Where a line without layout or tag goes: the lines of whatever took the line before.
        self._tail: list[str] | None = None
        # Why a request id's later lines are ignored, once its request has been emitted;
        # and `memory()` of it until it changes.
        self._gone: dict[str, str] = {}
        self._memory_lines: tuple[str, ...] | None = None

    def memory(self) -> tuple[str, ...]:
        lines = self._memory_lines
        if lines is None:
            kept: list[str] = []
            size = 0
            for key, reason in reversed(self._gone.items()):
                if len(key) > _MAX_MEMORY_KEY:
                    continue
                line = f"{_GONE_CODES[reason]}\t{key}"
                size += memory_size((line,))
                if size > MEMORY_BYTES:
                    break
                kept.append(line)
            kept.reverse()
            lines = self._memory_lines = tuple(kept)
        return lines

    def recall(self, memory: Sequence[str]) -> None:
        for line in memory:
            code, _, key = line.partition("\t")
            reason = _GONE_REASONS.get(code)
            if reason is not None and key:
                self._forget(key, reason)

    def claims(self, line: str) -> bool:
        framed = LAYOUT.match(line)
        key = framed["tag"] if framed is not None else None
        return key is not None and (
            key in self._open or (self._held is not None and key == self._held_key)
        )

    @classmethod
    def detect(cls, line: str) -> bool:
        if "Started " not in line and "Processing by " not in line and "Completed " not in line:
            return False
        return _DETECT.match(line) is not None

    def feed(self, line_no: int, line: str) -> list[Entry]:
        framed = LAYOUT.match(line)
        if framed is None:
            message, key = line, None
        else:
            message, key = line[framed.end() :], framed["tag"]
        if message.startswith("Completed ") and _COMPLETED.match(message) is not None:
            return self._completed(line_no, line, message, key)
        if message.startswith("Started ") and _STARTED_HEAD.match(message) is not None:
            return self._started(line_no, line, message, framed, key)
        if message.startswith("Processing by "):
            return self._processing(line_no, line, message, key)
        if framed is None:
            tail = self._tail
            if tail is not None:
                tail.append(line)
                return []
            return [Entry(line_no, [line], quarantined=NOT_A_RAILS_LINE)]
        held = self._held
        if held is not None and key == self._held_key:
            held.lines.append(line)
            return []
        done = self._release()
        request = self._open.get(key)
        if request is not None:
            request.lines.append(line)
            self._tail = request.lines
        else:
            self._hold(Entry(line_no, [line], ignored=self._unknown(key)), key)
        return done

    def flush(self) -> list[Entry]:
        done = self._release()
        for request in self._open.values():
            done.append(self._incomplete(request))
        self._open.clear()
        self._tail = None
        return done

    # --- the three request messages ----------------------------------------------------------

    def _started(
        self, line_no: int, line: str, message: str, framed: re.Match[str] | None, key: str | None
    ) -> list[Entry]:
        done = self._release()
        request = _Request(line_no, [line], key)
        started = _STARTED.match(message)
        if started is None:
            request.problem = MALFORMED_STARTED
        else:
            request.method, request.path, client, at = started.groups()
            request.client = client or None
            if at is not None:
                at = at.strip()
            elif framed is not None:
                at = framed["time"] or framed["logger_time"]
            if at is None:
                request.problem = NO_TIME
            else:
                request.occurred_at = self._times.read(at)
                if request.occurred_at is None:
                    request.problem = MALFORMED_TIME
        opened = self._open
        earlier = opened.pop(key, None)
        if earlier is not None:
            done.append(self._incomplete(earlier))
        opened[key] = request
        if len(opened) > MAX_OPEN_REQUESTS:
            done.append(self._incomplete(opened.pop(next(iter(opened)))))
        self._tail = request.lines
        return done

    def _processing(self, line_no: int, line: str, message: str, key: str | None) -> list[Entry]:
        done = self._release()
        request = self._open.get(key)
        if request is None:
            self._hold(Entry(line_no, [line], ignored=self._unknown(key, closing=True)), key)
            return done
        request.lines.append(line)
        self._tail = request.lines
        processing = _PROCESSING.match(message)
        if processing is not None and request.controller is None:
            request.controller, request.response_format = processing.groups()
        return done

    def _completed(self, line_no: int, line: str, message: str, key: str | None) -> list[Entry]:
        done = self._release()
        request = self._open.pop(key, None)
        if request is None:
            self._hold(Entry(line_no, [line], ignored=self._unknown(key, closing=True)), key)
            return done
        request.lines.append(line)
        duration = _DURATION.search(message, 13)
        entry = self._entry(
            request,
            status=int(message[10:13]),
            duration_ms=float(duration[1]) if duration is not None else None,
            complete=True,
        )
        self._forget(key, AFTER_COMPLETED)
        self._hold(entry, key)
        return done

    # --- state -------------------------------------------------------------------------------

    def _hold(self, entry: Entry, key: str | None) -> None:
        self._held = entry
        self._held_key = key
        self._tail = entry.lines

    def _release(self) -> list[Entry]:
        """The held entry, now that a line of something else has arrived."""
        held = self._held
        if held is None:
            return []
        self._held = None
        return [held]

    def _unknown(self, key: str | None, *, closing: bool = False) -> str:
        """Why a framed line whose key has no open request is ignored."""
        if key is None:
            return STARTED_BEFORE_INPUT if closing else OUTSIDE_REQUEST
        return self._gone.get(key, STARTED_BEFORE_INPUT)

    def _forget(self, key: str | None, reason: str) -> None:
        if key is None:
            return
        gone = self._gone
        gone.pop(key, None)  # the newest last
        gone[key] = reason
        if len(gone) > _MAX_REMEMBERED:
            del gone[next(iter(gone))]
        self._memory_lines = None

    def _incomplete(self, request: _Request) -> Entry:
        self._forget(request.request_id, AFTER_INCOMPLETE)
        return self._entry(request, status=None, duration_ms=None, complete=False)

    def _entry(
        self, request: _Request, *, status: int | None, duration_ms: float | None, complete: bool
    ) -> Entry:
        entry = Entry(request.line_no, request.lines)
        if request.problem is not None or request.path is None:
            entry.quarantined = request.problem or MALFORMED_STARTED
            return entry
        template, druid = normalise(request.path)
        fields: dict[str, Any] = {
            "object": None,
            "occurred_at": request.occurred_at,
            "client": request.client,
            "method": request.method,
            "path": request.path,
            "template": template,
            "druid": druid,
            "status": status,
            "duration_ms": duration_ms,
            "request_id": request.request_id,
            "controller": request.controller,
            "response_format": request.response_format,
            "complete": complete,
        }
        entry.drafts.append(Draft(ServiceAccessed, fields))
        return entry
