"""Findings and their review.

A finding counts in the month it was observed, in the region of its inspection's compound, once
its inspection is submitted. Its severity and title are the active rulebook's for its rule.
The review figures count findings *reviewed* in the period: the confirmation rate is confirmed
/ (confirmed + rejected), and the time to review is reviewed_at − observed_at, counted in whole
tenths of a day (rounded down) and its median in days. A confirmed finding is the one that
becomes a credit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet

from credit.selectors import active_rulebook
from credit.stats.periods import Period
from inspections.models import Finding, InspectionStatus, ReviewStatus
from inspections.stats.queries import (
    Fact,
    WaitTenths,
    during,
    in_region,
    local_month,
    median_days,
    month_of,
    share,
)
from inspections.stats.regions import StatRegion

if TYPE_CHECKING:
    from inspections.stats.facts import SummedFacts

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


FOUND, REVIEWED, REVIEW_WAIT = "found", "reviewed", "review_wait"
# FOUND's key: "<rule code>|<review status>"; REVIEWED's: the decision; REVIEW_WAIT's: the wait
# in whole tenths of a day (a histogram, so medians add up across months and regions).


def finding_facts(period: Period) -> list[Fact]:
    findings = Finding.objects.filter(inspection__status=InspectionStatus.SUBMITTED)
    region = "inspection__project__region"
    facts: list[Fact] = []
    found = (
        findings.filter(during(period, "observed_at"))
        .annotate(month=local_month("observed_at"))
        .values("month", region, "violation_code", "review_status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in found:
        key = f"{row['violation_code']}|{row['review_status']}"
        facts.append((month_of(row["month"]), row[region], FOUND, key, row["n"]))
    reviewed = findings.filter(
        during(period, "reviewed_at"),
        review_status__in=[ReviewStatus.CONFIRMED, ReviewStatus.REJECTED],
    ).annotate(month=local_month("reviewed_at"))
    decisions = reviewed.values("month", region, "review_status").annotate(n=Count("id"))
    for row in decisions.order_by():
        facts.append(
            (month_of(row["month"]), row[region], REVIEWED, row["review_status"], row["n"])
        )
    waits = (
        reviewed.annotate(tenths=WaitTenths("reviewed_at", "observed_at"))
        .values("month", region, "tenths")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in waits:
        facts.append(
            (month_of(row["month"]), row[region], REVIEW_WAIT, str(row["tenths"]), row["n"])
        )
    return facts


def finding_figures(facts: SummedFacts, period: Period, trend: Period) -> FindingFigures:
    months = period.months
    reviewed = facts.by_key(REVIEWED, months=months)
    return FindingFigures(
        by_rule=_by_rule(facts.by_key(FOUND, months=months)),
        review_by_month=[_review_month(facts, month) for month in trend.months],
        reviewed=sum(reviewed.values()),
        confirmed=reviewed.get(ReviewStatus.CONFIRMED, 0),
        median_days_to_review=median_days(facts.histogram(REVIEW_WAIT, months)),
    )


def _review_month(facts: SummedFacts, month: date) -> ReviewMonth:
    reviewed = facts.by_key(REVIEWED, month=month)
    return ReviewMonth(
        month,
        sum(reviewed.values()),
        reviewed.get(ReviewStatus.CONFIRMED, 0),
        median_days(facts.histogram(REVIEW_WAIT, [month])),
    )


def _by_rule(found: dict[str, int]) -> list[RuleRow]:
    counts: dict[str, dict[str, int]] = {}
    for key, n in found.items():
        code, _, status = key.partition("|")
        counts.setdefault(code, {})[status] = n
    rules = {rule.code: rule for rule in active_rulebook().rulebook.rules}
    result = []
    for code, statuses in counts.items():
        rule = rules.get(code)
        result.append(
            RuleRow(
                code=code,
                title=rule.title_zh if rule else code,
                title_en=rule.title_en if rule else code,
                severity=(rule.severity or UNKNOWN_SEVERITY) if rule else UNKNOWN_SEVERITY,
                found=sum(statuses.values()),
                confirmed=statuses.get(ReviewStatus.CONFIRMED, 0),
                rejected=statuses.get(ReviewStatus.REJECTED, 0),
                pending=statuses.get(ReviewStatus.PENDING, 0),
            )
        )
    return sorted(result, key=lambda row: (-row.found, row.code))


def reviewed_in(region: StatRegion, period: Period) -> QuerySet[Finding]:
    """The findings reviewed in the period (the drill-down of the review figures)."""
    return findings_in_region(region).filter(
        during(period, "reviewed_at"),
        review_status__in=[ReviewStatus.CONFIRMED, ReviewStatus.REJECTED],
    )
