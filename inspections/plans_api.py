"""Bureau API `/plans` (inspection planner) and `/model` (risk model card, promote, roll back).

Previewing and reading the model card: reviewers and admins of the region. Approving a plan
and changing the active model: admins.
"""

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from backend.auth import BearerAuth
from backend.auth_api import ProblemOut
from backend.models import TokenAudience
from inspections.models import InspectionPlan, PlanItem, RiskModelVersion
from inspections.risk.model_card import ModelCard, model_card
from inspections.risk.plan_services import (
    MAX_CAPACITY,
    SEED_BITS,
    PlanPreview,
    access_plan,
    plan_approve,
    plan_preview,
)
from inspections.risk.planner import DEFAULT_RANDOM_SHARE
from inspections.risk.registry import risk_model_promote, risk_model_rollback

REGION_CODE_PATTERN = r"^15[0-9]{4}([0-9]{3}([0-9]{3})?)?$"

plans_router = Router(tags=["plans"], auth=BearerAuth(TokenAudience.BUREAU))
model_router = Router(tags=["model"], auth=BearerAuth(TokenAudience.BUREAU))


# --- schemas ------------------------------------------------------------------------------------
class PlanRequestIn(Schema):
    region: str = Field(pattern=REGION_CODE_PATTERN, description="GB/T 2260 区划代码")
    capacity: int = Field(ge=1, le=MAX_CAPACITY, description="本轮可安排的巡查次数")
    start: date = Field(description="本轮开始日期（一轮 4 周）")
    seed: int | None = Field(
        default=None, ge=0, lt=2**SEED_BITS, description="随机抽查的种子；预览返回的值可复现计划"
    )
    random_share: float = Field(default=DEFAULT_RANDOM_SHARE, ge=0, le=1)


class EnterpriseRefOut(Schema):
    uscc: str
    name: str


class PlanProjectOut(Schema):
    id: int
    name: str
    address: str
    region_code: str
    enterprise: EnterpriseRefOut | None
    days_since_inspection: int | None
    open_complaints: int


class PlanItemOut(Schema):
    rank: int
    project: PlanProjectOut
    selected_by: str = Field(description="complaint | overdue | model | random")
    inclusion_probability: float
    probability: float | None
    reasons: list[str]


class PlanPreviewOut(Schema):
    region: str
    capacity: int
    start: date
    due_date: date
    seed: int
    random_share: float
    model_version: str
    eligible: int
    random_pool: int
    random_slots: int
    mandatory_left_out: int
    items: list[PlanItemOut]


class PlanTaskOut(Schema):
    id: int
    status: str
    assignee_id: int
    assignee_name: str


class PlanApprovedItemOut(Schema):
    rank: int
    project_id: int
    project_name: str
    selected_by: str
    inclusion_probability: float
    probability: float | None
    reasons: list[str]
    task: PlanTaskOut


class PlanOut(Schema):
    id: int
    region: str
    capacity: int
    start: date
    due_date: date
    seed: int
    random_share: float
    random_pool: int
    random_slots: int
    model_version: str
    approved_by: str
    created_at: datetime
    items: list[PlanApprovedItemOut]


class RankingMetricsOut(Schema):
    roc_auc: float | None = None
    pr_auc: float | None = None
    brier: float | None = None
    ece: float | None = None
    k: float | None = None
    precision_at_k: float | None = None
    recall_at_k: float | None = None
    lift_at_k: float | None = None


class CalibrationBinOut(Schema):
    mean_predicted: float
    observed_rate: float
    n: int


class SegmentOut(Schema):
    segment: str
    label: str
    n: int
    base_rate: float
    selected: int
    selection_rate: float
    precision: float | None


class DriftOut(Schema):
    feature: str
    psi: float
    level: str = Field(description="stable (<0.1) | watch | retrain (>0.25)")


class VersionOut(Schema):
    version: str
    status: str
    trained_at: datetime
    data_until: date
    promoted_at: datetime | None
    promoted_by: str | None


class VersionSummaryOut(VersionOut):
    roc_auc: float | None
    precision_at_k: float | None


class ModelCardOut(Schema):
    version: str
    status: str
    trained_at: datetime
    data_until: date
    holdout_cutoff: date | None
    n_holdout: int | None
    base_rate: float | None
    model: RankingMetricsOut
    logistic: RankingMetricsOut
    past_findings: RankingMetricsOut
    precision_ratio_vs_past_findings: float | None
    days_earlier: dict[str, float | None]
    first_half_share: dict[str, float | None]
    calibration: list[CalibrationBinOut]
    segments_by_league: list[SegmentOut]
    segments_by_size: list[SegmentOut]
    drift: list[DriftOut]
    drift_as_of: date | None
    versions: list[VersionSummaryOut]


# --- shaping ------------------------------------------------------------------------------------
def preview_out(preview: PlanPreview) -> dict[str, Any]:
    plan = preview.plan
    items = []
    for item in plan.items:
        info = preview.projects[item.project_id]
        enterprise = (
            {"uscc": info.enterprise_uscc, "name": info.enterprise_name}
            if info.enterprise_uscc
            else None
        )
        items.append(
            {
                "rank": item.rank,
                "project": {
                    "id": info.id,
                    "name": info.name,
                    "address": info.address,
                    "region_code": info.region_code,
                    "enterprise": enterprise,
                    "days_since_inspection": info.days_since_inspection,
                    "open_complaints": info.open_complaints,
                },
                "selected_by": item.selected_by,
                "inclusion_probability": item.inclusion_probability,
                "probability": item.probability,
                "reasons": list(item.reasons),
            }
        )
    return {
        "region": preview.region.code,
        "capacity": preview.capacity,
        "start": preview.start,
        "due_date": preview.due_date,
        "seed": preview.seed,
        "random_share": preview.random_share,
        "model_version": preview.model_version,
        "eligible": plan.eligible,
        "random_pool": plan.random_pool,
        "random_slots": plan.random_slots,
        "mandatory_left_out": plan.mandatory_left_out,
        "items": items,
    }


