from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.rulebook import default_rulebook_data, load_default_rulebook, parse_rulebook
from credit.scoring import (
    COUNTED,
    DAY_NONE,
    NOT_COUNTED_NOT_YET_EFFECTIVE,
    NOT_COUNTED_PENDING,
    NOT_COUNTED_PERIOD_ENDED,
    NOT_COUNTED_REVOKED,
    RECORD_STATUSES,
    SEVERITY_CODE_NONE,
    SEVERITY_CODES,
    STATUS_CODES,
    RecordArrays,
    RecordInput,
    RiskInput,
    backbone_candidacy,
    bulk_score,
    date_to_day,
    record_period_end,
    records_to_arrays,
    score_enterprise,
    tender_terms,
)

RULEBOOK = load_default_rulebook()
START = date(2024, 1, 1)
AS_OF = date(2024, 6, 1)
RECENT = date(2024, 5, 1)  # within even a 3-month period on AS_OF
ENDED = ("revoked", "repaired")


def record(
    rule_code,
    *,
    record_id=1,
    status="effective",
    effective_from=START,
    ended_on=None,
    points=None,
    rulebook=RULEBOOK,
):
    rule = rulebook.rule(rule_code)
    return RecordInput(
        record_id=record_id,
        rule_code=rule_code,
        kind=rule.kind,
        severity=rule.severity,
        points=rule.points if points is None else points,
        effective_from=effective_from,
        effective_until=(
            None if effective_from is None else record_period_end(effective_from, rule.months)
        ),
        status=status,
        blacklist=rule.blacklist,
        ended_on=ended_on,
    )


def score(*records, risk=None, as_of=AS_OF, rulebook=RULEBOOK):
    return score_enterprise(records=records, rulebook=rulebook, as_of=as_of, risk=risk)


def rulebook_with(**changes):
    data = default_rulebook_data()
    for path, value in changes.items():
        *parents, key = path.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        target[key] = value
    return parse_rulebook(data)


def centi(value):
    return int(value * 100)


# --- worked examples -------------------------------------------------------------------------


def test_clean_firm_scores_the_base_and_grade_a():
    breakdown = score()

    assert (breakdown.final_score, breakdown.grade) == (Decimal("100.00"), "A")
    assert breakdown.rule_score == breakdown.final_score
    assert breakdown.model_adjustment == 0
    assert not breakdown.blacklist_proposal


def test_one_effective_unlisted_fee_leaves_grade_a_at_90():
    breakdown = score(record("FEE-UNLISTED"))

    assert (breakdown.final_score, breakdown.grade) == (Decimal("90.00"), "A")
    assert breakdown.bad_points == Decimal("10.00")


def test_two_effective_unlisted_fees_fall_to_grade_b_at_80():
    breakdown = score(record("FEE-UNLISTED", record_id=1), record("FEE-UNLISTED", record_id=2))

    assert (breakdown.final_score, breakdown.grade) == (Decimal("80.00"), "B")


def test_effective_abandonment_proposes_the_blacklist():
    breakdown = score(
        record("ABANDON", record_id=7), record("SANITATION", record_id=8, effective_from=RECENT)
    )

    assert breakdown.blacklist_proposal
    assert breakdown.blacklist_record_ids == (7,)
    assert breakdown.has_effective_serious
    assert (breakdown.final_score, breakdown.grade) == (Decimal("58.00"), "C")
    assert "blacklist_proposal" in [reason.code for reason in breakdown.reasons]


def test_record_past_its_months_has_no_effect():
    fee = record("FEE-UNLISTED", effective_from=date(2023, 1, 1))

    last_day = score(fee, as_of=date(2023, 12, 31))
    after = score(fee, as_of=date(2024, 1, 1))

    assert last_day.final_score == Decimal("90.00")
    assert after.final_score == Decimal("100.00")
    assert after.contributions[0].reason == NOT_COUNTED_PERIOD_ENDED
    assert not after.contributions[0].counted


