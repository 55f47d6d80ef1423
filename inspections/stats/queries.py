"""Query pieces every figure's facts share: a period as bounds, a local month to group by, a wait
in tenths of a day, and the one PostgreSQL session setting the big aggregates need.

A fact is one additive number of one month and one region (`inspections.stats.facts`); each
concern module computes its facts with a few aggregate queries over every region at once,
grouped by month, region and key. The same SQL runs on PostgreSQL and SQLite (`make run`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import F, Func, IntegerField, Q
from django.db.models.functions import TruncMonth

from credit.stats.periods import LOCAL_ZONE, Period

# The facts' queries sort and hash a million rows each; PostgreSQL's default 4 MB of work
# memory would spill those to disk. Raised for the refresh transaction only.
ANALYTIC_WORK_MEM = "64MB"
TENTHS_PER_DAY = 10

# (month, region code, figure, key, value): one row of `StatisticFact`.
Fact = tuple[date, str, str, str, int]


@contextmanager
def analytic_queries() -> Iterator[None]:
    """A transaction with the work memory the facts' sorts need and no JIT on PostgreSQL
    (compiling each plan costs more than these queries save). Inside a caller's transaction the
    settings last until that one ends, which is harmless."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = %s", [ANALYTIC_WORK_MEM])
        cursor.execute("SET LOCAL jit = off")
        yield


def during(period: Period, field: str, *, instant: bool = True) -> Q:
    """`field` inside the period: local midnights for instants, days for dates."""
    if instant:
        start, end = period.local_bounds()
    else:
        start, end = period.start, period.end
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def local_month(field: str, *, instant: bool = True) -> TruncMonth:
    """The month of an instant in Asia/Shanghai, or of a date, to group by."""
    return TruncMonth(field, tzinfo=LOCAL_ZONE) if instant else TruncMonth(field)


def month_of(value: date | datetime) -> date:
    """What `local_month` gives back (a date, or a local datetime) as the month's first day."""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_ZONE).date() if value.tzinfo else value.date()
    return value.replace(day=1)


class WaitTenths(Func):
    """Whole tenths of a day from `earlier` to `later`, rounded down: the unit every median
    wait is counted in, so that a month's waits are a histogram that adds up across months and
    regions (a median of medians would be wrong)."""

    output_field = IntegerField()

    def __init__(self, later: str, earlier: str) -> None:
        super().__init__(F(later), F(earlier))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="FLOOR(EXTRACT(EPOCH FROM (%(expressions)s)) / 8640)::integer",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        later, earlier = self.get_source_expressions()
        later_sql, later_params = compiler.compile(later)
        earlier_sql, earlier_params = compiler.compile(earlier)
        sql = f"CAST(FLOOR((julianday({later_sql}) - julianday({earlier_sql})) * 10) AS INTEGER)"
        return sql, (*later_params, *earlier_params)


def median_days(histogram: dict[int, int]) -> float | None:
    """The median of waits counted in tenths of a day (the mean of the two middle ones for an
    even count, as statistics.median), in days with one decimal."""
    total = sum(histogram.values())
    if not total:
        return None
    low, high = (total - 1) // 2, total // 2  # 0-based positions of the middle one or two
    seen, found = 0, []
    for tenths in sorted(histogram):
        count = histogram[tenths]
        for position in (low, high):
            if seen <= position < seen + count:
                found.append(tenths)
        seen += count
    return round(sum(found) / len(found) / TENTHS_PER_DAY, 2)


def share(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal; None when there is nothing to divide."""
    if not whole:
        return None
    return round(100 * part / whole, 1)


def in_region(prefix: str, field: str) -> Q:
    """Rows whose region code `field` lies in the region of `prefix` (GB/T 2260 by prefix)."""
    return Q(**{f"{field}__startswith": prefix})
