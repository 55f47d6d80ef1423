"""Bureau web pages (staff session login): the home page and the review desk."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backend.exceptions import DomainError, Forbidden
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

# A reviewer decides one finding at a time and looks at every photo; 20 keeps the page light.
REVIEW_PAGE_SIZE = 20
FLAG_LABELS = {
    FLAG_GPS_FAR_FROM_PROJECT: "拍摄位置远离项目",
    FLAG_CAPTURE_TIME_MISMATCH: "拍摄时间与发现时间相差超过24小时",
    FLAG_REUSED_PHOTO: "疑似重复使用的照片",
    FLAG_NO_EXIF: "无拍摄信息（EXIF）",
}
MSG_CONFIRMED = "已确认，已生成信用记录（编号 {record}）。"
MSG_REJECTED = "已驳回。"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "inspections/home.html", {})


def _forbidden(request: HttpRequest, problem: DomainError) -> HttpResponse:
    return render(request, "inspections/forbidden.html", {"detail": problem.detail}, status=403)


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
    for finding in findings:
        for photo in finding["photos"]:
            photo["flag_labels"] = [FLAG_LABELS.get(flag, flag) for flag in photo["flags"]]
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
