"""The demo world's audits: checksum validations (with the planned failures and their
repair), catalog-to-Moab and existence checks, and replication problems."""

from __future__ import annotations

import random

from provenance.cli.demo.model import Incident, Object, tree
from provenance.cli.demo.vocabulary import BUCKETS, DAY, ENDPOINTS, HOUR, PRESCAT_HOSTS, ROOTS
from provenance.cli.demo.world_base import WorldBase


class Audits(WorldBase):
    """Checksum, catalog and existence audits, and replication problems."""

    # --- audits -----------------------------------------------------------------------------

    def plan_incidents(self) -> None:
        """Choose which objects fail a checksum validation, when, and whether it is repaired."""
        rng, span = self.rng, self.span
        featured = self.objects[0]
        failed = self.begin + int(0.35 * span) + self.between(0, span // 50)
        repaired = failed + min(4 * DAY, max(12 * HOUR, int(0.03 * span))) + self.between(0, HOUR)
        featured.incident = Incident(failed, repaired, "invalid_checksum", "mismatch")
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
            obj.incident = Incident(failed, fixed, status, kind)

    def failure_messages(self, obj: Object, incident: Incident, t: int) -> tuple[list[str], int]:
        """The error messages of one failing validation, and the Moab's version then."""
        rng = random.Random(f"{obj.bare}-{incident.kind}")  # the same damage at every audit
        current = max(1, obj.version_at(t))
        moab = f"/{obj.root}/sdr2objects/{tree(obj.bare)}"
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

    def checksum_audits(self, obj: Object) -> None:
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

    def validate_checksums(self, obj: Object, t: int) -> None:
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

    def audit_events(self, obj: Object, t: int, errors: list[str] | None, version: int) -> None:
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

    def catalog_audits(self, obj: Object) -> None:
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
