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

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from credit.stats.periods import Period, local_midnight
from inspections.models import (
    Inspection,
    InspectionStatus,
    ManagementContract,
    Project,
    ProjectType,
)
from inspections.stats.queries import (
    child_region,
    in_region,
    month_number,
    month_of_number,
    number_of_month,
    share,
)
from inspections.stats.regions import StatRegion

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


def compounds(region: StatRegion) -> QuerySet[Project]:
    return Project.objects.filter(in_region(region.prefix, "region__code"))


def inspected_within(window_start: date, window_end: date) -> Exists:
    return Exists(
        Inspection.objects.filter(
            project_id=OuterRef("pk"),
            status=InspectionStatus.SUBMITTED,
            started_at__gte=local_midnight(window_start),
            started_at__lt=local_midnight(window_end),
        )
    )


def coverage_at_end(region: StatRegion, period: Period) -> Coverage:
    start, end = period.twelve_months_to_end()
    counts = compounds(region).aggregate(
        compounds=Count("pk"), inspected=Count("pk", filter=Q(inspected_within(start, end)))
    )
    return Coverage(counts["compounds"], counts["inspected"])


def coverage_by_child(region: StatRegion, period: Period) -> dict[str, Coverage]:
    if not region.children:
        return {}
    start, end = period.twelve_months_to_end()
    rows = (
        compounds(region)
        .annotate(child=child_region("region__code", region.child_length))
        .values("child")
        .annotate(
            compounds=Count("pk"), inspected=Count("pk", filter=Q(inspected_within(start, end)))
        )
        .order_by()
    )
    return {row["child"]: Coverage(row["compounds"], row["inspected"]) for row in rows}


def coverage_by_month(region: StatRegion, trend: Period) -> dict[date, Coverage]:
    """Coverage at the end of every month of `trend`, in two aggregate queries.

    A compound inspected in month m is covered from m to m + 11. Its inspection months m1 < m2
    < … cover the union of those spans, which is the disjoint pieces [max(mi, m(i−1) + 12),
    mi + 11]: each piece adds one at its start and removes one after its end, so the covered
    count of a month is a running sum of the differences — whatever the history's length.
    """
    starts, stops = _covered_piece_bounds(region, trend.end)
    total = compounds(region).count()
    result: dict[date, Coverage] = {}
    covered = 0
    first = min([*starts, *stops, number_of_month(trend.start)])
    for number in range(first, number_of_month(trend.last_month) + 1):
        covered += starts.get(number, 0) - stops.get(number, 0)
        month = month_of_number(number)
        if month >= trend.start:
            result[month] = Coverage(total, covered)
    return result


def _covered_piece_bounds(region: StatRegion, end: date) -> tuple[dict[int, int], dict[int, int]]:
    months = (
        Inspection.objects.filter(
            in_region(region.prefix, "project__region__code"),
            status=InspectionStatus.SUBMITTED,
            started_at__lt=local_midnight(end),
        )
        .annotate(month=month_number("started_at"))
        .values("project_id", "month")
        .distinct()
        .order_by()
    )
    inner, params = months.query.sql_with_params()
    window = WINDOW_MONTHS
    # LAG over each compound's inspection months; a piece starts at max(m, previous + 12) and
    # stops counting at m + 12. Both bounds grouped in one pass.
    sql = f"""
        WITH months AS ({inner}),
        pieces AS (
            SELECT month,
                   LAG(month) OVER (PARTITION BY project_id ORDER BY month) AS previous
            FROM months
        )
        SELECT 'start' AS bound,
               CASE WHEN previous IS NULL OR previous + {window} <= month
                    THEN month ELSE previous + {window} END AS at,
               COUNT(*)
        FROM pieces GROUP BY 1, 2
        UNION ALL
        SELECT 'stop', month + {window}, COUNT(*) FROM pieces GROUP BY 1, 2
    """  # noqa: S608 - only the ORM's own SQL and an integer constant are interpolated
    starts: dict[int, int] = {}
    stops: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for bound, at, count in cursor.fetchall():
            (starts if bound == "start" else stops)[int(at)] = count
    return starts, stops


def under_contract_on(day_after: date) -> Exists:
    """A management contract running on the day before `day_after` (a period's last day)."""
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


def service_coverage(region: StatRegion, period: Period) -> dict[str, Coverage]:
    """Compounds under a management contract on the period's last day, by kind of compound
    (`Coverage.inspected` here counts the compounds under contract)."""
    served = Q(under_contract_on(period.end))
    groups = {key: category_filter(key) for key in SERVICE_TARGETS}
    counts = compounds(region).aggregate(
        **{f"{key}_all": Count("pk", filter=q) for key, q in groups.items()},
        **{f"{key}_served": Count("pk", filter=q & served) for key, q in groups.items()},
    )
    return {key: Coverage(counts[f"{key}_all"], counts[f"{key}_served"]) for key in groups}
