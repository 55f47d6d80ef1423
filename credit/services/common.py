"""What every credit write shares: model validation as a domain error, and the dirty flag (the
recompute outbox). An action never writes a score itself: it marks the enterprise dirty in its
own transaction and queues `credit.recompute_enterprise` on commit; the periodic sweeper picks
up anything whose message was lost (the database is the outbox)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.exceptions import Invalid
from backend.queueing import enqueue_on_commit
from credit.models import (
    EnterpriseScore,
)
from credit.task_names import RECOMPUTE_ENTERPRISE_TASK

ERR_INVALID = "提交的信息不完整或不符合要求。"


def full_clean(instance: models.Model, **kwargs) -> None:
    """Model validation as a domain error naming each field (the interface places the fields
    in the request body)."""
    try:
        instance.full_clean(**kwargs)
    except ValidationError as exc:
        fields = [
            (field, str(message))
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        raise Invalid("validation_error", ERR_INVALID, fields=fields) from exc


# --- dirty flag (the recompute outbox) ------------------------------------------------------


def enterprise_mark_dirty(*, enterprise_id: int) -> None:
    """Flag the enterprise for recompute in the caller's transaction and queue the recompute
    for after commit. The UPDATE waits for a running recompute of the same enterprise (it holds
    the row), so a change is never lost between its read and its clearing of the flag."""
    now = timezone.now()
    updated = EnterpriseScore.objects.filter(pk=enterprise_id).update(
        dirty=True, dirty_since=Coalesce("dirty_since", models.Value(now))
    )
    if not updated:
        try:
            with transaction.atomic():
                EnterpriseScore.objects.create(enterprise_id=enterprise_id, dirty_since=now)
        except IntegrityError:  # created concurrently: flag that row instead
            EnterpriseScore.objects.filter(pk=enterprise_id).update(dirty=True)
    # The committed dirty flag is the outbox: a lost message only delays the recompute until
    # the sweeper's next run.
    enqueue_on_commit(RECOMPUTE_ENTERPRISE_TASK, enterprise_id)
