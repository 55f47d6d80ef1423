"""The statistics' facts: every additive number of every month and region, computed for all
regions at once by each concern's `*_facts(period)` and kept in `StatisticFact`.

A dashboard then reads a few thousand summed rows under its region's prefix instead of scanning
a million inspections: the province over three years costs what one month of one county does.
The facts of a month are replaced as a whole (`facts_refresh`): every hour the current and the
previous month (phones sync late, reviews follow), every night all months, and any month a
dashboard asks for that was never computed is computed then. Each figure's definition lives in
its concern's module and in docs/statistics.md; this module only stores and sums.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.db import connection
from django.db.models import Min, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from credit.stats.appeals import appeal_facts
from credit.stats.periods import Period, add_months, last_complete_month
from credit.workdays import today_local
from inspections.models import (
    Complaint,
    Inspection,
    InspectionPlan,
    StatisticFact,
    StatisticsRefresh,
)
from inspections.stats.complaints import complaint_facts
from inspections.stats.coverage import COMPOUNDS, COVERED, coverage_facts
from inspections.stats.findings import finding_facts
from inspections.stats.inspections import FIGURE as INSPECTIONS
from inspections.stats.inspections import inspection_facts
from inspections.stats.plans import plan_facts
from inspections.stats.queries import Fact, analytic_queries
from inspections.stats.regions import StatRegion

logger = logging.getLogger(__name__)

SOURCES = (
    inspection_facts,
    coverage_facts,
    finding_facts,
    complaint_facts,
    plan_facts,
    appeal_facts,
)
BATCH = 5000
REFRESH_LOCK = 0x57415449  # any constant: the advisory lock of `facts_refresh`
FIRST_MONTH = date(2000, 1, 1)  # the product's dates start in 2000 (backend.fields)


def facts_refresh(period: Period) -> int:
    """Recompute and replace the facts of every month of `period`; returns how many rows."""
    started = time.perf_counter()
    with analytic_queries():
        _one_refresh_at_a_time()
        rows = [fact for source in SOURCES for fact in source(period)]
        StatisticFact.objects.filter(month__in=period.months).delete()
        StatisticFact.objects.bulk_create(
            (
                StatisticFact(month=m, region_code=r, figure=f, key=k, value=v)
                for m, r, f, k, v in rows
            ),
            batch_size=BATCH,
        )
        now = timezone.now()
        for month in period.months:
            StatisticsRefresh.objects.update_or_create(month=month, defaults={"refreshed_at": now})
    logger.info(
        "statistics facts %s: %d rows in %.0f ms",
        period.key,
        len(rows),
        (time.perf_counter() - started) * 1000,
    )
    return len(rows)


def _one_refresh_at_a_time() -> None:
    """Two refreshes of the same month (the hourly task, a dashboard filling a gap) would each
    delete the old rows and insert their own. On PostgreSQL a transaction-level advisory lock
    queues them; SQLite lets one writer in at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])


def recent_months(today: date | None = None) -> Period:
    """The current and the previous month: the ones late syncs and reviews still change."""
    last = last_complete_month(today or today_local()).first_month
    return Period(last, add_months(last, 1))


def facts_refresh_recent() -> int:
    return facts_refresh(recent_months())


def facts_refresh_all() -> int:
    """Every month from the first inspection, complaint or plan to the current one, a year at
    a time (each year's coverage reads the eleven months before it)."""
    first = _first_month()
    current = add_months(recent_months().first_month, 1)
    written = 0
    while first <= current:
        last = min(add_months(first, 11), current)
        written += facts_refresh(Period(first, last))
        first = add_months(last, 1)
    return written


def _first_month() -> date:
    candidates = [
        Inspection.objects.aggregate(m=Min("started_at"))["m"],
        Complaint.objects.aggregate(m=Min("received_at"))["m"],
        InspectionPlan.objects.aggregate(m=Min("start_date"))["m"],
    ]
    days = [timezone.localtime(c).date() if isinstance(c, datetime) else c for c in candidates if c]
    return max(min(days), FIRST_MONTH).replace(day=1) if days else recent_months().first_month


