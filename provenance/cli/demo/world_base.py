"""The demo world's state and what every part of it writes with: random draws, process and
request ids, and the lines of the Ruby Logger files, production.log (Rails tagged, lograge
requests) and events.jsonl."""

from __future__ import annotations

import json
import random
from typing import Any

from provenance.cli.demo.log_formats import Clock, Log
from provenance.cli.demo.model import Job, Object
from provenance.cli.demo.traffic import Traffic
from provenance.cli.demo.vocabulary import ACCESSION_WF, DAY, INGEST_WF, SECOND


class WorldBase:
    """The world's logs, objects and robot jobs, and the small helpers every part draws with."""

    def __init__(self, rng: random.Random, clock: Clock, begin: int, end: int) -> None:
        self.rng = rng
        self.clock = clock
        self.begin = begin
        self.end = end
        self.span = end - begin
        self.checksum = Log("audit_checksum_validation.log", "prescat")
        self.c2m = Log("audit_catalog_to_moab.log", "prescat")
        self.c2a = Log("c2a.log", "prescat")
        self.rails = Log("production.log", "auto", "preservation-catalog")
        self.ingest_robots = Log(f"robots/{INGEST_WF}.log", "robots")
        self.accession_robots = Log(f"robots/{ACCESSION_WF}.log", "robots")
        self.events = Log("events.jsonl", "sdr-events")
        self.jobs: dict[str, list[Job]] = {INGEST_WF: [], ACCESSION_WF: []}
        self.pids: dict[tuple[str, int], list[int]] = {}
        self.objects: list[Object] = []
        self.traffic = Traffic(self)

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

    def ruby(self, log: Log, t: int, pid: int, severity: str, message: str) -> None:
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
