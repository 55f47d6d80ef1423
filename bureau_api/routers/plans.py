"""`/plans`: the inspection planner. Previewing: reviewers and admins of the region; approving:
admins."""

from django.http import HttpRequest
from ninja import Query, Router, Status

from backend.auth import BearerAuth
from backend.auth_api import ProblemOut
from backend.models import TokenAudience
from bureau_api.schemas import PlanOut, PlanPreviewOut, PlanRequestIn
from inspections.risk.plan_services import access_plan, plan_approve, plan_preview
from inspections.schemas import plan_out, preview_out

router = Router(tags=["plans"], auth=BearerAuth(TokenAudience.BUREAU))


@router.get(
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


@router.post(
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


@router.get(
    "/{plan_id}",
    response={200: PlanOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 422: ProblemOut},
    operation_id="bureau_plan_get",
    summary="巡查计划 / an approved plan with its tasks",
)
def get_plan(request: HttpRequest, plan_id: int):
    return plan_out(access_plan(request.user, plan_id))
