"""Sample logs for `prov demo`: a pure, deterministic generator of the real input formats.

Owns what the demo's logs look like. It simulates a small repository (registrations,
accessioning, ingest of versions, replication to three cloud endpoints, daily audits, a few
failures and their repair, request noise) and the web traffic to three of its services (file
and image downloads from stacks, PURL pages, the SDR API), and writes it in the line layouts of
reference/sdr-logs.md, sections 1-4, to `<out_dir>/logs/`:

| file                            | layout                          | source     | service  |
| ------------------------------- | ------------------------------- | ---------- | -------- |
| audit_checksum_validation.log   | Ruby Logger, local time         | prescat    |          |
| audit_catalog_to_moab.log       | Ruby Logger, local time         | prescat    |          |
| c2a.log                         | Ruby Logger, local time         | prescat    |          |
| production.log                  | Rails tagged, ISO with zone     | auto       | (1)      |
| robots/preservationIngestWF.log | Sidekiq, UTC                    | robots     |          |
| robots/accessionWF.log          | Sidekiq, UTC                    | robots     |          |
| events.jsonl                    | sdr-events JSON lines           | sdr-events |          |
| access/stacks_access.log        | Combined + duration (s)         | clf        | stacks   |
| access/purl.log                 | Rails request log, tagged       | rails      | purl     |
| access/sdr-api.log              | lograge, Rails tagged           | lograge    | sdr-api  |

(1) `preservation-catalog`: production.log mixes prescat's audit results with its own lograge
request lines: `auto` reads the first as audit results, the second as requests to that service.

Who sends the requests (`AGENT_NETWORKS` lists the networks): people on the campus network
(171.64.0.0/14, 2607:f6d0::/32; some logged in to stacks), on a partner network (made up:
198.51.100.0/24, TEST-NET-2 of RFC 5737) and a few dozen individuals elsewhere (addresses in
192.0.2.0/24, 203.0.113.0/24 and 2001:db8::/32, documentation ranges, so no real person's),
most of them in working hours of the demo's zone; Googlebot, bingbot and AhrefsBot (an
aggressive SEO crawler) around the clock, from their operators' published ranges; an
UptimeRobot monitor every hour; scripts (python-requests, curl); and the service accounts
`argo` and `preservation-robots` on the SDR API. Request volume scales with objects x days
(about 17,000 access lines for the default world).

Some lines are deliberately bad, so the demo's accounting has something to show: the
Logger file headers, an audit line with an unknown message, a truncated JSON line, a
line with an invalid UTF-8 byte sequence, a file path holding U+0001, blank lines, and in the
access logs a `"-" 400` request, a TLS handshake sent to the HTTP port, a line of binary junk,
and a PURL request cut off at the end of its log.

Same arguments give byte-identical files: all randomness comes from one `random.Random(seed)`,
never from the clock. What a run will write is known before it runs (`plan`: the files' names
and the featured druid), so `prov demo` checks its folder before anything is generated.
Imports only the standard library and `provenance.files.output_file` (each log is written
atomically, as every file `prov` writes).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from provenance.files.output_file import write_bytes

# Time is kept as integer microseconds since the Unix epoch (UTC): cheap to add and sort.
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

LOGS = "logs"
"""The folder under `out_dir` the logs go to."""
# The smallest world that still tells the featured object's story.
MIN_OBJECTS = 3
MIN_DAYS = 5
# The largest world `prov demo` offers: a tour, held in memory while it is written (about
# 0.8 kB a line; 1,000 objects over a year is about 650,000 lines). bench/ generates larger
# worlds with `generate` itself, which has no upper limit.
MAX_OBJECTS = 1_000
MAX_DAYS = 365

# Druid letters exclude vowels and `l` (reference/sdr-logs.md, "Identifiers").
DRUID_LETTERS = "bcdfghjkmnpqrstvwxyz"
ROOTS = ("services-disk02", "services-disk03", "services-disk05", "services-disk12")
ENDPOINTS = ("aws_s3_west_2", "aws_s3_east_1", "gcp_s3_south_1")
BUCKETS = {
    "aws_s3_west_2": "sul-sdr-aws-us-west-2-archive",
    "aws_s3_east_1": "sul-sdr-aws-us-east-1-archive",
    "gcp_s3_south_1": "sul-sdr-gcp-us-south1-archive",
}
# preservation_catalog splits a version's zip into 10 GiB parts (.zip, .z01, ...).
ZIP_PART_BYTES = 10 * 1024**3

PRESCAT_HOSTS = (
    "preservation-catalog-prod-02.stanford.edu",
    "preservation-catalog-prod-04.stanford.edu",
)
DSA_HOSTS = ("dor-services-app-prod-a.stanford.edu", "dor-services-app-prod-b.stanford.edu")
ACCESSION_HOST = "common-accessioning-prod-a.stanford.edu"
USERS = ("amcollie", "jdoe", "pjreed", "lwrubel", "ndushay", "tcramer", "jcoyne", "mjgiarlo")

# Steps and how long they take, in seconds (transfer-object also grows with the bag size).
INGEST_STEPS: tuple[tuple[str, float, float], ...] = (
    ("start-ingest", 0.2, 1.5),
    ("transfer-object", 2.0, 30.0),
    ("validate-bag", 1.0, 90.0),
    ("update-moab", 1.0, 60.0),
    ("validate-moab", 2.0, 120.0),
    ("update-catalog", 0.3, 2.5),
    ("complete-ingest", 0.2, 1.5),
)
ACCESSION_STEPS: tuple[tuple[str, float, float], ...] = (
    ("start-accession", 0.3, 3.0),
    ("technical-metadata", 2.0, 150.0),
    ("shelve", 1.0, 80.0),
    ("publish", 0.5, 20.0),
)
END_ACCESSION = ("end-accession", 0.3, 3.0)
INGEST_WF = "preservationIngestWF"
ACCESSION_WF = "accessionWF"

CONTENT_NAMES = (
    "page_{n:04d}.tif",
    "image_{n:03d}.jp2",
    "thesis.pdf",
    "dissertation-final.pdf",
    "interview-{n:02d}.wav",
    "dataset.csv",
    "readme.txt",
    "transcript.xml",
    "map_sheet_{n:03d}.tif",
    "recording-{n:02d}.mp4",
)

TRANSFER_BACKTRACE = (
    "  /opt/app/pres/preservation_robots/lib/robots/sdr_repo/preservation_ingest/"
    "transfer_object.rb:52:in `transfer_bag'",
    "  /opt/app/pres/preservation_robots/lib/robots/sdr_repo/preservation_ingest/"
    "transfer_object.rb:21:in `perform_work'",
    "  /opt/app/pres/preservation_robots/shared/bundle/ruby/3.3.0/gems/lyber-core-7.7.0/"
    "lib/lyber_core/robot.rb:76:in `perform'",
)
BAG_BACKTRACE = (
    "  /opt/app/pres/preservation_robots/lib/robots/sdr_repo/preservation_ingest/"
    "validate_bag.rb:19:in `perform_work'",
    "  /opt/app/pres/preservation_robots/shared/bundle/ruby/3.3.0/gems/lyber-core-7.7.0/"
    "lib/lyber_core/robot.rb:76:in `perform'",
)

# Apache's `%t` months, in English whatever the locale.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# --- web access: who sends the requests ------------------------------------------------------

# The networks the access logs' clients come from, by the agent name a rule could give them.
# Crawlers and the monitor use their operators' published ranges: in purl's Rails log, which
# has no user agent, only the network tells them apart.
AGENT_NETWORKS: dict[str, tuple[str, ...]] = {
    "campus": ("171.64.0.0/14", "2607:f6d0::/32"),
    "partner": ("198.51.100.0/24",),
    "Googlebot": ("66.249.64.0/19",),
    "bingbot": ("157.55.39.0/24", "40.77.167.0/24"),
    "AhrefsBot": ("54.36.148.0/23",),
    "UptimeRobot": ("216.144.248.16/28", "69.162.124.224/28", "63.143.42.240/28"),
}
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)"
)
GOOGLEBOT_IMAGE = "Googlebot-Image/1.0"
BINGBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/131.0.6778.204 Safari/537.36"
)
AHREFSBOT = "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"
UPTIMEROBOT = "Mozilla/5.0+(http://www.uptimerobot.com/)"
# Browser user agents as browsers send them; `browser_agent` fills in the versions.
BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Safari/537.36 Edg/{chrome}.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{firefox}.0) Gecko/20100101 Firefox/{firefox}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{firefox}.0) Gecko/20100101 "
    "Firefox/{firefox}.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{firefox}.0) Gecko/20100101 Firefox/{firefox}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{safari} Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/{safari} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{safari} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Mobile Safari/537.36",
)
SAFARI_VERSIONS = (("17.4.1", "17_4_1"), ("17.5", "17_5"), ("17.6", "17_6"), ("18.1", "18_1"))
SEARCH_REFERERS = (
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://searchworks.stanford.edu/view/{n}",
    "https://exhibits.stanford.edu/virtual-tribunals/catalog/{n}",
    "-",
)
# Logged-in campus users of stacks (Apache `%u`); made-up SUNet ids.
SUNET_IDS = ("akhan7", "bchen", "dlopez2", "eokafor", "mrivera", "tnguyen4")
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    206: "Partial Content",
    304: "Not Modified",
    401: "Unauthorized",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# Sizes of content files in bytes by extension: (smallest, largest), drawn log-uniformly.
FILE_SIZES = {
    "pdf": (200_000, 30_000_000),
    "tif": (20_000_000, 200_000_000),
    "jp2": (2_000_000, 30_000_000),
    "wav": (50_000_000, 700_000_000),
    "mp4": (50_000_000, 2_000_000_000),
    "csv": (10_000, 50_000_000),
    "txt": (1_000, 20_000),
    "xml": (5_000, 300_000),
}
# Requests per object per day (the demo's volume scales with objects x days).
VISITS_RATE = 0.02  # people looking at an object (PURL page, viewer, maybe a download)
GOOGLEBOT_RATE = 0.004
BINGBOT_RATE = 0.002
ARGO_RATE = 0.004  # staff looking at objects in Argo, which asks the SDR API
UNAUTHENTICATED_RATE = 0.001  # SDR API calls without a token
HARVEST_SHARE = 0.06  # of the published objects, fetched as XML by the partner every week


def browser_agent(rng: random.Random) -> str:
    """A browser's user agent string, versions of the last year or so."""
    safari, ios = rng.choice(SAFARI_VERSIONS)
    return rng.choice(BROWSER_AGENTS).format(
        chrome=rng.randrange(120, 132), firefox=rng.randrange(121, 134), safari=safari, ios=ios
    )


