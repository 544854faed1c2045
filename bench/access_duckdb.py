"""The peer of `access_report.py`: DuckDB answering each report's question from the raw log.

Each report `prov report access` answers from its store is asked of DuckDB over the same
access log file the store was built from: the Combined Log Format lines split by DuckDB's CSV
reader (space-delimited, double-quoted: address, time, request, status, bytes, user agent;
lines without a three-digit status and a request with a target, the five bad ones, are left
out as ingest quarantines them) and grouped:

- agent and client are the raw user agent and address (prov names agents and pseudonymises
  clients; the groups are not the same, the question and the work are);
- path is the raw target (prov's is its template);
- druid is the first druid in the lower-cased target, by the pattern the clf source uses
  (`provenance.domain.druid.IN_TEXT`, written for RE2: no look-behind), `druid:` prefixed as
  prov shows it, `-` for none;
- status class and hour buckets are prov's exactly; day and week buckets are local days and
  Monday weeks in the zone the report asks for (UTC where it names none).

Prints the rows as JSON (`[[group..., requests, bytes], ...]`) ordered as prov ranks groups
(requests descending, then the group), so `access_report.py` can check the figures that are
the same question in both: the druid counts, the per-hour status classes, the client counts.

Run by `access_report.py` in a fresh process per query (start-up and import included, as for
prov): `.venv/bin/python bench/access_duckdb.py LOG REPORT [--threads N]`, REPORT one of
`QUERIES`' names.

Imports duckdb (the bench extra) and the standard library.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import duckdb

# DuckDB's own CSV reader splits a Combined Log Format line at spaces outside quotes, in
# parallel: [0] address, [3] and [4] the bracketed time, [5] the request, [6] the status,
# [7] the bytes, [9] the user agent (one regular expression per line, `regexp_extract`, took
# five times as long: the peer gets its fastest road).
COLUMNS = ", ".join(f"'c{n}': 'VARCHAR'" for n in range(11))
DRUID = r"(?:^|[^a-z0-9])(?:druid:)?([a-z]{2}[0-9]{3}[a-z]{2}[0-9]{4})(?:[^a-z0-9]|$)"

REQUESTS = f"""
CREATE VIEW requests AS
SELECT c0 AS client, strptime(c3 || ' ' || c4, '[%d/%b/%Y:%H:%M:%S %z]') AS ts,
       split_part(c5, ' ', 2) AS path, CAST(c6 AS INTEGER) AS status,
       coalesce(TRY_CAST(c7 AS BIGINT), 0) AS bytes, c9 AS agent
FROM read_csv(?, delim = ' ', quote = '"', escape = '"', header = false,
              columns = {{{COLUMNS}}}, strict_mode = false, ignore_errors = true,
              null_padding = true)
WHERE regexp_matches(c6, '^[0-9]{{3}}$') AND c5 LIKE '% %'
"""

# name: (SELECT list of the group, GROUP BY, WHERE or "", LIMIT or None)
QUERIES: dict[str, tuple[str, str, str, int | None]] = {
    "agent": ("agent", "1", "", None),
    "agent-day-la": (
        "agent, strftime(date_trunc('day', timezone('America/Los_Angeles', ts)), '%Y-%m-%d')",
        "1, 2",
        "",
        None,
    ),
    "agent-client": ("agent, client", "1, 2", "", 20),
    "path-week": ("path, strftime(date_trunc('week', ts), '%Y-%m-%d')", "1, 2", "", None),
    "status-class-hour": (
        "(status // 100) || 'xx', epoch(date_trunc('hour', ts))::BIGINT",
        "1, 2",
        "",
        None,
    ),
    "agent-path-dated": (
        "agent, path",
        "1, 2",
        "WHERE ts >= ?::TIMESTAMPTZ AND ts < ?::TIMESTAMPTZ",
        None,
    ),
    "druid": (
        f"coalesce('druid:' || nullif(regexp_extract(lower(path), '{DRUID}', 1), ''), '-')",
        "1",
        "",
        10,
    ),
}


def answer(
    log: str, report: str, *, threads: int | None = None, since: str = "", until: str = ""
) -> list[list[object]]:
    """The rows of one report's question over `log`."""
    group, by, where, limit = QUERIES[report]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads is not None:
        con.execute(f"SET threads = {threads}")
    con.execute(REQUESTS.replace("?", f"'{log}'", 1))
    width = by.count(",") + 1
    order = ", ".join(str(n) for n in range(1, width + 1))
    sql = (
        f"SELECT {group}, count(*) AS requests, sum(bytes) AS bytes FROM requests {where} "
        f"GROUP BY {by} ORDER BY requests DESC, {order}"
        + (f" LIMIT {limit}" if limit is not None else "")
    )
    params = [since, until] if where else []
    return [list(row) for row in con.execute(sql, params).fetchall()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("report", choices=sorted(QUERIES))
    parser.add_argument("--threads", type=int, help="DuckDB's threads (default: every core)")
    parser.add_argument("--since", default="", help="for agent-path-dated: ISO, inclusive")
    parser.add_argument("--until", default="", help="for agent-path-dated: ISO, exclusive")
    args = parser.parse_args(argv)
    rows = answer(args.log, args.report, threads=args.threads, since=args.since, until=args.until)
    json.dump(rows, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
