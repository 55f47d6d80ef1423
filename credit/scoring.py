"""Credit scoring: records + rulebook (+ optional risk estimate) -> explained score and grade.

Pure module (no Django, no models: import-linter keeps it so). Two entry points compute the
same thing, and the tests prove they agree to the hundredth and the reason line:
- ``score_enterprise`` for one enterprise, with every record's contribution and the reasons.
  Called by ``credit.recompute.firm.recompute_enterprise`` (every change, through the dirty
  flag and its sweeper), and by ``credit.publication`` for a firm whose stored row is behind
  the snapshot's cut (the same breakdown the recompute then stores);
- ``bulk_score`` for all enterprises at once on numpy arrays. Called by
  ``credit.recompute.full.recompute_all`` (the nightly pass over the province), whose reason
  lines come from this module's own builders (``base_reason``, ``record_reason``, …).

Who reads the result: nobody calls the scorer to show a number. What the public pages, the
open data and the tender API show is the snapshot entry, and the snapshot copies the stored
``EnterpriseScore`` row (``credit.publication``): one path from the scorer to every published
score. ``tender_terms`` and ``backbone_candidacy`` are the pure rules applied to a published
entry (the tender API) and to a stored score (the backbone candidates list).

Arithmetic: every configured and recorded number has at most 2 decimal places, so the rule part
is computed in exact integer hundredths of a point ("centi-points"). The model part is the only
inexact input; it is computed in float64 with the same operations in both entry points, clipped,
then rounded to hundredths half-to-even (Python ``round`` and ``np.rint`` agree on a float).
Scores therefore come out as Decimals with exactly 2 places and the two entry points agree
exactly. The score has no lower bound: a firm can fall below 0 and the grade is then C anyway.

The model never decides the blacklist: the blacklist proposal and the effective-serious flag
are computed from records only, so no risk estimate can move a firm across the blacklist line.
"""

from __future__ import annotations

import calendar
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from credit.rulebook import KIND_BAD, KIND_GOOD, SEVERITIES, SEVERITY_SERIOUS, Rulebook
from ml.features import DEFAULT_HORIZON_DAYS as MODEL_HORIZON_DAYS

STATUS_PENDING = "pending"
STATUS_EFFECTIVE = "effective"
STATUS_EXPIRED = "expired"
STATUS_REVOKED = "revoked"
STATUS_REPAIRED = "repaired"
RECORD_STATUSES = (
    STATUS_PENDING,
    STATUS_EFFECTIVE,
    STATUS_EXPIRED,
    STATUS_REVOKED,
    STATUS_REPAIRED,
)
# Statuses that end a record early; the decision date (ended_on) is when it stops counting.
ENDED_STATUSES = frozenset({STATUS_REVOKED, STATUS_REPAIRED})

# Why a record does or does not count on the scoring day (RecordContribution.reason).
COUNTED = "counted"
NOT_COUNTED_PENDING = "pending"
NOT_COUNTED_NOT_YET_EFFECTIVE = "not_yet_effective"
NOT_COUNTED_PERIOD_ENDED = "period_ended"
NOT_COUNTED_REVOKED = STATUS_REVOKED
NOT_COUNTED_REPAIRED = STATUS_REPAIRED

# Codes of the arrays taken by bulk_score.
STATUS_CODES = {status: code for code, status in enumerate(RECORD_STATUSES)}
SEVERITY_CODE_NONE = 0  # good records
SEVERITY_CODES = {severity: code for code, severity in enumerate(SEVERITIES, start=1)}
# "No date" in day arrays: later than any scoring day, so an unset start never begins and an
# unset end never ends.
DAY_NONE = np.iinfo(np.int64).max
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

CENTS_PER_POINT = 100

