"""Query pieces every figure shares: a region as a prefix filter, a month as an integer, a
grouping of sibling regions, and medians computed in the database.

Every figure is one or two aggregate queries; nothing here loops over rows in Python. The
same SQL runs on PostgreSQL (tests, production) and SQLite (`make run`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import ExtractMonth, ExtractYear, RowNumber, Substr

from credit.stats.periods import Period


def in_region(prefix: str, field: str) -> Q:
    """Rows whose region code `field` lies in the region of `prefix` (GB/T 2260 by prefix)."""
    return Q(**{f"{field}__startswith": prefix})


def during(period: Period, field: str, *, instant: bool = True) -> Q:
    """`field` inside the period: local midnights for instants, days for dates."""
    if instant:
        start, end = period.local_bounds()
    else:
        start, end = period.start, period.end
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def month_number(field: str) -> ExpressionWrapper:
    """year × 12 + month − 1 of `field` in Asia/Shanghai (the active time zone): months that
    subtract, and group as plain integers on every database."""
    return ExpressionWrapper(
        ExtractYear(field) * 12 + ExtractMonth(field) - 1, output_field=IntegerField()
    )


def month_of_number(number: int) -> date:
    return date(number // 12, number % 12 + 1, 1)


def number_of_month(month: date) -> int:
    return month.year * 12 + month.month - 1


def child_region(field: str, length: int) -> Substr:
    """The first `length` digits of a region code: siblings' prefixes have the same length
    (leagues 4, banners and counties 6), so one GROUP BY splits a region into its children."""
    return Substr(field, 1, length)


def elapsed(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def medians(queryset: QuerySet, *, value: str, group: str | None = None) -> dict:
    """The median of the annotation `value` per value of the annotation `group` (or overall,
    under the key None), computed in the database: each group's rows are numbered in order of
    `value` and only the one or two middle rows come back (the mean of two for an even count).
    Durations come back as timedelta, numbers as numbers."""
    partition = [F(group)] if group else []
    ranked = queryset.annotate(
        _rank=Window(RowNumber(), partition_by=partition or None, order_by=F(value).asc()),
        _count=Window(Count("pk"), partition_by=partition or None),
        _group=F(group) if group else Value(0),
    )
    # Django filters on window annotations in an outer query: the middle rows only leave the
    # database. (n + 1) / 2 and (n + 2) / 2 in integer division are the middle positions.
    middle = ranked.filter(
        Q(_rank=(F("_count") + 1) / 2) | Q(_rank=(F("_count") + 2) / 2)
    ).values_list("_group", value)
    found: dict = {}
    for key, item in middle:
        found.setdefault(key if group else None, []).append(item)
    return {key: _mean(items) for key, items in found.items()}


def _mean(items: list):
    if isinstance(items[0], timedelta):
        return sum(items, timedelta()) / len(items)
    return sum(items) / len(items)


def as_days(duration: timedelta | None) -> float | None:
    if duration is None:
        return None
    return round(duration.total_seconds() / 86400, 1)


def share(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal; None when there is nothing to divide."""
    if not whole:
        return None
    return round(100 * part / whole, 1)


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def codes_under(prefixes: Iterable[str], code: str) -> bool:
    return any(code.startswith(prefix) for prefix in prefixes)
