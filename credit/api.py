"""Credit APIs: the signed tender API (its own NinjaAPI) and the bureau's credit router, which
`inspections.api` mounts into the bureau API at /api/bureau/v1/credit."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import Literal

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from backend.auth import BearerAuth
from backend.errors import Problem, make_api
from backend.fields import ClientDate
from backend.models import TokenAudience
from credit import services
from credit.access import region_scope_q, require_role
from credit.models import (
    CreditRecord,
    Enterprise,
    ObjectionDecision,
    RecordSource,
    Snapshot,
    SnapshotEntry,
    StaffRole,
)
from credit.publication import snapshot_publish
from credit.rulebook import KIND_GOOD
from credit.scoring import tender_terms
from credit.selectors import (
    active_rulebook,
    entry_standing,
    latest_entry,
    latest_snapshot,
    latest_snapshot_id,
    rulebook_for_version,
    snapshot_changes,
    snapshot_entries_by_uscc,
    snapshot_memo,
)
from credit.tender_auth import TenderSignatureAuth
from credit.tender_calls import tender_call_record
from credit.validators import normalise_uscc

ERR_NO_SNAPSHOT = "尚未发布信用快照。"
ERR_UNKNOWN_ENTERPRISE = "未找到该统一社会信用代码对应的物业服务企业。"
ERR_UNKNOWN_RECORD = "未找到该信用记录。"
ERR_UNKNOWN_SNAPSHOT = "未找到该快照。"
ERR_SINCE_NOT_OLDER = "since 须为更早发布的快照。"
STAFF_ROLES = (StaffRole.REVIEWER, StaffRole.ADMIN)
BATCH_MAX = 500

TENDER_DESCRIPTION = """
招投标平台接口：按统一社会信用代码查询企业信用等级、投标资格、加减分与信用保证金减免，所有回答均来自
最新发布的信用快照，并注明快照编号与哈希。

**Signing.** Every request carries `X-Client-Id`, `X-Timestamp` (unix seconds), `X-Nonce`
(16–128 characters, never reused) and `X-Signature`: the lowercase hex HMAC-SHA256, keyed with
the client secret, of

    METHOD\\nPATH\\nQUERY\\nTIMESTAMP\\nNONCE\\nSHA256_HEX(BODY)

- PATH is the full request path, e.g. `/api/tender/v1/enterprises/91150100MA0000001X`.
- QUERY is the raw query string split on `&`, the pieces sorted by parameter name (stable, no
  re-encoding) and joined with `&`; empty when there is no query.
- SHA256_HEX(BODY) is the hex SHA-256 of the request body (of the empty string for GET).