@dataclass(frozen=True, slots=True)
class DemoFile:
    """One generated log file: where it is, which source reads it, how many lines it has, and
    for access logs the service they are the log of."""

    path: Path
    source: str
    lines: int
    service: str | None = None


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """What `generate` writes with a seed, whatever the world's size: the log files' paths
    relative to its `out_dir` (`logs/...`), in the order written, and the featured druid."""

    files: tuple[str, ...]
    featured: str


@dataclass(frozen=True, slots=True)
class DemoData:
    """What `generate` wrote; `featured` is a druid whose history is worth a tour."""

    files: tuple[DemoFile, ...]
    featured: str
    druids: tuple[str, ...]


SEED = 20260301
"""The seed `generate` uses unless told otherwise (the demo's)."""


def plan(*, seed: int = SEED) -> DemoPlan:
    """What `generate` with `seed` will write, without generating it: the logs' names are
    fixed, and the featured object is the first one drawn, the first thing a world draws."""
    world = _World(random.Random(seed), _Clock(ZoneInfo("UTC")), 0, 0)
    featured = world.make_objects(MIN_OBJECTS)[0]
    return DemoPlan(
        tuple(f"{LOGS}/{log.relpath}" for log in world.logs()), f"druid:{featured.bare}"
    )


def generate(
    out_dir: Path,
    *,
    objects: int = 300,
    days: int = 120,
    seed: int = SEED,
    start: date = date(2026, 1, 1),
    tz: str = "America/Los_Angeles",
    write: Callable[[Path, bytes], object] = write_bytes,
) -> DemoData:
    """Write sample logs under `out_dir/logs/` (each file with `write`) and describe them.

    The featured object (always the first druid) is ingested in two versions, each replicated
    to all three endpoints; one checksum validation fails (status ok -> invalid_checksum) and
    a later one passes (invalid_checksum -> ok). Raises ValueError for too small a world.
    """
    if objects < MIN_OBJECTS:
        raise ValueError(f"objects must be at least {MIN_OBJECTS}, got {objects}")
    if days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS}, got {days}")
    zone = ZoneInfo(tz)
    begin = int(datetime(start.year, start.month, start.day, tzinfo=zone).timestamp()) * SECOND
    world = _World(random.Random(seed), _Clock(zone), begin, begin + days * DAY)
    world.run(objects)
    return world.write(out_dir / LOGS, write)


# --- formatting ------------------------------------------------------------------------------