def test_pending_record_has_no_effect():
    breakdown = score(record("ABANDON", status="pending", effective_from=None))

    assert (breakdown.final_score, breakdown.grade) == (Decimal("100.00"), "A")
    assert not breakdown.blacklist_proposal
    assert breakdown.contributions[0].reason == NOT_COUNTED_PENDING


def test_pending_record_with_a_planned_start_still_has_no_effect():
    breakdown = score(record("FEE-UNLISTED", status="pending"))

    assert breakdown.final_score == Decimal("100.00")


def test_record_counts_from_its_first_day():
    fee = record("FEE-UNLISTED", effective_from=AS_OF)

    assert score(fee, as_of=AS_OF - timedelta(days=1)).contributions[0].reason == (
        NOT_COUNTED_NOT_YET_EFFECTIVE
    )
    assert score(fee, as_of=AS_OF).final_score == Decimal("90.00")


def test_bonus_is_capped_at_twenty_points():
    breakdown = score(
        record("DEMO-NATIONAL", record_id=1),
        record("DEMO-REGION", record_id=2),
        record("TRADEMARK-NATIONAL", record_id=3),
        record("EXCELLENT-REGION", record_id=4),
    )

    assert breakdown.good_points_uncapped == Decimal("25.00")
    assert breakdown.good_points == Decimal("20.00")
    assert (breakdown.final_score, breakdown.grade) == (Decimal("120.00"), "AAA")
    cap = next(r for r in breakdown.reasons if r.code == "bonus_cap")
    assert cap.points == Decimal("-5.00")


def test_revoked_record_counts_until_the_revocation():
    fee = record("FEE-UNLISTED", status="revoked", ended_on=date(2024, 3, 1))

    before = score(fee, as_of=date(2024, 2, 29))
    after = score(fee, as_of=date(2024, 3, 1))

    assert before.final_score == Decimal("90.00")
    assert after.final_score == Decimal("100.00")
    assert after.contributions[0].reason == NOT_COUNTED_REVOKED


def test_repaired_serious_record_leaves_the_blacklist_proposal():
    abandon = record("ABANDON", status="repaired", ended_on=date(2025, 1, 1))

    assert score(abandon, as_of=date(2024, 12, 31)).blacklist_proposal
    assert not score(abandon, as_of=date(2025, 1, 1)).blacklist_proposal


def test_tender_benefit_codes_come_from_effective_good_records_only():
    breakdown = score(
        record("TRADEMARK-REGION", record_id=1),
        record("STANDARDIZATION-PILOT", record_id=2, status="pending"),
        record("DEMO-REGION", record_id=3),
    )

    assert breakdown.tender_benefit_codes == ("TRADEMARK-REGION",)


@pytest.mark.parametrize(
    ("rule_code", "points", "expected_grade"),
    [
        ("DEMO-NATIONAL", "10", "AAA"),
        ("DEMO-NATIONAL", "9.99", "AA"),
        ("DEMO-NATIONAL", "3", "AA"),
        ("DEMO-NATIONAL", "2.99", "A"),
        ("FEE-UNLISTED", "10", "A"),
        ("FEE-UNLISTED", "10.01", "B"),
        ("FEE-UNLISTED", "30", "B"),
        ("FEE-UNLISTED", "30.01", "C"),
    ],
)
def test_grade_band_edges(rule_code, points, expected_grade):
    assert score(record(rule_code, points=Decimal(points))).grade == expected_grade


def test_clean_firm_is_never_graded_below_b():
    rulebook = rulebook_with(base_score=72)

    breakdown = score(risk=RiskInput(0.9, 0.1, "m1"), rulebook=rulebook)

    assert breakdown.final_score == Decimal("67.00")
    assert breakdown.grade == "B"
    assert breakdown.grade_floor_applied
    assert "grade_floor" in [reason.code for reason in breakdown.reasons]


