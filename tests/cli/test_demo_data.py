"""The demo's sample logs: deterministic, in the real layouts, telling the featured story.

These tests read the generated files with their own regexes (built from
reference/sdr-logs.md), never with the project's parsers, except the last section, which checks
that each access log reads cleanly with its source.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from provenance.cli.demo.vocabulary import AGENT_NETWORKS
from provenance.cli.demo.world import SEED, DemoData, generate, plan
from provenance.domain.druid import LOOSE, STRICT
from provenance.domain.events import ServiceAccessed
from provenance.sources import source_class
from tests.sources.helpers import build_events, feed_source

LA = ZoneInfo("America/Los_Angeles")
ENDPOINTS = ("aws_s3_west_2", "aws_s3_east_1", "gcp_s3_south_1")
INGEST_STEPS = (
    "start-ingest",
    "transfer-object",
    "validate-bag",
    "update-moab",
    "validate-moab",
    "update-catalog",
    "complete-ingest",
)
ACCESSION_STEPS = ("start-accession", "technical-metadata", "shelve", "publish", "end-accession")

LOGGER = re.compile(
    r"(?P<initial>[DIWEF]), \[(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}) #(?P<pid>\d+)\] "
    r"(?P<sev>[ A-Z]{5}) -- : (?P<msg>.*)"
)
LOGFILE_HEADER = re.compile(
    r"# Logfile created on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} by logger\.rb/v[\d.]+"
)
RAILS = re.compile(
    r"\[(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)\] "
    r"\[(?P<sev>DEBUG|INFO|WARN|ERROR|FATAL)\] "
    r"\[(?P<rid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\] (?P<msg>.*)"
)
SIDEKIQ = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) pid=(?P<pid>\d+) tid=(?P<tid>[0-9a-z]+) "
    r"(?P<sev>INFO|ERROR): (?P<msg>.*)"
)
AUDIT = re.compile(
    r"(?P<check>validate_checksums|check_catalog_version|check_existence|ReplicationAudit|"
    r"create_after_validation|update_after_validation)"
    r"\((?P<druid>[a-z]{2}\d{3}[a-z]{2}\d{4}), (?P<where>[a-z0-9_-]+)\) (?P<text>.*)",
    re.DOTALL,
)
LOGRAGE = re.compile(
    r"method=(GET|POST|PATCH) path=\S+ format=(json|html) controller=\S+ action=\w+ "
    r"status=\d{3} duration=\d+\.\d\d view=\d+\.\d\d db=\d+\.\d\d"
)
SQL = re.compile(r"  \w+ Load \(\d+\.\dms\)  SELECT .*")
PATH = (
    r"/services-disk\d\d/sdr2objects/[a-z]{2}/\d{3}/[a-z]{2}/\d{4}/[a-z]{2}\d{3}[a-z]{2}\d{4}"
    r"/v\d{4}"
)
ZIP_KEY = r"[a-z]{2}/\d{3}/[a-z]{2}/\d{4}/[a-z]{2}\d{3}[a-z]{2}\d{4}\.v\d{4}\.zip"
# Each result message of the reference templates the generator uses, with its severity.
TEMPLATES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (severity, re.compile(pattern, re.DOTALL))
    for severity, pattern in (
        ("INFO", r"checksum\(s\) match"),
        ("INFO", r"actual version \(\d+\) matches MoabRecord db version"),
        ("INFO", r"actual version \(\d+\) greater than MoabRecord db version \(\d+\)"),
        ("INFO", r"added object to db as it did not exist"),
        ("INFO", r"MoabRecord status changed from (ok|invalid_\w+) to (ok|invalid_\w+)"),
        (
            "ERROR",
            r"actual version \(\d+\) has unexpected relationship to PreservedObject db "
            r"version \(\d+\); ERROR!",
        ),
        ("ERROR", r"unable to validate when MoabRecord status is invalid_checksum"),
        (
            "ERROR",
            rf"checksums or size for {PATH}/data/content/\S+ version \d+ do not match entry in "
            r"latest signatureCatalog\.xml\.",
        ),
        (
            "ERROR",
            rf"Moab file {PATH}/data/content/[^ ]+ was not found in Moab manifest "
            rf"{PATH}/manifests/manifestInventory\.xml",
        ),
        (
            "ERROR",
            rf"Moab file {PATH}/data/content/\S+ was not found in Moab signature catalog "
            rf"{PATH}/manifests/signatureCatalog\.xml",
        ),
        ("ERROR", r'Invalid Moab, validation errors: \[".*",\n ".*"\]'),
        (
            "WARN",
            r"\d+ on (aws_s3_west_2|aws_s3_east_1|gcp_s3_south_1): not all ZippedMoabVersion "
            r"parts are replicated yet",
        ),
        (
            "ERROR",
            rf"replicated part not found on (\w+): {ZIP_KEY} was not found on [a-z0-9-]+",
        ),
        (
            "ERROR",
            rf"replicated md5 mismatch on (\w+): {ZIP_KEY} catalog md5 \([0-9a-f]{{32}}\) "
            r"doesn't match the replicated md5 \([0-9a-f]{32}\) on [a-z0-9-]+",
        ),
    )
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """The demo's default world, generated once for the module."""
    return generate(tmp_path_factory.mktemp("demo"))


