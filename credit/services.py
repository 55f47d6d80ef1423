"""Every write to the credit archive. Keyword-only arguments, one transaction each, audited.

Scores are never written by the actions themselves: an action marks the enterprise dirty in its
own transaction and queues `credit.recompute_enterprise` on commit; the periodic sweeper
(`recompute_dirty`) picks up anything whose message was lost (the database is the outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.audit import SYSTEM_ACTOR, actor_name, audit_append
from backend.errors import Problem
from backend.queueing import enqueue_on_commit
from credit.models import (
    BackboneDesignation,
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    Enterprise,
    EnterpriseRisk,
    EnterpriseScore,
    Objection,
    ObjectionDecision,
    RecordKind,
    RecordSource,
    RecordStatus,
    RepairApplication,
    RepairStatus,
    RulebookVersion,
)
from credit.rulebook import KIND_GOOD, Rule, Rulebook
from credit.scoring import record_period_end
from credit.selectors import (
    ActiveRulebook,
    active_rulebook,
    counting_blacklist_records,
    open_blacklist_entry,
)
from credit.workdays import add_working_days

logger = logging.getLogger(__name__)

ERR_UNKNOWN_RULE = "规则代码 {code} 不在现行信用规则（{version}）中。"
ERR_RULE_SOURCE = "来源“{source}”不能登记{kind}。"
ERR_DECIDED_IN_FUTURE = "认定日期不能晚于今天。"
ERR_INVALID = "提交的信息不完整或不符合要求。"
ERR_PROBABILITY = "概率须在 0 到 1 之间。"
ERR_DUPLICATE_RISKS = "a scoring run gives each enterprise at most one estimate"
ERR_OBJECTION_CLOSED = "该记录已过异议期或不处于异议期内，不能提出异议。"
ERR_OBJECTION_EXISTS = "该记录已有异议。"
ERR_NO_OPEN_OBJECTION = "该记录没有待处理的异议。"
ERR_NOT_REPAIRABLE = "只有生效中的失信记录可以申请信用修复。"
ERR_REPAIR_TOO_EARLY = "该记录最早可于 {earliest} 申请信用修复。"
ERR_REPAIR_PENDING = "该记录已有待审批的修复申请。"
ERR_NO_PENDING_REPAIR = "该记录没有待审批的修复申请。"
ERR_NO_BLACKLIST_BASIS = "该企业没有可列入黑名单的生效严重失信记录。"
ERR_ALREADY_BLACKLISTED = "该企业已在黑名单中。"
ERR_PROPOSAL_EXISTS = "该企业已有待审批的黑名单提议。"
ERR_NO_PROPOSAL = "该企业没有待审批的黑名单提议。"
ERR_NOT_ENDORSED = "系统生成的黑名单提议须先由工作人员提议，再由另一人批准。"
ERR_SAME_USER = "提议人与批准人不能是同一人。"
ERR_ALREADY_BACKBONE = "该企业已被认定为骨干企业。"
ERR_BACKBONE_BLACKLISTED = "黑名单企业不能认定为骨干企业。"
ERR_NOT_BACKBONE = "该企业不是骨干企业。"

# Sources of bad records and of good ones: an award never deducts, a penalty never adds.
BAD_SOURCES = frozenset(
    {RecordSource.INSPECTION, RecordSource.PENALTY, RecordSource.COMPLAINT, RecordSource.MANUAL}
)
GOOD_SOURCES = frozenset({RecordSource.AWARD, RecordSource.MANUAL})
SYSTEM_EXIT_AUTHORITY = "系统（依据信用规则自动移出）"
EXIT_REASON_BASIS_ENDED = "列入依据的严重失信记录均已期满、撤销或修复。"
AUTO_PROPOSAL_REASON = "存在可列入黑名单的生效严重失信记录：{codes}。"


def today_local() -> date:
    return timezone.localdate()


def _full_clean(instance: models.Model, **kwargs) -> None:
    try:
        instance.full_clean(**kwargs)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", field], "msg": str(message)}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        raise Problem(422, "validation_error", ERR_INVALID, errors=errors) from exc


# --- dirty flag (the recompute outbox) ------------------------------------------------------


def enterprise_mark_dirty(*, enterprise_id: int) -> None:
    """Flag the enterprise for recompute in the caller's transaction and queue the recompute
    for after commit. The UPDATE waits for a running recompute of the same enterprise (it holds
    the row), so a change is never lost between its read and its clearing of the flag."""
    now = timezone.now()
    updated = EnterpriseScore.objects.filter(pk=enterprise_id).update(
        dirty=True, dirty_since=Coalesce("dirty_since", models.Value(now))
    )
    if not updated:
        try:
            with transaction.atomic():
                EnterpriseScore.objects.create(enterprise_id=enterprise_id, dirty_since=now)
        except IntegrityError:  # created concurrently: flag that row instead
            EnterpriseScore.objects.filter(pk=enterprise_id).update(dirty=True)
    from credit.tasks import recompute_enterprise

    # The committed dirty flag is the outbox: a lost message only delays the recompute until
    # the sweeper's next run.
    enqueue_on_commit(recompute_enterprise, enterprise_id)


# --- records ------------------------------------------------------------------------------------


def _rule_for(*, rule_code: str, source: str) -> tuple[ActiveRulebook, Rule]:
    active = active_rulebook()
    rule = active.rulebook.rule(rule_code)
    if rule is None:
        raise Problem(
            422,
            "unknown_rule_code",
            ERR_UNKNOWN_RULE.format(code=rule_code, version=active.version),
        )
    allowed = GOOD_SOURCES if rule.kind == KIND_GOOD else BAD_SOURCES
    if source not in allowed:
        kind = RecordKind.GOOD.label if rule.kind == KIND_GOOD else RecordKind.BAD.label
        raise Problem(422, "rule_source_mismatch", ERR_RULE_SOURCE.format(source=source, kind=kind))
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
        raise Problem(422, "unknown_source", ERR_INVALID)
    active, rule = _rule_for(rule_code=rule_code, source=source)
    today = today_local()
    if decided_at > today:
        raise Problem(422, "decided_in_future", ERR_DECIDED_IN_FUTURE)
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
    _full_clean(record, exclude=["enterprise", "created_by"], validate_constraints=False)
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
    audit_append(
        actor=actor_name(actor),
        action="credit.record_created",
        object_type="credit_record",
        object_id=record.id,
        payload={
            "enterprise": enterprise.uscc,
            "rule_code": record.rule_code,
            "kind": record.kind,
            "points": str(record.points),
            "decided_at": decided_at.isoformat(),
            "effective_from": effective_from.isoformat(),
            "status": record.status,
            "source": source,
            "source_ref": source_ref,
            "document_no": document_no,
            "rulebook_version": active.version,
        },
    )
    return record


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
        raise Problem(409, "objection_window_closed", ERR_OBJECTION_CLOSED)
    if Objection.objects.filter(record=record).exists():
        raise Problem(409, "objection_exists", ERR_OBJECTION_EXISTS)
    objection = Objection(record=record, filed_on=today, grounds=grounds, filed_by=actor)
    _full_clean(objection, exclude=["record", "filed_by"], validate_constraints=False)
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
        raise Problem(409, "no_open_objection", ERR_NO_OPEN_OBJECTION)
    if decision not in ObjectionDecision.values:
        raise Problem(422, "unknown_decision", ERR_INVALID)
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
        raise Problem(409, "record_not_repairable", ERR_NOT_REPAIRABLE)
    earliest = repair_earliest(record)
    today = today_local()
    if today < earliest:
        raise Problem(
            409,
            "repair_too_early",
            ERR_REPAIR_TOO_EARLY.format(earliest=earliest.isoformat()),
            earliest=earliest.isoformat(),
        )
    if RepairApplication.objects.filter(record=record, status=RepairStatus.PENDING).exists():
        raise Problem(409, "repair_pending", ERR_REPAIR_PENDING)
    application = RepairApplication(
        record=record, applied_on=today, evidence=evidence, registered_by=actor
    )
    _full_clean(application, exclude=["record", "registered_by"], validate_constraints=False)
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
        raise Problem(409, "no_pending_repair", ERR_NO_PENDING_REPAIR)
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


# --- inputs from the inspections app -----------------------------------------------------------


@transaction.atomic
def risk_update(
    *,
    enterprise: Enterprise,
    probability: float,
    population_mean: float,
    model_version: str,
    reasons: list[str],
) -> EnterpriseRisk:
    """Store the model's estimate for blending at the next recompute. Not audited one by one
    (a nightly run touches every enterprise): each snapshot names the model version it used."""
    for value in (probability, population_mean):
        if not 0.0 <= float(value) <= 1.0:
            raise Problem(422, "invalid_probability", ERR_PROBABILITY)
    risk, _ = EnterpriseRisk.objects.update_or_create(
        enterprise=enterprise,
        defaults={
            "probability": float(probability),
            "population_mean": float(population_mean),
            "model_version": model_version,
            "reasons": list(reasons),
        },
    )
    enterprise_mark_dirty(enterprise_id=enterprise.id)
    return risk


@dataclass(frozen=True)
class RiskRow:
    """One enterprise's estimate from a scoring run (see `risks_update`)."""

    enterprise_id: int
    probability: float
    reasons: Sequence[str] = ()


