from datetime import date

import numpy as np
import pandas as pd
import pytest

from ml import metrics
from ml.features import FEATURE_NAMES, Dataset, build_dataset
from ml.jsonable import to_jsonable
from ml.model import (
    evaluate,
    fit,
    plan_cutoffs,
    precision_ratio,
    predict_proba,
    score_enterprises,
    train,
)
from ml.simulator import oracle_risk
from tests.ml.conftest import LAST_DAY


def test_plan_cutoffs_keep_training_labels_before_the_holdout():
    train_cutoffs, holdout = plan_cutoffs(date(2023, 12, 31), horizon_days=180, n_train=3)
    # hold-out window: the last 180 days up to Dec 31 inclusive starts on Jul 5
    assert holdout == date(2023, 7, 5)
    assert train_cutoffs == [date(2022, 9, 6), date(2022, 11, 6), date(2023, 1, 6)]


def test_training_windows_overlapping_the_holdout_are_refused(world):
    with pytest.raises(ValueError, match="must end before the hold-out cutoff"):
        train(
            world.event_tables(),
            train_cutoffs=[date(2023, 3, 1)],
            holdout_cutoff=date(2023, 7, 1),
        )


def test_model_beats_past_findings_and_is_calibrated_on_a_later_holdout(trained):
    holdout = trained.metadata["holdout"]
    assert set(holdout) >= {"model", "logistic", "past_findings", "days_earlier"}
    model, past = holdout["model"], holdout["past_findings"]
    print(  # the numbers behind the assertions, visible with -s
        {
            "precision@10%": (model["precision_at_k"], past["precision_at_k"]),
            "ratio": holdout["precision_ratio_vs_past_findings"],
            "ece": model["ece"],
            "days_earlier": holdout["days_earlier"],
            "first_half_share": holdout["first_half_share"],
        }
    )
    assert holdout["n"] > 8000
    assert model["precision_at_k"] >= 1.2 * past["precision_at_k"]
    assert model["ece"] <= 0.03
    assert model["roc_auc"] > past["roc_auc"]


def test_reordering_by_model_finds_violations_earlier_than_random_and_later_than_perfect(trained):
    days = trained.metadata["holdout"]["days_earlier"]
    assert days["model"] > 0
    assert days["random_mean"] < days["model"] < days["perfect"]
    share = trained.metadata["holdout"]["first_half_share"]
    assert share["actual"] < share["model"] <= share["perfect"]


def test_knowing_the_hidden_truth_ranks_better_than_the_model(world, trained):
    _, holdout_cutoff = plan_cutoffs(LAST_DAY)
    dataset = build_dataset(world.event_tables(), [holdout_cutoff])
    oracle = oracle_risk(world, holdout_cutoff).reindex(dataset.compound_ids).to_numpy()
    model_scores = predict_proba(trained, dataset.features)
    assert metrics.roc_auc(dataset.labels, oracle) > metrics.roc_auc(dataset.labels, model_scores)


def test_metadata_records_the_training_window(trained):
    train_cutoffs, holdout = plan_cutoffs(LAST_DAY)
    assert trained.metadata["train_cutoffs"] == [c.isoformat() for c in train_cutoffs]
    assert trained.metadata["holdout_cutoff"] == holdout.isoformat()
    # Calibrated out of time: on the most recent training cutoff, fitted on the earlier ones
    calibration = trained.metadata["calibration"]
    assert calibration["calibrated_on"] == [c.isoformat() for c in sorted(train_cutoffs)[-3:]]
    assert calibration["method"] == "isotonic"
    assert calibration["base_rows"] > 0 and calibration["calibration_rows"] > 0
    assert trained.feature_names == FEATURE_NAMES
    assert trained.version.startswith("risk-hgb-")


def test_same_data_same_seed_same_model(world):
    dataset = build_dataset(world.event_tables(), [date(2022, 1, 1), date(2022, 3, 1)])
    first = fit(dataset.features, dataset.labels, random_state=3)
    second = fit(dataset.features, dataset.labels, random_state=3)
    assert first.version == second.version
    np.testing.assert_array_equal(
        predict_proba(first, dataset.features), predict_proba(second, dataset.features)
    )


def test_predicting_without_a_feature_names_it(trained):
    features = pd.DataFrame({name: [0.0] for name in FEATURE_NAMES}).drop(columns="minor_90d")
    with pytest.raises(ValueError, match="features missing from the input: minor_90d"):
        predict_proba(trained, features)


def test_fit_refuses_labels_with_too_few_of_a_class():
    X = pd.DataFrame({"a": np.arange(10.0)})
    with pytest.raises(ValueError, match="at least 3 positive and 3 negative"):
        fit(X, [1, 1] + [0] * 8)


def test_enterprise_risk_is_the_mean_over_its_compounds():
    compounds = pd.DataFrame({"compound_id": [1, 2, 3], "enterprise_id": [7, 7, 9]})
    scores = pd.Series([0.1, 0.3, 0.5], index=[1, 2, 3])
    result = score_enterprises(scores, compounds)
    assert result.to_dict("list") == {
        "enterprise_id": [7, 9],
        "p": [pytest.approx(0.2), 0.5],
        "n_compounds": [2, 1],
    }


def _holdout_where_past_findings_find_nothing() -> Dataset:
    """Ten compounds; the one with the most past findings (the reference's whole top 10 %) is
    clean in the label window, two others are not."""
    features = pd.DataFrame(0.0, index=range(10), columns=list(FEATURE_NAMES))
    features["minor_365d"] = [5.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    features["complaints_180d"] = [0.0, 9, 0, 0, 0, 0, 0, 0, 3, 0]
    return Dataset(
        features=features,
        labels=np.array([0, 1, 0, 0, 0, 0, 0, 0, 1, 0]),
        cutoffs=np.full(10, np.datetime64("2023-07-05", "D")),
        compound_ids=np.arange(1, 11),
        first_inspection_dates=np.datetime64("2023-08-01", "D") + np.arange(10),
    )


def test_precision_ratio_is_undefined_when_past_findings_find_nothing(trained):
    dataset = _holdout_where_past_findings_find_nothing()

    report = evaluate(trained, dataset, k=0.1)

    assert report["past_findings"]["precision_at_k"] == 0.0
    assert np.isnan(report["precision_ratio_vs_past_findings"])
    assert to_jsonable(report)["precision_ratio_vs_past_findings"] is None


def test_precision_ratio_divides_model_by_reference():
    assert precision_ratio(0.3, 0.2) == pytest.approx(1.5)
    assert precision_ratio(0.0, 0.2) == 0.0
    assert np.isnan(precision_ratio(0.3, 0.0))
    assert np.isnan(precision_ratio(0.3, float("nan")))
