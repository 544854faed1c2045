"""What the fleet-wide questions are answered from: the index entries and totals of one
ObjectState row (written with the row, in the same atomic call: `Projector.index_of`).

Staff ask across two million objects which are failing, which have not been checked for
months, which versions are missing from an endpoint, and how many are in each status; a scan
of every row per question would not do. So each row states, as a pure function of its state:

- index entries (index, term), kept by the store in (term, key) order, one page per request:
  `failing`          the newest open failure's time (most recent first when read backwards);
  `failing_kind`     `<kind>|<time>` per kind of open failure;
  `status`/`root`    `<status>|<root>` and `<root>|<status>` per storage root;
  `fixity`           the oldest of its roots' last successful fixity check (`""`: never);
  `fixity_root`      `<root>|<time>` per root;
  `replicas`         `<copies>|<waiting since>` of its least replicated preserved version
                     (`copies` two digits, so a page of "fewer than N copies" is one range);
  `activity`         the hour of its newest event.
- totals (name, count), summed by the store over every row: objects, versions, events,
  statuses, failures by kind and by day, last-fixity days, copies per endpoint.

Times are UTC `time_key`s (to the microsecond, sortable), cut to the hour or day where a
coarser term changes less often (a row whose entries do not change costs no index write).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from provenance.projections.base import Indexed

State = dict[str, Any]

FAILING = "failing"
FAILING_KIND = "failing_kind"
STATUS = "status"
ROOT = "root"
FIXITY = "fixity"
FIXITY_ROOT = "fixity_root"
REPLICAS = "replicas"
ACTIVITY = "activity"

FAILURE_KINDS = ("fixity", "moab", "version", "replication", "ingest", "other")
"""What an open failure is about: a fixity check, a Moab's validity, a version audit (the
catalog against the storage), a replica or its zip parts, an ingest or workflow step, other."""
_KIND_OF_CHECK = {
    "FixityChecked": "fixity",
    "ObjectValidated": "moab",
    "VersionAudited": "version",
    "replication": "replication",
    "ReplicaAudited": "replication",
    "IngestStepRecorded": "ingest",
    "WorkflowStepRecorded": "ingest",
}
UNKNOWN_STATUS = "no_change_logged"
"""The status of a storage root the catalog has logged no status change for (`prov state`'s
"no change logged"): it kept the status it had when the logs begin."""
NEVER = ""
"""The fixity term of an object no successful check is known for: before every time."""
COPIES_DIGITS = 2


TERM_PART_BYTES = 120
"""At most this many UTF-8 bytes of a name (a storage root, a status, an endpoint) go into a
term or a total's name: both are at most 512 bytes (`eventstore.store.MAX_NAME_BYTES`), and
names come from logs anyone can write."""
_ESCAPED = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4})")


def term_part(name: str) -> str:
    """A name as it goes into a term or a total's name: a backslash, `|` (which separates
    the parts), DEL, control characters (which terms may not hold) and lone surrogates
    escaped, so different names stay different (`part_name` reads it back); then cut to
    TERM_PART_BYTES at a character's end (a long name may then share its term with another:
    lists check every row they give against the filter itself)."""
    escaped = "".join(
        f"\\x{ord(char):02x}"
        if char < " " or char in "|\\\x7f"
        else f"\\u{ord(char):04x}"
        if "\ud800" <= char <= "\udfff"
        else char
        for char in name
    )
    cut = escaped.encode("utf-8", "surrogatepass")[:TERM_PART_BYTES]
    return cut.decode("utf-8", "ignore")


def part_name(part: str) -> str:
    """The name `term_part` made `part` of (what a total's name says, for people and links;
    of a name that was cut, its beginning)."""
    return _ESCAPED.sub(lambda match: chr(int(match.group(1)[1:], 16)), part)


def failure_kind(check: str) -> str:
    """The kind of an open failure, from its check key (`object_state._check_key`): for a
    skipped check, the kind of the check that could not run."""
    parts = check.split("|")
    name = parts[1] if parts[0] == "skipped" else parts[0]
    return _KIND_OF_CHECK.get(name, "other")


def check_label(check: str) -> str:
    """An open failure's check key (`object_state._check_key`) for people: which check, where
    (`validate_checksums at services-disk02`, `replication of v2 to aws_s3_west_2`,
    `check_existence at services-disk02, which could not run`)."""
    parts = check.split("|")
    if parts[0] == "replication" and len(parts) == 3:
        return f"replication of {parts[2]} to {parts[1]}"
    skipped = parts[0] == "skipped"
    if skipped:
        parts = parts[1:]
    name = parts[1] if len(parts) > 1 and parts[1] else parts[0]
    place = parts[2] if len(parts) > 2 else ""
    label = f"{name} at {place}" if place else name
    return f"{label}, which could not run" if skipped else label


def storage_roots(state: State) -> list[str]:
    """The storage roots the object is on (not replication endpoints)."""
    endpoints = set(state["replica_audits"])
    places = set(state["status"]) | set(state["fixity"]) | set(state["validation"])
    return sorted(place for place in places if place and place not in endpoints)


def root_statuses(state: State) -> dict[str, str]:
    """The catalog status of each storage root the object is on."""
    status = state["status"]
    return {
        root: status[root]["status"] if root in status else UNKNOWN_STATUS
        for root in storage_roots(state)
    }


def last_fixity(state: State) -> dict[str, str | None]:
    """Per storage root, the time_key of the last successful fixity check (None: none known)."""
    ok = state.get("fixity_ok", {})
    return {root: _time(ok[root]) if root in ok else None for root in storage_roots(state)}


def replication_gaps(state: State) -> list[dict[str, Any]]:
    """Each preserved version with the endpoints holding it and since when it has waited."""
    gaps = []
    for version, seen in sorted(state.get("version_seen", {}).items(), key=lambda kv: int(kv[0])):
        copies = state["replication"].get(version, {})
        endpoints = sorted(ep for ep, item in copies.items() if item["outcome"] != "fail")
        gaps.append({"version": int(version), "endpoints": endpoints, "since": _time(seen)})
    return gaps


def fleet_index(state: State, failures: list[dict[str, Any]]) -> Indexed:
    """The index entries and totals of one object's state (its lone notifications folded in:
    `object_state.with_lone_notices`) and its open failures (`object_state.open_failures`,
    newest first)."""
    entries: set[tuple[str, str]] = set()
    totals: Counter[str] = Counter()
    totals["objects"] = 1
    totals["versions"] = len(state["versions"])
    totals["events"] = sum(state["events_by_type"].values())
    if state["last_event"]:
        entries.add((ACTIVITY, state["last_event"][:13]))

    if failures:
        entries.add((FAILING, _time(failures[0]["cursor"])))
        totals["failing"] = 1
        newest: dict[str, str] = {}
        for failure in failures:
            kind = failure_kind(failure["check"])
            newest.setdefault(kind, _time(failure["cursor"]))
        for kind, when in newest.items():
            entries.add((FAILING_KIND, f"{kind}|{when}"))
            totals[f"failing:{kind}"] = 1
    for day, count in state.get("failed_on", {}).items():
        totals[f"failures_on:{day}"] = count

    for name, status_name in root_statuses(state).items():
        root, status = term_part(name), term_part(status_name)
        entries.add((STATUS, f"{status}|{root}"))
        entries.add((ROOT, f"{root}|{status}"))
        # Objects by status (one on two roots in one status counts once); by root, copies.
        totals[f"status:{status}"] = 1
        totals[f"root:{root}|{status}"] += 1
    checked = last_fixity(state)
    if checked:
        oldest = min(when or NEVER for when in checked.values())
        entries.add((FIXITY, oldest))
        totals[f"fixity_on:{oldest[:10] or 'never'}"] = 1
        for root, last in checked.items():
            entries.add((FIXITY_ROOT, f"{term_part(root)}|{last or NEVER}"))

    gaps = replication_gaps(state)
    if gaps:
        worst = min(gaps, key=lambda gap: (len(gap["endpoints"]), gap["since"]))
        entries.add((REPLICAS, f"{len(worst['endpoints']):0{COPIES_DIGITS}d}|{worst['since']}"))
        totals[f"least_copies:{len(worst['endpoints'])}"] = 1
        for gap in gaps:
            totals[f"version_copies:{len(gap['endpoints'])}"] += 1
            for endpoint in gap["endpoints"]:
                totals[f"endpoint:{term_part(endpoint)}"] += 1
    return Indexed(frozenset(entries), {name: n for name, n in totals.items() if n})


def _time(cursor: str) -> str:
    """A cursor's time_key (`<time_key>#<event id>`)."""
    return cursor.partition("#")[0]
