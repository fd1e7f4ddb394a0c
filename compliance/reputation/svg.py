"""Line charts drawn as inline SVG on the server, for pages that run no script.

The functions here are pure: they take the texts already translated and
the numbers already chosen, and return SVG markup. Every text goes through
XML escaping, because campaign names come from users. The SVG uses no
external font, script, image or style sheet, so it passes a
``default-src 'none'`` Content-Security-Policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# About the width of half the dashboard, so one user unit is about one CSS pixel there.
WIDTH = 440
HEIGHT = 220
# Room for the y tick labels on the left and the x labels under the plot.
MARGIN_LEFT = 52
MARGIN_RIGHT = 16
MARGIN_TOP = 12
MARGIN_BOTTOM = 44
LEGEND_LINE_HEIGHT = 18
# Only this many x labels (dates such as "12 déc. 2026") fit without overlapping.
MAX_X_LABELS = 5
MAX_LABEL_CHARACTERS = 14
Y_TICKS = 5


@dataclass(frozen=True)
class Series:
    """One line of the chart: a value per x position, None where there is no data."""

    label: str
    values: tuple[float | None, ...]
    colour: str


@dataclass(frozen=True)
class Threshold:
    """A horizontal reference line, such as a target or a hard limit."""

    label: str
    value: float
    colour: str
    # An SVG stroke-dasharray, or empty for a solid line.
    dash: str = "6 4"


@dataclass(frozen=True)
class Band:
    """A light background stripe between two y values, such as the range of one grade."""

    low: float
    high: float
    colour: str
    label: str


@dataclass(frozen=True)
class LineChart:
    # A page-unique id: the SVG title and description are referenced by id.
    chart_id: str
    title: str
    description: str
    # One label per x position (a campaign), oldest first.
    x_labels: tuple[str, ...]
    # The longer text shown when a point is hovered, one per x position.
    point_names: tuple[str, ...]
    y_max: float
    series: tuple[Series, ...]
    format_value: Callable[[float], str]
    thresholds: tuple[Threshold, ...] = ()
    bands: tuple[Band, ...] = ()
    # Drawn in the middle of the plot when there is no x position.
    empty_text: str = ""


def nice_axis_max(value: float, ticks: int = Y_TICKS) -> float:
    """Round ``value`` up to an axis top whose tick labels are round numbers.

    The tick step is 1, 2, 2.5 or 5 times a power of ten.
    """
    if value <= 0 or not math.isfinite(value):
        return 1.0
    raw_step = value / ticks
    magnitude = 10.0 ** math.floor(math.log10(raw_step))
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = multiple * magnitude
        if step * ticks >= value * (1 - 1e-9):
            return step * ticks
    return 10.0 * magnitude * ticks


def _text(value: str) -> str:
    return escape(value)


def _attribute(value: str) -> str:
    # quoteattr adds the surrounding quotes and escapes quotes and brackets.
    return quoteattr(value)


def _shorten(label: str) -> str:
    if len(label) <= MAX_LABEL_CHARACTERS:
        return label
    return label[: MAX_LABEL_CHARACTERS - 1] + "…"


def _number(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class _Plot:
    """The plot area in SVG user units and its mapping from data to coordinates."""

    left: float
    top: float
    width: float
    height: float
    y_max: float
    count: int

    def x(self, index: int) -> float:
        if self.count <= 1:
            return self.left + self.width / 2
        return self.left + self.width * index / (self.count - 1)

    def y(self, value: float) -> float:
        # Values above the axis are drawn on its top edge rather than outside the plot.
        clipped = min(max(value, 0.0), self.y_max)
        return self.top + self.height * (1 - clipped / self.y_max)


def _legend_entries(chart: LineChart) -> list[tuple[str, str, str]]:
    entries = [(series.label, series.colour, "") for series in chart.series]
    entries += [(line.label, line.colour, line.dash) for line in chart.thresholds]
    return entries


def _draw_bands(chart: LineChart, plot: _Plot) -> list[str]:
    parts = []
    for band in chart.bands:
        top = plot.y(band.high)
        height = plot.y(band.low) - top
        parts.append(
            f'<rect class="band" x="{_number(plot.left)}" y="{_number(top)}" '
            f'width="{_number(plot.width)}" height="{_number(height)}" '
            f"fill={_attribute(band.colour)}><title>{_text(band.label)}</title></rect>"
        )
    return parts


def _draw_axes(chart: LineChart, plot: _Plot) -> list[str]:
    parts = []
    for step in range(Y_TICKS + 1):
        value = chart.y_max * step / Y_TICKS
        y = plot.y(value)
        parts.append(
            f'<line x1="{_number(plot.left)}" y1="{_number(y)}" '
            f'x2="{_number(plot.left + plot.width)}" y2="{_number(y)}" '
            'stroke="#d4d4d4" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_number(plot.left - 6)}" y="{_number(y + 4)}" text-anchor="end" '
            f'font-size="11" fill="#404040">{_text(chart.format_value(value))}</text>'
        )

    # Every k-th label only, so the labels of a long history do not overlap.
    stride = max(1, math.ceil(len(chart.x_labels) / MAX_X_LABELS))
    baseline = plot.top + plot.height
    for index, label in enumerate(chart.x_labels):
        if index % stride and index != len(chart.x_labels) - 1:
            continue
        # The last label ends at its point, so it stays inside the right edge.
        last = index == len(chart.x_labels) - 1 and index > 0
        anchor = "end" if last else "middle"
        parts.append(
            f'<text class="x-label" x="{_number(plot.x(index))}" y="{_number(baseline + 16)}" '
            f'text-anchor="{anchor}" font-size="11" fill="#404040">'
            f"{_text(_shorten(label))}</text>"
        )
    parts.append(
        f'<line x1="{_number(plot.left)}" y1="{_number(baseline)}" '
        f'x2="{_number(plot.left + plot.width)}" y2="{_number(baseline)}" '
        'stroke="#737373" stroke-width="1"/>'
    )
    return parts


def _draw_thresholds(chart: LineChart, plot: _Plot) -> list[str]:
    parts = []
    for line in chart.thresholds:
        y = plot.y(line.value)
        dash = f" stroke-dasharray={_attribute(line.dash)}" if line.dash else ""
        parts.append(
            f'<line class="threshold" x1="{_number(plot.left)}" y1="{_number(y)}" '
            f'x2="{_number(plot.left + plot.width)}" y2="{_number(y)}" '
            f'stroke={_attribute(line.colour)} stroke-width="1.5"{dash}>'
            f"<title>{_text(line.label)}</title></line>"
        )
    return parts


def _segments(values: Sequence[float | None]) -> list[list[int]]:
    """Split the indexes into runs without a gap, so a missing value breaks the line."""
    runs: list[list[int]] = []
    current: list[int] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(index)
    if current:
        runs.append(current)
    return runs


def _draw_series(chart: LineChart, plot: _Plot) -> list[str]:
    parts = []
    for series in chart.series:
        colour = _attribute(series.colour)
        for run in _segments(series.values):
            if len(run) < 2:
                continue
            points = " ".join(
                f"{_number(plot.x(index))},{_number(plot.y(series.values[index] or 0.0))}"
                for index in run
            )
            parts.append(
                f'<polyline class="line" points="{points}" fill="none" stroke={colour} '
                'stroke-width="2" stroke-linejoin="round"/>'
            )
        for index, value in enumerate(series.values):
            if value is None:
                continue
            name = chart.point_names[index] if index < len(chart.point_names) else ""
            hover = f"{name}: {series.label} {chart.format_value(value)}"
            parts.append(
                f'<circle class="point" cx="{_number(plot.x(index))}" '
                f'cy="{_number(plot.y(value))}" r="3.5" fill={colour}>'
                f"<title>{_text(hover)}</title></circle>"
            )
    return parts


def _draw_legend(chart: LineChart, top: float) -> list[str]:
    parts = ['<g class="legend">']
    for position, (label, colour, dash) in enumerate(_legend_entries(chart)):
        y = top + position * LEGEND_LINE_HEIGHT
        dash_attribute = f" stroke-dasharray={_attribute(dash)}" if dash else ""
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{_number(y)}" x2="{MARGIN_LEFT + 24}" '
            f'y2="{_number(y)}" stroke={_attribute(colour)} stroke-width="2"{dash_attribute}/>'
        )
        parts.append(
            f'<text x="{MARGIN_LEFT + 30}" y="{_number(y + 4)}" font-size="12" '
            f'fill="#1a1a1a">{_text(label)}</text>'
        )
    parts.append("</g>")
    return parts


def render_line_chart(chart: LineChart) -> str:
    """Return ``chart`` as an ``<svg>`` element with its title, description and legend."""
    legend_height = len(_legend_entries(chart)) * LEGEND_LINE_HEIGHT + 8
    total_height = HEIGHT + legend_height
    plot = _Plot(
        left=MARGIN_LEFT,
        top=MARGIN_TOP,
        width=WIDTH - MARGIN_LEFT - MARGIN_RIGHT,
        height=HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        y_max=chart.y_max if chart.y_max > 0 else 1.0,
        count=len(chart.x_labels),
    )
    title_id = f"{chart.chart_id}-title"
    description_id = f"{chart.chart_id}-desc"

    # role="img" with aria-labelledby makes screen readers announce the
    # title and description instead of every shape.
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id={_attribute(chart.chart_id)} '
        f'viewBox="0 0 {WIDTH} {total_height}" width="100%" role="img" '
        f"aria-labelledby={_attribute(f'{title_id} {description_id}')} "
        'font-family="system-ui, sans-serif">',
        f"<title id={_attribute(title_id)}>{_text(chart.title)}</title>",
        f"<desc id={_attribute(description_id)}>{_text(chart.description)}</desc>",
    ]
    parts += _draw_bands(chart, plot)
    parts += _draw_axes(chart, plot)
    parts += _draw_thresholds(chart, plot)
    if plot.count == 0:
        parts.append(
            f'<text class="empty" x="{_number(plot.left + plot.width / 2)}" '
            f'y="{_number(plot.top + plot.height / 2)}" text-anchor="middle" font-size="13" '
            f'fill="#525252">{_text(chart.empty_text)}</text>'
        )
    else:
        parts += _draw_series(chart, plot)
    parts += _draw_legend(chart, HEIGHT + 4)
    parts.append("</svg>")
    return "".join(parts)
