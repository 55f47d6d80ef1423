"""Request and response shapes of the bureau API, and the functions that fill the responses.

Field names and codes are fixed by CONTRACTS.md. Shaping is explicit (no `fields="__all__"`): a
new model column never reaches a client by accident. Shapes the bureau pages or the phone API
also use (a finding under review, evidence of a photo, a plan) live in `inspections.schemas`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import Field

from backend.fields import ClientDate, ClientDateTime
from credit.access import region_codes, staff_profile_of
from credit.selectors import blacklist_basis_ids
from inspections.risk.plan_services import MAX_CAPACITY, SEED_BITS
from inspections.risk.planner import DEFAULT_RANDOM_SHARE
from inspections.schemas import EvidenceOut

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from credit.models import BlacklistEntry, CreditRecord, RepairApplication
    from inspections.models import Complaint, Finding, RiskModelVersion
    from inspections.risk.model_card import ModelCard

MAX_COMMENT_CHARS = 2000
MAX_COMPLAINT_CHARS = 4000
MAX_TEXT_CHARS = 4000
REGION_CODE_PATTERN = r"^15[0-9]{4}([0-9]{3}([0-9]{3})?)?$"


# --- staff ----------------------------------------------------------------------------------


class StaffOut(Schema):
    id: int
    name: str
    role: str
    regions: list[str]


def staff_out(user: AbstractBaseUser) -> dict:
    profile = staff_profile_of(user)
    return {
        "id": profile.id,
        "name": profile.display_name or user.get_username(),
        "role": profile.role,
        "regions": region_codes(user),
    }


# --- review ---------------------------------------------------------------------------------


class ReviewPhotoOut(Schema):
    photo_uuid: UUID
    state: str
    rejection_reason: str | None
    flags: list[str]
    evidence: EvidenceOut
    thumb_url: str | None
    display_url: str | None


class NamedOut(Schema):
    id: int
    name: str


class ReviewProjectOut(Schema):
    id: int
    name: str
    address: str
    region_code: str


class ReviewEnterpriseOut(Schema):
    uscc: str
    name: str


class ReviewFindingOut(Schema):
    finding_uuid: UUID
    inspection_uuid: UUID
    violation_code: str
    violation_title: str | None
    severity: str | None
    description: str
    observed_at: datetime
    submitted_at: datetime | None
    project: ReviewProjectOut
    enterprise: ReviewEnterpriseOut | None
    inspector: NamedOut
    review_status: Literal["pending", "confirmed", "rejected"]
    review_comment: str
    reviewed_at: datetime | None
    credit_record_id: int | None
    photos: list[ReviewPhotoOut]


class ReviewPageOut(Schema):
    items: list[ReviewFindingOut]
    next_cursor: str | None
    has_more: bool


class ReviewDecisionIn(Schema):
    decision: Literal["confirm", "reject"]
    comment: str = Field(default="", max_length=MAX_COMMENT_CHARS)


class ReviewDecisionOut(Schema):
    finding_uuid: UUID
    review_status: Literal["pending", "confirmed", "rejected"]
    review_comment: str
    reviewed_at: datetime | None
    credit_record_id: int | None


def review_decision_out(finding: Finding) -> dict:
    return {
        "finding_uuid": finding.uuid,
        "review_status": finding.review_status,
        "review_comment": finding.review_comment,
        "reviewed_at": finding.reviewed_at,
        "credit_record_id": finding.credit_record_id,
    }


# --- complaints -----------------------------------------------------------------------------


class ComplaintIn(Schema):
    project_id: int
    text: str = Field(min_length=1, max_length=MAX_COMPLAINT_CHARS)
    received_at: ClientDateTime | None = None
    due_date: ClientDate | None = None


class ComplaintTaskOut(Schema):
    id: int
    kind: str
    status: str
    due_date: date
    assignee: NamedOut


class ComplaintOut(Schema):
    id: int
    project_id: int
    received_at: datetime
    outcome: Literal["open", "confirmed", "unfounded"]
    task: ComplaintTaskOut


def complaint_out(complaint: Complaint) -> dict:
    task = complaint.task
    assignee = task.assignee
    return {
        "id": complaint.id,
        "project_id": complaint.project_id,
        "received_at": complaint.received_at,
        "outcome": complaint.outcome,
        "task": {
            "id": task.id,
            "kind": task.kind,
            "status": task.status,
            "due_date": task.due_date,
            "assignee": {
                "id": assignee.id,
                "name": assignee.display_name or assignee.user.get_username(),
            },
        },
    }


# --- plans ----------------------------------------------------------------------------------


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


# --- risk model card ------------------------------------------------------------------------


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


class GateComparisonOut(Schema):
    competitor: str
    competitor_name: str
    model_precision: float | None
    competitor_precision: float | None
    ratio: float | None
    interval: list[float | None]
    beaten: bool


class GateOut(Schema):
    passed: bool
    k: float
    confidence: float
    bootstrap_draws: int
    comparisons: list[GateComparisonOut]
    best_simple_ranking: str | None
    reason: str


class CalibrationCheckOut(Schema):
    cutoff: date
    checked_on: date
    n: int
    ece: float | None
    mean_predicted: float | None
    observed_rate: float | None
    drifted: bool


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
    live: bool
    live_reason: str
    ranking: str
    gate: GateOut | None
    calibration_checks: list[CalibrationCheckOut]


def _segment_out(rows) -> list[dict[str, Any]]:
    return [row.__dict__ for row in rows]


def _metrics(block: dict[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (block or {}).items() if key != "calibration"}


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
        "live": card.live,
        "live_reason": card.live_reason,
        "ranking": card.ranking_label,
        "gate": card.gate or None,
        "calibration_checks": list(card.calibration_checks),
    }


def version_out(row: RiskModelVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "status": row.status,
        "trained_at": row.trained_at,
        "data_until": row.data_until,
        "promoted_at": row.promoted_at,
        "promoted_by": row.promoted_by.get_username() if row.promoted_by else None,
    }


# --- credit desk ----------------------------------------------------------------------------


class RecordIn(Schema):
    uscc: str = Field(..., min_length=1, max_length=32)
    rule_code: str = Field(..., min_length=1, max_length=64)
    decided_at: ClientDate
    document_no: str = Field("", max_length=64)
    facts: str = Field("", max_length=MAX_TEXT_CHARS)
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


def record_out(record: CreditRecord) -> dict:
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


class ObjectionIn(Schema):
    grounds: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS)


class ObjectionResolveIn(Schema):
    decision: Literal["upheld", "rejected"]
    reason: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS)


class RepairIn(Schema):
    evidence: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS)


class RepairDecisionIn(Schema):
    decision: Literal["approved", "rejected"]
    reason: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS)


class RepairOut(Schema):
    id: int
    record_id: int
    applied_on: date
    evidence: str
    status: str
    decision_reason: str
    decided_at: datetime | None
    record_status: str


def repair_out(application: RepairApplication) -> dict:
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


class BlacklistProposeIn(Schema):
    reason: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS)


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


def blacklist_out(entry: BlacklistEntry) -> dict:
    return {
        "id": entry.id,
        "uscc": entry.enterprise.uscc,
        "status": entry.status,
        "entry_reason": entry.entry_reason,
        "basis_records": blacklist_basis_ids(entry=entry),
        "proposed_at": entry.proposed_at,
        "approved_at": entry.approved_at,
        "entry_date": entry.entry_date,
        "entry_authority": entry.entry_authority,
        "entry_document_no": entry.entry_document_no,
    }


class PublishedOut(Schema):
    id: int
    published_at: datetime
    sha256: str
    enterprises: int


# --- /statistics -------------------------------------------------------------------------------


class StatisticsChildOut(Schema):
    code: str
    name: str


class StatisticsRegionOut(Schema):
    code: str
    name: str
    children: list[StatisticsChildOut]


class StatisticsPeriodOut(Schema):
    key: str = Field(description="2026-11, 2026-Q3, 2026 or 2024-01..2026-11")
    label: str
    start: date
    end: date = Field(description="the day after the period (end-exclusive)")


class StatisticsHeadlineOut(Schema):
    label: str
    value: int | float | str | None
    unit: str
    hint: str


class StatisticsTableOut(Schema):
    id: str
    title: str
    columns: list[str]
    rows: list[list[int | float | str | None]]
    note: str


class MonthlyReportOut(Schema):
    id: int
    month: date
    size: int
    generated_at: datetime


class StatisticsOut(Schema):
    region: StatisticsRegionOut
    period: StatisticsPeriodOut
    computed_at: datetime
    headline: list[StatisticsHeadlineOut]
    tables: list[StatisticsTableOut]
    reports: list[MonthlyReportOut]


def statistics_out(figures, headline, tables, reports) -> dict[str, Any]:
    """The dashboard as numbers: the same tables the page and its exports show, without links."""
    region, period = figures.region, figures.period
    return {
        "region": {
            "code": region.code,
            "name": region.name,
            "children": [{"code": c.code, "name": c.name} for c in region.children],
        },
        "period": {
            "key": period.key,
            "label": period.label,
            "start": period.start,
            "end": period.end,
        },
        "computed_at": figures.computed_at,
        "headline": [
            {"label": h.label, "value": h.cell.value, "unit": h.cell.unit, "hint": h.hint}
            for h in headline
        ],
        "tables": [
            {
                "id": t.id,
                "title": t.title,
                "columns": list(t.columns),
                "rows": [[cell.value for cell in row] for row in t.rows],
                "note": t.note,
            }
            for t in tables
        ],
        "reports": [
            {"id": r.id, "month": r.month, "size": r.size, "generated_at": r.generated_at}
            for r in reports
        ],
    }
