"""Objections (异议) and credit repairs (信用修复) with their outcomes.

An objection counts on the day it was filed, a repair application on the day it was applied
for, both by the firm's registration region; their outcome is what has been decided by now
(upheld objections revoke their record; approved repairs end theirs early).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import TruncMonth

from credit.models import Objection, ObjectionDecision, RepairApplication, RepairStatus
from credit.stats.periods import Period

PENDING = "pending"


@dataclass(frozen=True)
class AppealFigures:
    objections: int
    objections_upheld: int
    objections_rejected: int
    repairs: int
    repairs_approved: int
    repairs_rejected: int

    @property
    def objections_pending(self) -> int:
        return self.objections - self.objections_upheld - self.objections_rejected

    @property
    def repairs_pending(self) -> int:
        return self.repairs - self.repairs_approved - self.repairs_rejected


def objections_filed(period: Period, *, prefix: str):
    """Objections to records of firms registered under the region code `prefix`."""
    return Objection.objects.filter(
        record__enterprise__region__code__startswith=prefix,
        filed_on__gte=period.start,
        filed_on__lt=period.end,
    )


def repairs_applied(period: Period, *, prefix: str):
    return RepairApplication.objects.filter(
        record__enterprise__region__code__startswith=prefix,
        applied_on__gte=period.start,
        applied_on__lt=period.end,
    )


OBJECTIONS, REPAIRS = (
    "objections",
    "repairs",
)  # keys: the decision ("pending" undecided); the status


def appeal_facts(period: Period) -> list[tuple]:
    """(month, firm's registration region, figure, key, count) of the objections filed and
    the repairs applied for in the period's months, by outcome so far."""
    facts = []
    objections = Objection.objects.filter(filed_on__gte=period.start, filed_on__lt=period.end)
    for row in (
        objections.annotate(month=TruncMonth("filed_on"))
        .values("month", "record__enterprise__region", "decision")
        .annotate(n=Count("id"))
        .order_by()
    ):
        key = row["decision"] or PENDING
        facts.append((row["month"], row["record__enterprise__region"], OBJECTIONS, key, row["n"]))
    repairs = RepairApplication.objects.filter(
        applied_on__gte=period.start, applied_on__lt=period.end
    )
    for row in (
        repairs.annotate(month=TruncMonth("applied_on"))
        .values("month", "record__enterprise__region", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        facts.append(
            (row["month"], row["record__enterprise__region"], REPAIRS, row["status"], row["n"])
        )
    return facts


def appeal_figures(objections: dict[str, int], repairs: dict[str, int]) -> AppealFigures:
    """From the summed facts: decision → objections, status → repairs."""
    return AppealFigures(
        objections=sum(objections.values()),
        objections_upheld=objections.get(ObjectionDecision.UPHELD, 0),
        objections_rejected=objections.get(ObjectionDecision.REJECTED, 0),
        repairs=sum(repairs.values()),
        repairs_approved=repairs.get(RepairStatus.APPROVED, 0),
        repairs_rejected=repairs.get(RepairStatus.REJECTED, 0),
    )
