"""The Celery application. Workers run `celery -A backend worker`, beat `celery -A backend beat`."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("wuye_credit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Times are Asia/Shanghai (CELERY_TIMEZONE). Sweepers are the outbox readers: they find rows
# left in an unfinished state because a message was lost, so every 5 minutes bounds the delay.
app.conf.beat_schedule = {
    "worker-heartbeat": {"task": "backend.heartbeat", "schedule": 60.0, "args": ("beat",)},
    # After the 02:00 publication has appended its entries.
    "verify-audit-chain-daily": {
        "task": "backend.verify_audit_chain",
        "schedule": crontab(hour=3, minute=0),
    },
    "publish-snapshot-daily": {
        "task": "credit.publish_snapshot",
        "schedule": crontab(hour=2, minute=0),
    },
    "recompute-dirty-sweeper": {
        "task": "credit.recompute_dirty",
        "schedule": crontab(minute="*/5"),
    },
    "photo-sweeper": {
        "task": "inspections.sweep_photos",
        "schedule": crontab(minute="*/5"),
    },
    "stranded-task-sweeper": {
        "task": "inspections.reassign_stranded_tasks",
        "schedule": crontab(minute="*/5"),
    },
    # Contracts start and end on dates nobody edits; backbone candidates read today's scale.
    "refresh-enterprise-scale-daily": {
        "task": "inspections.refresh_enterprise_scale",
        "schedule": crontab(hour=1, minute=30),
    },
    "expire-uploads": {
        "task": "inspections.expire_uploads",
        "schedule": crontab(minute=17),
    },
    "expire-pending-records": {
        "task": "credit.activate_due_records",
        "schedule": crontab(hour="*", minute=5),
    },
    # Signed tender calls are queued in Redis by the web processes (credit.tender_calls); this
    # moves them into PostgreSQL, so the call record lags by seconds, not by a batch of hours.
    "flush-tender-calls": {"task": "credit.flush_tender_calls", "schedule": 5.0},
    # The bureau's statistics read stored monthly facts (inspections.stats.facts): the two
    # months late syncs and reviews still change every hour, every month each night.
    "refresh-statistics-recent": {
        "task": "inspections.refresh_statistics",
        "schedule": crontab(minute=20),
        "args": ("recent",),
    },
    "refresh-statistics-all": {
        "task": "inspections.refresh_statistics",
        "schedule": crontab(hour=3, minute=45),
        "args": ("all",),
    },
    # The bureau's monthly statistics reports (issue 17): on the 2nd, after the 1st's 02:00
    # snapshot has closed the month's grade distribution and a day of late syncs has arrived;
    # an hour after the 04:00 calibration re-check, so the two do not share the worker.
    "monthly-statistics-reports": {
        "task": "inspections.build_monthly_reports",
        "schedule": crontab(day_of_month=2, hour=5, minute=0),
    },
    # Tender calls are kept a year as the per-call record, then purged.
    "purge-tender-calls-daily": {
        "task": "credit.purge_tender_calls",
        "schedule": crontab(hour=3, minute=30),
    },
    "score-risk-nightly": {
        "task": "inspections.score_risk",
        "schedule": crontab(hour=1, minute=0),
    },
    # After the monthly training: does the active model's calibration still hold?
    "check-risk-calibration-monthly": {
        "task": "inspections.check_risk_calibration",
        "schedule": crontab(day_of_month=2, hour=4, minute=0),
    },
    "train-risk-monthly": {
        "task": "inspections.train_risk_model",
        "schedule": crontab(day_of_month=1, hour=0, minute=30),
    },
}
