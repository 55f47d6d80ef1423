import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURE_NAMES
from ml.model import fit
from ml.reasons import contribution_matrix, explain


def _row(**values) -> pd.DataFrame:
    """A compound at the population's typical values, with some features overridden."""
    base = dict.fromkeys(FEATURE_NAMES, 0.0)
    base.update(
        days_since_last_inspection=60.0,
        days_since_last_violation=730.0,
        area_10k_m2=5.0,
        building_age_years=15.0,
        type_residential=1.0,
        ent_compounds=10.0,
        ent_inspections_365d=20.0,
        ent_violation_rate_365d=0.15,
        ent_minor_per_visit_365d=0.3,
        cutoff_month=7.0,
    )
    base.update(values)
    return pd.DataFrame([base])


def test_contributions_are_coefficient_times_standardised_distance(trained):
    row = _row(ordinary_180d=3.0)
    pipeline = trained.explainer
    j = FEATURE_NAMES.index("ordinary_180d")
    scaler, logistic = pipeline.named_steps["scale"], pipeline.named_steps["logistic"]
    expected = logistic.coef_[0][j] * (np.log1p(3.0) - scaler.mean_[j]) / scaler.scale_[j]
    assert contribution_matrix(trained, row)[0, j] == pytest.approx(expected)


def test_a_risky_compound_gets_three_plain_chinese_reasons_that_raise_risk(trained):
    row = _row(
        ordinary_180d=3.0,
        ordinary_365d=3.0,
        violation_visits_365d=3.0,
        inspections_365d=4.0,
        complaints_180d=6.0,
        complaints_365d=8.0,
        old_compound=1.0,
        building_age_years=35.0,
        days_since_last_violation=20.0,
    )
    (reasons,) = explain(trained, row)
    assert len(reasons) == 3
    assert all(r.raises_risk for r in reasons)
    contributions = [abs(r.contribution) for r in reasons]
    assert contributions == sorted(contributions, reverse=True)
    texts = {r.feature: r.text for r in reasons}
    readable = {
        "ordinary_180d": "近180天有3次确认的一般违规",
        "ordinary_365d": "近365天有3次确认的一般违规",
        "complaints_180d": "近180天收到6件投诉",
        "complaints_365d": "近365天收到8件投诉",
        "violation_visits_365d": "近365天有3次巡查发现一般及以上违规",
        "old_compound": "老旧小区（2000年前建成）",
        "building_age_years": "楼龄35年",
        "days_since_last_violation": "本月内有一般及以上违规",
        "inspections_365d": "近365天巡查4次",
    }
    assert texts == {feature: readable[feature] for feature in texts}


def test_reasons_are_deterministic_and_follow_row_order(trained):
    rows = pd.concat([_row(complaints_180d=6.0), _row(days_since_last_inspection=430.0)])
    first = explain(trained, rows, top=30, direction="both")
    assert first == explain(trained, rows, top=30, direction="both")
    assert "近180天收到6件投诉" in [r.text for r in first[0]]
    assert "已14个月未巡查" in [r.text for r in first[1]]


def test_lowering_reasons_only_when_asked(trained):
    row = _row()
    assert all(r.contribution < 0 for r in explain(trained, row, direction="lowers")[0])
    assert all(r.contribution > 0 for r in explain(trained, row, direction="raises")[0])


def _amounts_that_lower_risk_model():
    """A logistic explainer where a rare count (ent_serious_365d) and an average
    (ent_complaints_180d_per_compound) come with fewer violations: their coefficients are
    negative, so a zero sits above the mean contribution."""
    rng = np.random.default_rng(5)
    serious = (rng.random(400) < 0.1) * rng.integers(1, 4, 400)
    per_compound = rng.gamma(2.0, 0.5, 400)
    complaints = rng.poisson(2.0, 400)
    logit = -1.0 - 2.0 * serious - 1.0 * per_compound + 0.5 * complaints
    y = (rng.random(400) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame(
        {
            "ent_serious_365d": serious.astype(float),
            "ent_complaints_180d_per_compound": per_compound,
            "complaints_180d": complaints.astype(float),
        }
    )
    return fit(X, y, random_state=0)


def test_an_amount_of_nothing_is_never_a_reason_that_raises_risk():
    model = _amounts_that_lower_risk_model()
    # 0.04 complaints per compound reads "平均0.0件投诉": nothing, too.
    row = pd.DataFrame(
        {
            "ent_serious_365d": [0.0],
            "ent_complaints_180d_per_compound": [0.04],
            "complaints_180d": [6.0],
        }
    )
    assert (contribution_matrix(model, row)[0] > 0).all()  # the arithmetic says "raises"...

    raises, both = (explain(model, row, direction=d)[0] for d in ("raises", "both"))

    # ...but "所属企业近365天有0次严重违规" is no reason for more risk.
    assert [r.text for r in raises] == ["近180天收到6件投诉"]
    assert [r.text for r in both] == ["近180天收到6件投诉"]


def test_amounts_that_lower_risk_are_still_given_when_they_are_not_zero():
    model = _amounts_that_lower_risk_model()
    row = pd.DataFrame(
        {
            "ent_serious_365d": [2.0],
            "ent_complaints_180d_per_compound": [3.0],
            "complaints_180d": [0.0],
        }
    )

    (lowers,) = explain(model, row, direction="lowers")

    assert {r.text for r in lowers} == {
        "所属企业近365天有2次严重违规",
        "所属企业近180天每个项目平均3.0件投诉",
        "近180天收到0件投诉",
    }