def test_minor_record_removes_the_floor():
    rulebook = rulebook_with(base_score=72)

    breakdown = score(
        record("COMPLAINT-VERIFIED", effective_from=RECENT, rulebook=rulebook), rulebook=rulebook
    )

    assert (breakdown.final_score, breakdown.grade) == (Decimal("71.00"), "B")
    assert (
        score(
            record("COMPLAINT-VERIFIED", effective_from=RECENT, rulebook=rulebook),
            risk=RiskInput(0.9, 0.1, "m1"),
            rulebook=rulebook,
        ).grade
        == "C"
    )


# --- model part --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probability", "mean", "expected"),
    [
        (0.1, 0.1, "0.00"),
        (0.1234, 0.1, "-0.47"),  # 20 * -0.0234 = -0.468
        (0.05, 0.1, "1.00"),
        (0.0, 0.5, "5.00"),  # 10 points, capped
        (1.0, 0.0, "-5.00"),  # -20 points, capped
    ],
)
def test_model_adjustment_is_weighted_and_capped(probability, mean, expected):
    breakdown = score(risk=RiskInput(probability, mean, "m1"))

    assert breakdown.model_adjustment == Decimal(expected)
    assert breakdown.final_score == breakdown.rule_score + Decimal(expected)
    assert breakdown.model_version == "m1"


@pytest.mark.parametrize(
    ("probability", "mean", "expected"),
    [
        # 20 * (mean - p) * 100 is exactly 2.5, 1.5 and -2.5 hundredths in float64: ties go
        # to the even hundredth, the same in score_enterprise and bulk_score.
        (0.0, 0.00125, "0.02"),
        (0.0, 0.00075, "0.02"),
        (0.00125, 0.0, "-0.02"),
    ],
)
def test_model_adjustment_rounds_ties_to_even_in_both_paths(probability, mean, expected):
    single = score(risk=RiskInput(probability, mean, "m1"))
    bulk = bulk_score(
        enterprise_ids=np.array([1]),
        records=records_to_arrays(records_by_enterprise=[[]], rulebook=RULEBOOK),
        rulebook=RULEBOOK,
        as_of=AS_OF,
        risk_probability=np.array([probability]),
        risk_population_mean=mean,
    )

    assert single.model_adjustment == Decimal(expected)
    assert bulk.model_adjustment_centi.tolist() == [centi(Decimal(expected))]


def test_model_never_lifts_a_firm_with_an_effective_serious_record():
    breakdown = score(record("TENDER-FRAUD"), risk=RiskInput(0.0, 0.5, "m1"))

    assert breakdown.model_adjustment == 0
    assert breakdown.final_score == Decimal("60.00")
    assert "model_no_lift_with_serious_record" in [r.code for r in breakdown.reasons]


def test_model_still_lowers_a_firm_with_an_effective_serious_record():
    breakdown = score(record("TENDER-FRAUD"), risk=RiskInput(0.3, 0.1, "m1"))

    assert breakdown.model_adjustment == Decimal("-4.00")


def test_reasons_explain_both_parts():
    breakdown = score(record("FEE-UNLISTED"), risk=RiskInput(0.05, 0.1, "m7"))

    assert [(r.code, r.points) for r in breakdown.reasons] == [
        ("base_score", Decimal("100.00")),
        ("bad_record", Decimal("-10.00")),
        ("model_adjustment", Decimal("1.00")),
    ]
    assert breakdown.reasons[1].text_zh == "收取未标明、未公示的费用（FEE-UNLISTED）"
    assert "m7" in breakdown.reasons[2].text_zh


MODEL_TEXTS = ("所管3个项目的平均违规概率5.0%（全体企业平均10.0%）", "近180天有3次确认的一般违规")


