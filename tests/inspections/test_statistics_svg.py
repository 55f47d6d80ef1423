"""The statistics charts (inspections.stats.svg): well-formed SVG whatever the figures,
shapes whose sizes are the values, labels that do not collide, colours that pass WCAG."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspections.stats.svg import (
    GRADE_COLOURS,
    PALETTE,
    Bar,
    Series,
    line_chart,
    ranked_bars,
    stacked_bars,
)

NS = "{http://www.w3.org/2000/svg}"
MONTHS = tuple(f"{2024 + i // 12}-{i % 12 + 1:02d}" for i in range(36))
CJK_MONTHS = tuple(f"{2024 + i // 12}年{i % 12 + 1}月" for i in range(36))
COMMON = {"chart_id": "chart", "title": "图表", "description": "说明"}

# Text that survives XML unchanged: no control, surrogate or unassigned code points (the
# module drops those; a test below checks that), plus the characters that need escaping.
text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cc", "Cs", "Cn")),
        st.sampled_from("<>&\"'呼和浩特市黑名单 ·…（）"),
    ),
    max_size=12,
)
value = st.one_of(
    st.none(),
    st.just(0.0),
    st.floats(0, 1e6),
    st.floats(1e-9, 1e-3),
    st.floats(1e6, 1e200),
    st.integers(0, 10**6).map(float),
)


@st.composite
def chart_data(draw, max_labels: int = 36) -> tuple[list[str], list[Series]]:
    labels = draw(st.lists(text, max_size=max_labels))
    values = st.lists(value, min_size=len(labels), max_size=len(labels)).map(tuple)
    series = draw(st.lists(st.builds(Series, name=text, values=values), max_size=6))
    return labels, series


# --- reading the SVG back -------------------------------------------------------------------


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def elements(root: ET.Element, tag: str, css: str | None = None) -> list[ET.Element]:
    return [e for e in root.iter(NS + tag) if css is None or css in e.get("class", "").split()]


def texts(root: ET.Element, css: str) -> list[str]:
    return ["".join(e.itertext()) for e in elements(root, "text", css)]


def titles(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(NS + "title")]


def f(element: ET.Element, attribute: str) -> float:
    return float(element.get(attribute))


def points(polyline: ET.Element) -> list[tuple[float, float]]:
    pairs = [p.split(",") for p in polyline.get("points").split()]
    return [(float(x), float(y)) for x, y in pairs]


def value_axis(root: ET.Element) -> tuple[float, float]:
    """(y of zero, pixels per unit), from the gridlines and their tick labels."""
    lines = elements(root, "line", "grid")
    ticks = [float(t.rstrip("%次")) for t in texts(root, "y-tick")]
    assert len(lines) == len(ticks) and ticks[0] == 0
    zero, top = f(lines[0], "y1"), f(lines[-1], "y1")
    return zero, (zero - top) / ticks[-1]


def estimated_width(label: str) -> float:
    """The width the charts reserve for a label at font-size 11: CJK a full em."""
    return sum(11.0 if ord(c) >= 0x2E80 else 6.5 for c in label)


def default_text(number: float) -> str:
    """The charts' default number format, written out independently."""
    if abs(number) >= 1e15:
        return f"{number:.3g}"
    return str(int(number)) if number == int(number) else f"{number:.1f}"


def view_height(root: ET.Element) -> float:
    return float(root.get("viewBox").split()[3])


