"""`prov ingest` of access logs, `prov report access` and `prov expire`, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from provenance.access.pseudonym_key import MAX_KEY_BYTES
from provenance.access.rules import MAX_POLICY_BYTES
from tests.cli.test_cli import run

# Two identical requests in the same second (two events), a crawler, a campus address, and a
# broken request line.
ACCESS_LOG = "\n".join(
    [
        '171.64.1.2 - - [02/Mar/2026:10:01:02 -0800] "GET /file/druid:bb123cd4567/a.pdf HTTP/1.1"'
        ' 200 1000 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"',
        '171.64.1.2 - - [02/Mar/2026:10:01:02 -0800] "GET /file/druid:bb123cd4567/a.pdf HTTP/1.1"'
        ' 200 1000 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"',
        '66.249.66.1 - - [02/Mar/2026:23:59:59 -0800] "GET /file/druid:cc234dd5678/b.tif HTTP/1.1"'
        ' 200 500 "-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"',
        '192.0.2.9 - - [02/Mar/2026:10:05:00 -0800] "-" 400 0 "-" "-"',
    ]
)
POLICY = """\
[[networks]]
name = "stanford"
cidrs = ["171.64.0.0/14"]
"""


@pytest.fixture
def url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    log = tmp_path / "stacks.log"
    log.write_text(ACCESS_LOG + "\n")
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out, err = run(
        capsys,
        "ingest", "--store", store, "--source", "clf", "--service", "stacks",
        "--access-policy", str(policy), "--format", "json", str(log),
    )  # fmt: skip
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert (report["lines"], report["events"], report["quarantined"]) == (4, 3, 1)
    assert len(report["access_policy"]) == 16
    return store


def test_report_json_is_one_list_of_named_rows(capsys, url) -> None:
    code, out, _ = run(
        capsys, "report", "access", "--store", url, "--by", "agent", "--format", "json"
    )

    assert code == 0
    assert json.loads(out) == [
        {"agent": "stanford", "requests": 2, "bytes": 2000},
        {"agent": "crawler:Googlebot", "requests": 1, "bytes": 500},
    ]


def test_report_buckets_in_the_given_zone(capsys, url) -> None:
    code, out, _ = run(
        capsys, "report", "access", "--store", url, "--by", "service", "--bucket", "day",
        "--tz", "America/Los_Angeles", "--format", "json",
    )  # fmt: skip

    assert code == 0
    assert json.loads(out) == [
        {"service": "stacks", "bucket": "2026-03-02T00:00:00-08:00", "requests": 3, "bytes": 2500}
    ]


def test_report_csv_has_a_header_and_the_rows(capsys, url) -> None:
    code, out, _ = run(
        capsys, "report", "access", "--store", url, "--by", "path,status", "--format", "csv"
    )

    assert code == 0
    assert list(csv.reader(io.StringIO(out))) == [
        ["path", "status", "requests", "bytes"],
        ["/file/druid:{druid}/{file}", "200", "3", "2500"],
    ]


def test_report_table_and_chart(capsys, url, tmp_path: Path) -> None:
    chart = tmp_path / "requests.svg"

    code, out, _ = run(
        capsys, "report", "access", "--store", url, "--by", "agent", "--chart", str(chart)
    )

    assert code == 0
    assert "total: 3 requests" in out
    assert chart.read_bytes().startswith(b"<?xml")


@pytest.mark.parametrize(
    ("args", "side"),
    [
        (["--from", "9999-12-31T23:59:59.999999-23:59"], "after the last"),
        (["--to", "0001-01-01T00:00+23:59"], "before the first"),
    ],
)
def test_a_time_beyond_the_calendar_names_the_window_events_are_stored_in(
    capsys, url, args: list[str], side: str
) -> None:
    """The window is event_time's (a day inside the calendar), not a datetime's."""
    code, out, err = run(capsys, "report", "access", "--store", url, *args)

    assert (code, out) == (1, "")
    assert f"is {side} time that can be stored (0001-01-02 to 9999-12-30, in UTC)" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "browser"], "unknown dimension 'browser'"),
        (["--from", "2026-03-02T10:30"], "--from 2026-03-02T10:30:00"),
        (["--from", "2026-03-05", "--to", "2026-03-01"], "--from must be before --to"),
        (["--to", "0001-01-01T00:00+01:00"], "--to '0001-01-01T00:00+01:00' is before the first"),
        (["--from", "yesterday"], "not an ISO date"),
        (["--chart", "out.gif"], ".png or .svg"),
        (["--bucket", "year"], "'year' is not one of"),
    ],
)
def test_report_errors_are_one_line(capsys, url, args: list[str], message: str) -> None:
    code, out, err = run(capsys, "report", "access", "--store", url, *args)

    assert code == 1
    assert out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_bad_access_policy_stops_ingest_with_one_line(capsys, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[[networks]]\nname = "x"\ncidrs = ["171.64.1.1/14"]\n')
    log = tmp_path / "a.log"
    log.write_text(ACCESS_LOG)

    code, _, err = run(
        capsys, "ingest", "--store", f"sqlite:///{tmp_path / 's.db'}", "--source", "clf",
        "--access-policy", str(policy), str(log),
    )  # fmt: skip

    assert code == 1
    assert "policy.toml" in err and "cidrs" in err and err.count("\n") == 1


def test_expire_deletes_old_access_events_and_reports_still_count_them(
    capsys, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[retention]\naccess_event_days = 30\n")
    log = tmp_path / "stacks.log"
    log.write_text(ACCESS_LOG + "\n")
    store = f"sqlite:///{tmp_path / 's.db'}"
    run(capsys, "ingest", "--store", store, "--source", "clf", "--access-policy", str(policy),
        str(log))  # fmt: skip

    code, out, _ = run(capsys, "expire", "--store", store)

    assert code == 0 and out.startswith("3 access events expired")
    code, out, _ = run(capsys, "report", "access", "--store", store, "--format", "json")
    assert json.loads(out) == [{"service": "unknown", "requests": 3, "bytes": 2500}]
    code, out, _ = run(capsys, "report", "access", "--store", store, "--by", "druid",
                       "--format", "json")  # fmt: skip
    assert json.loads(out) == []


def _ingest_with_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, policy: str
) -> tuple[int, str, str]:
    log = tmp_path / "a.log"
    log.write_text(ACCESS_LOG)
    return run(
        capsys, "ingest", "--store", f"sqlite:///{tmp_path / 's.db'}", "--source", "clf",
        "--access-policy", policy, str(log),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("key_file", "what"),
    [
        ("/dev/zero", "a character device"),
        ("/dev/urandom", "a character device"),
        ("fifo", "a FIFO"),
        ("folder", "a directory"),
    ],
)
def test_a_key_file_that_is_not_a_regular_file_is_refused_unread(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    key_file: str,
    what: str,
) -> None:
    monkeypatch.delenv("PROV_PSEUDONYM_KEY")
    # Read whole, /dev/zero filled memory until the kernel killed prov, and a FIFO waited
    # for a writer for ever.
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[clients]\nkey_file = "{key_file}"\n')

    code, out, err = _ingest_with_policy(capsys, tmp_path, str(policy))

    shown = key_file if key_file.startswith("/") else tmp_path / key_file
    assert (code, out) == (1, "")
    assert err == (f"prov: error: clients.key_file {shown}: it is not a regular file ({what})\n")
    assert not (tmp_path / "s.db").exists()


def test_a_key_file_larger_than_any_key_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROV_PSEUDONYM_KEY")
    (tmp_path / "big.key").write_bytes(b"k" * (MAX_KEY_BYTES + 1))
    policy = tmp_path / "policy.toml"
    policy.write_text('[clients]\nkey_file = "big.key"\n')

    code, out, err = _ingest_with_policy(capsys, tmp_path, str(policy))

    assert (code, out) == (1, "")
    assert err == (
        f"prov: error: clients.key_file {tmp_path / 'big.key'}: it is larger than "
        f"{MAX_KEY_BYTES:,} bytes\n"
    )
    (tmp_path / "big.key").write_bytes(b"k" * MAX_KEY_BYTES)  # the largest key is read
    code, _, err = _ingest_with_policy(capsys, tmp_path, str(policy))
    assert code == 0, err


@pytest.mark.parametrize(
    ("name", "what"), [("/dev/zero", "a character device"), ("fifo", "a FIFO")]
)
def test_an_access_policy_that_is_not_a_regular_file_is_refused_unread(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, what: str
) -> None:
    os.mkfifo(tmp_path / "fifo")
    policy = name if name.startswith("/") else str(tmp_path / name)

    code, out, err = _ingest_with_policy(capsys, tmp_path, policy)

    assert (code, out) == (1, "")
    assert err == f"prov: error: access policy {policy}: it is not a regular file ({what})\n"


def test_an_access_policy_larger_than_the_bound_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("# a comment\n" * (MAX_POLICY_BYTES // 12 + 1))

    code, out, err = _ingest_with_policy(capsys, tmp_path, str(policy))

    assert (code, out) == (1, "")
    assert err == (
        f"prov: error: access policy {policy}: it is larger than {MAX_POLICY_BYTES:,} bytes\n"
    )
