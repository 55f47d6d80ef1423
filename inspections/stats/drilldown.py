"""The records behind a figure: one list per kind of record, filtered the way the figure
counted them (the same querysets as the figures, so a list's length is the figure).

`drilldown(kind, region, period, params)` answers a `Listing`: a title, column names and the
rows as plain values, newest first. Unknown kinds are NotFound; unknown filter values are
Invalid, never silently ignored (a wrong number is worse than an error).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from backend.exceptions import Invalid, NotFound
from credit.models import ObjectionDecision, RepairStatus
from credit.selectors import active_rulebook
from credit.stats import lists as credit_lists
from credit.stats.periods import LOCAL_ZONE, Period
from inspections.models import (
    ComplaintOutcome,
    Inspection,
    InspectionStatus,
    ReviewStatus,
    SelectedBy,
)
from inspections.stats.complaints import complaints_received, with_first_visit
from inspections.stats.coverage import (
    NON_RESIDENTIAL,
    OLD_RESIDENTIAL,
    RESIDENTIAL,
    category_filter,
    compounds,
    inspected_within,
    under_contract_on,
)
from inspections.stats.findings import findings_in_region, reviewed_in
from inspections.stats.inspections import (
    KINDS,
    SELF_INITIATED,
    kinds_of_tasks,
    of_kind,
    submitted_inspections,
)
from inspections.stats.plans import carried_out, plan_items
from inspections.stats.queries import during
from inspections.stats.regions import StatRegion
from inspections.stats.tables import kind_labels

ERR_UNKNOWN_LIST = "没有这种统计明细。"
ERR_BAD_FILTER = "筛选条件“{name}”的取值“{value}”无效。"
YES_NO = ("yes", "no")
CHUNK = 2000  # rows read, enriched and written at a time by an export
RULE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,63}")  # retired rules' codes stay listable


@dataclass(frozen=True)
class Listing:
    kind: str
    title: str
    columns: tuple[str, ...]
    queryset: QuerySet  # of dicts (values())
    row: Callable[[dict], tuple]  # a dict → the row's values, in column order
    firm_column: int | None = None  # the column holding a USCC (linked to the firm's archive)

    prepare: Callable[[list[dict]], list[dict]] | None = None  # enrich a chunk of rows at once

    def rows(self, queryset: QuerySet | None = None) -> Iterator[tuple]:
        chunk: list[dict] = []
        for item in (self.queryset if queryset is None else queryset).iterator(chunk_size=CHUNK):
            chunk.append(item)
            if len(chunk) == CHUNK:
                yield from self._rows_of(chunk)
                chunk = []
        yield from self._rows_of(chunk)

    def _rows_of(self, chunk: list[dict]) -> Iterator[tuple]:
        for item in self.prepare(chunk) if self.prepare and chunk else chunk:
            yield self.row(item)


def local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(LOCAL_ZONE).replace(microsecond=0) if moment else None


def choice(params: Mapping[str, str], name: str, allowed) -> str:
    value = params.get(name, "")
    if value and value not in allowed:
        raise Invalid("invalid_filter", ERR_BAD_FILTER.format(name=name, value=value[:64]))
    return value


def drilldown(kind: str, region: StatRegion, period: Period, params: Mapping[str, str]) -> Listing:
    builder = LISTS.get(kind)
    if builder is None:
        raise NotFound("unknown_list", ERR_UNKNOWN_LIST)
    return builder(region, period, params)


def inspections_list(region: StatRegion, period: Period, params) -> Listing:
    kind = choice(params, "kind", KINDS)
    rows = submitted_inspections(region, period)
    if kind:
        rows = of_kind(rows, kind)
    labels = kind_labels()
    return Listing(
        "inspections",
        _("巡查记录"),
        (_("开始时间"), _("项目"), _("项目所在区划"), _("类型"), _("巡查员")),
        rows.order_by("-started_at", "-id").values(
            "started_at",
            "project__name",
            "project__region__name",
            "task_id",
            "task__kind",
            "inspector__display_name",
        ),
        lambda r: (
            local(r["started_at"]),
            r["project__name"],
            r["project__region__name"],
            labels[r["kind"]],
            r["inspector__display_name"],
        ),
        prepare=_with_kinds,
    )


def _with_kinds(rows: list[dict]) -> list[dict]:
    """Each inspection of a page (or export chunk) with its kind: one query for the chunk."""
    task_kinds = {r["task_id"]: r["task__kind"] for r in rows if r["task_id"] is not None}
    kinds = kinds_of_tasks(set(task_kinds), task_kinds)
    return [{**r, "kind": kinds.get(r["task_id"], SELF_INITIATED)} for r in rows]


def compounds_list(region: StatRegion, period: Period, params) -> Listing:
    covered = choice(params, "covered", YES_NO)
    served = choice(params, "served", YES_NO)
    category = choice(params, "category", (RESIDENTIAL, OLD_RESIDENTIAL, NON_RESIDENTIAL))
    start, end = period.twelve_months_to_end()
    rows = compounds(region)
    if covered:
        inspected = inspected_within(start, end)
        rows = rows.filter(inspected) if covered == "yes" else rows.exclude(inspected)
    if category:
        rows = rows.filter(category_filter(category))
    if served:
        running = under_contract_on(period.end)
        rows = rows.filter(running) if served == "yes" else rows.exclude(running)
    last_visit = (
        Inspection.objects.filter(project_id=OuterRef("pk"), status=InspectionStatus.SUBMITTED)
        .values("project_id")
        .annotate(last=Max("started_at"))
        .values("last")
    )
    return Listing(
        "compounds",
        _("物业项目"),
        (_("项目名称"), _("地址"), _("所在区划"), _("最近一次巡查")),
        rows.annotate(last_visit=Subquery(last_visit))
        .order_by("region__code", "name", "id")
        .values("name", "address", "region__name", "last_visit"),
        lambda r: (r["name"], r["address"], r["region__name"], local(r["last_visit"])),
    )


def findings_list(region: StatRegion, period: Period, params) -> Listing:
    rules = {rule.code: rule for rule in active_rulebook().rulebook.violations}
    review = choice(params, "review", ReviewStatus.values)
    rule = params.get("rule", "")
    if rule and not RULE_CODE.fullmatch(rule):
        raise Invalid("invalid_filter", ERR_BAD_FILTER.format(name="rule", value=rule[:64]))
    severity = choice(params, "severity", ("serious", "ordinary", "minor", "other"))
    if choice(params, "reviewed", ("yes",)):
        rows = reviewed_in(region, period)
    else:
        rows = findings_in_region(region).filter(during(period, "observed_at"))
    if review:
        rows = rows.filter(review_status=review)
    if rule:
        rows = rows.filter(violation_code=rule)
    if severity == "other":
        rows = rows.exclude(violation_code__in=list(rules))
    elif severity:
        rows = rows.filter(
            violation_code__in=[code for code, r in rules.items() if r.severity == severity]
        )
    statuses = dict(ReviewStatus.choices)
    return Listing(
        "findings",
        _("违规发现"),
        (_("发现时间"), _("项目"), _("违规行为"), _("审核结果"), _("审核时间")),
        rows.order_by("-observed_at", "-id").values(
            "observed_at",
            "inspection__project__name",
            "violation_code",
            "review_status",
            "reviewed_at",
        ),
        lambda r: (
            local(r["observed_at"]),
            r["inspection__project__name"],
            rules[r["violation_code"]].title_zh
            if r["violation_code"] in rules
            else r["violation_code"],
            str(statuses.get(r["review_status"], r["review_status"])),
            local(r["reviewed_at"]),
        ),
    )


def complaints_list(region: StatRegion, period: Period, params) -> Listing:
    outcome = choice(params, "outcome", (*ComplaintOutcome.values, "closed"))
    visited = choice(params, "visited", ("yes",))
    rows = with_first_visit(complaints_received(region, period))
    if outcome == "closed":
        rows = rows.exclude(outcome=ComplaintOutcome.OPEN)
    elif outcome:
        rows = rows.filter(outcome=outcome)
    if visited:
        rows = rows.filter(first_visit__isnull=False)
    outcomes = dict(ComplaintOutcome.choices)
    return Listing(
        "complaints",
        _("投诉"),
        (_("受理时间"), _("项目"), _("核查结论"), _("首次到场核查")),
        rows.order_by("-received_at", "-id").values(
            "received_at", "project__name", "outcome", "first_visit"
        ),
        lambda r: (
            local(r["received_at"]),
            r["project__name"],
            str(outcomes[r["outcome"]]),
            local(r["first_visit"]),
        ),
    )


def plan_items_list(region: StatRegion, period: Period, params) -> Listing:
    selected = choice(params, "selected", SelectedBy.values)
    done = choice(params, "done", ("yes",))
    rows = plan_items(region, period)
    if selected:
        rows = rows.filter(selected_by=selected)
    if done:
        rows = rows.filter(carried_out())
    rows = rows.annotate(done=carried_out())  # per row of a page or chunk, by the task index
    reasons = dict(SelectedBy.choices)
    return Listing(
        "plan-items",
        _("巡查计划项目"),
        (_("计划开始日期"), _("计划区划"), _("排名"), _("项目"), _("入选原因"), _("已完成")),
        rows.order_by("-plan__start_date", "plan_id", "rank").values(
            "plan__start_date",
            "plan__region__name",
            "rank",
            "project__name",
            "selected_by",
            "done",
        ),
        lambda r: (
            r["plan__start_date"],
            r["plan__region__name"],
            r["rank"],
            r["project__name"],
            str(reasons[r["selected_by"]]),
            _("是") if r["done"] else _("否"),
        ),
    )


def firms_list(region: StatRegion, period: Period, params) -> Listing:
    grade = params.get("grade", "")
    return Listing(
        "firms",
        _("企业信用等级"),
        (_("企业名称"), _("统一社会信用代码"), _("信用分"), _("信用等级")),
        credit_lists.firms_of_grade(period, prefix=region.prefix, grade=grade),
        lambda r: (
            r["name"],
            r["uscc"],
            float(r["score"]),
            _("黑名单") if r["blacklisted"] else r["grade"],
        ),
        firm_column=1,
    )


def blacklist_list(region: StatRegion, period: Period, params) -> Listing:
    event = choice(params, "event", ("entry", "exit"))
    return Listing(
        "blacklist",
        _("黑名单列入与移出"),
        (_("企业名称"), _("统一社会信用代码"), _("列入日期"), _("移出日期"), _("列入理由")),
        credit_lists.blacklist_events(period, prefix=region.prefix, event=event),
        lambda r: (
            r["enterprise__name"],
            r["enterprise__uscc"],
            r["entry_date"],
            r["exit_date"],
            r["entry_reason"],
        ),
        firm_column=1,
    )


def objections_list(region: StatRegion, period: Period, params) -> Listing:
    decision = choice(params, "decision", (*ObjectionDecision.values, "pending"))
    decisions = dict(ObjectionDecision.choices)
    return Listing(
        "objections",
        _("异议"),
        (
            _("企业名称"),
            _("统一社会信用代码"),
            _("记录"),
            _("提出日期"),
            _("处理结果"),
            _("处理时间"),
        ),
        credit_lists.objection_list(period, prefix=region.prefix, decision=decision),
        lambda r: (
            r["record__enterprise__name"],
            r["record__enterprise__uscc"],
            r["record__title_zh"],
            r["filed_on"],
            str(decisions.get(r["decision"], _("待处理"))),
            local(r["decided_at"]),
        ),
        firm_column=1,
    )


def repairs_list(region: StatRegion, period: Period, params) -> Listing:
    status = choice(params, "status", RepairStatus.values)
    statuses = dict(RepairStatus.choices)
    return Listing(
        "repairs",
        _("信用修复申请"),
        (_("企业名称"), _("统一社会信用代码"), _("记录"), _("申请日期"), _("状态"), _("审批时间")),
        credit_lists.repair_list(period, prefix=region.prefix, status=status),
        lambda r: (
            r["record__enterprise__name"],
            r["record__enterprise__uscc"],
            r["record__title_zh"],
            r["applied_on"],
            str(statuses[r["status"]]),
            local(r["decided"]),
        ),
        firm_column=1,
    )


LISTS = {
    "inspections": inspections_list,
    "compounds": compounds_list,
    "findings": findings_list,
    "complaints": complaints_list,
    "plan-items": plan_items_list,
    "firms": firms_list,
    "blacklist": blacklist_list,
    "objections": objections_list,
    "repairs": repairs_list,
}
