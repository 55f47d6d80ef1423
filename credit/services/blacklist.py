"""The blacklist (严重失信主体名单): staff proposals approved by a second person, and the
rule-triggered side every recompute follows (a system proposal when a blacklist record takes
effect, withdrawal or exit when none counts any more)."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from backend.audit import SYSTEM_ACTOR, actor_name, audit_append
from backend.exceptions import Conflict
from credit.models import (
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    Enterprise,
)
from credit.selectors import (
    counting_blacklist_records,
)
from credit.services.common import enterprise_mark_dirty, full_clean
from credit.workdays import today_local

ERR_NO_BLACKLIST_BASIS = "该企业没有可列入黑名单的生效严重失信记录。"
ERR_ALREADY_BLACKLISTED = "该企业已在黑名单中。"
ERR_PROPOSAL_EXISTS = "该企业已有待审批的黑名单提议。"
ERR_NO_PROPOSAL = "该企业没有待审批的黑名单提议。"
ERR_NOT_ENDORSED = "系统生成的黑名单提议须先由工作人员提议，再由另一人批准。"
ERR_SAME_USER = "提议人与批准人不能是同一人。"
SYSTEM_EXIT_AUTHORITY = "系统（依据信用规则自动移出）"
EXIT_REASON_BASIS_ENDED = "列入依据的严重失信记录均已期满、撤销或修复。"
AUTO_PROPOSAL_REASON = "存在可列入黑名单的生效严重失信记录：{codes}。"


# --- blacklist ----------------------------------------------------------------------------------


def _basis_or_conflict(enterprise_id: int, today: date) -> list[CreditRecord]:
    basis = list(counting_blacklist_records(enterprise_id=enterprise_id, as_of=today))
    if not basis:
        raise Conflict("no_blacklist_basis", ERR_NO_BLACKLIST_BASIS)
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
        raise Conflict("already_blacklisted", ERR_ALREADY_BLACKLISTED)
    if entry is not None and entry.proposed_by_id is not None:
        raise Conflict("proposal_exists", ERR_PROPOSAL_EXISTS)
    if entry is None:
        entry = BlacklistEntry(enterprise=enterprise)
    entry.entry_reason = reason
    entry.proposed_by = actor
    entry.proposed_at = timezone.now()
    full_clean(entry, exclude=["enterprise", "proposed_by"], validate_constraints=False)
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
            raise Conflict("already_blacklisted", ERR_ALREADY_BLACKLISTED)
        raise Conflict("no_proposal", ERR_NO_PROPOSAL)
    if entry.proposed_by_id is None:
        raise Conflict("proposal_not_endorsed", ERR_NOT_ENDORSED)
    if entry.proposed_by_id == actor.pk:
        raise Conflict("same_user", ERR_SAME_USER)
    today = today_local()
    _basis_or_conflict(enterprise.id, today)
    entry.status = BlacklistStatus.ACTIVE
    entry.approved_by = actor
    entry.approved_at = timezone.now()
    entry.entry_date = today
    entry.entry_authority = authority
    entry.entry_document_no = document_no
    full_clean(entry, exclude=["enterprise", "proposed_by", "approved_by"])
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
