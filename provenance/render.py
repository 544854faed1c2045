"""Plain-text renderings for the terminal (the JSON forms come from `provenance.queries`)."""

from __future__ import annotations

from typing import Any

from provenance.queries import summary


def state_table(view: dict[str, Any]) -> str:
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
                f"  disk  {place['name']:<22} status {place['status'] or '?':<20} "
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
                f"  cloud {place['name']:<22} versions {versions:<18} "
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
        detail = (failure.get("detail") or "").replace("\n", " ")
        lines.append(
            f"  {failure['at']}  {failure['outcome']:<7} {failure['result_code'] or ''} "
            f"{detail[:100]}"
        )
    lines += ["", "events by type:"]
    lines += [f"  {kind:<28} {count:>7,}" for kind, count in view["events_by_type"].items()]
    return "\n".join(lines)


def history_table(events: list[dict[str, Any]]) -> str:
    """One line per event: UTC time, type, PREMIS code, outcome, what happened."""
    lines = [f"{'occurred (UTC)':<27} {'event':<26} {'PREMIS':<6} {'outcome':<8} what"]
    for event in events:
        premis = (event["premis_event_type"] or "").rsplit("/", 1)[-1]
        lines.append(
            f"{event['cursor'][:26]:<27} {event['type']:<26} {premis:<6} "
            f"{event['outcome'] or '':<8} {shorten(summary(event), 100)}"
        )
    return "\n".join(lines)


def shorten(text: str, width: int) -> str:
    """One line of at most `width` characters."""
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
