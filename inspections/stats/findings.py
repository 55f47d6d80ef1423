"""Findings and their review.

A finding counts in the month it was observed, in the region of its inspection's compound, once
its inspection is submitted. Its severity and title are the active rulebook's for its rule.
The review figures count findings *reviewed* in the period: the confirmation rate is confirmed
/ (confirmed + rejected), and the time to review is reviewed_at − observed_at, its median in
days. A confirmed finding is the one that becomes a credit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet

from credit.selectors import active_rulebook
from credit.stats.periods import Period
from inspections.models import Finding, InspectionStatus, ReviewStatus
from inspections.stats.queries import (
    as_days,
    during,
    elapsed,
    in_region,
    medians,
    month_number,
    number_of_month,
    share,
)
from inspections.stats.regions import StatRegion

REGION_FIELD = "inspection__project__region__code"
UNKNOWN_SEVERITY = "other"  # a code no active rule knows (a rule retired since)


def findings_in_region(region: StatRegion) -> QuerySet[Finding]:
    return Finding.objects.filter(
        in_region(region.prefix, REGION_FIELD), inspection__status=InspectionStatus.SUBMITTED
    )


@dataclass(frozen=True)
class RuleRow:
    code: str
    title: str
    title_en: str
    severity: str
    found: int
    confirmed: int
    rejected: int
    pending: int


@dataclass(frozen=True)
class ReviewMonth:
    month: date
    reviewed: int
    confirmed: int
    median_days: float | None

    @property
    def confirmation_percent(self) -> float | None:
        return share(self.confirmed, self.reviewed)


@dataclass(frozen=True)
class FindingFigures:
    by_rule: list[RuleRow]  # most found first
    review_by_month: list[ReviewMonth]  # every trend month
    reviewed: int
    confirmed: int
    median_days_to_review: float | None

    @property
    def found(self) -> int:
        return sum(row.found for row in self.by_rule)

    @property
    def confirmation_percent(self) -> float | None:
        return share(self.confirmed, self.reviewed)

    def by_severity(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for row in self.by_rule:
            totals[row.severity] = totals.get(row.severity, 0) + row.found
        return totals


def finding_figures(region: StatRegion, period: Period, trend: Period) -> FindingFigures:
    return FindingFigures(
        by_rule=_by_rule(region, period),
        review_by_month=_review_by_month(region, trend),
        **_review_totals(region, period),
    )


def _by_rule(region: StatRegion, period: Period) -> list[RuleRow]:
    rows = (
        findings_in_region(region)
        .filter(during(period, "observed_at"))
        .values("violation_code")
        .annotate(
            found=Count("id"),
            confirmed=Count("id", filter=Q(review_status=ReviewStatus.CONFIRMED)),
            rejected=Count("id", filter=Q(review_status=ReviewStatus.REJECTED)),
            pending=Count("id", filter=Q(review_status=ReviewStatus.PENDING)),
        )
        .order_by("-found", "violation_code")
    )
    rules = {rule.code: rule for rule in active_rulebook().rulebook.rules}
    result = []
    for row in rows:
        rule = rules.get(row["violation_code"])
        result.append(
            RuleRow(
                code=row["violation_code"],
                title=rule.title_zh if rule else row["violation_code"],
                title_en=rule.title_en if rule else row["violation_code"],
                severity=(rule.severity or UNKNOWN_SEVERITY) if rule else UNKNOWN_SEVERITY,
                found=row["found"],
                confirmed=row["confirmed"],
                rejected=row["rejected"],
                pending=row["pending"],
            )
        )
    return result


def reviewed_in(region: StatRegion, period: Period) -> QuerySet[Finding]:
    return findings_in_region(region).filter(
        during(period, "reviewed_at"),
        review_status__in=[ReviewStatus.CONFIRMED, ReviewStatus.REJECTED],
    )


def _review_totals(region: StatRegion, period: Period) -> dict:
    reviewed = reviewed_in(region, period)
    counts = reviewed.aggregate(
        reviewed=Count("id"), confirmed=Count("id", filter=Q(review_status=ReviewStatus.CONFIRMED))
    )
    median = medians(reviewed.annotate(wait=elapsed("reviewed_at", "observed_at")), value="wait")
    return {**counts, "median_days_to_review": as_days(median.get(None))}


def _review_by_month(region: StatRegion, trend: Period) -> list[ReviewMonth]:
    reviewed = reviewed_in(region, trend).annotate(month=month_number("reviewed_at"))
    counts = {
        row["month"]: row
        for row in reviewed.values("month")
        .annotate(
            reviewed=Count("id"),
            confirmed=Count("id", filter=Q(review_status=ReviewStatus.CONFIRMED)),
        )
        .order_by()
    }
    monthly_medians = medians(
        reviewed.annotate(wait=elapsed("reviewed_at", "observed_at")), value="wait", group="month"
    )
    result = []
    for month in trend.months:
        number = number_of_month(month)
        row = counts.get(number, {"reviewed": 0, "confirmed": 0})
        result.append(
            ReviewMonth(
                month, row["reviewed"], row["confirmed"], as_days(monthly_medians.get(number))
            )
        )
    return result
