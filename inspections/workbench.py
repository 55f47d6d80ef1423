"""Reads of the bureau workbench (/bureau/): how much work waits for the signed-in reviewer or
admin in their regions, and the stranded tasks behind one of the counts. Also the plain-Chinese
labels of the states the bureau pages show (the interfaces cannot read the model choices)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count

from credit.access import region_scope_q
from credit.bureau_selectors import (
    blacklist_proposal_counts,
    objections_open,
    records_in_objection_window,
)
from credit.choices import StaffRole
from credit.models import Severity
from credit.workdays import today_local
from inspections.access import findings_for_reviewer, require_reviewer
from inspections.models import (
    InspectionPlan,
    InspectionStatus,
    InspectionTask,
    PhotoState,
    ReviewStatus,
    TaskKind,
    TaskStatus,
)
from inspections.services.tasks import OPEN_STATUSES, can_still_do, inspector_covers_region

SEVERITY_LABELS = dict(Severity.choices)
TASK_STATUS_LABELS = dict(TaskStatus.choices)
TASK_KIND_LABELS = dict(TaskKind.choices)
PHOTO_STATE_LABELS = dict(PhotoState.choices)

WHY_NOT_INSPECTOR = "该人员已不是巡查员"
WHY_ACCOUNT_CLOSED = "该巡查员的账号已停用"
WHY_REGION_LOST = "该巡查员的负责区划已不含这个项目"


@dataclass(frozen=True)
class Workbench:
    findings_to_review: int
    proposals_to_approve: int
    proposals_to_endorse: int
    objections_open: int
    records_in_window: int
    stranded_tasks: int


def workbench(user: AbstractBaseUser) -> Workbench:
    """The counts of the workbench, each in the user's regions (403 for non-reviewers)."""
    pending = findings_for_reviewer(user).filter(
        review_status=ReviewStatus.PENDING, inspection__status=InspectionStatus.SUBMITTED
    )
    proposals = blacklist_proposal_counts(
        scope=region_scope_q(user, field="enterprise__region__code")
    )
    return Workbench(
        findings_to_review=pending.count(),
        proposals_to_approve=proposals.to_approve,
        proposals_to_endorse=proposals.to_endorse,
        objections_open=objections_open(
            scope=region_scope_q(user, field="record__enterprise__region__code")
        ).count(),
        records_in_window=records_in_objection_window(
            scope=region_scope_q(user, field="enterprise__region__code"), today=today_local()
        ).count(),
        stranded_tasks=len(stranded_tasks(user)),
    )


@dataclass(frozen=True)
class StrandedTask:
    task: InspectionTask
    why: str


def _why(task: InspectionTask) -> str:
    inspector = task.assignee
    if not inspector.user.is_active:
        return WHY_ACCOUNT_CLOSED
    if not inspector_covers_region(inspector=inspector, region_code=task.project.region_id):
        return WHY_REGION_LOST if inspector.role == StaffRole.INSPECTOR else WHY_NOT_INSPECTOR
    return WHY_NOT_INSPECTOR


def stranded_tasks(user: AbstractBaseUser) -> list[StrandedTask]:
    """Open tasks of compounds in the user's regions whose inspector can no longer do them (the
    sweeper's rule, `inspections.services.tasks.can_still_do`), by due date. The sweeper hands
    each to a covering inspector within minutes; those left here have nobody to go to."""
    require_reviewer(user)
    tasks = (
        InspectionTask.objects.filter(
            region_scope_q(user, field="project__region__code"), status__in=OPEN_STATUSES
        )
        .select_related("assignee__user", "project__region")
        .prefetch_related("assignee__regions")
        .order_by("due_date", "id")
    )
    return [StrandedTask(task, _why(task)) for task in tasks if not can_still_do(task)]


def plans_in_scope(user: AbstractBaseUser, *, limit: int = 20) -> list[InspectionPlan]:
    """The latest approved plans of the user's regions (newest round first), each with the
    number of its items as `item_count`."""
    require_reviewer(user)
    return list(
        InspectionPlan.objects.filter(region_scope_q(user, field="region__code"))
        .select_related("region", "approved_by")
        .annotate(item_count=Count("items"))
        .order_by("-start_date", "-id")[:limit]
    )
