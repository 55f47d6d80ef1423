"""Objections (异议) and credit repairs (信用修复) with their outcomes.

An objection counts on the day it was filed, a repair application on the day it was applied
for, both by the firm's registration region; their outcome is what has been decided by now
(upheld objections revoke their record; approved repairs end theirs early).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from credit.models import Objection, ObjectionDecision, RepairApplication, RepairStatus
from credit.stats.periods import Period


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


def appeal_figures(period: Period, *, prefix: str) -> AppealFigures:
    objections = objections_filed(period, prefix=prefix).aggregate(
        objections=Count("id"),
        objections_upheld=Count("id", filter=Q(decision=ObjectionDecision.UPHELD)),
        objections_rejected=Count("id", filter=Q(decision=ObjectionDecision.REJECTED)),
    )
    repairs = repairs_applied(period, prefix=prefix).aggregate(
        repairs=Count("id"),
        repairs_approved=Count("id", filter=Q(status=RepairStatus.APPROVED)),
        repairs_rejected=Count("id", filter=Q(status=RepairStatus.REJECTED)),
    )
    return AppealFigures(**objections, **repairs)