def _file(data: DemoData, name: str) -> Path:
    [path] = [f.path for f in data.files if f.path.as_posix().endswith("/logs/" + name)]
    return path


def _lines(data: DemoData, name: str) -> list[str]:
    text = _file(data, name).read_bytes().decode("utf-8", "surrogateescape")
    assert text.endswith("\n")
    return text[:-1].split("\n")


def _entries(lines: list[str], head: re.Pattern[str]) -> Iterator[tuple[re.Match[str], str]]:
    """(head match, message with its continuation lines) for each entry of a log."""
    match: re.Match[str] | None = None
    message = ""
    for line in lines:
        found = head.fullmatch(line)
        if found is None:
            assert match is not None and line.startswith(" "), repr(line)
            message += "\n" + line
            continue
        if match is not None:
            yield match, message
        match, message = found, found["msg"]
    if match is not None:
        yield match, message


def _head(pattern: re.Pattern[str], line: str) -> re.Match[str]:
    found = pattern.fullmatch(line)
    assert found is not None, line
    return found


def _result_is_known(severity: str, text: str) -> bool:
    return any(sev == severity and p.fullmatch(text) for sev, p in TEMPLATES)


# --- determinism, accounting, size -----------------------------------------------------------


def test_same_arguments_give_byte_identical_files(demo: DemoData, tmp_path: Path) -> None:
    again = generate(tmp_path)
    assert [(f.source, f.lines) for f in again.files] == [(f.source, f.lines) for f in demo.files]
    for first, second in zip(demo.files, again.files, strict=True):
        assert first.path.read_bytes() == second.path.read_bytes(), first.path.name
    assert (again.featured, again.druids) == (demo.featured, demo.druids)


def test_another_seed_gives_another_world(tmp_path: Path) -> None:
    one = generate(tmp_path / "a", objects=10, days=20, seed=1)
    two = generate(tmp_path / "b", objects=10, days=20, seed=2)
    assert one.druids != two.druids
    assert one.files[0].path.read_bytes() != two.files[0].path.read_bytes()


@pytest.mark.parametrize(("objects", "days", "seed"), [(3, 5, SEED), (40, 30, SEED), (7, 9, 1)])
def test_the_plan_names_what_generate_writes(
    tmp_path: Path, objects: int, days: int, seed: int
) -> None:
    """`prov demo` checks its folder against the plan before anything is generated."""
    data = generate(tmp_path, objects=objects, days=days, seed=seed)

    expected = plan(seed=seed)
    assert expected.featured == data.featured
    assert expected.files == tuple(
        file.path.relative_to(tmp_path).as_posix() for file in data.files
    )


def test_line_counts_match_the_files(demo: DemoData) -> None:
    for file in demo.files:
        assert file.lines == file.path.read_bytes().count(b"\n"), file.path.name
        assert file.lines > 0


def test_files_sources_and_layout(demo: DemoData) -> None:
    logs = demo.files[0].path.parent
    names = {f.path.relative_to(logs).as_posix(): (f.source, f.service) for f in demo.files}
    assert names == {
        "audit_checksum_validation.log": ("prescat", None),
        "audit_catalog_to_moab.log": ("prescat", None),
        "c2a.log": ("prescat", None),
        "production.log": ("auto", "preservation-catalog"),
        "robots/preservationIngestWF.log": ("robots", None),
        "robots/accessionWF.log": ("robots", None),
        "events.jsonl": ("sdr-events", None),
        "access/stacks_access.log": ("clf", "stacks"),
        "access/purl.log": ("rails", "purl"),
        "access/sdr-api.log": ("lograge", "sdr-api"),
    }
    assert logs.name == "logs"


def test_default_size(tmp_path: Path) -> None:
    data = generate(tmp_path)
    assert 50_000 <= sum(f.lines for f in data.files) <= 90_000
    # The access logs must not make `prov demo` slow: at most about 20,000 lines.
    assert 10_000 <= sum(f.lines for f in data.files if f.path.parent.name == "access") <= 20_000


def test_druids(demo: DemoData) -> None:
    assert len(demo.druids) == 300 == len(set(demo.druids))
    assert demo.featured == demo.druids[0]
    bare = [d.removeprefix("druid:") for d in demo.druids]
    assert all(d.startswith("druid:") for d in demo.druids)
    assert all(LOOSE.fullmatch(b) for b in bare)
    assert STRICT.fullmatch(demo.featured.removeprefix("druid:"))
    assert sum(1 for b in bare if not STRICT.fullmatch(b)) == 2
    assert "ab123cd4567" in bare


