"""Bureau pages of the planner and the model card (staff session login). Same services and
the same rules as the bureau API: reviewers and admins look, admins approve and promote."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from backend.exceptions import DomainError, Forbidden
from credit.access import require_role, staff_profile_of
from credit.bureau_selectors import region_name, region_names
from credit.choices import StaffRole
from inspections.choices import SelectedBy
from inspections.risk.charts import plan_chart
from inspections.risk.feature_names import feature_label
from inspections.risk.model_card import model_card
from inspections.risk.plan_services import (
    MAX_CAPACITY,
    PLANNER_ROLES,
    access_plan,
    plan_approve,
    plan_preview,
)
from inspections.risk.planner import DEFAULT_RANDOM_SHARE
from inspections.risk.registry import risk_model_promote, risk_model_rollback
from inspections.risk.training import SIZE_BUCKETS
from inspections.schemas import plan_out, preview_out
from inspections.selectors import planner_regions
from inspections.workbench import TASK_STATUS_LABELS, plans_in_scope

DEFAULT_CAPACITY = 60
ERR_FORM = _("请填写有效的区划、巡查次数（1–{max}）、开始日期（YYYY-MM-DD）和随机比例（0–1）。")
MSG_APPROVED = _("计划已批准，已派发 {n} 项任务。")
MSG_PROMOTED = _("已启用模型 {version}，评分将在后台更新。")
MSG_ROLLED_BACK = _("已回退到模型 {version}，评分将在后台更新。")
SIZE_ORDER = {label: order for order, (_low, _high, label) in enumerate(SIZE_BUCKETS)}
METRIC_LABELS = (
    ("model", _("风险模型（现行候选，校准后）")),
    # The explainer: fitted on every training period, uncalibrated; its coefficients give
    # the reasons shown to planners.
    ("logistic", _("逻辑回归（解释用，全部训练期）")),
    ("past_findings", _("按近一年确认违规数排序")),
    ("days_since_inspection", _("按距上次巡查天数排序")),
)


MAX_REASON_CHARS = 500


def _forbidden(request: HttpRequest, problem: DomainError) -> HttpResponse:
    return render(request, "inspections/forbidden.html", {"detail": problem.detail}, status=403)


def _is_admin(request: HttpRequest) -> bool:
    profile = staff_profile_of(request.user)
    return profile is not None and profile.role == StaffRole.ADMIN


def next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _plan_form(data) -> dict | None:
    """The planner's four fields (seed optional) from a query or a form; None when invalid."""
    try:
        form = {
            "region_code": data["region"],
            "capacity": int(data["capacity"]),
            "start": date.fromisoformat(data["start"]),
            "random_share": float(data.get("random_share") or DEFAULT_RANDOM_SHARE),
            "seed": int(data["seed"]) if data.get("seed") else None,
        }
    except (KeyError, ValueError):
        return None
    return form


@login_required
def planner(request: HttpRequest) -> HttpResponse:
    try:
        require_role(request.user, *PLANNER_ROLES)
    except DomainError as problem:
        return _forbidden(request, problem)
    regions = list(planner_regions(request.user))
    names = region_names(region.code for region in regions)
    leagues = [{"code": region.code, "name": names[region.code]} for region in regions]
    today = timezone.localdate()
    context = {
        "leagues": leagues,
        "plans": _plan_rows(plans_in_scope(request.user)),
        "is_admin": _is_admin(request),
        "max_capacity": MAX_CAPACITY,
        "form": {
            "region": request.GET.get("region") or (leagues[0]["code"] if leagues else ""),
            "capacity": request.GET.get("capacity") or DEFAULT_CAPACITY,
            "start": request.GET.get("start") or next_monday(today).isoformat(),
            "random_share": request.GET.get("random_share") or DEFAULT_RANDOM_SHARE,
        },
    }
    if "region" in request.GET:
        form = _plan_form(request.GET)
        if form is None:
            messages.error(request, ERR_FORM.format(max=MAX_CAPACITY))
        else:
            try:
                preview = plan_preview(user=request.user, **form)
            except DomainError as problem:
                messages.error(request, problem.detail)
            else:
                context.update(_preview_context(preview_out(preview)))
    return render(request, "inspections/risk/planner.html", context)


