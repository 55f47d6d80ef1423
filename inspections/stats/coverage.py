"""Coverage: how much of a region's compounds the bureau reaches, and how much of it is under
property service at all.

Inspection coverage at the end of a month: the compounds of the registry that had at least one
submitted inspection started in the twelve months ending with that month, as a share of all
compounds of the registry (the target of every plan: no compound left for a year). The
registry does not know when a compound was built or first came under supervision — a row's
creation is only when it was entered or imported — so every month counts today's compounds.

Property-service coverage at the end of the period (seed clause 一 (二)): compounds with a
management contract running on the period's last day, as a share of all, for residential
compounds (target 75 %), old residential compounds (50 %) and non-residential ones (50 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Count, Exists, ExpressionWrapper, IntegerField, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractMonth, ExtractYear

from credit.stats.periods import Period, add_months, local_midnight
from inspections.models import (
    Inspection,
    InspectionStatus,
    ManagementContract,
    Project,
    ProjectType,
)
from inspections.stats.queries import Fact, in_region, share
from inspections.stats.regions import StatRegion

if TYPE_CHECKING:
    from inspections.stats.facts import SummedFacts

WINDOW_MONTHS = 12
RESIDENTIAL, OLD_RESIDENTIAL, NON_RESIDENTIAL = "residential", "old_residential", "non_residential"
# 内蒙古自治区人民政府关于加强物业管理促进物业服务业发展的意见, 一 (二): the 2017 targets.
SERVICE_TARGETS = {RESIDENTIAL: 75.0, OLD_RESIDENTIAL: 50.0, NON_RESIDENTIAL: 50.0}


@dataclass(frozen=True)
class Coverage:
    compounds: int
    inspected: int

    @property
    def percent(self) -> float | None:
        return share(self.inspected, self.compounds)


COMPOUNDS, COVERED, SERVED = "compounds", "covered", "served"  # figures; key: a category or ""


def compounds(region: StatRegion) -> QuerySet[Project]:
    return Project.objects.filter(in_region(region.prefix, "region__code"))


def inspected_within(window_start: date, window_end: date) -> Exists:
    """The compound has a submitted inspection started in the window. Used in WHERE only,
    where PostgreSQL makes it a semi-join (in SELECT it would run once per compound)."""
    return Exists(
        Inspection.objects.filter(
            project_id=OuterRef("pk"),
            status=InspectionStatus.SUBMITTED,
            started_at__gte=local_midnight(window_start),
            started_at__lt=local_midnight(window_end),
        )
    )


def under_contract_on(day_after: date) -> Exists:
    """A management contract of the compound runs on the day before `day_after` (a period's
    last day); in WHERE only, like `inspected_within`."""
    last_day = day_after - timedelta(days=1)
    return Exists(
        ManagementContract.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gt=last_day),
            project_id=OuterRef("pk"),
            start_date__lte=last_day,
        )
    )


def category_filter(category: str) -> Q:
    residential = Q(project_type=ProjectType.RESIDENTIAL)
    return {
        RESIDENTIAL: residential,
        OLD_RESIDENTIAL: residential & Q(is_old_compound=True),
        NON_RESIDENTIAL: ~residential,
    }[category]


def _counts_by_region(projects: QuerySet[Project]) -> dict[str, dict[str, int]]:
    """Region → "" (all) and each category → compounds."""
    counts = {key: Count("pk", filter=category_filter(key)) for key in SERVICE_TARGETS}
    rows = projects.values("region").annotate(all=Count("pk"), **counts).order_by()
    return {row["region"]: {"": row["all"], **{k: row[k] for k in SERVICE_TARGETS}} for row in rows}


def coverage_facts(period: Period) -> list[Fact]:
    """For every month of the period and every compound region: the compounds of the registry
    (today's, by category), those covered by an inspection in the twelve months to the month's
    end, and those under a management contract on its last day."""
    registry = _counts_by_region(Project.objects.all())
    facts: list[Fact] = []
    for month in period.months:
        for region, counts in registry.items():
            facts.extend((month, region, COMPOUNDS, key, n) for key, n in counts.items())
        end = add_months(month, 1)
        served = _counts_by_region(Project.objects.filter(under_contract_on(end)))
        for region, counts in served.items():
            facts.extend((month, region, SERVED, key, n) for key, n in counts.items() if key and n)
    facts.extend(
        (month, region, COVERED, "", n) for (month, region), n in _covered_by_month(period).items()
    )
    return facts


def _covered_by_month(period: Period) -> dict[tuple[date, str], int]:
    """Compounds covered at the end of each month, per compound region, from two aggregate
    queries whatever the history's length.

    A compound inspected in month m is covered from m to m + 11. Its inspection months m1 < m2
    < … cover the union of those spans, which is the disjoint pieces [max(mi, m(i−1) + 12),
    mi + 11]: each piece adds one at its start and removes one after its end, so the covered
    count of a month is a running sum of the differences. Inspections more than eleven months
    before the period change no month in it and are left out.
    """
    first = add_months(period.start, 1 - WINDOW_MONTHS)
    starts, stops = _covered_piece_bounds(first, period.end)
    result: dict[tuple[date, str], int] = {}
    for region in {region for region, _ in starts} | {region for region, _ in stops}:
        covered = 0
        for number in range(number_of_month(first), number_of_month(period.last_month) + 1):
            covered += starts.get((region, number), 0) - stops.get((region, number), 0)
            month = month_of_number(number)
            if month >= period.start and covered:
                result[(month, region)] = covered
    return result


def _covered_piece_bounds(first: date, end: date) -> tuple[dict, dict]:
    months = (
        Inspection.objects.filter(
            status=InspectionStatus.SUBMITTED,
            started_at__gte=local_midnight(first),
            started_at__lt=local_midnight(end),
        )
        .annotate(month=month_number("started_at"))
        .values("project__region", "project_id", "month")
        .distinct()
        .order_by()
    )
    inner, params = months.query.sql_with_params()
    window = WINDOW_MONTHS
    # LAG over each compound's inspection months; a piece starts at max(m, previous + 12) and
    # stops counting at m + 12. Both bounds grouped by region in one pass.
    sql = f"""
        WITH months AS ({inner}),
        pieces AS (
            SELECT "project__region" AS region, month,
                   LAG(month) OVER (PARTITION BY project_id ORDER BY month) AS previous
            FROM months
        )
        SELECT 'start' AS bound, region,
               CASE WHEN previous IS NULL OR previous + {window} <= month
                    THEN month ELSE previous + {window} END AS at,
               COUNT(*)
        FROM pieces GROUP BY 1, 2, 3
        UNION ALL
        SELECT 'stop', region, month + {window}, COUNT(*) FROM pieces GROUP BY 1, 2, 3
    """  # noqa: S608 - only the ORM's own SQL and an integer constant are interpolated
    starts: dict[tuple[str, int], int] = {}
    stops: dict[tuple[str, int], int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for bound, region, at, count in cursor.fetchall():
            (starts if bound == "start" else stops)[(region, int(at))] = count
    return starts, stops


def month_number(field: str) -> ExpressionWrapper:
    """year × 12 + month − 1 of `field` in Asia/Shanghai (the active time zone): months that
    subtract as integers on every database."""
    return ExpressionWrapper(
        ExtractYear(field) * 12 + ExtractMonth(field) - 1, output_field=IntegerField()
    )


def number_of_month(month: date) -> int:
    return month.year * 12 + month.month - 1


def month_of_number(number: int) -> date:
    return date(number // 12, number % 12 + 1, 1)


def coverage_by_month(facts: SummedFacts, trend: Period) -> dict[date, Coverage]:
    return {
        month: Coverage(facts.value(COMPOUNDS, "", month), facts.value(COVERED, "", month))
        for month in trend.months
    }


def coverage_at_end(facts: SummedFacts, period: Period) -> tuple[Coverage, dict[str, Coverage]]:
    """Coverage at the end of the period, for the region and each of its children."""
    last = period.last_month
    total = Coverage(facts.value(COMPOUNDS, "", last), facts.value(COVERED, "", last))
    every = facts.by_child(COMPOUNDS, "", last)
    covered = facts.by_child(COVERED, "", last)
    return total, {child: Coverage(n, covered.get(child, 0)) for child, n in every.items()}


def service_coverage(facts: SummedFacts, period: Period) -> dict[str, Coverage]:
    """Compounds under a management contract on the period's last day, by kind of compound
    (`Coverage.inspected` here counts the compounds under contract)."""
    last = period.last_month
    return {
        key: Coverage(facts.value(COMPOUNDS, key, last), facts.value(SERVED, key, last))
        for key in SERVICE_TARGETS
    }