def test_the_model_line_names_what_is_estimated_and_the_models_reasons_follow_it():
    breakdown = score(record("FEE-UNLISTED"), risk=RiskInput(0.05, 0.1, "m7", MODEL_TEXTS))

    assert [(r.code, r.points) for r in breakdown.reasons] == [
        ("base_score", Decimal("100.00")),
        ("bad_record", Decimal("-10.00")),
        ("model_adjustment", Decimal("1.00")),
        ("model_reason", None),
        ("model_reason", None),
    ]
    model_line = breakdown.reasons[2]
    assert model_line.text_zh == (
        "风险模型 m7：未来180天内被查出一般或严重违规的概率 5.0%，全体平均 10.0%（调整上限 ±5 分）"
    )
    assert "ordinary or serious violation found within the next 180 days" in model_line.text_en
    assert [r.text_zh for r in breakdown.reasons[3:]] == [
        "风险模型：所管3个项目的平均违规概率5.0%（全体企业平均10.0%）",
        "风险模型：近180天有3次确认的一般违规",
    ]


def test_with_a_serious_record_the_no_lift_rule_comes_before_the_models_reasons():
    breakdown = score(record("TENDER-FRAUD"), risk=RiskInput(0.0, 0.5, "m1", MODEL_TEXTS[1:]))

    codes = [r.code for r in breakdown.reasons]
    start = codes.index("model_adjustment")
    assert codes[start : start + 3] == [
        "model_adjustment",
        "model_no_lift_with_serious_record",
        "model_reason",
    ]
    assert breakdown.model_adjustment == 0


@given(
    probability=st.floats(0.0, 1.0),
    mean=st.floats(0.0, 1.0),
    serious=st.booleans(),
    texts=st.lists(st.text(min_size=1, max_size=20), max_size=3),
)
def test_blended_score_is_rule_plus_clipped_weighted_gap_and_shows_every_model_reason(
    probability, mean, serious, texts
):
    records = [record("TENDER-FRAUD")] if serious else [record("FEE-UNLISTED")]
    breakdown = score(*records, risk=RiskInput(probability, mean, "m", tuple(texts)))

    blend = RULEBOOK.model
    gap = min(max(float(blend.weight) * (mean - probability), -float(blend.cap)), float(blend.cap))
    if serious:
        gap = min(gap, 0.0)  # never lifts a firm with an effective serious record
    assert breakdown.model_adjustment == Decimal(round(gap * 100)).scaleb(-2)
    assert breakdown.final_score == breakdown.rule_score + breakdown.model_adjustment
    model_texts = [r.text_zh for r in breakdown.reasons if r.code == "model_reason"]
    assert model_texts == [f"风险模型：{text}" for text in texts]


# --- record input and periods --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2024, 1, 1), 36, date(2027, 1, 1)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 11, 15), 3, date(2025, 2, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_period_end_adds_calendar_months(start, months, end):
    assert record_period_end(start, months) == end


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "neutral"}, "kind must be 'bad' or 'good'"),
        ({"severity": None}, "a bad record needs a severity"),
        ({"points": Decimal("-1")}, "points must be a positive"),
        ({"points": Decimal("1.005")}, "points must be a positive"),
        ({"points": 1.5}, "points must be a positive"),
        ({"status": "void"}, "status must be one of"),
        ({"status": "revoked"}, "a revoked record needs ended_on"),
        ({"effective_until": None}, "both set or both None"),
        ({"effective_until": START}, "effective_until must be after effective_from"),
    ],
)
def test_invalid_record_input_is_refused(changes, message):
    valid = record("FEE-UNLISTED")

    with pytest.raises(ValueError, match=message):
        replace(valid, **changes)


def test_good_record_has_no_severity_and_no_blacklist():
    valid = record("DEMO-REGION")

    with pytest.raises(ValueError, match="a good record has no severity"):
        replace(valid, severity="minor")
    with pytest.raises(ValueError, match="a good record cannot lead to the blacklist"):
        replace(valid, blacklist=True)


