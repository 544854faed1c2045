"""One object's reports read from the store as actions (`provenance.domain.actions`).

History and PREMIS read an object's actions from here; the ObjectState projection asks here
whether a notification repeats a report already stored. Reads are paged by cursor: an object
with 100,000 reports never sits in memory as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventstore import EventRecord, EventStore, time_key
from provenance.domain.actions import WINDOW, Action, Facts, actions, facts_of, matched
from provenance.domain.events import load_payload

PAGE = 1_000
_FIRST_DAY = datetime(1, 1, 2, tzinfo=UTC)  # stored times lie a day inside the calendar


@dataclass(frozen=True, slots=True)
class Report:
    """A stored report: its record, its payload as plain data, and its matching facts."""

    record: EventRecord
    event: dict[str, Any]
    facts: Facts


def cursor_before(at: datetime) -> str | None:
    """A paging cursor that sorts before every record of time `at` (`!` sorts before every
    event id); None (read from the start) when `at` is before the store's first day."""
    if at < _FIRST_DAY:
        return None
    return f"{time_key(at)}#!"


def reports(
    store: EventStore, stream: str, *, after: str | None = None, page: int = PAGE
) -> Iterator[Report]:
    """The stream's reports after the cursor `after`, in time order, read a page at a time."""
    while True:
        records = store.read_stream(stream, after=after, limit=page)
        for record in records:
            event = load_payload(record.payload)
            yield Report(record, event, facts_of(event))
        if len(records) < page:
            return
        after = records[-1].cursor


def object_actions(
    store: EventStore, stream: str, *, after: str | None = None, page: int = PAGE
) -> Iterator[Action[Report]]:
    """The object's actions whose report comes after the cursor `after`, in time order.

    Reading starts two windows before `after`'s time, so a report just past the cursor is
    matched with its notifications exactly as in a read from the start (paging never changes
    which actions there are)."""
    start = None
    if after is not None:
        at = datetime.fromisoformat(after.split("#", 1)[0].replace("Z", "+00:00"))
        # A cursor in the first hours of year 1 (users type anything): read from the start.
        start = cursor_before(at - 2 * WINDOW) if at > _FIRST_DAY + 2 * WINDOW else None
    for action in actions(reports(store, stream, after=start, page=page), _facts):
        if after is None or action.report.record.cursor > after:
            yield action


def _facts(report: Report) -> Facts:
    return report.facts


def repeats_stored_report(store: EventStore, stream: str, notice: Facts) -> bool:
    """Whether a notification repeats a report already in the store (its action's primary)."""
    until = notice.at + WINDOW
    neighbours: list[Facts] = []
    # An object's reports within two hours are few: small pages, read on only when needed.
    start = notice.at - WINDOW if notice.at > _FIRST_DAY + WINDOW else _FIRST_DAY
    for report in reports(store, stream, after=cursor_before(start), page=32):
        if report.facts.at > until:
            break
        neighbours.append(report.facts)
    return bool(matched(notice, neighbours))