def _plan_rows(plans: list) -> list[dict]:
    names = region_names(plan.region_id for plan in plans)
    return [
        {
            "id": plan.id,
            "region": names.get(plan.region_id, ""),
            "start": plan.start_date,
            "due_date": plan.due_date,
            "items": plan.item_count,
            "approved_by": plan.approved_by.get_username(),
        }
        for plan in plans
    ]


def _preview_context(shaped: dict) -> dict:
    for item in shaped["items"]:
        item["selected_label"] = SelectedBy(item["selected_by"]).label
    chart_rows = [
        (i["rank"], i["selected_by"], i["probability"], i["project"]["name"])
        for i in shaped["items"]
    ]
    return {
        "preview": shaped,
        "preview_region": region_name(shaped["region"]),
        "chart": plan_chart(chart_rows),
    }


@login_required
@require_POST
def plan_approve_view(request: HttpRequest) -> HttpResponse:
    form = _plan_form(request.POST)
    if form is None:
        messages.error(request, ERR_FORM.format(max=MAX_CAPACITY))
        return redirect("bureau:planner")
    try:
        plan = plan_approve(user=request.user, **form)
    except DomainError as problem:
        if isinstance(problem, Forbidden):
            return _forbidden(request, problem)
        messages.error(request, problem.detail)
        return redirect(reverse("bureau:planner") + "?" + request.POST.urlencode())
    messages.success(request, MSG_APPROVED.format(n=plan.items.count()))
    return redirect("bureau:plan", plan_id=plan.id)


@login_required
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    try:
        plan = access_plan(request.user, plan_id)
    except DomainError as problem:
        if isinstance(problem, Forbidden):
            return _forbidden(request, problem)
        return render(request, "inspections/forbidden.html", {"detail": problem.detail}, status=404)
    shaped = plan_out(plan)
    for item in shaped["items"]:
        item["selected_label"] = SelectedBy(item["selected_by"]).label
        item["task"]["status_label"] = TASK_STATUS_LABELS.get(
            item["task"]["status"], item["task"]["status"]
        )
    return render(
        request,
        "inspections/risk/plan.html",
        {"plan": shaped, "region": region_name(plan.region_id)},
    )


@login_required
def model_card_view(request: HttpRequest) -> HttpResponse:
    try:
        card = model_card(user=request.user)
    except DomainError as problem:
        if isinstance(problem, Forbidden):
            return _forbidden(request, problem)
        card = None  # no model yet: the page says so
    holdout = card.holdout if card else {}
    metric_rows = [(label, holdout[key]) for key, label in METRIC_LABELS if key in holdout]
    context = {"card": card, "metric_rows": metric_rows, "is_admin": _is_admin(request)}
    if card is not None:
        context["drift"] = [
            {"label": feature_label(row.feature), "psi": row.psi, "level": row.level}
            for row in card.drift
        ]
        context["sizes"] = sorted(card.sizes, key=lambda row: SIZE_ORDER.get(row.label, 99))
    return render(request, "inspections/risk/model_card.html", context)


def _model_action(
    request: HttpRequest, action, version: str, message: str, **options
) -> HttpResponse:
    try:
        row = action(user=request.user, version=version, **options)
    except DomainError as problem:
        if isinstance(problem, Forbidden):
            return _forbidden(request, problem)
        messages.error(request, problem.detail)
    else:
        messages.success(request, message.format(version=row.version))
    return redirect("bureau:model")


@login_required
@require_POST
def model_promote_view(request: HttpRequest, version: str) -> HttpResponse:
    reason = request.POST.get("reason", "")[:MAX_REASON_CHARS]
    return _model_action(request, risk_model_promote, version, MSG_PROMOTED, reason=reason)


@login_required
@require_POST
def model_rollback_view(request: HttpRequest, version: str) -> HttpResponse:
    return _model_action(request, risk_model_rollback, version, MSG_ROLLED_BACK)
