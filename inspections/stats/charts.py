"""The dashboard's charts: figures → the SVG of `svg.py`, with translated titles. Every chart
has its table beside it on the page (`tables.py`), so nothing is only in a picture; the links
to the records are in the tables only (a link inside an SVG of role img is hidden from screen
readers, and axe counts it as a nested control)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from inspections.stats import svg
from inspections.stats.dashboard import DashboardFigures
from inspections.stats.inspections import KINDS
from inspections.stats.tables import grade_columns, grade_label, kind_labels, month_key

RANKED_RULES = 10  # the most found rules; the table beside lists them all


@dataclass(frozen=True)
class Chart:
    table_id: str  # the table it stands beside
    title: str  # also the accessible name of the figure that scrolls it on a phone
    svg: SafeString


def dashboard_charts(figures: DashboardFigures) -> dict[str, Chart]:
    charts = [
        inspections_chart(figures),
        coverage_chart(figures),
        regions_chart(figures),
        rules_chart(figures),
        review_chart(figures),
        grades_chart(figures),
        blacklist_chart(figures),
    ]
    return {chart.table_id: chart for chart in charts if chart is not None}


def _chart(table_id: str, title: str, markup: str) -> Chart:
    return Chart(table_id, title, mark_safe(markup))  # noqa: S308 - svg.py escapes every text


def _months(figures: DashboardFigures) -> list[str]:
    return [month_key(month) for month in figures.trend.months]


def inspections_chart(figures: DashboardFigures) -> Chart:
    labels = kind_labels()
    by_month = figures.inspections.by_month
    months = figures.trend.months
    series = [
        svg.Series(labels[kind], tuple(by_month.get(m, {}).get(kind, 0) for m in months))
        for kind in KINDS
    ]
    title = _("每月巡查次数")
    markup = svg.stacked_bars(
        _months(figures),
        series,
        chart_id="chart-inspections",
        title=title,
        description=_("按类型堆叠的每月已提交巡查次数。"),
    )
    return _chart("inspections-by-month", title, markup)


def coverage_chart(figures: DashboardFigures) -> Chart:
    values = tuple(figures.coverage_by_month[m].percent for m in figures.trend.months)
    title = _("巡查覆盖率（近12个月）")
    markup = svg.line_chart(
        _months(figures),
        [svg.Series(_("巡查覆盖率"), values)],
        chart_id="chart-coverage",
        title=title,
        description=_("每月末，近12个月内至少巡查过一次的项目占全部项目的比例。"),
        unit="%",
        y_max=100,
        target=100,
        target_label=_("目标：每个项目每年至少一次"),
    )
    return _chart("coverage", title, markup)


def regions_chart(figures: DashboardFigures) -> Chart | None:
    if not figures.region.children:
        return None
    coverage = figures.coverage_by_child
    bars = []
    for child in figures.region.children:
        found = coverage.get(child.prefix)
        if found and found.compounds:
            note = f"（{found.inspected}/{found.compounds}）"
            bars.append(svg.Bar(child.name, found.percent or 0.0, note=note))
    bars.sort(key=lambda bar: -bar.value)
    title = _("下级区划巡查覆盖率")
    markup = svg.ranked_bars(
        bars,
        chart_id="chart-regions",
        title=title,
        description=_("统计期末各下级区划近12个月的巡查覆盖率，从高到低。"),
        unit="%",
        max_value=100,
        target=100,
        target_label=_("目标"),
    )
    return _chart("regions", title, markup)


def rules_chart(figures: DashboardFigures) -> Chart:
    rows = figures.findings.by_rule[:RANKED_RULES]
    title = _("发现最多的违规行为")
    markup = svg.ranked_bars(
        [svg.Bar(row.title, row.found) for row in rows],
        chart_id="chart-rules",
        title=title,
        description=_("统计期内发现次数最多的违规行为（前10项）。"),
    )
    return _chart("findings-by-rule", title, markup)


def review_chart(figures: DashboardFigures) -> Chart:
    months = figures.findings.review_by_month
    title = _("审核确认率")
    markup = svg.line_chart(
        _months(figures),
        [svg.Series(_("确认率"), tuple(m.confirmation_percent for m in months))],
        chart_id="chart-review",
        title=title,
        description=_("每月审核的违规发现中确认的比例。"),
        unit="%",
        y_max=100,
    )
    return _chart("review", title, markup)


def grades_chart(figures: DashboardFigures) -> Chart:
    series = [
        svg.Series(
            grade_label(grade),
            tuple(m.firms_by_grade.get(grade, 0) if m.as_of else None for m in figures.grades),
            svg.GRADE_COLOURS.get(grade, ""),
        )
        for grade in grade_columns(figures)
    ]
    title = _("信用等级分布")
    markup = svg.stacked_bars(
        _months(figures),
        series,
        chart_id="chart-grades",
        title=title,
        description=_("每月最后一次发布的快照中各信用等级企业的占比。"),
        percent=True,
    )
    return _chart("grades", title, markup)


def blacklist_chart(figures: DashboardFigures) -> Chart:
    months = figures.blacklist.by_month
    title = _("黑名单列入与移出")
    markup = svg.line_chart(
        _months(figures),
        [
            svg.Series(_("列入"), tuple(m.entries for m in months)),
            svg.Series(_("移出"), tuple(m.exits for m in months)),
        ],
        chart_id="chart-blacklist",
        title=title,
        description=_("每月列入和移出黑名单的企业数。"),
    )
    return _chart("blacklist", title, markup)
