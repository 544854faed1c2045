"""Nothing a log contains reaches the terminal raw (issue 11, item 4).

Hostile strings (clear screen, window title, colours, overprinting, U+009B, U+202E) are stored
through real ingest of crafted log lines, then shown by every command that prints stored or
log-derived text: in table form no raw control character reaches stdout or stderr, and a
newline inside a value starts no row; `--format json` and `--format csv` give the exact values.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from premis.escaping import visible_surrogates, xml_safe
from provenance.domain.terminal import json_text, terminal_lines, visible
from tests.cli.test_cli import run
from tests.samples import CHECKSUM_MISMATCH
from tests.terminal_helpers import (
    FORBIDDEN,
    HOSTILE,
    HOSTILE_SHOWN,
    HOSTILE_TOKEN,
    HOSTILE_TOKEN_SHOWN,
    raw_controls,
)

DRUID = "druid:bj102hs9687"
# A value with a newline followed by what would pass for a row of the state table.
FAKE_ROW = "  disk  fake-root              status ok"
ENDPOINT = f"aws{HOSTILE}{FAKE_ROW}"
USER = f"alice{HOSTILE_TOKEN}"
SERVICE = f"stacks{HOSTILE_TOKEN}"


# --- the rule ----------------------------------------------------------------------------------

# Any text, weighted towards the characters the rule is about.
texts = st.text(
    st.one_of(
        st.characters(exclude_categories=()),  # surrogates included
        st.sampled_from(sorted(FORBIDDEN)),
        st.sampled_from("\\x1bu202e[]"),
    )
)
_ESCAPE = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt])")
# surrogateescape's U+DC80..U+DCFF for the bytes 0x80..0xFF.
_AS_BYTES = {0xDC00 + byte: byte for byte in range(0x80, 0x100)}


def _unescape(text: str) -> str:
    named = {"n": "\n", "r": "\r", "t": "\t"}
    return _ESCAPE.sub(
        lambda match: named.get(match.group(1)) or chr(int(match.group(1)[1:], 16)), text
    )


@settings(max_examples=500, deadline=None)
@given(texts)
def test_visible_leaves_no_control_character_and_changes_nothing_else(text: str) -> None:
    shown = visible(text)

    assert not [char for char in shown if char in FORBIDDEN or "\ud800" <= char <= "\udfff"]
    assert visible(shown) == shown  # idempotent: cells and whole lines may both be escaped
    if "\\" not in text:
        # Nothing lost, nothing else changed; an undecodable byte is spelled as the byte.
        assert _unescape(shown) == text.translate(_AS_BYTES)
    plain = "".join(char for char in text if char not in FORBIDDEN and char != "\\")
    if all(not "\ud800" <= char <= "\udfff" for char in plain):
        assert visible(plain) == plain


def test_each_control_is_written_as_python_writes_it() -> None:
    for char in sorted(FORBIDDEN):
        assert visible(char) == repr(char)[1:-1], hex(ord(char))
    assert visible(HOSTILE) == HOSTILE_SHOWN
    assert visible("\ud800") == "\\ud800"
    assert visible("\udce9\udcff") == "\\xe9\\xff"


def test_an_undecodable_byte_is_spelled_as_events_and_premis_spell_it() -> None:
    # Issue 11, item 14: one spelling, `\xff`, wherever the byte 0xFF is shown.
    for code in range(0xD800, 0xE000):
        assert visible(chr(code)) == visible_surrogates(chr(code)) == xml_safe(chr(code))
    assert visible("\udcff") == "\\xff"


def test_an_undecodable_file_name_in_an_error_message(capsys, tmp_path: Path) -> None:
    # What Python makes of the bytes 0xFF 0x1B in a file name given on the command line.
    missing = tmp_path / "\udcff\x1b.log"
    code, out, err = run(
        capsys, "ingest", "--store", f"sqlite:///{tmp_path / 's.db'}", str(missing)
    )

    assert (code, out) == (1, "")
    assert "\\xff\\x1b.log" in err and "\\udcff" not in err
    assert_shown_safely(out, err)
    assert visible("café ✓ 東京 \\x1b") == "café ✓ 東京 \\x1b"


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=5))
@example(["\udc80"])  # found by hypothesis: an undecodable byte reads back as the byte
def test_only_the_tables_own_line_breaks_are_real(lines: list[str]) -> None:
    """Whatever a line holds (newlines, carriage returns, escape sequences), the terminal gets
    one row per line, each reading back as that line, with no other control character raw."""
    rows = terminal_lines(lines).split("\n")

    assert len(rows) == len(lines)
    for row, line in zip(rows, lines, strict=True):
        assert raw_controls(row) == []
        if "\\" not in line:
            # Nothing lost, nothing else changed; an undecodable byte is spelled as the byte.
            assert _unescape(row) == line.translate(_AS_BYTES)


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_documents)
def test_json_for_the_terminal_is_the_same_value_with_no_raw_control(document: Any) -> None:
    text = json_text(document)
    assert json.loads(text) == document
    assert raw_controls(text) == []


# --- through the commands ----------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    url: str
    evil_file: Path
    ingest_out: str
    ingest_err: str


@pytest.fixture
def hostile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Hostile:
    """A store filled by `prov ingest` of crafted lines from every kind of log."""
    prescat = tmp_path / "audit.log"
    prescat.write_text(
        CHECKSUM_MISMATCH.replace("eric-smith-dissertation.pdf", f"evil{HOSTILE_TOKEN}.pdf") + "\n"
    )
    replicated = {
        "druid": DRUID,
        "event_type": "druid_version_replicated",
        "data": {
            "host": f"pres{HOSTILE}",
            "invoked_by": "preservation-catalog",
            "version": 1,
            "endpoint_name": ENDPOINT,
            "parts_info": [{"s3_key": f"bj/102/hs/9687/bj102hs9687.v0001.zip{HOSTILE}"}],
        },
        "created_at": "2026-02-01T10:00:00Z",
    }
    events = tmp_path / "events.log"
    events.write_text(json.dumps(replicated) + "\n")
    access = tmp_path / "access.log"
    access.write_text(
        f'171.64.1.2 - {USER} [02/Mar/2026:10:01:02 -0800] "GET /file/druid:bb123cd4567/'
        f'a{HOSTILE_TOKEN}.pdf HTTP/1.1" 200 12345 "http://x/{HOSTILE_TOKEN}" '
        f'"Mozilla/5.0 {HOSTILE_TOKEN}\r" 0.0123\n'
    )
    # A line no parser understands, in a file whose very name is hostile.
    evil_file = tmp_path / f"evil{HOSTILE_TOKEN}.log"
    evil_file.write_text(f"garbage {HOSTILE_TOKEN}\n")

    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    code, out, err = run(
        capsys, "ingest", "--store", url, "--tz", "UTC", str(prescat), str(events), str(evil_file)
    )
    assert code == 0, err
    code, access_out, access_err = run(
        capsys, "ingest", "--store", url, "--source", "clf", "--service", SERVICE, str(access)
    )
    assert code == 0, access_err
    return Hostile(url, evil_file, out + access_out, err + access_err)


def assert_shown_safely(out: str, err: str) -> None:
    assert raw_controls(out) == [], out
    assert raw_controls(err) == [], err


def test_the_ingest_summary(hostile: Hostile) -> None:
    assert_shown_safely(hostile.ingest_out, hostile.ingest_err)
    assert hostile.ingest_out.startswith("3 lines: 2 consumed, 0 ignored, 1 quarantined\n")


def test_history_table(capsys, hostile: Hostile) -> None:
    code, out, err = run(capsys, "history", DRUID, "--store", hostile.url)

    assert code == 0, err
    assert_shown_safely(out, err)
    assert f"replicated to aws{HOSTILE_SHOWN}  disk" in out
    assert len(out.splitlines()) == 1 + 2  # the header and one row per event


def test_state_table(capsys, hostile: Hostile) -> None:
    code, out, err = run(capsys, "state", DRUID, "--store", hostile.url)

    assert code == 0, err
    assert_shown_safely(out, err)
    assert f"  cloud aws{HOSTILE_SHOWN}{FAKE_ROW}" in out
    assert not any(line.startswith("  disk  fake-root") for line in out.splitlines())
    assert f"evil{HOSTILE_TOKEN_SHOWN}.pdf" in out or "open failures: 1" in out


def test_quarantine_listing(capsys, hostile: Hostile) -> None:
    code, out, err = run(capsys, "quarantine", "--store", hostile.url)

    assert code == 0, err
    assert_shown_safely(out, err)
    assert out.startswith(visible(f"{hostile.evil_file}:1"))
    assert f"garbage {HOSTILE_TOKEN_SHOWN}" in out
    assert err == "1 quarantined entries\n"


@pytest.mark.parametrize(
    ("by", "shown"),
    [("agent", f"user:alice{HOSTILE_TOKEN_SHOWN}"), ("service", f"stacks{HOSTILE_TOKEN_SHOWN}")],
)
def test_access_report_table(capsys, hostile: Hostile, by: str, shown: str) -> None:
    code, out, err = run(capsys, "report", "access", "--store", hostile.url, "--by", by)

    assert code == 0, err
    assert_shown_safely(out, err)
    header, row, _total = out.splitlines()
    assert row.startswith(shown + "  ")
    # Cells are escaped before they are padded: the requests column ends where its header does.
    assert header.index("requests") + len("requests") == row.index(" 1 ") + len(" 1")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["history", f"druid:{HOSTILE_TOKEN}"], 1),
        (["state", f"bb123cd4567{HOSTILE}"], 1),
        (["ingest", f"missing{HOSTILE}.log"], 1),
        (["report", "access", "--by", f"agent{HOSTILE}"], 1),
        (["report", "access", "--from", f"2026{HOSTILE}"], 1),
        (["history", DRUID, f"--{HOSTILE_TOKEN}"], 1),
    ],
    ids=["druid", "druid-newline", "file", "dimension", "time", "option"],
)
def test_error_messages_quote_input_visibly(capsys, hostile: Hostile, args, code) -> None:
    got, out, err = run(capsys, *args, "--store", hostile.url)

    assert (got, out) == (code, "")
    assert err.startswith("prov: error: ") and err.count("\n") == 1
    assert_shown_safely(out, err)
    assert "\\x1b[2J" in err


def test_json_keeps_the_exact_values(capsys, hostile: Hostile) -> None:
    code, out, _ = run(capsys, "history", DRUID, "--store", hostile.url, "--format", "json")
    assert code == 0
    assert raw_controls(out) == []  # escaped as \uXXXX, the same JSON value
    replicated = next(e for e in json.loads(out) if e["type"] == "ReplicationCompleted")
    assert replicated["endpoint"] == ENDPOINT
    assert replicated["agent"]["host"] == f"pres{HOSTILE}"

    code, out, _ = run(capsys, "state", DRUID, "--store", hostile.url, "--format", "json")
    assert code == 0 and raw_controls(out) == []
    assert ENDPOINT in {place["name"] for place in json.loads(out)["locations"]}

    code, out, _ = run(capsys, "quarantine", "--store", hostile.url, "--format", "json")
    assert code == 0 and raw_controls(out) == []
    (item,) = json.loads(out)
    assert (item["file"], item["text"]) == (str(hostile.evil_file), f"garbage {HOSTILE_TOKEN}")

    code, out, _ = run(
        capsys, "report", "access", "--store", hostile.url, "--by", "agent,service",
        "--format", "json",
    )  # fmt: skip
    assert code == 0 and raw_controls(out) == []
    assert json.loads(out) == [
        {"agent": f"user:{USER}", "service": SERVICE, "requests": 1, "bytes": 12345}
    ]


def test_csv_keeps_the_exact_values(capsys, hostile: Hostile) -> None:
    code, out, _ = run(
        capsys, "report", "access", "--store", hostile.url, "--by", "agent,service",
        "--format", "csv",
    )  # fmt: skip
    assert code == 0
    assert list(csv.reader(io.StringIO(out))) == [
        ["agent", "service", "requests", "bytes"],
        [f"user:{USER}", SERVICE, "1", "12345"],
    ]


def test_the_console_script_writes_no_control_byte(hostile: Hostile) -> None:
    prov = Path(sys.executable).with_name("prov")
    for args in (["history", DRUID], ["state", DRUID], ["quarantine"]):
        done = subprocess.run(
            [str(prov), *args, "--store", hostile.url], capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr
        for stream in (done.stdout, done.stderr):
            assert raw_controls(stream.decode()) == []
            assert b"\x1b" not in stream and b"\xc2\x9b" not in stream  # ESC, CSI (U+009B)


def test_the_demo_tour(capsys, tmp_path: Path) -> None:
    directory = tmp_path / f"demo{HOSTILE_TOKEN}"
    code, out, err = run(capsys, "demo", "--dir", str(directory), "--objects", "3", "--days", "5")

    assert code == 0, err
    assert_shown_safely(out, err)
    assert f"in {tmp_path}/demo{HOSTILE_TOKEN_SHOWN}/logs/" in out
    lines = out.splitlines()
    for step in ("3. the history", "4. its state now", "5. its PREMIS", "6. who queries"):
        (at,) = [index for index, line in enumerate(lines) if line.startswith(step)]
        assert lines[at - 1] == ""  # each step after a blank line, as before
    assert "\n   object          druid:" in out  # the state table, indented


# rdflib's own JSON-LD parser uses its deprecated ConjunctiveGraph internally.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("fmt", ["xml", "turtle", "json-ld"])
def test_premis_on_a_terminal_writes_c1_and_bidi_controls_as_escapes(
    hostile: Hostile, fmt: str
) -> None:
    prov = Path(sys.executable).with_name("prov")
    done = subprocess.run(
        [str(prov), "premis", DRUID, "--store", hostile.url, "--format", fmt],
        capture_output=True,
        check=True,
    )
    text = done.stdout.decode()
    # Tab, line feed and carriage return are legal in each format and not this rule's.
    assert [char for char in text if char in FORBIDDEN and char not in "\t\n\r"] == []
    escapes = {"xml": ("&#x9B;", "&#x202E;"), "turtle": ("\\u009B", "\\u202E")}
    for escape in escapes.get(fmt, ("\\u009b", "\\u202e")):
        assert escape in text
    # The same value as before: the file name reads back as the XML rule alone makes it.
    name = xml_safe(f"evil{HOSTILE_TOKEN}.pdf")
    if fmt == "xml":
        from lxml import etree

        values = list(etree.fromstring(done.stdout).itertext())
    else:
        from rdflib import Graph

        graph = Graph().parse(data=done.stdout, format=fmt)
        values = [str(term) for triple in graph for term in triple]
    assert any(name in value for value in values)


# --- charts ------------------------------------------------------------------------------------

# A user name that is a malformed mathtext formula to matplotlib, and one with the hostile token.
MATH_USER = "bob$\\foo{$"


@pytest.fixture
def chart_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    access = tmp_path / "access.log"
    access.write_text(
        "".join(
            f'171.64.1.{n} - {user} [02/Mar/2026:10:01:02 -0800] "GET /a HTTP/1.1" 200 5 "-" "-"\n'
            for n, user in enumerate((MATH_USER, f"eve{HOSTILE_TOKEN}"))
        )
    )
    url = f"sqlite:///{tmp_path / 'chart.db'}"
    code, _, err = run(capsys, "ingest", "--store", url, "--source", "clf", str(access))
    assert code == 0, err
    return url


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_a_chart_draws_hostile_labels_as_text(
    capsys, chart_store: str, tmp_path: Path, suffix: str
) -> None:
    chart = tmp_path / f"agents{suffix}"
    code, out, err = run(
        capsys, "report", "access", "--store", chart_store, "--by", "agent", "--chart", str(chart)
    )

    assert code == 0, err
    assert out.endswith(f"chart: {chart}\n")
    if suffix == ".svg":
        # matplotlib's SVG names each text it draws in a comment: the labels as drawn.
        drawn = chart.read_text()
        assert f"<!-- user:{MATH_USER} -->" in drawn
        assert f"<!-- user:eve{HOSTILE_TOKEN_SHOWN} -->" in drawn
        assert raw_controls(drawn) == []


def test_a_chart_s_warnings_reach_the_terminal_as_prov_lines(
    chart_store: str, tmp_path: Path
) -> None:
    prov = Path(sys.executable).with_name("prov")
    chart = tmp_path / "agents.svg"
    done = subprocess.run(
        [
            *(str(prov), "report", "access", "--store", chart_store, "--by", "agent,path"),
            *("--chart", str(chart), "--format", "json"),
        ],
        capture_output=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    err = done.stderr.decode()
    assert raw_controls(err) == [] and b"\x1b" not in done.stderr
    assert all(line.startswith("prov: warning: chart: ") for line in err.splitlines()), err
