"""The dashboard's figures as labelled tables: what the page shows beside each chart, what the
CSV and XLSX exports contain, and what the monthly report prints — one builder, so they hold
the same numbers. Each cell may link to the records behind it (the drill-down lists).

Labels are translated when the tables are built (per request); the figures they come from are
cached without text (`dashboard.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from credit.models import Severity
from credit.selectors import active_rulebook
from credit.stats.grades import BLACKLIST
from inspections.stats.coverage import (
    NON_RESIDENTIAL,
    OLD_RESIDENTIAL,
    RESIDENTIAL,
    SERVICE_TARGETS,
)
from inspections.stats.dashboard import DashboardFigures
from inspections.stats.inspections import COMPLAINT, KINDS, PLANNED, RANDOM, SELF_INITIATED
from inspections.stats.queries import share

Value = int | float | str | None


@dataclass(frozen=True)
class Cell:
    value: Value
    href: str = ""
    unit: str = ""  # "%" or "天": shown on the page, a column header's business in exports


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""


def kind_labels() -> dict[str, str]:
    return {
        PLANNED: _("计划巡查"),
        RANDOM: _("随机抽查"),
        COMPLAINT: _("投诉核查"),
        SELF_INITIATED: _("自行巡查"),
    }


def severity_labels() -> dict[str, str]:
    return {**{value: str(label) for value, label in Severity.choices}, "other": _("其他")}


def grade_columns(figures: DashboardFigures) -> list[str]:
    """The grades in rulebook order with 黑名单 last; grades no firm had are left out."""
    seen = {grade for month in figures.grades for grade in month.firms_by_grade}
    order = [*active_rulebook().rulebook.grade_names, BLACKLIST]
    return [grade for grade in order if grade in seen] + sorted(seen - set(order))


def grade_label(grade: str) -> str:
    return _("黑名单") if grade == BLACKLIST else grade


@dataclass(frozen=True)
class Headline:
    label: str
    cell: Cell
    hint: str = ""


def headline_figures(figures: DashboardFigures) -> list[Headline]:
    """The few numbers a department head reports first, each linked to its records."""
    links = Links(figures)
    f, c, r = figures.findings, figures.complaints, figures.random_share
    coverage = figures.coverage
    return [
        Headline(_("巡查次数"), Cell(figures.inspections.total, links.list("inspections"))),
        Headline(
            _("巡查覆盖率"),
            Cell(coverage.percent, links.list("compounds", covered="no"), unit="%"),
            _("{inspected}/{compounds} 个项目近12个月巡查过").format(
                inspected=coverage.inspected, compounds=coverage.compounds
            ),
        ),
        Headline(_("违规发现"), Cell(f.found, links.list("findings"))),
        Headline(
            _("审核确认率"),
            Cell(f.confirmation_percent, links.list("findings", reviewed="yes"), unit="%"),
            _("审核用时中位数 {days} 天").format(days=_number(f.median_days_to_review)),
        ),
        Headline(
            _("投诉受理"),
            Cell(c.received, links.list("complaints")),
            _("办结 {closed}，到场用时中位数 {days} 天").format(
                closed=c.closed, days=_number(c.median_days_to_visit)
            ),
        ),
        Headline(
            _("随机抽查比例"),
            Cell(r.achieved_percent, links.list("plan-items", selected="random"), unit="%"),
            _("计划 {planned}%").format(planned=_number(r.planned_percent)),
        ),
        Headline(
            _("黑名单列入／移出"),
            Cell(
                f"{figures.blacklist.entries}／{figures.blacklist.exits}", links.list("blacklist")
            ),
            _("期末在列 {n} 家").format(n=figures.blacklist.on_list_at_end),
        ),
    ]


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


class Links:
    """Drill-down URLs of one dashboard: the list of records behind a figure."""

    def __init__(self, figures: DashboardFigures) -> None:
        self.region = figures.region.code
        self.period = figures.period.key

    def list(self, name: str, /, *, region: str = "", period: str = "", **filters: str) -> str:
        query = {"region": region or self.region, "period": period or self.period, **filters}
        return f"{reverse('bureau:statistics-list', args=[name])}?{urlencode(query)}"

    def dashboard(self, region: str) -> str:
        query = urlencode({"region": region, "period": self.period})
        return f"{reverse('bureau:statistics')}?{query}"


def month_key(month: date) -> str:
    return f"{month:%Y-%m}"


def dashboard_tables(figures: DashboardFigures) -> list[Table]:
    links = Links(figures)
    return [
        inspections_by_kind(figures, links),
        inspections_by_month(figures, links),
        coverage_by_month_table(figures, links),
        coverage_by_child_table(figures, links),
        service_coverage_table(figures, links),
        findings_by_severity(figures, links),
        findings_by_rule(figures, links),
        review_by_month(figures, links),
        complaints_table(figures, links),
        random_share_table(figures, links),
        grades_by_month_table(figures, links),
        blacklist_by_month(figures, links),
        appeals_table(figures, links),
    ]


def inspections_by_kind(figures: DashboardFigures, links: Links) -> Table:
    counts = figures.inspections
    labels = kind_labels()
    rows = [
        (
            Cell(labels[kind]),
            Cell(counts.by_kind[kind], links.list("inspections", kind=kind)),
            Cell(share(counts.by_kind[kind], counts.total), unit="%"),
        )
        for kind in KINDS
    ]
    rows.append((Cell(_("合计")), Cell(counts.total, links.list("inspections")), Cell(None)))
    return Table(
        "inspections",
        _("巡查次数（按类型）"),
        (_("类型"), _("巡查次数"), _("占比（%）")),
        tuple(rows),
        note=_("已提交的巡查，按开始时间计入当月，按项目所在区划统计。"),
    )


def inspections_by_month(figures: DashboardFigures, links: Links) -> Table:
    labels = kind_labels()
    rows = []
    for month, kinds in sorted(figures.inspections.by_month.items()):
        key = month_key(month)
        cells = [Cell(key)]
        cells += [
            Cell(kinds.get(kind, 0), links.list("inspections", period=key, kind=kind))
            for kind in KINDS
        ]
        cells.append(Cell(sum(kinds.values()), links.list("inspections", period=key)))
        rows.append(tuple(cells))
    return Table(
        "inspections-by-month",
        _("每月巡查次数"),
        (_("月份"), *(labels[kind] for kind in KINDS), _("合计")),
        tuple(rows),
    )


def coverage_by_month_table(figures: DashboardFigures, links: Links) -> Table:
    rows = tuple(
        (
            Cell(month_key(month)),
            Cell(coverage.compounds),
            Cell(
                coverage.inspected,
                links.list("compounds", period=month_key(month), covered="yes"),
            ),
            Cell(
                coverage.compounds - coverage.inspected,
                links.list("compounds", period=month_key(month), covered="no"),
            ),
            Cell(coverage.percent, unit="%"),
        )
        for month, coverage in sorted(figures.coverage_by_month.items())
    )
    return Table(
        "coverage",
        _("巡查覆盖率（月末，近12个月）"),
        (_("月份"), _("项目总数"), _("近12个月巡查过"), _("未巡查"), _("覆盖率（%）")),
        rows,
        note=_(
            "月末已登记的物业项目中，在截至该月末的12个月内至少有一次已提交巡查的项目所占比例。"
        ),
    )


def coverage_by_child_table(figures: DashboardFigures, links: Links) -> Table:
    by_child = figures.coverage_by_child
    inspections = figures.inspections.by_child
    rows = []
    for child in figures.region.children:
        coverage = by_child.get(child.prefix)
        compounds = coverage.compounds if coverage else 0
        inspected = coverage.inspected if coverage else 0
        rows.append(
            (
                Cell(child.name, links.dashboard(child.code)),
                Cell(compounds, links.list("compounds", region=child.code)),
                Cell(inspected, links.list("compounds", region=child.code, covered="yes")),
                Cell(share(inspected, compounds), unit="%"),
                Cell(
                    sum(inspections.get(child.prefix, {}).values()),
                    links.list("inspections", region=child.code),
                ),
            )
        )
    rows.sort(key=lambda row: (row[3].value is None, -(row[3].value or 0)))
    return Table(
        "regions",
        _("下级区划巡查覆盖率"),
        (_("区划"), _("项目总数"), _("近12个月巡查过"), _("覆盖率（%）"), _("本期巡查次数")),
        tuple(rows),
        note=_("覆盖率按统计期末计算，从高到低排列。点击区划名称查看该区划的统计。"),
    )


def service_coverage_table(figures: DashboardFigures, links: Links) -> Table:
    labels = {
        RESIDENTIAL: _("住宅小区"),
        OLD_RESIDENTIAL: _("其中：老旧住宅小区"),
        NON_RESIDENTIAL: _("非住宅项目"),
    }
    rows = tuple(
        (
            Cell(labels[key]),
            Cell(coverage.compounds, links.list("compounds", category=key)),
            Cell(coverage.inspected, links.list("compounds", category=key, served="yes")),
            Cell(coverage.percent, unit="%"),
            Cell(SERVICE_TARGETS[key], unit="%"),
        )
        for key, coverage in figures.service_coverage.items()
    )
    return Table(
        "service-coverage",
        _("物业管理覆盖率（期末）"),
        (_("类别"), _("项目总数"), _("有物业服务合同"), _("覆盖率（%）"), _("目标（%）")),
        rows,
        note=_("统计期最后一天有在履行的物业服务合同的项目所占比例；目标见《意见》一（二）。"),
    )


def findings_by_severity(figures: DashboardFigures, links: Links) -> Table:
    labels = severity_labels()
    totals = figures.findings.by_severity()
    order = [Severity.SERIOUS, Severity.ORDINARY, Severity.MINOR, "other"]
    rows = tuple(
        (
            Cell(labels[severity]),
            Cell(totals.get(severity, 0), links.list("findings", severity=severity)),
            Cell(share(totals.get(severity, 0), figures.findings.found), unit="%"),
        )
        for severity in order
        if severity != "other" or totals.get("other")
    )
    return Table(
        "findings-by-severity",
        _("违规发现（按严重程度）"),
        (_("严重程度"), _("发现数"), _("占比（%）")),
        rows,
        note=_("已提交巡查中的违规发现，按发现时间计入。"),
    )


def findings_by_rule(figures: DashboardFigures, links: Links) -> Table:
    labels = severity_labels()
    english = (get_language() or "").startswith("en")
    rows = tuple(
        (
            Cell(row.title_en if english else row.title),
            Cell(labels.get(row.severity, row.severity)),
            Cell(row.found, links.list("findings", rule=row.code)),
            Cell(row.confirmed, links.list("findings", rule=row.code, review="confirmed")),
            Cell(row.rejected, links.list("findings", rule=row.code, review="rejected")),
            Cell(row.pending, links.list("findings", rule=row.code, review="pending")),
        )
        for row in figures.findings.by_rule
    )
    return Table(
        "findings-by-rule",
        _("违规发现（按违规行为）"),
        (_("违规行为"), _("严重程度"), _("发现数"), _("已确认"), _("已驳回"), _("待审核")),
        rows,
    )


def review_by_month(figures: DashboardFigures, links: Links) -> Table:
    rows = tuple(
        (
            Cell(month_key(row.month)),
            Cell(row.reviewed, links.list("findings", period=month_key(row.month), reviewed="yes")),
            Cell(row.confirmed),
            Cell(row.confirmation_percent, unit="%"),
            Cell(row.median_days, unit=_("天")),
        )
        for row in figures.findings.review_by_month
    )
    return Table(
        "review",
        _("审核情况（按审核月份）"),
        (_("月份"), _("已审核"), _("确认"), _("确认率（%）"), _("发现至审核用时中位数（天）")),
        rows,
        note=_("确认率 = 确认 ÷（确认 + 驳回），按审核时间计入；用时为发现时间至审核时间。"),
    )


def complaints_table(figures: DashboardFigures, links: Links) -> Table:
    c = figures.complaints
    rows = (
        (Cell(_("受理")), Cell(c.received, links.list("complaints"))),
        (Cell(_("核实属实")), Cell(c.verified, links.list("complaints", outcome="confirmed"))),
        (Cell(_("核实不属实")), Cell(c.unfounded, links.list("complaints", outcome="unfounded"))),
        (Cell(_("办结")), Cell(c.closed, links.list("complaints", outcome="closed"))),
        (Cell(_("待核查")), Cell(c.open, links.list("complaints", outcome="open"))),
        (Cell(_("已到场核查")), Cell(c.visited, links.list("complaints", visited="yes"))),
        (Cell(_("受理至到场用时中位数（天）")), Cell(c.median_days_to_visit, unit=_("天"))),
    )
    return Table(
        "complaints",
        _("投诉处理"),
        (_("事项"), _("数量")),
        rows,
        note=_("按受理时间计入；到场用时为受理至该投诉核查任务的第一次已提交巡查开始。"),
    )


def random_share_table(figures: DashboardFigures, links: Links) -> Table:
    r = figures.random_share
    rows = (
        (Cell(_("本期开始的巡查计划")), Cell(r.plans)),
        (Cell(_("计划项目")), Cell(r.items, links.list("plan-items"))),
        (
            Cell(_("其中随机抽查")),
            Cell(r.random_items, links.list("plan-items", selected="random")),
        ),
        (Cell(_("计划随机比例（%）")), Cell(r.planned_percent, unit="%")),
        (Cell(_("已完成项目")), Cell(r.done, links.list("plan-items", done="yes"))),
        (
            Cell(_("其中随机抽查")),
            Cell(r.random_done, links.list("plan-items", selected="random", done="yes")),
        ),
        (Cell(_("实际随机比例（%）")), Cell(r.achieved_percent, unit="%")),
    )
    return Table(
        "random-share",
        _("随机抽查比例：计划与实际"),
        (_("事项"), _("数量")),
        rows,
        note=_(
            "计划比例为随机抽取的项目占计划项目的比例；实际比例按已完成（有已提交巡查）的计划项目计算。"
        ),
    )


def grades_by_month_table(figures: DashboardFigures, links: Links) -> Table:
    grades = grade_columns(figures)
    rows = []
    for month in figures.grades:
        key = month_key(month.month)
        cells = [Cell(key)]
        cells += [
            Cell(
                month.firms_by_grade.get(grade, 0) if month.as_of else None,
                links.list("firms", period=key, grade=grade) if month.as_of else "",
            )
            for grade in grades
        ]
        cells.append(Cell(month.firms if month.as_of else None))
        rows.append(tuple(cells))
    return Table(
        "grades",
        _("信用等级分布（每月最后一次发布）"),
        (_("月份"), *(grade_label(grade) for grade in grades), _("合计")),
        tuple(rows),
        note=_("按企业注册地区划统计；列入黑名单的企业单列。当月没有发布快照时为空。"),
    )


def blacklist_by_month(figures: DashboardFigures, links: Links) -> Table:
    rows = tuple(
        (
            Cell(month_key(row.month)),
            Cell(row.entries, links.list("blacklist", period=month_key(row.month), event="entry")),
            Cell(row.exits, links.list("blacklist", period=month_key(row.month), event="exit")),
        )
        for row in figures.blacklist.by_month
    )
    return Table(
        "blacklist",
        _("黑名单列入与移出"),
        (_("月份"), _("列入"), _("移出")),
        rows,
        note=_("期末在黑名单上的企业：{n} 家。").format(n=figures.blacklist.on_list_at_end),
    )


def appeals_table(figures: DashboardFigures, links: Links) -> Table:
    a = figures.appeals
    rows = (
        (
            Cell(_("异议")),
            Cell(a.objections, links.list("objections")),
            Cell(a.objections_upheld, links.list("objections", decision="upheld")),
            Cell(a.objections_rejected, links.list("objections", decision="rejected")),
            Cell(a.objections_pending, links.list("objections", decision="pending")),
        ),
        (
            Cell(_("信用修复")),
            Cell(a.repairs, links.list("repairs")),
            Cell(a.repairs_approved, links.list("repairs", status="approved")),
            Cell(a.repairs_rejected, links.list("repairs", status="rejected")),
            Cell(a.repairs_pending, links.list("repairs", status="pending")),
        ),
    )
    return Table(
        "appeals",
        _("异议与信用修复"),
        (_("事项"), _("提出"), _("成立／批准"), _("不成立／未批准"), _("待处理")),
        rows,
        note=_("异议按提出日期、信用修复按申请日期计入，结果为截至目前的处理情况。"),
    )
