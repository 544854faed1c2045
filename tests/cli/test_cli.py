"""The `prov` contract: outputs, exit codes and one-line errors (DESIGN.md, "Command line")."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.cli.main import main
from tests.samples import OBJECT_LOG


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`prov ARGS` in this process: exit code, stdout, stderr."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "object.log"
    path.write_text("not a log line\n" + OBJECT_LOG)
    return path


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_ingest_json_is_one_document_with_the_counts(capsys, log_file, url) -> None:
    code, out, err = run(
        capsys, "ingest", "--store", url, "--tz", "UTC", "--format", "json", str(log_file)
    )
    assert code == 0, err
    report = json.loads(out)
    assert {"lines", "events", "duplicates", "ignored", "quarantined"} <= report.keys()
    assert report["lines"] == 9
    assert report["quarantined"] == 1
    assert report["lines"] == report["consumed"] + report["ignored"] + report["quarantined"]


def test_history_and_state_json(capsys, log_file, url) -> None:
    run(capsys, "ingest", "--store", url, str(log_file))
    code, out, _ = run(capsys, "history", "druid:bj102hs9687", "--store", url, "--format", "json")
    assert code == 0
    events = json.loads(out)
    assert len(events) == 8
    for event in events:
        for key in (
            "event_id",
            "type",
            "object",
            "version",
            "occurred_at",
            "premis_event_type",
            "outcome",
            "agent",
            "detail",
            "source",
        ):
            assert key in event
    times = [event["cursor"] for event in events]
    assert times == sorted(times)
    fixity = [e for e in events if e["type"] == "FixityChecked"]
    assert (
        fixity[0]["premis_event_type"] == "http://id.loc.gov/vocabulary/preservation/eventType/fix"
    )
    code, out, _ = run(capsys, "state", "bj102hs9687", "--store", url, "--format", "json")
    assert code == 0
    view = json.loads(out)
    assert view["object"] == "druid:bj102hs9687"
    assert view["preservation_status"]["fixture_sr3"]["status"] == "ok"
    assert view["open_failures"] == []


def test_history_paging_with_limit_and_cursor(capsys, log_file, url) -> None:
    run(capsys, "ingest", "--store", url, str(log_file))
    _, out, _ = run(capsys, "history", "bj102hs9687", "--store", url, "--format", "json")
    everything = json.loads(out)
    _, out, _ = run(
        capsys, "history", "bj102hs9687", "--store", url, "--format", "json", "--limit", "3"
    )
    first = json.loads(out)
    _, out, _ = run(
        capsys,
        "history",
        "bj102hs9687",
        "--store",
        url,
        "--format",
        "json",
        "--after",
        first[-1]["cursor"],
    )
    rest = json.loads(out)
    assert first + rest == everything and len(first) == 3


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["history", "druid:bc123df4567"], 2, "no events for druid:bc123df4567"),
        (["state", "bc123df4567"], 2, "no events"),
        (["premis", "bc123df4567"], 2, "no events"),
        (["premis", "bj102hs9687", "--mets", "--format", "turtle"], 1, "--mets wraps the PREMIS"),
        (["premis", "bj102hs9687", "--mets", "--validate"], 1, "not METS: leave out --mets"),
        (["premis", "bj102hs9687", "--base-uri", "sdr/"], 1, "'sdr/' is not an"),
        (["premis", "bj102hs9687", "--base-uri", "urn:sdr"], 1, "end with '/'"),
        (["premis", "bj102hs9687", "--base-uri", "urn:sdr:"], 1, "--base-uri names RDF"),
        (["history", "not-a-druid"], 1, "not a druid"),
        (["ingest", "/nonexistent/file.log"], 1, "cannot read /nonexistent/file.log"),
        (["ingest", "--source", "nope", "x.log"], 1, "unknown source 'nope'"),
        (["history", "druid:bc123df4567", "--after", "garbage"], 1, "cursor"),
        (["history"], 1, "Missing argument"),
    ],
)
def test_errors_are_one_line_with_the_right_exit_code(capsys, url, log_file, args, code, fragment):
    run(capsys, "ingest", "--store", url, str(log_file))
    got, out, err = run(capsys, *args, "--store", url)
    assert got == code
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""


def test_an_unreadable_store_is_a_clear_error(capsys, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    code, _, err = run(capsys, "history", "bc123df4567", "--store", f"sqlite:///{junk}")
    assert code == 1 and err.startswith("prov: error:") and err.count("\n") == 1


def test_missing_store_is_not_created_by_a_read(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    code, _, err = run(capsys, "state", "bc123df4567", "--store", f"sqlite:///{missing}")
    assert code == 1 and "nowhere.db" in err
    assert not missing.exists()


@pytest.mark.parametrize("command", [["history", "bc123df4567"], ["ingest", "{log}"], ["init"]])
def test_a_store_url_naming_a_directory_says_so(
    capsys, tmp_path: Path, log_file: Path, command: list[str]
) -> None:
    folder = tmp_path / "stores"
    folder.mkdir()
    args = [part.format(log=log_file) for part in command]
    code, out, err = run(capsys, *args, "--store", f"sqlite:///{folder}")
    assert (code, out) == (1, "")
    assert err == (
        f"prov: error: no event store at {folder}: it is a directory (name the store's file, "
        f"such as sqlite:///{folder}/provenance.db)\n"
    )
    assert list(folder.iterdir()) == []


def _char_device(path: Path) -> None:
    """A character device at `path` (the one /dev/null is), or skip where making one is not
    permitted (not root, a container without CAP_MKNOD)."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.stat("/dev/null").st_rdev)
    except OSError as exc:
        pytest.skip(f"cannot make a character device here: {exc.strerror}")


