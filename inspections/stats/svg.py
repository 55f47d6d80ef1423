"""Charts for the statistics dashboard as self-contained SVG text.

Pure: figures in, markup out, standard library only. The pages render without JavaScript and
WeasyPrint embeds the same markup in the PDF, so every colour, stroke and font size is a
presentation attribute (page CSS never reaches the PDF; the classes only let a page restyle).
Tooltips are `<title>` children of shapes and groups, never of `<text>` or `<a>`: WeasyPrint
treats those two as text and would print the tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from itertools import accumulate

# Okabe-Ito hues; orange, reddish purple and sky blue are too light for 3:1 against white
# (WCAG 1.4.11), so orange and purple are darkened and black stands in for sky blue.
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#C0609A", "#B07800", "#4D4D4D")

# Credit grades from good to bad: greens, olive, ochre, orange, then a dark red for 黑名单.
GRADE_COLOURS: dict[str, str] = {
    "AAA": "#1A6B33",
    "AA": "#338C3A",
    "A": "#6E7D00",
    "B": "#A86B00",
    "C": "#C04A00",
    "黑名单": "#8B0000",
}

NO_DATA = "暂无数据"
WIDTH = 720
PAD = 8
FONT_SIZE = 11
FONT_FAMILY = "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"
# Text widths are estimated, not measured: Latin digits and letters ~0.6 em, CJK a full em.
NARROW_CHAR, WIDE_CHAR = 6.5, 11.0
LABEL_GAP = 8  # least space between two x labels
X_LABEL_MAX = 110  # longer x labels are cut; the tooltips keep them whole
LEGEND_ROW, LEGEND_TEXT_MAX = 18, 200
PLOT_HEIGHT = 220
MARGIN_MAX = 160  # huge numbers must not squeeze the plot away
# Ranked bars: row pitch and bar thickness; labels end at 150, bars start at 158.
ROW_HEIGHT, BAR_HEIGHT = 26, 16
ROW_LABEL_RIGHT, ROW_LABEL_MAX, BAR_LEFT = 150, 140, 158
VALUE_ROOM_MAX = 220

INK = "#1A1A1A"
MUTED = "#595959"  # 7:1 on white: tick labels stay readable text
AXIS = "#767676"
GRID = "#E0E0E0"  # decorative: gridlines need no contrast

_Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """A line or a stacked layer: one value per label, None where there is no figure."""

    name: str
    values: tuple[float | None, ...]
    colour: str = ""


@dataclass(frozen=True)
class Bar:
    """A row of a ranking; `href` makes its label and bar a drill-down link."""

    label: str
    value: float
    href: str = ""
    note: str = ""


@dataclass(frozen=True)
class _Frame:
    """The plot rectangle, the value at its top edge and the number of category slots."""

    left: float
    top: float
    right: float
    bottom: float
    axis_max: float
    count: int

    @property
    def slot(self) -> float:
        return (self.right - self.left) / max(self.count, 1)

    def x_of(self, index: int) -> float:
        # Points sit in the middle of their slot, so a single label still has a place.
        return self.left + (index + 0.5) * self.slot

    def y_of(self, value: float) -> float:
        return self.bottom - value / self.axis_max * (self.bottom - self.top)


# XML 1.0 forbids most control characters, lone surrogates and U+FFFE/U+FFFF, and parsers
# fold line breaks; a chart label needs neither, so breaks become spaces and the rest goes.
_NOT_XML = {code: None for code in (*range(0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF)}
_NOT_XML.update(dict.fromkeys(map(ord, "\t\n\r"), " "))


def _clean(text: object) -> str:
    return str(text).translate(_NOT_XML)


def _esc(text: object) -> str:
    return escape(_clean(text), quote=True)


def _num(value: float) -> str:
    """Coordinates to one decimal, without a trailing `.0` or a `-0`."""
    rounded = round(value, 1) + 0.0
    text = f"{rounded:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text_width(text: str) -> float:
    return sum(WIDE_CHAR if ord(char) >= 0x2E80 else NARROW_CHAR for char in text)


def _truncate(text: str, max_width: float) -> str:
    if _text_width(text) <= max_width:
        return text
    room = max_width - _text_width("…")
    kept = ""
    for char in text:
        if _text_width(kept + char) > room:
            break
        kept += char
    return kept + "…"


def _chart_id(raw: str) -> str:
    kept = "".join(c for c in str(raw) if c.isascii() and (c.isalnum() or c in "-_"))
    return kept or "chart"


def _default_format(value: float) -> str:
    if abs(value) >= 1e15:  # past the integers a float holds exactly: the digits are noise
        return f"{value:.3g}"
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}"


def _formatter(value_format: _Format | None, unit: str) -> _Format:
    base = value_format or _default_format
    return lambda value: f"{base(value)}{unit}"


def _tick_text(value: float, decimals: int, value_format: _Format | None, unit: str) -> str:
    """Ticks show as many decimals as their step needs (0.25 is not "0.2")."""
    if value_format is not None:
        return f"{value_format(value)}{unit}"
    if abs(value) >= 1e15:
        return f"{value:.3g}{unit}"
    return f"{value:.{decimals}f}{unit}"


def _checked(value: float | None, what: str) -> float | None:
    """Figures from the database may be Decimal or int; the charts start at zero."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what}: {value!r} is not a finite number")
    if number < 0:
        raise ValueError(f"{what}: {value!r} is negative; the charts start at zero")
    return number