# Rows per INSERT … ON CONFLICT / UPDATE: 2,000 rows of a few hundred bytes keep each statement
# well under a MB and far below PostgreSQL's 65,535 bind parameters (7 per risk row).
RISK_BATCH = 2000


@transaction.atomic
def risks_update(
    *,
    risks: Sequence[RiskRow],
    model_version: str,
    population_mean: float,
    withdraw_others: bool = False,
) -> int:
    """`risk_update` for a whole scoring run: upsert every estimate in chunks, flag the
    enterprises dirty in bulk, audit the run once and queue ONE `credit.recompute_dirty` after
    commit (not one recompute per enterprise). Returns the number of estimates stored.

    `withdraw_others`: the run estimated every enterprise that manages a compound (the nightly
    scoring), so an estimate it did not renew belongs to a firm that no longer manages any and
    is deleted — its score loses the model part instead of keeping an old model's opinion of
    compounds it has left."""
    probabilities = [float(population_mean), *(float(r.probability) for r in risks)]
    if not all(0.0 <= value <= 1.0 for value in probabilities):
        raise Problem(422, "invalid_probability", ERR_PROBABILITY)
    enterprise_ids = [risk.enterprise_id for risk in risks]
    if len(set(enterprise_ids)) != len(enterprise_ids):
        raise ValueError(ERR_DUPLICATE_RISKS)  # one upsert cannot touch a row twice
    started = timezone.now()
    rows = [
        EnterpriseRisk(
            enterprise_id=risk.enterprise_id,
            probability=float(risk.probability),
            population_mean=float(population_mean),
            model_version=model_version,
            reasons=list(risk.reasons),
        )
        for risk in risks
    ]
    EnterpriseRisk.objects.bulk_create(
        rows,
        batch_size=RISK_BATCH,
        update_conflicts=True,
        unique_fields=["enterprise"],
        update_fields=["probability", "population_mean", "model_version", "reasons", "updated_at"],
    )
    withdrawn = _risks_not_renewed_since(started) if withdraw_others else []
    enterprises_mark_dirty(enterprise_ids=[*enterprise_ids, *withdrawn])
    audit_append(
        actor=SYSTEM_ACTOR,
        action="credit.risks_updated",
        object_type="enterprise_risk",
        object_id=model_version,
        payload={
            "model_version": model_version,
            "population_mean": float(population_mean),
            "enterprises": len(rows),
            "withdrawn": withdrawn,
        },
    )
    from credit.tasks import recompute_dirty_task

    # A lost message only delays the blend: the flags are committed and the sweeper runs anyway.
    enqueue_on_commit(recompute_dirty_task)
    return len(rows)


