"""Inspection tasks: created by plans and complaints, changed by inspections, fed to phones.

Every change takes the next `change_seq` from the locked `TaskFeedHead` row (see its docstring),
so the phones' task cursor is commit-ordered.
"""

from collections.abc import Sequence
from datetime import date

from django.db import transaction

from backend.errors import Problem
from credit.access import region_prefix
from credit.models import StaffProfile, StaffRole
from inspections.models import InspectionTask, Project, TaskFeedHead, TaskKind, TaskStatus
from inspections.services.common import validated

ERR_ASSIGNEE_NOT_INSPECTOR = "任务只能派给巡查员。"
ERR_ASSIGNEE_OUT_OF_REGION = "该巡查员不负责此项目所在区划。"
# Only these moves happen; a finished or cancelled task never comes back to life.
ALLOWED_TRANSITIONS = {
    TaskStatus.ASSIGNED: {TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.IN_PROGRESS: {TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.DONE: set(),
    TaskStatus.CANCELLED: set(),
}


def _next_change_seq() -> int:
    """Must run inside the caller's transaction: the lock on the head row is the point."""
    head, _ = TaskFeedHead.objects.select_for_update().get_or_create(id=1)
    head.seq += 1
    head.save(update_fields=["seq"])
    return head.seq


def inspector_covers_region(*, inspector: StaffProfile, region_code: str) -> bool:
    codes = inspector.regions.values_list("code", flat=True)
    return any(region_code.startswith(region_prefix(code)) for code in codes)


@transaction.atomic
def task_create(
    *,
    project: Project,
    assignee: StaffProfile,
    kind: str,
    due_date: date,
    priority_rank: int = 1,
    reasons: Sequence[str] = (),
    plan_id: int | None = None,
) -> InspectionTask:
    if assignee.role != StaffRole.INSPECTOR:
        raise Problem(422, "assignee_not_inspector", ERR_ASSIGNEE_NOT_INSPECTOR)
    if not inspector_covers_region(inspector=assignee, region_code=project.region_id):
        raise Problem(422, "assignee_out_of_region", ERR_ASSIGNEE_OUT_OF_REGION)
    task = validated(
        InspectionTask(
            project=project,
            assignee=assignee,
            kind=TaskKind(kind),
            due_date=due_date,
            priority_rank=priority_rank,
            reasons=list(reasons),
            plan_id=plan_id,
            change_seq=0,  # placeholder for full_clean; the real one is taken just before save
        )
    )
    task.change_seq = _next_change_seq()
    task.save()
    return task


@transaction.atomic
def task_status_set(*, task: InspectionTask, status: str) -> InspectionTask:
    """Move a task along (assigned → in_progress → done, or cancelled); a move that is not
    allowed, or to the state it is in, changes nothing. Phones see the change in their feed."""
    locked = InspectionTask.objects.select_for_update().get(id=task.id)
    if TaskStatus(status) not in ALLOWED_TRANSITIONS[TaskStatus(locked.status)]:
        return locked
    locked.status = status
    locked.change_seq = _next_change_seq()
    locked.save(update_fields=["status", "change_seq", "updated_at"])
    return locked


def task_cancel(*, task: InspectionTask) -> InspectionTask:
    return task_status_set(task=task, status=TaskStatus.CANCELLED)
