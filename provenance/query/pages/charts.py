"""Bar charts as SVG geometry, computed here and drawn by the `charts.html` macros.

Server-rendered: no script, no inline style (the pages' Content-Security-Policy forbids both),
sizes as SVG attributes within a viewBox that CSS scales to the page's width. Each bar has a
<title> (the browser's tooltip) and every chart comes with a table of the same numbers beside
it, for screen readers and for copying.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# The viewBox: CSS scales it, so these are proportions more than pixels.
WIDTH = 640
COLUMNS_HEIGHT = 220
ROW_HEIGHT = 22
# Room for the value axis' labels (left) and the period labels (below).
LEFT = 56
BOTTOM = 28
TOP = 10
LABEL_WIDTH = 200  # a ranked bar's name
LABEL_CHARS = 28  # longer names are cut in the chart (whole in its tooltip and table)
MAX_PERIOD_LABELS = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    """One chart: `kind` "columns" (values over periods) or "rows" (a ranking)."""

    kind: str
    title: str
    unit: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]  # the value axis
    labels: tuple[Tick, ...]  # the periods shown under the columns (some, when many)
    plot_left: float
    plot_bottom: float


def nice_ceiling(value: int) -> int:
    """The round number (1, 2 or 5 times a power of ten) at or above `value`: the axis' top."""
    if value <= 0:
        return 1
    power: int = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    raise AssertionError("unreachable")


def columns(points: Sequence[tuple[str, int]], *, title: str, unit: str) -> Chart:
    """Values over periods (oldest first) as columns, with a value axis of three ticks."""
    top = nice_ceiling(max((value for _, value in points), default=0))
    plot_bottom = COLUMNS_HEIGHT - BOTTOM
    plot_height = plot_bottom - TOP
    slot = (WIDTH - LEFT) / max(len(points), 1)
    gap = min(slot * 0.2, 4.0)
    bars = []
    for index, (label, value) in enumerate(points):
        height = plot_height * value / top
        bars.append(
            Bar(
                label,
                value,
                LEFT + index * slot + gap / 2,
                plot_bottom - height,
                slot - gap,
                height,
            )
        )
    ticks = tuple(
        Tick(plot_bottom - plot_height * share, f"{round(top * share):,}")
        for share in (0.0, 0.5, 1.0)
    )
    every = max(1, math.ceil(len(points) / MAX_PERIOD_LABELS))
    labels = tuple(
        Tick(bar.x + bar.width / 2, bar.label) for bar in bars[::every] if len(points) > 0
    )
    return Chart(
        "columns", title, unit, WIDTH, COLUMNS_HEIGHT, tuple(bars), ticks, labels, LEFT, plot_bottom
    )


def rows(points: Sequence[tuple[str, int]], *, title: str, unit: str) -> Chart:
    """A ranking (largest first, as given) as horizontal bars with their names and values."""
    top = max((value for _, value in points), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 70  # the value is written after its bar
    bars = tuple(
        Bar(
            label,
            value,
            LABEL_WIDTH,
            TOP + index * ROW_HEIGHT + 3,
            max(room * value / top, 1.0 if value else 0.0),
            ROW_HEIGHT - 6,
        )
        for index, (label, value) in enumerate(points)
    )
    height = TOP * 2 + ROW_HEIGHT * max(len(points), 1)
    return Chart("rows", title, unit, WIDTH, height, bars, (), (), LABEL_WIDTH, height - TOP)
