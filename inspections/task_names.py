"""The names of the inspections app's Celery tasks. Domain code queues a task by its name
(`backend.queueing.enqueue_on_commit(NAME, ...)`) instead of importing `inspections.tasks`,
which imports the services: the imports stay one-way, and a name is what the broker stores
(renaming one strands the messages already queued)."""

PROCESS_PHOTO_TASK = "inspections.process_photo"
SWEEP_PHOTOS_TASK = "inspections.sweep_photos"
REASSIGN_STRANDED_TASKS_TASK = "inspections.reassign_stranded_tasks"
EXPIRE_UPLOADS_TASK = "inspections.expire_uploads"
REFRESH_ENTERPRISE_SCALE_TASK = "inspections.refresh_enterprise_scale"
SCORE_RISK_TASK = "inspections.score_risk"
TRAIN_RISK_MODEL_TASK = "inspections.train_risk_model"
CHECK_RISK_CALIBRATION_TASK = "inspections.check_risk_calibration"
BUILD_MONTHLY_REPORTS_TASK = "inspections.build_monthly_reports"
BUILD_MONTHLY_REPORT_TASK = "inspections.build_monthly_report"
REFRESH_STATISTICS_TASK = "inspections.refresh_statistics"
