"""The random share of inspection plans: planned against achieved.

Each approved plan keeps a seeded random share (PRODUCT.md: 15 % by default) so that the
model's ranking can be checked against compounds nobody chose. Counted over the plan items of
plans that start in the period, for compounds in the region: planned is the random items'
share of all items, achieved the random items' share of the items whose task was carried out
(a submitted inspection on it). Skipping random items shows as achieved below planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, Value, When

from credit.stats.periods import Period
from inspections.models import Inspection, InspectionPlan, InspectionStatus, PlanItem, SelectedBy
from inspections.stats.queries import Fact, during, in_region, local_month, month_of, share
from inspections.stats.regions import StatRegion

if TYPE_CHECKING:
    from inspections.stats.facts import SummedFacts


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


PLAN_ITEMS = "plan_items"  # key: "random|done", "random|open", "other|done", "other|open"


def plan_items(region: StatRegion, period: Period):
    return PlanItem.objects.filter(
        in_region(region.prefix, "project__region__code"),
        during(period, "plan__start_date", instant=False),
    )


def carried_out() -> Exists:
    """The plan item's task has a submitted inspection (in WHERE: a semi-join)."""
    return Exists(
        Inspection.objects.filter(task_id=OuterRef("task_id"), status=InspectionStatus.SUBMITTED)
    )


def plan_facts(period: Period) -> list[Fact]:
    """Items of plans starting in the period's months, per month and compound region, by
    whether they were drawn at random and whether they were carried out."""
    items = PlanItem.objects.filter(during(period, "plan__start_date", instant=False)).annotate(
        month=local_month("plan__start_date", instant=False),
        drawn=Case(
            When(selected_by=SelectedBy.RANDOM, then=Value("random")),
            default=Value("other"),
            output_field=CharField(),
        ),
    )
    counts: dict[tuple, int] = {}
    for rows, state in ((items, "open"), (items.filter(carried_out()), "done")):
        for row in (
            rows.values("month", "project__region", "drawn").annotate(n=Count("id")).order_by()
        ):
            key = (month_of(row["month"]), row["project__region"], row["drawn"])
            counts[(*key, state)] = row["n"]
    facts = []
    for (month, region, drawn, state), n in counts.items():
        if state == "open":
            n -= counts.get((month, region, drawn, "done"), 0)
        if n:
            facts.append((month, region, PLAN_ITEMS, f"{drawn}|{state}", n))
    return facts


def random_share(facts: SummedFacts, period: Period, region: StatRegion) -> RandomShare:
    items = facts.by_key(PLAN_ITEMS, months=period.months)

    def total(drawn: str = "", state: str = "") -> int:
        return sum(n for key, n in items.items() if key.startswith(drawn) and key.endswith(state))

    return RandomShare(
        plans=plans_touching(region, period).count(),
        items=total(),
        random_items=total("random"),
        done=total(state="done"),
        random_done=total("random", "done"),
    )


def plans_touching(region: StatRegion, period: Period):
    """Plans starting in the period made for the region, for a region inside it, or for one
    it lies in (a league's plan covers its banners)."""
    inside = Q(region__code__startswith=region.prefix)
    above = Q(region__code__in=ancestors(region.code))
    return InspectionPlan.objects.filter(
        inside | above, during(period, "start_date", instant=False)
    )


def ancestors(code: str) -> list[str]:
    """The codes of the regions a region lies in (150102 → 150100 and 150000)."""
    found = []
    if len(code) > 6:
        found.append(code[:6])
    if not code.endswith("00") or len(code) > 6:
        found.append(code[:4] + "00")
    if code[2:] != "0000":
        found.append(code[:2] + "0000")
    return [c for c in found if c != code]