@pytest.mark.parametrize("command", [["history", "bc123df4567"], ["ingest", "{log}"], ["init"]])
@pytest.mark.parametrize("kind", ["fifo", "character device"])
def test_a_store_url_naming_a_device_or_fifo_is_refused_before_sqlite_opens_it(
    capsys, tmp_path: Path, log_file: Path, command: list[str], kind: str
) -> None:
    # SQLite said "disk I/O error" (or, for history, "the file does not exist") and left
    # STORE-journal beside it: /dev/null-journal for sqlite:////dev/null.
    folder = tmp_path / "stores"
    folder.mkdir()
    store = folder / "store.db"
    if kind == "fifo":
        os.mkfifo(store)
        shown = "a FIFO"
    else:
        _char_device(store)
        shown = "a character device"
    args = [part.format(log=log_file) for part in command]

    code, out, err = run(capsys, *args, "--store", f"sqlite:///{store}")

    assert (code, out) == (1, "")
    assert err == f"prov: error: no event store at {store}: it is not a regular file ({shown})\n"
    assert [path.name for path in folder.iterdir()] == ["store.db"]


def test_a_bare_store_name_of_a_folder_suggests_the_store_file_in_it(
    capsys, tmp_path: Path, monkeypatch
) -> None:
    # The suggestion was sqlite:///prov-demo, itself refused next as a directory.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prov-demo").mkdir()

    code, out, err = run(capsys, "history", "bc123df4567", "--store", "prov-demo")

    assert (code, out) == (1, "")
    assert "give sqlite:///prov-demo/provenance.db;" in err and err.count("\n") == 1
    assert list((tmp_path / "prov-demo").iterdir()) == []
    code, out, err = run(capsys, "init", "--store", "sqlite:///prov-demo/provenance.db")
    assert code == 0, err


def test_help_does_not_import_heavy_modules() -> None:
    probe = (
        "import sys; from provenance.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pydantic', 'lxml', 'rdflib') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]"), out.stdout


