"""Credit grades over time: each month's last published snapshot, counted by grade.

A snapshot is immutable, so its counts are computed once, when it is published
(`grade_counts_store`, one GROUP BY in the publishing transaction), and a trend of 36 months
reads 36 small sets of counts instead of 9 million entries. Firms are placed by their
registration region (the entry's `region_code`), like every credit figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Max, Sum

from credit.models import Snapshot, SnapshotEntry, SnapshotGradeCount
from credit.stats.periods import Period

BLACKLIST = "黑名单"  # shown as a grade of its own: it overrides the grade (PRODUCT.md)


def grade_counts_store(snapshot: Snapshot) -> int:
    """Write the snapshot's counts; call inside the transaction that stores its entries."""
    rows = (
        SnapshotEntry.objects.filter(snapshot=snapshot)
        .values("region_code", "grade", "blacklisted")
        .annotate(firms=Count("id"))
        .order_by()
    )
    counts = [
        SnapshotGradeCount(snapshot=snapshot, as_of=snapshot.as_of, **row)
        for row in rows.iterator()
    ]
    SnapshotGradeCount.objects.bulk_create(counts, batch_size=2000)
    return len(counts)


@dataclass(frozen=True)
class GradeMonth:
    month: date
    as_of: date | None  # the snapshot that stands for the month; None when none was published
    firms_by_grade: dict[str, int]  # grade → firms, blacklisted firms under BLACKLIST

    @property
    def firms(self) -> int:
        return sum(self.firms_by_grade.values())


def month_end_snapshots(period: Period) -> dict[date, int]:
    """Month → the id of the last snapshot published with its day in that month."""
    start, end = period.start, period.end
    latest = (
        Snapshot.objects.filter(as_of__gte=start, as_of__lt=end)
        .values("as_of__year", "as_of__month")
        .annotate(last_day=Max("as_of"))
        .order_by()
    )
    days = [row["last_day"] for row in latest]
    chosen: dict[date, int] = {}
    for snapshot_id, as_of in (
        Snapshot.objects.filter(as_of__in=days).order_by("as_of", "id").values_list("id", "as_of")
    ):
        chosen[as_of.replace(day=1)] = snapshot_id  # the last id of the day wins
    return chosen


def grades_by_month(period: Period, *, prefix: str) -> list[GradeMonth]:
    """One GradeMonth per month of the period, firms registered under the code `prefix`."""
    snapshots = month_end_snapshots(period)
    rows = (
        SnapshotGradeCount.objects.filter(
            region_code__startswith=prefix, snapshot_id__in=snapshots.values()
        )
        .values("snapshot_id", "as_of", "grade", "blacklisted")
        .annotate(firms=Sum("firms"))
        .order_by()
    )
    by_month: dict[date, dict[str, int]] = {month: {} for month in period.months}
    days: dict[date, date] = {}
    for row in rows:
        month = row["as_of"].replace(day=1)
        if snapshots.get(month) != row["snapshot_id"]:
            continue
        days[month] = row["as_of"]
        grade = BLACKLIST if row["blacklisted"] else row["grade"]
        counts = by_month[month]
        counts[grade] = counts.get(grade, 0) + row["firms"]
    return [GradeMonth(month, days.get(month), by_month[month]) for month in period.months]
