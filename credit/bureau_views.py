"""Bureau web pages of the credit archive: staff session login, reviewer or admin role, and only
enterprises registered in the user's regions (others are 404, as in the API)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from backend.exceptions import DomainError
from credit import services
from credit.access import enterprise_in_scope, is_bureau_staff, record_in_scope, region_scope_q
from credit.bureau_selectors import objections_open, records_in_objection_window, region_names
from credit.selectors import (
    backbone_candidates,
    blacklist_proposals,
    enterprise_score,
    enterprise_search,
    open_blacklist_entry,
    records_of,
)

if TYPE_CHECKING:
    from credit.models import CreditRecord, Enterprise

PAGE_SIZE = 30
MSG_DONE = "已保存。"
MSG_INVALID = "请检查填写的内容。"


def staff_page(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_bureau_staff(request.user):
            raise PermissionDenied("reviewer or admin role required")
        return view(request, *args, **kwargs)

    return wrapper


def _enterprise(request: HttpRequest, uscc: str) -> Enterprise:
    """A malformed code, an unknown firm and one of another region are all a plain 404."""
    try:
        return enterprise_in_scope(request.user, uscc)
    except DomainError as exc:
        raise Http404(exc.code) from exc


def _record(request: HttpRequest, record_id: int) -> CreditRecord:
    try:
        return record_in_scope(request.user, record_id)
    except DomainError as exc:
        raise Http404(exc.code) from exc


class GroundsForm(forms.Form):
    grounds = forms.CharField(label="异议理由", max_length=4000, widget=forms.Textarea)


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(
        label="处理结果", choices=[("upheld", "异议成立（撤销记录）"), ("rejected", "异议不成立")]
    )
    reason = forms.CharField(label="处理理由", max_length=4000, widget=forms.Textarea)


class RepairForm(forms.Form):
    evidence = forms.CharField(label="整改证明", max_length=4000, widget=forms.Textarea)


class RepairDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="审批", choices=[("approved", "批准"), ("rejected", "不批准")]
    )
    reason = forms.CharField(label="审批意见", max_length=4000, widget=forms.Textarea)


class ProposeForm(forms.Form):
    reason = forms.CharField(label="列入理由", max_length=4000, widget=forms.Textarea)


class ApproveForm(forms.Form):
    authority = forms.CharField(label="列入机关", max_length=100)
    document_no = forms.CharField(label="文书编号", max_length=64)


class DesignateForm(forms.Form):
    document_no = forms.CharField(label="认定文书编号", max_length=64)


def _act(request: HttpRequest, form_class: type[forms.Form], action: Callable, back: str):
    """Validate the form, call one service, report the outcome, go back to the page."""
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, MSG_INVALID)
        return redirect(back)
    try:
        action(**form.cleaned_data)
    except DomainError as problem:
        messages.error(request, problem.detail)
    else:
        messages.success(request, MSG_DONE)
    return redirect(back)


@require_GET
@staff_page
def index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    scope = region_scope_q(request.user, field="region__code")
    enterprises = enterprise_search(scope=scope, query=query)
    page = Paginator(enterprises, PAGE_SIZE).get_page(request.GET.get("page"))
    _name_regions(page.object_list)
    return render(request, "credit/bureau/index.html", {"page": page, "query": query})


def _name_regions(rows, attribute: str = "") -> None:
    """Give each enterprise (or each row's `attribute`) a `region_name`, in one query."""
    firms = [getattr(row, attribute) if attribute else row for row in rows]
    names = region_names(firm.region_id for firm in firms)
    for firm in firms:
        firm.region_name = names.get(firm.region_id, "")


@require_GET
@staff_page
def enterprise(request: HttpRequest, uscc: str) -> HttpResponse:
    firm = _enterprise(request, uscc)
    _name_regions([firm])
    context = {
        "firm": firm,
        "score": enterprise_score(enterprise_id=firm.pk),
        "records": records_of(enterprise=firm),
        "blacklist": open_blacklist_entry(enterprise_id=firm.id),
        "propose_form": ProposeForm(),
        "approve_form": ApproveForm(),
    }
    return render(request, "credit/bureau/enterprise.html", context)


def _record_action(request: HttpRequest, record_id: int, form_class, service) -> HttpResponse:
    record = _record(request, record_id)
    back = f"/bureau/credit/e/{record.enterprise.uscc}/"
    if request.POST.get("back") == "objections":  # the form on the objections list
        back = "/bureau/credit/objections/"
    return _act(request, form_class, lambda **data: service(record, data), back)


@require_POST
@staff_page
def objection_file(request: HttpRequest, record_id: int) -> HttpResponse:
    return _record_action(
        request,
        record_id,
        GroundsForm,
        lambda record, data: services.objection_file(
            record=record, grounds=data["grounds"], actor=request.user
        ),
    )


@require_POST
@staff_page
def objection_resolve(request: HttpRequest, record_id: int) -> HttpResponse:
    return _record_action(
        request,
        record_id,
        ResolveForm,
        lambda record, data: services.objection_resolve(
            record=record, decision=data["decision"], reason=data["reason"], actor=request.user
        ),
    )


@require_POST
@staff_page
def repair_apply(request: HttpRequest, record_id: int) -> HttpResponse:
    return _record_action(
        request,
        record_id,
        RepairForm,
        lambda record, data: services.repair_apply(
            record=record, evidence=data["evidence"], actor=request.user
        ),
    )


@require_POST
@staff_page
def repair_decide(request: HttpRequest, record_id: int) -> HttpResponse:
    return _record_action(
        request,
        record_id,
        RepairDecisionForm,
        lambda record, data: services.repair_decide(
            record=record,
            approve=data["decision"] == "approved",
            reason=data["reason"],
            actor=request.user,
        ),
    )


def _back(request: HttpRequest, firm: Enterprise) -> str:
    """Blacklist forms sit on the enterprise page and on the proposals list."""
    if request.POST.get("back") == "list":
        return "/bureau/credit/blacklist/"
    return f"/bureau/credit/e/{firm.uscc}/"


@require_POST
@staff_page
def blacklist_propose(request: HttpRequest, uscc: str) -> HttpResponse:
    firm = _enterprise(request, uscc)
    return _act(
        request,
        ProposeForm,
        lambda reason: services.blacklist_propose(
            enterprise=firm, reason=reason, actor=request.user
        ),
        _back(request, firm),
    )


@require_POST
@staff_page
def blacklist_approve(request: HttpRequest, uscc: str) -> HttpResponse:
    firm = _enterprise(request, uscc)
    return _act(
        request,
        ApproveForm,
        lambda authority, document_no: services.blacklist_approve(
            enterprise=firm, authority=authority, document_no=document_no, actor=request.user
        ),
        _back(request, firm),
    )


@require_GET
@staff_page
def blacklist(request: HttpRequest) -> HttpResponse:
    proposals = list(
        blacklist_proposals(scope=region_scope_q(request.user, field="enterprise__region__code"))
    )
    _name_regions(proposals, "enterprise")
    return render(
        request,
        "credit/bureau/blacklist.html",
        {"proposals": proposals, "propose_form": ProposeForm(), "approve_form": ApproveForm()},
    )


@require_GET
@staff_page
def objections(request: HttpRequest) -> HttpResponse:
    """Objections waiting for a decision, and records the firm may still object to."""
    cases = list(
        objections_open(
            scope=region_scope_q(request.user, field="record__enterprise__region__code")
        )
    )
    in_window = list(
        records_in_objection_window(
            scope=region_scope_q(request.user, field="enterprise__region__code"),
            today=services.today_local(),
        )
    )
    _name_regions([case.record for case in cases], "enterprise")
    _name_regions(in_window, "enterprise")
    return render(
        request,
        "credit/bureau/objections.html",
        {"cases": cases, "in_window": in_window},
    )


@require_GET
@staff_page
def backbone(request: HttpRequest) -> HttpResponse:
    candidates = backbone_candidates(scope=region_scope_q(request.user, field="region__code"))
    _name_regions(candidates, "enterprise")
    return render(
        request,
        "credit/bureau/backbone.html",
        {"candidates": candidates, "form": DesignateForm()},
    )


@require_POST
@staff_page
def backbone_designate(request: HttpRequest, uscc: str) -> HttpResponse:
    firm = _enterprise(request, uscc)
    return _act(
        request,
        DesignateForm,
        lambda document_no: services.backbone_designate(
            enterprise=firm, document_no=document_no, actor=request.user
        ),
        "/bureau/credit/backbone/",
    )
