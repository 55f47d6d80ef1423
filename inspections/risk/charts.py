"""Chart geometry for inline SVG on the bureau pages (pure: numbers in, pixels out). The
templates draw the shapes; no JavaScript, no chart library, nothing from outside."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 360, 300
PAD = 40  # room for tick labels on the left and bottom
BAR_WIDTH, BAR_GAP, BAR_HEIGHT = 8, 2, 160
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
    left, right, top, bottom = PAD, WIDTH - 10, 10, HEIGHT - PAD
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


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    kind: str  # selected_by, for the colour
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: int
    bars: tuple[Bar, ...]
    scale_label: str


def plan_chart(items: Sequence[tuple[int, str, float | None]]) -> BarChart | None:
    """One bar per planned compound in rank order: (rank, selected_by, probability). Unscored
    compounds get no bar height but keep their slot, so the ranks line up."""
    if not items:
        return None
    scale = axis_max([p for _, _, p in items if p is not None])
    bars = []
    for position, (rank, kind, probability) in enumerate(items):
        height = 0.0 if probability is None else round(BAR_HEIGHT * probability / scale, 1)
        shown = "—" if probability is None else f"{probability:.1%}"
        bars.append(
            Bar(
                x=position * (BAR_WIDTH + BAR_GAP),
                y=round(BAR_HEIGHT - height, 1),
                height=height,
                kind=kind,
                label=f"#{rank} {shown}",
            )
        )
    return BarChart(
        width=len(items) * (BAR_WIDTH + BAR_GAP),
        height=BAR_HEIGHT,
        baseline=BAR_HEIGHT,
        bars=tuple(bars),
        scale_label=f"{scale:.0%}",
    )
