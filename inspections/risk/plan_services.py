"""Inspection plans against the database: candidates of a region, preview, approval.

A plan covers one round of `ROUND_DAYS` days from its start date in one region (a league/city
or any division under it). The preview is computed and never stored; approving computes the
same plan (same seed) and writes it with its tasks in one transaction. Tasks go to inspectors
covering each compound's region, one at a time in rank order to whoever has the fewest open
tasks counting the ones this plan already gave out (ties: lowest id). A compound that already
has an open task (typically its complaint visit) keeps that task and gets no second one.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from backend.exceptions import Conflict, Invalid, NotFound
from credit.access import code_in_scope, region_prefix, region_scope_q, require_role
from credit.models import Region, StaffProfile, StaffRole
from inspections.models import (
    Complaint,
    ComplaintOutcome,
    Finding,
    Inspection,
    InspectionPlan,
    InspectionStatus,
    InspectionTask,
    ManagementContract,
    PlanItem,
    Project,
    ProjectRisk,
    ReviewStatus,
    TaskKind,
)
from inspections.risk.gating import ModelStatus, model_status
from inspections.risk.planner import DEFAULT_RANDOM_SHARE, Candidate, Plan, make_plan
from inspections.risk.registry import active_version
from inspections.services.common import validated
from inspections.services.tasks import OPEN_STATUSES, task_create
from ml.gate import DAYS_SINCE_INSPECTION

ROUND_DAYS = 28  # a round is four weeks: Monday to the Sunday four weeks later
MAX_CAPACITY = 5000  # a league's inspectors make a few hundred visits a month at most
# Plans are made for the next rounds, not for years ahead (and a far date cannot overflow).
MAX_DAYS_AHEAD = 366
SEED_BITS = 31
PLANNER_ROLES = (StaffRole.REVIEWER, StaffRole.ADMIN)
APPROVER_ROLES = (StaffRole.ADMIN,)

ERR_REGION_NOT_FOUND = "未找到该区划，或不在您负责的区划内。"
ERR_PLAN_NOT_FOUND = "未找到该巡查计划。"
ERR_START_IN_PAST = "计划开始日期不能早于今天。"
ERR_START_TOO_FAR = "计划开始日期不能晚于一年以后。"
ERR_CAPACITY = "巡查能力须在 1 到 {max} 次之间。"
ERR_SHARE = "随机抽查比例须在 0 到 1 之间。"
ERR_PLAN_EXISTS = "该区划在此开始日期已有批准的巡查计划。"
MSG_RANK_FINDINGS = "近一年确认违规{n}项"
MSG_RANK_DAYS = "已{days}天未巡查"
MSG_RANK_NEVER = "从未巡查"
ERR_NO_INSPECTOR = "项目「{project}」所在区划没有巡查员，无法派发任务。"


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    name: str
    address: str
    region_code: str
    enterprise_uscc: str | None
    enterprise_name: str | None
    days_since_inspection: int | None
    open_complaints: int


@dataclass(frozen=True)
class PlanPreview:
    region: Region
    capacity: int
    start: date
    due_date: date
    seed: int
    random_share: float
    model_version: str
    plan: Plan
    projects: dict[int, ProjectInfo]


def new_seed() -> int:
    return secrets.randbits(SEED_BITS)


def access_plan_region(user: AbstractBaseUser, region_code: str) -> Region:
    """The region to plan for: 403 for staff who do not plan, 404 when the code is unknown or
    outside the caller's regions (a probe learns nothing)."""
    require_role(user, *PLANNER_ROLES)
    region = Region.objects.filter(code=region_code).first()
    if region is None or not code_in_scope(user, region.code):
        raise NotFound("region_not_found", ERR_REGION_NOT_FOUND)
    return region


def access_plan(user: AbstractBaseUser, plan_id: int) -> InspectionPlan:
    require_role(user, *PLANNER_ROLES)
    plan = (
        InspectionPlan.objects.filter(region_scope_q(user, "region__code"), id=plan_id)
        .select_related("region", "approved_by")
        .first()
    )
    if plan is None:
        raise NotFound("plan_not_found", ERR_PLAN_NOT_FOUND)
    return plan


def _check_request(*, capacity: int, start: date, random_share: float) -> None:
    today = timezone.localdate()
    if start < today:
        raise Invalid("start_in_past", ERR_START_IN_PAST)
    if start > today + timedelta(days=MAX_DAYS_AHEAD):
        raise Invalid("start_too_far", ERR_START_TOO_FAR)
    if not 1 <= capacity <= MAX_CAPACITY:
        raise Invalid("invalid_capacity", ERR_CAPACITY.format(max=MAX_CAPACITY))
    if not 0.0 <= random_share <= 1.0:
        raise Invalid("invalid_random_share", ERR_SHARE)