def test_console_script_has_no_traceback_on_error(tmp_path: Path) -> None:
    prov = Path(sys.executable).with_name("prov")
    done = subprocess.run(
        [str(prov), "history", "xx", "--store", f"sqlite:///{tmp_path}/a.db"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("prov: error:") and "Traceback" not in done.stderr


STORE_COMMANDS = [
    ["init"],
    ["ingest", "{log}"],
    ["history", "bj102hs9687"],
    ["state", "bj102hs9687"],
    ["premis", "bj102hs9687"],
    ["quarantine"],
    ["rebuild"],
    ["expire"],
    ["report", "access"],
    ["serve", "--port", "0"],
    ["redrive", "--queue", "https://sqs.us-east-1.amazonaws.com/123456789012/q"],
]


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=lambda command: command[0])
@pytest.mark.parametrize("from_env", [False, True], ids=["--store", "PROV_STORE"])
def test_a_store_without_scheme_is_refused_and_nothing_is_created(
    capsys, tmp_path: Path, log_file: Path, monkeypatch, command: list[str], from_env: bool
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    args = [part.format(log=log_file) for part in command]
    if from_env:
        monkeypatch.setenv("PROV_STORE", "garbage")
    else:
        args += ["--store", "garbage"]

    code, out, err = run(capsys, *args)

    where = "PROV_STORE" if from_env else "--store"
    assert (code, out) == (1, "")
    assert err.startswith(f"prov: error: {where}: 'garbage' is not a store URL")
    assert "give sqlite:///garbage;" in err and "dynamodb://TABLE" in err
    assert err.count("\n") == 1
    assert list(work.iterdir()) == []


def test_an_untrustworthy_version_is_quarantined_not_stored_as_unknown(
    capsys, tmp_path: Path, url: str
) -> None:
    events = tmp_path / "events.jsonl"
    line = (
        '{"druid": "druid:bj102hs9687", "event_type": "druid_version_replicated", '
        '"created_at": "2026-02-01T10:00:00Z", "data": {"host": "h", "invoked_by": "pc", '
        '"version": VERSION, "endpoint_name": "aws_s3_west_2"}}'
    )
    events.write_text(
        "\n".join(line.replace("VERSION", raw) for raw in ("1e23", "-1", "2", '"3"')) + "\n"
    )

    code, out, err = run(capsys, "ingest", "--store", url, str(events))

    assert (code, err) == (0, "")
    assert "2 new events" in out
    assert "quarantined: malformed version (1 lines)" in out
    assert "quarantined: version out of range (1 lines)" in out
    code, out, _ = run(capsys, "quarantine", "--store", url, "--format", "json")
    assert sorted(item["reason"] for item in json.loads(out)) == [
        "malformed version",
        "version out of range",
    ]
    code, out, _ = run(capsys, "history", "bj102hs9687", "--store", url, "--format", "json")
    assert sorted(event["version"] for event in json.loads(out)) == [2, 3]


def test_premis_mets_writes_a_mets_document_metsrw_reads(capsys, url, log_file, tmp_path):
    from tests.mets_helpers import assert_valid_mets, events_in_premis, events_read_by_metsrw

    run(capsys, "ingest", "--store", url, str(log_file))
    target = tmp_path / "bj102hs9687.mets.xml"
    code, _, err = run(capsys, "premis", "bj102hs9687", "--store", url, "--mets", "-o", str(target))
    assert (code, err) == (0, f"wrote {target}\n")
    mets = target.read_bytes()
    assert_valid_mets(mets)
    assert events_read_by_metsrw(mets, "druid:bj102hs9687") == events_in_premis(mets) != []


def test_premis_base_uri_names_the_rdf_resources(capsys, url, log_file, monkeypatch):
    run(capsys, "ingest", "--store", url, str(log_file))
    args = ("premis", "bj102hs9687", "--store", url, "--format", "turtle")
    code, default, _ = run(capsys, *args)
    assert code == 0 and "<urn:x-local:premis:druid/druid%3Abj102hs9687>" in default
    code, given, _ = run(capsys, *args, "--base-uri", "https://sdr.example.edu/premis/")
    assert code == 0 and "urn:x-local:" not in given
    assert "<https://sdr.example.edu/premis/druid/druid%3Abj102hs9687>" in given
    monkeypatch.setenv("PROV_PREMIS_BASE_URI", "https://sdr.example.edu/premis/")
    assert run(capsys, *args) == (0, given, "")
    # Set for every export, the variable does not stop an XML one (which mints no URIs).
    code, xml, _ = run(capsys, "premis", "bj102hs9687", "--store", url)
    assert code == 0 and xml.startswith("<?xml")
    monkeypatch.setenv("PROV_PREMIS_BASE_URI", "not an iri")
    code, out, err = run(capsys, *args)
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert "PROV_PREMIS_BASE_URI" in err and "is not an absolute IRI" in err


def test_premis_mets_is_refused_with_the_api(capsys):
    code, out, err = run(capsys, "premis", "bj102hs9687", "--api", "http://127.0.0.1:9", "--mets")
    assert (code, out) == (1, "")
    assert "--mets reads a store: the API serves PREMIS XML only" in err


def test_premis_agents_file_names_the_agents(capsys, url, log_file, tmp_path, monkeypatch):
    run(capsys, "ingest", "--store", url, str(log_file))
    agents = tmp_path / "agents.toml"
    agents.write_text('[agents.preservation_catalog]\nname = "SDR Preservation Catalog"\n')
    code, out, err = run(capsys, "premis", "bj102hs9687", "--store", url, "--agents", str(agents))
    assert (code, err) == (0, "")
    assert out.count("<premis:agentName>SDR Preservation Catalog</premis:agentName>") == 1
    assert 'program="SDR Preservation Catalog"' in out
    monkeypatch.setenv("PROV_AGENTS", str(agents))
    assert run(capsys, "premis", "bj102hs9687", "--store", url)[1] == out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[agents.a]\nname = 1\n", "agents.a.name must be a non-empty string"),
        ("[agents.a\n", "not TOML: "),
        (None, "cannot read it: No such file or directory"),
    ],
)
def test_premis_bad_agents_file_is_a_one_line_error(capsys, url, log_file, tmp_path, text, message):
    run(capsys, "ingest", "--store", url, str(log_file))
    agents = tmp_path / "agents.toml"
    if text is not None:
        agents.write_text(text)
    code, out, err = run(capsys, "premis", "bj102hs9687", "--store", url, "--agents", str(agents))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and f"agents file {agents}: {message}" in err


def test_premis_agents_is_refused_with_the_api(capsys, tmp_path):
    code, out, err = run(
        capsys, "premis", "bj102hs9687", "--api", "http://127.0.0.1:9", "--agents", "a.toml"
    )
    assert (code, out) == (1, "")
    assert err.endswith(
        "--agents names agents when PREMIS is made from a store; the API uses the agents it "
        "was deployed with (stage setting agents_file)\n"
    )


def test_premis_output_file_mode_follows_the_umask(capsys, url, log_file, tmp_path):
    """Issue 11: new files follow the umask (PREMIS is not a secret: no 0600 here)."""
    import os

    run(capsys, "ingest", "--store", url, str(log_file))
    target = tmp_path / "out.xml"
    old = os.umask(0o027)
    try:
        assert run(capsys, "premis", "bj102hs9687", "--store", url, "-o", str(target))[0] == 0
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o640