def _prepared_series(labels: Sequence[str], series: Iterable[Series]) -> tuple[Series, ...]:
    """Each series with float values and its colour filled in."""
    prepared = []
    for index, one in enumerate(series):
        if len(one.values) != len(labels):
            raise ValueError(
                f"series {one.name!r} has {len(one.values)} values for {len(labels)} labels"
            )
        values = tuple(_checked(v, f"series {one.name!r}") for v in one.values)
        colour = one.colour or PALETTE[index % len(PALETTE)]
        prepared.append(Series(str(one.name), values, colour))
    return tuple(prepared)


def _nice_axis(peak: float) -> tuple[float, float, int]:
    """(axis top, step, decimals): the smallest step of 1, 2, 2.5 or 5 × 10^k that reaches
    `peak` in at most 5 steps. The step before it needed more than 5 and is at most 2.5 times
    smaller, so it takes 3 to 5 steps: 4 to 6 labelled gridlines counting zero."""
    if not peak > 1e-9:  # nothing visible below a billionth; an all-zero chart shows 0 to 1
        peak = 1.0
    exponent = math.floor(math.log10(peak)) - 1
    while True:
        for mantissa in (1.0, 2.0, 2.5, 5.0):
            step = mantissa * 10.0**exponent
            steps = math.ceil(peak / step - 1e-9)
            if steps <= 5:
                decimals = max(0, -exponent + (1 if mantissa == 2.5 else 0))
                return steps * step, step, decimals
        exponent += 1


def _value_axis(
    peak: float, fixed_top: float | None, value_format: _Format | None, unit: str
) -> tuple[float, list[tuple[float, str]]]:
    """(axis top, labelled ticks). A fixed top is kept unless the data rise above it: then
    the nice axis of the data, so nothing is drawn outside the plot."""
    if fixed_top is not None and peak <= fixed_top:
        top = fixed_top
        _, step, decimals = _nice_axis(fixed_top)
    else:
        top, step, decimals = _nice_axis(peak)
    ticks = [i * step for i in range(math.floor(top / step + 1e-9) + 1)]
    return top, [(tick, _tick_text(tick, decimals, value_format, unit)) for tick in ticks]


def _left_margin(ticks: Sequence[tuple[float, str]]) -> float:
    widest = max((_text_width(text) for _, text in ticks), default=0.0)
    return min(max(widest + 12, 36), MARGIN_MAX)


def _document(chart_id: str, title: str, description: str, height: float, body: list[str]) -> str:
    cid = _chart_id(chart_id)
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {math.ceil(height)}"'
            f' width="100%" role="img" aria-labelledby="{cid}-title {cid}-desc"'
            ' class="stat-chart">',
            f'<title id="{cid}-title">{_esc(title)}</title>',
            f'<desc id="{cid}-desc">{_esc(description)}</desc>',
            f'<g font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}" fill="{INK}">',
            *body,
            "</g>",
            "</svg>",
        ]
    )


def _text(x: float, y: float, text: str, css: str, anchor: str = "start", extra: str = "") -> str:
    return (
        f'<text class="{css}" x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>'
        f"{_esc(text)}</text>"
    )


def _no_data(x: float, y: float) -> str:
    return _text(x, y, NO_DATA, "no-data", "middle", f' fill="{MUTED}" font-size="13"')


