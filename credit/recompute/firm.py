"""Recomputing one enterprise: score it with reasons, follow the blacklist rules, store the
breakdown and clear its dirty flag. Every other path must store exactly what this one stores."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from credit.models import CreditRecord, Enterprise, EnterpriseRisk, EnterpriseScore
from credit.rulebook import Rulebook
from credit.score_inputs import (
    RECORD_FIELDS,
    counted_fingerprint,
    reason_json,
    record_input,
    risk_input,
)
from credit.scoring import ScoreBreakdown, score_enterprise
from credit.selectors import active_rulebook
from credit.services.blacklist import blacklist_follow_records
from credit.workdays import today_local


def _locked_score_row(enterprise_id: int) -> EnterpriseScore:
    row = EnterpriseScore.objects.select_for_update().filter(pk=enterprise_id).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            EnterpriseScore.objects.create(enterprise_id=enterprise_id)
    except IntegrityError:
        pass  # created concurrently
    return EnterpriseScore.objects.select_for_update().get(pk=enterprise_id)


def breakdown_for(
    *, enterprise_id: int, rulebook: Rulebook, as_of: date
) -> tuple[ScoreBreakdown, list[CreditRecord]]:
    rows = list(CreditRecord.objects.filter(enterprise_id=enterprise_id).only(*RECORD_FIELDS))
    risk = EnterpriseRisk.objects.filter(pk=enterprise_id).first()
    breakdown = score_enterprise(
        records=[record_input(r) for r in rows],
        rulebook=rulebook,
        as_of=as_of,
        risk=risk_input(risk),
    )
    return breakdown, rows


@transaction.atomic
def recompute_enterprise(
    *, enterprise_id: int, as_of: date | None = None
) -> EnterpriseScore | None:
    """Score one enterprise with reasons, follow the blacklist rules, clear its dirty flag.
    Holding the score row locks out concurrent flaggers until this commit (see
    credit.services.enterprise_mark_dirty). None when the enterprise does not exist."""
    enterprise = Enterprise.objects.filter(pk=enterprise_id).first()
    if enterprise is None:
        return None
    row = _locked_score_row(enterprise_id)
    as_of = as_of or today_local()
    active = active_rulebook()
    breakdown, _ = breakdown_for(enterprise_id=enterprise_id, rulebook=active.rulebook, as_of=as_of)
    row.blacklisted = blacklist_follow_records(
        enterprise=enterprise,
        proposal=breakdown.blacklist_proposal,
        basis_ids=list(breakdown.blacklist_record_ids),
        today=as_of,
    )
    row.rule_score = breakdown.rule_score
    row.model_adjustment = breakdown.model_adjustment
    row.score = breakdown.final_score
    row.grade = breakdown.grade
    row.blacklist_proposal = breakdown.blacklist_proposal
    row.has_effective_serious = breakdown.has_effective_serious
    row.tender_benefit_codes = list(breakdown.tender_benefit_codes)
    row.reasons = [reason_json(r) for r in breakdown.reasons]
    row.counted_fingerprint = counted_fingerprint(
        c.record_id for c in breakdown.contributions if c.counted
    )
    row.rulebook_version = active.version
    row.model_version = breakdown.model_version or ""
    row.as_of = as_of
    row.computed_at = timezone.now()
    row.dirty = False
    row.dirty_since = None
    row.save()
    return row