A timestamp more than 300 s away from server time → 401 `stale_request`; a nonce seen before →
401 `replayed_request`; a wrong signature → 401 `bad_signature`. Errors are RFC 9457 problem
details (`application/problem+json`) with a stable `code`.
"""

tender_api = make_api(
    title="物业企业信用 — 招投标平台接口 / Tender API",
    version="1",
    urls_namespace="tender-api",
    description=TENDER_DESCRIPTION,
    auth=TenderSignatureAuth(),
)

bureau_credit_router = Router(tags=["credit"], auth=BearerAuth(TokenAudience.BUREAU))


class ProblemOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    code: str


# --- tender API ------------------------------------------------------------------------------


class SnapshotRefOut(Schema):
    id: int
    published_at: datetime
    sha256: str


class SnapshotOut(SnapshotRefOut):
    as_of: date
    rulebook_version: str
    rulebook_sha256: str
    model_version: str
    enterprises: int


class TenderEnterpriseOut(Schema):
    uscc: str
    name: str
    grade: str
    score: float
    rule_score: float
    model_adjustment: float
    blacklisted: bool
    blacklist_reason: str
    snapshot: SnapshotRefOut


class TenderReasonOut(Schema):
    code: str
    text: str
    text_en: str
    points: float | None = None
    ratio: float | None = None


class TenderTermsOut(Schema):
    eligible: bool
    bonus_points: float
    deposit_reduction_ratio: float
    reasons: list[TenderReasonOut]
    snapshot: SnapshotRefOut


class TenderTermsQuery(Schema):
    project_area_m2: Decimal | None = Field(None, ge=0, le=100_000_000)
    project_type: str | None = Field(None, max_length=32)


class BatchIn(Schema):
    usccs: list[str] = Field(..., min_length=1, max_length=BATCH_MAX)


class ItemErrorOut(Schema):
    status: int
    code: str
    detail: str


class BatchItemOut(Schema):
    uscc: str
    name: str | None = None
    grade: str | None = None
    score: float | None = None
    rule_score: float | None = None
    model_adjustment: float | None = None
    blacklisted: bool | None = None
    blacklist_reason: str | None = None
    snapshot: SnapshotRefOut | None = None
    error: ItemErrorOut | None = None


class PublicStateOut(Schema):
    grade: str
    eligible: bool
    blacklisted: bool


class ChangeOut(Schema):
    uscc: str
    name: str
    before: PublicStateOut | None
    after: PublicStateOut | None


class ChangesOut(Schema):
    snapshot: SnapshotOut
    since: SnapshotOut
    changes: list[ChangeOut]


def _snapshot_ref(snapshot: Snapshot) -> dict:
    return {"id": snapshot.id, "published_at": snapshot.published_at, "sha256": snapshot.sha256}


def _latest_or_404() -> Snapshot:
    snapshot = latest_snapshot()
    if snapshot is None:
        raise Problem(404, "no_snapshot", ERR_NO_SNAPSHOT)
    return snapshot


def _valid_uscc(raw: str) -> str:
    try:
        return normalise_uscc(raw)
    except ValueError as exc:
        raise Problem(422, "invalid_uscc", str(exc)) from exc


def _entry_out(entry: SnapshotEntry, snapshot: Snapshot) -> dict:
    return {
        "uscc": entry.uscc,
        "name": entry.name,
        "grade": entry.grade,
        "score": float(entry.score),
        "rule_score": float(entry.rule_score),
        "model_adjustment": float(entry.model_adjustment),
        "blacklisted": entry.blacklisted,
        "blacklist_reason": entry.blacklist_reason,
        "snapshot": _snapshot_ref(snapshot),
    }


def recorded(handler: Callable) -> Callable:
    """Record every signed call (its status and answering snapshot) before the answer leaves;
    a nonce seen before turns the answer into 401 replayed_request."""

    @wraps(handler)
    def wrapper(request: HttpRequest, *args, **kwargs):
        request.tender_snapshot_id = None
        try:
            result = handler(request, *args, **kwargs)
        except Problem as problem:
            tender_call_record(
                request=request, status=problem.status, snapshot_id=request.tender_snapshot_id
            )
            raise
        tender_call_record(request=request, status=200, snapshot_id=request.tender_snapshot_id)
        return result

    return wrapper


def _lookup(request: HttpRequest, uscc: str) -> tuple[Snapshot, SnapshotEntry]:
    code = _valid_uscc(uscc)
    entry = latest_entry(uscc=code)
    if entry is None:
        request.tender_snapshot_id = _latest_or_404().id
        raise Problem(404, "unknown_enterprise", ERR_UNKNOWN_ENTERPRISE)
    request.tender_snapshot_id = entry.snapshot_id
    return entry.snapshot, entry


TENDER_ERRORS = {401: ProblemOut, 404: ProblemOut, 422: ProblemOut}


class PingOut(Schema):
    server_time: int


@tender_api.get(
    "/ping",
    auth=None,
    response={200: PingOut},
    operation_id="tender_ping",
    summary="连通性与服务器时间（无需签名）/ Reachability and server time (unsigned)",
)
def tender_ping(request: HttpRequest):
    """The server's unix time, so a client can check its clock before signing (requests more
    than 300 s off are refused as stale)."""
    return {"server_time": int(time.time())}


# Declared before /enterprises/{uscc} so that "batch" is not taken for a code.
@tender_api.post(
    "/enterprises/batch",
    response={200: list[BatchItemOut], 401: ProblemOut, 404: ProblemOut, 422: ProblemOut},
    operation_id="tender_enterprises_batch",
    summary="批量查询（最多 500 个） / Batch look-up (up to 500)",
    exclude_none=True,
)
@recorded
def tender_enterprises_batch(request: HttpRequest, body: BatchIn):
    snapshot = _latest_or_404()
    valid: dict[str, str] = {}
    errors: dict[str, dict] = {}
    for raw in body.usccs:
        try:
            valid[raw] = normalise_uscc(raw)
        except ValueError as exc:
            errors[raw] = {"status": 422, "code": "invalid_uscc", "detail": str(exc)}
    found = snapshot_entries_by_uscc(snapshot=snapshot, usccs=list(set(valid.values())))
    items = []
    for raw in body.usccs:
        entry = found.get(valid.get(raw, ""))
        if raw in errors:
            items.append({"uscc": raw, "error": errors[raw]})
        elif entry is None:
            items.append(
                {
                    "uscc": valid[raw],
                    "error": {
                        "status": 404,
                        "code": "unknown_enterprise",
                        "detail": ERR_UNKNOWN_ENTERPRISE,
                    },
                }
            )
        else:
            items.append(_entry_out(entry, snapshot))
    request.tender_snapshot_id = snapshot.id
    return items


# Keys of the snapshot memo (credit.selectors.snapshot_memo).
STANDING_KEY = "tender-standing"
SNAPSHOT_REF_KEY = ("tender-snapshot-ref",)


@tender_api.get(
    "/enterprises/{uscc}",
    response={200: TenderEnterpriseOut, **TENDER_ERRORS},
    operation_id="tender_enterprise_get",
    summary="企业信用状况 / Enterprise credit standing",
)
@recorded
def tender_enterprise_get(request: HttpRequest, uscc: str):
    """The hot path of the tender platform: the answer is rendered once per snapshot and code
    and then served as bytes (no query, no validation). A code found in the memo is one the
    snapshot holds, hence valid; any other code is checked (422) before it is looked up."""
    snapshot_id = latest_snapshot_id()
    memo = snapshot_memo(snapshot_id) if snapshot_id is not None else {}
    body = memo.get((STANDING_KEY, uscc))
    if body is None:
        code = _valid_uscc(uscc)
        if snapshot_id is None:
            raise Problem(404, "no_snapshot", ERR_NO_SNAPSHOT)
        request.tender_snapshot_id = snapshot_id
        body = memo.get((STANDING_KEY, code)) or _standing_body(request, snapshot_id, code)
        memo[(STANDING_KEY, code)] = body
    request.tender_snapshot_id = snapshot_id
    return HttpResponse(body, content_type=tender_api.get_content_type())


def _standing_body(request: HttpRequest, snapshot_id: int, code: str) -> bytes:
    """The JSON ninja itself would send for the entry (same schema, same renderer)."""
    entry = entry_standing(snapshot_id=snapshot_id, uscc=code)
    if entry is None:
        raise Problem(404, "unknown_enterprise", ERR_UNKNOWN_ENTERPRISE)
    memo = snapshot_memo(snapshot_id)
    snapshot = memo.get(SNAPSHOT_REF_KEY)
    if snapshot is None:
        snapshot = Snapshot.objects.only("id", "published_at", "sha256").get(pk=snapshot_id)
        memo[SNAPSHOT_REF_KEY] = snapshot
    standing = {**entry, "snapshot": _snapshot_ref(snapshot)}
    data = TenderEnterpriseOut.model_validate(standing).model_dump()
    return tender_api.renderer.render(request, data, response_status=200)


@tender_api.get(
    "/enterprises/{uscc}/tender-terms",
    response={200: TenderTermsOut, **TENDER_ERRORS},
    operation_id="tender_terms_get",
    summary="投标资格、加分与保证金减免 / Eligibility, bonus points, deposit reduction",
    exclude_none=True,
)
@recorded
def tender_terms_get(request: HttpRequest, uscc: str, query: Query[TenderTermsQuery]):
    snapshot, entry = _lookup(request, uscc)
    terms = tender_terms(
        grade=entry.grade,
        score=entry.score,
        blacklisted=entry.blacklisted,
        is_backbone=entry.is_backbone,
        tender_benefit_codes=entry.tender_benefit_codes,
        project_area_m2=query.project_area_m2,
        project_type=query.project_type,
        rulebook=rulebook_for_version(snapshot.rulebook_version),
    )
    return {
        "eligible": terms.eligible,
        "bonus_points": float(terms.bonus_points),
        "deposit_reduction_ratio": float(terms.deposit_reduction_ratio),
        "reasons": [
            {
                "code": r.code,
                "text": r.text_zh,
                "text_en": r.text_en,
                "points": None if r.points is None else float(r.points),
                "ratio": None if r.ratio is None else float(r.ratio),
            }
            for r in terms.reasons
        ],
        "snapshot": _snapshot_ref(snapshot),
    }


@tender_api.get(
    "/snapshots/latest",
    response={200: SnapshotOut, 401: ProblemOut, 404: ProblemOut},
    operation_id="tender_snapshot_latest",
    summary="最新快照 / Latest snapshot",
)
@recorded
def tender_snapshot_latest(request: HttpRequest):
    snapshot = _latest_or_404()
    request.tender_snapshot_id = snapshot.id
    return snapshot


class ChangesQuery(Schema):
    since: int = Field(..., ge=1)


@tender_api.get(
    "/snapshots/{snapshot_id}/changes",
    response={200: ChangesOut, **TENDER_ERRORS},
    operation_id="tender_snapshot_changes",
    summary="两次快照之间的变化 / Changes between two snapshots",
)
@recorded
def tender_snapshot_changes(request: HttpRequest, snapshot_id: int, query: Query[ChangesQuery]):
    newer = Snapshot.objects.filter(pk=snapshot_id).first()
    older = Snapshot.objects.filter(pk=query.since).first()
    if newer is None or older is None:
        raise Problem(404, "unknown_snapshot", ERR_UNKNOWN_SNAPSHOT)
    if (older.as_of, older.id) >= (newer.as_of, newer.id):
        raise Problem(422, "since_not_older", ERR_SINCE_NOT_OLDER)
    request.tender_snapshot_id = newer.id
    changes = snapshot_changes(newer=newer, older=older)
    return {"snapshot": newer, "since": older, "changes": changes}


# --- bureau credit endpoints -------------------------------------------------------------------


def _staff(request: HttpRequest) -> AbstractBaseUser:
    require_role(request.user, *STAFF_ROLES)
    return request.user


def _enterprise_in_scope(user: AbstractBaseUser, uscc: str) -> Enterprise:
    """404 for an unknown enterprise and for one registered outside the user's regions alike."""
    code = _valid_uscc(uscc)
    enterprise = Enterprise.objects.filter(
        region_scope_q(user, field="region__code"), uscc=code
    ).first()
    if enterprise is None:
        raise Problem(404, "unknown_enterprise", ERR_UNKNOWN_ENTERPRISE)
    return enterprise


