"""Every figure of one region and period, summed from the facts (`facts.py`) and kept for a
few minutes.

`dashboard_figures` is what the page, its exports, the bureau API and the monthly report all
read, so they cannot disagree: the tables (`tables.py`) and charts are drawn from this one
object. It holds numbers and codes only — no translated text — so one cached copy serves
Chinese and English pages alike.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from backend.exceptions import Invalid
from credit.stats.appeals import OBJECTIONS, REPAIRS, AppealFigures, appeal_figures
from credit.stats.blacklist import BlacklistFigures, blacklist_figures
from credit.stats.grades import GradeMonth, grades_by_month
from credit.stats.periods import Period, PeriodError, last_complete_month, parse_period
from credit.workdays import today_local
from inspections.stats.complaints import ComplaintFigures, complaint_figures
from inspections.stats.coverage import (
    Coverage,
    coverage_at_end,
    coverage_by_month,
    service_coverage,
)
from inspections.stats.facts import SummedFacts, ensure_facts, summed_facts
from inspections.stats.findings import FindingFigures, finding_figures
from inspections.stats.inspections import InspectionCounts, inspection_counts
from inspections.stats.plans import RandomShare, random_share
from inspections.stats.regions import StatRegion

logger = logging.getLogger(__name__)

# Phones sync late and reviewers work all day: five minutes old is fresh enough for figures
# reported monthly, and the page says when they were computed.
CACHE_SECONDS = 300
CACHE_VERSION = 1


@dataclass(frozen=True)
class DashboardFigures:
    region: StatRegion
    period: Period
    trend: Period
    computed_at: datetime
    facts_as_of: datetime  # when the oldest month's facts were computed
    inspections: InspectionCounts
    coverage: Coverage
    coverage_by_month: dict
    coverage_by_child: dict[str, Coverage]
    service_coverage: dict[str, Coverage]
    findings: FindingFigures
    complaints: ComplaintFigures
    random_share: RandomShare
    grades: list[GradeMonth]
    blacklist: BlacklistFigures
    appeals: AppealFigures


def requested_period(text: str) -> Period:
    """The period a request names (`credit.stats.periods`), last month when it names
    none; Invalid `invalid_period` with what is accepted otherwise."""
    if not text:
        return last_complete_month(today_local())
    try:
        return parse_period(text)
    except PeriodError as error:
        raise Invalid("invalid_period", str(error)) from error


def dashboard_figures(region: StatRegion, period: Period) -> DashboardFigures:
    key = f"statistics:v{CACHE_VERSION}:{region.code}:{period.key}"
    figures = cache.get(key)
    if figures is None:
        figures = compute_dashboard(region, period)
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def compute_dashboard(region: StatRegion, period: Period) -> DashboardFigures:
    started = time.perf_counter()
    trend = period.trend()
    facts_as_of = ensure_facts(trend)
    facts = summed_facts(region, trend)
    figures = _figures(facts, region, period, trend)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    logger.info("statistics %s %s computed in %.0f ms", region.code, period.key, elapsed_ms)
    return DashboardFigures(
        region=region,
        period=period,
        trend=trend,
        computed_at=timezone.now(),
        facts_as_of=facts_as_of,
        **figures,
    )


def _figures(facts: SummedFacts, region: StatRegion, period: Period, trend: Period) -> dict:
    prefix = region.prefix
    coverage, coverage_by_child = coverage_at_end(facts, period)
    return dict(
        inspections=inspection_counts(facts, period, trend),
        coverage=coverage,
        coverage_by_month=coverage_by_month(facts, trend),
        coverage_by_child=coverage_by_child if region.children else {},
        service_coverage=service_coverage(facts, period),
        findings=finding_figures(facts, period, trend),
        complaints=complaint_figures(facts, period),
        random_share=random_share(facts, period, region),
        grades=grades_by_month(trend, prefix=prefix),
        blacklist=blacklist_figures(period, trend, prefix=prefix),
        appeals=appeal_figures(
            facts.by_key(OBJECTIONS, months=period.months),
            facts.by_key(REPAIRS, months=period.months),
        ),
    )
