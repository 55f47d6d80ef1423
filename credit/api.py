"""The signed tender API (`/api/tender/v1`, its own NinjaAPI): what the tender platform may ask
of the latest published snapshot. The bureau's credit endpoints are in `bureau_api`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Schema

from backend.auth_api import ProblemOut
from backend.errors import Problem, make_api
from credit.scoring import tender_terms
from credit.selectors import (
    entry_standing,
    latest_entry,
    latest_snapshot,
    latest_snapshot_id,
    rulebook_for_version,
    snapshot_by_id,
    snapshot_changes,
    snapshot_entries_by_uscc,
    snapshot_memo,
    snapshot_ref,
)
from credit.tender_auth import TenderSignatureAuth
from credit.tender_calls import tender_call_record
from credit.validators import normalise_uscc

if TYPE_CHECKING:
    from credit.models import Snapshot, SnapshotEntry

ERR_NO_SNAPSHOT = "尚未发布信用快照。"
ERR_UNKNOWN_ENTERPRISE = "未找到该统一社会信用代码对应的物业服务企业。"
ERR_UNKNOWN_SNAPSHOT = "未找到该快照。"
ERR_SINCE_NOT_OLDER = "since 须为更早发布的快照。"
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
        snapshot = snapshot_ref(snapshot_id)
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
    newer = snapshot_by_id(snapshot_id)
    older = snapshot_by_id(query.since)
    if newer is None or older is None:
        raise Problem(404, "unknown_snapshot", ERR_UNKNOWN_SNAPSHOT)
    if (older.as_of, older.id) >= (newer.as_of, newer.id):
        raise Problem(422, "since_not_older", ERR_SINCE_NOT_OLDER)
    request.tender_snapshot_id = newer.id
    changes = snapshot_changes(newer=newer, older=older)
    return {"snapshot": newer, "since": older, "changes": changes}