def _record_in_scope(user: AbstractBaseUser, record_id: int) -> CreditRecord:
    record = (
        CreditRecord.objects.select_related("enterprise")
        .filter(region_scope_q(user, field="enterprise__region__code"), pk=record_id)
        .first()
    )
    if record is None:
        raise Problem(404, "unknown_record", ERR_UNKNOWN_RECORD)
    return record


class RecordIn(Schema):
    uscc: str = Field(..., min_length=1, max_length=32)
    rule_code: str = Field(..., min_length=1, max_length=64)
    decided_at: ClientDate
    document_no: str = Field("", max_length=64)
    facts: str = Field("", max_length=4000)
    source: Literal["penalty", "complaint", "award", "manual"] | None = None
    source_ref: str = Field("", max_length=64)


class ObjectionOut(Schema):
    filed_on: date
    grounds: str
    decision: str
    decision_reason: str
    decided_at: datetime | None


class RecordOut(Schema):
    id: int
    uscc: str
    rule_code: str
    title: str
    kind: str
    severity: str
    points: float
    decided_at: date
    objection_deadline: date | None
    effective_from: date
    effective_until: date
    ended_on: date | None
    status: str
    source: str
    source_ref: str
    document_no: str
    facts: str
    rulebook_version: str
    objection: ObjectionOut | None


