"""Tasks of the project package itself."""

from datetime import datetime

from celery import shared_task
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from backend.models import WorkerHeartbeat


@shared_task(name="backend.heartbeat")
def heartbeat(name: str) -> None:
    """Count one execution under `name`. The increment is a single UPDATE so concurrent beats
    never lose a count; the first beat of a name creates the row."""
    now = timezone.now()
    if _increment(name, now):
        return
    try:
        with transaction.atomic():
            WorkerHeartbeat.objects.create(name=name, beats=1, last_at=now)
    except IntegrityError:  # another worker created it between our UPDATE and INSERT
        _increment(name, now)


def _increment(name: str, now: datetime) -> int:
    return WorkerHeartbeat.objects.filter(name=name).update(beats=F("beats") + 1, last_at=now)


AUDIT_CHAIN_HEARTBEAT = "audit-chain"


@shared_task(name="backend.verify_audit_chain")
def verify_audit_chain_task() -> bool:
    """Daily check of the audit log. Success records the `audit-chain` heartbeat (its age is
    alerted on); a broken chain is logged as an error and records nothing, so both the error
    and the ageing heartbeat page the operators."""
    import logging

    from backend.audit import verify_audit_chain

    result = verify_audit_chain()
    if not result.ok:
        logging.getLogger(__name__).error(
            "audit chain broken at seq %s: %s", result.first_bad_seq, result.problem
        )
        return False
    heartbeat(AUDIT_CHAIN_HEARTBEAT)
    return True
