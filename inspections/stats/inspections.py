"""Inspections made: submitted inspections by kind, per month and per child region.

An inspection counts in the month (Asia/Shanghai) it started, in the region of its compound.
Its kind comes from the task it answered: a complaint task is 投诉核查, a task of a plan item
drawn at random is 随机抽查, any other task is 计划巡查, and an inspection started without a
task is 自行巡查. Drafts never count: the phone has not sent them for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Case, CharField, Count, Exists, OuterRef, QuerySet, Value, When

from credit.stats.periods import Period
from inspections.models import (
    Inspection,
    InspectionStatus,
    PlanItem,
    SelectedBy,
    TaskKind,
)
from inspections.stats.queries import (
    child_region,
    during,
    in_region,
    month_number,
    month_of_number,
)
from inspections.stats.regions import StatRegion

PLANNED, RANDOM, COMPLAINT, SELF_INITIATED = "planned", "random", "complaint", "self"
KINDS = (PLANNED, RANDOM, COMPLAINT, SELF_INITIATED)
REGION_FIELD = "project__region__code"


def submitted_inspections(region: StatRegion, period: Period) -> QuerySet[Inspection]:
    return Inspection.objects.filter(
        in_region(region.prefix, REGION_FIELD),
        during(period, "started_at"),
        status=InspectionStatus.SUBMITTED,
    )


def with_kind(inspections: QuerySet[Inspection]) -> QuerySet[Inspection]:
    random_item = PlanItem.objects.filter(
        task_id=OuterRef("task_id"), selected_by=SelectedBy.RANDOM
    )
    return inspections.annotate(
        kind=Case(
            When(task__isnull=True, then=Value(SELF_INITIATED)),
            When(task__kind=TaskKind.COMPLAINT, then=Value(COMPLAINT)),
            When(Exists(random_item), then=Value(RANDOM)),
            default=Value(PLANNED),
            output_field=CharField(),
        )
    )


@dataclass(frozen=True)
class InspectionCounts:
    by_month: dict[date, dict[str, int]]  # trend month → kind → inspections (every month)
    by_child: dict[str, dict[str, int]]  # child region code → kind → inspections in the period
    by_kind: dict[str, int]  # kind → inspections in the period

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


def inspection_counts(region: StatRegion, period: Period, trend: Period) -> InspectionCounts:
    """Inspections by kind for every month of `trend` and, over `period`, per child region."""
    monthly = (
        with_kind(submitted_inspections(region, trend))
        .annotate(month=month_number("started_at"))
        .values("month", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_month: dict[date, dict[str, int]] = {month: {} for month in trend.months}
    for row in monthly:
        by_month.setdefault(month_of_number(row["month"]), {})[row["kind"]] = row["n"]
    by_child: dict[str, dict[str, int]] = {}
    if region.children:
        rows = (
            with_kind(submitted_inspections(region, period))
            .annotate(child=child_region(REGION_FIELD, region.child_length))
            .values("child", "kind")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            by_child.setdefault(row["child"], {})[row["kind"]] = row["n"]
    by_kind = dict.fromkeys(KINDS, 0)
    for month in period.months:
        for kind, n in by_month.get(month, {}).items():
            by_kind[kind] += n
    return InspectionCounts(by_month=by_month, by_child=by_child, by_kind=by_kind)