def _risks_not_renewed_since(started) -> list[int]:
    """Delete the estimates older than this run (every row it wrote has `updated_at` after
    `started`); the enterprises they belonged to."""
    stale = EnterpriseRisk.objects.filter(updated_at__lt=started)
    enterprise_ids = sorted(stale.values_list("enterprise_id", flat=True))
    stale.delete()
    return enterprise_ids


def enterprises_mark_dirty(*, enterprise_ids: Sequence[int]) -> None:
    """`enterprise_mark_dirty` for many enterprises, without queuing anything: a score row is
    created where missing (already dirty), then every row is flagged. Flagging after creating
    means a row created concurrently by a running recompute is flagged too once that recompute
    commits (the UPDATE waits for its lock)."""
    now = timezone.now()
    for start in range(0, len(enterprise_ids), RISK_BATCH):
        chunk = list(enterprise_ids[start : start + RISK_BATCH])
        EnterpriseScore.objects.bulk_create(
            [EnterpriseScore(enterprise_id=i, dirty_since=now) for i in chunk],
            ignore_conflicts=True,
        )
        EnterpriseScore.objects.filter(pk__in=chunk).update(
            dirty=True, dirty_since=Coalesce("dirty_since", models.Value(now))
        )


def enterprise_scale_update(
    *, enterprise: Enterprise, managed_area_m2: Decimal, managed_projects: int
) -> None:
    """Scale from management contracts, used to propose backbone candidates. No score moves."""
    area = Decimal(managed_area_m2).quantize(Decimal("0.01"))
    Enterprise.objects.filter(pk=enterprise.pk).exclude(
        managed_area_m2=area, managed_projects=managed_projects
    ).update(managed_area_m2=area, managed_projects=managed_projects, updated_at=timezone.now())
    enterprise.managed_area_m2, enterprise.managed_projects = area, managed_projects