@pytest.mark.parametrize(
    ("objects", "days"), [(2, 30), (0, 30), (10, 4), (10, -1)], ids=["o2", "o0", "d4", "d-1"]
)
def test_too_small_a_world_is_refused(tmp_path: Path, objects: int, days: int) -> None:
    with pytest.raises(ValueError, match="must be at least"):
        generate(tmp_path, objects=objects, days=days)


# --- layouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["audit_checksum_validation.log", "audit_catalog_to_moab.log", "c2a.log"]
)
def test_ruby_logger_files(demo: DemoData, name: str) -> None:
    lines = _lines(demo, name)
    assert LOGFILE_HEADER.fullmatch(lines[0])
    unknown = []
    stamps = []
    for head, message in _entries(lines[1:], LOGGER):
        severity = head["sev"].strip()
        assert head["sev"] == f"{severity:>5}" and head["initial"] == severity[0]
        stamps.append(head["ts"])
        result = AUDIT.fullmatch(message)
        assert result is not None, message
        if not _result_is_known(severity, result["text"]):
            unknown.append(message)
    # Zone-less local times; January to May has no repeated hour, so text order is time order.
    assert stamps == sorted(stamps)
    assert len(unknown) == (0 if name == "c2a.log" else 1), unknown


def test_rails_log(demo: DemoData) -> None:
    lines = _lines(demo, "production.log")
    assert lines.count("") == 2
    times = []
    kinds: dict[str, int] = {}
    for line in filter(None, lines):
        head = RAILS.fullmatch(line)
        assert head is not None, line
        times.append(datetime.fromisoformat(head["ts"]))
        message = head["msg"]
        result = AUDIT.fullmatch(message)
        if result is not None:
            assert _result_is_known(head["sev"], result["text"]), line
            kinds[result["check"]] = kinds.get(result["check"], 0) + 1
        elif message.startswith("method="):
            assert LOGRAGE.fullmatch(message), line
            kinds["lograge"] = kinds.get("lograge", 0) + 1
        else:
            assert SQL.fullmatch(message) and head["sev"] == "DEBUG", line
            kinds["sql"] = kinds.get("sql", 0) + 1
    assert times == sorted(times)
    assert {t.utcoffset() for t in times} == {timedelta(hours=-8), timedelta(hours=-7)}
    assert kinds["check_existence"] > 1000 and kinds["lograge"] > 5000 and kinds["sql"] > 1000
    assert kinds["create_after_validation"] == 300
    assert kinds["update_after_validation"] > 30


@pytest.mark.parametrize("workflow", ["preservationIngestWF", "accessionWF"])
def test_robot_logs(demo: DemoData, workflow: str) -> None:
    lines = _lines(demo, f"robots/{workflow}.log")
    open_jobs: dict[tuple[str, str], tuple[str, datetime]] = {}
    stamps = []
    for head, message in _entries(lines, SIDEKIQ):
        stamps.append(head["ts"])
        at = datetime.fromisoformat(head["ts"])
        thread = (head["pid"], head["tid"])
        processing = re.fullmatch(rf"(druid:\w+) processing ([\w-]+) \({workflow}\)", message)
        if processing is not None:
            # One job at a time per Sidekiq thread.
            assert thread not in open_jobs, message
            open_jobs[thread] = (processing[1], at)
            continue
        druid, started = open_jobs.pop(thread)
        finished = re.fullmatch(r"Finished (druid:\w+) in (\d+\.\d{4})s", message)
        if finished is not None:
            assert head["sev"] == "INFO" and finished[1] == druid
            took = (at - started).total_seconds()
            assert abs(float(finished[2]) - took) < 0.002
        else:
            assert head["sev"] == "ERROR" and druid in message, message
            _, *backtrace = message.split("\n")
            assert 2 <= len(backtrace) <= 3
            assert all(line.startswith("  /") for line in backtrace)
    assert not open_jobs
    assert stamps == sorted(stamps)


def test_robot_failures_are_retried(demo: DemoData) -> None:
    lines = _lines(demo, "robots/preservationIngestWF.log")
    failure = re.compile(
        r".* ERROR: Error transferring bag \(via /dor/export/(\w+)\) for druid:(\w+): "
        r"rsync exited 23"
    )
    failed = [(i, m) for i, line in enumerate(lines) if (m := failure.fullmatch(line))]
    assert failed
    for index, match in failed:
        assert match[1] == match[2]
        assert lines[index + 1].startswith("  /") and lines[index + 2].startswith("  /")
        retry = f"druid:{match[1]} processing transfer-object (preservationIngestWF)"
        assert any(line.endswith(retry) for line in lines[index + 1 :])


def test_ingest_and_accession_steps_in_order(demo: DemoData) -> None:
    for workflow, steps in (
        ("preservationIngestWF", INGEST_STEPS),
        ("accessionWF", ACCESSION_STEPS),
    ):
        per_druid: dict[str, list[str]] = {}
        for line in _lines(demo, f"robots/{workflow}.log"):
            found = re.search(r"INFO: (druid:\w+) processing ([\w-]+) ", line)
            if found is not None:
                done = per_druid.setdefault(found[1], [])
                if not done or done[-1] != found[2]:  # a retry repeats its step
                    done.append(found[2])
        assert set(per_druid) == set(demo.druids)
        for druid, done in per_druid.items():
            versions, rest = divmod(len(done), len(steps))
            assert rest == 0 and 1 <= versions <= 3, (druid, done)
            assert done == list(steps) * versions, druid


