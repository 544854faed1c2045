"""`prov report access --chart`: requests over time per group, as a PNG or SVG picture.

matplotlib's object API (a `Figure` of its own, no global pyplot state), imported only here
and only when a chart is asked for: it is an optional extra, not part of the Lambda asset.
Imports the report model and `provenance.output_file`.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from provenance.access_report import OTHER, Report, ReportError
from provenance.output_file import STDOUT, open_output

FORMATS = (".png", ".svg")


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


def write_chart(report: Report, target: str | Path) -> None:
    """Draw one line per group (requests per bucket, zero where a group had none), written to
    `target` by the rules of `provenance.output_file`."""
    picture_format = chart_format(target)
    if report.query.bucket is None:
        raise ReportError("--chart needs --bucket (hour, day, week or month)")
    try:
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
        from matplotlib.figure import Figure
    except ImportError:
        raise ReportError("charts need matplotlib: pip install 'sdr-provenance[chart]'") from None
    by = report.query.by
    buckets = sorted({row["bucket"] for row in report.rows})
    series: dict[str, dict[str, int]] = {}
    for row in report.rows:
        label = " / ".join(str(row[name]) for name in by)
        series.setdefault(label, {})[row["bucket"]] = row["requests"]
    times = [datetime.fromisoformat(bucket) for bucket in buckets]

    figure = Figure(figsize=(11, 5.5), layout="constrained")
    axes = figure.subplots()
    other = " / ".join(OTHER for _ in by)
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
        f"{scope}requests by {', '.join(by)}: {report.requests:,} in all"
        + (f" (top {report.query.top} of {report.groups})" if report.query.top else "")
    )
    if series:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    with open_output(target) as stream:
        figure.savefig(stream, format=picture_format)
