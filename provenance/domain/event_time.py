"""The times an event may carry: one window every store, zone, bucket and retention can handle.

A datetime holds 0001-01-01 to 9999-12-31. The stores keep times in UTC, a report shows them in
any zone (offsets of up to a day either way), a day's summary row ends at the next midnight and
a retention adds days: near either end of the calendar one of these leaves it (OverflowError).
So an event's time must lie a day inside the calendar, in UTC: from `FIRST_TIME` (0001-01-02
00:00) to `LAST_TIME` (9999-12-30, its last microsecond). Ingest quarantines an entry with a
time outside this window as `TIME_OUT_OF_RANGE`, whatever source read it (no log has a real
event there: such a time is a corrupt line or a reset clock). Events stored before the rule can
lie outside it; reports clamp them to the window (`clamp`) rather than fail.
"""

from __future__ import annotations

from datetime import UTC, datetime

FIRST_TIME = datetime(1, 1, 2, tzinfo=UTC)
"""The earliest time an event may have."""
LAST_TIME = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
"""The latest time an event may have."""
WINDOW_TEXT = f"{FIRST_TIME.date().isoformat()} to {LAST_TIME.date().isoformat()}, in UTC"
"""The window as a message shows it (isoformat: strftime writes year 1 as "1")."""
TIME_OUT_OF_RANGE = "time out of range"
"""The quarantine reason of an entry whose time is outside the window."""


def in_window(moment: datetime) -> bool:
    """Whether the aware `moment` lies from FIRST_TIME to LAST_TIME (comparing aware datetimes
    never overflows, whatever their offsets)."""
    # Any local time in the years 2..9998 is inside, whatever its offset: the usual case costs
    # one attribute.
    if 1 < moment.year < 9999:
        return True
    return FIRST_TIME <= moment <= LAST_TIME


def clamp(moment: datetime) -> datetime:
    """`moment`, or the end of the window it lies beyond (for times stored before the rule)."""
    if in_window(moment):
        return moment
    return FIRST_TIME if moment < FIRST_TIME else LAST_TIME