MSG_UNKNOWN_KIND = "kind must be 'bad' or 'good', got {value!r}"
MSG_UNKNOWN_STATUS = "status must be one of " + ", ".join(RECORD_STATUSES) + ", got {value!r}"
MSG_BAD_SEVERITY = "a bad record needs a severity of minor, ordinary or serious, got {value!r}"
MSG_GOOD_SEVERITY = "a good record has no severity, got {value!r}"
MSG_GOOD_BLACKLIST = "a good record cannot lead to the blacklist"
MSG_POINTS = "points must be a positive int or Decimal with at most 2 decimal places, got {value!r}"
MSG_PERIOD_PAIR = "effective_from and effective_until are both set or both None"
MSG_PERIOD_ORDER = "effective_until must be after effective_from"
MSG_ENDED_ON_REQUIRED = "a {status} record needs ended_on, the date of the decision"
MSG_PROBABILITY = "{name} must be a probability between 0 and 1, got {value!r}"
MSG_UNKNOWN_GRADE = "unknown grade {value!r}; the rulebook's grades are {grades}"
MSG_ARRAY_LENGTHS = "record arrays must all have the same length"
MSG_ENTERPRISE_INDEX = "record enterprise_index must lie in [0, number of enterprises)"
MSG_ARRAY_POINTS = "record points_centi must all be positive"
MSG_RISK_SHAPE = "risk_probability must have one value per enterprise"
MSG_RISK_MEAN = "risk_population_mean is required with risk_probability"


@dataclass(frozen=True)
class RecordInput:
    """One credit record as the scorer sees it.

    A record counts on day ``as_of`` iff its status is not pending, it has a period and
    ``effective_from <= as_of < effective_until`` (exclusive end), and, if it carries
    ``ended_on`` (required for revoked and repaired records), ``as_of < ended_on``.
    "expired" is only a label for a record past its period: it still counts on earlier days,
    so that history can be recomputed.
    """

    record_id: Hashable
    rule_code: str
    kind: str
    severity: str | None
    points: Decimal | int  # positive; a bad record deducts it, a good one adds it
    effective_from: date | None  # None while pending
    effective_until: date | None  # exclusive; effective_from + the rule's months
    status: str
    blacklist: bool = False
    ended_on: date | None = None

    def __post_init__(self) -> None:
        problems = _record_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def points_centi(self) -> int:
        return int(Decimal(self.points) * CENTS_PER_POINT)