def contrast_with_white(colour: str) -> float:
    """WCAG 2.x contrast ratio of an sRGB colour against white."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


# --- colours --------------------------------------------------------------------------------


def test_contrast_formula_matches_known_values():
    assert contrast_with_white("#FFFFFF") == pytest.approx(1.0)
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)


def test_palette_has_six_distinct_colours_with_3_to_1_contrast():
    assert len(PALETTE) == 6 and len(set(PALETTE)) == 6
    for colour in PALETTE:
        assert re.fullmatch(r"#[0-9A-Fa-f]{6}", colour)
        assert contrast_with_white(colour) >= 3.0, colour


def test_grade_colours_cover_every_grade_with_3_to_1_contrast():
    assert list(GRADE_COLOURS) == ["AAA", "AA", "A", "B", "C", "黑名单"]
    assert len(set(GRADE_COLOURS.values())) == 6
    for grade, colour in GRADE_COLOURS.items():
        assert contrast_with_white(colour) >= 3.0, grade
    red, green, _ = (int(GRADE_COLOURS["黑名单"][i : i + 2], 16) for i in (1, 3, 5))
    assert red > 3 * max(green, 1)  # the blacklist is a red
    for grade in ("AAA", "AA"):
        r, g, b = (int(GRADE_COLOURS[grade][i : i + 2], 16) for i in (1, 3, 5))
        assert g > r and g > b  # the best grades are greens


# --- the document ---------------------------------------------------------------------------


def test_root_carries_accessible_name_and_sanitised_id():
    markup = line_chart(
        MONTHS[:3],
        [Series("计划巡查", (1.0, 2.0, 3.0))],
        chart_id='cov "2024"<x> é',
        title="巡查 <次数> & 覆盖",
        description='按月 "计划"',
    )
    assert markup.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 720 ')
    root = parse(markup)
    assert root.get("width") == "100%" and root.get("role") == "img"
    assert root.get("class") == "stat-chart"
    assert root.get("aria-labelledby") == "cov2024x-title cov2024x-desc"
    first, second = list(root)[:2]
    assert (first.tag, first.get("id"), first.text) == (
        NS + "title",
        "cov2024x-title",
        "巡查 <次数> & 覆盖",
    )
    assert (second.tag, second.get("id"), second.text) == (
        NS + "desc",
        "cov2024x-desc",
        '按月 "计划"',
    )
    assert "巡查 &lt;次数&gt; &amp; 覆盖" in markup


def test_tooltips_stay_out_of_text_and_links():
    """WeasyPrint draws <text> and <a> content as text: a <title> there would be printed."""
    bars = [Bar("呼和浩特市", 10, href="/a/"), Bar("包头市", 5)]
    for markup in (
        ranked_bars(bars, **COMMON),
        line_chart(MONTHS[:4], [Series("a", (1.0, 2.0, None, 4.0))], **COMMON),
        stacked_bars(MONTHS[:4], [Series("a", (1.0, 2.0, None, 4.0))], **COMMON),
    ):
        root = parse(markup)
        for container in [*elements(root, "text"), *elements(root, "a")]:
            assert not list(container.iter(NS + "title"))


def test_output_is_deterministic_and_coordinates_have_one_decimal():
    series = [Series("甲", tuple(i / 7 for i in range(36))), Series("乙", (1 / 3,) * 36)]
    first = stacked_bars(MONTHS, series, **COMMON)
    assert first == stacked_bars(list(MONTHS), list(series), **COMMON)
    markups = [first, line_chart(MONTHS, series, target=2 / 3, **COMMON)]
    markups.append(ranked_bars([Bar(str(i), i / 7) for i in range(9)], target=0.5, **COMMON))
    coordinate = re.compile(r' (?:x|y|x1|x2|y1|y2|cx|cy|width|height)="([^"]*)"')
    for markup in markups:
        _, body = markup.split(">", 1)  # the root's width is "100%"
        for number in coordinate.findall(body):
            assert re.fullmatch(r"\d+(\.\d)?", number), number
        for pair in re.findall(r' points="([^"]*)"', markup):
            assert re.fullmatch(r"(\d+(\.\d)?,\d+(\.\d)? ?)+", pair)


def test_control_characters_are_dropped_and_the_output_still_parses():
    name = "a\x00b\x1fc\ufffed\ud800e\tf\ng"
    root = parse(line_chart(["x\x0b"], [Series(name, (1.0,))], **COMMON))
    assert texts(root, "legend-name") == ["abcde f g"]
    assert texts(root, "x-label") == ["x"]


# --- line chart -----------------------------------------------------------------------------


@given(chart_data(), text, text)
def test_line_chart_is_well_formed_and_every_value_has_a_tooltip(data, title, description):
    labels, series = data
    root = parse(
        line_chart(labels, series, unit="次", chart_id="c", title=title, description=description)
    )
    assert [e.text or "" for e in list(root)[:2]] == [title, description]
    present = [v for one in series for v in one.values if v is not None]
    assert texts(root, "no-data") == ([] if present else ["暂无数据"])
    assert elements(root, "line", "grid"), "the axes are drawn even without data"
    if not present:
        return
    assert texts(root, "legend-name") == [one.name for one in series]
    groups = elements(root, "g", "series")
    assert len(groups) == len(series)
    for group, one in zip(groups, series, strict=True):
        circles = elements(group, "circle", "point")
        indexes = [i for i, v in enumerate(one.values) if v is not None]
        assert len(circles) == len(indexes)
        for circle, index in zip(circles, indexes, strict=True):
            tooltip = circle.find(NS + "title").text
            assert tooltip.startswith(f"{labels[index]} · {one.name}: ")
            assert tooltip.endswith("次")


@given(chart_data(max_labels=24))
def test_line_points_run_left_to_right_and_higher_values_sit_higher(data):
    labels, series = data
    root = parse(line_chart(labels, series, **COMMON))
    zero, per_unit = value_axis(root)
    drawn = []
    for group, one in zip(elements(root, "g", "series"), series, strict=False):
        for polyline in elements(group, "polyline"):
            xs = [x for x, _ in points(polyline)]
            assert xs == sorted(xs) and len(set(xs)) == len(xs)
        circles = elements(group, "circle", "point")
        cxs = [f(c, "cx") for c in circles]
        assert cxs == sorted(cxs) and len(set(cxs)) == len(cxs)
        values = [v for v in one.values if v is not None]
        for circle, v in zip(circles, values, strict=True):
            assert f(circle, "cy") == pytest.approx(zero - v * per_unit, abs=0.21)
            drawn.append((v, f(circle, "cy")))
    drawn.sort()
    for (low, low_y), (high, high_y) in itertools.pairwise(drawn):
        assert high_y <= low_y
        if (high - low) * per_unit > 0.2:
            assert high_y < low_y


def test_line_breaks_at_missing_values():
    values = (1.0, 2.0, None, 3.0, None, 4.0, 5.0, 6.0)
    root = parse(line_chart(MONTHS[:8], [Series("a", values)], **COMMON))
    runs = [len(points(p)) for p in elements(root, "polyline")]
    assert runs == [2, 3]  # the lone 3.0 is a marker only
    assert len(elements(root, "circle", "point")) == 6
    assert texts(root, "end-label") == ["6"]


def test_line_chart_labels_tooltips_and_end_values():
    series = [
        Series("计划巡查", (3.0, 12.5, None, 40.0)),
        Series("实际巡查", (1 / 3, 2.0, 2.0, None)),
    ]
    root = parse(line_chart(MONTHS[:4], series, unit="次", **COMMON))
    tips = titles(root)
    for expected in (
        "2024-01 · 计划巡查: 3次",
        "2024-02 · 计划巡查: 12.5次",
        "2024-04 · 计划巡查: 40次",
    ):
        assert expected in tips
    assert "2024-01 · 实际巡查: 0.3次" in tips
    assert sorted(texts(root, "end-label")) == ["2次", "40次"]  # the last value present
    swatches = [e.find(NS + "rect").get("fill") for e in elements(root, "g", "legend-item")]
    assert swatches == [PALETTE[0], PALETTE[1]]
    for group, colour in zip(elements(root, "g", "series"), PALETTE, strict=False):
        assert group.find(NS + "polyline").get("stroke") == colour


def test_custom_value_format_and_colour():
    series = [Series("a", (1234.0, 5678.0), colour="#123456")]
    root = parse(line_chart(["x", "y"], series, value_format=lambda v: f"{v:,.0f}", **COMMON))
    assert "x · a: 1,234" in titles(root)
    assert "5,678" in texts(root, "end-label")
    assert elements(root, "polyline")[0].get("stroke") == "#123456"


@given(st.floats(1e-6, 1e12))
def test_value_axis_is_nice_with_four_to_six_gridlines(peak):
    root = parse(line_chart(["a", "b"], [Series("s", (peak, peak / 3))], **COMMON))
    ticks = [float(t) for t in texts(root, "y-tick")]
    assert 4 <= len(ticks) <= 6 and ticks[0] == 0
    step = ticks[1]
    assert all(b - a == pytest.approx(step, rel=1e-9) for a, b in itertools.pairwise(ticks))
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5)) < 1e-6
    assert ticks[-1] >= peak * (1 - 1e-9)
    assert ticks[-2] < peak  # not a gridline more than needed


def test_y_max_fixes_the_axis_and_the_target_line_sits_at_its_value():
    series = [Series("覆盖率", tuple(40.0 + i for i in range(36)))]
    root = parse(
        line_chart(
            MONTHS, series, unit="%", y_max=100, target=75, target_label="目标 75%", **COMMON
        )
    )
    assert texts(root, "y-tick") == ["0%", "20%", "40%", "60%", "80%", "100%"]
    zero, per_unit = value_axis(root)
    (target,) = elements(root, "line", "target")
    assert f(target, "y1") == f(target, "y2") == pytest.approx(zero - 75 * per_unit, abs=0.05)
    assert target.get("stroke-dasharray")
    grid = elements(root, "line", "grid")[0]
    assert (f(target, "x1"), f(target, "x2")) == (f(grid, "x1"), f(grid, "x2"))
    assert texts(root, "target-label") == ["目标 75%"]


def test_axis_grows_to_show_a_target_or_values_above_y_max():
    root = parse(line_chart(["a", "b"], [Series("s", (10.0, 20.0))], target=75, **COMMON))
    zero, per_unit = value_axis(root)
    top = f(elements(root, "line", "grid")[-1], "y1")
    (target,) = elements(root, "line", "target")
    assert top <= f(target, "y1") == pytest.approx(zero - 75 * per_unit, abs=0.05)
    assert texts(root, "target-label") == ["75"]
    root = parse(line_chart(["a"], [Series("s", (130.0,))], y_max=100, **COMMON))
    assert float(texts(root, "y-tick")[-1]) >= 130


def test_a_single_label_sits_in_the_middle_of_the_plot():
    root = parse(line_chart(["2026-12"], [Series("a", (5.0,))], **COMMON))
    grid = elements(root, "line", "grid")[0]
    (circle,) = elements(root, "circle")
    assert f(circle, "cx") == pytest.approx((f(grid, "x1") + f(grid, "x2")) / 2, abs=0.1)
    assert texts(root, "x-label") == ["2026-12"]


# --- x labels -------------------------------------------------------------------------------


def label_spans(root: ET.Element) -> list[tuple[float, float]]:
    spans = []
    for element in elements(root, "text", "x-label"):
        assert element.get("text-anchor") == "middle"
        half = estimated_width("".join(element.itertext())) / 2
        spans.append((f(element, "x") - half, f(element, "x") + half))
    return spans


@pytest.mark.parametrize("labels", [MONTHS, CJK_MONTHS], ids=["months", "cjk"])
@pytest.mark.parametrize("chart", [line_chart, stacked_bars])
def test_x_labels_never_overlap_for_36_months(chart, labels):
    root = parse(chart(labels, [Series("a", tuple(range(36)))], **COMMON))
    spans = label_spans(root)
    assert 4 <= len(spans) < 36
    assert texts(root, "x-label")[0] == labels[0]
    for (_, left_end), (right_start, _) in itertools.pairwise(spans):
        assert left_end < right_start


def test_every_label_shows_when_there_is_room():
    root = parse(stacked_bars(MONTHS[:6], [Series("a", (1.0,) * 6)], **COMMON))
    assert texts(root, "x-label") == list(MONTHS[:6])


@given(st.lists(text, min_size=1, max_size=36))
def test_x_labels_never_overlap_whatever_the_labels(labels):
    series = [Series("a", (1.0,) * len(labels))]
    spans = label_spans(parse(line_chart(labels, series, **COMMON)))
    assert spans
    for (_, left_end), (right_start, _) in itertools.pairwise(spans):
        assert left_end < right_start


# --- stacked columns ------------------------------------------------------------------------


@given(chart_data(max_labels=12), st.booleans())
def test_stacked_segments_tile_their_column_in_proportion(data, percent):
    labels, series = data
    root = parse(stacked_bars(labels, series, percent=percent, **COMMON))
    filled = [i for i in range(len(labels)) if any(s.values[i] is not None for s in series)]
    assert texts(root, "no-data") == ([] if filled else ["暂无数据"])
    columns = elements(root, "g", "column")
    assert len(columns) == len(filled)
    zero, per_unit = value_axis(root)
    for column, index in zip(columns, filled, strict=True):
        present = [(k, s, s.values[index]) for k, s in enumerate(series)]
        present = [(k, s, v) for k, s, v in present if v is not None]
        total = sum(v for _, _, v in present)
        drawn = [(k, s, v) for k, s, v in present if v > 0]
        segments = elements(column, "rect", "segment")
        assert len(segments) == (0 if percent and total == 0 else len(drawn))
        edge = zero  # bottom up: each segment ends where the one below began
        for segment, (k, one, v) in zip(segments, drawn, strict=False):
            assert f(segment, "y") + f(segment, "height") == pytest.approx(edge, abs=1e-6)
            share = v / total * 100 if percent else v
            assert f(segment, "height") == pytest.approx(share * per_unit, abs=0.21)
            assert segment.get("fill") == PALETTE[k % 6]
            assert segment.find(NS + "title").text.startswith(f"{labels[index]} · {one.name}: ")
            edge = f(segment, "y")
        expected = (100 if total > 0 else 0) if percent else total
        assert zero - edge == pytest.approx(expected * per_unit, abs=0.21)
        assert texts(column, "total") == ([] if percent else [default_text(total)])
        assert column.find(NS + "title").text == f"{labels[index]} · 合计: {default_text(total)}"


def test_stacked_totals_are_the_sums_and_percent_columns_are_equally_tall():
    grades = list(GRADE_COLOURS)
    series = [
        Series(grade, (float(i + 1), float(2 * i), 0.0, None), GRADE_COLOURS[grade])
        for i, grade in enumerate(grades)
    ]
    labels = ["呼和浩特市", "包头市", "乌海市", "赤峰市"]
    root = parse(stacked_bars(labels, series, unit="家", **COMMON))
    assert texts(root, "total") == ["21家", "30家", "0家"]  # 赤峰市 has no data: no column
    assert "呼和浩特市 · 黑名单: 6家" in titles(root)

    root = parse(stacked_bars(labels, series, unit="家", percent=True, **COMMON))
    assert texts(root, "total") == []
    assert texts(root, "y-tick") == ["0%", "20%", "40%", "60%", "80%", "100%"]
    heights = [
        sum(f(r, "height") for r in elements(column, "rect", "segment"))
        for column in elements(root, "g", "column")
    ]
    _, per_unit = value_axis(root)
    assert heights[0] == pytest.approx(heights[1], abs=1e-6)
    assert heights[0] == pytest.approx(100 * per_unit, abs=1e-6)
    assert heights[2] == 0  # all zero: nothing to share out
    assert "包头市 · AA: 2家（6.7%）" in titles(root)
    fills = [r.get("fill") for r in elements(elements(root, "g", "column")[0], "rect")]
    assert fills == list(GRADE_COLOURS.values())


def test_wide_totals_turn_upright_instead_of_overlapping():
    series = [Series("a", (123456.0,) * 36)]
    root = parse(stacked_bars(MONTHS, series, unit="次", **COMMON))
    totals = elements(root, "text", "total")
    assert len(totals) == 36 and all("rotate(-90" in t.get("transform") for t in totals)
    root = parse(stacked_bars(MONTHS[:6], [Series("a", (123456.0,) * 6)], **COMMON))
    assert not any(t.get("transform") for t in elements(root, "text", "total"))


# --- ranked bars ----------------------------------------------------------------------------


@given(
    st.lists(
        st.builds(
            Bar,
            label=text,
            value=st.one_of(st.just(0.0), st.floats(0, 1e6), st.floats(1e-9, 1e-3)),
            href=st.one_of(st.just(""), text.map(lambda t: "/s/?q=" + t)),
            note=text,
        ),
        max_size=15,
    )
)
def test_ranked_bars_are_proportional_and_keep_order_labels_and_links(bars):
    root = parse(ranked_bars(bars, unit="%", **COMMON))
    rows = elements(root, "g", "row")
    assert len(rows) == len(bars)
    if not bars:
        assert texts(root, "no-data") == ["暂无数据"]
        return
    widths = [f(row.find(f".//{NS}rect"), "width") for row in rows]
    largest = max(bar.value for bar in bars)
    full = max(widths)
    for bar, row, width in zip(bars, rows, widths, strict=True):
        expected = bar.value / largest * full if largest else 0.0
        assert width == pytest.approx(expected, abs=0.11)
        assert row.find(NS + "title").text.startswith(f"{bar.label}: ")
        assert texts(row, "value")[0].endswith(f"%{bar.note}")
        link = row.find(NS + "a")
        if bar.href:
            assert link.get("href") == bar.href
            assert link.find(NS + "rect") is not None and link.find(NS + "text") is not None
        else:
            assert link is None


def test_ranked_bars_text_scale_and_target():
    bars = [
        Bar("呼和浩特市", 90, note="（36/40）"),
        Bar("锡林郭勒盟锡林浩特市某某某某某街道", 45, note="（18/40）"),
        Bar("阿拉善盟", 0),
    ]
    root = parse(ranked_bars(bars, unit="%", target=75, target_label="目标 75%", **COMMON))
    assert texts(root, "value") == ["90%（36/40）", "45%（18/40）", "0%"]
    labels = texts(root, "bar-label")
    assert labels[0] == "呼和浩特市" and labels[1].endswith("…") and len(labels[1]) < 18
    assert "锡林郭勒盟锡林浩特市某某某某某街道: 45%（18/40）" in titles(root)
    rects = elements(root, "rect", "bar")
    assert f(rects[0], "width") == pytest.approx(2 * f(rects[1], "width"), abs=0.16)
    assert f(rects[2], "width") == 0
    (target,) = elements(root, "line", "target")
    expected = f(rects[0], "x") + 75 / 90 * f(rects[0], "width")
    assert f(target, "x1") == f(target, "x2") == pytest.approx(expected, abs=0.11)
    assert f(target, "y1") < f(rects[0], "y") and f(target, "y2") > f(rects[2], "y")
    assert texts(root, "target-label") == ["目标 75%"]


def test_ranked_bars_max_value_and_target_widen_the_scale():
    same_text = {"value_format": lambda v: "x", **COMMON}  # equal text: equal room for bars
    full = f(elements(parse(ranked_bars([Bar("a", 100)], **same_text)), "rect")[0], "width")
    capped = parse(ranked_bars([Bar("a", 50), Bar("b", 25)], max_value=100, **same_text))
    assert [f(r, "width") for r in elements(capped, "rect")] == pytest.approx(
        [full / 2, full / 4], abs=0.1
    )
    reached = parse(ranked_bars([Bar("a", 50)], target=100, **same_text))
    assert f(elements(reached, "rect")[0], "width") == pytest.approx(full / 2, abs=0.1)


def test_ranked_height_grows_26_px_a_row():
    def height(count: int) -> float:
        return view_height(parse(ranked_bars([Bar(str(i), i) for i in range(count)], **COMMON)))

    assert height(10) - height(3) == pytest.approx(7 * 26, abs=1)


def test_href_is_escaped_and_wraps_label_and_bar():
    href = '/stats/region/15/?from=2024-01&to=2026-12&q="x"'
    markup = ranked_bars([Bar("呼和浩特市", 5, href=href), Bar("包头市", 3)], **COMMON)
    assert 'href="/stats/region/15/?from=2024-01&amp;to=2026-12&amp;q=&quot;x&quot;"' in markup
    (link,) = elements(parse(markup), "a")
    assert link.get("href") == href
    assert [e.tag for e in link] == [NS + "text", NS + "rect"]
    assert "".join(link.find(NS + "text").itertext()) == "呼和浩特市"


# --- refusals and empty input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "draw",
    [
        lambda: ranked_bars([Bar("a", 1), Bar("b", -0.5)], **COMMON),
        lambda: ranked_bars([Bar("a", 1)], target=-1, **COMMON),
        lambda: stacked_bars(["a", "b"], [Series("s", (1.0, -2.0))], **COMMON),
        lambda: line_chart(["a"], [Series("s", (-1.0,))], **COMMON),
        lambda: line_chart(["a"], [Series("s", (math.nan,))], **COMMON),
        lambda: stacked_bars(["a"], [Series("s", (math.inf,))], **COMMON),
        lambda: stacked_bars(["a"], [Series("s", (1e308,)), Series("t", (1e308,))], **COMMON),
        lambda: line_chart(["a", "b"], [Series("s", (1.0,))], **COMMON),
        lambda: line_chart(["a"], [Series("s", (1.0,))], y_max=0, **COMMON),
    ],
    ids=[
        "negative bar",
        "negative target",
        "negative segment",
        "negative point",
        "nan",
        "infinite",
        "overflowing total",
        "values do not match labels",
        "zero y_max",
    ],
)
def test_refuses_what_cannot_be_drawn(draw):
    with pytest.raises(ValueError):
        draw()


@pytest.mark.parametrize(
    "markup",
    [
        line_chart([], [], **COMMON),
        line_chart(MONTHS[:3], [], **COMMON),
        line_chart(MONTHS[:3], [Series("a", (None, None, None))], target=5, **COMMON),
        stacked_bars([], [], **COMMON),
        stacked_bars(MONTHS[:3], [Series("a", (None,) * 3), Series("b", (None,) * 3)], **COMMON),
        stacked_bars(MONTHS[:2], [Series("a", (None, None))], percent=True, **COMMON),
        ranked_bars([], **COMMON),
    ],
)
def test_empty_input_says_no_data(markup):
    root = parse(markup)
    assert texts(root, "no-data") == ["暂无数据"]
    assert not elements(root, "circle") and not elements(root, "g", "column")
    if "grid" in markup:
        assert len(elements(root, "line", "grid")) >= 4


def test_empty_ranked_bars_is_small():
    root = parse(ranked_bars([], **COMMON))
    assert view_height(root) < 100 and not elements(root, "rect")
