"""Complaints: received, verified, closed, and how fast an inspector got there.

A complaint counts in the month it was received (受理), in its compound's region. Of those,
核实属实 are the ones whose check found them true, 不属实 the ones found unfounded, and 办结
(closed) is either; the rest are still open. The time to visit is from receipt to the start of
the first submitted inspection on the complaint's task, its median in days over the complaints
received in the period that were visited.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery

from credit.stats.periods import Period
from inspections.models import Complaint, ComplaintOutcome, Inspection, InspectionStatus
from inspections.stats.queries import as_days, during, elapsed, in_region, medians
from inspections.stats.regions import StatRegion


def complaints_received(region: StatRegion, period: Period) -> QuerySet[Complaint]:
    return Complaint.objects.filter(
        in_region(region.prefix, "project__region__code"), during(period, "received_at")
    )


def with_first_visit(complaints: QuerySet[Complaint]) -> QuerySet[Complaint]:
    first_visit = (
        Inspection.objects.filter(task_id=OuterRef("task_id"), status=InspectionStatus.SUBMITTED)
        .values("task_id")
        .annotate(first=Min("started_at"))
        .values("first")
    )
    return complaints.annotate(first_visit=Subquery(first_visit))


@dataclass(frozen=True)
class ComplaintFigures:
    received: int
    verified: int
    unfounded: int
    visited: int
    median_days_to_visit: float | None

    @property
    def closed(self) -> int:
        return self.verified + self.unfounded

    @property
    def open(self) -> int:
        return self.received - self.closed


def complaint_figures(region: StatRegion, period: Period) -> ComplaintFigures:
    received = with_first_visit(complaints_received(region, period))
    counts = received.aggregate(
        received=Count("id"),
        verified=Count("id", filter=Q(outcome=ComplaintOutcome.CONFIRMED)),
        unfounded=Count("id", filter=Q(outcome=ComplaintOutcome.UNFOUNDED)),
        visited=Count("id", filter=Q(first_visit__isnull=False)),
    )
    visited = received.filter(first_visit__isnull=False).annotate(
        wait=elapsed("first_visit", "received_at")
    )
    median = medians(visited, value="wait").get(None)
    return ComplaintFigures(**counts, median_days_to_visit=as_days(median))
