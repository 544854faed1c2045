"""What a source remembers across entries (`Source.memory`) and a fresh source takes in
(`Source.recall`): a log read in two parts, the second by a fresh source that recalls the
first's memory, gives the entries the log read whole gives (issue 11, second review: a
`prov ship` record is such a part).

The split is where `prov ship` may begin a record: before a line when every line before it is
in a completed entry (the memory is taken once that line is fed, as the shipper takes it).
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.records.envelope import memory_size
from provenance.sources import create_source
from provenance.sources.base import Entry, SourceContext
from provenance.sources.rails import MEMORY_BYTES as RAILS_MEMORY_BYTES
from provenance.sources.robots_memory import MEMORY_BYTES
from tests.samples import CHECKSUM_MISMATCH, CHECKSUM_OK, REPLICATED

LA = ZoneInfo("America/Los_Angeles")
CONTEXT = SourceContext(tz=LA, origin="memory-host")
CLF = '171.66.1.2 - - [01/Mar/2026:10:00:0{n} -0800] "GET /druid:bj102hs9687/a.pdf HTTP/1.1" 200 5'


def robot(message: str, *, tid: str = "a", severity: str = "INFO", ctx: str = "") -> str:
    context = f" {ctx}" if ctx else ""
    return f"2026-02-01T09:00:00.000Z pid=7 tid={tid}{context} {severity}: {message}"


DRUIDS = ("bj102hs9687", "bc123df4567")
ROBOT_LINES = [
    *(
        robot(f"druid:{druid} processing {step} (preservationIngestWF)", tid=tid)
        for druid in DRUIDS
        for step in ("transfer-object", "validate-moab", "update-moab")
        for tid in ("a", "b")
    ),
    *(robot(f"Finished druid:{druid} in 1.5000s", tid=tid) for druid in DRUIDS for tid in "abc"),
    *(robot("boom", severity="ERROR", tid=tid) for tid in "ab"),
    robot(f"Error transferring bag (via x) for druid:{DRUIDS[0]}: gone", severity="ERROR"),
    *(robot("Started by preservation_catalog on pc-02.", tid=tid) for tid in "ab"),
    robot("Completed by preservation_catalog on pc-02.", tid="b"),
    robot(f"Item druid:{DRUIDS[1]} is not queued", tid="b"),
    "  /opt/app/lib/robot.rb:76:in `perform'",
]
OTHER_LINES = ["", CLF.format(n=1), CLF.format(n=2), CHECKSUM_OK, CHECKSUM_MISMATCH, REPLICATED]


def read(source_name: str, lines: list[str], first: int = 1, memory: tuple[str, ...] = ()) -> Any:
    """The entries a fresh source (recalling `memory`) makes of `lines`, numbered from `first`."""
    source = create_source(source_name, CONTEXT)
    source.recall(memory)
    entries: list[Entry] = []
    for number, line in enumerate(lines, start=first):
        entries.extend(source.feed(number, line))
    entries.extend(source.finish())
    return [_described(entry) for entry in entries]


def _described(entry: Entry) -> Any:
    drafts = [
        (draft.model.__name__, sorted(draft.fields.items(), key=str)) for draft in entry.drafts
    ]
    return (entry.line_no, entry.lines, entry.source, drafts, entry.ignored, entry.quarantined)


def splits(source_name: str, lines: list[str]) -> list[tuple[int, tuple[str, ...]]]:
    """Where a record may begin (0-based line index) and the memory there, as `prov ship`
    finds them."""
    source = create_source(source_name, CONTEXT)
    found = []
    open_lines = 0
    for index, line in enumerate(lines):
        clear = open_lines == 0
        completed = source.feed(index + 1, line)
        open_lines += 1 - sum(len(entry.lines) for entry in completed)
        alone = open_lines == 1 and not any(line in entry.lines for entry in completed)
        if index and (clear or alone):
            found.append((index, source.memory()))
    return found


def assert_parts_read_as_whole(source_name: str, lines: list[str]) -> int:
    whole = read(source_name, lines)
    checked = 0
    for index, memory in splits(source_name, lines):
        first_part_lines = {number for number in range(1, index + 1)}
        expected = [entry for entry in whole if entry[0] not in first_part_lines]
        assert read(source_name, lines[index:], index + 1, memory) == expected, index
        checked += 1
    return checked


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(ROBOT_LINES), max_size=25))
def test_a_robots_log_read_in_two_parts_gives_what_it_gives_whole(lines: list[str]) -> None:
    assert_parts_read_as_whole("robots", lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(ROBOT_LINES + OTHER_LINES), max_size=25))
def test_a_log_of_many_formats_read_by_auto_in_two_parts_gives_what_it_gives_whole(
    lines: list[str],
) -> None:
    assert_parts_read_as_whole("auto", lines)


def test_a_finished_step_in_the_second_part_is_named_by_the_first() -> None:
    """The case the review found: `Finished` without its `processing` line."""
    lines = [
        robot(f"druid:{DRUIDS[0]} processing update-moab (preservationIngestWF)"),
        robot(f"druid:{DRUIDS[1]} processing shelve (accessionWF)", tid="b"),
        robot(f"Finished druid:{DRUIDS[0]} in 2.0000s"),
    ]
    assert assert_parts_read_as_whole("robots", lines) == 2
    memory = create_source("robots", CONTEXT)
    for number, line in enumerate(lines[:2], 1):
        memory.feed(number, line)
    memory.flush()
    [finished] = read("robots", lines[2:], 3, memory.memory())
    fields = dict(finished[3][0][1])
    assert (fields["workflow"], fields["step"], fields["premis_type"]) == (
        "preservationIngestWF",
        "update-moab",
        "ing",
    )


def test_a_job_let_go_leaves_no_trace_in_what_is_remembered() -> None:
    """Memory as the log lines of the jobs remembered, read again, made another state: here
    the `processing` line on thread a, read again without the one on thread b that took over
    its druid (let go since, by a `Finished` on thread c), made thread a's job its druid's
    again, so the next `Finished` on c got a step ingest never gives it. Described jobs are
    taken in as they were."""
    d, e = DRUIDS
    lines = [
        robot(f"druid:{d} processing transfer-object (preservationIngestWF)", tid="a"),
        robot(f"druid:{d} processing validate-moab (preservationIngestWF)", tid="b"),
        robot(f"druid:{e} processing update-moab (preservationIngestWF)", tid="b"),
        robot(f"Finished druid:{d} in 1.0000s", tid="c"),
        robot(f"Finished druid:{d} in 2.0000s", tid="c"),
    ]
    assert assert_parts_read_as_whole("robots", lines) == 4
    [(model, fields)] = read("robots", lines)[-1][3]
    assert (model, dict(fields)["step"]) == ("WorkflowStepRecorded", None)


def test_a_blank_line_goes_to_the_format_before_it() -> None:
    lines = [CLF.format(n=1), "", CLF.format(n=2)]
    assert assert_parts_read_as_whole("auto", lines) == 2
    [(_, memory)] = splits("auto", lines[:2])
    assert memory == ("marker\tclf",)  # the name of the format before, only
    [blank, _] = read("auto", lines[1:], 2, memory)
    assert (blank[2], blank[4]) == ("clf", "blank line")


def test_stateless_sources_remember_nothing() -> None:
    for name, line in (
        ("clf", CLF.format(n=1)),
        ("prescat", CHECKSUM_OK),
        ("sdr-events", REPLICATED),
    ):
        source = create_source(name, CONTEXT)
        source.feed(1, line)
        source.feed(2, line)
        assert source.memory() == ()


def test_what_robots_remember_is_bounded_newest_first() -> None:
    """Jobs that never finish, on threads of their own: the newest within MEMORY_BYTES."""
    source = create_source("robots", CONTEXT)
    for n in range(600):
        message = f"druid:bc{n:03d}df{n:04d} processing transfer-object (preservationIngestWF)"
        source.feed(n + 1, robot(message, tid=f"t{n}"))
    source.flush()
    memory = source.memory()
    assert memory_size(memory) <= MEMORY_BYTES
    assert len(memory) > 250
    jobs = [json.loads(line) for line in memory]
    assert [job["thread"] for job in jobs] == [["7", f"t{n}"] for n in range(600 - len(jobs), 600)]
    assert jobs[-1] == {
        "thread": ["7", "t599"],
        "druid": "druid:bc599df0599",
        "by_druid": True,
        "step": "transfer-object",
        "workflow": "preservationIngestWF",
        "done": False,
        "failed": False,
    }


def test_a_memory_that_is_not_one_is_passed_by() -> None:
    """Memory comes in records from the network: what is not a job description is ignored."""
    source = create_source("robots", CONTEXT)
    source.recall(
        ["", "{", "[]", "[" * 100_000, '{"druid": "x"}', '{"thread": 5, "druid": "bc123df4567"}']
    )
    assert source.memory() == ()
    job = {"druid": "druid:bc123df4567", "step": "shelve", "workflow": "accessionWF"}
    job |= {"done": False, "failed": False}
    source.recall(
        [
            json.dumps({**job, "thread": None, "by_druid": False}),  # held by nothing
            json.dumps({**job, "thread": ["1", "a"], "by_druid": True}),
            json.dumps({**job, "step": "publish", "thread": ["1", "a"], "by_druid": False}),
        ]
    )
    # The first is passed by; the third takes the second's thread, which keeps its druid.
    assert [json.loads(line) for line in source.memory()] == [
        {**job, "thread": None, "by_druid": True},
        {**job, "step": "publish", "thread": ["1", "a"], "by_druid": False},
    ]
    auto = create_source("auto", CONTEXT)
    auto.recall(
        [
            "nothing",
            "robots\t{}",
            "robots\t\u00b2",
            "nosuchsource\tline",
            "marker\tnot a known format",
        ]
    )
    assert auto.memory() == ()


def test_an_undecodable_byte_is_remembered_as_itself_not_as_an_escape() -> None:
    """The byte stays the lone surrogate it was read as (the line then goes as bytes, and the
    reader knows to spell it visibly); a surrogate a record spells as a JSON escape, which
    `memory()` never writes, is not taken (it would reach an event's field unannounced)."""
    source = create_source("robots", CONTEXT)
    source.feed(
        1, robot("druid:bj102hs9687 processing transfer-obj\udcffect (preservationIngestWF)")
    )
    source.flush()
    (line,) = source.memory()
    assert "\udcff" in line and "\\udcff" not in line
    fresh = create_source("robots", CONTEXT)
    fresh.recall([line])
    assert fresh.memory() == (line,)
    smuggled = create_source("robots", CONTEXT)
    smuggled.recall([line.replace("\udcff", "\\udcff")])
    assert smuggled.memory() == ()


def test_open_jobs_are_remembered_before_done_ones_in_the_order_remembered() -> None:
    """Within the bound, every job still open is kept before any done one (their `Finished`,
    failure or catalog note is still to come), and the lines keep the order the jobs were
    remembered in."""
    source = create_source("robots", CONTEXT)
    number = 0
    for n in range(400):
        number += 1
        source.feed(
            number, robot(f"druid:bc{n:03d}df{n:04d} processing shelve (accessionWF)", tid=f"t{n}")
        )
        if n % 2:  # every other one done at once
            number += 1
            source.feed(number, robot(f"Finished druid:bc{n:03d}df{n:04d} in 1.5000s", tid=f"t{n}"))
    source.flush()
    jobs = [json.loads(line) for line in source.memory()]
    open_jobs = [job["thread"][1] for job in jobs if not job["done"]]
    assert open_jobs == [f"t{n}" for n in range(0, 400, 2)]  # all 200 open ones
    assert 0 < sum(job["done"] for job in jobs) < 200  # the newest done ones, as room allows
    assert [int(job["thread"][1][1:]) for job in jobs] == sorted(
        int(job["thread"][1][1:]) for job in jobs
    )


def test_auto_remembers_the_format_before_by_its_name_and_knows_an_older_marker() -> None:
    """The marker was a whole log line (up to 512 KiB); now the format's name. A record of an
    earlier `prov ship` marks the format with a line of it: still recognised."""
    source = create_source("auto", CONTEXT)
    source.feed(1, CLF.format(n=1) + " " + "x" * 10_000)
    assert source.memory() == ("marker\tclf",)
    for marker in ("clf", CLF.format(n=2)):
        fresh = create_source("auto", CONTEXT)
        fresh.recall([f"marker\t{marker}"])
        assert fresh.memory() == ("marker\tclf",)


def _rails(key: str, message: str) -> str:
    return f"[2026-03-02T10:00:01.000-08:00] [INFO] [{key}] {message}"


RAILS_LINES = [
    line
    for key in ("req-1", "req-2", "req-3")
    for line in (
        _rails(key, f'Started GET "/bb123cd4567/iiif/{key}" for 171.64.1.2 at 2026-03-02 10:00:01'),
        _rails(key, "Processing by IiifController#manifest as JSON"),
        _rails(key, "Cache read: x"),
        _rails(key, "Completed 200 OK in 3ms (Views: 1.2ms)"),
    )
] + ["  a backtrace line", _rails("req-4", "Completed 500 Internal Server Error in 1ms")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(RAILS_LINES), max_size=25))
def test_a_rails_log_read_in_two_parts_gives_what_it_gives_whole(lines: list[str]) -> None:
    """Why a request's later lines are ignored (it completed, or was emitted incomplete) is
    remembered across the parts."""
    assert_parts_read_as_whole("rails", lines)


def test_rails_remembers_the_newest_request_ids_that_ended_within_its_bound() -> None:
    source = create_source("rails", CONTEXT)
    for n in range(200):
        source.feed(
            2 * n + 1, _rails(f"r{n}", 'Started GET "/a" for 1.2.3.4 at 2026-03-02 10:00:01')
        )
        source.feed(2 * n + 2, _rails(f"r{n}", "Completed 200 OK in 3ms"))
    source.feed(401, _rails("x" * 300, 'Started GET "/a" for 1.2.3.4 at 2026-03-02 10:00:01'))
    source.flush()  # the long id emitted incomplete: too long to carry
    memory = source.memory()
    assert memory_size(memory) <= RAILS_MEMORY_BYTES and len(memory) > 20
    assert memory[-1] == "completed\tr199" and all(len(line) < 100 for line in memory)
    fresh = create_source("rails", CONTEXT)
    fresh.recall([*memory, "nonsense", "completed\t", "incomplete\tr7"])
    assert fresh.memory()[-1] == "incomplete\tr7"
