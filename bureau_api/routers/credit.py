"""`/credit`: the bureau's credit desk — records that do not come from an inspection,
objections, repair, the blacklist and publishing a snapshot. Reviewers and admins, for
enterprises registered in their regions (others are 404, as if they did not exist)."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from backend.auth import BearerAuth
from backend.auth_api import ProblemOut
from backend.models import TokenAudience
from bureau_api.schemas import (
    BlacklistApproveIn,
    BlacklistOut,
    BlacklistProposeIn,
    ObjectionIn,
    ObjectionResolveIn,
    PublishedOut,
    RecordIn,
    RecordOut,
    RepairDecisionIn,
    RepairIn,
    RepairOut,
    blacklist_out,
    record_out,
    repair_out,
)
from credit import services
from credit.access import enterprise_in_scope, record_in_scope, require_role
from credit.choices import ObjectionDecision, RecordSource, StaffRole
from credit.publication import snapshot_publish
from credit.rulebook import KIND_GOOD
from credit.selectors import active_rulebook, record_source_exists

STAFF_ROLES = (StaffRole.REVIEWER, StaffRole.ADMIN)
BUREAU_ERRORS = {401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 422: ProblemOut}
BUREAU_WRITE_ERRORS = {**BUREAU_ERRORS, 409: ProblemOut}

router = Router(tags=["credit"], auth=BearerAuth(TokenAudience.BUREAU))


def _staff(request: HttpRequest) -> AbstractBaseUser:
    require_role(request.user, *STAFF_ROLES)
    return request.user


def _default_source(rule_code: str) -> str:
    """What a non-inspection record most likely is when the caller does not say."""
    rule = active_rulebook().rulebook.rule(rule_code)
    if rule is not None and rule.kind == KIND_GOOD:
        return RecordSource.AWARD
    return {
        "ADMIN-PENALTY": RecordSource.PENALTY,
        "COMPLAINT-VERIFIED": RecordSource.COMPLAINT,
    }.get(rule_code, RecordSource.MANUAL)


@router.post(
    "/records",
    response={201: RecordOut, 200: RecordOut, **BUREAU_ERRORS},
    operation_id="credit_record_create",
    summary="登记非巡查类信用记录（行政处罚、投诉、表彰等）",
)
def credit_record_create(request: HttpRequest, body: RecordIn):
    user = _staff(request)
    enterprise = enterprise_in_scope(user, body.uscc)
    source = body.source or _default_source(body.rule_code)
    before = body.source_ref and record_source_exists(source=source, source_ref=body.source_ref)
    record = services.record_create(
        enterprise=enterprise,
        rule_code=body.rule_code,
        decided_at=body.decided_at,
        document_no=body.document_no,
        facts=body.facts,
        source=source,
        source_ref=body.source_ref,
        actor=user,
    )
    return Status(200 if before else 201, record_out(record))


@router.post(
    "/records/{record_id}/objection",
    response={201: RecordOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_objection_file",
    summary="登记企业异议（异议期内）",
)
def credit_objection_file(request: HttpRequest, record_id: int, body: ObjectionIn):
    user = _staff(request)
    record = record_in_scope(user, record_id)
    services.objection_file(record=record, grounds=body.grounds, actor=user)
    return Status(201, record_out(record_in_scope(user, record_id)))


@router.post(
    "/records/{record_id}/objection/resolve",
    response={200: RecordOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_objection_resolve",
    summary="处理异议：成立（撤销记录）或不成立",
)
def credit_objection_resolve(request: HttpRequest, record_id: int, body: ObjectionResolveIn):
    user = _staff(request)
    record = record_in_scope(user, record_id)
    services.objection_resolve(
        record=record, decision=ObjectionDecision(body.decision), reason=body.reason, actor=user
    )
    return record_out(record_in_scope(user, record_id))


@router.post(
    "/records/{record_id}/repair",
    response={201: RepairOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_repair_apply",
    summary="登记信用修复申请（最短公示期满后，附整改证明）",
)
def credit_repair_apply(request: HttpRequest, record_id: int, body: RepairIn):
    user = _staff(request)
    record = record_in_scope(user, record_id)
    application = services.repair_apply(record=record, evidence=body.evidence, actor=user)
    return Status(201, repair_out(application))


@router.post(
    "/records/{record_id}/repair/decide",
    response={200: RepairOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_repair_decide",
    summary="审批信用修复申请",
)
def credit_repair_decide(request: HttpRequest, record_id: int, body: RepairDecisionIn):
    user = _staff(request)
    record = record_in_scope(user, record_id)
    application = services.repair_decide(
        record=record, approve=body.decision == "approved", reason=body.reason, actor=user
    )
    return repair_out(application)


@router.post(
    "/blacklist/{uscc}/propose",
    response={201: BlacklistOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_blacklist_propose",
    summary="提议列入黑名单（须另一人批准）",
)
def credit_blacklist_propose(request: HttpRequest, uscc: str, body: BlacklistProposeIn):
    user = _staff(request)
    enterprise = enterprise_in_scope(user, uscc)
    entry = services.blacklist_propose(enterprise=enterprise, reason=body.reason, actor=user)
    return Status(201, blacklist_out(entry))


@router.post(
    "/blacklist/{uscc}/approve",
    response={200: BlacklistOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_blacklist_approve",
    summary="批准列入黑名单（批准人不得为提议人）",
)
def credit_blacklist_approve(request: HttpRequest, uscc: str, body: BlacklistApproveIn):
    user = _staff(request)
    enterprise = enterprise_in_scope(user, uscc)
    entry = services.blacklist_approve(
        enterprise=enterprise, authority=body.authority, document_no=body.document_no, actor=user
    )
    return blacklist_out(entry)


@router.post(
    "/snapshots",
    response={201: PublishedOut, 401: ProblemOut, 403: ProblemOut},
    operation_id="credit_snapshot_publish",
    summary="立即发布信用快照",
)
def credit_snapshot_publish(request: HttpRequest):
    user = _staff(request)
    return Status(201, snapshot_publish(actor=user))
