import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURE_NAMES
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