def enterprise_scales_update(*, scales: dict[int, tuple[Decimal, int]]) -> int:
    """Bulk form of `enterprise_scale_update` for the registry import and the daily refresh:
    {enterprise id: (managed area m², managed projects)}; only rows whose figures changed are
    written, in one bulk UPDATE. Returns how many were written."""
    changed = []
    for enterprise in Enterprise.objects.filter(pk__in=scales.keys()).only(
        "id", "managed_area_m2", "managed_projects"
    ):
        area, projects = scales[enterprise.pk]
        area = Decimal(area).quantize(Decimal("0.01"))
        if (enterprise.managed_area_m2, enterprise.managed_projects) != (area, projects):
            enterprise.managed_area_m2, enterprise.managed_projects = area, projects
            enterprise.updated_at = timezone.now()
            changed.append(enterprise)
    Enterprise.objects.bulk_update(
        changed, ["managed_area_m2", "managed_projects", "updated_at"], batch_size=1000
    )
    return len(changed)


# --- blacklist ----------------------------------------------------------------------------------


def _basis_or_conflict(enterprise_id: int, today: date) -> list[CreditRecord]:
    basis = list(counting_blacklist_records(enterprise_id=enterprise_id, as_of=today))
    if not basis:
        raise Problem(409, "no_blacklist_basis", ERR_NO_BLACKLIST_BASIS)
    return basis


def _lock_open_entry(enterprise_id: int) -> BlacklistEntry | None:
    return (
        BlacklistEntry.objects.select_for_update()
        .filter(
            enterprise_id=enterprise_id,
            status__in=[BlacklistStatus.PROPOSED, BlacklistStatus.ACTIVE],
        )
        .first()
    )


def _blacklist_audit(entry: BlacklistEntry, action: str, actor: str, **payload) -> None:
    audit_append(
        actor=actor,
        action=action,
        object_type="blacklist_entry",
        object_id=entry.id,
        payload={"enterprise": entry.enterprise.uscc, "status": entry.status, **payload},
    )


