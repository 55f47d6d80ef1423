"""Score-history chart geometry for an inline SVG (pure: numbers in, numbers out). The template
draws it; no JavaScript, no chart library, nothing from outside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

WIDTH, HEIGHT = 640, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 12, 28
# The default grade lines (AAA 110 … B 70) sit inside 60–120, so a typical history needs no
# rescaling; scores outside widen the range.
DEFAULT_LOW, DEFAULT_HIGH = Decimal(60), Decimal(120)


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    as_of: date
    score: Decimal
    grade: str


@dataclass(frozen=True)
class ChartLine:
    y: float
    label: str


@dataclass(frozen=True)
class ScoreChart:
    width: int
    height: int
    points: tuple[ChartPoint, ...]
    polyline: str
    bands: tuple[ChartLine, ...]
    x_labels: tuple[tuple[float, str], ...]
    plot_left: int
    plot_right: int
    plot_bottom: int


def score_chart(
    *, history: list[tuple[date, Decimal, str]], bands: list[tuple[str, Decimal]]
) -> ScoreChart | None:
    """`history`: (day, score, grade) oldest first; `bands`: (grade, minimum score)."""
    if not history:
        return None
    scores = [score for _, score, _ in history]
    low = min([DEFAULT_LOW, *scores]) - 2
    high = max([DEFAULT_HIGH, *scores]) + 2
    first, last = history[0][0], history[-1][0]
    span_days = max((last - first).days, 1)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x_of(day: date) -> float:
        if first == last:
            return PAD_LEFT + plot_w / 2
        return round(PAD_LEFT + plot_w * (day - first).days / span_days, 1)

    def y_of(score: Decimal) -> float:
        return round(PAD_TOP + plot_h * float((high - score) / (high - low)), 1)

    points = tuple(
        ChartPoint(x=x_of(day), y=y_of(score), as_of=day, score=score, grade=grade)
        for day, score, grade in history
    )
    x_labels = ((points[0].x, first.isoformat()),)
    if last != first:
        x_labels += ((points[-1].x, last.isoformat()),)
    return ScoreChart(
        width=WIDTH,
        height=HEIGHT,
        points=points,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        bands=tuple(
            ChartLine(y=y_of(minimum), label=f"{grade} {minimum}")
            for grade, minimum in bands
            if low <= minimum <= high
        ),
        x_labels=x_labels,
        plot_left=PAD_LEFT,
        plot_right=WIDTH - PAD_RIGHT,
        plot_bottom=HEIGHT - PAD_BOTTOM,
    )
