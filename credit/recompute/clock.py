"""The record status clock: pending records whose objection window has passed become effective,
effective records past their publication period become expired; their enterprises are flagged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from backend.audit import SYSTEM_ACTOR, audit_append
from backend.queueing import enqueue_on_commit
from credit.models import CreditRecord, EnterpriseScore, Objection, RecordStatus
from credit.task_names import RECOMPUTE_DIRTY_TASK
from credit.workdays import today_local


@dataclass(frozen=True)
class ActivationSummary:
    activated: int
    expired: int


def _flag_enterprises(enterprise_ids: set[int]) -> None:
    now = timezone.now()
    EnterpriseScore.objects.filter(pk__in=enterprise_ids, dirty=False).update(
        dirty=True, dirty_since=now
    )
    known = set(EnterpriseScore.objects.filter(pk__in=enterprise_ids).values_list("pk", flat=True))
    EnterpriseScore.objects.bulk_create(
        [EnterpriseScore(enterprise_id=i, dirty_since=now) for i in enterprise_ids - known],
        ignore_conflicts=True,
    )


@transaction.atomic
def activate_due_records(*, today: date | None = None) -> ActivationSummary:
    """Pending records whose window has passed and that have no undecided objection become
    effective; effective records past their period become expired. Idempotent: conditional
    updates on the current status. The enterprises concerned are flagged and the sweeper is
    queued once for all of them."""
    today = today or today_local()
    open_objection = Objection.objects.filter(record=OuterRef("pk"), decision="")
    due = list(
        CreditRecord.objects.select_for_update()
        .filter(status=RecordStatus.PENDING, effective_from__lte=today)
        .exclude(Exists(open_objection))
        .values_list("id", "enterprise_id")
    )
    CreditRecord.objects.filter(pk__in=[i for i, _ in due], status=RecordStatus.PENDING).update(
        status=RecordStatus.EFFECTIVE, updated_at=timezone.now()
    )
    ended = list(
        CreditRecord.objects.select_for_update()
        .filter(status=RecordStatus.EFFECTIVE, effective_until__lte=today)
        .values_list("id", "enterprise_id")
    )
    CreditRecord.objects.filter(pk__in=[i for i, _ in ended], status=RecordStatus.EFFECTIVE).update(
        status=RecordStatus.EXPIRED, updated_at=timezone.now()
    )
    if due or ended:
        _flag_enterprises({e for _, e in due} | {e for _, e in ended})
        audit_append(
            actor=SYSTEM_ACTOR,
            action="credit.records_status_clock",
            object_type="credit_record",
            object_id="batch",
            payload={
                "today": today.isoformat(),
                "effective": sorted(i for i, _ in due),
                "expired": sorted(i for i, _ in ended),
            },
        )
        # A lost message is harmless: the flags are committed and the sweeper runs every 5 min.
        enqueue_on_commit(RECOMPUTE_DIRTY_TASK)
    return ActivationSummary(activated=len(due), expired=len(ended))


# Past this many flagged enterprises one vectorised pass over all of them (a few seconds for