@transaction.atomic
def blacklist_propose(
    *, enterprise: Enterprise, reason: str, actor: AbstractBaseUser
) -> BlacklistEntry:
    """A person's proposal. A rule-triggered (system) proposal already open is endorsed by it."""
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    basis = _basis_or_conflict(enterprise.id, today_local())
    entry = _lock_open_entry(enterprise.id)
    if entry is not None and entry.status == BlacklistStatus.ACTIVE:
        raise Problem(409, "already_blacklisted", ERR_ALREADY_BLACKLISTED)
    if entry is not None and entry.proposed_by_id is not None:
        raise Problem(409, "proposal_exists", ERR_PROPOSAL_EXISTS)
    if entry is None:
        entry = BlacklistEntry(enterprise=enterprise)
    entry.entry_reason = reason
    entry.proposed_by = actor
    entry.proposed_at = timezone.now()
    _full_clean(entry, exclude=["enterprise", "proposed_by"], validate_constraints=False)
    entry.save()
    entry.basis_records.set(basis)
    _blacklist_audit(
        entry,
        "credit.blacklist_proposed",
        actor_name(actor),
        reason=reason,
        basis=[r.id for r in basis],
    )
    return entry


@transaction.atomic
def blacklist_approve(
    *,
    enterprise: Enterprise,
    authority: str,
    document_no: str,
    actor: AbstractBaseUser,
) -> BlacklistEntry:
    """The second person's approval puts the enterprise on the blacklist from today."""
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    entry = _lock_open_entry(enterprise.id)
    if entry is None or entry.status != BlacklistStatus.PROPOSED:
        if entry is not None:
            raise Problem(409, "already_blacklisted", ERR_ALREADY_BLACKLISTED)
        raise Problem(409, "no_proposal", ERR_NO_PROPOSAL)
    if entry.proposed_by_id is None:
        raise Problem(409, "proposal_not_endorsed", ERR_NOT_ENDORSED)
    if entry.proposed_by_id == actor.pk:
        raise Problem(409, "same_user", ERR_SAME_USER)
    today = today_local()
    _basis_or_conflict(enterprise.id, today)
    entry.status = BlacklistStatus.ACTIVE
    entry.approved_by = actor
    entry.approved_at = timezone.now()
    entry.entry_date = today
    entry.entry_authority = authority
    entry.entry_document_no = document_no
    _full_clean(entry, exclude=["enterprise", "proposed_by", "approved_by"])
    entry.save()
    enterprise_mark_dirty(enterprise_id=enterprise.id)
    _blacklist_audit(
        entry,
        "credit.blacklist_approved",
        actor_name(actor),
        authority=authority,
        document_no=document_no,
        entry_date=today.isoformat(),
    )
    return entry


def blacklist_follow_records(
    *, enterprise: Enterprise, proposal: bool, basis_ids: list[int], today: date
) -> bool:
    """Rule-triggered side of the blacklist, run by every recompute: open a system proposal
    when a blacklist record takes effect; withdraw the proposal or exit the list when no such
    record counts any more. Returns whether the enterprise is on the blacklist now."""
    entry = _lock_open_entry(enterprise.id)
    if proposal and entry is None:
        entry = BlacklistEntry.objects.create(
            enterprise=enterprise,
            entry_reason=AUTO_PROPOSAL_REASON.format(
                codes="、".join(
                    CreditRecord.objects.filter(pk__in=basis_ids)
                    .order_by("rule_code")
                    .values_list("rule_code", flat=True)
                    .distinct()
                )
            ),
            proposed_at=timezone.now(),
        )
        entry.basis_records.set(basis_ids)
        _blacklist_audit(entry, "credit.blacklist_auto_proposed", SYSTEM_ACTOR, basis=basis_ids)
        return False
    if entry is None or proposal:
        return entry is not None and entry.status == BlacklistStatus.ACTIVE
    if entry.status == BlacklistStatus.PROPOSED:
        entry.status = BlacklistStatus.WITHDRAWN
        entry.exit_reason = EXIT_REASON_BASIS_ENDED
        entry.exit_date = today
        entry.save(update_fields=["status", "exit_reason", "exit_date", "updated_at"])
        _blacklist_audit(entry, "credit.blacklist_withdrawn", SYSTEM_ACTOR)
        return False
    entry.status = BlacklistStatus.EXITED
    entry.exit_date = today
    entry.exit_reason = EXIT_REASON_BASIS_ENDED
    entry.exit_authority = SYSTEM_EXIT_AUTHORITY
    entry.save(update_fields=["status", "exit_date", "exit_reason", "exit_authority", "updated_at"])
    _blacklist_audit(entry, "credit.blacklist_exited", SYSTEM_ACTOR, exit_date=today.isoformat())
    return False