def plan_candidates(*, region: Region, start: date) -> dict[int, tuple[Candidate, ProjectInfo]]:
    """Every compound in the region with what the planner needs, as of the round's start."""
    projects = Project.objects.filter(region__code__startswith=region_prefix(region.code))
    ids = list(projects.values_list("id", flat=True))
    last_visit = dict(
        Inspection.objects.filter(project_id__in=ids, status=InspectionStatus.SUBMITTED)
        .values("project_id")
        .annotate(last=Max("started_at"))
        .values_list("project_id", "last")
    )
    complaints = dict(
        Complaint.objects.filter(project_id__in=ids, outcome=ComplaintOutcome.OPEN)
        .values("project_id")
        .annotate(n=Count("id"))
        .values_list("project_id", "n")
    )
    status = model_status(active_version())
    risks = (
        {
            row[0]: row[1:]
            for row in ProjectRisk.objects.filter(project_id__in=ids).values_list(
                "project_id", "probability", "reasons"
            )
        }
        if status.live
        else {}
    )
    findings = {} if status.live else confirmed_findings_last_year(ids, start=start)
    managers = {
        row[0]: row[1:]
        for row in ManagementContract.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gt=start),
            project_id__in=ids,
            start_date__lte=start,
        ).values_list("project_id", "enterprise__uscc", "enterprise__name")
    }
    result = {}
    for project_id, name, address, region_code in projects.order_by("id").values_list(
        "id", "name", "address", "region_id"
    ):
        visited = last_visit.get(project_id)
        days = None if visited is None else (start - timezone.localdate(visited)).days
        probability, reasons = risks.get(project_id, (None, []))
        uscc, enterprise_name = managers.get(project_id, (None, None))
        ranking, ranking_text = (
            (None, "")
            if status.live
            else _simple_ranking(status, findings.get(project_id, 0), days)
        )
        candidate = Candidate(
            project_id=project_id,
            probability=probability,
            reasons=tuple(reasons),
            days_since_inspection=days,
            open_complaints=complaints.get(project_id, 0),
            ranking=ranking,
            ranking_text=ranking_text,
        )
        info = ProjectInfo(
            id=project_id,
            name=name,
            address=address,
            region_code=region_code,
            enterprise_uscc=uscc,
            enterprise_name=enterprise_name,
            days_since_inspection=days,
            open_complaints=candidate.open_complaints,
        )
        result[project_id] = (candidate, info)
    return result


def confirmed_findings_last_year(project_ids: list[int], *, start: date) -> dict[int, int]:
    """Confirmed findings per compound in the 365 days before `start`: the simple ranking a
    planner has without a model (ml.gate.PAST_FINDINGS, counted as the features count it)."""
    since = start - timedelta(days=365)
    return dict(
        Finding.objects.filter(
            inspection__project_id__in=project_ids,
            review_status=ReviewStatus.CONFIRMED,
            inspection__started_at__date__gte=since,
            inspection__started_at__date__lt=start,
        )
        .values("inspection__project_id")
        .annotate(n=Count("id"))
        .values_list("inspection__project_id", "n")
    )


def _simple_ranking(
    status: ModelStatus, findings: int, days: int | None
) -> tuple[float | None, str]:
    """(value, words) of the fallback ranking for one compound; (None, "") while the model is
    live (it ranks the model slots)."""
    if status.live:
        return None, ""
    if status.fallback == DAYS_SINCE_INSPECTION:
        if days is None:
            return math.inf, MSG_RANK_NEVER
        return float(days), MSG_RANK_DAYS.format(days=days)
    return float(findings), MSG_RANK_FINDINGS.format(n=findings)


def _preview(
    *, region: Region, capacity: int, start: date, seed: int, random_share: float
) -> PlanPreview:
    _check_request(capacity=capacity, start=start, random_share=random_share)
    candidates = plan_candidates(region=region, start=start)
    plan = make_plan(
        [candidate for candidate, _ in candidates.values()],
        capacity=capacity,
        random_share=random_share,
        seed=seed,
    )
    model = active_version()
    return PlanPreview(
        region=region,
        capacity=capacity,
        start=start,
        due_date=start + timedelta(days=ROUND_DAYS - 1),
        seed=seed,
        random_share=random_share,
        model_version=model.version if model else "",
        plan=plan,
        projects={item.project_id: candidates[item.project_id][1] for item in plan.items},
    )