def ensure_facts(period: Period) -> datetime | None:
    """Compute the months of `period` no refresh has reached yet (a new system, a period
    before the first nightly run); returns when the oldest of its months was computed."""
    known = dict(
        StatisticsRefresh.objects.filter(month__in=period.months).values_list(
            "month", "refreshed_at"
        )
    )
    missing = [month for month in period.months if month not in known]
    if missing:
        facts_refresh(Period(missing[0], missing[-1]))
        return ensure_facts(period)
    return min(known.values())


class SummedFacts:
    """The facts under one region, summed per (month, child region, figure, key), indexed for
    the lookups the figures make (a few thousand rows: the province over three years)."""

    def __init__(self, rows: dict[tuple[date, str, str, str], int]) -> None:
        self._by_month: dict[tuple[str, date], dict[str, int]] = {}
        self._by_child: dict[tuple[str, date], dict[str, dict[str, int]]] = {}
        for (month, child, figure, key), n in rows.items():
            keys = self._by_month.setdefault((figure, month), {})
            keys[key] = keys.get(key, 0) + n
            children = self._by_child.setdefault((figure, month), {}).setdefault(key, {})
            children[child] = children.get(child, 0) + n

    def value(self, figure: str, key: str, month: date) -> int:
        return self._by_month.get((figure, month), {}).get(key, 0)

    def by_key(
        self, figure: str, *, month: date | None = None, months: Sequence[date] | None = None
    ) -> dict[str, int]:
        totals: dict[str, int] = {}
        for each in months if months is not None else [month]:
            for key, n in self._by_month.get((figure, each), {}).items():
                totals[key] = totals.get(key, 0) + n
        return totals

    def by_child(self, figure: str, key: str, month: date) -> dict[str, int]:
        return dict(self._by_child.get((figure, month), {}).get(key, {}))

    def by_child_and_key(self, figure: str, period: Period) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {}
        for month in period.months:
            for key, children in self._by_child.get((figure, month), {}).items():
                for child, n in children.items():
                    keys = totals.setdefault(child, {})
                    keys[key] = keys.get(key, 0) + n
        return totals

    def histogram(self, figure: str, months: Iterable[date]) -> dict[int, int]:
        """A wait histogram (tenths of a day → count) over the months."""
        return {int(k): n for k, n in self.by_key(figure, months=list(months)).items()}


# The figures a dashboard splits by child region (its ranked bars and region table); every
# other figure is summed over the whole region, which keeps the rows read back few.
BY_CHILD = (INSPECTIONS, COMPOUNDS, COVERED)


def summed_facts(region: StatRegion, trend: Period) -> SummedFacts:
    """Two aggregates over the facts under the region's prefix in the trend's months: the
    figures of `BY_CHILD` per child region (the region itself when it has none), the others
    per (month, figure, key) only."""
    length = region.child_length or len(region.prefix)
    facts = StatisticFact.objects.filter(
        region_code__startswith=region.prefix, month__in=trend.months
    )
    per_child = (
        facts.filter(figure__in=BY_CHILD)
        .annotate(child=Substr("region_code", 1, length))
        .values("month", "child", "figure", "key")
        .annotate(n=Sum("value"))
        .order_by()
    )
    whole = (
        facts.exclude(figure__in=BY_CHILD)
        .values("month", "figure", "key")
        .annotate(n=Sum("value"))
        .order_by()
    )
    rows = {(r["month"], r["child"], r["figure"], r["key"]): r["n"] for r in per_child}
    rows.update({(r["month"], "", r["figure"], r["key"]): r["n"] for r in whole})
    return SummedFacts(rows)


__all__ = ["Fact", "SummedFacts", "ensure_facts", "facts_refresh", "summed_facts"]