def test_risk_probability_must_be_a_probability():
    with pytest.raises(ValueError, match="probability must be a probability"):
        RiskInput(1.5, 0.1, "m1")


# --- tender terms ----------------------------------------------------------------------------


def terms(**overrides):
    arguments = {
        "grade": "A",
        "score": Decimal("95.00"),
        "blacklisted": False,
        "is_backbone": False,
        "tender_benefit_codes": (),
        "project_area_m2": Decimal("50000"),
        "project_type": "residential",
        "rulebook": RULEBOOK,
    } | overrides
    return tender_terms(**arguments)


def test_backbone_aa_firm_on_a_large_project_gets_four_points_and_half_the_deposit():
    result = terms(
        grade="AA", score=Decimal("104.00"), is_backbone=True, project_area_m2=Decimal(120_000)
    )

    assert result.eligible
    assert result.bonus_points == Decimal("4.00")
    assert result.deposit_reduction_ratio == Decimal("0.50")
    assert [(r.code, r.points, r.ratio) for r in result.reasons] == [
        ("grade", Decimal("2.00"), None),
        ("backbone_points", Decimal("2.00"), None),
        ("backbone_deposit_reduction", None, Decimal("0.50")),
    ]


def test_blacklisted_firm_is_not_eligible():
    result = terms(grade="AAA", blacklisted=True, is_backbone=True, project_area_m2=200_000)

    assert not result.eligible
    assert (result.bonus_points, result.deposit_reduction_ratio) == (0, 0)
    assert [r.code for r in result.reasons] == ["blacklisted"]


def test_grade_c_loses_three_points():
    result = terms(grade="C", score=Decimal("60.00"))

    assert result.eligible
    assert result.bonus_points == Decimal("-3.00")


@pytest.mark.parametrize("area", [Decimal("99999.99"), None])
def test_backbone_bonus_needs_a_project_of_at_least_100000_m2(area):
    result = terms(grade="AA", is_backbone=True, project_area_m2=area)

    assert (result.bonus_points, result.deposit_reduction_ratio) == (Decimal("2.00"), 0)


def test_large_project_alone_gives_no_backbone_bonus():
    result = terms(grade="AA", is_backbone=False, project_area_m2=Decimal(120_000))

    assert (result.bonus_points, result.deposit_reduction_ratio) == (Decimal("2.00"), 0)


def test_tender_benefit_is_granted_once_for_any_number_of_benefit_records():
    result = terms(
        tender_benefit_codes=["TRADEMARK-REGION", "STANDARDIZATION-PILOT", "DEMO-REGION"]
    )

    assert result.bonus_points == Decimal("2.00")
    assert result.deposit_reduction_ratio == Decimal("0.20")
    assert [r.code for r in result.reasons] == [
        "grade",
        "benefit_points",
        "benefit_deposit_reduction",
    ]


def test_deposit_reductions_do_not_add_beyond_half():
    result = terms(
        grade="AAA",
        is_backbone=True,
        project_area_m2=150_000,
        tender_benefit_codes=["TRADEMARK-NATIONAL"],
    )

    assert result.bonus_points == Decimal("6.00")
    assert result.deposit_reduction_ratio == Decimal("0.50")
    assert result.reasons[-1].code == "deposit_reduction_cap"
    assert result.reasons[-1].ratio == Decimal("-0.20")


def test_backbone_bonus_can_be_limited_to_project_types():
    rulebook = rulebook_with(tender__backbone_project_types=["residential"])

    office = terms(
        is_backbone=True, project_area_m2=150_000, project_type="office", rulebook=rulebook
    )
    home = terms(is_backbone=True, project_area_m2=150_000, rulebook=rulebook)

    assert office.deposit_reduction_ratio == 0
    assert home.deposit_reduction_ratio == Decimal("0.50")


def test_unknown_grade_is_refused():
    with pytest.raises(ValueError, match="unknown grade 'D'"):
        terms(grade="D")


