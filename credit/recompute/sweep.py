"""The dirty sweep: what the `credit.recompute_dirty` task runs. Flagged enterprises one by one,
or the full recompute when a flood of flags arrives (the nightly risk run flags everyone)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from credit.models import Enterprise, EnterpriseScore
from credit.recompute.firm import recompute_enterprise
from credit.recompute.full import recompute_all

logger = logging.getLogger(__name__)

DIRTY_BATCH = 500


def recompute_dirty(*, limit: int = DIRTY_BATCH) -> int:
    """The sweeper: recompute flagged enterprises (oldest flag first) and enterprises never
    scored. Each in its own transaction, so one failure does not hold back the rest."""
    dirty = list(
        EnterpriseScore.objects.filter(dirty=True)
        .order_by("dirty_since")
        .values_list("enterprise_id", flat=True)[:limit]
    )
    unscored = list(
        Enterprise.objects.filter(credit_score__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[: max(limit - len(dirty), 0)]
    )
    done = 0
    for enterprise_id in dirty + unscored:
        try:
            recompute_enterprise(enterprise_id=enterprise_id)
        except Exception:  # logged and left dirty: the next sweep retries it
            logger.exception("recompute of enterprise %s failed", enterprise_id)
            continue
        done += 1
    return done


# The nightly risk run flags every enterprise at once.
BULK_RECOMPUTE_THRESHOLD = 5000


@dataclass(frozen=True)
class SweepResult:
    recomputed: int
    more_waiting: bool


def recompute_pending() -> SweepResult:
    """What the `credit.recompute_dirty` task runs: the bulk pass for a flood of flags, else
    one batch of the sweeper; `more_waiting` tells the task to queue itself again."""
    flagged = EnterpriseScore.objects.filter(dirty=True).count()
    if flagged > BULK_RECOMPUTE_THRESHOLD:
        summary = recompute_all()
        return SweepResult(recomputed=summary.refreshed, more_waiting=False)
    done = recompute_dirty(limit=DIRTY_BATCH)
    return SweepResult(recomputed=done, more_waiting=done >= DIRTY_BATCH)
