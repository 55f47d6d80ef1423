"""The archive's rows as the pure scorer takes them (`credit.scoring`), and the stored form of
what it gives back: the one conversion every path uses (the per-firm recompute, the bulk
recompute's reason writer, the tests that compare them)."""

from __future__ import annotations

from credit.models import CreditRecord, EnterpriseRisk
from credit.scoring import Reason, RecordInput, RiskInput

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
FINGERPRINT_MULTIPLIER = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
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
    return RiskInput(
        probability=risk.probability,
        population_mean=risk.population_mean,
        model_version=risk.model_version,
        reasons=risk_reasons(risk.reasons),
        live=risk.live,
    )


def risk_reasons(stored: object) -> tuple[str, ...]:
    reasons = stored if isinstance(stored, list) else []
    return tuple(text for text in reasons if isinstance(text, str))[:MODEL_REASONS_SHOWN]


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
    total = sum((int(i) * FINGERPRINT_MULTIPLIER) & _MASK64 for i in record_ids) & _MASK64
    return total - (1 << 64) if total >= 1 << 63 else total
