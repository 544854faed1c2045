"""The repository's life in the demo world: objects registered, versions accessioned and
ingested (the robots' steps, with failures), catalogued and replicated to the cloud
endpoints."""

from __future__ import annotations

import math

from provenance.cli.demo.model import Job, Object, Version, tree
from provenance.cli.demo.vocabulary import (
    ACCESSION_HOST,
    ACCESSION_STEPS,
    ACCESSION_WF,
    BAG_BACKTRACE,
    CONTENT_NAMES,
    DAY,
    DRUID_LETTERS,
    DSA_HOSTS,
    END_ACCESSION,
    ENDPOINTS,
    HOUR,
    INGEST_STEPS,
    INGEST_WF,
    MINUTE,
    PRESCAT_HOSTS,
    ROOTS,
    SECOND,
    TRANSFER_BACKTRACE,
    USERS,
    ZIP_PART_BYTES,
)
from provenance.cli.demo.world_base import WorldBase

BACKLOG_DAYS = 21
BACKLOG_FROM_DAYS = 90


class Repository(WorldBase):
    """Registration, versions, accessioning, ingest and replication."""

    def make_objects(self, count: int) -> list[Object]:
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
            objects.append(Object(bare, rng.choice(ROOTS), files, featured=index == 0))
        return objects

    # --- registration, versions, accessioning, ingest, replication -------------------------

    def lifecycle(self, obj: Object) -> None:
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
            version = Version(number, closed, size)
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

    def metadata_update(self, obj: Object, version: Version) -> None:
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

    def accession(self, obj: Object, version: Version, previous_done: int) -> None:
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
        self.jobs[workflow].append(Job(t, t + duration, druid, step, workflow))
        return t + duration

    def maybe_fail(
        self,
        obj: Object,
        version: Version,
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
            Job(t, failed_at, f"druid:{obj.bare}", step, INGEST_WF, failure)
        )
        return failed_at + self.secs(600, 4 * 3600)

    def catalog_write(self, obj: Object, version: Version, t: int, limit: int) -> None:
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

    def replicate(self, obj: Object, version: Version) -> None:
        rng, bare, n = self.rng, obj.bare, version.number
        base = f"{tree(bare)}.v{n:04d}"
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
            # In a world of months, the last endpoint has a backlog for the logs' last three
            # weeks: versions zipped then are not there yet when the logs end (the
            # dashboard's replication gaps). The featured object's story stays whole.
            backlogged = (
                self.span >= BACKLOG_FROM_DAYS * DAY
                and not obj.featured
                and endpoint == ENDPOINTS[-1]
                and zipped > self.end - BACKLOG_DAYS * DAY
            )
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
            if backlogged:
                continue
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
