"""Chart geometry for the HTML reports, computed in Python so the templates only place shapes.

Two charts: a histogram (bars: counts of values in equal bins) and a line chart (polylines: named series
of ``(x, y)`` points, with optional horizontal guides). Both use an SVG ``viewBox`` of fixed size, scaled
by CSS to the page width, so they need neither JavaScript nor any external asset. Kits use them in their
report parts (:mod:`grader.report.parts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

WIDTH, HEIGHT = 480.0, 180.0  #: the viewBox of every chart
_LEFT, _RIGHT, _TOP, _BOTTOM = 40.0, 10.0, 18.0, 30.0  #: margins for the axis labels
_COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df")
_NICE_STEPS = (0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250, 500)


def _number(value: float) -> str:
    """A short label for an axis tick or a bin edge (two decimals; two significant digits below 0.1)."""
    if value and abs(value) < 0.1:
        return f"{value:.2g}"
    return f"{round(value, 2):g}"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is at least ``value`` (1 for nothing positive)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10.0 * power


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str  #: the bin's range, e.g. "8-10"


@dataclass(frozen=True)
class Tick:
    position: float  #: x (for the x axis) or y (for the y axis) in viewBox units
    label: str


@dataclass(frozen=True)
class Histogram:
    bars: list[Bar]
    x_ticks: list[Tick]
    total: int  #: how many values were counted
    width: float = WIDTH
    height: float = HEIGHT
    baseline: float = HEIGHT - _BOTTOM
    left: float = _LEFT
    title: str = ""  #: what it counts, for its label (a report part's histograms are labelled by it)


def bin_count(maximum: float, most: int) -> int:
    """At most ``most`` bins whose width is a round number (1, 2, 2.5, 5, ...) when one divides ``maximum``."""
    for step in _NICE_STEPS:
        n = maximum / step
        if n <= most and abs(n - round(n)) < 1e-9 and round(n) >= 1:
            return round(n)
    return most


def histogram(values: Sequence[float], maximum: float, most_bins: int = 10, width: float = WIDTH,
              bins: int | None = None, title: str = "") -> Histogram:
    """Count ``values`` in equal bins over ``[0, maximum]`` (the last bin includes ``maximum``).

    ``width`` is the chart's viewBox width: a narrower chart keeps its labels legible in a small card.
    ``bins`` fixes the number of bins (e.g. for seconds); by default it is :func:`bin_count`'s. ``title``
    says what is counted (the chart's label).
    """
    maximum = maximum if maximum > 0 else 1.0
    bins = bins if bins else bin_count(maximum, max(1, most_bins))
    counts = [0] * bins
    for value in values:
        index = int(min(max(value, 0.0), maximum) / maximum * bins)
        counts[min(index, bins - 1)] += 1
    top = max(counts) if counts and max(counts) > 0 else 1
    plot_w, plot_h = width - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    step = plot_w / bins
    bars = []
    for i, count in enumerate(counts):
        h = plot_h * count / top
        lo, hi = maximum * i / bins, maximum * (i + 1) / bins
        bars.append(Bar(_LEFT + i * step + 1, HEIGHT - _BOTTOM - h, max(step - 2, 1.0), h, count,
                        f"{_number(lo)}-{_number(hi)}"))
    every = max(1, math.ceil(bins * 40 / plot_w))  # a tick label every 40 units at least
    x_ticks = [Tick(_LEFT + i * step, _number(maximum * i / bins)) for i in range(0, bins + 1, every)]
    if bins % every:
        x_ticks.append(Tick(_LEFT + plot_w, _number(maximum)))
    return Histogram(bars, x_ticks, len(values), width=width, title=title)


# --------------------------------------------------------------------------- line charts


@dataclass(frozen=True)
class Curves:
    """Series to draw in one line chart: ``series`` maps a name (shown in the legend) to ``(x, y)`` points;
    ``guides`` are horizontal lines by name (e.g. a threshold). :func:`line_chart` scales them."""

    series: Mapping[str, Sequence[tuple[float, float]]]
    x_label: str = "x"
    y_label: str = "y"
    title: str = ""
    guides: Mapping[str, float] = field(default_factory=dict)
    x_min: float | None = None  #: where the x axis starts (e.g. 0 seconds), when not at the first point


@dataclass(frozen=True)
class Line:
    name: str
    points: str  #: the SVG polyline ``points`` attribute
    colour: str


@dataclass(frozen=True)
class Guide:
    name: str
    y: float  #: in viewBox units


@dataclass(frozen=True)
class LineChart:
    title: str
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    x_label: str
    y_label: str
    width: float = WIDTH
    height: float = HEIGHT
    baseline: float = HEIGHT - _BOTTOM
    left: float = _LEFT
    right: float = WIDTH - _RIGHT
    top: float = _TOP
    legend: list[tuple[str, str]] = field(default_factory=list)
    guides: list[Guide] = field(default_factory=list)


def _span(values: Iterable[float]) -> tuple[float, float]:
    values = list(values)
    lo, hi = min(values), max(values)
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


def line_chart(curve: Curves) -> LineChart | None:
    """The polylines of ``curve`` scaled into the chart's plot area; None when it has no finite point."""
    series = {name: [(float(x), float(y)) for x, y in pts if math.isfinite(x) and math.isfinite(y)]
              for name, pts in curve.series.items()}
    series = {name: pts for name, pts in series.items() if pts}
    if not series:
        return None
    xs = [x for pts in series.values() for x, _ in pts]
    x0, x1 = _span(xs + ([curve.x_min] if curve.x_min is not None and math.isfinite(curve.x_min) else []))
    guides = {name: float(y) for name, y in curve.guides.items() if math.isfinite(y)}
    y0, y1 = _span([y for pts in series.values() for _, y in pts] + list(guides.values()))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def sx(x: float) -> float:
        return _LEFT + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return HEIGHT - _BOTTOM - (y - y0) / (y1 - y0) * plot_h

    lines = [Line(name, " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts), _COLOURS[i % len(_COLOURS)])
             for i, (name, pts) in enumerate(series.items())]
    x_ticks = [Tick(sx(x0 + (x1 - x0) * f), _number(x0 + (x1 - x0) * f)) for f in (0.0, 0.5, 1.0)]
    y_ticks = [Tick(sy(y0 + (y1 - y0) * f), _number(y0 + (y1 - y0) * f)) for f in (0.0, 0.5, 1.0)]
    return LineChart(curve.title, lines, x_ticks, y_ticks, curve.x_label, curve.y_label,
                     legend=[(line.name, line.colour) for line in lines],
                     guides=[Guide(name, sy(y)) for name, y in guides.items()])