def _no_data_in(frame: _Frame) -> str:
    return _no_data((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2)


def _legend(series: Sequence[Series], left: float) -> tuple[list[str], float]:
    """Swatch and name per series, wrapping onto further rows; returns parts and height."""
    if not series:
        return [], 0.0
    parts = ['<g class="legend">']
    x, y = left, PAD
    for one in series:
        name = _truncate(one.name, LEGEND_TEXT_MAX)
        width = 16 + _text_width(name) + 16
        if x > left and x + width > WIDTH - PAD:
            x, y = left, y + LEGEND_ROW
        tooltip = f"<title>{_esc(one.name)}</title>" if name != one.name else ""
        parts += [
            f'<g class="legend-item">{tooltip}',
            f'<rect x="{_num(x)}" y="{_num(y)}" width="12" height="12" fill="{_esc(one.colour)}"/>',
            _text(x + 16, y + 10, name, "legend-name"),
            "</g>",
        ]
        x += width
    parts.append("</g>")
    return parts, y + LEGEND_ROW - PAD


def _label_stride(shown: Sequence[str], slot: float) -> int:
    """Draw every k-th x label: k slots must hold the widest label and a gap."""
    widest = max((_text_width(label) for label in shown), default=0.0)
    return max(1, math.ceil((widest + LABEL_GAP) / slot))


def _x_labels(frame: _Frame, labels: Sequence[str]) -> list[str]:
    shown = [_truncate(label, X_LABEL_MAX) for label in labels]
    stride = _label_stride(shown, frame.slot)
    return [
        _text(frame.x_of(i), frame.bottom + 16, text, "x-label", "middle")
        for i, text in enumerate(shown)
        if i % stride == 0
    ]


def _y_grid(frame: _Frame, ticks: Sequence[tuple[float, str]]) -> list[str]:
    parts = []
    for tick, text in ticks:
        y = _num(frame.y_of(tick))
        colour = AXIS if tick == 0 else GRID
        parts.append(
            f'<line class="grid" x1="{_num(frame.left)}" y1="{y}" x2="{_num(frame.right)}"'
            f' y2="{y}" stroke="{colour}" stroke-width="1"/>'
        )
        parts.append(
            _text(frame.left - 6, frame.y_of(tick) + 4, text, "y-tick", "end", f' fill="{MUTED}"')
        )
    return parts


def _tooltip(label: str, name: str, value_text: str) -> str:
    return f"<title>{_esc(f'{label} · {name}: {value_text}')}</title>"


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    """Indexes of the unbroken stretches between missing values."""
    runs: list[list[int]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(index)
    return [run for run in runs if run]


def _line(frame: _Frame, labels: Sequence[str], one: Series, fmt: _Format) -> list[str]:
    parts = ['<g class="series">']
    for run in _runs(one.values):
        if len(run) > 1:
            points = " ".join(
                f"{_num(frame.x_of(i))},{_num(frame.y_of(one.values[i]))}" for i in run
            )
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{_esc(one.colour)}"'
                ' stroke-width="2" stroke-linejoin="round"/>'
            )
    for index, value in enumerate(one.values):
        if value is not None:
            parts.append(
                f'<circle class="point" cx="{_num(frame.x_of(index))}"'
                f' cy="{_num(frame.y_of(value))}" r="3" fill="{_esc(one.colour)}"'
                f' stroke="#FFFFFF" stroke-width="1">'
                f"{_tooltip(labels[index], one.name, fmt(value))}</circle>"
            )
    parts.append("</g>")
    return parts


def _last_point(values: Sequence[float | None]) -> tuple[int, float] | None:
    present = [(index, value) for index, value in enumerate(values) if value is not None]
    return present[-1] if present else None


def _spread(ys: Sequence[float], gap: float, lowest: float) -> list[float]:
    """Move label baselines apart by at least `gap`, keeping their order; push the stack up
    when it would run below `lowest`."""
    order = sorted(range(len(ys)), key=lambda i: (ys[i], i))
    placed = list(ys)
    previous = -math.inf
    for i in order:
        placed[i] = max(ys[i], previous + gap)
        previous = placed[i]
    overflow = previous - lowest
    return [y - overflow for y in placed] if overflow > 0 else placed


def _end_labels(frame: _Frame, series: Sequence[Series], fmt: _Format) -> list[str]:
    ends = [(one, _last_point(one.values)) for one in series]
    ends = [(one, end) for one, end in ends if end is not None]
    ys = _spread([frame.y_of(value) + 4 for _, (_, value) in ends], 12, frame.bottom + 4)
    return [
        _text(frame.x_of(index) + 7, y, fmt(value), "end-label", extra=' font-weight="600"')
        for (_, (index, value)), y in zip(ends, ys, strict=True)
    ]


def _horizontal_target(frame: _Frame, target: float, label: str) -> list[str]:
    y = frame.y_of(target)
    return [
        f'<line class="target" x1="{_num(frame.left)}" y1="{_num(y)}" x2="{_num(frame.right)}"'
        f' y2="{_num(y)}" stroke="{INK}" stroke-width="1.5" stroke-dasharray="6 4"/>',
        _text(frame.left + 4, y - 4, label, "target-label"),
    ]


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    description: str,
    unit: str = "",
    y_max: float | None = None,
    target: float | None = None,
    target_label: str = "",
    value_format: _Format | None = None,
) -> str:
    """One polyline per series over the labels, broken where a value is None; a marker with a
    tooltip per value, the last value written at the line's end, an optional target line."""
    labels = tuple(_clean(label) for label in labels)
    rows = _prepared_series(labels, series)
    target = _checked(target, "target")
    if y_max is not None and not float(y_max) > 0:
        raise ValueError(f"y_max must be positive, got {y_max!r}")
    fmt = _formatter(value_format, unit)
    present = [v for one in rows for v in one.values if v is not None]
    peak = max([*present, target or 0.0])
    axis_max, ticks = _value_axis(peak, y_max and float(y_max), value_format, unit)
    ends = [end for end in map(_last_point, (one.values for one in rows)) if end is not None]
    widest_end = max((_text_width(fmt(value)) for _, value in ends), default=0.0)
    left = _left_margin(ticks)
    legend, legend_height = _legend(rows, left)
    top = PAD + legend_height + 12
    right = WIDTH - min(max(widest_end + 12, 16), MARGIN_MAX)
    frame = _Frame(left, top, right, top + PLOT_HEIGHT, axis_max, len(labels))
    body = [*legend, *_y_grid(frame, ticks), *_x_labels(frame, labels)]
    if target is not None:
        body += _horizontal_target(frame, target, target_label or fmt(target))
    if present:
        for one in rows:
            body += _line(frame, labels, one, fmt)
        body += _end_labels(frame, rows, fmt)
    else:
        body.append(_no_data_in(frame))
    return _document(chart_id, title, description, frame.bottom + 28, body)