def _record_out(record: CreditRecord) -> dict:
    objection = getattr(record, "objection", None)
    return {
        "id": record.id,
        "uscc": record.enterprise.uscc,
        "rule_code": record.rule_code,
        "title": record.title_zh,
        "kind": record.kind,
        "severity": record.severity,
        "points": float(record.points),
        "decided_at": record.decided_at,
        "objection_deadline": record.objection_deadline,
        "effective_from": record.effective_from,
        "effective_until": record.effective_until,
        "ended_on": record.ended_on,
        "status": record.status,
        "source": record.source,
        "source_ref": record.source_ref,
        "document_no": record.document_no,
        "facts": record.facts,
        "rulebook_version": record.rulebook_version,
        "objection": objection,
    }


def _default_source(rule_code: str) -> str:
    """What a non-inspection record most likely is when the caller does not say."""
    rule = active_rulebook().rulebook.rule(rule_code)
    if rule is not None and rule.kind == KIND_GOOD:
        return RecordSource.AWARD
    return {
        "ADMIN-PENALTY": RecordSource.PENALTY,
        "COMPLAINT-VERIFIED": RecordSource.COMPLAINT,
    }.get(rule_code, RecordSource.MANUAL)


BUREAU_ERRORS = {401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 422: ProblemOut}
BUREAU_WRITE_ERRORS = {**BUREAU_ERRORS, 409: ProblemOut}


