"""Reviewers' decisions on submitted findings. A confirmation becomes a pending credit record of
the enterprise that managed the compound on the day of the finding, in the same transaction."""

from dataclasses import dataclass
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from backend.audit import actor_name, audit_append
from backend.exceptions import Conflict, Invalid
from credit.models import RecordSource
from credit.services import record_create, today_local
from inspections.access import access_finding_for_reviewer
from inspections.models import (
    ComplaintOutcome,
    Finding,
    InspectionStatus,
    ReviewStatus,
    TaskKind,
)
from inspections.selectors import managing_enterprise_on

DECISION_CONFIRM = "confirm"
DECISION_REJECT = "reject"
COMPLAINT_RULE_CODE = "COMPLAINT-VERIFIED"

ERR_NOT_SUBMITTED = "该巡查记录尚未提交，不能审核。"
ERR_ALREADY_REVIEWED = "该违规发现已审核为“{status}”，不能改为其他结论。"
ERR_COMMENT_REQUIRED = "驳回时必须填写理由。"
ERR_NO_ENTERPRISE = "发现当日（{day}）该项目没有在管的物业服务企业，无法形成信用记录。"
ERR_UNKNOWN_DECISION = "审核结论只能是 confirm 或 reject。"


@dataclass(frozen=True)
class ReviewOutcome:
    finding: Finding
    credit_record_id: int | None


def finding_review(
    *, user: AbstractBaseUser, finding_uuid: UUID, decision: str, comment: str
) -> ReviewOutcome:
    """Confirm or reject a submitted finding. The same decision again is a no-op (a resent
    form); a different one on a reviewed finding is 409."""
    if decision not in (DECISION_CONFIRM, DECISION_REJECT):
        raise Invalid("unknown_decision", ERR_UNKNOWN_DECISION)
    comment = comment.strip()
    with transaction.atomic():
        finding = access_finding_for_reviewer(user, finding_uuid, for_update=True)
        wanted = ReviewStatus.CONFIRMED if decision == DECISION_CONFIRM else ReviewStatus.REJECTED
        if finding.review_status != ReviewStatus.PENDING:
            if finding.review_status == wanted:
                return ReviewOutcome(finding, finding.credit_record_id)
            raise Conflict(
                "already_reviewed",
                ERR_ALREADY_REVIEWED.format(status=finding.get_review_status_display()),
            )
        if finding.inspection.status != InspectionStatus.SUBMITTED:
            raise Conflict("inspection_not_submitted", ERR_NOT_SUBMITTED)
        if decision == DECISION_REJECT and not comment:
            raise Invalid("comment_required", ERR_COMMENT_REQUIRED)
        if decision == DECISION_CONFIRM:
            finding.credit_record_id = _credit_record_for(finding, user=user, comment=comment)
        finding.review_status = wanted
        finding.review_comment = comment
        finding.reviewed_by = user
        finding.reviewed_at = timezone.now()
        finding.save(
            update_fields=[
                "review_status",
                "review_comment",
                "reviewed_by",
                "reviewed_at",
                "credit_record_id",
                "updated_at",
            ]
        )
        audit_append(
            actor=actor_name(user),
            action=f"finding.{decision}",
            object_type="finding",
            object_id=finding.uuid,
            payload={
                "violation_code": finding.violation_code,
                "project_id": finding.inspection.project_id,
                "comment": comment,
                "credit_record_id": finding.credit_record_id,
            },
        )
    return ReviewOutcome(finding, finding.credit_record_id)


def _credit_record_for(finding: Finding, *, user: AbstractBaseUser, comment: str) -> int:
    inspection = finding.inspection
    day = timezone.localdate(finding.observed_at)
    enterprise = managing_enterprise_on(project=inspection.project, day=day)
    if enterprise is None:
        raise Conflict("no_managing_enterprise", ERR_NO_ENTERPRISE.format(day=day))
    facts = _facts(finding, comment)
    complaint = _complaint_of(finding)
    if complaint is not None:
        complaint_record = record_create(
            enterprise=enterprise,
            rule_code=COMPLAINT_RULE_CODE,
            decided_at=today_local(),
            facts=f"投诉核实属实：{complaint.text[:500]}",
            source=RecordSource.COMPLAINT,
            source_ref=f"complaint-{complaint.id}",
            actor=user,
        )
        complaint.outcome = ComplaintOutcome.CONFIRMED
        complaint.credit_record_id = complaint_record.id
        complaint.save(update_fields=["outcome", "credit_record_id", "updated_at"])
        if finding.violation_code == COMPLAINT_RULE_CODE:
            return complaint_record.id  # the finding is the verification itself: one record
    record = record_create(
        enterprise=enterprise,
        rule_code=finding.violation_code,
        decided_at=today_local(),
        facts=facts,
        source=RecordSource.INSPECTION,
        source_ref=str(finding.uuid),
        actor=user,
    )
    return record.id


def _complaint_of(finding: Finding):
    task = finding.inspection.task
    if task is None or task.kind != TaskKind.COMPLAINT:
        return None
    return getattr(task, "complaint", None)


def _facts(finding: Finding, comment: str) -> str:
    observed = timezone.localtime(finding.observed_at)
    parts = [f"{observed:%Y-%m-%d %H:%M} 巡查发现：{finding.description}".strip()]
    if comment:
        parts.append(f"审核意见：{comment}")
    return "\n".join(parts)
