"""Plain-text renderings for the terminal (the JSON forms come from `provenance.query.views`).

Every rendering returns `TerminalText`: its lines pass through `provenance.domain.terminal.visible`,
so a control character stored in an event or a quarantined line is shown as an escape, and only
the line breaks a table adds are real. Cells are made visible before they are padded or cut,
so a column stays aligned. The reports of `prov ingest` and `prov ship` are printed here too,
line by line through the CLI's `echo`, with their progress counters on stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from provenance.cli.app import echo
from provenance.domain.shown import shown
from provenance.domain.terminal import TerminalText, terminal_lines, visible
from provenance.query.views import action_summary

if TYPE_CHECKING:
    from provenance.access.report import Report
    from provenance.aws.ship_report import ShipReport
    from provenance.ingest.report import IngestReport


def state_table(view: dict[str, Any]) -> TerminalText:
    """The Object State Dashboard as a few aligned blocks of text."""
    lines = [
        f"object          {view['object']}"
        + ("" if view["conforming_druid"] else "   (test-style druid: breaks the strict pattern)"),
        f"latest version  {view['latest_version'] if view['latest_version'] is not None else '?'}"
        f"   (versions seen: {', '.join(map(str, view['versions'])) or 'none'})",
        f"events          {view['first_event_at']} .. {view['last_event_at']}",
        "",
        "where it is now:",
    ]
    for place in view["locations"]:
        if place["kind"] == "storage_root":
            lines.append(
                f"  disk  {visible(place['name']):<22} status {place['status'] or '?':<20} "
                f"last fixity {place['last_fixity_outcome'] or '-'} at "
                f"{place['last_fixity_check'] or '-'}"
            )
        else:
            versions = ",".join(f"v{v}" for v in place["versions_replicated"]) or "-"
            audit = (
                f"; last audit finding {place['last_audit_outcome']} at {place['last_audit']}"
                if place["last_audit"]
                else ""
            )
            lines.append(
                f"  cloud {visible(place['name']):<22} versions {versions:<18} "
                f"replicated at {place['last_replicated_at'] or '-'}{audit}"
            )
    if not view["locations"]:
        lines.append("  (no storage events yet)")
    lines += ["", "steps done:"]
    for workflow, steps in view["steps"].items():
        done = ", ".join(
            step if item["status"] == "completed" else f"{step} ({item['status']})"
            for step, item in steps.items()
        )
        lines.append(f"  {workflow}: {done}")
    failures = view["open_failures"]
    lines += ["", f"open failures: {len(failures)}"]
    for failure in failures:
        lines.append(
            f"  {failure['at']}  {failure['outcome']:<7} {failure['result_code'] or ''} "
            f"{shorten(failure.get('detail') or '', 100)}"
        )
    lines += ["", "events by type:"]
    lines += [f"  {kind:<28} {count:>7,}" for kind, count in view["events_by_type"].items()]
    return terminal_lines(lines)


def objects_table(objects: list[dict[str, Any]]) -> TerminalText:
    """One line per object of a fleet list: status per root, open failures, last fixity
    check, versions not on every endpoint."""
    lines = [
        f"{'object':<18} {'status':<34} {'open failures':<30} {'last fixity (UTC)':<20} "
        "unreplicated"
    ]
    for item in objects:
        status = ", ".join(f"{root}={state}" for root, state in item["status"].items()) or "-"
        failures = "".join(
            f"{f['kind']}:{f['result_code'] or f['outcome']}" for f in item["open_failures"][:1]
        )
        if len(item["open_failures"]) > 1:
            failures = f"{shorten(failures, 24)} +{len(item['open_failures']) - 1}"
        fixity = (item["last_fixity_at"] or "never")[:19] if item["status"] else "-"
        gaps = ", ".join(
            f"v{gap['version']} not on {'+'.join(gap['missing'])}" for gap in item["unreplicated"]
        )
        lines.append(
            f"{visible(item['druid']):<18} {shorten(visible(status), 34):<34} "
            f"{shorten(failures or '-', 30):<30} {fixity:<20} {gaps or '-'}"
        )
    if not objects:
        lines.append("(no object matches)")
    return terminal_lines(lines)


def fleet_table(report: dict[str, Any]) -> TerminalText:
    """The repository's totals (`prov report fleet`)."""
    overdue = report["overdue"]
    lines = [
        f"as of           {report['as_of'] or '-'}",
        f"objects         {report['objects']:>10,}",
        f"versions        {report['versions']:>10,}",
        f"events          {report['events']:>10,}",
        f"failing         {report['failing']:>10,}   "
        + ", ".join(f"{kind} {n:,}" for kind, n in report["failing_by_kind"].items()),
        f"overdue audits  {overdue['count']:>10,}   no successful fixity check in "
        f"{overdue['days']} days (before {overdue['before']}); never checked: "
        f"{overdue['never']:,}",
        f"unreplicated    {report['unreplicated']:>10,}   objects with a version not on every "
        f"endpoint ({report['unreplicated_versions']:,} versions)",
        "",
        "by status:",
    ]
    lines += [f"  {visible(name):<30} {n:>10,}" for name, n in report["by_status"].items()]
    lines += ["", "by storage root:"]
    for root, statuses in report["by_root"].items():
        shown_statuses = ", ".join(f"{visible(name)} {n:,}" for name, n in statuses.items())
        lines.append(f"  {visible(root):<30} {sum(statuses.values()):>10,}   {shown_statuses}")
    lines += ["", "versions by endpoint:"]
    lines += [f"  {visible(name):<30} {n:>10,}" for name, n in report["by_endpoint"].items()]
    recent = list(report["failures_by_day"].items())[-14:]
    if recent:
        lines += ["", "failures per day (last 14 days with failures):"]
        lines += [f"  {day}  {n:>6,}" for day, n in recent]
    return terminal_lines(lines)


