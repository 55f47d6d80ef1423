"""Keeping EnterpriseScore current: per-enterprise recompute (with reasons), the dirty sweeper,
the vectorised full recompute, and the record status clock (pending → effective → expired)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from backend.audit import SYSTEM_ACTOR, audit_append
from backend.queueing import enqueue_on_commit
from credit.models import (
    CreditRecord,
    Enterprise,
    EnterpriseRisk,
    EnterpriseScore,
    Objection,
    RecordKind,
    RecordStatus,
)
from credit.rulebook import Rulebook
from credit.scoring import (
    SEVERITY_CODE_NONE,
    SEVERITY_CODES,
    STATUS_CODES,
    Reason,
    RecordArrays,
    RecordInput,
    RiskInput,
    ScoreBreakdown,
    bulk_score,
    date_to_day,
    score_enterprise,
)
from credit.selectors import active_rulebook
from credit.services import blacklist_follow_records, today_local

logger = logging.getLogger(__name__)

RECORD_FIELDS = (
    "id",
    "rule_code",
    "kind",
    "severity",
    "points",
    "effective_from",
    "effective_until",
    "status",
    "blacklist",
    "ended_on",
)
# Odd 64-bit multiplier (golden ratio) spreading record ids over the fingerprint space.
_FINGERPRINT_MULTIPLIER = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
DIRTY_BATCH = 500
# The scoring task stores an average line and two reasons of the riskiest compound; a score's
# explanation stays readable with at most this many model lines.
MODEL_REASONS_SHOWN = 3


def record_input(row: CreditRecord) -> RecordInput:
    return RecordInput(
        record_id=row.id,
        rule_code=row.rule_code,
        kind=row.kind,
        severity=row.severity or None,
        points=row.points,
        effective_from=row.effective_from,
        effective_until=row.effective_until,
        status=row.status,
        blacklist=row.blacklist,
        ended_on=row.ended_on,
    )


def risk_input(risk: EnterpriseRisk | None) -> RiskInput | None:
    """The stored estimate with its top reasons, which every published score shows beside the
    model's points (a JSON list of strings; anything else in it is not shown)."""
    if risk is None:
        return None
    reasons = risk.reasons if isinstance(risk.reasons, list) else []
    return RiskInput(
        probability=risk.probability,
        population_mean=risk.population_mean,
        model_version=risk.model_version,
        reasons=tuple(text for text in reasons if isinstance(text, str))[:MODEL_REASONS_SHOWN],
    )


def reason_json(reason: Reason) -> dict:
    return {
        "code": reason.code,
        "text_zh": reason.text_zh,
        "text_en": reason.text_en,
        "points": None if reason.points is None else f"{reason.points:.2f}",
        "ratio": None if reason.ratio is None else f"{reason.ratio:.2f}",
    }


def counted_fingerprint(record_ids) -> int:
    """Order-free fingerprint of a set of record ids (sum of multiplied ids modulo 2**64, as a
    signed 64-bit number). The vectorised recompute computes the same value with numpy."""
    total = sum((int(i) * _FINGERPRINT_MULTIPLIER) & _MASK64 for i in record_ids) & _MASK64
    return total - (1 << 64) if total >= 1 << 63 else total


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