@given(
    grade=st.sampled_from(RULEBOOK.grade_names),
    blacklisted=st.booleans(),
    is_backbone=st.booleans(),
    codes=st.lists(st.sampled_from([rule.code for rule in RULEBOOK.good_behaviours])),
    area=st.one_of(st.none(), st.integers(min_value=0, max_value=400_000)),
)
def test_tender_totals_are_the_sum_of_their_reasons(grade, blacklisted, is_backbone, codes, area):
    result = terms(
        grade=grade,
        blacklisted=blacklisted,
        is_backbone=is_backbone,
        tender_benefit_codes=codes,
        project_area_m2=area,
    )

    assert result.bonus_points == sum(r.points for r in result.reasons if r.points is not None)
    assert result.deposit_reduction_ratio == sum(r.ratio for r in result.reasons if r.ratio)
    assert 0 <= result.deposit_reduction_ratio <= RULEBOOK.tender.max_deposit_reduction
    assert result.eligible is not blacklisted


# --- backbone candidates -----------------------------------------------------------------------


def candidacy(**overrides):
    arguments = {
        "managed_area_m2": Decimal(600_000),
        "project_count": 4,
        "grade": "A",
        "has_effective_serious": False,
        "blacklisted": False,
        "rulebook": RULEBOOK,
    } | overrides
    return backbone_candidacy(**arguments)


def test_large_firm_in_good_standing_is_a_backbone_candidate():
    assert candidacy().candidate
    assert candidacy(managed_area_m2=Decimal(100_000), project_count=12).candidate


def test_backbone_candidacy_lists_every_unmet_criterion():
    result = candidacy(
        managed_area_m2=Decimal(100_000), grade="B", has_effective_serious=True, blacklisted=True
    )

    assert not result.candidate
    assert [r.code for r in result.reasons] == [
        "scale_too_small",
        "grade_below_minimum",
        "effective_serious_record",
        "blacklisted",
    ]


# --- bulk --------------------------------------------------------------------------------------


def test_bulk_scores_hand_built_arrays():
    # enterprise 0: two effective unlisted fees; 1: clean with a pending ABANDON; 2: ABANDON.
    day = date_to_day(START)
    records = RecordArrays(
        enterprise_index=np.array([0, 0, 1, 2]),
        is_good=np.zeros(4, dtype=bool),
        points_centi=np.array([1000, 1000, 4000, 4000]),
        severity=np.array([SEVERITY_CODES["ordinary"]] * 2 + [SEVERITY_CODES["serious"]] * 2),
        effective_from=np.array([day, day, DAY_NONE, day]),
        effective_until=np.array([day + 366, day + 366, DAY_NONE, day + 1096]),
        ended_on=np.full(4, DAY_NONE),
        status=np.array(
            [STATUS_CODES[s] for s in ("effective", "effective", "pending", "effective")]
        ),
        blacklist=np.array([False, False, True, True]),
        tender_benefit=np.zeros(4, dtype=bool),
    )

    result = bulk_score(
        enterprise_ids=np.array([11, 12, 13]), records=records, rulebook=RULEBOOK, as_of=AS_OF
    )

    assert result.final_score_centi.tolist() == [8000, 10000, 6000]
    assert result.grade_names(RULEBOOK).tolist() == ["B", "A", "C"]
    assert result.blacklist_proposal.tolist() == [False, False, True]
    assert result.has_effective_serious.tolist() == [False, False, True]
    assert result.final_score.tolist() == [80.0, 100.0, 60.0]


def test_bulk_scores_enterprises_without_records():
    empty = records_to_arrays(records_by_enterprise=[[], []], rulebook=RULEBOOK)

    result = bulk_score(
        enterprise_ids=np.array([1, 2]),
        records=empty,
        rulebook=RULEBOOK,
        as_of=AS_OF,
        risk_probability=np.array([np.nan, 0.0]),
        risk_population_mean=0.1,
    )

    assert result.final_score_centi.tolist() == [10000, 10200]
    assert result.grade_names(RULEBOOK).tolist() == ["A", "A"]


