"""The names of the credit app's Celery tasks. Domain code queues a task by its name
(`backend.queueing.enqueue_on_commit(NAME, ...)`) instead of importing `credit.tasks`, which
imports the services: the imports stay one-way, and a name is what the broker stores anyway
(renaming one strands the messages already queued)."""

RECOMPUTE_ENTERPRISE_TASK = "credit.recompute_enterprise"
RECOMPUTE_DIRTY_TASK = "credit.recompute_dirty"
ACTIVATE_DUE_RECORDS_TASK = "credit.activate_due_records"
PUBLISH_SNAPSHOT_TASK = "credit.publish_snapshot"
PURGE_TENDER_CALLS_TASK = "credit.purge_tender_calls"
FLUSH_TENDER_CALLS_TASK = "credit.flush_tender_calls"