def plan_preview(
    *,
    user: AbstractBaseUser,
    region_code: str,
    capacity: int,
    start: date,
    seed: int | None = None,
    random_share: float = DEFAULT_RANDOM_SHARE,
) -> PlanPreview:
    """The ranked, explained plan a planner would approve; writes nothing. Without a seed a new
    one is drawn; approving with the returned seed reproduces this plan on unchanged data."""
    region = access_plan_region(user, region_code)
    return _preview(
        region=region,
        capacity=capacity,
        start=start,
        seed=new_seed() if seed is None else seed,
        random_share=random_share,
    )


class _Dispatcher:
    """Hands out tasks to the least-loaded inspector covering each compound's region."""

    def __init__(self) -> None:
        inspectors = list(
            StaffProfile.objects.filter(role=StaffRole.INSPECTOR, user__is_active=True)
            .annotate(open_tasks=Count("tasks", filter=Q(tasks__status__in=OPEN_STATUSES)))
            .prefetch_related("regions")
            .order_by("id")
        )
        self.load = {inspector.id: inspector.open_tasks for inspector in inspectors}
        self.prefixes = {
            inspector.id: [region_prefix(r.code) for r in inspector.regions.all()]
            for inspector in inspectors
        }
        self.by_id = {inspector.id: inspector for inspector in inspectors}

    def take(self, project: Project) -> StaffProfile:
        covering = [
            inspector_id
            for inspector_id, prefixes in self.prefixes.items()
            if any(project.region_id.startswith(prefix) for prefix in prefixes)
        ]
        if not covering:
            raise Conflict("no_inspector_for_region", ERR_NO_INSPECTOR.format(project=project.name))
        chosen = min(covering, key=lambda inspector_id: (self.load[inspector_id], inspector_id))
        self.load[chosen] += 1
        return self.by_id[chosen]


def plan_approve(
    *,
    user: AbstractBaseUser,
    region_code: str,
    capacity: int,
    start: date,
    seed: int | None = None,
    random_share: float = DEFAULT_RANDOM_SHARE,
) -> InspectionPlan:
    """Approve the plan for (region, start) (admins): the plan, its items and the tasks."""
    require_role(user, *APPROVER_ROLES)
    region = access_plan_region(user, region_code)
    with transaction.atomic():
        preview = _preview(
            region=region,
            capacity=capacity,
            start=start,
            seed=new_seed() if seed is None else seed,
            random_share=random_share,
        )
        plan = _plan_row(preview, user)
        _write_items(plan, preview)
    return plan


def _plan_row(preview: PlanPreview, user: AbstractBaseUser) -> InspectionPlan:
    if InspectionPlan.objects.filter(region=preview.region, start_date=preview.start).exists():
        raise Conflict("plan_exists", ERR_PLAN_EXISTS)
    plan = validated(
        InspectionPlan(
            region=preview.region,
            capacity=preview.capacity,
            start_date=preview.start,
            due_date=preview.due_date,
            seed=preview.seed,
            random_share=preview.random_share,
            random_pool=preview.plan.random_pool,
            random_slots=preview.plan.random_slots,
            model_version=preview.model_version,
            approved_by=user,
        )
    )
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError as error:  # approved concurrently by someone else
        raise Conflict("plan_exists", ERR_PLAN_EXISTS) from error
    return plan


def _write_items(plan: InspectionPlan, preview: PlanPreview) -> None:
    ids = [item.project_id for item in preview.plan.items]
    projects = Project.objects.in_bulk(ids)
    open_tasks: dict[int, InspectionTask] = {}
    for task in InspectionTask.objects.filter(
        project_id__in=ids, status__in=OPEN_STATUSES
    ).order_by("priority_rank", "id"):
        open_tasks.setdefault(task.project_id, task)
    dispatcher = _Dispatcher()
    rows = []
    for item in preview.plan.items:
        project = projects[item.project_id]
        task = open_tasks.get(item.project_id) or task_create(
            project=project,
            assignee=dispatcher.take(project),
            kind=TaskKind.ROUTINE,
            due_date=preview.due_date,
            priority_rank=item.rank,
            reasons=list(item.reasons),
            plan_id=plan.id,
        )
        rows.append(
            PlanItem(
                plan=plan,
                project=project,
                rank=item.rank,
                selected_by=item.selected_by,
                inclusion_probability=item.inclusion_probability,
                probability=item.probability,
                reasons=list(item.reasons),
                task=task,
            )
        )
    PlanItem.objects.bulk_create(rows)