def _item_out(item: PlanItem) -> dict[str, Any]:
    assignee = item.task.assignee
    return {
        "rank": item.rank,
        "project_id": item.project_id,
        "project_name": item.project.name,
        "selected_by": item.selected_by,
        "inclusion_probability": item.inclusion_probability,
        "probability": item.probability,
        "reasons": item.reasons,
        "task": {
            "id": item.task_id,
            "status": item.task.status,
            "assignee_id": assignee.id,
            "assignee_name": assignee.display_name or assignee.user.get_username(),
        },
    }


def plan_out(plan: InspectionPlan) -> dict[str, Any]:
    items = plan.items.select_related("project", "task__assignee__user").order_by("rank")
    return {
        "id": plan.id,
        "region": plan.region_id,
        "capacity": plan.capacity,
        "start": plan.start_date,
        "due_date": plan.due_date,
        "seed": plan.seed,
        "random_share": plan.random_share,
        "random_pool": plan.random_pool,
        "random_slots": plan.random_slots,
        "model_version": plan.model_version,
        "approved_by": plan.approved_by.get_username(),
        "created_at": plan.created_at,
        "items": [_item_out(item) for item in items],
    }


def _segment_out(rows) -> list[dict[str, Any]]:
    return [row.__dict__ for row in rows]


def card_out(card: ModelCard) -> dict[str, Any]:
    holdout = card.holdout
    return {
        "version": card.version,
        "status": card.status,
        "trained_at": card.trained_at,
        "data_until": card.data_until,
        "holdout_cutoff": card.metadata.get("holdout_cutoff"),
        "n_holdout": holdout.get("n"),
        "base_rate": holdout.get("base_rate"),
        "model": _metrics(holdout.get("model")),
        "logistic": _metrics(holdout.get("logistic")),
        "past_findings": _metrics(holdout.get("past_findings")),
        "precision_ratio_vs_past_findings": holdout.get("precision_ratio_vs_past_findings"),
        "days_earlier": holdout.get("days_earlier", {}),
        "first_half_share": holdout.get("first_half_share", {}),
        "calibration": card.calibration,
        "segments_by_league": _segment_out(card.leagues),
        "segments_by_size": _segment_out(card.sizes),
        "drift": [row.__dict__ for row in card.drift],
        "drift_as_of": card.drift_as_of,
        "versions": [row.__dict__ for row in card.history],
    }


def _metrics(block: dict[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (block or {}).items() if key != "calibration"}


def version_out(row: RiskModelVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "status": row.status,
        "trained_at": row.trained_at,
        "data_until": row.data_until,
        "promoted_at": row.promoted_at,
        "promoted_by": row.promoted_by.get_username() if row.promoted_by else None,
    }


# --- operations ---------------------------------------------------------------------------------
@plans_router.get(
    "/preview",
    response={
        200: PlanPreviewOut,
        401: ProblemOut,
        403: ProblemOut,
        404: ProblemOut,
        422: ProblemOut,
    },
    operation_id="bureau_plan_preview",
    summary="巡查计划预览 / ranked, explained candidates for one round",
)
def preview(request: HttpRequest, query: Query[PlanRequestIn]):
    result = plan_preview(
        user=request.user,
        region_code=query.region,
        capacity=query.capacity,
        start=query.start,
        seed=query.seed,
        random_share=query.random_share,
    )
    return preview_out(result)


@plans_router.post(
    "",
    response={
        201: PlanOut,
        401: ProblemOut,
        403: ProblemOut,
        404: ProblemOut,
        409: ProblemOut,
        422: ProblemOut,
    },
    operation_id="bureau_plan_approve",
    summary="批准巡查计划 / approve a plan: creates tasks for the region's inspectors",
)
def approve(request: HttpRequest, payload: PlanRequestIn):
    plan = plan_approve(
        user=request.user,
        region_code=payload.region,
        capacity=payload.capacity,
        start=payload.start,
        seed=payload.seed,
        random_share=payload.random_share,
    )
    return Status(201, plan_out(plan))


@plans_router.get(
    "/{plan_id}",
    response={200: PlanOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 422: ProblemOut},
    operation_id="bureau_plan_get",
    summary="巡查计划 / an approved plan with its tasks",
)
def get_plan(request: HttpRequest, plan_id: int):
    return plan_out(access_plan(request.user, plan_id))


@model_router.get(
    "",
    response={200: ModelCardOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut},
    operation_id="bureau_model_card",
    summary="风险模型说明卡 / current risk model card (metrics, calibration, drift, versions)",
)
def card(request: HttpRequest):
    return card_out(model_card(user=request.user))


@model_router.post(
    "/versions/{version}/promote",
    response={200: VersionOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut},
    operation_id="bureau_model_promote",
    summary="启用模型版本 / make a version the active model (admins)",
)
def promote(request: HttpRequest, version: str):
    return version_out(risk_model_promote(user=request.user, version=version))


@model_router.post(
    "/versions/{version}/rollback",
    response={200: VersionOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut},
    operation_id="bureau_model_rollback",
    summary="回退模型版本 / retire the active version, re-activate the previous one (admins)",
)
def rollback(request: HttpRequest, version: str):
    return version_out(risk_model_rollback(user=request.user, version=version))
