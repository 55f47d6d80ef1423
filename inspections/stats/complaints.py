"""Complaints: received, verified, closed, and how fast an inspector got there.

A complaint counts in the month it was received (受理), in its compound's region. Of those,
核实属实 are the ones whose check found them true, 不属实 the ones found unfounded, and 办结
(closed) is either; the rest are still open. The time to visit is from receipt to the start of
the first submitted inspection on the complaint's task, in whole tenths of a day, its median in
days over the complaints received in the period that were visited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Min, OuterRef, QuerySet, Subquery

from credit.stats.periods import Period
from inspections.models import Complaint, ComplaintOutcome, Inspection, InspectionStatus
from inspections.stats.queries import (
    Fact,
    WaitTenths,
    during,
    in_region,
    local_month,
    median_days,
    month_of,
)
from inspections.stats.regions import StatRegion

if TYPE_CHECKING:
    from inspections.stats.facts import SummedFacts


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


COMPLAINTS, VISIT_WAIT = "complaints", "visit_wait"  # keys: the outcome; the wait in tenths


def complaint_facts(period: Period) -> list[Fact]:
    """Complaints received in the period's months by outcome, and the wait to the first visit
    of those visited (whole tenths of a day), per month and compound region."""
    received = Complaint.objects.filter(during(period, "received_at")).annotate(
        month=local_month("received_at")
    )
    facts: list[Fact] = [
        (month_of(row["month"]), row["project__region"], COMPLAINTS, row["outcome"], row["n"])
        for row in received.values("month", "project__region", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    ]
    # The first visit is looked up once per complaint in an inner query (a correlated MIN over
    # the inspections' task index); the outer one only groups its rows.
    visits = (
        with_first_visit(received)
        .filter(first_visit__isnull=False)
        .annotate(tenths=WaitTenths("first_visit", "received_at"))
        .values("month", "project__region", "tenths")
        .annotate(n=Count("id"))
        .order_by()
    )
    facts.extend(
        (month_of(row["month"]), row["project__region"], VISIT_WAIT, str(row["tenths"]), row["n"])
        for row in visits
    )
    return facts


def complaint_figures(facts: SummedFacts, period: Period) -> ComplaintFigures:
    outcomes = facts.by_key(COMPLAINTS, months=period.months)
    waits = facts.histogram(VISIT_WAIT, period.months)
    return ComplaintFigures(
        received=sum(outcomes.values()),
        verified=outcomes.get(ComplaintOutcome.CONFIRMED, 0),
        unfounded=outcomes.get(ComplaintOutcome.UNFOUNDED, 0),
        visited=sum(waits.values()),
        median_days_to_visit=median_days(waits),
    )
