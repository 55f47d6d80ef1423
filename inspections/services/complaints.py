"""Resident complaints: staff register one against a compound, and an inspector of that region
gets a complaint task for it (confirmation on site happens in `review`)."""

from datetime import date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from backend.exceptions import Conflict, Invalid
from inspections.access import access_project_for_staff
from inspections.models import Complaint, InspectionTask, TaskKind
from inspections.services.common import validated
from inspections.services.tasks import least_loaded_inspector, task_create

# A complaint gets a site visit within a week unless staff set another date; it is ranked first
# on the phone because a resident is waiting.
COMPLAINT_DUE_DAYS = 7
COMPLAINT_PRIORITY_RANK = 1
COMPLAINT_REASON = "居民投诉：{summary}"
REASON_SUMMARY_CHARS = 60

ERR_NO_INSPECTOR = "该项目所在区划没有巡查员，无法派发核查任务。"
ERR_RECEIVED_IN_FUTURE = "受理时间不能晚于现在。"


def complaint_register(
    *,
    user: AbstractBaseUser,
    project_id: int,
    text: str,
    received_at: datetime,
    due_date: date | None = None,
) -> Complaint:
    with transaction.atomic():
        project = access_project_for_staff(user, project_id)
        if received_at > timezone.now():
            raise Invalid("received_in_future", ERR_RECEIVED_IN_FUTURE)
        inspector = least_loaded_inspector(project=project)
        if inspector is None:
            raise Conflict("no_inspector_for_region", ERR_NO_INSPECTOR)
        task: InspectionTask = task_create(
            project=project,
            assignee=inspector,
            kind=TaskKind.COMPLAINT,
            due_date=due_date or timezone.localdate() + timedelta(days=COMPLAINT_DUE_DAYS),
            priority_rank=COMPLAINT_PRIORITY_RANK,
            reasons=[COMPLAINT_REASON.format(summary=text.strip()[:REASON_SUMMARY_CHARS])],
        )
        complaint = validated(
            Complaint(
                project=project,
                text=text.strip(),
                received_at=received_at,
                registered_by=user,
                task=task,
            )
        )
        complaint.save()
    return complaint