def history_table(events: list[dict[str, Any]]) -> TerminalText:
    """One line per event: UTC time, type, PREMIS code, outcome, what happened."""
    lines = [f"{'occurred (UTC)':<27} {'event':<26} {'PREMIS':<6} {'outcome':<8} what"]
    for event in events:
        premis = (event["premis_event_type"] or "").rsplit("/", 1)[-1]
        what = action_summary(event)
        lines.append(
            f"{event['cursor'][:26]:<27} {event['type']:<26} {premis:<6} "
            f"{event['outcome'] or '':<8} {shorten(what, 100)}"
        )
    return terminal_lines(lines)


def shorten(text: str, width: int) -> str:
    """`text` made visible, as one line of at most `width` characters."""
    return shown(visible(text), width)


def quarantine_table(items: list[dict[str, Any]]) -> TerminalText:
    """One line per quarantined entry: where it came from, its source, why, and its text."""
    lines = []
    for item in items:
        where = f"{item['file'] or '-'}:{item['line']}"
        text = item["text"]
        if item["truncated"]:
            text = f"[truncated: first part of {item['raw_bytes']:,} bytes] {text}"
        lines.append(
            f"{visible(where):<40} {visible(item['source_type']):<10} "
            f"{visible(item['reason']):<32} {shorten(text, 80)}"
        )
    return terminal_lines(lines)


def access_table(report: Report) -> TerminalText:
    """An access report as aligned columns, with its total and where it came from."""
    query = report.query
    columns = [*query.by, *(["bucket"] if query.bucket else [])]
    header = [*columns, "requests", "share", "bytes"]
    total = report.requests or 1
    body = [
        [
            *(shorten(str(row[name]), 60) for name in columns),
            f"{row['requests']:,}",
            f"{100 * row['requests'] / total:.1f}%",
            human_bytes(row["bytes"]),
        ]
        for row in report.rows
    ]
    numeric = {"requests", "share", "bytes"}
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(width) if name in numeric else cell.ljust(width)
            for name, cell, width in zip(header, line, widths, strict=True)
        ).rstrip()
        for line in [header, *body]
    ]
    cut = query.top is not None and report.groups > query.top
    lines.append(
        f"total: {report.requests:,} requests, {human_bytes(report.bytes)}"
        + (f"; top {query.top} of {report.groups:,} groups, the rest as (other)" if cut else "")
    )
    if report.basis == "events":
        since = report.events_since
        lines.append(
            "counted from the stored access events"
            + (f" (events before {since.isoformat()} have expired)" if since else "")
        )
    return terminal_lines(lines)


def human_bytes(size: int) -> str:
    """1,234,567 -> 1.2 MB (decimal units, as download figures are usually given)."""
    if size < 1000:
        return f"{size:,} B"
    value = size / 1000
    for unit in ("kB", "MB", "GB"):
        if value < 1000:
            return f"{value:,.1f} {unit}"
        value /= 1000
    return f"{value:,.1f} TB"


def print_ingest_report(report: IngestReport) -> None:
    from provenance.ingest.report import natural_order

    echo(
        f"{report.lines:,} lines: {report.consumed:,} consumed, {report.ignored:,} ignored, "
        f"{report.quarantined:,} quarantined"
    )
    echo(f"{report.events:,} new events, {report.duplicates:,} already stored")
    for kind, count in sorted(report.by_type.items()):
        echo(f"  {kind:<28} {count:>9,}")
    for label, reasons in (
        ("ignored", report.ignored_by_reason),
        ("quarantined", report.quarantined_by_reason),
    ):
        for reason, count in natural_order(reasons):
            echo(f"  {label}: {reason} ({count:,} lines)")


def ingest_progress_printer() -> Any:
    def show(lines: int) -> None:
        click.echo(f"\r{lines:,} lines read", nl=False, err=True)

    return show


def print_ship_report(report: ShipReport) -> None:
    echo(
        f"{report.lines:,} lines in {report.records:,} records ({report.bytes:,} bytes, "
        f"{report.payload_units:,} PUT payload units) to {report.stream}, "
        f"{report.put_calls:,} PutRecords calls" + (" (stopped)" if report.stopped else "")
    )
    for label, count in (
        ("entries retried", report.retried_entries),
        ("forced cuts (entries split across records)", report.forced_cuts),
        ("idle flushes (an open entry shipped after --idle-flush of quiet)", report.idle_flushes),
        ("rotations", report.rotations),
        ("truncations", report.truncations),
    ):
        if count:
            echo(f"  {label}: {count:,}")
    for item in report.files:
        echo(f"  {item.path}: {item.lines:,} lines, shipped to byte {item.offset:,}")


def ship_progress_printer() -> Any:
    def show(report: Any) -> None:
        click.echo(f"\r{report.lines:,} lines in {report.records:,} records", nl=False, err=True)

    return show