class _Clock:
    """The three ways the logs print a time."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def _local(self, t: int) -> datetime:
        return datetime.fromtimestamp(t // SECOND, self.zone)

    def ruby(self, t: int) -> str:
        """Ruby Logger: zone-less local time with microseconds."""
        return f"{self._local(t):%Y-%m-%dT%H:%M:%S}.{t % SECOND:06d}"

    def ruby_time(self, t: int) -> str:
        """Ruby's `Time#to_s`: the Logger file header's time, and Rails' `Started ... at`."""
        return f"{self._local(t):%Y-%m-%d %H:%M:%S %z}"

    def rails(self, t: int) -> str:
        """Rails tagged log: ISO 8601 local time with its offset, whole seconds."""
        return self._local(t).isoformat()

    def utc_ms(self, t: int) -> str:
        """Sidekiq and JSON: UTC with milliseconds and `Z`."""
        moment = datetime.fromtimestamp(t // SECOND, UTC)
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{t % SECOND // 1000:03d}Z"

    def apache(self, t: int) -> str:
        """Apache's `%t` (without brackets): local time; English month names in any locale."""
        local = self._local(t)
        return f"{local.day:02d}/{MONTHS[local.month - 1]}/{local.year}:{local:%H:%M:%S} {local:%z}"


class _Log:
    """One output file: (time, sequence, text) records, sorted by time when written."""

    __slots__ = ("records", "relpath", "service", "source")

    def __init__(self, relpath: str, source: str, service: str | None = None) -> None:
        self.relpath = relpath
        self.source = source
        self.service = service
        self.records: list[tuple[int, int, str]] = []

    def add(self, t: int, text: str) -> None:
        self.records.append((t, len(self.records), text))


def _tree(bare: str) -> str:
    return f"{bare[0:2]}/{bare[2:5]}/{bare[5:7]}/{bare[7:11]}/{bare}"


# --- the simulated repository ----------------------------------------------------------------


@dataclass(slots=True)
class _Version:
    number: int
    closed: int
    size: int
    done: int = 0  # when complete-ingest finished: the version is then on disk and catalogued
    parts: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Incident:
    """A checksum validation failure: when it is first seen, repaired (or not), what it says."""

    failed: int
    repaired: int | None
    status: str  # the MoabRecord status it causes
    kind: str


@dataclass(slots=True)
class _Object:
    bare: str
    root: str
    files: list[str]
    featured: bool = False
    registered: int = 0
    versions: list[_Version] = field(default_factory=list)
    incident: _Incident | None = None

    def version_at(self, t: int) -> int:
        current = 0
        for version in self.versions:
            if version.done <= t:
                current = version.number
        return current

    def status_at(self, t: int) -> str:
        incident = self.incident
        if incident is None or t < incident.failed:
            return "ok"
        if incident.repaired is not None and t >= incident.repaired:
            return "ok"
        return incident.status


@dataclass(slots=True)
class _Job:
    """One robot step run, placed on a Sidekiq thread once all runs are known."""

    start: int
    end: int
    druid: str
    step: str
    workflow: str
    error: tuple[str, ...] = ()  # the failure message and its backtrace lines


@dataclass(slots=True)
class _Thread:
    pid: int
    tid: str
    busy_until: int = 0


class _World:
    def __init__(self, rng: random.Random, clock: _Clock, begin: int, end: int) -> None:
        self.rng = rng
        self.clock = clock
        self.begin = begin
        self.end = end
        self.span = end - begin
        self.checksum = _Log("audit_checksum_validation.log", "prescat")
        self.c2m = _Log("audit_catalog_to_moab.log", "prescat")
        self.c2a = _Log("c2a.log", "prescat")
        self.rails = _Log("production.log", "auto", "preservation-catalog")
        self.ingest_robots = _Log(f"robots/{INGEST_WF}.log", "robots")
        self.accession_robots = _Log(f"robots/{ACCESSION_WF}.log", "robots")
        self.events = _Log("events.jsonl", "sdr-events")
        self.jobs: dict[str, list[_Job]] = {INGEST_WF: [], ACCESSION_WF: []}
        self.pids: dict[tuple[str, int], list[int]] = {}
        self.objects: list[_Object] = []
        self.traffic = _Traffic(self)

    # --- small helpers ---------------------------------------------------------------------

    def secs(self, low: float, high: float) -> int:
        return int(self.rng.uniform(low, high) * SECOND)

    def between(self, low: int, high: int) -> int:
        return low if high <= low else self.rng.randrange(low, high)

    def pid(self, kind: str, t: int) -> int:
        """A worker process id; workers are restarted (new pids) every ten days."""
        key = (kind, (t - self.begin) // (10 * DAY))
        pool = self.pids.get(key)
        if pool is None:
            pool = self.pids[key] = [self.rng.randrange(2_000, 65_000) for _ in range(3)]
        return pool[self.rng.randrange(len(pool))]

    def request_id(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def md5(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def ruby(self, log: _Log, t: int, pid: int, severity: str, message: str) -> None:
        log.add(t, f"{severity[0]}, [{self.clock.ruby(t)} #{pid}] {severity:>5} -- : {message}")

    def rails_line(self, t: int, severity: str, rid: str, message: str) -> None:
        self.rails.add(t, f"[{self.clock.rails(t)}] [{severity}] [{rid}] {message}")

    def event(self, t: int, bare: str, event_type: str, data: dict[str, Any]) -> None:
        record = {
            "druid": f"druid:{bare}",
            "event_type": event_type,
            "data": data,
            "created_at": self.clock.utc_ms(t),
        }
        self.events.add(t, json.dumps(record))

    # --- the whole run ---------------------------------------------------------------------

    def run(self, count: int) -> None:
        self.objects = self.make_objects(count)
        for obj in self.objects:
            self.lifecycle(obj)
        self.plan_incidents()
        for obj in self.objects:
            self.checksum_audits(obj)
            self.catalog_audits(obj)
            self.object_requests(obj)
        self.existence_audits()
        self.replication_problems()
        self.health_checks()
        self.noise()
        self.place_jobs(INGEST_WF, self.ingest_robots)
        self.place_jobs(ACCESSION_WF, self.accession_robots)
        # Last, so the other files are what they were before there was web traffic.
        self.traffic.run()

    def make_objects(self, count: int) -> list[_Object]:
        rng = self.rng
        seen: set[str] = set()
        bares: list[str] = []
        tests = min(2, count - 2)
        while len(bares) < count - tests:
            bare = (
                "".join(rng.choice(DRUID_LETTERS) for _ in range(2))
                + f"{rng.randrange(1000):03d}"
                + "".join(rng.choice(DRUID_LETTERS) for _ in range(2))
                + f"{rng.randrange(10000):04d}"
            )
            if bare not in seen:
                seen.add(bare)
                bares.append(bare)
        # Test-style druids as the source systems' fixtures use them: vowels break the pattern.
        bares.append("ab123cd4567")
        if tests == 2:
            bares.append(
                f"{rng.choice('aeiou')}{rng.choice(DRUID_LETTERS)}{rng.randrange(1000):03d}"
                f"{rng.choice('aeiou')}{rng.choice(DRUID_LETTERS)}{rng.randrange(10000):04d}"
            )
        objects = []
        for index, bare in enumerate(bares):
            files = []
            for n in range(1, rng.randint(2, 8) + 1):
                name = rng.choice(CONTENT_NAMES).format(n=n)
                if name not in files:
                    files.append(name)
            objects.append(_Object(bare, rng.choice(ROOTS), files, featured=index == 0))
        return objects

    # --- registration, versions, accessioning, ingest, replication -------------------------

    def lifecycle(self, obj: _Object) -> None:
        rng, begin, span = self.rng, self.begin, self.span
        if obj.featured:
            obj.registered = begin + int(0.02 * span) + self.secs(0, 3600)
            closes = [
                obj.registered + max(2 * HOUR, int(0.004 * span)) + self.secs(0, 3600),
                begin + int(0.55 * span) + self.between(0, span // 50),
            ]
            sizes = [14 * 1024**3 + rng.randrange(1024**3), rng.randrange(20_000, 5_000_000)]
        else:
            obj.registered = begin + self.between(0, int(0.12 * span))
            closes = [obj.registered + self.between(HOUR, min(3 * DAY, span // 10))]
            sizes = [int(min(60 * 1024**3, max(50_000, rng.lognormvariate(math.log(3e8), 1.6))))]
            if rng.random() < 0.3:
                closes.append(begin + self.between(int(0.25 * span), int(0.8 * span)))
                sizes.append(self._later_size())
                if rng.random() < 0.3:
                    closes.append(closes[-1] + self.between(int(0.05 * span), int(0.2 * span)))
                    sizes.append(self._later_size())
        self.event(
            obj.registered,
            obj.bare,
            "registration",
            {
                "host": rng.choice(DSA_HOSTS),
                "invoked_by": "argo",
                "object_type": "item",
                "source_id": f"sul:demo-{rng.randrange(100_000):05d}",
            },
        )
        # Versions must close after the previous one is ingested, and leave time to replicate.
        latest_close = self.end - max(DAY, int(0.08 * span))
        previous_done = obj.registered
        for number, (planned, size) in enumerate(zip(closes, sizes, strict=True), start=1):
            closed = max(planned, previous_done + HOUR)
            if closed > latest_close and number > 1:
                break
            version = _Version(number, closed, size)
            obj.versions.append(version)
            self.accession(obj, version, previous_done)
            self.replicate(obj, version)
            previous_done = version.done
            if rng.random() < 0.4:
                self.metadata_update(obj, version)

    def _later_size(self) -> int:
        rng = self.rng
        if rng.random() < 0.05:
            return rng.randrange(11 * 1024**3, 25 * 1024**3)
        return rng.randrange(10_000, 80_000_000)

    def metadata_update(self, obj: _Object, version: _Version) -> None:
        t = version.done + self.between(HOUR, 10 * DAY)
        if t < self.end:
            self.event(
                t,
                obj.bare,
                "update",
                {
                    "host": self.rng.choice(DSA_HOSTS),
                    "invoked_by": "argo",
                    "who": self.rng.choice(USERS),
                    "version": version.number,
                },
            )

    def accession(self, obj: _Object, version: _Version, previous_done: int) -> None:
        rng, bare, n = self.rng, obj.bare, version.number
        druid = f"druid:{bare}"
        who = rng.choice(USERS)
        host = rng.choice(DSA_HOSTS)
        if n > 1:
            opened = self.between(
                max(previous_done + MINUTE, version.closed - 5 * DAY), version.closed - 10 * MINUTE
            )
            description = rng.choice(
                ("Updated metadata", "Added files", "Replaced scan", "Corrected title")
            )
            self.event(
                opened,
                bare,
                "version_open",
                {
                    "host": host,
                    "invoked_by": "argo",
                    "who": who,
                    "version": n,
                    "description": description,
                },
            )
        self.event(
            version.closed,
            bare,
            "version_close",
            {"host": host, "invoked_by": "argo", "who": who, "version": n},
        )
        t = version.closed + self.secs(1, 4)
        self.event(
            t,
            bare,
            "accession_request",
            {"host": host, "invoked_by": "argo", "workflow": ACCESSION_WF, "version": n},
        )

        t += self.secs(20, 600)
        for step, low, high in ACCESSION_STEPS:
            t = self.step(ACCESSION_WF, druid, step, t, self.secs(low, high))
            if step == "shelve":
                self.event(
                    t + self.secs(0.2, 3),
                    bare,
                    "shelving_complete",
                    {"host": ACCESSION_HOST, "invoked_by": "common-accessioning", "version": n},
                )
                # Shelving asks the catalog for the signature catalog of the last version.
                self.request(
                    t - self.secs(0.2, 0.8),
                    bare,
                    "GET",
                    f"/v1/objects/{druid}/file?category=manifest"
                    f"&filepath=signatureCatalog.xml&version={n - 1}",
                    route="ObjectsController#file",
                    status=404 if n == 1 else 200,
                    sql=1,
                )
            elif step == "publish":
                self.event(
                    t + self.secs(0.2, 3),
                    bare,
                    "publishing_complete",
                    {"host": ACCESSION_HOST, "invoked_by": "common-accessioning", "version": n},
                )
            t += self.secs(0.5, 40)

        t += self.secs(30, 1200)
        for step, low, high in INGEST_STEPS:
            duration = self.secs(low, high)
            if step == "transfer-object":
                duration += version.size * SECOND // rng.randrange(80_000_000, 300_000_000)
                t = self.maybe_fail(
                    obj,
                    version,
                    step,
                    t,
                    chance=0.03,
                    failure=(
                        f"Error transferring bag (via /dor/export/{bare}) for {druid}: "
                        "rsync exited 23",
                        *TRANSFER_BACKTRACE,
                    ),
                )
            elif step == "validate-bag":
                t = self.maybe_fail(
                    obj,
                    version,
                    step,
                    t,
                    chance=0.01,
                    failure=(
                        f"Bag validation failure(s) for {druid}: "
                        '{:payload_size_mismatch=>"Failed payload size in bag-info.txt: '
                        f'bag-info.txt lists {len(obj.files) + 1} files, found {len(obj.files)}"}}',
                        *BAG_BACKTRACE,
                    ),
                )
            if step == "update-catalog":
                self.catalog_write(obj, version, t + self.secs(0.05, 0.2), duration)
            t = self.step(INGEST_WF, druid, step, t, duration)
            if step == "complete-ingest":
                version.done = t
            t += self.secs(0.5, 30)

        t += self.secs(60, 1200)
        low, high = END_ACCESSION[1], END_ACCESSION[2]
        self.step(ACCESSION_WF, druid, END_ACCESSION[0], t, self.secs(low, high))

    def step(self, workflow: str, druid: str, step: str, t: int, duration: int) -> int:
        self.jobs[workflow].append(_Job(t, t + duration, druid, step, workflow))
        return t + duration

    def maybe_fail(
        self,
        obj: _Object,
        version: _Version,
        step: str,
        t: int,
        *,
        chance: float,
        failure: tuple[str, ...],
    ) -> int:
        """Maybe a failed attempt of `step` at `t` (message, backtrace lines); returns when the
        next attempt starts."""
        # The second object's first transfer always fails, so every demo shows a retry.
        forced = step == "transfer-object" and obj is self.objects[1] and version.number == 1
        if not forced and self.rng.random() >= chance:
            return t
        failed_at = t + self.secs(1, 60)
        self.jobs[INGEST_WF].append(
            _Job(t, failed_at, f"druid:{obj.bare}", step, INGEST_WF, failure)
        )
        return failed_at + self.secs(600, 4 * 3600)

    def catalog_write(self, obj: _Object, version: _Version, t: int, limit: int) -> None:
        """The update-catalog robot's call: POST (first version) or PATCH to the catalog."""
        rid, bare, n = self.request_id(), obj.bare, version.number
        select = (
            f"  PreservedObject Load ({self.rng.uniform(0.2, 1.5):.1f}ms)  SELECT "
            '"preserved_objects".* FROM "preserved_objects" WHERE '
            f'"preserved_objects"."druid" = $1 LIMIT $2  [["druid", "{bare}"], ["LIMIT", 1]]'
        )
        self.rails_line(t, "DEBUG", rid, select)
        if n == 1:
            check, message = "create_after_validation", "added object to db as it did not exist"
            method, path, action, status = "POST", "/v1/catalog", "create", 201
        else:
            check = "update_after_validation"
            message = f"actual version ({n}) greater than MoabRecord db version ({n - 1})"
            method, path, action, status = "PATCH", f"/v1/catalog/druid:{bare}", "update", 200
        took = self.between(limit // 4, limit // 2)
        self.rails_line(t + took // 2, "INFO", rid, f"{check}({bare}, {obj.root}) {message}")
        self.lograge(
            t + took,
            rid,
            method,
            path,
            route=f"CatalogController#{action}",
            status=status,
            took=took,
        )

    def replicate(self, obj: _Object, version: _Version) -> None:
        rng, bare, n = self.rng, obj.bare, version.number
        base = f"{_tree(bare)}.v{n:04d}"
        count = max(1, -(-version.size // ZIP_PART_BYTES))
        for index in range(count):
            suffix = ".zip" if index == 0 else f".z{index:02d}"
            size = version.size - (count - 1) * ZIP_PART_BYTES if index == 0 else ZIP_PART_BYTES
            version.parts.append((base + suffix, size, self.md5()))
        parts_info = [{"s3_key": key, "size": size, "md5": md5} for key, size, md5 in version.parts]
        zipped = version.done + self.secs(60, 1800) + version.size * SECOND // 150_000_000
        late = None
        if (obj.featured and n == 2) or rng.random() < 0.3:
            late = rng.choice(ENDPOINTS)
        host = rng.choice(PRESCAT_HOSTS)
        for endpoint in ENDPOINTS:
            at = zipped + self.secs(60, 5 * 3600)
            if endpoint == late:
                audited = zipped + self.secs(60, 900)
                self.ruby(
                    self.c2a,
                    audited,
                    self.pid("c2a", audited),
                    "WARN",
                    f"ReplicationAudit({bare}, {endpoint}) {n} on {endpoint}: "
                    "not all ZippedMoabVersion parts are replicated yet",
                )
                at = max(at, audited + self.secs(1800, 10 * 3600))
            self.event(
                at,
                bare,
                "druid_version_replicated",
                {
                    "host": host,
                    "invoked_by": "preservation-catalog",
                    "version": n,
                    "endpoint_name": endpoint,
                    "parts_info": parts_info,
                },
            )

    # --- audits -----------------------------------------------------------------------------

    def plan_incidents(self) -> None:
        """Choose which objects fail a checksum validation, when, and whether it is repaired."""
        rng, span = self.rng, self.span
        featured = self.objects[0]
        failed = self.begin + int(0.35 * span) + self.between(0, span // 50)
        repaired = failed + min(4 * DAY, max(12 * HOUR, int(0.03 * span))) + self.between(0, HOUR)
        featured.incident = _Incident(failed, repaired, "invalid_checksum", "mismatch")
        others = [obj for obj in self.objects[1:] if obj.bare != "ab123cd4567"]
        chosen = rng.sample(others, max(1, min(len(others), round(0.04 * len(self.objects)))))
        kinds = ("mismatch", "mismatch", "not_in_manifest", "several", "invalid_moab")
        for index, obj in enumerate(chosen):
            # The first one carries the control character, so every demo has that line.
            kind = "control" if index == 0 else rng.choice(kinds)
            earliest = max(self.begin + int(0.2 * span), obj.versions[0].done + 12 * HOUR)
            failed = self.between(earliest, self.begin + int(0.9 * span))
            later = failed + self.between(DAY, 12 * DAY)
            fixed = later if later < self.end - HOUR and rng.random() < 0.7 else None
            status = "invalid_moab" if kind == "invalid_moab" else "invalid_checksum"
            obj.incident = _Incident(failed, fixed, status, kind)

    def failure_messages(self, obj: _Object, incident: _Incident, t: int) -> tuple[list[str], int]:
        """The error messages of one failing validation, and the Moab's version then."""
        rng = random.Random(f"{obj.bare}-{incident.kind}")  # the same damage at every audit
        current = max(1, obj.version_at(t))
        moab = f"/{obj.root}/sdr2objects/{_tree(obj.bare)}"
        damaged = rng.randint(1, current)
        path = f"{moab}/v{damaged:04d}/data/content/{rng.choice(obj.files)}"
        manifest = f"{moab}/v{damaged:04d}/manifests/manifestInventory.xml"
        catalog = f"{moab}/v{current:04d}/manifests/signatureCatalog.xml"
        mismatch = (
            f"checksums or size for {path} version {damaged} do not match entry in "
            "latest signatureCatalog.xml."
        )
        if incident.kind == "mismatch":
            return [mismatch], current
        if incident.kind == "not_in_manifest":
            return [f"Moab file {path}.bak was not found in Moab manifest {manifest}"], current
        if incident.kind == "control":
            stray = f"{moab}/v{damaged:04d}/data/content/scan\x01_{rng.randrange(1000):04d}.tif"
            return [f"Moab file {stray} was not found in Moab manifest {manifest}"], current
        if incident.kind == "several":
            extra = f"{moab}/v{damaged:04d}/data/content/{obj.bare}_extra.pdf"
            return [
                mismatch,
                f"Moab file {extra} was not found in Moab signature catalog {catalog}",
            ], current
        # Moab validation errors print as a Ruby array; the second element wraps to a new line.
        return [
            "Invalid Moab, validation errors: [\"Version directory name not in 'v00xx' format: "
            f'original-v{current}",\n "Version v{current:04d}: No files present in manifest dir"]'
        ], current

    def checksum_audits(self, obj: _Object) -> None:
        """validate_checksums at least every ~7 days from just after the first ingest."""
        if not obj.versions:
            return
        times: list[int] = []
        t = obj.versions[0].done + self.between(12 * HOUR, 3 * DAY)
        while t < self.end:
            times.append(t)
            t += self.between(3 * DAY, 7 * DAY)
        incident = obj.incident
        if incident is not None:
            # The featured object fails exactly once; others fail at every audit until repaired.
            window_end = incident.repaired if incident.repaired is not None else self.end
            if obj.featured:
                times = [x for x in times if not incident.failed - HOUR <= x <= window_end + HOUR]
            else:
                times = [
                    x
                    for x in times
                    if abs(x - incident.failed) > HOUR
                    and (incident.repaired is None or abs(x - incident.repaired) > HOUR)
                ]
            times.append(incident.failed)
            if incident.repaired is not None:
                times.append(incident.repaired)
            times.sort()
        for t in times:
            self.validate_checksums(obj, t)

    def validate_checksums(self, obj: _Object, t: int) -> None:
        bare, root, incident = obj.bare, obj.root, obj.incident
        pid = self.pid("checksum", t)
        prefix = f"validate_checksums({bare}, {root})"
        if incident is None or obj.status_at(t) == "ok":
            self.ruby(self.checksum, t, pid, "INFO", f"{prefix} checksum(s) match")
            if incident is not None and t == incident.repaired:
                self.ruby(
                    self.checksum,
                    t + self.secs(0.001, 0.01),
                    pid,
                    "INFO",
                    f"{prefix} MoabRecord status changed from {incident.status} to ok",
                )
                self.audit_events(obj, t + self.secs(0.3, 2), None, obj.version_at(t))
            return
        first = t == incident.failed
        messages, current = self.failure_messages(obj, incident, t)
        for message in messages:
            self.ruby(self.checksum, t, pid, "ERROR", f"{prefix} {message}")
            t += self.secs(0.0005, 0.003)
        if first:
            self.ruby(
                self.checksum,
                t + self.secs(0.001, 0.01),
                pid,
                "INFO",
                f"{prefix} MoabRecord status changed from ok to {incident.status}",
            )
        self.audit_events(obj, t + self.secs(0.3, 2), messages, current)

    def audit_events(self, obj: _Object, t: int, errors: list[str] | None, version: int) -> None:
        """preservation_audit_failure for a failing run; two successes when status returns to ok."""
        host = self.rng.choice(PRESCAT_HOSTS)
        base = {
            "host": host,
            "invoked_by": "preservation-catalog",
            "storage_area": obj.root,
            "actual_version": version,
        }
        if errors is None:
            for check_name in ("moab-valid", "preservation-audit"):
                self.event(
                    t, obj.bare, "preservation_audit_success", {**base, "check_name": check_name}
                )
            return
        check_name = "moab-valid" if errors[0].startswith("Invalid Moab") else "preservation-audit"
        error = (
            f"validate_checksums (actual location: {obj.root}; actual version: {version}) "
            + " && ".join(errors)
        )
        self.event(
            t,
            obj.bare,
            "preservation_audit_failure",
            {**base, "check_name": check_name, "error": error},
        )

    def catalog_audits(self, obj: _Object) -> None:
        """check_catalog_version about weekly; right after a new version it sees it first."""
        if not obj.versions:
            return
        times: list[int] = []
        t = obj.versions[0].done + self.between(DAY, 7 * DAY)
        while t < self.end:
            times.append(t)
            t += self.between(5 * DAY, 8 * DAY)
        for version in obj.versions[1:]:
            # The next check comes soon after a new version (sooner when the period is short).
            soon = version.done + self.between(
                HOUR, max(2 * HOUR, min(3 * DAY, (self.end - version.done) // 2))
            )
            times = [x for x in times if not version.done <= x <= soon] + [soon]
        times.sort()
        known = 1
        unexpected = self.rng.random() < 0.01
        for t in times:
            if t >= self.end:
                continue
            pid = self.pid("c2m", t)
            prefix = f"check_catalog_version({obj.bare}, {obj.root})"
            status = obj.status_at(t)
            actual = obj.version_at(t)
            if status == "invalid_checksum":
                self.ruby(
                    self.c2m,
                    t,
                    pid,
                    "ERROR",
                    f"{prefix} unable to validate when MoabRecord status is {status}",
                )
            elif actual > known:
                self.ruby(
                    self.c2m,
                    t,
                    pid,
                    "INFO",
                    f"{prefix} actual version ({actual}) greater "
                    f"than MoabRecord db version ({known})",
                )
                known = actual
            elif unexpected and actual > 1:
                unexpected = False
                self.ruby(
                    self.c2m,
                    t,
                    pid,
                    "ERROR",
                    f"{prefix} actual version ({actual - 1}) has unexpected relationship to "
                    f"PreservedObject db version ({actual}); ERROR!",
                )
            else:
                self.ruby(
                    self.c2m,
                    t,
                    pid,
                    "INFO",
                    f"{prefix} actual version ({actual}) matches MoabRecord db version",
                )

    def existence_audits(self) -> None:
        """Moab-to-catalog check_existence: each storage root walked weekly, in the Rails log."""
        for offset, root in enumerate(ROOTS):
            on_root = [obj for obj in self.objects if obj.root == root]
            run = self.begin + (offset + 1) * DAY + self.secs(3600, 4 * 3600)
            while run < self.end:
                t = run
                for obj in on_root:
                    t += self.secs(0.05, 0.6)
                    actual = obj.version_at(t)
                    if actual == 0:
                        continue
                    prefix = f"check_existence({obj.bare}, {root})"
                    status = obj.status_at(t)
                    if status == "invalid_checksum":
                        self.rails_line(
                            t,
                            "ERROR",
                            self.request_id(),
                            f"{prefix} unable to validate when MoabRecord status is {status}",
                        )
                    else:
                        self.rails_line(
                            t,
                            "INFO",
                            self.request_id(),
                            f"{prefix} actual version ({actual}) matches MoabRecord db version",
                        )
                run += 7 * DAY + self.secs(-1800, 1800)

    def replication_problems(self) -> None:
        """A few zip parts missing or different on an endpoint, found by ReplicationAudit."""
        rng = self.rng
        candidates = [obj for obj in self.objects[1:] if obj.versions]
        for code in ("ZIP_PART_NOT_FOUND", "ZIP_PART_CHECKSUM_MISMATCH"):
            for obj in rng.sample(candidates, min(len(candidates), max(1, len(candidates) // 80))):
                version = rng.choice(obj.versions)
                t = version.done + self.between(DAY, 30 * DAY)
                if t >= self.end:
                    t = self.between(version.done + 12 * HOUR, self.end)
                endpoint = rng.choice(ENDPOINTS)
                key, _, md5 = version.parts[0]
                prefix = f"ReplicationAudit({obj.bare}, {endpoint})"
                if code == "ZIP_PART_NOT_FOUND":
                    message = (
                        f"replicated part not found on {endpoint}: {key} was not found on "
                        f"{BUCKETS[endpoint]}"
                    )
                else:
                    message = (
                        f"replicated md5 mismatch on {endpoint}: {key} catalog md5 ({md5}) "
                        f"doesn't match the replicated md5 ({self.md5()}) on "
                        f"{BUCKETS[endpoint]}"
                    )
                self.ruby(self.c2a, t, self.pid("c2a", t), "ERROR", f"{prefix} {message}")

    # --- request noise ----------------------------------------------------------------------

    def lograge(
        self,
        t: int,
        rid: str,
        method: str,
        path: str,
        *,
        route: str,
        status: int,
        took: int,
    ) -> None:
        controller, _, action = route.partition("#")
        duration = took / 1000
        view = duration * self.rng.uniform(0.1, 0.6)
        db = duration * self.rng.uniform(0.05, 0.4)
        self.rails_line(
            t,
            "INFO",
            rid,
            f"method={method} path={path} format=json "
            f"controller={controller} action={action} status={status} "
            f"duration={duration:.2f} view={view:.2f} db={db:.2f}",
        )

    def request(
        self,
        t: int,
        bare: str,
        method: str,
        path: str,
        *,
        route: str,
        status: int,
        sql: int,
    ) -> None:
        rid = self.request_id()
        tables = (
            ("PreservedObject", "preserved_objects", "druid", f'"{bare}"'),
            (
                "MoabRecord",
                "moab_records",
                "preserved_object_id",
                str(self.rng.randrange(1, 2_000_000)),
            ),
        )
        for model, table, column, value in tables[:sql]:
            t += self.secs(0.002, 0.02)
            self.rails_line(
                t,
                "DEBUG",
                rid,
                f"  {model} Load ({self.rng.uniform(0.2, 2.0):.1f}ms)"
                f'  SELECT "{table}".* FROM "{table}" WHERE "{table}"."{column}" = $1 '
                f'LIMIT $2  [["{column}", {value}], ["LIMIT", 1]]',
            )
        took = self.secs(0.005, 0.3)
        self.lograge(t + took, rid, method, path, route=route, status=status, took=took)

    def object_requests(self, obj: _Object) -> None:
        """Argo, the SDR API and scripts asking the catalog about the object."""
        if not obj.versions:
            return
        rng, bare = self.rng, obj.bare
        first = obj.versions[0].done
        for _ in range(rng.randint(0, max(1, (self.end - first) * 2 // (5 * DAY)))):
            t = self.between(first, self.end)
            choice = rng.random()
            if choice < 0.5:
                self.request(
                    t,
                    bare,
                    "GET",
                    f"/v1/objects/druid:{bare}",
                    route="ObjectsController#show",
                    status=200,
                    sql=1,
                )
            elif choice < 0.8:
                self.request(
                    t,
                    bare,
                    "GET",
                    f"/v1/objects/druid:{bare}/checksum",
                    route="ObjectsController#checksum",
                    status=200,
                    sql=2,
                )
            else:
                version = obj.version_at(t)
                name = rng.choice(obj.files)
                self.request(
                    t,
                    bare,
                    "GET",
                    f"/v1/objects/druid:{bare}/file?category=content"
                    f"&filepath={name}&version={version}",
                    route="ObjectsController#file",
                    status=200 if rng.random() < 0.9 else 404,
                    sql=2,
                )

    def health_checks(self) -> None:
        t = self.begin + self.secs(0, 600)
        while t < self.end:
            took = self.secs(0.003, 0.04)
            self.rails_line(
                t + took,
                "INFO",
                self.request_id(),
                f"method=GET path=/status/all format=html controller="
                f"OkComputer::OkComputerController action=index status=200 "
                f"duration={took / 1000:.2f} view={took / 4000:.2f} db={took / 9000:.2f}",
            )
            t += 30 * MINUTE + self.secs(-20, 20)

    def noise(self) -> None:
        """The lines the demo's accounting shows as ignored or quarantined."""
        rng = self.rng
        others = [obj for obj in self.objects[1:] if obj.versions]
        header = self.begin - 1
        for log in (self.checksum, self.c2m, self.c2a):
            log.add(
                header,
                f"# Logfile created on {self.clock.ruby_time(self.begin)} by logger.rb/v1.6.0",
            )
        obj = rng.choice(others)
        t = self.between(obj.versions[0].done, self.end)
        self.ruby(
            self.checksum,
            t,
            self.pid("checksum", t),
            "INFO",
            f"validate_checksums({obj.bare}, {obj.root}) skipped: Moab is being "
            "versioned, will retry",
        )
        obj = rng.choice(others)
        t = self.between(obj.versions[0].done, self.end)
        self.ruby(
            self.c2m,
            t,
            self.pid("c2m", t),
            "WARN",
            f"check_catalog_version({obj.bare}, {obj.root}) storage root not mounted, "
            "retrying in 300s",
        )
        # A Latin-1 file name: `\udce9` is written as the lone byte 0xE9 (surrogateescape).
        obj = rng.choice(others)
        t = self.between(obj.versions[0].done, self.end)
        self.rails_line(
            t,
            "INFO",
            self.request_id(),
            f"method=GET path=/v1/objects/druid:{obj.bare}/file?category=content"
            "&filepath=r\udce9sum\udce9.pdf&version=1 format=json "
            "controller=ObjectsController action=file status=404 duration=12.71 "
            "view=0.00 db=1.35",
        )
        for _ in range(2):
            self.rails.add(self.between(self.begin, self.end), "")
            self.events.add(self.between(self.begin, self.end), "")
        # A line cut short by a crash, written again whole just after (the writer retried).
        featured = f'"druid:{self.objects[0].bare}"'
        candidates = [r for r in self.events.records if r[2] and featured not in r[2]]
        t, _, text = rng.choice(candidates)
        self.events.add(t - 1, text[: rng.randrange(20, len(text) - 10)])

    # --- robots -----------------------------------------------------------------------------

    def place_jobs(self, workflow: str, log: _Log) -> None:
        """Put each step run on a free Sidekiq thread (processes restart every two weeks)."""
        rng, clock = self.rng, self.clock
        pools: dict[int, list[_Thread]] = {}
        pids: dict[int, list[int]] = {}
        for job in sorted(self.jobs[workflow], key=lambda job: job.start):
            epoch = (job.start - self.begin) // (14 * DAY)
            pool = pools.get(epoch)
            if pool is None:
                pids[epoch] = [rng.randrange(2_000, 65_000) for _ in range(2)]
                pool = pools[epoch] = [
                    _Thread(pid, _tid(rng)) for pid in pids[epoch] for _ in range(5)
                ]
            free = [thread for thread in pool if thread.busy_until <= job.start]
            if free:
                thread = free[rng.randrange(len(free))]
            else:
                thread = _Thread(rng.choice(pids[epoch]), _tid(rng))
                pool.append(thread)
            thread.busy_until = job.end
            head = f"pid={thread.pid} tid={thread.tid}"
            log.add(
                job.start,
                f"{clock.utc_ms(job.start)} {head} INFO: {job.druid} processing "
                f"{job.step} ({job.workflow})",
            )
            if job.error:
                log.add(job.end, f"{clock.utc_ms(job.end)} {head} ERROR: " + "\n".join(job.error))
            else:
                log.add(
                    job.end,
                    f"{clock.utc_ms(job.end)} {head} INFO: Finished {job.druid} in "
                    f"{(job.end - job.start) / SECOND:.4f}s",
                )

    # --- output -----------------------------------------------------------------------------

    def logs(self) -> tuple[_Log, ...]:
        """Every file the world writes, in the order written."""
        return (
            self.checksum,
            self.c2m,
            self.c2a,
            self.rails,
            self.ingest_robots,
            self.accession_robots,
            self.events,
            self.traffic.stacks,
            self.traffic.purl,
            self.traffic.api,
        )

    def write(self, directory: Path, write: Callable[[Path, bytes], object]) -> DemoData:
        files = []
        for log in self.logs():
            path = directory / log.relpath
            log.records.sort()
            text = "\n".join(record[2] for record in log.records) + "\n"
            write(path, text.encode("utf-8", "surrogateescape"))
            files.append(DemoFile(path, log.source, text.count("\n"), log.service))
        druids = tuple(f"druid:{obj.bare}" for obj in self.objects)
        return DemoData(tuple(files), druids[0], druids)


# --- web access: the requests ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Client:
    """Who sends requests: the address as logged, the user agent, and when they are active."""

    address: str
    agent: str
    hours: str  # the hourly profile their requests follow: office, daytime or flat
    protocol: str = "HTTP/1.1"
    user: str = "-"  # a campus user logged in to stacks: Apache's `%u`


class _Traffic:
    """The world's web traffic: requests to stacks, purl and the SDR API, each written in its
    service's log layout. An object is asked for once published (its first version ingested),
    popular objects far more often than others; people mostly in working hours."""

    def __init__(self, world: _World) -> None:
        self.world = world
        self.rng = world.rng
        self.clock = world.clock
        self.stacks = _Log("access/stacks_access.log", "clf", "stacks")
        self.purl = _Log("access/purl.log", "rails", "purl")
        self.api = _Log("access/sdr-api.log", "lograge", "sdr-api")
        self.hours: list[int] = []
        self.profiles: dict[str, list[float]] = {}
        self.sundays: list[int] = []  # hour indexes of Sunday 01:00, local time
        self.nights: list[int] = []  # hour indexes of 03:00, local time
        self.popularity: list[float] = []
        self.people: list[_Client] = []
        self.activity: list[float] = []
        self.sizes: dict[str, int] = {}

    def run(self) -> None:
        world, rng = self.world, self.rng
        self.plan_hours()
        self.plan_popularity()
        self.plan_people()
        load = len(world.objects) * world.span / DAY
        for _ in range(round(VISITS_RATE * load)):
            person = rng.choices(self.people, cum_weights=self.activity)[0]
            self.visit(person, self.when(person.hours))
        self.crawlers(load)
        self.monitor()
        curl = _Client(f"203.0.113.{rng.randrange(1, 255)}", "curl/8.5.0", "daytime")
        self.scripts(load, curl)
        self.api_calls(load, curl)
        self.bad_lines()
        self.cut_off()

    # --- when, what, who ---------------------------------------------------------------------

    def plan_hours(self) -> None:
        """Hourly weights over the whole span, in local time: offices are busy on weekdays
        from 9 to 5, people at large from morning to late evening; crawlers are flat."""
        world = self.world
        office: list[float] = []
        daytime: list[float] = []
        for index in range(world.span // HOUR):
            local = datetime.fromtimestamp((world.begin + index * HOUR) // SECOND, self.clock.zone)
            hour, weekend = local.hour, local.weekday() >= 5
            office.append(
                (10.0 if 9 <= hour < 17 else 3.0 if 7 <= hour < 20 else 0.3)
                * (0.15 if weekend else 1.0)
            )
            daytime.append(
                (6.0 if 9 <= hour < 18 else 4.0 if 7 <= hour < 23 else 0.8)
                * (0.7 if weekend else 1.0)
            )
            if hour == 1 and local.weekday() == 6:
                self.sundays.append(index)
            if hour == 3:
                self.nights.append(index)
        self.hours = list(range(len(office)))
        self.profiles = {
            "office": list(itertools.accumulate(office)),
            "daytime": list(itertools.accumulate(daytime)),
            "flat": list(itertools.accumulate([1.0] * len(office))),
        }

    def when(self, profile: str) -> int:
        index = self.rng.choices(self.hours, cum_weights=self.profiles[profile])[0]
        return self.world.begin + index * HOUR + self.rng.randrange(HOUR)

    def plan_popularity(self) -> None:
        """Zipf-like: a few objects get most requests; the featured object is the most asked."""
        ranks = list(range(1, len(self.world.objects)))
        self.rng.shuffle(ranks)
        weights = [1.0] + [1 / (rank + 1) ** 0.9 for rank in ranks]
        self.popularity = list(itertools.accumulate(weights))

    def pick(self, t: int) -> _Object | None:
        """A popular object published by `t`; None if a few picks were not published yet."""
        for _ in range(4):
            obj = self.rng.choices(self.world.objects, cum_weights=self.popularity)[0]
            if obj.versions and obj.versions[0].done <= t:
                return obj
        return None

    def plan_people(self) -> None:
        """Campus (a quarter on IPv6, some logged in), the partner, individuals anywhere."""
        rng = self.rng
        for index in range(16):
            address = _ipv6(rng, 0x2607F6D0) if index % 4 == 3 else _campus_ipv4(rng)
            user = SUNET_IDS[index // 2] if index % 2 == 0 and index // 2 < len(SUNET_IDS) else "-"
            self.people.append(self.browser(address, "office", user))
        for _ in range(5):
            self.people.append(self.browser(f"198.51.100.{rng.randrange(1, 255)}", "office"))
        for index in range(36):
            if index % 4 == 3:
                address = _ipv6(rng, 0x20010DB8)
            else:
                address = f"{rng.choice(('192.0.2', '203.0.113'))}.{rng.randrange(1, 255)}"
            self.people.append(self.browser(address, "daytime"))
        # Some people come back far more often than others.
        self.activity = list(
            itertools.accumulate(rng.lognormvariate(0, 1) for _ in range(len(self.people)))
        )

    def browser(self, address: str, hours: str, user: str = "-") -> _Client:
        protocol = "HTTP/2.0" if self.rng.random() < 0.8 else "HTTP/1.1"
        return _Client(address, browser_agent(self.rng), hours, protocol, user)

    def status(self, *, not_modified: float = 0.0, missing: float = 0.0, error: float = 0.0) -> int:
        """200, or with the given chances 304, 404 or 500."""
        roll = self.rng.random()
        if roll < error:
            return 500
        if roll < error + missing:
            return 404
        if roll < error + missing + not_modified:
            return 304
        return 200

    def referer(self) -> str:
        return self.rng.choice(SEARCH_REFERERS).format(n=self.rng.randrange(10_000_000, 14_000_000))

    def file_size(self, bare: str, name: str) -> int:
        """A content file's size: drawn once, the same at every download."""
        key = f"{bare}/{name}"
        size = self.sizes.get(key)
        if size is None:
            low, high = FILE_SIZES[name.rsplit(".", 1)[1]]
            size = self.sizes[key] = int(math.exp(self.rng.uniform(math.log(low), math.log(high))))
        return size

    # --- the three logs ----------------------------------------------------------------------

    def stacks_request(
        self,
        client: _Client,
        t: int,
        method: str,
        target: str,
        status: int,
        size: int,
        *,
        referer: str = "-",
        took: int,
        user: str = "-",
    ) -> int:
        """One Combined Log Format line with the duration in seconds; returns when it ended.

        Apache writes the line when the response is done but logs when the request came, so
        a long download's line comes after shorter requests that started later.
        """
        if method == "HEAD" or status == 304:
            sent = "-"
        elif status >= 400:
            sent = str(self.rng.randrange(1_300, 1_700))  # the error page
        else:
            sent = str(size)
        self.stacks.add(
            t + took,
            f"{client.address} - {user} [{self.clock.apache(t)}] "
            f'"{method} {target} {client.protocol}" {status} {sent} "{referer}" '
            f'"{client.agent}" {took / SECOND:.4f}',
        )
        return t + took

    def purl_line(self, t: int, severity: str, rid: str, message: str) -> None:
        self.purl.add(t, f"[{self.clock.rails(t)}] [{severity}] [{rid}] {message}")

    def purl_request(
        self, address: str, t: int, path: str, route: str, response: str, status: int
    ) -> int:
        """One request in purl's default Rails log, its lines tagged with the request id; lines
        of concurrent requests interleave. Returns when it completed."""
        world, rng = self.world, self.rng
        rid = world.request_id()
        bare = path[1:].partition("/")[0].partition(".")[0]
        self.purl_line(
            t, "INFO", rid, f'Started GET "{path}" for {address} at {self.clock.ruby_time(t)}'
        )
        at = t + world.secs(0.0005, 0.003)
        self.purl_line(at, "INFO", rid, f"Processing by {route} as {response}")
        self.purl_line(at, "INFO", rid, f'  Parameters: {{"id"=>"{bare}"}}')
        if status == 200:
            took = world.secs(0.05, 0.4) if response == "HTML" else world.secs(0.01, 0.15)
        else:
            took = world.secs(0.002, 0.03)
        end = at + took
        ms = (end - t) / 1000
        allocations = rng.randrange(2_000, 9_000) + int(ms * rng.uniform(50, 150))
        if status == 200 and response == "HTML":
            self.purl_line(
                end - took // 10,
                "INFO",
                rid,
                f"  Rendered layout layouts/application.html.erb (Duration: {ms * 0.8:.1f}ms | "
                f"Allocations: {allocations * 3 // 4})",
            )
        if status in (304, 500):
            detail = f"(ActiveRecord: 0.0ms | Allocations: {allocations})"
        else:
            detail = (
                f"(Views: {ms * rng.uniform(0.3, 0.9):.1f}ms | ActiveRecord: 0.0ms | "
                f"Allocations: {allocations})"
            )
        self.purl_line(
            end, "INFO", rid, f"Completed {status} {STATUS_TEXT[status]} in {round(ms)}ms {detail}"
        )
        if status == 500:
            # Rails' DebugExceptions logs the error after the request, one tagged line each.
            for message in (
                "  ",
                f"Errno::ENOENT (No such file or directory @ rb_sysopen - "
                f"/purl/document_cache/{_tree(bare).rsplit('/', 1)[0]}/public):",
                "  ",
                "app/models/purl_resource.rb:58:in 'PurlResource#public_xml_body'",
                "app/controllers/purl_controller.rb:25:in 'PurlController#show'",
            ):
                self.purl_line(end, "FATAL", rid, message)
        return end

    def api_request(
        self,
        t: int,
        address: str,
        method: str,
        path: str,
        route: str,
        status: int,
        user: str | None = None,
    ) -> None:
        """One lograge line in the SDR API's Rails log, written when the request is done.
        Requests outside the simulated span are not logged."""
        world = self.world
        if not world.begin <= t < world.end:
            return
        controller, _, action = route.partition("#")
        took = world.secs(0.001, 0.005) if status == 401 else world.secs(0.008, 0.4)
        duration = took / 1000
        view = duration * self.rng.uniform(0.05, 0.3)
        db = 0.0 if status == 401 else duration * self.rng.uniform(0.1, 0.6)
        text = (
            f"method={method} path={path} format=json controller={controller} "
            f"action={action} status={status} duration={duration:.2f} view={view:.2f} "
            f"db={db:.2f} remote_ip={address}"
        )
        if user is not None:
            text += f" user={user}"
        end = t + took
        self.api.add(end, f"[{self.clock.rails(end)}] [INFO] [{world.request_id()}] {text}")

    # --- who does what -----------------------------------------------------------------------

    def visit(self, person: _Client, t: int) -> None:
        """Someone looks at an object: its PURL page and the viewer's images, maybe a download;
        or, from a search engine or the catalogue, straight to a file."""
        rng, secs = self.rng, self.world.secs
        obj = self.pick(t)
        if obj is None:  # an old or mistyped link
            self.purl_request(
                person.address, t, f"/{_random_bare(rng)}", "PurlController#show", "HTML", 404
            )
            return
        if rng.random() < 0.25:
            self.download(person, t, obj, rng.choice(obj.files), self.referer())
            return
        bare = obj.bare
        status = self.status(not_modified=0.05, error=0.005)
        t = self.purl_request(person.address, t, f"/{bare}", "PurlController#show", "HTML", status)
        if status == 500:
            return
        page = f"https://purl.stanford.edu/{bare}"
        images = _image_ids(obj)
        if images:
            t = self.purl_request(
                person.address,
                t + secs(0.1, 0.6),
                f"/{bare}/iiif/manifest",
                "IiifV2Controller#manifest",
                "JSON",
                self.status(not_modified=0.1),
            )
            t = self.viewer(person, t, bare, images, page)
        if rng.random() < 0.35:
            self.download(person, t + secs(5, 300), obj, rng.choice(obj.files), page)

    def viewer(self, person: _Client, t: int, bare: str, images: list[str], page: str) -> int:
        """The embedded IIIF viewer: the first image's info.json, thumbnails, a few tiles."""
        rng, secs = self.rng, self.world.secs
        base = f"/image/iiif/{bare}%2F"
        first = images[0]
        t = self.stacks_request(
            person,
            t + secs(0.05, 0.4),
            "GET",
            f"{base}{first}/info.json",
            self.status(not_modified=0.15),
            700 + len(bare) + len(first) + rng.randrange(8) * 60,
            referer=page,
            took=secs(0.01, 0.15),
        )
        for image in images[:6]:
            self.stacks_request(
                person,
                t + secs(0, 0.3),
                "GET",
                f"{base}{image}/full/!400,400/0/default.jpg",
                self.status(not_modified=0.15, missing=0.005, error=0.005),
                rng.randrange(15_000, 60_000),
                referer=page,
                took=secs(0.05, 1.2),
            )
        for _ in range(rng.choice((0, 0, 1, 2, 4))):
            x, y = rng.randrange(4) * 1024, rng.randrange(4) * 1024
            t = self.stacks_request(
                person,
                t + secs(0.5, 20),
                "GET",
                f"{base}{first}/{x},{y},1024,1024/512,/0/default.jpg",
                self.status(not_modified=0.1),
                rng.randrange(20_000, 150_000),
                referer=page,
                took=secs(0.05, 0.8),
            )
        return t

    def download(self, client: _Client, t: int, obj: _Object, name: str, referer: str) -> int:
        """A file from stacks; audio and video mostly in ranges (206), as players ask."""
        rng, secs = self.rng, self.world.secs
        size = self.file_size(obj.bare, name)
        status = self.status(not_modified=0.04, missing=0.01, error=0.003)
        if status == 200 and name.endswith((".wav", ".mp4")) and rng.random() < 0.6:
            status, size = 206, rng.randrange(65_536, min(size, 8 * 1024**2))
        took = secs(0.005, 0.05)
        if status in (200, 206):
            took += size * SECOND // rng.randrange(2_000_000, 60_000_000)  # bytes per second
        target = f"/file/druid:{obj.bare}/{name}"
        if rng.random() < 0.2:
            target += "?download=true"
        return self.stacks_request(
            client, t, "GET", target, status, size, referer=referer, took=took, user=client.user
        )

    def crawlers(self, load: float) -> None:
        """Googlebot and bingbot around the clock; AhrefsBot in bursts every few days."""
        rng, world = self.rng, self.world
        google = [
            _Client(f"66.249.{rng.choice((66, 68, 79))}.{rng.randrange(1, 255)}", agent, "flat")
            for agent in (GOOGLEBOT, GOOGLEBOT, GOOGLEBOT_SMARTPHONE)
        ]
        bing = [
            _Client(f"{prefix}.{rng.randrange(1, 255)}", BINGBOT, "flat")
            for prefix in ("157.55.39", "40.77.167")
        ]
        for bots, rate in ((google, GOOGLEBOT_RATE), (bing, BINGBOT_RATE)):
            for _ in range(round(rate * load)):
                self.crawl(rng.choice(bots), self.when("flat"))
        images = _Client(f"66.249.66.{rng.randrange(1, 255)}", GOOGLEBOT_IMAGE, "flat")
        for _ in range(round(GOOGLEBOT_RATE / 2 * load)):
            t = self.when("flat")
            obj = self.pick(t)
            ids = _image_ids(obj) if obj is not None else []
            if obj is not None and ids:
                self.stacks_request(
                    images,
                    t,
                    "GET",
                    f"/image/iiif/{obj.bare}%2F{rng.choice(ids)}/full/!400,400/0/default.jpg",
                    self.status(not_modified=0.2),
                    rng.randrange(15_000, 60_000),
                    took=world.secs(0.05, 1.2),
                )
        ahrefs = [
            _Client(f"54.36.{148 + i}.{rng.randrange(1, 255)}", AHREFSBOT, "flat") for i in (0, 1)
        ]
        t = world.begin + world.between(0, 2 * DAY)
        while t < world.end:
            for _ in range(rng.randint(10, 10 + len(world.objects) // 10)):
                # Requests overlap: the next starts before the last is done.
                self.crawl(rng.choice(ahrefs), t, stale=0.3)
                t += world.secs(0.3, 3)
            t += world.between(2 * DAY, 4 * DAY)

    def crawl(self, bot: _Client, t: int, *, stale: float = 0.03) -> None:
        """A PURL page or a file; `stale` of the links lead nowhere (404)."""
        rng = self.rng
        obj = self.pick(t)
        if rng.random() < 0.65:
            if obj is None or rng.random() < stale:
                path, status = f"/{_random_bare(rng)}", 404
            else:
                path, status = f"/{obj.bare}", self.status(not_modified=0.1)
            self.purl_request(bot.address, t, path, "PurlController#show", "HTML", status)
        elif obj is not None:
            name = rng.choice(obj.files)
            if rng.random() < stale:
                name = f"{obj.bare}_{rng.randrange(1, 999):03d}.pdf"
            self.download(bot, t, obj, name, "-")

    def monitor(self) -> None:
        """UptimeRobot asks for stacks' home page every hour; in one outage it sees 503s."""
        world, rng = self.world, self.rng
        probes = [
            _Client(address, UPTIMEROBOT, "flat")
            for address in ("216.144.248.21", "69.162.124.231", "63.143.42.245")
        ]
        outage = world.begin + world.between(world.span // 4, 3 * world.span // 4)
        t = world.begin + world.secs(0, 3600)
        while t < world.end:
            down = outage <= t < outage + 2 * HOUR
            self.stacks_request(
                rng.choice(probes),
                t,
                "HEAD",
                "/",
                503 if down else 200,
                0,
                took=world.secs(0.001, 0.02),
            )
            t += HOUR + world.secs(-3, 3)

    def scripts(self, load: float, curl: _Client) -> None:
        """The partner's weekly harvest of PURL XML, a campus script fetching datasets every
        night (If-Modified-Since: mostly 304), and someone's curl."""
        world, rng = self.world, self.rng
        harvester = _Client(f"198.51.100.{rng.randrange(1, 255)}", "python-requests/2.31.0", "flat")
        for index in self.sundays:
            start = world.begin + index * HOUR + world.secs(60, 900)
            published = [o for o in world.objects if o.versions and o.versions[0].done <= start]
            if not published:
                continue
            chosen = rng.sample(published, max(1, round(HARVEST_SHARE * len(published))))
            # Three requests at a time: their lines interleave in purl's log.
            for worker in range(3):
                t = start + world.secs(0, 0.05)
                for obj in chosen[worker::3]:
                    t = self.purl_request(
                        harvester.address,
                        t,
                        f"/{obj.bare}.xml",
                        "PurlController#show",
                        "XML",
                        self.status(error=0.002),
                    )
                    t += world.secs(0.02, 0.3)
        script = _Client(_campus_ipv4(rng), "python-requests/2.32.3", "flat")
        datasets = [obj for obj in world.objects if "dataset.csv" in obj.files][:3]
        for index in self.nights:
            t = world.begin + index * HOUR + world.secs(0, 120)
            for obj in datasets:
                if obj.versions[0].done > t:
                    continue
                size = self.file_size(obj.bare, "dataset.csv")
                fresh = rng.random() < 0.8
                t = self.stacks_request(
                    script,
                    t,
                    "GET",
                    f"/file/druid:{obj.bare}/dataset.csv",
                    304 if fresh else 200,
                    size,
                    took=world.secs(0.003, 0.02) + (0 if fresh else size * SECOND // 50_000_000),
                )
        for _ in range(round(UNAUTHENTICATED_RATE * load)):
            t = self.when("daytime")
            wanted = self.pick(t)
            if wanted is not None:
                self.download(curl, t, wanted, rng.choice(wanted.files), "-")

    def api_calls(self, load: float, curl: _Client) -> None:
        """The SDR API: Argo opening and closing versions and showing objects to staff, the
        preservation robots reading an object before ingest, and calls without a token."""
        world, rng = self.world, self.rng
        argo = [_campus_ipv4(rng) for _ in range(2)]
        robots = _campus_ipv4(rng)
        for obj in world.objects:
            path = f"/v1/objects/druid:{obj.bare}"
            previous = obj.registered
            for version in obj.versions:
                if version.number > 1:
                    opened = world.between(
                        max(previous + MINUTE, version.closed - DAY), version.closed - MINUTE
                    )
                    self.api_request(
                        opened, rng.choice(argo), "POST", f"{path}/versions",
                        "VersionsController#create", 201, "argo",
                    )  # fmt: skip
                self.api_request(
                    version.closed - world.secs(0.05, 0.5), rng.choice(argo), "POST",
                    f"{path}/versions/current/close", "VersionsController#close_current", 200,
                    "argo",
                )  # fmt: skip
                start = version.done - world.secs(600, 3600)
                self.api_request(
                    start, robots, "GET", path, "ObjectsController#show", 200,
                    "preservation-robots",
                )  # fmt: skip
                self.api_request(
                    start + world.secs(0.5, 2), robots, "GET", f"{path}/versions",
                    "VersionsController#index", 200, "preservation-robots",
                )  # fmt: skip
                previous = version.done
        routes = (
            ("", "ObjectsController#show"),
            ("", "ObjectsController#show"),
            ("/events", "EventsController#index"),
            ("/versions", "VersionsController#index"),
        )
        for _ in range(round(ARGO_RATE * load)):
            t = self.when("office")
            shown = self.pick(t)
            suffix, route = rng.choice(routes)
            if shown is None:
                path, status = f"/v1/objects/druid:{_random_bare(rng)}{suffix}", 404
            else:
                path, status = f"/v1/objects/druid:{shown.bare}{suffix}", self.status(error=0.003)
            self.api_request(t, rng.choice(argo), "GET", path, route, status, "argo")
        for _ in range(round(UNAUTHENTICATED_RATE * load)):
            t = self.when("daytime")
            shown = self.pick(t)
            bare = shown.bare if shown is not None else _random_bare(rng)
            address = rng.choice((curl.address, rng.choice(self.people).address))
            self.api_request(
                t, address, "GET", f"/v1/objects/druid:{bare}", "ObjectsController#show", 401
            )

    def bad_lines(self) -> None:
        """What real front ends log too: a request line that never came, a TLS handshake sent
        to the plain HTTP port (Apache escapes its bytes), and a torn write of binary junk."""
        world, rng = self.world, self.rng
        t = world.between(world.begin, world.end)
        self.stacks.add(
            t,
            f"203.0.113.{rng.randrange(1, 255)} - - [{self.clock.apache(t)}] "
            '"-" 400 - "-" "-" 0.0000',
        )
        t = world.between(world.begin, world.end)
        # A ClientHello's record header, then random bytes, as Apache escapes them.
        hello = "".join(f"\\x{byte:02x}" for byte in (0x16, 3, 1, 2, 0, 1, 0, 1, 0xFC, 3, 3))
        hello += "".join(f"\\x{rng.randrange(256):02x}" for _ in range(20))
        self.stacks.add(
            t,
            f"192.0.2.{rng.randrange(1, 255)} - - [{self.clock.apache(t)}] "
            f'"{hello}" 400 226 "-" "-" 0.0011',
        )
        # A lone UTF-8 continuation byte first: the line is never valid UTF-8.
        other = [byte for byte in range(1, 256) if byte not in (10, 13)]
        junk = bytes([rng.randrange(0x80, 0xC0)] + [rng.choice(other) for _ in range(60)])
        self.stacks.add(
            world.between(world.begin, world.end), junk.decode("utf-8", "surrogateescape")
        )

    def cut_off(self) -> None:
        """The log ends inside a request: it started, but the process was stopped."""
        world, rng = self.world, self.rng
        last = max((record[0] for record in self.purl.records), default=world.end - MINUTE)
        t = last + world.secs(0.01, 0.5)
        rid = world.request_id()
        obj = self.pick(t) or world.objects[0]
        address = rng.choice(self.people).address
        self.purl_line(
            t, "INFO", rid, f'Started GET "/{obj.bare}" for {address} at {self.clock.ruby_time(t)}'
        )
        self.purl_line(t + 1000, "INFO", rid, "Processing by PurlController#show as HTML")
        self.purl_line(t + 1000, "INFO", rid, f'  Parameters: {{"id"=>"{obj.bare}"}}')


def _campus_ipv4(rng: random.Random) -> str:
    """An address in 171.64.0.0/14."""
    return f"171.{rng.randrange(64, 68)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _ipv6(rng: random.Random, prefix: int) -> str:
    """An address in `prefix`::/32: half with a random interface id, half with a short one."""
    subnet = rng.getrandbits(32)
    interface = rng.getrandbits(64) if rng.random() < 0.5 else rng.randrange(1, 0x10000)
    return str(ipaddress.IPv6Address((prefix << 96) | (subnet << 64) | interface))


def _image_ids(obj: _Object) -> list[str]:
    """The IIIF image ids of an object's images: their file names without the extension."""
    return [name.rsplit(".", 1)[0] for name in obj.files if name.endswith((".tif", ".jp2"))]


def _random_bare(rng: random.Random) -> str:
    """A well-formed bare druid of no object in the world: a stale or mistyped link."""
    letters = "".join(rng.choice(DRUID_LETTERS) for _ in range(4))
    return f"{letters[:2]}{rng.randrange(1000):03d}{letters[2:]}{rng.randrange(10000):04d}"


def _tid(rng: random.Random) -> str:
    """A Sidekiq thread id: a short base-36 number."""
    value = rng.randrange(36**3, 36**5)
    digits = []
    while value:
        value, digit = divmod(value, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
    return "".join(reversed(digits))
