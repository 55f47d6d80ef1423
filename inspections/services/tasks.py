"""Inspection tasks: created by plans and complaints, changed by inspections, fed to phones,
and handed on when their inspector can no longer do them.

Every change takes the next `change_seq` from the locked `TaskFeedHead` row (see its docstring),
so the phones' task cursor is commit-ordered.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Count, Q

from backend.audit import SYSTEM_ACTOR, audit_append
from backend.exceptions import Invalid
from credit.access import region_prefix
from credit.models import StaffProfile, StaffRole
from inspections.models import (
    Complaint,
    InspectionTask,
    PlanItem,
    Project,
    TaskFeedHead,
    TaskKind,
    TaskStatus,
)
from inspections.services.common import validated

logger = logging.getLogger(__name__)

ERR_ASSIGNEE_NOT_INSPECTOR = "任务只能派给巡查员。"
ERR_ASSIGNEE_OUT_OF_REGION = "该巡查员不负责此项目所在区划。"
# Only these moves happen; a finished or cancelled task never comes back to life.
ALLOWED_TRANSITIONS = {
    TaskStatus.ASSIGNED: {TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.IN_PROGRESS: {TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.DONE: set(),
    TaskStatus.CANCELLED: set(),
}
OPEN_STATUSES = (TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS)


def _next_change_seq() -> int:
    """Must run inside the caller's transaction: the lock on the head row is the point."""
    head, _ = TaskFeedHead.objects.select_for_update().get_or_create(id=1)
    head.seq += 1
    head.save(update_fields=["seq"])
    return head.seq


def inspector_covers_region(*, inspector: StaffProfile, region_code: str) -> bool:
    # `.all()`, not `values_list`: callers that scan many inspectors or tasks prefetch the
    # regions, and only `.all()` reads that cache instead of querying once per row.
    codes = [region.code for region in inspector.regions.all()]
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
        raise Invalid("assignee_not_inspector", ERR_ASSIGNEE_NOT_INSPECTOR)
    if not inspector_covers_region(inspector=assignee, region_code=project.region_id):
        raise Invalid("assignee_out_of_region", ERR_ASSIGNEE_OUT_OF_REGION)
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


def least_loaded_inspector(*, project: Project) -> StaffProfile | None:
    """The active inspector covering the project's region with the fewest open tasks (ties: the
    longest-serving account, i.e. lowest id, so the choice is deterministic)."""
    candidates = (
        StaffProfile.objects.filter(role=StaffRole.INSPECTOR, user__is_active=True)
        .annotate(open_tasks=Count("tasks", filter=Q(tasks__status__in=OPEN_STATUSES)))
        .order_by("open_tasks", "id")
        .prefetch_related("regions")
    )
    for inspector in candidates:
        if inspector_covers_region(inspector=inspector, region_code=project.region_id):
            return inspector
    return None


# --- handing on stranded tasks ---------------------------------------------------------------


@dataclass(frozen=True)
class Reassignment:
    cancelled: InspectionTask
    replacement: InspectionTask


def can_still_do(task: InspectionTask) -> bool:
    """Whether the task's inspector may still do it: an active inspector whose regions cover
    the compound (what the phone API checks before showing it)."""
    inspector = task.assignee
    return (
        inspector.role == StaffRole.INSPECTOR
        and inspector.user.is_active
        and inspector_covers_region(inspector=inspector, region_code=task.project.region_id)
    )


def stranded_task_ids() -> list[int]:
    """Open tasks whose inspector can no longer do them (read by the sweeper and the
    `wuye_tasks_stranded` gauge)."""
    open_tasks = (
        InspectionTask.objects.filter(status__in=OPEN_STATUSES)
        .select_related("assignee__user", "project")
        .prefetch_related("assignee__regions")
    )
    return [task.id for task in open_tasks if not can_still_do(task)]


def tasks_reassign_stranded() -> list[Reassignment]:
    """Open tasks whose inspector can no longer do them (the compound's region left their
    scope, they are no longer an inspector, their account was closed) used to vanish from
    their phone with no word, and the visit never happened. Each is cancelled, so the phone
    hears of it through its feed, and a copy goes to the least-loaded inspector covering the
    compound, taking over the complaint or plan item it served. A task nobody covers stays as
    it is (counted by the gauge, logged) until an inspector is given the region. Idempotent;
    run by the `inspections.reassign_stranded_tasks` sweeper."""
    handled = [_reassign(task_id) for task_id in stranded_task_ids()]
    return [reassignment for reassignment in handled if reassignment is not None]


@transaction.atomic
def _reassign(task_id: int) -> Reassignment | None:
    task = (
        InspectionTask.objects.select_for_update(of=("self",))
        .select_related("assignee__user", "project")
        .get(id=task_id)
    )
    if task.status not in OPEN_STATUSES or can_still_do(task):
        return None  # done, cancelled or back in scope since the scan
    successor = least_loaded_inspector(project=task.project)
    if successor is None:
        logger.warning(
            "task %s stranded: no active inspector covers region %s",
            task.id,
            task.project.region_id,
        )
        return None
    cancelled = task_status_set(task=task, status=TaskStatus.CANCELLED)
    replacement = task_create(
        project=task.project,
        assignee=successor,
        kind=task.kind,
        due_date=task.due_date,
        priority_rank=task.priority_rank,
        reasons=task.reasons,
        plan_id=task.plan_id,
    )
    Complaint.objects.filter(task=task).update(task=replacement)
    PlanItem.objects.filter(task=task).update(task=replacement)
    audit_append(
        actor=SYSTEM_ACTOR,
        action="task.reassigned",
        object_type="inspection_task",
        object_id=task.id,
        payload={
            "project_id": task.project_id,
            "kind": task.kind,
            "from_inspector_id": task.assignee_id,
            "to_inspector_id": successor.id,
            "replacement_task_id": replacement.id,
        },
    )
    return Reassignment(cancelled, replacement)
