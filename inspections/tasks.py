"""Celery tasks of the inspections app. Each takes ids, calls one service and is safe to run
twice; the sweepers are the outbox readers for photos whose message was lost. Domain code
queues them by name (`inspections.task_names`), so nothing but Celery imports this module."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from backend.storage import StorageUnavailable
from inspections import task_names

logger = logging.getLogger(__name__)

# A photo takes about a second to process; one still `received` after 10 minutes lost its
# message (broker restart, worker killed mid-task), so the sweeper queues it again.
STUCK_RECEIVED_AFTER = timedelta(minutes=10)
SWEEP_BATCH = 500
# The store restarting is the transient failure worth waiting for; the backoff doubles up to
# about 8 minutes, after which the sweeper takes over.
STORAGE_RETRIES = 5


@shared_task(
    name=task_names.PROCESS_PHOTO_TASK,
    bind=True,
    autoretry_for=(StorageUnavailable,),
    retry_backoff=30,
    retry_backoff_max=480,
    max_retries=STORAGE_RETRIES,
    acks_late=True,  # safe: processing is idempotent (conditional updates, fixed object keys)
)
def process_photo_task(self, photo_id: int) -> str:
    from inspections.services.photos import photo_process

    photo = photo_process(photo_id=photo_id)
    if photo is None:
        logger.info("photo %s: nothing to process (missing or already done)", photo_id)
        return "skipped"
    return photo.state


@shared_task(name=task_names.SWEEP_PHOTOS_TASK)
def sweep_photos() -> int:
    from inspections.models import Photo, PhotoState

    cutoff = timezone.now() - STUCK_RECEIVED_AFTER
    stuck = list(
        Photo.objects.filter(state=PhotoState.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    for photo_id in stuck:
        process_photo_task.delay(photo_id)
    if stuck:
        logger.warning("re-queued %d photos stuck in received", len(stuck))
    return len(stuck)


@shared_task(name=task_names.REASSIGN_STRANDED_TASKS_TASK)
def reassign_stranded_tasks() -> int:
    """Hand on the open tasks of inspectors who lost the compound's region, their role or
    their account (staff changes are made in `create_staff` or the admin, in the credit app,
    which knows nothing of tasks)."""
    from inspections.services import tasks_reassign_stranded

    return len(tasks_reassign_stranded())


@shared_task(name=task_names.EXPIRE_UPLOADS_TASK)
def expire_uploads() -> int:
    from inspections.services.uploads import uploads_expire

    return uploads_expire()


@shared_task(name=task_names.REFRESH_ENTERPRISE_SCALE_TASK)
def refresh_enterprise_scale() -> int:
    from inspections.services.contracts import enterprise_scale_refresh_all

    return enterprise_scale_refresh_all()


@shared_task(name=task_names.SCORE_RISK_TASK)
def score_risk() -> str:
    """Nightly: score every compound and enterprise with the active model. Safe to repeat: it
    overwrites today's estimates with the same numbers."""
    from inspections.risk.scoring import risk_score_all

    summary = risk_score_all()
    if summary is None:
        logger.info("score_risk: no active risk model yet")
        return "no_model"
    return summary.model_version


@shared_task(name=task_names.TRAIN_RISK_MODEL_TASK)
def train_risk_model() -> str:
    """Monthly: train on everything known up to yesterday and register the version (active only
    when none is; otherwise an admin promotes it from the model card). Retraining on the same
    data registers nothing new."""
    from backend.exceptions import DomainError
    from inspections.risk.training import risk_model_train

    try:
        row = risk_model_train()
    except DomainError as problem:  # not enough history yet: nothing to retry until next month
        logger.warning("train_risk_model: %s", problem.detail)
        return problem.code
    return row.version


@shared_task(name=task_names.CHECK_RISK_CALIBRATION_TASK)
def check_risk_calibration() -> float | None:
    """Monthly: the active model's calibration on the latest completed period."""
    from inspections.risk.calibration_check import risk_calibration_check

    check = risk_calibration_check()
    return None if check is None else check["ece"]


@shared_task(name=task_names.BUILD_MONTHLY_REPORTS_TASK)
def build_monthly_reports(month: str = "") -> int:
    """Early each month: queue the report of every reporting region for the month before."""
    from datetime import date

    from inspections.stats.reports import monthly_reports_queue

    return monthly_reports_queue(date.fromisoformat(month) if month else None)


@shared_task(
    name=task_names.BUILD_MONTHLY_REPORT_TASK,
    autoretry_for=(StorageUnavailable,),
    retry_backoff=30,
    retry_backoff_max=480,
    max_retries=STORAGE_RETRIES,
    acks_late=True,  # safe: a fixed object key and an upserted row
)
def build_monthly_report(region_code: str, month: str) -> str:
    from datetime import date

    from inspections.stats.reports import monthly_report_build

    report = monthly_report_build(region_code, date.fromisoformat(month))
    return report.object_key


@shared_task(name=task_names.REFRESH_STATISTICS_TASK)
def refresh_statistics(scope: str = "recent") -> int:
    """Recompute the statistics' facts: "recent" (hourly: this month and the last) or "all"
    (nightly). Replacing whole months under an advisory lock makes a rerun harmless."""
    from inspections.stats.facts import facts_refresh_all, facts_refresh_recent

    return facts_refresh_all() if scope == "all" else facts_refresh_recent()