@bureau_credit_router.post(
    "/records",
    response={201: RecordOut, 200: RecordOut, **BUREAU_ERRORS},
    operation_id="credit_record_create",
    summary="登记非巡查类信用记录（行政处罚、投诉、表彰等）",
)
def credit_record_create(request: HttpRequest, body: RecordIn):
    user = _staff(request)
    enterprise = _enterprise_in_scope(user, body.uscc)
    before = (
        body.source_ref
        and CreditRecord.objects.filter(
            source=body.source or _default_source(body.rule_code), source_ref=body.source_ref
        ).exists()
    )
    record = services.record_create(
        enterprise=enterprise,
        rule_code=body.rule_code,
        decided_at=body.decided_at,
        document_no=body.document_no,
        facts=body.facts,
        source=body.source or _default_source(body.rule_code),
        source_ref=body.source_ref,
        actor=user,
    )
    return Status(200 if before else 201, _record_out(record))


class ObjectionIn(Schema):
    grounds: str = Field(..., min_length=1, max_length=4000)


class ObjectionResolveIn(Schema):
    decision: Literal["upheld", "rejected"]
    reason: str = Field(..., min_length=1, max_length=4000)


@bureau_credit_router.post(
    "/records/{record_id}/objection",
    response={201: RecordOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_objection_file",
    summary="登记企业异议（异议期内）",
)
def credit_objection_file(request: HttpRequest, record_id: int, body: ObjectionIn):
    user = _staff(request)
    record = _record_in_scope(user, record_id)
    services.objection_file(record=record, grounds=body.grounds, actor=user)
    return Status(201, _record_out(_record_in_scope(user, record_id)))


@bureau_credit_router.post(
    "/records/{record_id}/objection/resolve",
    response={200: RecordOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_objection_resolve",
    summary="处理异议：成立（撤销记录）或不成立",
)
def credit_objection_resolve(request: HttpRequest, record_id: int, body: ObjectionResolveIn):
    user = _staff(request)
    record = _record_in_scope(user, record_id)
    services.objection_resolve(
        record=record, decision=ObjectionDecision(body.decision), reason=body.reason, actor=user
    )
    return _record_out(_record_in_scope(user, record_id))


class RepairIn(Schema):
    evidence: str = Field(..., min_length=1, max_length=4000)


class RepairDecisionIn(Schema):
    decision: Literal["approved", "rejected"]
    reason: str = Field(..., min_length=1, max_length=4000)


class RepairOut(Schema):
    id: int
    record_id: int
    applied_on: date
    evidence: str
    status: str
    decision_reason: str
    decided_at: datetime | None
    record_status: str


def _repair_out(application) -> dict:
    return {
        "id": application.id,
        "record_id": application.record_id,
        "applied_on": application.applied_on,
        "evidence": application.evidence,
        "status": application.status,
        "decision_reason": application.decision_reason,
        "decided_at": application.decided_at,
        "record_status": application.record.status,
    }


@bureau_credit_router.post(
    "/records/{record_id}/repair",
    response={201: RepairOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_repair_apply",
    summary="登记信用修复申请（最短公示期满后，附整改证明）",
)
def credit_repair_apply(request: HttpRequest, record_id: int, body: RepairIn):
    user = _staff(request)
    record = _record_in_scope(user, record_id)
    application = services.repair_apply(record=record, evidence=body.evidence, actor=user)
    return Status(201, _repair_out(application))


@bureau_credit_router.post(
    "/records/{record_id}/repair/decide",
    response={200: RepairOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_repair_decide",
    summary="审批信用修复申请",
)
def credit_repair_decide(request: HttpRequest, record_id: int, body: RepairDecisionIn):
    user = _staff(request)
    record = _record_in_scope(user, record_id)
    application = services.repair_decide(
        record=record, approve=body.decision == "approved", reason=body.reason, actor=user
    )
    return _repair_out(application)


class BlacklistProposeIn(Schema):
    reason: str = Field(..., min_length=1, max_length=4000)


class BlacklistApproveIn(Schema):
    authority: str = Field(..., min_length=1, max_length=100)
    document_no: str = Field(..., min_length=1, max_length=64)


class BlacklistOut(Schema):
    id: int
    uscc: str
    status: str
    entry_reason: str
    basis_records: list[int]
    proposed_at: datetime
    approved_at: datetime | None
    entry_date: date | None
    entry_authority: str
    entry_document_no: str


def _blacklist_out(entry) -> dict:
    return {
        "id": entry.id,
        "uscc": entry.enterprise.uscc,
        "status": entry.status,
        "entry_reason": entry.entry_reason,
        "basis_records": sorted(entry.basis_records.values_list("id", flat=True)),
        "proposed_at": entry.proposed_at,
        "approved_at": entry.approved_at,
        "entry_date": entry.entry_date,
        "entry_authority": entry.entry_authority,
        "entry_document_no": entry.entry_document_no,
    }


@bureau_credit_router.post(
    "/blacklist/{uscc}/propose",
    response={201: BlacklistOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_blacklist_propose",
    summary="提议列入黑名单（须另一人批准）",
)
def credit_blacklist_propose(request: HttpRequest, uscc: str, body: BlacklistProposeIn):
    user = _staff(request)
    enterprise = _enterprise_in_scope(user, uscc)
    entry = services.blacklist_propose(enterprise=enterprise, reason=body.reason, actor=user)
    return Status(201, _blacklist_out(entry))


@bureau_credit_router.post(
    "/blacklist/{uscc}/approve",
    response={200: BlacklistOut, **BUREAU_WRITE_ERRORS},
    operation_id="credit_blacklist_approve",
    summary="批准列入黑名单（批准人不得为提议人）",
)
def credit_blacklist_approve(request: HttpRequest, uscc: str, body: BlacklistApproveIn):
    user = _staff(request)
    enterprise = _enterprise_in_scope(user, uscc)
    entry = services.blacklist_approve(
        enterprise=enterprise, authority=body.authority, document_no=body.document_no, actor=user
    )
    return _blacklist_out(entry)


class PublishedOut(Schema):
    id: int
    published_at: datetime
    sha256: str
    enterprises: int


@bureau_credit_router.post(
    "/snapshots",
    response={201: PublishedOut, 401: ProblemOut, 403: ProblemOut},
    operation_id="credit_snapshot_publish",
    summary="立即发布信用快照",
)
def credit_snapshot_publish(request: HttpRequest):
    user = _staff(request)
    return Status(201, snapshot_publish(actor=user))
