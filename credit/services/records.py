"""Credit records and the firm's remedies on them: creating a record under the active rulebook,
objections (异议) within the window, credit repair (信用修复) after the minimum period."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.audit import actor_name, audit_append
from backend.exceptions import Conflict, Invalid
from credit.models import (
    CreditRecord,
    Enterprise,
    Objection,
    ObjectionDecision,
    RecordKind,
    RecordSource,
    RecordStatus,
    RepairApplication,
    RepairStatus,
)
from credit.rulebook import KIND_GOOD, Rule, Rulebook
from credit.scoring import record_period_end
from credit.selectors import (
    ActiveRulebook,
    active_rulebook,
)
from credit.services.common import ERR_INVALID, enterprise_mark_dirty, full_clean
from credit.workdays import add_working_days, today_local

BAD_SOURCES = frozenset(
    {RecordSource.INSPECTION, RecordSource.PENALTY, RecordSource.COMPLAINT, RecordSource.MANUAL}
)
ERR_UNKNOWN_RULE = "规则代码 {code} 不在现行信用规则（{version}）中。"
ERR_RULE_SOURCE = "来源“{source}”不能登记{kind}。"
ERR_DECIDED_IN_FUTURE = "认定日期不能晚于今天。"
ERR_OBJECTION_CLOSED = "该记录已过异议期或不处于异议期内，不能提出异议。"
ERR_OBJECTION_EXISTS = "该记录已有异议。"
ERR_NO_OPEN_OBJECTION = "该记录没有待处理的异议。"
ERR_NOT_REPAIRABLE = "只有生效中的失信记录可以申请信用修复。"
ERR_REPAIR_TOO_EARLY = "该记录最早可于 {earliest} 申请信用修复。"
ERR_REPAIR_PENDING = "该记录已有待审批的修复申请。"
ERR_NO_PENDING_REPAIR = "该记录没有待审批的修复申请。"
GOOD_SOURCES = frozenset({RecordSource.AWARD, RecordSource.MANUAL})


# --- records ------------------------------------------------------------------------------------


def _rule_for(*, rule_code: str, source: str) -> tuple[ActiveRulebook, Rule]:
    active = active_rulebook()
    rule = active.rulebook.rule(rule_code)
    if rule is None:
        raise Invalid(
            "unknown_rule_code",
            ERR_UNKNOWN_RULE.format(code=rule_code, version=active.version),
        )
    allowed = GOOD_SOURCES if rule.kind == KIND_GOOD else BAD_SOURCES
    if source not in allowed:
        kind = RecordKind.GOOD.label if rule.kind == KIND_GOOD else RecordKind.BAD.label
        raise Invalid("rule_source_mismatch", ERR_RULE_SOURCE.format(source=source, kind=kind))
    return active, rule


def objection_window_working_days(rulebook: Rulebook) -> int:
    """The rulebook's objection window, unless CREDIT_OBJECTION_WORKING_DAYS overrides it (the
    demo and the benchmarks set 0 so that records count at once)."""
    override = settings.CREDIT_OBJECTION_WORKING_DAYS
    return rulebook.objection_window_working_days if override is None else override


def record_period(*, decided_at: date, months: int, window_working_days: int) -> tuple:
    """(objection deadline or None, effective_from, effective_until exclusive). With a window
    of N working days the record counts from the day after the N-th working day after the
    decision; with 0 it counts from the decision day."""
    if window_working_days <= 0:
        return None, decided_at, record_period_end(decided_at, months)
    deadline = add_working_days(decided_at, window_working_days)
    effective_from = deadline + timedelta(days=1)
    return deadline, effective_from, record_period_end(effective_from, months)


def _status_on(*, effective_from: date, effective_until: date, today: date) -> str:
    if today < effective_from:
        return RecordStatus.PENDING
    if today >= effective_until:
        return RecordStatus.EXPIRED
    return RecordStatus.EFFECTIVE


@transaction.atomic
def record_create(
    *,
    enterprise: Enterprise,
    rule_code: str,
    decided_at: date,
    document_no: str = "",
    facts: str = "",
    source: str,
    source_ref: str = "",
    actor: AbstractBaseUser | None,
) -> CreditRecord:
    """A bad or good record under the active rulebook. Idempotent on (source, source_ref): the
    same reference again returns the record made the first time, unchanged."""
    if source_ref:
        existing = CreditRecord.objects.filter(source=source, source_ref=source_ref).first()
        if existing is not None:
            return existing
    if source not in RecordSource.values:
        raise Invalid("unknown_source", ERR_INVALID)
    active, rule = _rule_for(rule_code=rule_code, source=source)
    today = today_local()
    if decided_at > today:
        raise Invalid("decided_in_future", ERR_DECIDED_IN_FUTURE)
    deadline, effective_from, effective_until = record_period(
        decided_at=decided_at,
        months=rule.months,
        window_working_days=objection_window_working_days(active.rulebook),
    )
    record = CreditRecord(
        enterprise=enterprise,
        rule_code=rule.code,
        title_zh=rule.title_zh,
        title_en=rule.title_en,
        kind=rule.kind,
        severity=rule.severity or "",
        points=rule.points,
        months=rule.months,
        blacklist=rule.blacklist,
        facts=facts,
        document_no=document_no,
        decided_at=decided_at,
        objection_deadline=deadline,
        effective_from=effective_from,
        effective_until=effective_until,
        status=_status_on(
            effective_from=effective_from, effective_until=effective_until, today=today
        ),
        source=source,
        source_ref=source_ref,
        rulebook_version=active.version,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    full_clean(record, exclude=["enterprise", "created_by"], validate_constraints=False)
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        # The same reference committed concurrently: hand back that record (idempotency).
        existing = CreditRecord.objects.filter(source=source, source_ref=source_ref).first()
        if source_ref and existing is not None:
            return existing
        raise
    enterprise_mark_dirty(enterprise_id=enterprise.id)
    _audit_record_created(record, actor=actor, rulebook_version=active.version)
    return record


def _audit_record_created(
    record: CreditRecord, *, actor: AbstractBaseUser | None, rulebook_version: str
) -> None:
    audit_append(
        actor=actor_name(actor),
        action="credit.record_created",
        object_type="credit_record",
        object_id=record.id,
        payload={
            "enterprise": record.enterprise.uscc,
            "rule_code": record.rule_code,
            "kind": record.kind,
            "points": str(record.points),
            "decided_at": record.decided_at.isoformat(),
            "effective_from": record.effective_from.isoformat(),
            "status": record.status,
            "source": record.source,
            "source_ref": record.source_ref,
            "document_no": record.document_no,
            "rulebook_version": rulebook_version,
        },
    )


def _lock_record(record: CreditRecord) -> CreditRecord:
    return CreditRecord.objects.select_for_update().get(pk=record.pk)


@transaction.atomic
def objection_file(*, record: CreditRecord, grounds: str, actor: AbstractBaseUser) -> Objection:
    """Register the enterprise's objection; allowed while the record is pending and on or
    before its objection deadline. The record stays pending until the objection is decided."""
    record = _lock_record(record)
    today = today_local()
    if (
        record.status != RecordStatus.PENDING
        or record.objection_deadline is None
        or today > record.objection_deadline
    ):
        raise Conflict("objection_window_closed", ERR_OBJECTION_CLOSED)
    if Objection.objects.filter(record=record).exists():
        raise Conflict("objection_exists", ERR_OBJECTION_EXISTS)
    objection = Objection(record=record, filed_on=today, grounds=grounds, filed_by=actor)
    full_clean(objection, exclude=["record", "filed_by"], validate_constraints=False)
    objection.save()
    audit_append(
        actor=actor_name(actor),
        action="credit.objection_filed",
        object_type="credit_record",
        object_id=record.id,
        payload={"objection": objection.id, "grounds": grounds},
    )
    return objection


@transaction.atomic
def objection_resolve(
    *, record: CreditRecord, decision: str, reason: str, actor: AbstractBaseUser
) -> CreditRecord:
    """Upheld: the record is revoked and never counts. Rejected: it becomes effective once its
    window has passed (from the decision day if the objection held it past the window)."""
    record = _lock_record(record)
    objection = Objection.objects.select_for_update().filter(record=record, decision="").first()
    if objection is None:
        raise Conflict("no_open_objection", ERR_NO_OPEN_OBJECTION)
    if decision not in ObjectionDecision.values:
        raise Invalid("unknown_decision", ERR_INVALID)
    today = today_local()
    objection.decision = decision
    objection.decision_reason = reason
    objection.decided_by = actor
    objection.decided_at = timezone.now()
    objection.save(update_fields=["decision", "decision_reason", "decided_by", "decided_at"])
    fields = ["status", "updated_at"]
    if decision == ObjectionDecision.UPHELD:
        record.status = RecordStatus.REVOKED
        record.ended_on = today
        fields.append("ended_on")
    elif today >= record.effective_from:
        record.effective_from = today
        record.effective_until = record_period_end(today, record.months)
        record.status = RecordStatus.EFFECTIVE
        fields += ["effective_from", "effective_until"]
    record.save(update_fields=fields)
    enterprise_mark_dirty(enterprise_id=record.enterprise_id)
    audit_append(
        actor=actor_name(actor),
        action="credit.objection_resolved",
        object_type="credit_record",
        object_id=record.id,
        payload={
            "objection": objection.id,
            "decision": decision,
            "reason": reason,
            "record_status": record.status,
        },
    )
    return record


def repair_earliest(record: CreditRecord) -> date:
    """First day repair may be applied for: the rulebook's minimum months after the record took
    effect (per severity)."""
    months = active_rulebook().rulebook.repair_min_months[record.severity]
    return record_period_end(record.effective_from, months) if months else record.effective_from


@transaction.atomic
def repair_apply(
    *, record: CreditRecord, evidence: str, actor: AbstractBaseUser
) -> RepairApplication:
    record = _lock_record(record)
    if record.kind != RecordKind.BAD or record.status != RecordStatus.EFFECTIVE:
        raise Conflict("record_not_repairable", ERR_NOT_REPAIRABLE)
    earliest = repair_earliest(record)
    today = today_local()
    if today < earliest:
        raise Conflict(
            "repair_too_early",
            ERR_REPAIR_TOO_EARLY.format(earliest=earliest.isoformat()),
            earliest=earliest.isoformat(),
        )
    if RepairApplication.objects.filter(record=record, status=RepairStatus.PENDING).exists():
        raise Conflict("repair_pending", ERR_REPAIR_PENDING)
    application = RepairApplication(
        record=record, applied_on=today, evidence=evidence, registered_by=actor
    )
    full_clean(application, exclude=["record", "registered_by"], validate_constraints=False)
    application.save()
    audit_append(
        actor=actor_name(actor),
        action="credit.repair_applied",
        object_type="credit_record",
        object_id=record.id,
        payload={"application": application.id, "evidence": evidence},
    )
    return application


@transaction.atomic
def repair_decide(
    *, record: CreditRecord, approve: bool, reason: str, actor: AbstractBaseUser
) -> RepairApplication:
    """Approve (the record is repaired and stops counting today) or reject the pending
    application."""
    record = _lock_record(record)
    application = (
        RepairApplication.objects.select_for_update()
        .filter(record=record, status=RepairStatus.PENDING)
        .first()
    )
    if application is None:
        raise Conflict("no_pending_repair", ERR_NO_PENDING_REPAIR)
    application.status = RepairStatus.APPROVED if approve else RepairStatus.REJECTED
    application.decision_reason = reason
    application.approved_by = actor
    application.decided_at = timezone.now()
    application.save(
        update_fields=["status", "decision_reason", "approved_by", "decided_at", "updated_at"]
    )
    if approve and record.status == RecordStatus.EFFECTIVE:
        record.status = RecordStatus.REPAIRED
        record.ended_on = today_local()
        record.save(update_fields=["status", "ended_on", "updated_at"])
        enterprise_mark_dirty(enterprise_id=record.enterprise_id)
    audit_append(
        actor=actor_name(actor),
        action="credit.repair_decided",
        object_type="credit_record",
        object_id=record.id,
        payload={
            "application": application.id,
            "decision": application.status,
            "reason": reason,
            "record_status": record.status,
        },
    )
    return application
