"""The random share of inspection plans: planned against achieved.

Each approved plan keeps a seeded random share (PRODUCT.md: 15 % by default) so that the
model's ranking can be checked against compounds nobody chose. Counted over the plan items of
plans that start in the period, for compounds in the region: planned is the random items'
share of all items, achieved the random items' share of the items whose task was carried out
(a submitted inspection on it). Skipping random items shows as achieved below planned.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from credit.stats.periods import Period
from inspections.models import Inspection, InspectionStatus, PlanItem, SelectedBy
from inspections.stats.queries import during, in_region, share
from inspections.stats.regions import StatRegion


@dataclass(frozen=True)
class RandomShare:
    plans: int
    items: int
    random_items: int
    done: int
    random_done: int

    @property
    def planned_percent(self) -> float | None:
        return share(self.random_items, self.items)

    @property
    def achieved_percent(self) -> float | None:
        return share(self.random_done, self.done)


def plan_items(region: StatRegion, period: Period):
    return PlanItem.objects.filter(
        in_region(region.prefix, "project__region__code"),
        during(period, "plan__start_date", instant=False),
    )


def random_share(region: StatRegion, period: Period) -> RandomShare:
    carried_out = Exists(
        Inspection.objects.filter(task_id=OuterRef("task_id"), status=InspectionStatus.SUBMITTED)
    )
    is_random = Q(selected_by=SelectedBy.RANDOM)
    counts = plan_items(region, period).aggregate(
        plans=Count("plan_id", distinct=True),
        items=Count("id"),
        random_items=Count("id", filter=is_random),
        done=Count("id", filter=Q(carried_out)),
        random_done=Count("id", filter=is_random & Q(carried_out)),
    )
    return RandomShare(**counts)
