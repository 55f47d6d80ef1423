"""The records behind the credit figures (the dashboard's drill-down lists), as querysets of
plain values, newest first, scoped by the region code `prefix` like the figures."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from credit.models import BlacklistStatus, ObjectionDecision, SnapshotEntry
from credit.stats.appeals import PENDING, objections_filed, repairs_applied
from credit.stats.blacklist import blacklisted
from credit.stats.grades import BLACKLIST, month_end_snapshots
from credit.stats.periods import Period


def firms_of_grade(period: Period, *, prefix: str, grade: str = "") -> QuerySet:
    """Entries of the last snapshot of the period's last month with that grade (or on the
    blacklist, for BLACKLIST)."""
    last = period.last_month
    snapshot_id = month_end_snapshots(Period(last, last)).get(last)
    entries = SnapshotEntry.objects.filter(snapshot_id=snapshot_id, region_code__startswith=prefix)
    if grade == BLACKLIST:
        entries = entries.filter(blacklisted=True)
    elif grade:
        entries = entries.filter(grade=grade, blacklisted=False)
    return entries.order_by("score", "uscc").values(
        "uscc", "name", "region_code", "score", "grade", "blacklisted"
    )


def blacklist_events(period: Period, *, prefix: str, event: str = "") -> QuerySet:
    entered = blacklisted(prefix=prefix)
    entries = Q(entry_date__gte=period.start, entry_date__lt=period.end)
    exits = Q(status=BlacklistStatus.EXITED, exit_date__gte=period.start, exit_date__lt=period.end)
    chosen = {"entry": entries, "exit": exits}.get(event, entries | exits)
    return (
        entered.filter(chosen)
        .order_by("-entry_date", "-id")
        .values(
            "enterprise__uscc",
            "enterprise__name",
            "enterprise__region_id",
            "entry_date",
            "exit_date",
            "entry_reason",
            "exit_reason",
        )
    )


def objection_list(period: Period, *, prefix: str, decision: str = "") -> QuerySet:
    objections = objections_filed(period, prefix=prefix)
    if decision == PENDING:
        objections = objections.filter(decision="")
    elif decision in ObjectionDecision.values:
        objections = objections.filter(decision=decision)
    return objections.order_by("-filed_on", "-id").values(
        "record__enterprise__uscc",
        "record__enterprise__name",
        "record__title_zh",
        "filed_on",
        "decision",
        "decided_at",
    )


def repair_list(period: Period, *, prefix: str, status: str = "") -> QuerySet:
    repairs = repairs_applied(period, prefix=prefix)
    if status:
        repairs = repairs.filter(status=status)
    return repairs.order_by("-applied_on", "-id").values(
        "record__enterprise__uscc",
        "record__enterprise__name",
        "record__title_zh",
        "applied_on",
        "status",
        decided=F("decided_at"),
    )
