"""Sample logs for `prov demo`: a pure, deterministic generator of the real input formats.

Owns what the demo's logs look like. It simulates a small repository (registrations,
accessioning, ingest of versions, replication to three cloud endpoints, daily audits, a few
failures and their repair, request noise) and writes it in the line layouts of
reference/sdr-logs.md, sections 1-3, to `<out_dir>/logs/`:

| file                               | layout                       | read by source |
| ---------------------------------- | ---------------------------- | -------------- |
| audit_checksum_validation.log      | Ruby Logger, local time      | prescat        |
| audit_catalog_to_moab.log          | Ruby Logger, local time      | prescat        |
| c2a.log                            | Ruby Logger, local time      | prescat        |
| production.log                     | Rails tagged, ISO with zone  | prescat        |
| robots/preservationIngestWF.log    | Sidekiq, UTC                 | robots         |
| robots/accessionWF.log             | Sidekiq, UTC                 | robots         |
| events.jsonl                       | sdr-events JSON lines        | sdr-events     |

Some lines are deliberately bad, so the demo's accounting has something to show: the
Logger file headers, an audit line with an unknown message, a truncated JSON line, a
line with an invalid UTF-8 byte sequence, a file path holding U+0001, and blank lines.

Same arguments give byte-identical files: all randomness comes from one `random.Random(seed)`,
never from the clock. Imports only the standard library.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Time is kept as integer microseconds since the Unix epoch (UTC): cheap to add and sort.
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

MIN_OBJECTS = 3
MIN_DAYS = 5

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


@dataclass(frozen=True, slots=True)
class DemoFile:
    """One generated log file: where it is, which source reads it, how many lines it has."""

    path: Path
    source: str
    lines: int


@dataclass(frozen=True, slots=True)
class DemoData:
    """What `generate` wrote; `featured` is a druid whose history is worth a tour."""

    files: tuple[DemoFile, ...]
    featured: str
    druids: tuple[str, ...]


def generate(
    out_dir: Path,
    *,
    objects: int = 300,
    days: int = 120,
    seed: int = 20260301,
    start: date = date(2026, 1, 1),
    tz: str = "America/Los_Angeles",
) -> DemoData:
    """Write sample logs under `out_dir/logs/` and describe them.

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
    return world.write(out_dir / "logs")


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

    def ruby_header(self, t: int) -> str:
        """The `# Logfile created on ...` header's `Time#to_s`."""
        return f"{self._local(t):%Y-%m-%d %H:%M:%S %z}"

    def rails(self, t: int) -> str:
        """Rails tagged log: ISO 8601 local time with its offset, whole seconds."""
        return self._local(t).isoformat()

    def utc_ms(self, t: int) -> str:
        """Sidekiq and JSON: UTC with milliseconds and `Z`."""
        moment = datetime.fromtimestamp(t // SECOND, UTC)
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{t % SECOND // 1000:03d}Z"


class _Log:
    """One output file: (time, sequence, text) records, sorted by time when written."""

    __slots__ = ("records", "relpath", "source")

    def __init__(self, relpath: str, source: str) -> None:
        self.relpath = relpath
        self.source = source
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
        self.rails = _Log("production.log", "prescat")
        self.ingest_robots = _Log(f"robots/{INGEST_WF}.log", "robots")
        self.accession_robots = _Log(f"robots/{ACCESSION_WF}.log", "robots")
        self.events = _Log("events.jsonl", "sdr-events")
        self.jobs: dict[str, list[_Job]] = {INGEST_WF: [], ACCESSION_WF: []}
        self.pids: dict[tuple[str, int], list[int]] = {}
        self.objects: list[_Object] = []

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
                f"# Logfile created on {self.clock.ruby_header(self.begin)} by logger.rb/v1.6.0",
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

    def write(self, directory: Path) -> DemoData:
        files = []
        for log in (
            self.checksum,
            self.c2m,
            self.c2a,
            self.rails,
            self.ingest_robots,
            self.accession_robots,
            self.events,
        ):
            path = directory / log.relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            log.records.sort()
            text = "\n".join(record[2] for record in log.records) + "\n"
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
            files.append(DemoFile(path, log.source, text.count("\n")))
        druids = tuple(f"druid:{obj.bare}" for obj in self.objects)
        return DemoData(tuple(files), druids[0], druids)


def _tid(rng: random.Random) -> str:
    """A Sidekiq thread id: a short base-36 number."""
    value = rng.randrange(36**3, 36**5)
    digits = []
    while value:
        value, digit = divmod(value, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
    return "".join(reversed(digits))
