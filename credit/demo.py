"""A plausible credit history for demo data (called by `seed_demo`): records through the real
services, a blacklisting by two staff members, monthly back-filled snapshots and today's."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from backend.exceptions import DomainError
from credit.models import Enterprise, RecordSource
from credit.publication import snapshot_publish
from credit.recompute.firm import recompute_enterprise
from credit.rulebook import KIND_GOOD, Rule
from credit.selectors import active_rulebook
from credit.services import blacklist_approve, blacklist_propose, record_create, today_local

# Demo assumptions, not measured figures: about one bad record per firm and year (60 % minor,
# 37 % ordinary, 3 % serious) and one good record every four years, spread by a latent firm
# quality so that the grades range from AAA to C and a few firms meet the blacklist.
BAD_PER_YEAR = 1.0
GOOD_PER_YEAR = 0.25
SERIOUS_SHARE = 0.03
ORDINARY_SHARE = 0.37
SOURCES_BY_RULE = {
    "ADMIN-PENALTY": RecordSource.PENALTY,
    "COMPLAINT-VERIFIED": RecordSource.COMPLAINT,
}


@dataclass(frozen=True)
class DemoCreditSummary:
    records: int
    blacklisted: int
    snapshots: int


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    threshold, count, product = math.exp(-mean), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _pick_violation(rng: random.Random, violations: Sequence[Rule]) -> Rule:
    roll = rng.random()
    if roll < SERIOUS_SHARE:
        severity = "serious"
    elif roll < SERIOUS_SHARE + ORDINARY_SHARE:
        severity = "ordinary"
    else:
        severity = "minor"
    return rng.choice([r for r in violations if r.severity == severity])


def _month_ends(start: date, end: date) -> list[date]:
    days, current = [], date(start.year, start.month, 1)
    while True:
        following = (current + timedelta(days=32)).replace(day=1)
        last = following - timedelta(days=1)
        if last >= end:
            return days
        if last >= start:
            days.append(last)
        current = following


def credit_history_seed(
    *,
    enterprises: Sequence[Enterprise],
    rng: random.Random,
    years: int = 3,
    today: date | None = None,
    reviewer: AbstractBaseUser | None = None,
    approver: AbstractBaseUser | None = None,
) -> DemoCreditSummary:
    """Records over the last `years` years for `enterprises` (decision dates before `today`),
    firms with an effective blacklist record put on the blacklist when two distinct staff users
    are given, then one snapshot per month-end back-filled and one for today. Deterministic
    for a given `rng` seed and database state."""
    today = today or today_local()
    rulebook = active_rulebook().rulebook
    violations, goods = rulebook.violations, rulebook.good_behaviours
    start = today - timedelta(days=365 * years)
    span = (today - start).days
    created = 0
    with transaction.atomic():
        for firm in enterprises:
            quality = rng.lognormvariate(0, 0.6)  # >1: more violations than average
            for _ in range(_poisson(rng, BAD_PER_YEAR * years * quality)):
                rule = _pick_violation(rng, violations)
                _seed_record(firm, rule, start, span, rng, reviewer, serial=created)
                created += 1
            for _ in range(_poisson(rng, GOOD_PER_YEAR * years / quality)):
                _seed_record(firm, rng.choice(goods), start, span, rng, reviewer, serial=created)
                created += 1
    blacklisted = 0
    for firm in enterprises:
        score = recompute_enterprise(enterprise_id=firm.id, as_of=today)
        if score.blacklist_proposal and reviewer and approver and reviewer.pk != approver.pk:
            try:
                blacklist_propose(enterprise=firm, reason="依据生效的严重失信记录", actor=reviewer)
                blacklist_approve(
                    enterprise=firm,
                    authority="住房和城乡建设局",
                    document_no=f"示例黑〔{today.year}〕{blacklisted + 1}号",
                    actor=approver,
                )
            except DomainError as problem:
                # Seeding the same firms again (or firms blacklisted by an earlier run):
                # the entry is already there, which is what this step wants.
                if problem.code not in ("already_blacklisted", "proposal_exists"):
                    raise
                continue
            recompute_enterprise(enterprise_id=firm.id, as_of=today)
            blacklisted += 1
    snapshots = 0
    for day in [*_month_ends(start, today), today]:
        snapshot_publish(actor=reviewer, as_of=day)
        snapshots += 1
    return DemoCreditSummary(records=created, blacklisted=blacklisted, snapshots=snapshots)


def _seed_record(
    firm: Enterprise,
    rule: Rule,
    start: date,
    span: int,
    rng: random.Random,
    actor: AbstractBaseUser | None,
    *,
    serial: int,
) -> None:
    decided = start + timedelta(days=rng.randrange(span))
    if rule.kind == KIND_GOOD:
        source = RecordSource.AWARD
    else:
        source = SOURCES_BY_RULE.get(rule.code, RecordSource.MANUAL)
    record_create(
        enterprise=firm,
        rule_code=rule.code,
        decided_at=decided,
        document_no=f"示例〔{decided.year}〕{rng.randrange(1, 999)}号",
        facts="示例数据。",
        source=source,
        source_ref=f"demo-{firm.uscc}-{serial}",
        actor=actor,
    )