def test_bulk_refuses_records_of_unknown_enterprises():
    records = records_to_arrays(records_by_enterprise=[[record("SANITATION")]], rulebook=RULEBOOK)

    with pytest.raises(ValueError, match="enterprise_index"):
        bulk_score(enterprise_ids=np.array([]), records=records, rulebook=RULEBOOK, as_of=AS_OF)


# --- properties ----------------------------------------------------------------------------------

dates = st.dates(min_value=date(2019, 1, 1), max_value=date(2027, 12, 31))
probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
risks = st.one_of(st.none(), st.builds(RiskInput, probabilities, probabilities, st.just("m-test")))


@st.composite
def records_strategy(draw, kinds=("bad", "good")):
    rule = draw(st.sampled_from([r for r in RULEBOOK.rules if r.kind in kinds]))
    status = draw(st.sampled_from(RECORD_STATUSES))
    start = draw(st.one_of(st.none(), dates))
    # Mostly the rule's own points; sometimes any positive hundredths.
    points = draw(
        st.one_of(
            st.just(rule.points),
            st.integers(min_value=1, max_value=6000).map(lambda c: Decimal(c).scaleb(-2)),
        )
    )
    return RecordInput(
        record_id=draw(st.integers(min_value=1, max_value=10**9)),
        rule_code=rule.code,
        kind=rule.kind,
        severity=rule.severity,
        points=points,
        effective_from=start,
        effective_until=None if start is None else record_period_end(start, rule.months),
        status=status,
        blacklist=rule.blacklist,
        ended_on=draw(dates) if status in ENDED else None,
    )


record_lists = st.lists(records_strategy(), max_size=8)


@given(records=record_lists, extra=records_strategy(kinds=("bad",)), risk=risks, as_of=dates)
def test_adding_a_bad_record_never_raises_the_score_or_the_grade(records, extra, risk, as_of):
    before = score(*records, risk=risk, as_of=as_of)
    after = score(*records, extra, risk=risk, as_of=as_of)

    assert after.final_score <= before.final_score
    assert RULEBOOK.grade_code(after.grade) >= RULEBOOK.grade_code(before.grade)


@given(records=record_lists, risk=risks, as_of=dates)
def test_bonus_never_exceeds_the_cap(records, risk, as_of):
    breakdown = score(*records, risk=risk, as_of=as_of)

    assert 0 <= breakdown.good_points <= RULEBOOK.bonus_cap
    assert breakdown.rule_score <= RULEBOOK.base_score + RULEBOOK.bonus_cap


@given(records=record_lists, risk=risks, as_of=dates)
def test_model_part_stays_within_its_cap_and_off_the_blacklist(records, risk, as_of):
    with_model = score(*records, risk=risk, as_of=as_of)
    without_model = score(*records, as_of=as_of)

    assert abs(with_model.model_adjustment) <= RULEBOOK.model.cap
    assert with_model.rule_score == without_model.rule_score
    assert with_model.blacklist_proposal == without_model.blacklist_proposal
    assert with_model.blacklist_record_ids == without_model.blacklist_record_ids
    if with_model.has_effective_serious:
        assert with_model.model_adjustment <= 0
        assert with_model.final_score <= without_model.final_score