def _column_values(series: Sequence[Series], index: int) -> list[tuple[Series, float]]:
    return [(one, one.values[index]) for one in series if one.values[index] is not None]


def _column_total(values: Sequence[tuple[Series, float]]) -> float:
    total = sum(value for _, value in values)  # overflows to inf, which is refused
    if not math.isfinite(total):
        raise ValueError("a column's total is too large to draw")
    return total


def _segments(
    frame: _Frame,
    index: int,
    label: str,
    values: Sequence[tuple[Series, float]],
    fmt: _Format,
    percent: bool,
) -> list[str]:
    """Rectangles from the bottom up in series order. Edges are rounded once and shared by
    neighbours, so the segments tile the column exactly."""
    running = list(accumulate(value for _, value in values))
    total = running[-1]  # the same additions as the last edge, so its share is exactly 100 %
    if percent and total == 0:
        return []
    width = min(frame.slot * 0.64, 56)
    x = _num(frame.x_of(index) - width / 2)
    parts, lower = [], round(frame.y_of(0), 1)
    for (one, value), level in zip(values, running, strict=True):
        upper = round(frame.y_of(level / total * 100 if percent else level), 1)
        if value > 0:
            share = f"（{_default_format(value / total * 100)}%）" if percent else ""
            text = fmt(value) + share
            parts.append(
                f'<rect class="segment" x="{x}" y="{_num(upper)}" width="{_num(width)}"'
                f' height="{_num(lower - upper)}" fill="{_esc(one.colour)}" stroke="#FFFFFF"'
                f' stroke-width="1">{_tooltip(label, one.name, text)}</rect>'
            )
        lower = upper
    return parts


def _total_label(frame: _Frame, index: int, total: float, text: str, rotated: bool) -> str:
    x, y = frame.x_of(index), frame.y_of(total) - 4
    if rotated:  # reads bottom to top, centred on the column
        x += FONT_SIZE * 0.35
        return _text(x, y, text, "total", extra=f' transform="rotate(-90 {_num(x)} {_num(y)})"')
    return _text(x, y, text, "total", "middle")


