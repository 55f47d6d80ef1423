"""Inputs from the inspections app: the risk model's estimates (blended into the score at the
next recompute) and the managed scale from management contracts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.audit import SYSTEM_ACTOR, audit_append
from backend.exceptions import Invalid
from backend.queueing import enqueue_on_commit
from credit.models import (
    Enterprise,
    EnterpriseRisk,
    EnterpriseScore,
)
from credit.services.common import enterprise_mark_dirty
from credit.task_names import RECOMPUTE_DIRTY_TASK

ERR_PROBABILITY = "概率须在 0 到 1 之间。"
ERR_DUPLICATE_RISKS = "a scoring run gives each enterprise at most one estimate"


# --- inputs from the inspections app -----------------------------------------------------------


@transaction.atomic
def risk_update(
    *,
    enterprise: Enterprise,
    probability: float,
    population_mean: float,
    model_version: str,
    reasons: list[str],
    live: bool = True,
) -> EnterpriseRisk:
    """Store the model's estimate for blending at the next recompute. Not audited one by one
    (a nightly run touches every enterprise): each snapshot names the model version it used."""
    for value in (probability, population_mean):
        if not 0.0 <= float(value) <= 1.0:
            raise Invalid("invalid_probability", ERR_PROBABILITY)
    risk, _ = EnterpriseRisk.objects.update_or_create(
        enterprise=enterprise,
        defaults={
            "probability": float(probability),
            "population_mean": float(population_mean),
            "model_version": model_version,
            "reasons": list(reasons),
            "live": live,
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
    live: bool = True,
) -> int:
    """`risk_update` for a whole scoring run: upsert every estimate in chunks, flag the
    enterprises dirty in bulk, audit the run once and queue ONE `credit.recompute_dirty` after
    commit (not one recompute per enterprise). Returns the number of estimates stored.

    `withdraw_others`: the run estimated every enterprise that manages a compound (the nightly
    scoring), so an estimate it did not renew belongs to a firm that no longer manages any and
    is deleted — its score loses the model part instead of keeping an old model's opinion of
    compounds it has left.

    `live=False`: the model has not passed the promotion gate; the estimates are stored (the
    model card shows them) but move no score, and each row's reasons are the gate's verdict."""
    probabilities = [float(population_mean), *(float(r.probability) for r in risks)]
    if not all(0.0 <= value <= 1.0 for value in probabilities):
        raise Invalid("invalid_probability", ERR_PROBABILITY)
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
            live=live,
        )
        for risk in risks
    ]
    EnterpriseRisk.objects.bulk_create(
        rows,
        batch_size=RISK_BATCH,
        update_conflicts=True,
        unique_fields=["enterprise"],
        update_fields=[
            "probability",
            "population_mean",
            "model_version",
            "reasons",
            "live",
            "updated_at",
        ],
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
            "live": live,
        },
    )
    # A lost message only delays the blend: the flags are committed and the sweeper runs anyway.
    enqueue_on_commit(RECOMPUTE_DIRTY_TASK)
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