# --- backbone enterprises ----------------------------------------------------------------------


@transaction.atomic
def backbone_designate(
    *, enterprise: Enterprise, document_no: str, actor: AbstractBaseUser
) -> BackboneDesignation:
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    if BackboneDesignation.objects.filter(enterprise=enterprise, ended_on__isnull=True).exists():
        raise Problem(409, "already_backbone", ERR_ALREADY_BACKBONE)
    if open_blacklist_entry(enterprise_id=enterprise.id) is not None and (
        open_blacklist_entry(enterprise_id=enterprise.id).status == BlacklistStatus.ACTIVE
    ):
        raise Problem(409, "blacklisted", ERR_BACKBONE_BLACKLISTED)
    designation = BackboneDesignation.objects.create(
        enterprise=enterprise,
        designated_by=actor,
        designated_on=today_local(),
        document_no=document_no,
    )
    enterprise_mark_dirty(enterprise_id=enterprise.id)
    audit_append(
        actor=actor_name(actor),
        action="credit.backbone_designated",
        object_type="enterprise",
        object_id=enterprise.uscc,
        payload={"designation": designation.id, "document_no": document_no},
    )
    return designation


@transaction.atomic
def backbone_end(
    *, enterprise: Enterprise, reason: str, actor: AbstractBaseUser
) -> BackboneDesignation:
    designation = (
        BackboneDesignation.objects.select_for_update()
        .filter(enterprise=enterprise, ended_on__isnull=True)
        .first()
    )
    if designation is None:
        raise Problem(409, "not_backbone", ERR_NOT_BACKBONE)
    designation.ended_on = today_local()
    designation.end_reason = reason
    designation.save(update_fields=["ended_on", "end_reason", "updated_at"])
    enterprise_mark_dirty(enterprise_id=enterprise.id)
    audit_append(
        actor=actor_name(actor),
        action="credit.backbone_ended",
        object_type="enterprise",
        object_id=enterprise.uscc,
        payload={"designation": designation.id, "reason": reason},
    )
    return designation


# --- rulebook versions -------------------------------------------------------------------------

ERR_RULEBOOK_VERSION_TAKEN = "规则版本号 {version} 已被另一份内容使用，请在新内容中使用新的版本号。"


@transaction.atomic
def rulebook_version_create(
    *, content: dict, actor: AbstractBaseUser | None, activate: bool = True
) -> RulebookVersion:
    """Store a rulebook document as a new version (validated) and, by default, make it the active
    one. The same content again is not duplicated: the stored version is returned (and
    activated). Changing scores follow through the full recompute (`recompute_scores --all`)."""
    version = RulebookVersion(content=content, created_by=actor)
    _full_clean(version, exclude=["created_by"], validate_unique=False, validate_constraints=False)
    existing = RulebookVersion.objects.select_for_update().filter(version=version.version).first()
    if existing is not None and existing.sha256 != version.sha256:
        raise Problem(
            409,
            "rulebook_version_taken",
            ERR_RULEBOOK_VERSION_TAKEN.format(version=version.version),
        )
    created = existing is None
    if created:
        version.save()
    else:
        version = existing
    if activate and not version.is_active:
        RulebookVersion.objects.filter(is_active=True).update(is_active=False)
        version.is_active = True
        version.save(update_fields=["is_active", "updated_at"])
    if created or activate:
        audit_append(
            actor=actor_name(actor),
            action="credit.rulebook_version_stored" if created else "credit.rulebook_activated",
            object_type="rulebook_version",
            object_id=version.version,
            payload={"sha256": version.sha256, "active": version.is_active},
        )
    return version