def _column(frame, index, label, series, fmt, percent, rotated) -> list[str]:
    values = _column_values(series, index)
    if not values:
        return []
    total = _column_total(values)
    parts = ['<g class="column">', _tooltip(label, "合计", fmt(total))]
    parts += _segments(frame, index, label, values, fmt, percent)
    if not percent:
        parts.append(_total_label(frame, index, total, fmt(total), rotated))
    parts.append("</g>")
    return parts


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    description: str,
    unit: str = "",
    percent: bool = False,
    value_format: _Format | None = None,
) -> str:
    """One column per label with the series stacked bottom-up, totals on top; with `percent`
    each column is 100 % and its segments are shares (the tooltips keep the values)."""
    labels = tuple(_clean(label) for label in labels)
    rows = _prepared_series(labels, series)
    fmt = _formatter(value_format, unit)
    totals = [_column_total(_column_values(rows, i)) for i in range(len(labels))]
    present = any(_column_values(rows, i) for i in range(len(labels)))
    if percent:
        axis_max, ticks = _value_axis(100.0, 100.0, None, "%")
    else:
        axis_max, ticks = _value_axis(max(totals, default=0.0), None, value_format, unit)
    left = _left_margin(ticks)
    legend, legend_height = _legend(rows, left)
    slot = (WIDTH - PAD - left) / max(len(labels), 1)
    widest_total = 0.0 if percent else max((_text_width(fmt(t)) for t in totals), default=0.0)
    rotated = widest_total > slot - 2
    headroom = widest_total + 8 if rotated else 16
    top = PAD + legend_height + headroom
    frame = _Frame(left, top, WIDTH - PAD, top + PLOT_HEIGHT, axis_max, len(labels))
    body = [*legend, *_y_grid(frame, ticks), *_x_labels(frame, labels)]
    if present:
        for index, label in enumerate(labels):
            body += _column(frame, index, label, rows, fmt, percent, rotated)
    else:
        body.append(_no_data_in(frame))
    return _document(chart_id, title, description, frame.bottom + 28, body)


def _ranked_row(bar: Bar, y: float, length: float, value_text: str) -> list[str]:
    """Label, bar and value on one row; a drill-down link wraps the label and the bar."""
    linked = bool(bar.href)
    label = _truncate(_clean(bar.label), ROW_LABEL_MAX)
    underline = ' text-decoration="underline"' if linked else ""
    inner = [
        _text(ROW_LABEL_RIGHT, y + 4, label, "bar-label", "end", underline),
        f'<rect class="bar" x="{BAR_LEFT}" y="{_num(y - BAR_HEIGHT / 2)}" width="{_num(length)}"'
        f' height="{BAR_HEIGHT}" fill="{PALETTE[0]}"/>',
    ]
    if linked:
        inner = [f'<a href="{_esc(bar.href)}">', *inner, "</a>"]
    return [
        '<g class="row">',
        f"<title>{_esc(f'{bar.label}: {value_text}')}</title>",
        *inner,
        _text(BAR_LEFT + length + 6, y + 4, value_text, "value"),
        "</g>",
    ]


def _vertical_target(x: float, top: float, bottom: float, label: str) -> list[str]:
    half = _text_width(label) / 2
    label_x = min(max(x, half + PAD), WIDTH - PAD - half)  # keep the label inside the chart
    return [
        f'<line class="target" x1="{_num(x)}" y1="{_num(top)}" x2="{_num(x)}" y2="{_num(bottom)}"'
        f' stroke="{INK}" stroke-width="1.5" stroke-dasharray="6 4"/>',
        _text(label_x, top - 6, label, "target-label", "middle"),
    ]


def ranked_bars(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    description: str,
    unit: str = "",
    target: float | None = None,
    target_label: str = "",
    value_format: _Format | None = None,
    max_value: float | None = None,
) -> str:
    """Horizontal bars in the order given, lengths proportional to the value over the largest
    of `max_value`, the values and the target (so neither bars nor target leave the chart)."""
    bars = tuple(bars)
    values = [_checked(bar.value, f"bar {bar.label!r}") for bar in bars]
    target = _checked(target, "target")
    cap = _checked(max_value, "max_value")
    if not bars:
        return _document(chart_id, title, description, 60, [_no_data(WIDTH / 2, 34)])
    fmt = _formatter(value_format, unit)
    scale = max([*values, target or 0.0, cap or 0.0]) or 1.0
    texts = [fmt(value) + _clean(bar.note) for bar, value in zip(bars, values, strict=True)]
    value_room = min(max(_text_width(t) for t in texts) + 12, VALUE_ROOM_MAX)
    full = WIDTH - PAD - value_room - BAR_LEFT
    top = PAD + (20 if target is not None else 0)
    body = []
    for row, (bar, value, text) in enumerate(zip(bars, values, texts, strict=True)):
        y = top + (row + 0.5) * ROW_HEIGHT
        body += _ranked_row(bar, y, value / scale * full, text)
    bottom = top + len(bars) * ROW_HEIGHT
    if target is not None:
        x = BAR_LEFT + target / scale * full
        body += _vertical_target(x, top, bottom, target_label or fmt(target))
    return _document(chart_id, title, description, bottom + PAD, body)