def test_events_jsonl(demo: DemoData) -> None:
    lines = _lines(demo, "events.jsonl")
    assert lines.count("") == 2
    truncated = []
    stamps = []
    types: dict[str, int] = {}
    closed: dict[tuple[str, int], str] = {}
    copies: dict[tuple[str, int], set[str]] = {}
    for line in filter(None, lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            truncated.append(line)
            continue
        assert list(record) == ["druid", "event_type", "data", "created_at"]
        if record["event_type"] == "version_close":
            closed[record["druid"], record["data"]["version"]] = record["created_at"]
        if record["event_type"] == "druid_version_replicated":
            key = (record["druid"], record["data"]["version"])
            copies.setdefault(key, set()).add(record["data"]["endpoint_name"])
        assert record["druid"] in demo.druids
        assert {"host", "invoked_by"} <= set(record["data"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["created_at"])
        stamps.append(record["created_at"])
        types[record["event_type"]] = types.get(record["event_type"], 0) + 1
        if record["event_type"] == "registration":
            assert record["data"]["invoked_by"] == "argo"
        if record["event_type"] == "druid_version_replicated":
            data = record["data"]
            assert data["invoked_by"] == "preservation-catalog"
            assert data["endpoint_name"] in ENDPOINTS
            keys = [part["s3_key"] for part in data["parts_info"]]
            base = f"{_tree(record['druid'])}.v{data['version']:04d}"
            assert keys == [base + ".zip"] + [f"{base}.z{i:02d}" for i in range(1, len(keys))]
    assert len(truncated) == 1
    assert stamps == sorted(stamps)
    assert types["registration"] == 300
    # Every version is on every endpoint but for the last endpoint's backlog at the end:
    # a few versions, all closed in the logs' last five weeks.
    missing = {key: set(ENDPOINTS) - copies.get(key, set()) for key in closed}
    gaps = {key: lost for key, lost in missing.items() if lost}
    assert 1 <= len(gaps) <= 10 and all(lost == {ENDPOINTS[-1]} for lost in gaps.values())
    five_weeks_before_the_end = datetime.fromisoformat(max(stamps)) - timedelta(weeks=5)
    assert all(datetime.fromisoformat(closed[key]) > five_weeks_before_the_end for key in gaps)
    assert types["druid_version_replicated"] == 3 * types["version_close"] - len(gaps)
    assert types["preservation_audit_success"] % 2 == 0
    for kind in (
        "accession_request",
        "version_open",
        "publishing_complete",
        "shelving_complete",
        "preservation_audit_failure",
    ):
        assert types[kind] > 0, kind


def _tree(druid: str) -> str:
    bare = druid.removeprefix("druid:")
    return f"{bare[0:2]}/{bare[2:5]}/{bare[5:7]}/{bare[7:11]}/{bare}"


# --- the noise ---------------------------------------------------------------------------------


def test_two_lines_are_invalid_utf8(demo: DemoData) -> None:
    bad = []
    for file in demo.files:
        for line in file.path.read_bytes().split(b"\n"):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                bad.append((file.path.name, line))
    assert [name for name, _ in bad] == ["production.log", "stacks_access.log"]
    assert b"r\xe9sum\xe9.pdf" in bad[0][1]
    assert len(bad[1][1]) == 61 and 0x80 <= bad[1][1][0] < 0xC0  # binary junk


def test_a_fixity_failure_names_a_path_with_a_control_character(demo: DemoData) -> None:
    lines = [line for line in _lines(demo, "audit_checksum_validation.log") if "\x01" in line]
    assert lines
    assert all(" ERROR -- : validate_checksums(" in line for line in lines)
    assert all(
        "/sdr2objects/" in line and "was not found in Moab manifest" in line for line in lines
    )


# --- the featured object -----------------------------------------------------------------------


def _featured_story_is_told(data: DemoData, tz: ZoneInfo = LA) -> None:
    druid = data.featured
    bare = druid.removeprefix("druid:")
    prefix = f"validate_checksums({bare}, "

    checks = [line for line in _lines(data, "audit_checksum_validation.log") if prefix in line]
    failures = [i for i, line in enumerate(checks) if " ERROR -- : " in line]
    assert len(failures) == 1, "one fixity failure"
    [failed] = failures
    assert "checksums or size for /" in checks[failed]
    assert f"/sdr2objects/{_tree(druid)}/v0001/data/content/" in checks[failed]
    assert checks[failed + 1].endswith("MoabRecord status changed from ok to invalid_checksum")
    assert checks[failed + 2].endswith("checksum(s) match")
    assert checks[failed + 3].endswith("MoabRecord status changed from invalid_checksum to ok")
    assert sum("status changed" in line for line in checks) == 2
    assert all(line.endswith("checksum(s) match") for line in checks[:failed])

    records = [
        json.loads(line)
        for line in _lines(data, "events.jsonl")
        if line.startswith(f'{{"druid": "{druid}"')
    ]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_type.setdefault(record["event_type"], []).append(record)
    [failure] = by_type["preservation_audit_failure"]
    failure_data = failure["data"]
    assert failure_data["check_name"] == "preservation-audit"
    assert str(failure_data["error"]).startswith("validate_checksums (actual location: services-")
    assert str(failure_data["error"]).endswith(
        checks[failed].split(f"{prefix}", 1)[1].split(") ", 1)[1]
    )
    # The Logger's zone-less time, read in the zone, is when the event was sent (a second later).
    logged = datetime.fromisoformat(_head(LOGGER, checks[failed])["ts"]).replace(tzinfo=tz)
    sent = datetime.fromisoformat(str(failure["created_at"]))
    assert timedelta(0) < sent - logged < timedelta(seconds=5)
    successes = by_type["preservation_audit_success"]
    assert sorted(str(r["data"]["check_name"]) for r in successes) == [
        "moab-valid",
        "preservation-audit",
    ]
    replicated = {
        (r["data"]["version"], r["data"]["endpoint_name"])
        for r in by_type["druid_version_replicated"]
    }
    assert replicated == {(v, e) for v in (1, 2) for e in ENDPOINTS}
    assert [r["data"]["version"] for r in by_type["version_close"]] == [1, 2]
    assert len(by_type["registration"]) == 1 and len(by_type["version_open"]) == 1

    c2m = [line for line in _lines(data, "audit_catalog_to_moab.log") if f"({bare}, " in line]
    assert any(
        line.endswith("actual version (2) greater than MoabRecord db version (1)") for line in c2m
    )
    c2a = [line for line in _lines(data, "c2a.log") if f"({bare}, " in line]
    assert any("2 on " in line and "not all ZippedMoabVersion parts" in line for line in c2a)
    rails = "\n".join(line for line in _lines(data, "production.log") if bare in line)
    assert f"create_after_validation({bare}, " in rails
    assert f"update_after_validation({bare}, " in rails
    ingest = [line for line in _lines(data, "robots/preservationIngestWF.log") if druid in line]
    assert sum(f"{druid} processing complete-ingest " in line for line in ingest) == 2


def test_the_featured_object_has_its_story(demo: DemoData) -> None:
    _featured_story_is_told(demo)


@pytest.mark.parametrize(
    ("objects", "days", "seed"),
    [(5, 10, 1), (5, 10, 2), (5, 10, 3), (3, 5, 4), (3, 5, 5), (20, 30, 6), (40, 365, 7)],
)
def test_small_worlds_tell_the_story(tmp_path: Path, objects: int, days: int, seed: int) -> None:
    data = generate(tmp_path, objects=objects, days=days, seed=seed)
    assert len(data.druids) == objects
    _featured_story_is_told(data)


def test_times_follow_the_zone(tmp_path: Path) -> None:
    data = generate(tmp_path, objects=5, days=10, tz="UTC")
    _featured_story_is_told(data, ZoneInfo("UTC"))
    stamps = {
        _head(RAILS, line)["ts"][-6:] for line in filter(None, _lines(data, "production.log"))
    }
    assert stamps == {"+00:00"}


# --- audit cadence -----------------------------------------------------------------------------


def test_every_object_is_audited_at_least_weekly(demo: DemoData) -> None:
    seen: dict[str, list[datetime]] = {}
    for line in _lines(demo, "audit_checksum_validation.log")[1:]:
        head = LOGGER.fullmatch(line)
        if head is None:
            continue
        found = re.match(r"validate_checksums\((\w+), ", head["msg"])
        if found is not None:
            at = datetime.fromisoformat(head["ts"])
            runs = seen.setdefault(found[1], [])
            if not runs or at - runs[-1] > timedelta(seconds=1):  # one run, several lines
                runs.append(at)
    assert set(seen) == {d.removeprefix("druid:") for d in demo.druids}
    end = datetime(2026, 5, 1)
    for bare, runs in seen.items():
        gaps = [b - a for a, b in itertools.pairwise(runs)] + [end - runs[-1]]
        assert max(gaps) <= timedelta(days=7, hours=2), bare
        hours = {run.hour for run in runs}
        assert len(hours) > 1 or len(runs) == 1, bare


def test_new_versions_are_seen_by_the_catalog_check(demo: DemoData) -> None:
    rails = "\n".join(_lines(demo, "production.log"))
    updated = re.findall(
        r"update_after_validation\((\w+), [\w-]+\) actual version \((\d+)\) greater than "
        r"MoabRecord db version \((\d+)\)",
        rails,
    )
    c2m = "\n".join(_lines(demo, "audit_catalog_to_moab.log"))
    greater = set(
        re.findall(
            r"check_catalog_version\((\w+), [\w-]+\) actual version \((\d+)\) greater than "
            r"MoabRecord db version \((\d+)\)",
            c2m,
        )
    )
    assert set(updated) <= greater
    newer = {bare for bare, _, _ in updated}
    assert 0.15 * len(demo.druids) <= len(newer) <= 0.45 * len(demo.druids)
    assert any(version == "3" for _, version, _ in updated)


# --- web access logs ---------------------------------------------------------------------------

COMBINED = re.compile(
    r"(?P<client>[0-9.]+|[0-9a-f:]+) - (?P<user>[a-z0-9]+|-) "
    r"\[(?P<ts>\d\d/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:"
    r"\d\d:\d\d:\d\d [+-]\d{4})\] "
    r'"(?P<method>GET|HEAD) (?P<target>/\S*) (?P<protocol>HTTP/1\.1|HTTP/2\.0)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referer>[^"]*)" "(?P<agent>[^"]+)" '
    r"(?P<seconds>\d+\.\d{4})"
)
STACKS_TARGET = re.compile(
    r"/"
    r"|/file/druid:(?P<file_druid>\w{11})/(?P<name>[\w.-]+)(?:\?download=true)?"
    r"|/image/iiif/(?P<image_druid>\w{11})%2F[\w-]+/"
    r"(?:info\.json|full/!400,400/0/default\.jpg|\d+,\d+,1024,1024/512,/0/default\.jpg)"
)
STARTED = re.compile(
    r'Started GET "(?P<path>/[^"]+)" for (?P<client>\S+) '
    r"at (?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4})"
)
PROCESSING = re.compile(r"Processing by (?P<route>\w+#\w+) as (?P<format>HTML|XML|JSON)")
PARAMETERS = re.compile(r'  Parameters: \{"id"=>"(?P<bare>\w{11})"\}')
RENDERED = re.compile(
    r"  Rendered layout layouts/application\.html\.erb \(Duration: \d+\.\dms \| "
    r"Allocations: \d+\)"
)
COMPLETED = re.compile(
    r"Completed (?P<status>\d{3}) (?:OK|Not Modified|Not Found|Internal Server Error) "
    r"in \d+ms \((?:Views: \d+\.\dms \| )?ActiveRecord: 0\.0ms \| Allocations: \d+\)"
)
PURL_ROUTES = {
    "": ("PurlController#show", "HTML"),
    ".xml": ("PurlController#show", "XML"),
    "/iiif/manifest": ("IiifV2Controller#manifest", "JSON"),
}
API_REQUEST = re.compile(
    r"method=(?P<method>GET|POST) "
    r"path=(?P<path>/v1/objects/druid:(?P<bare>\w{11})(?:/versions(?:/current/close)?|/events)?) "
    r"format=json controller=\w+Controller action=\w+ status=(?P<status>\d{3}) "
    r"duration=\d+\.\d\d view=\d+\.\d\d db=\d+\.\d\d remote_ip=(?P<client>\S+)"
    r"(?: user=(?P<user>[a-z-]+))?"
)
# Addresses no real person has (RFC 5737, RFC 3849): where the demo's individuals come from.
DOCUMENTATION = ("192.0.2.0/24", "203.0.113.0/24", "2001:db8::/32")
DEMO_BEGIN = datetime(2026, 1, 1, tzinfo=LA)
# 120 days of 24 hours: 01:00 local on May 1, daylight saving time having begun.
DEMO_END = DEMO_BEGIN.astimezone(UTC) + timedelta(days=120)
# A visit that starts just before the end may go on a few minutes after it.
LATEST = DEMO_END + timedelta(hours=1)


def _in(address: str, networks: tuple[str, ...]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(network) for network in networks)


def _stacks(data: DemoData) -> tuple[list[re.Match[str]], list[str]]:
    """Stacks' Combined Log Format lines (with the duration), and the other lines."""
    matched, others = [], []
    for line in _lines(data, "access/stacks_access.log"):
        found = COMBINED.fullmatch(line)
        if found is None:
            others.append(line)
        else:
            matched.append(found)
    return matched, others


def _apache_time(text: str) -> datetime:
    return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")


def _is_browser(agent: str) -> bool:
    return agent.startswith("Mozilla/5.0 (") and "compatible;" not in agent


def _bare_druids(data: DemoData) -> set[str]:
    return {d.removeprefix("druid:") for d in data.druids}


def test_stacks_log_is_combined_format_with_durations(demo: DemoData) -> None:
    requests, others = _stacks(demo)
    assert len(others) == 3
    assert sum(line.endswith(' "-" 400 - "-" "-" 0.0000') for line in others) == 1
    assert sum('"\\x16\\x03\\x01\\x02' in line and '" 400 226 "-" "-" ' in line for line in others)
    assert sum(not line.isprintable() for line in others) == 1  # the binary junk
    world = _bare_druids(demo)
    sizes: dict[str, set[str]] = {}
    for request in requests:
        target = STACKS_TARGET.fullmatch(request["target"])
        assert target is not None, request[0]
        druid = target["file_druid"] or target["image_druid"]
        assert druid in world or request["target"] == "/", request[0]
        status, sent = int(request["status"]), request["bytes"]
        if request["method"] == "HEAD":
            assert request["target"] == "/" and "uptimerobot" in request["agent"]
        if request["method"] == "HEAD" or status == 304:
            assert sent == "-", request[0]
        else:
            assert int(sent) > 0, request[0]
        if status == 200 and target["name"]:
            sizes.setdefault(request["target"].partition("?")[0], set()).add(sent)
        at = _apache_time(request["ts"])
        assert DEMO_BEGIN <= at < LATEST, request[0]
        assert at.utcoffset() == at.astimezone(LA).utcoffset(), request[0]
    assert all(len(seen) == 1 for seen in sizes.values()), "a file has one size"
    statuses = Counter(int(request["status"]) for request in requests)
    assert {200, 206, 304, 404, 500, 503} <= set(statuses)
    assert statuses[200] > 0.8 * len(requests)
    # Apache writes a line when the response is done, stamped with when the request came.
    stamps = [_apache_time(request["ts"]) for request in requests]
    assert stamps != sorted(stamps)


def test_who_asks_stacks(demo: DemoData) -> None:
    requests, _ = _stacks(demo)
    agents = {request["agent"] for request in requests}
    for marker in (
        "Googlebot/2.1",
        "Googlebot-Image/1.0",
        "bingbot/2.0",
        "AhrefsBot/7.0",
        "uptimerobot.com",
        "python-requests/",
        "curl/",
    ):
        assert any(marker in agent for agent in agents), marker
    for name, marker in (
        ("Googlebot", "Googlebot"),
        ("bingbot", "bingbot"),
        ("AhrefsBot", "AhrefsBot"),
        ("UptimeRobot", "uptimerobot"),
    ):
        assert all(
            _in(request["client"], AGENT_NETWORKS[name])
            for request in requests
            if marker in request["agent"]
        ), name
    people = {(r["client"], r["agent"]) for r in requests if _is_browser(r["agent"])}
    assert len(people) >= 36  # a few dozen browsers
    clients = {request["client"] for request in requests}
    campus = [client for client in clients if _in(client, AGENT_NETWORKS["campus"])]
    assert any(":" in client for client in campus) and any("." in client for client in campus)
    assert any(_in(client, AGENT_NETWORKS["partner"]) for client in clients)
    assert any(":" in client and _in(client, DOCUMENTATION) for client in clients)
    known = tuple(itertools.chain(DOCUMENTATION, *AGENT_NETWORKS.values()))
    assert all(_in(client, known) for client in clients)
    users = [request for request in requests if request["user"] != "-"]
    assert len({request["user"] for request in users}) >= 3
    assert all(_in(request["client"], AGENT_NETWORKS["campus"]) for request in users)
    assert all(request["target"].startswith("/file/") for request in users)


def test_stacks_traffic_follows_the_clock(demo: DemoData) -> None:
    requests, _ = _stacks(demo)

    def share(rows: list[re.Match[str]], hours: range, weekdays: bool) -> float:
        stamps = [_apache_time(row["ts"]) for row in rows]
        chosen = [s for s in stamps if s.hour in hours and (s.weekday() < 5 or not weekdays)]
        return len(chosen) / len(stamps)

    people = [r for r in requests if _is_browser(r["agent"])]
    crawlers = [r for r in requests if re.search("Googlebot|bingbot|AhrefsBot", r["agent"])]
    # Weekdays 9 to 5 are 40 of the week's 168 hours (24%); midnight to 6 are a quarter of a day.
    assert share(people, range(9, 17), weekdays=True) > 0.5
    assert share(people, range(6), weekdays=False) < 0.1
    assert 0.1 < share(crawlers, range(9, 17), weekdays=True) < 0.4
    assert share(crawlers, range(6), weekdays=False) > 0.15
    checks = sorted(_apache_time(r["ts"]) for r in requests if "uptimerobot" in r["agent"])
    assert len(checks) in (24 * 120 - 1, 24 * 120)
    assert all(
        timedelta(seconds=3590) <= b - a <= timedelta(seconds=3610)
        for a, b in itertools.pairwise(checks)
    )


def test_purl_log_is_a_tagged_rails_request_log(demo: DemoData) -> None:
    lines = _lines(demo, "access/purl.log")
    requests: dict[str, list[re.Match[str]]] = {}
    switches_back = 0
    previous = None
    for line in lines:
        head = _head(RAILS, line)
        if head["rid"] != previous and head["rid"] in requests:
            switches_back += 1
        requests.setdefault(head["rid"], []).append(head)
        previous = head["rid"]
    assert switches_back > 50  # concurrent requests interleave
    world = _bare_druids(demo)
    statuses: Counter[int] = Counter()
    *complete, cut = requests.values()
    for heads in complete:
        messages = [head["msg"] for head in heads]
        started = STARTED.fullmatch(messages[0])
        processing = PROCESSING.fullmatch(messages[1])
        parameters = PARAMETERS.fullmatch(messages[2])
        assert started and processing and parameters, messages
        path = re.fullmatch(r"/(\w{11})(|\.xml|/iiif/manifest)", started["path"])
        assert path is not None and path[1] == parameters["bare"], messages
        assert PURL_ROUTES[path[2]] == (processing["route"], processing["format"])
        assert datetime.fromisoformat(heads[0]["ts"]) == datetime.strptime(
            started["at"], "%Y-%m-%d %H:%M:%S %z"
        )
        rest = messages[3:]
        if rest[0].startswith("  Rendered"):
            assert RENDERED.fullmatch(rest.pop(0)) and processing["format"] == "HTML"
        completed = COMPLETED.fullmatch(rest[0])
        assert completed is not None, messages
        status = int(completed["status"])
        statuses[status] += 1
        assert (status == 404) == (path[1] not in world), messages
        assert (status == 200 and processing["format"] == "HTML") == messages[3].startswith(
            "  Rendered"
        )
        fatal = [head["sev"] for head in heads[len(messages) - len(rest) + 1 :]]
        assert fatal == (["FATAL"] * 5 if status == 500 else []), messages
        if path[2] == ".xml":
            assert _in(started["client"], AGENT_NETWORKS["partner"])  # the weekly harvest
    assert {200, 304, 404, 500} <= set(statuses)
    # The log ends inside a request: Started, Processing and Parameters, no Completed.
    assert [head[0] for head in cut] == lines[-3:]
    assert STARTED.fullmatch(cut[0]["msg"]) and PARAMETERS.fullmatch(cut[2]["msg"])


def test_sdr_api_log_is_lograge_with_users(demo: DemoData) -> None:
    world = _bare_druids(demo)
    users: Counter[str | None] = Counter()
    closes: set[tuple[str, datetime]] = set()
    for line in _lines(demo, "access/sdr-api.log"):
        head = _head(RAILS, line)
        request = API_REQUEST.fullmatch(head["msg"])
        assert request is not None, line
        status, user = int(request["status"]), request["user"]
        users[user] += 1
        assert (status == 401) == (user is None), line
        # Without a token the API answers 401 before it looks the object up.
        assert status == 401 or (status == 404) == (request["bare"] not in world), line
        if user is not None:
            assert _in(request["client"], AGENT_NETWORKS["campus"]), line
        if request["path"].endswith("/versions/current/close"):
            assert user == "argo" and request["method"] == "POST"
            closes.add((request["bare"], datetime.fromisoformat(head["ts"])))
    assert set(users) == {"argo", "preservation-robots", None}
    # Argo closes every version through the API just before the version_close event.
    for line in filter(None, _lines(demo, "events.jsonl")):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the truncated line
        if record["event_type"] == "version_close":
            sent = datetime.fromisoformat(record["created_at"])
            bare = record["druid"].removeprefix("druid:")
            assert any(b == bare and abs(at - sent) <= timedelta(seconds=2) for b, at in closes)


def test_access_volume_scales_with_the_world(tmp_path: Path) -> None:
    def requests(data: DemoData) -> int:
        return sum(f.lines for f in data.files if f.service in ("purl", "sdr-api"))

    small = generate(tmp_path / "small", objects=20, days=30)
    large = generate(tmp_path / "large", objects=80, days=30)
    longer = generate(tmp_path / "longer", objects=20, days=60)
    # Not quite 4x: the crawlers' and the monitor's share does not grow with the objects.
    assert requests(large) > 2 * requests(small)
    assert requests(longer) > 1.5 * requests(small)


@pytest.mark.parametrize(
    ("name", "quarantined", "incomplete"),
    [("access/stacks_access.log", 3, 0), ("access/purl.log", 0, 1), ("access/sdr-api.log", 0, 0)],
)
def test_access_logs_read_cleanly_with_their_sources(
    demo: DemoData, name: str, quarantined: int, incomplete: int
) -> None:
    [file] = [f for f in demo.files if f.path.as_posix().endswith("/logs/" + name)]
    lines = file.path.read_bytes().decode("utf-8", "surrogateescape")[:-1].split("\n")
    entries = feed_source(source_class(file.source), lines, LA, "")
    assert sum(len(entry.lines) for entry in entries) == file.lines
    assert [entry.ignored for entry in entries if entry.ignored] == []
    assert sum(1 for entry in entries if entry.quarantined) == quarantined
    events = build_events(entries, file.source)
    assert all(isinstance(event, ServiceAccessed) for event in events)
    accessed = [event for event in events if isinstance(event, ServiceAccessed)]
    assert sum(1 for event in accessed if not event.complete) == incomplete
    # Only the monitor asks for no object; 401s and 404s name objects the world may not have.
    assert all(
        event.druid in demo.druids
        for event in accessed
        if event.path != "/" and event.status not in (None, 401, 404)
    )
    assert all(DEMO_BEGIN <= event.occurred_at < LATEST for event in accessed)
