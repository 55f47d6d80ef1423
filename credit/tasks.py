"""Celery tasks of the credit archive: ids in, one service call, safe to run twice. Domain code
queues them by name (`credit.task_names`), so nothing but Celery imports this module."""

import logging

from celery import shared_task

from credit import task_names

logger = logging.getLogger(__name__)


@shared_task(name=task_names.RECOMPUTE_ENTERPRISE_TASK, ignore_result=True)
def recompute_enterprise_task(enterprise_id: int) -> None:
    from credit.recompute.firm import recompute_enterprise

    if recompute_enterprise(enterprise_id=enterprise_id) is None:
        logger.info("recompute: enterprise %s no longer exists", enterprise_id)


@shared_task(name=task_names.RECOMPUTE_DIRTY_TASK, ignore_result=True)
def recompute_dirty_task() -> int:
    from credit.recompute.sweep import recompute_pending

    result = recompute_pending()
    if result.more_waiting:
        # A full batch means more flags wait; do not leave them for the next 5-minute sweep.
        recompute_dirty_task.delay()
    return result.recomputed


@shared_task(name=task_names.ACTIVATE_DUE_RECORDS_TASK, ignore_result=True)
def activate_due_records_task() -> None:
    from credit.recompute.clock import activate_due_records

    summary = activate_due_records()
    logger.info("records: %s effective, %s expired", summary.activated, summary.expired)


@shared_task(name=task_names.PUBLISH_SNAPSHOT_TASK, ignore_result=True)
def publish_snapshot_task() -> None:
    from credit.publication import snapshot_publish

    snapshot = snapshot_publish(actor=None)
    logger.info("snapshot %s published: %s", snapshot.id, snapshot.sha256)


@shared_task(name=task_names.PURGE_TENDER_CALLS_TASK, ignore_result=True)
def purge_tender_calls_task() -> None:
    from credit.tender_calls import tender_calls_purge

    logger.info("tender calls purged: %s", tender_calls_purge())


@shared_task(name=task_names.FLUSH_TENDER_CALLS_TASK, ignore_result=True)
def flush_tender_calls_task() -> None:
    from credit.tender_calls import tender_calls_flush

    stored = tender_calls_flush()
    if stored:
        logger.info("tender calls stored: %s", stored)
