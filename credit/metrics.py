"""Gauges of the credit app for /metrics (registered in CreditConfig.ready)."""

from django.db.models import Count, Max
from django.utils import timezone

from credit.models import EnterpriseScore, Snapshot


def snapshot_age_seconds() -> dict[tuple[str, ...], float]:
    """Seconds since the latest snapshot; the daily 02:00 publication keeps it under 26 h."""
    latest = Snapshot.objects.aggregate(t=Max("published_at"))["t"]
    return {(): (timezone.now() - latest).total_seconds()} if latest else {}


def dirty_enterprises() -> dict[tuple[str, ...], float]:
    """Enterprises waiting for a recompute; growing means the recompute tasks are not running."""
    counts = dict(EnterpriseScore.objects.values_list("dirty").annotate(n=Count("pk")))
    return {(): float(counts.get(True, 0))}


def tender_calls_queued() -> dict[tuple[str, ...], float]:
    """Signed tender calls waiting in Redis to be stored; growing means the flush task (beat,
    every 5 s) is not running."""
    from credit.tender_calls import tender_calls_queued as queued

    count = queued()
    return {} if count is None else {(): float(count)}


def register() -> None:
    from backend.observability import register_gauge

    register_gauge(
        "wuye_snapshot_age_seconds",
        "Seconds since the latest published credit snapshot.",
        snapshot_age_seconds,
    )
    register_gauge(
        "wuye_dirty_enterprises",
        "Enterprises whose score waits for a recompute.",
        dirty_enterprises,
    )
    register_gauge(
        "wuye_tender_calls_queued",
        "Signed tender calls queued in Redis, not yet stored in PostgreSQL.",
        tender_calls_queued,
    )
