"""Bureau web pages (staff session login): the workbench, the review desk and the stranded
tasks."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from backend.exceptions import DomainError, Forbidden
from credit.access import region_codes, staff_profile_of
from credit.bureau_selectors import region_names as names_of_regions
from credit.selectors import active_rulebook
from inspections.access import require_reviewer
from inspections.images import (
    FLAG_CAPTURE_TIME_MISMATCH,
    FLAG_GPS_FAR_FROM_PROJECT,
    FLAG_NO_EXIF,
    FLAG_REUSED_PHOTO,
)
from inspections.schemas import review_finding_out
from inspections.selectors import review_queue
from inspections.services import finding_review
from inspections.workbench import (
    PHOTO_STATE_LABELS,
    SEVERITY_LABELS,
    TASK_KIND_LABELS,
    TASK_STATUS_LABELS,
    stranded_tasks,
    workbench,
)

# A reviewer decides one finding at a time and looks at every photo; 20 keeps the page light.
REVIEW_PAGE_SIZE = 20
FLAG_LABELS = {
    FLAG_GPS_FAR_FROM_PROJECT: _("拍摄位置远离项目"),
    FLAG_CAPTURE_TIME_MISMATCH: _("拍摄时间与发现时间相差超过24小时"),
    FLAG_REUSED_PHOTO: _("疑似重复使用的照片"),
    FLAG_NO_EXIF: _("无拍摄信息（EXIF）"),
}
MSG_CONFIRMED = _("已确认，已生成信用记录（编号 {record}）。")
MSG_REJECTED = _("已驳回。")


def _forbidden(request: HttpRequest, problem: DomainError) -> HttpResponse:
    return render(request, "inspections/forbidden.html", {"detail": problem.detail}, status=403)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The workbench: what waits in the user's regions, each count a link to its list."""
    try:
        counts = workbench(request.user)
    except Forbidden as problem:
        return _forbidden(request, problem)
    profile = staff_profile_of(request.user)
    return render(
        request,
        "inspections/home.html",
        {
            "wb": counts,
            "display_name": profile.display_name or request.user.get_username(),
            "username": request.user.get_username(),
            "regions": list(names_of_regions(region_codes(request.user)).values()),
        },
    )


@login_required
def review_desk(request: HttpRequest) -> HttpResponse:
    try:
        require_reviewer(request.user)
        page = review_queue(
            user=request.user,
            status="pending",
            cursor=request.GET.get("cursor") or None,
            limit=REVIEW_PAGE_SIZE,
        )
    except DomainError as problem:
        if isinstance(problem, Forbidden):
            return _forbidden(request, problem)
        return redirect("bureau:review")  # a stale or edited cursor: back to the first page
    rulebook = active_rulebook().rulebook
    findings = [review_finding_out(f, rulebook=rulebook, request=request) for f in page.items]
    places = names_of_regions(f["project"]["region_code"] for f in findings)
    for finding in findings:
        finding["severity_label"] = SEVERITY_LABELS.get(finding["severity"] or "", "")
        finding["region_name"] = places.get(finding["project"]["region_code"], "")
        for photo in finding["photos"]:
            photo["flag_labels"] = [FLAG_LABELS.get(flag, flag) for flag in photo["flags"]]
            photo["state_label"] = PHOTO_STATE_LABELS.get(photo["state"], photo["state"])
    return render(
        request,
        "inspections/review.html",
        {"findings": findings, "next_cursor": page.next_cursor, "has_more": page.has_more},
    )


@login_required
@require_POST
def review_decide(request: HttpRequest, finding_uuid: UUID) -> HttpResponse:
    try:
        outcome = finding_review(
            user=request.user,
            finding_uuid=finding_uuid,
            decision=request.POST.get("decision", ""),
            comment=request.POST.get("comment", ""),
        )
    except DomainError as problem:
        if isinstance(problem, Forbidden):
            return _forbidden(request, problem)
        messages.error(request, problem.detail)
    else:
        if outcome.credit_record_id is not None:
            messages.success(request, MSG_CONFIRMED.format(record=outcome.credit_record_id))
        else:
            messages.success(request, MSG_REJECTED)
    return redirect(reverse("bureau:review"))


@login_required
@require_GET
def stranded(request: HttpRequest) -> HttpResponse:
    """Open tasks whose inspector can no longer do them, with why and what to do."""
    try:
        rows = stranded_tasks(request.user)
    except Forbidden as problem:
        return _forbidden(request, problem)
    places = names_of_regions(row.task.project.region_id for row in rows)
    tasks = [
        {
            "project": row.task.project.name,
            "region": places.get(row.task.project.region_id, ""),
            "kind": TASK_KIND_LABELS.get(row.task.kind, row.task.kind),
            "status": TASK_STATUS_LABELS.get(row.task.status, row.task.status),
            "due_date": row.task.due_date,
            "assignee": row.task.assignee.display_name or row.task.assignee.user.get_username(),
            "why": row.why,
        }
        for row in rows
    ]
    return render(request, "inspections/stranded.html", {"tasks": tasks})
