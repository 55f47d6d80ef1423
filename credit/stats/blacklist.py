"""Blacklist entries and exits: firms put on the list (列入) and taken off it (移出).

An entry counts on its entry date (the approval that made it active), an exit on its exit
date, both by the firm's registration region. Proposals never approved and withdrawals are not
entries. `on_list_at_end` is the firms on the list on the period's last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q

from credit.models import BlacklistEntry, BlacklistStatus
from credit.stats.periods import Period

ENTERED = (BlacklistStatus.ACTIVE, BlacklistStatus.EXITED)


@dataclass(frozen=True)
class BlacklistMonth:
    month: date
    entries: int
    exits: int


@dataclass(frozen=True)
class BlacklistFigures:
    entries: int
    exits: int
    on_list_at_end: int
    by_month: list[BlacklistMonth]


def blacklisted(*, prefix: str):
    """Stays on the list (active or ended) of firms registered under the region code `prefix`."""
    return BlacklistEntry.objects.filter(
        enterprise__region__code__startswith=prefix, status__in=ENTERED
    )


def blacklist_figures(period: Period, trend: Period, *, prefix: str) -> BlacklistFigures:
    entered = blacklisted(prefix=prefix)
    entries = _per_month(entered, "entry_date", trend)
    exits = _per_month(entered.filter(status=BlacklistStatus.EXITED), "exit_date", trend)
    on_list = entered.filter(
        Q(exit_date__isnull=True) | Q(exit_date__gte=period.end), entry_date__lt=period.end
    ).count()
    months = set(period.months)
    return BlacklistFigures(
        entries=sum(n for month, n in entries.items() if month in months),
        exits=sum(n for month, n in exits.items() if month in months),
        on_list_at_end=on_list,
        by_month=[
            BlacklistMonth(month, entries.get(month, 0), exits.get(month, 0))
            for month in trend.months
        ],
    )


def _per_month(entries, field: str, trend: Period) -> dict[date, int]:
    rows = (
        entries.filter(**{f"{field}__gte": trend.start, f"{field}__lt": trend.end})
        .values(f"{field}__year", f"{field}__month")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {date(row[f"{field}__year"], row[f"{field}__month"], 1): row["n"] for row in rows}
