"""`prov report access --chart`: requests over time per group, as a PNG or SVG picture.

matplotlib's object API (a `Figure` of its own, no global pyplot state), imported only here
and only when a chart is asked for: it is an optional extra, not part of the Lambda asset.

Times at the ends of the calendar (events stored in year 1 or 9999) are refused with one line:
matplotlib cannot draw them.

Labels are log text (agent names, paths, users) drawn as given: control characters through
`provenance.domain.terminal.visible`, as on a terminal, and no mathtext (a `$` in a user name is a
dollar sign, not the start of a formula matplotlib may refuse to parse). What matplotlib warns
about while drawing (a glyph its font lacks) goes to `warn`, one line each, not to stderr raw.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.access.report import OTHER, Report, ReportError
from provenance.domain.terminal import visible
from provenance.files.output_file import STDOUT, open_output

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = (".png", ".svg")
MAX_WARNINGS = 5
"""Distinct drawing warnings passed on; the rest are counted (a legend in a script the font
lacks would give one per character)."""


def chart_format(target: str | Path) -> str:
    """The picture format a chart file's name asks for (`png` or `svg`), checked before any
    work is done."""
    if os.fspath(target) == STDOUT:
        raise ReportError(
            "--chart -: a chart's format comes from its file name: give FILE.png or FILE.svg"
        )
    suffix = Path(target).suffix.lower()
    if suffix not in FORMATS:
        raise ReportError(f"--chart {target}: the file name must end in .png or .svg")
    return suffix.removeprefix(".")


def write_chart(
    report: Report, target: str | Path, *, warn: Callable[[str], None] | None = None
) -> None:
    """Draw one line per group (requests per bucket, zero where a group had none), written to
    `target` by the rules of `provenance.files.output_file`; matplotlib's warnings go to `warn`
    (dropped without one)."""
    picture_format = chart_format(target)
    if report.query.bucket is None:
        raise ReportError("--chart needs --bucket (hour, day, week or month)")
    try:
        from matplotlib.units import ConversionError
    except ImportError:
        raise ReportError("charts need matplotlib: pip install 'sdr-provenance[chart]'") from None
    # Text is laid out when the figure is drawn, inside savefig: that is where fonts warn.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            figure = _figure(report)
            with open_output(target) as stream:
                figure.savefig(stream, format=picture_format)
        except (OverflowError, ValueError, ConversionError):
            # matplotlib keeps dates (and the ticks around them) within the years 1-9999 in
            # UTC; buckets at the ends of the calendar fall outside.
            buckets = sorted(row["bucket"] for row in report.rows) or ["none"]
            first, last = buckets[0], buckets[-1]
            raise ReportError(
                f"--chart: matplotlib cannot draw buckets from {first} to {last}: it draws "
                "dates within the years 1-9999 in UTC, with room around them (leave the ends "
                "of the calendar out with --from/--to)"
            ) from None
    if warn is not None:
        _pass_on(caught, warn)


def _figure(report: Report) -> Figure:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    by = report.query.by
    buckets = sorted({row["bucket"] for row in report.rows})
    series: dict[str, dict[str, int]] = {}
    for row in report.rows:
        label = visible(" / ".join(str(row[name]) for name in by))
        series.setdefault(label, {})[row["bucket"]] = row["requests"]
    times = [datetime.fromisoformat(bucket) for bucket in buckets]

    figure = Figure(figsize=(11, 5.5), layout="constrained")
    axes = figure.subplots()
    other = visible(" / ".join(OTHER for _ in by))
    for label, counts in series.items():
        # The rest of the groups, summed, is drawn apart: grey and dashed.
        rest = label == other
        axes.plot(
            times,  # type: ignore[arg-type]  # matplotlib's stubs omit its date support
            [counts.get(bucket, 0) for bucket in buckets],
            marker="o" if len(buckets) <= 60 else None,
            markersize=3,
            linewidth=1.4,
            label=label,
            color="0.55" if rest else None,
            linestyle="--" if rest else "-",
        )
    locator = AutoDateLocator(tz=report.query.tz)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    formatter = ConciseDateFormatter(locator, tz=report.query.tz)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)
    axes.set_ylabel(f"requests per {report.query.bucket}")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    scope = ", ".join(report.query.services) + ": " if report.query.services else ""
    axes.set_title(
        visible(
            f"{scope}requests by {', '.join(by)}: {report.requests:,} in all"
            + (f" (top {report.query.top} of {report.groups})" if report.query.top else "")
        ),
        parse_math=False,
    )
    if series:
        legend = axes.legend(
            loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False
        )
        for text in legend.get_texts():
            text.set_parse_math(False)
    return figure


def _pass_on(caught: list[warnings.WarningMessage], warn: Callable[[str], None]) -> None:
    messages = list(dict.fromkeys(visible(str(item.message)) for item in caught))
    for message in messages[:MAX_WARNINGS]:
        warn(f"chart: {message}")
    if len(messages) > MAX_WARNINGS:
        warn(f"chart: {len(messages) - MAX_WARNINGS} more warnings like these")
