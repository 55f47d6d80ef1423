"""Chart geometry for inline SVG on the bureau pages (pure: numbers in, pixels out). The
templates draw the shapes; no JavaScript, no chart library, nothing from outside."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 360, 300
PAD = 40  # room for tick labels on the left and bottom
AXIS_TITLE_ROOM = 16  # and for the axis titles beside them
# An axis never shorter than 10 percentage points, so a well-calibrated low-risk model does
# not get blown up into a dramatic-looking chart of tiny differences.
MIN_AXIS = 0.1


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    label: str


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along the axis
    label: str


@dataclass(frozen=True)
class CalibrationChart:
    width: int
    height: int
    left: int
    bottom: int
    right: int
    top: int
    dots: tuple[Dot, ...]
    polyline: str
    ticks_x: tuple[Tick, ...]
    ticks_y: tuple[Tick, ...]


def axis_max(values: Sequence[float]) -> float:
    """The smallest tenth at or above every value (at least MIN_AXIS, at most 1)."""
    top = max([MIN_AXIS, *values])
    return min(math.ceil(top * 10 - 1e-9) / 10, 1.0)


def calibration_chart(bins: Sequence[dict]) -> CalibrationChart | None:
    """Mean predicted (x) against observed rate (y) per decile; dot area follows the row count.
    The diagonal of perfect calibration runs from the bottom-left to the top-right corner."""
    if not bins:
        return None
    scale = axis_max([b["mean_predicted"] for b in bins] + [b["observed_rate"] for b in bins])
    left, right = PAD + AXIS_TITLE_ROOM, WIDTH - 20  # the last tick label is centred on it
    top, bottom = 10, HEIGHT - PAD - AXIS_TITLE_ROOM
    largest = max(b["n"] for b in bins) or 1

    def x_of(value: float) -> float:
        return round(left + (right - left) * value / scale, 1)

    def y_of(value: float) -> float:
        return round(bottom - (bottom - top) * value / scale, 1)

    dots = tuple(
        Dot(
            x=x_of(b["mean_predicted"]),
            y=y_of(b["observed_rate"]),
            r=round(2 + 4 * math.sqrt(b["n"] / largest), 1),
            label=f"预测 {b['mean_predicted']:.1%} / 实际 {b['observed_rate']:.1%}（{b['n']}）",
        )
        for b in bins
    )
    steps = [scale * i / 5 for i in range(6)]
    return CalibrationChart(
        width=WIDTH,
        height=HEIGHT,
        left=left,
        bottom=bottom,
        right=right,
        top=top,
        dots=dots,
        polyline=" ".join(f"{d.x},{d.y}" for d in dots),
        ticks_x=tuple(Tick(x_of(v), f"{v:.0%}") for v in steps),
        ticks_y=tuple(Tick(y_of(v), f"{v:.0%}") for v in steps),
    )


# The planner's chart: one labelled horizontal bar per compound, so that a long plan grows
# downwards and every bar keeps room for its rank, its compound and its value.
PLAN_WIDTH = 560
PLAN_LABEL_WIDTH = 176  # "#12 " and up to PLAN_NAME_CHARS characters at 12 px
PLAN_VALUE_WIDTH = 52  # "23.4%" right of the longest bar
PLAN_ROW, PLAN_BAR = 22, 14
PLAN_TOP = 26  # the axis titles above the rows
PLAN_AXIS_ROOM = 44  # ticks and the axis title below the rows
PLAN_NAME_CHARS = 10
PLAN_TICKS = 4


@dataclass(frozen=True)
class Bar:
    y: float  # top of the bar
    text_y: float  # baseline of the row's labels
    width: float
    kind: str  # selected_by, for the colour
    rank_label: str  # "#3"
    name: str  # the compound, shortened to fit
    value_label: str  # "23.4%", or "未评分"
    value_x: float
    label: str  # the whole row for the tooltip


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int  # where bars start (the value axis' 0)
    right: int  # where the axis' maximum lies
    top: int
    bottom: int  # the value axis
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    scale_label: str


def _percent(value: float) -> str:
    """7.5 % stays 7.5 %, 20 % is 20 %: tick labels never round to a wrong figure."""
    return f"{round(value * 100, 1):g}%"


def _short(name: str) -> str:
    return name if len(name) <= PLAN_NAME_CHARS else name[: PLAN_NAME_CHARS - 1] + "…"


def plan_chart(items: Sequence[tuple[int, str, float | None, str]]) -> BarChart | None:
    """One bar per planned compound in rank order: (rank, selected_by, probability, name).
    An unscored compound keeps its row with no bar and says so."""
    if not items:
        return None
    scale = axis_max([p for _, _, p, _ in items if p is not None])
    left = PLAN_LABEL_WIDTH
    right = PLAN_WIDTH - PLAN_VALUE_WIDTH
    bars = []
    for position, (rank, kind, probability, name) in enumerate(items):
        top = PLAN_TOP + position * PLAN_ROW
        width = 0.0 if probability is None else round((right - left) * probability / scale, 1)
        shown = "未评分" if probability is None else f"{probability:.1%}"
        bars.append(
            Bar(
                y=top + (PLAN_ROW - PLAN_BAR) / 2,
                text_y=top + PLAN_ROW / 2 + 4,
                width=width,
                kind=kind,
                rank_label=f"#{rank}",
                name=_short(name),
                value_label=shown,
                value_x=round(left + width + 4, 1),
                label=f"#{rank} {name} {shown}",
            )
        )
    bottom = PLAN_TOP + len(items) * PLAN_ROW
    steps = [scale * i / PLAN_TICKS for i in range(PLAN_TICKS + 1)]
    return BarChart(
        width=PLAN_WIDTH,
        height=bottom + PLAN_AXIS_ROOM,
        left=left,
        right=right,
        top=PLAN_TOP,
        bottom=bottom,
        bars=tuple(bars),
        ticks=tuple(Tick(round(left + (right - left) * v / scale, 1), _percent(v)) for v in steps),
        scale_label=f"{scale:.0%}",
    )