def recompute_dirty(*, limit: int = DIRTY_BATCH) -> int:
    """The sweeper: recompute flagged enterprises (oldest flag first) and enterprises never
    scored. Each in its own transaction, so one failure does not hold back the rest."""
    dirty = list(
        EnterpriseScore.objects.filter(dirty=True)
        .order_by("dirty_since")
        .values_list("enterprise_id", flat=True)[:limit]
    )
    unscored = list(
        Enterprise.objects.filter(credit_score__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[: max(limit - len(dirty), 0)]
    )
    done = 0
    for enterprise_id in dirty + unscored:
        try:
            recompute_enterprise(enterprise_id=enterprise_id)
        except Exception:  # logged and left dirty: the next sweep retries it
            logger.exception("recompute of enterprise %s failed", enterprise_id)
            continue
        done += 1
    return done


@dataclass(frozen=True)
class RecomputeSummary:
    enterprises: int
    refreshed: int
    seconds: float


def _record_arrays(
    enterprise_ids: np.ndarray, rulebook: Rulebook
) -> tuple[RecordArrays, np.ndarray]:
    """RecordArrays straight from database columns, plus the record ids."""
    columns = (
        list(
            zip(
                *CreditRecord.objects.values_list(
                    "id",
                    "enterprise_id",
                    "kind",
                    "points",
                    "severity",
                    "effective_from",
                    "effective_until",
                    "ended_on",
                    "status",
                    "blacklist",
                    "rule_code",
                ).iterator(chunk_size=20000),
                strict=True,
            )
        )
        or [()] * 11
    )
    ids, owners, kinds, points, severities, starts, ends, ended, statuses, black, codes = columns
    benefit_codes = {rule.code for rule in rulebook.good_behaviours if rule.tender_benefit}
    arrays = RecordArrays(
        enterprise_index=np.searchsorted(enterprise_ids, np.array(owners, dtype=np.int64)),
        is_good=np.array([k == RecordKind.GOOD for k in kinds], dtype=bool),
        points_centi=np.array([int(p * 100) for p in points], dtype=np.int64),
        severity=np.array(
            [SEVERITY_CODES.get(s, SEVERITY_CODE_NONE) for s in severities], dtype=np.int8
        ),
        effective_from=np.array([date_to_day(d) for d in starts], dtype=np.int64),
        effective_until=np.array([date_to_day(d) for d in ends], dtype=np.int64),
        ended_on=np.array([date_to_day(d) for d in ended], dtype=np.int64),
        status=np.array([STATUS_CODES[s] for s in statuses], dtype=np.int8),
        blacklist=np.array(black, dtype=bool),
        tender_benefit=np.array([c in benefit_codes for c in codes], dtype=bool),
    )
    return arrays, np.array(ids, dtype=np.int64)


def _bulk_fingerprints(
    arrays: RecordArrays, record_ids: np.ndarray, day: int, n: int
) -> np.ndarray:
    counted = (
        (arrays.status != STATUS_CODES[RecordStatus.PENDING])
        & (arrays.effective_from <= day)
        & (day < arrays.effective_until)
        & (day < arrays.ended_on)
    )
    totals = np.zeros(n, dtype=np.uint64)
    mixed = record_ids[counted].astype(np.uint64) * np.uint64(_FINGERPRINT_MULTIPLIER)
    np.add.at(totals, arrays.enterprise_index[counted], mixed)
    return totals.view(np.int64)


def recompute_all(*, as_of: date | None = None) -> RecomputeSummary:
    """Score every enterprise with `bulk_score` in one vectorised pass, then refresh (with
    reasons, through recompute_enterprise) only the rows whose outcome or counted record set
    differ from what is stored; the rest only get their scoring day moved forward."""
    started = time.monotonic()
    as_of = as_of or today_local()
    active = active_rulebook()
    enterprise_ids = np.array(
        Enterprise.objects.order_by("id").values_list("id", flat=True), dtype=np.int64
    )
    n = len(enterprise_ids)
    arrays, record_ids = _record_arrays(enterprise_ids, active.rulebook)
    probability, mean, model_versions, forced = _risk_arrays(enterprise_ids)
    scores = bulk_score(
        enterprise_ids=enterprise_ids,
        records=arrays,
        rulebook=active.rulebook,
        as_of=as_of,
        risk_probability=probability,
        risk_population_mean=mean,
    )
    fingerprints = _bulk_fingerprints(arrays, record_ids, date_to_day(as_of), n)
    grades = scores.grade_names(active.rulebook)
    stored = {
        row[0]: row[1:]
        for row in EnterpriseScore.objects.values_list(
            "enterprise_id",
            "score",
            "model_adjustment",
            "grade",
            "blacklist_proposal",
            "counted_fingerprint",
            "rulebook_version",
            "model_version",
            "dirty",
        ).iterator(chunk_size=20000)
    }
    stale, fresh = [], []
    for i, enterprise_id in enumerate(enterprise_ids.tolist()):
        expected = (
            Decimal(int(scores.final_score_centi[i])).scaleb(-2),
            Decimal(int(scores.model_adjustment_centi[i])).scaleb(-2),
            str(grades[i]),
            bool(scores.blacklist_proposal[i]),
            int(fingerprints[i]),
            active.version,
            model_versions.get(enterprise_id, ""),
            False,
        )
        if forced[i] or stored.get(enterprise_id) != expected:
            stale.append(enterprise_id)
        else:
            fresh.append(enterprise_id)
    for chunk_start in range(0, len(fresh), 5000):
        EnterpriseScore.objects.filter(pk__in=fresh[chunk_start : chunk_start + 5000]).update(
            as_of=as_of, computed_at=timezone.now()
        )
    for enterprise_id in stale:
        recompute_enterprise(enterprise_id=enterprise_id, as_of=as_of)
    return RecomputeSummary(
        enterprises=n, refreshed=len(stale), seconds=round(time.monotonic() - started, 3)
    )


def _risk_arrays(
    enterprise_ids: np.ndarray,
) -> tuple[np.ndarray | None, float | None, dict[int, str], np.ndarray]:
    """Per-enterprise probabilities for bulk_score, which takes one population mean. Estimates
    made against another mean (an older model run) are left out of the bulk pass and forced
    through the exact per-enterprise recompute instead."""
    n = len(enterprise_ids)
    forced = np.zeros(n, dtype=bool)
    rows = list(
        EnterpriseRisk.objects.values_list(
            "enterprise_id", "probability", "population_mean", "model_version"
        )
    )
    if not rows:
        return None, None, {}, forced
    mean = Counter(row[2] for row in rows).most_common(1)[0][0]
    probability = np.full(n, np.nan)
    positions = np.searchsorted(enterprise_ids, [row[0] for row in rows])
    for position, (_, p, population_mean, _) in zip(positions, rows, strict=True):
        if population_mean == mean:
            probability[position] = p
        else:
            forced[position] = True
    return probability, mean, {row[0]: row[3] for row in rows}, forced


@dataclass(frozen=True)
class ActivationSummary:
    activated: int
    expired: int


def _flag_enterprises(enterprise_ids: set[int]) -> None:
    now = timezone.now()
    EnterpriseScore.objects.filter(pk__in=enterprise_ids, dirty=False).update(
        dirty=True, dirty_since=now
    )
    known = set(EnterpriseScore.objects.filter(pk__in=enterprise_ids).values_list("pk", flat=True))
    EnterpriseScore.objects.bulk_create(
        [EnterpriseScore(enterprise_id=i, dirty_since=now) for i in enterprise_ids - known],
        ignore_conflicts=True,
    )


@transaction.atomic
def activate_due_records(*, today: date | None = None) -> ActivationSummary:
    """Pending records whose window has passed and that have no undecided objection become
    effective; effective records past their period become expired. Idempotent: conditional
    updates on the current status. The enterprises concerned are flagged and the sweeper is
    queued once for all of them."""
    today = today or today_local()
    open_objection = Objection.objects.filter(record=OuterRef("pk"), decision="")
    due = list(
        CreditRecord.objects.select_for_update()
        .filter(status=RecordStatus.PENDING, effective_from__lte=today)
        .exclude(Exists(open_objection))
        .values_list("id", "enterprise_id")
    )
    CreditRecord.objects.filter(pk__in=[i for i, _ in due], status=RecordStatus.PENDING).update(
        status=RecordStatus.EFFECTIVE, updated_at=timezone.now()
    )
    ended = list(
        CreditRecord.objects.select_for_update()
        .filter(status=RecordStatus.EFFECTIVE, effective_until__lte=today)
        .values_list("id", "enterprise_id")
    )
    CreditRecord.objects.filter(pk__in=[i for i, _ in ended], status=RecordStatus.EFFECTIVE).update(
        status=RecordStatus.EXPIRED, updated_at=timezone.now()
    )
    if due or ended:
        _flag_enterprises({e for _, e in due} | {e for _, e in ended})
        audit_append(
            actor=SYSTEM_ACTOR,
            action="credit.records_status_clock",
            object_type="credit_record",
            object_id="batch",
            payload={
                "today": today.isoformat(),
                "effective": sorted(i for i, _ in due),
                "expired": sorted(i for i, _ in ended),
            },
        )
        from credit.tasks import recompute_dirty_task

        # A lost message is harmless: the flags are committed and the sweeper runs every 5 min.
        enqueue_on_commit(recompute_dirty_task)
    return ActivationSummary(activated=len(due), expired=len(ended))


# Past this many flagged enterprises one vectorised pass over all of them (a few seconds for
# 250,000) beats recomputing them one at a time (about a millisecond each, with reasons).
# The nightly risk run flags every enterprise at once.
BULK_RECOMPUTE_THRESHOLD = 5000


@dataclass(frozen=True)
class SweepResult:
    recomputed: int
    more_waiting: bool


def recompute_pending() -> SweepResult:
    """What the `credit.recompute_dirty` task runs: the bulk pass for a flood of flags, else
    one batch of the sweeper; `more_waiting` tells the task to queue itself again."""
    flagged = EnterpriseScore.objects.filter(dirty=True).count()
    if flagged > BULK_RECOMPUTE_THRESHOLD:
        summary = recompute_all()
        return SweepResult(recomputed=summary.refreshed, more_waiting=False)
    done = recompute_dirty(limit=DIRTY_BATCH)
    return SweepResult(recomputed=done, more_waiting=done >= DIRTY_BATCH)