@given(
    records=record_lists,
    outside=records_strategy(),
    risk=risks,
    as_of=dates,
    days=st.integers(min_value=0, max_value=2000),
    before_period=st.booleans(),
)
def test_record_outside_its_period_has_no_effect(
    records, outside, risk, as_of, days, before_period
):
    months = RULEBOOK.rule(outside.rule_code).months
    # Either starts after as_of, or ends on or before it (a period is at most 31 days a month).
    start = (
        as_of + timedelta(days=days + 1)
        if before_period
        else as_of - timedelta(days=31 * months + days)
    )
    outside = replace(
        outside,
        effective_from=start,
        effective_until=record_period_end(start, months),
        ended_on=None if outside.status not in ENDED else outside.ended_on,
    )

    alone = score(*records, risk=risk, as_of=as_of)
    together = score(*records, outside, risk=risk, as_of=as_of)

    assert replace(together, contributions=()) == replace(alone, contributions=())
    assert not together.contributions[-1].counted


@given(records=record_lists, risk=risks, as_of=dates)
def test_grade_follows_the_bands_and_the_clean_floor(records, risk, as_of):
    breakdown = score(*records, risk=risk, as_of=as_of)

    reached = [
        band.grade
        for band in RULEBOOK.grade_bands
        if band.min_score is None or breakdown.final_score >= band.min_score
    ]
    expected = reached[0]
    floor = RULEBOOK.clean_floor_grade
    if not breakdown.has_effective_bad and RULEBOOK.grade_code(expected) > RULEBOOK.grade_code(
        floor
    ):
        expected = floor
    assert breakdown.grade == expected


@given(records=record_lists, risk=risks, as_of=dates)
def test_reasons_add_up_to_the_final_score(records, risk, as_of):
    breakdown = score(*records, risk=risk, as_of=as_of)

    total = sum(r.points for r in breakdown.reasons if r.points is not None)

    assert total == breakdown.final_score
    counted = [c for c in breakdown.contributions if c.counted]
    assert all(c.reason == COUNTED for c in counted)


@given(
    enterprises=st.lists(
        st.tuples(record_lists, st.one_of(st.none(), probabilities)), min_size=1, max_size=10
    ),
    population_mean=probabilities,
    with_model=st.booleans(),
    as_of=dates,
)
def test_bulk_scores_equal_single_scores(enterprises, population_mean, with_model, as_of):
    records_by_enterprise = [records for records, _ in enterprises]
    probabilities_ = [p if with_model else None for _, p in enterprises]
    risk_probability = np.array([np.nan if p is None else p for p in probabilities_])

    bulk = bulk_score(
        enterprise_ids=np.arange(len(enterprises)),
        records=records_to_arrays(records_by_enterprise=records_by_enterprise, rulebook=RULEBOOK),
        rulebook=RULEBOOK,
        as_of=as_of,
        risk_probability=risk_probability if with_model else None,
        risk_population_mean=population_mean if with_model else None,
    )

    for i, (records, probability) in enumerate(
        zip(records_by_enterprise, probabilities_, strict=True)
    ):
        risk = None if probability is None else RiskInput(probability, population_mean, "m")
        single = score(*records, risk=risk, as_of=as_of)
        assert bulk.rule_score_centi[i] == centi(single.rule_score)
        assert bulk.model_adjustment_centi[i] == centi(single.model_adjustment)
        assert bulk.final_score_centi[i] == centi(single.final_score)
        assert RULEBOOK.grade_names[bulk.grade[i]] == single.grade
        assert bulk.has_effective_bad[i] == single.has_effective_bad
        assert bulk.has_effective_serious[i] == single.has_effective_serious
        assert bulk.blacklist_proposal[i] == single.blacklist_proposal
        assert bulk.tender_benefit[i] == bool(single.tender_benefit_codes)


def test_record_arrays_code_good_records_without_severity():
    arrays = records_to_arrays(
        records_by_enterprise=[[record("DEMO-REGION"), record("ABANDON", status="pending")]],
        rulebook=RULEBOOK,
    )

    assert arrays.severity.tolist() == [SEVERITY_CODE_NONE, SEVERITY_CODES["serious"]]
    assert arrays.status.tolist() == [STATUS_CODES["effective"], STATUS_CODES["pending"]]
    assert arrays.is_good.tolist() == [True, False]
