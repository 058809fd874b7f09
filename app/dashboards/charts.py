"""Geometry of the server-drawn SVG bar charts (the template only places what is computed here).

Why SVG templates and not a charting library: the maintained Python ones
(pygal, leather) write inline ``<style>`` or ``<script>`` into the SVG, which
the Content-Security-Policy forbids and which would need JavaScript for the
tooltips. Horizontal grouped bars say everything the panels need, draw the
same in every browser, and need no script at all. Colours are presentation
attributes (not inline styles) with at least 3:1 contrast on white (WCAG
1.4.11), and each series also differs by pattern of position and by legend
text, never by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Dark blue, dark red, dark olive, dark teal: each at least 7:1 on white.
PALETTE = ("#1f4e79", "#a4161a", "#5c4a00", "#0b5d57")
LABEL_WIDTH = 220
PLOT_WIDTH = 420
VALUE_WIDTH = 70
BAR_HEIGHT = 14
BAR_GAP = 2
ROW_GAP = 10
TOP = 8


@dataclass(frozen=True)
class Bar:
    """One bar: where it is, how long, its value and the series it belongs to."""

    x: int
    y: int
    width: int
    height: int
    value: int
    series: int
    colour: str


@dataclass(frozen=True)
class ChartRow:
    """A category: its label, the y of its label, and one bar per series."""

    label: str
    label_y: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    """A horizontal grouped bar chart ready for ``templates/dashboards/_chart.html``."""

    chart_id: str
    title: str
    series: tuple[tuple[str, str], ...]  # (name, colour)
    rows: tuple[ChartRow, ...]
    width: int
    height: int
    label_width: int
    max_value: int


def grouped_bars(chart_id: str, title: str, series: Sequence[str], rows: Sequence[tuple[str, Sequence[int]]]) -> Chart:
    """Lay out ``rows`` (label, one value per series) as bars scaled to the largest value.

    A zero draws no bar but keeps its value label, so a reader never mistakes
    "none" for "missing".
    """
    if any(len(values) != len(series) for _label, values in rows):
        raise ValueError("every row needs one value per series")
    biggest = max((v for _label, values in rows for v in values), default=0)
    scale = PLOT_WIDTH / biggest if biggest > 0 else 0.0
    group = len(series) * (BAR_HEIGHT + BAR_GAP)
    laid: list[ChartRow] = []
    y = TOP
    for label, values in rows:
        bars = tuple(
            Bar(
                x=LABEL_WIDTH,
                y=y + i * (BAR_HEIGHT + BAR_GAP),
                width=round(max(v, 0) * scale),
                height=BAR_HEIGHT,
                value=v,
                series=i,
                colour=PALETTE[i % len(PALETTE)],
            )
            for i, v in enumerate(values)
        )
        laid.append(ChartRow(label=label, label_y=y + group // 2 + 4, bars=bars))
        y += group + ROW_GAP
    return Chart(
        chart_id=chart_id,
        title=title,
        series=tuple((name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(series)),
        rows=tuple(laid),
        width=LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        height=max(y, TOP + ROW_GAP),
        label_width=LABEL_WIDTH,
        max_value=biggest,
    )
