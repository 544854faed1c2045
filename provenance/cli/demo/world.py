"""Sample logs for `prov demo`: a pure, deterministic generator of the real input formats.

Owns what the demo's logs look like: `generate`, `plan` and the world's whole run (its parts
are listed in `provenance/cli/demo/__init__.py`). It simulates a small repository
(registrations, accessioning, ingest of versions, replication to three cloud endpoints, daily
audits, a few failures and their repair, request noise) and the web traffic to three of its
services (file and image downloads from stacks, PURL pages, the SDR API), and writes it in the
line layouts of reference/sdr-logs.md, sections 1-4, to `<out_dir>/logs/`:

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
Each log is written atomically, as every file `prov` writes (`provenance.files.output_file`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from provenance.cli.demo.audits import Audits
from provenance.cli.demo.log_formats import Clock, Log
from provenance.cli.demo.model import Object, Thread
from provenance.cli.demo.repository import Repository
from provenance.cli.demo.vocabulary import ACCESSION_WF, DAY, INGEST_WF, MINUTE, SECOND
from provenance.files.output_file import write_bytes

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
    world = _World(random.Random(seed), Clock(ZoneInfo("UTC")), 0, 0)
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
    world = _World(random.Random(seed), Clock(zone), begin, begin + days * DAY)
    world.run(objects)
    return world.write(out_dir / LOGS, write)


class _World(Repository, Audits):
    """The whole world: the repository's life, its audits, requests to the catalog, request
    noise, the robots' logs, and the web traffic (`self.traffic`), written in file order."""

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

    # --- request noise ----------------------------------------------------------------------

    def object_requests(self, obj: Object) -> None:
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

    def place_jobs(self, workflow: str, log: Log) -> None:
        """Put each step run on a free Sidekiq thread (processes restart every two weeks)."""
        rng, clock = self.rng, self.clock
        pools: dict[int, list[Thread]] = {}
        pids: dict[int, list[int]] = {}
        for job in sorted(self.jobs[workflow], key=lambda job: job.start):
            epoch = (job.start - self.begin) // (14 * DAY)
            pool = pools.get(epoch)
            if pool is None:
                pids[epoch] = [rng.randrange(2_000, 65_000) for _ in range(2)]
                pool = pools[epoch] = [
                    Thread(pid, _tid(rng)) for pid in pids[epoch] for _ in range(5)
                ]
            free = [thread for thread in pool if thread.busy_until <= job.start]
            if free:
                thread = free[rng.randrange(len(free))]
            else:
                thread = Thread(rng.choice(pids[epoch]), _tid(rng))
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

    def logs(self) -> tuple[Log, ...]:
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


def _tid(rng: random.Random) -> str:
    """A Sidekiq thread id: a short base-36 number."""
    value = rng.randrange(36**3, 36**5)
    digits = []
    while value:
        value, digit = divmod(value, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
    return "".join(reversed(digits))
