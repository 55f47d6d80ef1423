"""Every write of the inspections app, one module per subject. Import from here."""

from inspections.services.common import Location, Written
from inspections.services.complaints import complaint_register
from inspections.services.contracts import enterprise_scale_refresh
from inspections.services.inspections import (
    PhotoSlot,
    finding_put,
    inspection_put,
    inspection_submit,
)
from inspections.services.photos import photo_process
from inspections.services.review import ReviewOutcome, finding_review
from inspections.services.tasks import (
    Reassignment,
    least_loaded_inspector,
    task_cancel,
    task_create,
    task_status_set,
    tasks_reassign_stranded,
)
from inspections.services.uploads import (
    AppendResult,
    upload_append,
    upload_create,
    upload_get,
    upload_terminate,
    uploads_expire,
)

__all__ = [
    "AppendResult",
    "Location",
    "PhotoSlot",
    "Reassignment",
    "ReviewOutcome",
    "Written",
    "complaint_register",
    "enterprise_scale_refresh",
    "finding_put",
    "finding_review",
    "inspection_put",
    "inspection_submit",
    "least_loaded_inspector",
    "photo_process",
    "task_cancel",
    "task_create",
    "task_status_set",
    "tasks_reassign_stranded",
    "upload_append",
    "upload_create",
    "upload_get",
    "upload_terminate",
    "uploads_expire",
]