@dataclass(frozen=True)
class RiskInput:
    # Calibrated probability that an inspection finds an ordinary or serious violation at one of
    # the enterprise's compounds within the next MODEL_HORIZON_DAYS (the risk model's label).
    probability: float
    population_mean: float  # p_ref: mean probability over all scored enterprises
    model_version: str
    reasons: tuple[str, ...] = ()  # the model's own top reasons, plain Chinese
    # False while the model has not passed the promotion gate (ml.gate): it moves no score, and
    # `reasons` then holds the gate's one-sentence verdict.
    live: bool = True

    def __post_init__(self) -> None:
        for name in ("probability", "population_mean"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(MSG_PROBABILITY.format(name=name, value=value))


@dataclass(frozen=True)
class Reason:
    """One line of an explanation; ``points`` or ``ratio`` when the line moves a number."""

    code: str
    text_zh: str
    text_en: str
    points: Decimal | None = None
    ratio: Decimal | None = None


@dataclass(frozen=True)
class RecordContribution:
    record_id: Hashable
    rule_code: str
    points: Decimal  # signed nominal points: negative for bad records
    counted: bool
    reason: str  # COUNTED or one of the NOT_COUNTED_* codes


@dataclass(frozen=True)
class ScoreBreakdown:
    as_of: date
    rulebook_version: str
    base_score: Decimal
    bad_points: Decimal  # total deducted, positive
    good_points: Decimal  # total added after the bonus cap
    good_points_uncapped: Decimal
    rule_score: Decimal
    model_adjustment: Decimal
    model_version: str | None
    final_score: Decimal
    grade: str
    grade_floor_applied: bool
    has_effective_bad: bool
    has_effective_serious: bool
    blacklist_proposal: bool
    blacklist_record_ids: tuple[Hashable, ...]
    tender_benefit_codes: tuple[str, ...]
    contributions: tuple[RecordContribution, ...]
    reasons: tuple[Reason, ...]  # the points of the reasons add up to final_score


@dataclass(frozen=True)
class TenderTerms:
    eligible: bool
    bonus_points: Decimal
    deposit_reduction_ratio: Decimal
    reasons: tuple[Reason, ...]  # their points and ratios add up to the two totals


@dataclass(frozen=True)
class BackboneCandidacy:
    candidate: bool
    reasons: tuple[Reason, ...]  # the unmet criteria; empty for a candidate


@dataclass(frozen=True)
class RecordArrays:
    """Records of many enterprises as parallel arrays (one element per record)."""

    enterprise_index: np.ndarray  # int64, position in bulk_score's enterprise_ids
    is_good: np.ndarray  # bool
    points_centi: np.ndarray  # int64, positive hundredths of a point
    severity: np.ndarray  # int8, SEVERITY_CODES or SEVERITY_CODE_NONE
    effective_from: np.ndarray  # int64 days since 1970-01-01, DAY_NONE when unset
    effective_until: np.ndarray  # int64 days, exclusive, DAY_NONE when unset
    ended_on: np.ndarray  # int64 days, DAY_NONE when unset
    status: np.ndarray  # int8, STATUS_CODES
    blacklist: np.ndarray  # bool
    tender_benefit: np.ndarray  # bool: the record's rule carries a tender benefit


@dataclass(frozen=True)
class BulkScores:
    """Scores of many enterprises; element i belongs to enterprise_ids[i].

    Scores are int64 hundredths of a point (exact); ``grade`` holds positions in
    ``rulebook.grade_names`` (default rulebook: 0 AAA, 1 AA, 2 A, 3 B, 4 C).
    """

    enterprise_ids: np.ndarray
    rule_score_centi: np.ndarray
    model_adjustment_centi: np.ndarray
    final_score_centi: np.ndarray
    grade: np.ndarray  # int8
    has_effective_bad: np.ndarray
    has_effective_serious: np.ndarray
    blacklist_proposal: np.ndarray
    tender_benefit: np.ndarray

    @property
    def final_score(self) -> np.ndarray:
        return self.final_score_centi / CENTS_PER_POINT

    def grade_names(self, rulebook: Rulebook) -> np.ndarray:
        return np.asarray(rulebook.grade_names)[self.grade]


def record_period_end(effective_from: date, months: int) -> date:
    """Exclusive end of a publication period: same day ``months`` later, clamped to month end."""
    month_index = effective_from.month - 1 + months
    year = effective_from.year + month_index // 12
    month = month_index % 12 + 1
    day = min(effective_from.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def date_to_day(value: date | None) -> int:
    """Day number used in RecordArrays; DAY_NONE for no date."""
    return DAY_NONE if value is None else value.toordinal() - EPOCH_ORDINAL


def record_count_reason(record: RecordInput, as_of: date) -> str:
    """COUNTED if the record counts on as_of, else why not."""
    if record.status == STATUS_PENDING:
        return NOT_COUNTED_PENDING
    if record.ended_on is not None and as_of >= record.ended_on:
        return record.status if record.status in ENDED_STATUSES else NOT_COUNTED_PERIOD_ENDED
    if record.effective_from is None or as_of < record.effective_from:
        return NOT_COUNTED_NOT_YET_EFFECTIVE
    if as_of >= record.effective_until:
        return NOT_COUNTED_PERIOD_ENDED
    return COUNTED


def score_enterprise(
    *,
    records: Iterable[RecordInput],
    rulebook: Rulebook,
    as_of: date,
    risk: RiskInput | None = None,
) -> ScoreBreakdown:
    records = tuple(records)
    reasons_by_record = [record_count_reason(record, as_of) for record in records]
    counted = [r for r, why in zip(records, reasons_by_record, strict=True) if why == COUNTED]
    bad = [r for r in counted if r.kind == KIND_BAD]
    good = [r for r in counted if r.kind == KIND_GOOD]

    base_c = to_centi(rulebook.base_score)
    bad_c = sum(r.points_centi for r in bad)
    good_uncapped_c = sum(r.points_centi for r in good)
    good_c = min(good_uncapped_c, to_centi(rulebook.bonus_cap))
    rule_c = base_c - bad_c + good_c

    has_serious = any(r.severity == SEVERITY_SERIOUS for r in bad)
    model_c = 0
    if risk is not None and risk.live:
        model_c = model_adjustment_centi(
            probability=risk.probability,
            population_mean=risk.population_mean,
            rulebook=rulebook,
            has_effective_serious=has_serious,
        )
    final_c = rule_c + model_c
    band_index = grade_index_for(final_c, rulebook)
    grade_index = grade_index_with_floor(band_index, has_effective_bad=bool(bad), rulebook=rulebook)
    blacklist_ids = tuple(r.record_id for r in bad if r.blacklist)
    benefit_codes = _tender_benefit_codes(good, rulebook)

    reasons = [base_reason(base_c)]
    reasons += [record_reason(r, rulebook) for r in counted]
    if good_c < good_uncapped_c:
        reasons.append(bonus_cap_reason(rulebook, excess_c=good_uncapped_c - good_c))
    if risk is not None:
        reasons += model_reasons(risk, model_c, has_serious=has_serious, rulebook=rulebook)
    if grade_index != band_index:
        reasons.append(grade_floor_reason(rulebook))
    if blacklist_ids:
        reasons.append(blacklist_proposal_reason())

    return ScoreBreakdown(
        as_of=as_of,
        rulebook_version=rulebook.version,
        base_score=_points(base_c),
        bad_points=_points(bad_c),
        good_points=_points(good_c),
        good_points_uncapped=_points(good_uncapped_c),
        rule_score=_points(rule_c),
        model_adjustment=_points(model_c),
        model_version=risk.model_version if risk is not None else None,
        final_score=_points(final_c),
        grade=rulebook.grade_names[grade_index],
        grade_floor_applied=grade_index != band_index,
        has_effective_bad=bool(bad),
        has_effective_serious=has_serious,
        blacklist_proposal=bool(blacklist_ids),
        blacklist_record_ids=blacklist_ids,
        tender_benefit_codes=benefit_codes,
        contributions=tuple(
            RecordContribution(
                record_id=r.record_id,
                rule_code=r.rule_code,
                points=_signed_points(r),
                counted=why == COUNTED,
                reason=why,
            )
            for r, why in zip(records, reasons_by_record, strict=True)
        ),
        reasons=tuple(reasons),
    )


def model_adjustment_centi(
    *,
    probability: float,
    population_mean: float,
    rulebook: Rulebook,
    has_effective_serious: bool,
) -> int:
    """clip(w * (p_ref - p), -cap, +cap) in hundredths; never positive with a serious record."""
    weight, cap = float(rulebook.model.weight), float(rulebook.model.cap)
    clipped = min(max(weight * (population_mean - probability), -cap), cap)
    adjustment = round(clipped * CENTS_PER_POINT)
    return min(adjustment, 0) if has_effective_serious else adjustment


def grade_index_for(score_centi: int, rulebook: Rulebook) -> int:
    """Position in rulebook.grade_names of the first band whose minimum the score reaches.

    The parser guarantees the last band has no minimum, so some band always matches.
    """
    return next(
        index
        for index, band in enumerate(rulebook.grade_bands)
        if band.min_score is None or score_centi >= to_centi(band.min_score)
    )


def grade_index_with_floor(band_index: int, *, has_effective_bad: bool, rulebook: Rulebook) -> int:
    """A firm with no effective bad record is never graded below the rulebook's floor grade."""
    if has_effective_bad:
        return band_index
    return min(band_index, rulebook.grade_code(rulebook.clean_floor_grade))


def tender_terms(
    *,
    grade: str,
    score: Decimal,
    blacklisted: bool,
    is_backbone: bool,
    tender_benefit_codes: Iterable[str],
    project_area_m2: Decimal | float | int | None,
    project_type: str | None,
    rulebook: Rulebook,
) -> TenderTerms:
    """Bonus points and credit-deposit reduction for one bid (clause 十七).

    ``tender_benefit_codes``: codes of the firm's effective good records; only those whose rule
    carries a tender benefit count, and the benefit is granted once however many there are.
    """
    config = rulebook.tender
    if grade not in config.grade_points:
        raise ValueError(MSG_UNKNOWN_GRADE.format(value=grade, grades=rulebook.grade_names))
    if blacklisted:
        return TenderTerms(
            eligible=False,
            bonus_points=_points(0),
            deposit_reduction_ratio=_points(0),
            reasons=(
                Reason("blacklisted", "已列入黑名单，不得参与投标", "Blacklisted: may not bid"),
            ),
        )
    reasons = [
        Reason(
            "grade",
            f"信用等级 {grade}（{score} 分）",
            f"Credit grade {grade} (score {score})",
            points=_two_places(config.grade_points[grade]),
        )
    ]
    if is_backbone and _is_backbone_project(project_area_m2, project_type, rulebook):
        reasons += _backbone_reasons(rulebook)
    benefit_codes = sorted(
        {code for code in tender_benefit_codes if _carries_tender_benefit(code, rulebook)}
    )
    if benefit_codes:
        reasons += _benefit_reasons(benefit_codes, rulebook)
    ratio = _total(r.ratio for r in reasons)
    if ratio > config.max_deposit_reduction:
        reasons.append(_reduction_cap_reason(config.max_deposit_reduction - ratio, rulebook))
    return TenderTerms(
        eligible=True,
        bonus_points=_total(r.points for r in reasons),
        deposit_reduction_ratio=_total(r.ratio for r in reasons),
        reasons=tuple(reasons),
    )


def backbone_candidacy(
    *,
    managed_area_m2: Decimal | int,
    project_count: int,
    grade: str,
    has_effective_serious: bool,
    blacklisted: bool,
    rulebook: Rulebook,
) -> BackboneCandidacy:
    """Whether to propose a firm as backbone (骨干企业): scale, grade, no serious record (十七)."""
    config = rulebook.backbone_candidate
    unmet = []
    if (
        Decimal(managed_area_m2) < config.min_managed_area_m2
        and project_count < config.min_project_count
    ):
        unmet.append(
            Reason(
                "scale_too_small",
                f"在管面积不足 {config.min_managed_area_m2} 平方米且项目少于 "
                f"{config.min_project_count} 个",
                f"Managed area under {config.min_managed_area_m2} m² and fewer than "
                f"{config.min_project_count} projects",
            )
        )
    if rulebook.grade_code(grade) > rulebook.grade_code(config.min_grade):
        unmet.append(
            Reason(
                "grade_below_minimum",
                f"信用等级低于 {config.min_grade}",
                f"Credit grade below {config.min_grade}",
            )
        )
    if config.exclude_effective_serious and has_effective_serious:
        unmet.append(
            Reason(
                "effective_serious_record",
                "有生效的严重失信记录",
                "Has an effective serious record",
            )
        )
    if blacklisted:
        unmet.append(Reason("blacklisted", "已列入黑名单", "Blacklisted"))
    return BackboneCandidacy(candidate=not unmet, reasons=tuple(unmet))


def records_to_arrays(
    *, records_by_enterprise: Sequence[Sequence[RecordInput]], rulebook: Rulebook
) -> RecordArrays:
    """RecordArrays from per-enterprise RecordInput lists (a Python loop: for tests and small sets;
    a bulk recompute should fill the arrays straight from database columns)."""
    rows = [
        (index, record) for index, records in enumerate(records_by_enterprise) for record in records
    ]
    return RecordArrays(
        enterprise_index=np.array([i for i, _ in rows], dtype=np.int64),
        is_good=np.array([r.kind == KIND_GOOD for _, r in rows], dtype=bool),
        points_centi=np.array([r.points_centi for _, r in rows], dtype=np.int64),
        severity=np.array(
            [SEVERITY_CODES.get(r.severity, SEVERITY_CODE_NONE) for _, r in rows], dtype=np.int8
        ),
        effective_from=np.array([date_to_day(r.effective_from) for _, r in rows], dtype=np.int64),
        effective_until=np.array([date_to_day(r.effective_until) for _, r in rows], dtype=np.int64),
        ended_on=np.array([date_to_day(r.ended_on) for _, r in rows], dtype=np.int64),
        status=np.array([STATUS_CODES[r.status] for _, r in rows], dtype=np.int8),
        blacklist=np.array([r.blacklist for _, r in rows], dtype=bool),
        tender_benefit=np.array(
            [_carries_tender_benefit(r.rule_code, rulebook) for _, r in rows], dtype=bool
        ),
    )


def counted_mask(records: RecordArrays, day: int) -> np.ndarray:
    """Which records count on `day` (days since the epoch): record_count_reason's rule, for
    all records at once."""
    return (
        (records.status != STATUS_CODES[STATUS_PENDING])
        & (records.effective_from <= day)
        & (day < records.effective_until)
        & (day < records.ended_on)
    )


def bulk_score(
    *,
    enterprise_ids: np.ndarray,
    records: RecordArrays,
    rulebook: Rulebook,
    as_of: date,
    risk_probability: np.ndarray | None = None,
    risk_population_mean: float | None = None,
) -> BulkScores:
    """score_enterprise for every enterprise at once, without a Python loop over records.

    ``risk_probability`` holds one probability per enterprise, NaN where the model has none
    (adjustment 0, as with no model).
    """
    n = len(enterprise_ids)
    _check_arrays(records, n, risk_probability, risk_population_mean)
    day = date_to_day(as_of)
    index = records.enterprise_index
    counted = counted_mask(records, day)
    bad = counted & ~records.is_good
    good = counted & records.is_good

    bad_c = _sum_by_enterprise(index, records.points_centi, bad, n)
    good_c = np.minimum(
        _sum_by_enterprise(index, records.points_centi, good, n), to_centi(rulebook.bonus_cap)
    )
    rule_c = to_centi(rulebook.base_score) - bad_c + good_c
    # Points are positive, so "has a counted record" is "sums to more than 0".
    has_bad = bad_c > 0
    serious = bad & (records.severity == SEVERITY_CODES[SEVERITY_SERIOUS])
    has_serious = _any_by_enterprise(index, serious, n)

    model_c = _bulk_model_adjustment_centi(
        risk_probability, risk_population_mean, has_serious, rulebook, n
    )
    final_c = rule_c + model_c
    return BulkScores(
        enterprise_ids=enterprise_ids,
        rule_score_centi=rule_c,
        model_adjustment_centi=model_c,
        final_score_centi=final_c,
        grade=_bulk_grades(final_c, has_bad, rulebook),
        has_effective_bad=has_bad,
        has_effective_serious=has_serious,
        blacklist_proposal=_any_by_enterprise(index, bad & records.blacklist, n),
        tender_benefit=_any_by_enterprise(index, good & records.tender_benefit, n),
    )


def _record_problems(record: RecordInput) -> list[str]:
    problems = []
    if record.kind not in (KIND_BAD, KIND_GOOD):
        problems.append(MSG_UNKNOWN_KIND.format(value=record.kind))
    if record.kind == KIND_BAD and record.severity not in SEVERITIES:
        problems.append(MSG_BAD_SEVERITY.format(value=record.severity))
    if record.kind == KIND_GOOD and record.severity is not None:
        problems.append(MSG_GOOD_SEVERITY.format(value=record.severity))
    if record.kind == KIND_GOOD and record.blacklist:
        problems.append(MSG_GOOD_BLACKLIST)
    if not _is_valid_points(record.points):
        problems.append(MSG_POINTS.format(value=record.points))
    if record.status not in RECORD_STATUSES:
        problems.append(MSG_UNKNOWN_STATUS.format(value=record.status))
    if record.status in ENDED_STATUSES and record.ended_on is None:
        problems.append(MSG_ENDED_ON_REQUIRED.format(status=record.status))
    if (record.effective_from is None) != (record.effective_until is None):
        problems.append(MSG_PERIOD_PAIR)
    elif record.effective_from is not None and record.effective_until <= record.effective_from:
        problems.append(MSG_PERIOD_ORDER)
    return problems


def _is_valid_points(points: object) -> bool:
    if isinstance(points, bool) or not isinstance(points, int | Decimal):
        return False
    value = Decimal(points)
    return value.is_finite() and value > 0 and value == value.quantize(Decimal("0.01"))


def to_centi(value: Decimal | int) -> int:
    """Exact hundredths of a configured number (the parser allows at most 2 decimal places)."""
    return int(Decimal(value) * CENTS_PER_POINT)


def _points(centi: int) -> Decimal:
    return Decimal(int(centi)).scaleb(-2)


def _two_places(value: Decimal) -> Decimal:
    return _points(to_centi(value))


def _total(values: Iterable[Decimal | None]) -> Decimal:
    return _two_places(sum((v for v in values if v is not None), Decimal(0)))


def _signed_points(record: RecordInput) -> Decimal:
    sign = -1 if record.kind == KIND_BAD else 1
    return _points(sign * record.points_centi)


def _carries_tender_benefit(rule_code: str, rulebook: Rulebook) -> bool:
    rule = rulebook.rule(rule_code)
    return rule is not None and rule.tender_benefit


def _tender_benefit_codes(good: Sequence[RecordInput], rulebook: Rulebook) -> tuple[str, ...]:
    return tuple(
        sorted({r.rule_code for r in good if _carries_tender_benefit(r.rule_code, rulebook)})
    )


def _rule_titles(rule_code: str, rulebook: Rulebook) -> tuple[str, str]:
    # A record may outlive its rule in a newer rulebook; its code then stands in for the title.
    rule = rulebook.rule(rule_code)
    return (rule.title_zh, rule.title_en) if rule is not None else (rule_code, rule_code)


def base_reason(base_c: int) -> Reason:
    return Reason("base_score", "基础分", "Base score", points=_points(base_c))


def record_reason(record: RecordInput, rulebook: Rulebook) -> Reason:
    title_zh, title_en = _rule_titles(record.rule_code, rulebook)
    code = "bad_record" if record.kind == KIND_BAD else "good_record"
    return Reason(
        code,
        f"{title_zh}（{record.rule_code}）",
        f"{title_en} ({record.rule_code})",
        points=_signed_points(record),
    )


def bonus_cap_reason(rulebook: Rulebook, *, excess_c: int) -> Reason:
    return Reason(
        "bonus_cap",
        f"加分合计以 {rulebook.bonus_cap} 分为上限",
        f"Bonus points are capped at {rulebook.bonus_cap} in total",
        points=_points(-excess_c),
    )


def model_reasons(
    risk: RiskInput, model_c: int, *, has_serious: bool, rulebook: Rulebook
) -> list[Reason]:
    """The model line with its points, the serious-record rule when it held the lift back, then
    the model's own reasons (why this probability). A model that is not live gives one line:
    its part is 0, and why."""
    if not risk.live:
        return [not_live_reason(risk.reasons)]
    reasons = [
        Reason(
            "model_adjustment",
            f"风险模型 {risk.model_version}：未来{MODEL_HORIZON_DAYS}天内被查出一般或严重违规的"
            f"概率 {risk.probability:.1%}，全体平均 {risk.population_mean:.1%}"
            f"（调整上限 ±{rulebook.model.cap} 分）",
            f"Risk model {risk.model_version}: probability of an ordinary or serious violation "
            f"found within the next {MODEL_HORIZON_DAYS} days {risk.probability:.1%}, "
            f"population mean {risk.population_mean:.1%} (capped at ±{rulebook.model.cap})",
            points=_points(model_c),
        )
    ]
    if has_serious and risk.probability < risk.population_mean:
        reasons.append(
            Reason(
                "model_no_lift_with_serious_record",
                "存在生效的严重失信记录，模型不予加分",
                "An effective serious record: the model may not raise the score",
            )
        )
    reasons += [
        Reason("model_reason", f"风险模型：{text}", f"Risk model factor: {text}")
        for text in risk.reasons
    ]
    return reasons


def not_live_reason(verdict: Sequence[str]) -> Reason:
    why = "；".join(verdict) if verdict else "尚无通过检验的风险模型"
    return Reason(
        "model_not_live",
        f"风险模型未计入信用分，模型调整 0 分：{why}",
        "The risk model is not used in scores (model part 0): it has not yet been shown to beat "
        "simple rankings on a later period",
        points=_points(0),
    )


def grade_floor_reason(rulebook: Rulebook) -> Reason:
    floor = rulebook.clean_floor_grade
    return Reason(
        "grade_floor",
        f"无生效的不良记录，等级不低于 {floor}",
        f"No effective bad record: grade is at least {floor}",
    )


def blacklist_proposal_reason() -> Reason:
    return Reason(
        "blacklist_proposal",
        "存在可列入黑名单的生效严重失信记录，建议列入黑名单（需审批）",
        "An effective serious record that leads to the blacklist: proposed for approval",
    )


def _is_backbone_project(
    project_area_m2: Decimal | float | int | None, project_type: str | None, rulebook: Rulebook
) -> bool:
    config = rulebook.tender
    if project_area_m2 is None:
        return False
    if config.backbone_project_types is not None and project_type not in (
        config.backbone_project_types
    ):
        return False
    return Decimal(str(project_area_m2)) >= config.backbone_min_project_area_m2


def _backbone_reasons(rulebook: Rulebook) -> list[Reason]:
    config = rulebook.tender
    area = f"{config.backbone_min_project_area_m2:,}"
    return [
        Reason(
            "backbone_points",
            f"骨干企业参与 {area} 平方米以上项目投标加分",
            f"Backbone enterprise bidding for a project of at least {area} m²",
            points=_two_places(config.backbone_points),
        ),
        Reason(
            "backbone_deposit_reduction",
            "骨干企业承接项目减免信用保证金",
            "Backbone enterprise: credit-deposit reduction",
            ratio=_two_places(config.backbone_deposit_reduction),
        ),
    ]


def _benefit_reasons(codes: Sequence[str], rulebook: Rulebook) -> list[Reason]:
    config = rulebook.tender
    titles_zh = "、".join(_rule_titles(code, rulebook)[0] for code in codes)
    titles_en = "; ".join(_rule_titles(code, rulebook)[1] for code in codes)
    return [
        Reason(
            "benefit_points",
            f"{titles_zh}：适当加分",
            f"{titles_en}: bonus points",
            points=_two_places(config.benefit_points),
        ),
        Reason(
            "benefit_deposit_reduction",
            f"{titles_zh}：减免信用保证金",
            f"{titles_en}: credit-deposit reduction",
            ratio=_two_places(config.benefit_deposit_reduction),
        ),
    ]


def _reduction_cap_reason(negative_excess: Decimal, rulebook: Rulebook) -> Reason:
    maximum = rulebook.tender.max_deposit_reduction
    return Reason(
        "deposit_reduction_cap",
        f"信用保证金减免合计不超过 {maximum:.0%}",
        f"Credit-deposit reductions do not add beyond {maximum:.0%}",
        ratio=negative_excess,
    )


def _check_arrays(
    records: RecordArrays,
    n: int,
    risk_probability: np.ndarray | None,
    risk_population_mean: float | None,
) -> None:
    length = len(records.enterprise_index)
    if any(len(getattr(records, name)) != length for name in RecordArrays.__dataclass_fields__):
        raise ValueError(MSG_ARRAY_LENGTHS)
    if length and (records.enterprise_index.min() < 0 or records.enterprise_index.max() >= n):
        raise ValueError(MSG_ENTERPRISE_INDEX)
    if length and records.points_centi.min() <= 0:
        raise ValueError(MSG_ARRAY_POINTS)
    if risk_probability is not None:
        if len(risk_probability) != n:
            raise ValueError(MSG_RISK_SHAPE)
        if risk_population_mean is None:
            raise ValueError(MSG_RISK_MEAN)


def _sum_by_enterprise(
    index: np.ndarray, values: np.ndarray, mask: np.ndarray, n: int
) -> np.ndarray:
    # bincount sums in float64, exact for integer totals below 2**53 hundredths.
    totals = np.bincount(index[mask], weights=values[mask], minlength=n)
    return totals.astype(np.int64)


def _any_by_enterprise(index: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(index[mask], minlength=n) > 0


def _bulk_model_adjustment_centi(
    probability: np.ndarray | None,
    population_mean: float | None,
    has_serious: np.ndarray,
    rulebook: Rulebook,
    n: int,
) -> np.ndarray:
    if probability is None:
        return np.zeros(n, dtype=np.int64)
    # Same float operations as model_adjustment_centi, so both round identically.
    weight, cap = float(rulebook.model.weight), float(rulebook.model.cap)
    clipped = np.clip(weight * (population_mean - probability.astype(np.float64)), -cap, cap)
    adjustment = np.rint(np.nan_to_num(clipped, nan=0.0) * CENTS_PER_POINT).astype(np.int64)
    return np.where(has_serious, np.minimum(adjustment, 0), adjustment)


def _bulk_grades(final_c: np.ndarray, has_bad: np.ndarray, rulebook: Rulebook) -> np.ndarray:
    # Count the band minimums the score misses: bands are best first, so that count is the
    # position of the first band reached.
    grade = np.zeros(len(final_c), dtype=np.int8)
    for band in rulebook.grade_bands:
        if band.min_score is not None:
            grade += final_c < to_centi(band.min_score)
    floor = rulebook.grade_code(rulebook.clean_floor_grade)
    return np.where(has_bad, grade, np.minimum(grade, floor)).astype(np.int8)
