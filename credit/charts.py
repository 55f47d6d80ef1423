"""Chart geometry for the public pages' inline SVG (pure: numbers in, numbers out). The
templates draw it; no JavaScript, no chart library, nothing from outside.

The charts fill the width of the page at any screen size with text at its real size: positions
across are percentages of the chart's width (SVG takes `x="42.5%"`), positions down are pixels.
The one shape a percentage cannot place, the score line, is drawn in a nested SVG stretched
across (`preserveAspectRatio="none"`, its stroke kept at its width by
`vector-effect="non-scaling-stroke"`), in x units of a thousandth of the width. The score
chart's grade names and lines sit in a gutter of fixed width beside the plot (a second SVG
of the same height), so no point of the line ever covers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# Score history: pixels down.
HEIGHT = 260
PLOT_TOP, PLOT_BOTTOM = 6, 228
LABEL_BASELINE = 248  # the dates under the plot
# Percent across: the first and last points stay clear of the edges (their markers are drawn
# whole).
X_FIRST, X_LAST = 2.0, 98.0
LINE_UNITS = 1000  # the nested line's x units across the width
# The default grade lines (AAA 110 … B 70) sit inside 60–120, so a typical history needs no
# rescaling; scores outside widen the range.
DEFAULT_LOW, DEFAULT_HIGH = Decimal(60), Decimal(120)
# A marker per point while they stay apart (about three years of monthly snapshots); beyond
# that only the latest point is marked and the line carries the rest.
MAX_MARKERS = 40
# Bands are shaded in five tones, best to worst, whatever number of grades the rulebook has.
TONES = 5
LABEL_HALF_HEIGHT = 4.5  # px from a 13 px label's middle to its baseline
GUTTER = 76  # px left of the plot for the grades' names and lines (the template's gutter)


@dataclass(frozen=True)
class ChartPoint:
    x: float  # percent across
    line_x: float  # the same, in the nested line's units
    y: float
    as_of: date
    score: Decimal
    grade: str


@dataclass(frozen=True)
class ChartBand:
    """One grade's score range as a shaded strip: `min_score` None is the bottom band, which
    takes every score below `below` (the band above's minimum)."""

    grade: str
    min_score: Decimal | None
    below: Decimal | None
    y: float
    height: float
    label_y: float  # the baseline of the grade's name, in the middle of its strip
    tone: int
    tick_y: float | None  # where the band's minimum sits (None: below the chart)


@dataclass(frozen=True)
class ScoreChart:
    height: int
    line_units: int
    points: tuple[ChartPoint, ...]
    markers: tuple[ChartPoint, ...]
    polyline: str
    bands: tuple[ChartBand, ...]
    x_labels: tuple[tuple[float, str, str], ...]  # (percent across, text-anchor, date)
    plot_top: int
    plot_bottom: int
    label_baseline: int
    gutter: int
    first: ChartPoint
    last: ChartPoint
    low: Decimal
    high: Decimal


def tone_of(index: int, count: int) -> int:
    """The shade of the `index`-th grade of `count` (0 the best)."""
    return 0 if count <= 1 else round(index * (TONES - 1) / (count - 1))


def score_chart(
    *, history: list[tuple[date, Decimal, str]], bands: list[tuple[str, Decimal | None]]
) -> ScoreChart | None:
    """`history`: (day, score, grade) oldest first; `bands`: (grade, minimum score) best first,
    the last with None (it takes every lower score), as the rulebook's grade bands."""
    if not history:
        return None
    scores = [score for _, score, _ in history]
    low = min([DEFAULT_LOW, *scores]) - 2
    high = max([DEFAULT_HIGH, *scores]) + 2
    first, last = history[0][0], history[-1][0]
    span_days = max((last - first).days, 1)

    def x_of(day: date) -> float:
        if first == last:
            return 50.0
        return round(X_FIRST + (X_LAST - X_FIRST) * (day - first).days / span_days, 2)

    def y_of(score: Decimal) -> float:
        share = float((high - score) / (high - low))
        return round(PLOT_TOP + (PLOT_BOTTOM - PLOT_TOP) * share, 1)

    points = tuple(
        ChartPoint(
            x=x_of(day),
            line_x=round(x_of(day) * LINE_UNITS / 100, 1),
            y=y_of(score),
            as_of=day,
            score=score,
            grade=grade,
        )
        for day, score, grade in history
    )
    return ScoreChart(
        height=HEIGHT,
        line_units=LINE_UNITS,
        points=points,
        markers=points if len(points) <= MAX_MARKERS else points[-1:],
        polyline=" ".join(f"{p.line_x},{p.y}" for p in points),
        bands=_bands(bands, low=low, high=high, y_of=y_of),
        x_labels=_x_labels(points),
        plot_top=PLOT_TOP,
        plot_bottom=PLOT_BOTTOM,
        label_baseline=LABEL_BASELINE,
        gutter=GUTTER,
        first=points[0],
        last=points[-1],
        low=low,
        high=high,
    )


def _bands(bands, *, low: Decimal, high: Decimal, y_of) -> tuple[ChartBand, ...]:
    drawn = []
    above: Decimal | None = None  # the minimum of the band above
    for index, (grade, minimum) in enumerate(bands):
        top = high if above is None else min(above, high)
        bottom = low if minimum is None else max(minimum, low)
        if top > bottom:
            y_top, y_bottom = y_of(top), y_of(bottom)
            height = round(y_bottom - y_top, 1)
            drawn.append(
                ChartBand(
                    grade=grade,
                    min_score=minimum,
                    below=above if minimum is None else None,
                    y=y_top,
                    height=height,
                    label_y=round(y_top + height / 2 + LABEL_HALF_HEIGHT, 1),
                    tone=tone_of(index, len(bands)),
                    tick_y=y_bottom if minimum is not None and minimum >= low else None,
                )
            )
        if minimum is not None:
            above = minimum
    return tuple(drawn)


def _x_labels(points: tuple[ChartPoint, ...]) -> tuple[tuple[float, str, str], ...]:
    first, last = points[0], points[-1]
    if first.as_of == last.as_of:
        return ((first.x, "middle", first.as_of.isoformat()),)
    labels = [(first.x - 1, "start", first.as_of.isoformat())]
    middle = points[len(points) // 2]
    if len(points) >= 3 and 30 <= middle.x <= 70:  # room for a third date between the ends
        labels.append((middle.x, "middle", middle.as_of.isoformat()))
    labels.append((last.x + 1, "end", last.as_of.isoformat()))
    return tuple(labels)


# Grade distribution: one horizontal bar per grade, its name above it and its count after it.
BAR_ROW = 42  # px per grade
BAR_TOP, BAR_HEIGHT = 20, 14  # within a row: the bar under its name
BAR_MAX = 82.0  # percent across the longest bar takes, leaving room for its count


@dataclass(frozen=True)
class Bar:
    key: str
    count: int
    tone: int
    width: float  # percent across
    label_y: int
    bar_y: int
    value_y: int


@dataclass(frozen=True)
class BarChart:
    height: int
    bar_height: int
    bars: tuple[Bar, ...]
    total: int


def bar_chart(rows: list[tuple[str, int, int]]) -> BarChart:
    """`rows`: (key, count, tone) in display order; widths share the largest count."""
    largest = max((count for _, count, _ in rows), default=0)
    bars = tuple(
        Bar(
            key=key,
            count=count,
            tone=tone,
            width=round(BAR_MAX * count / largest, 2) if largest else 0.0,
            label_y=index * BAR_ROW + 14,
            bar_y=index * BAR_ROW + BAR_TOP,
            value_y=index * BAR_ROW + BAR_TOP + BAR_HEIGHT - 2,
        )
        for index, (key, count, tone) in enumerate(rows)
    )
    return BarChart(
        height=len(rows) * BAR_ROW,
        bar_height=BAR_HEIGHT,
        bars=bars,
        total=sum(count for _, count, _ in rows),
    )
