"""Inspections made: submitted inspections by kind, per month and per child region.

An inspection counts in the month (Asia/Shanghai) it started, in the region of its compound.
Its kind comes from the task it answered: a complaint task is 投诉核查, a task of a plan item
drawn at random is 随机抽查, any other task is 计划巡查, and an inspection started without a
task is 自行巡查. Drafts never count: the phone has not sent them for good.

Every condition that needs another table sits in WHERE as a semi- or anti-join: a subquery in
SELECT or in an aggregate's FILTER is run once per row, and at the province's scale (a million
inspections) that is the difference between a second and half a minute. The facts are counted
for every region at once (`inspection_facts`); a dashboard sums them (`inspection_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db.models import Case, CharField, Count, Exists, OuterRef, QuerySet, Value, When

from credit.stats.periods import Period
from inspections.models import (
    Inspection,
    InspectionStatus,
    PlanItem,
    SelectedBy,
    TaskKind,
)
from inspections.stats.queries import Fact, during, in_region, local_month, month_of
from inspections.stats.regions import StatRegion

if TYPE_CHECKING:
    from inspections.stats.facts import SummedFacts

PLANNED, RANDOM, COMPLAINT, SELF_INITIATED = "planned", "random", "complaint", "self"
KINDS = (PLANNED, RANDOM, COMPLAINT, SELF_INITIATED)
REGION_FIELD = "project__region__code"


def submitted_inspections(region: StatRegion, period: Period) -> QuerySet[Inspection]:
    return Inspection.objects.filter(
        in_region(region.prefix, REGION_FIELD),
        during(period, "started_at"),
        status=InspectionStatus.SUBMITTED,
    )


def random_task() -> Exists:
    """The inspection's task is the task of a plan item drawn at random. A task can serve
    several plan items (an open task is reused by the next round), so this is a semi-join,
    never a join that could count an inspection twice."""
    return Exists(
        PlanItem.objects.filter(task_id=OuterRef("task_id"), selected_by=SelectedBy.RANDOM)
    )


def of_kind(inspections: QuerySet[Inspection], kind: str) -> QuerySet[Inspection]:
    """The inspections of one kind, each condition in WHERE (semi- and anti-joins)."""
    if kind == SELF_INITIATED:
        return inspections.filter(task__isnull=True)
    if kind == COMPLAINT:
        return inspections.filter(task__kind=TaskKind.COMPLAINT)
    tasked = inspections.filter(task__isnull=False).exclude(task__kind=TaskKind.COMPLAINT)
    return tasked.filter(random_task()) if kind == RANDOM else tasked.exclude(random_task())


def _base_kind() -> Case:
    """Self-initiated, complaint, or planned — random ones are counted apart and moved."""
    return Case(
        When(task__isnull=True, then=Value(SELF_INITIATED)),
        When(task__kind=TaskKind.COMPLAINT, then=Value(COMPLAINT)),
        default=Value(PLANNED),
        output_field=CharField(),
    )


def kinds_of_tasks(task_ids: set[int], task_kinds: dict[int, str]) -> dict[int, str]:
    """The kind of each task of a page of inspections (one query for the random ones), for
    lists that show each inspection's kind."""
    random_ids = set(
        PlanItem.objects.filter(task_id__in=task_ids, selected_by=SelectedBy.RANDOM)
        .values_list("task_id", flat=True)
        .distinct()
    )
    kinds = {}
    for task_id in task_ids:
        if task_kinds.get(task_id) == TaskKind.COMPLAINT:
            kinds[task_id] = COMPLAINT
        else:
            kinds[task_id] = RANDOM if task_id in random_ids else PLANNED
    return kinds


FIGURE = "inspections"  # key: the kind


def inspection_facts(period: Period) -> list[Fact]:
    """Submitted inspections started in the period's months, by month, compound region and
    kind: all of them by base kind, then the random ones moved out of the planned."""
    inspections = Inspection.objects.filter(
        during(period, "started_at"), status=InspectionStatus.SUBMITTED
    ).annotate(month=local_month("started_at"))
    counts: dict[tuple[date, str, str], int] = {}
    grouped = inspections.annotate(kind=_base_kind()).values("month", "project__region", "kind")
    for row in grouped.annotate(n=Count("id")).order_by():
        key = (month_of(row["month"]), row["project__region"], row["kind"])
        counts[key] = counts.get(key, 0) + row["n"]
    random = of_kind(inspections, RANDOM).values("month", "project__region")
    for row in random.annotate(n=Count("id")).order_by():
        month, region = month_of(row["month"]), row["project__region"]
        counts[(month, region, RANDOM)] = counts.get((month, region, RANDOM), 0) + row["n"]
        counts[(month, region, PLANNED)] -= row["n"]
    return [(m, r, FIGURE, kind, n) for (m, r, kind), n in counts.items() if n]


@dataclass(frozen=True)
class InspectionCounts:
    by_month: dict[date, dict[str, int]]  # trend month → kind → inspections (every month)
    by_child: dict[str, dict[str, int]]  # child region code → kind → inspections in the period
    by_kind: dict[str, int]  # kind → inspections in the period

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


def inspection_counts(facts: SummedFacts, period: Period, trend: Period) -> InspectionCounts:
    by_month = {month: facts.by_key(FIGURE, month=month) for month in trend.months}
    by_kind = dict.fromkeys(KINDS, 0)
    for kind in KINDS:
        by_kind[kind] = sum(by_month[month].get(kind, 0) for month in period.months)
    return InspectionCounts(
        by_month=by_month, by_child=facts.by_child_and_key(FIGURE, period), by_kind=by_kind
    )
