"""The risk model: calibrated gradient boosting, a logistic baseline, time-based training.

- Main estimator: ``HistGradientBoostingClassifier`` with small, strongly regularised trees
  (risk is close to additive; deep trees overfit the noisy labels), calibrated with
  ``CalibratedClassifierCV(method="isotonic", ensemble=True)`` over 3 folds *grouped by time
  value* (cutoff): each fold's model is calibrated on whole cutoffs it never saw, spread over
  the seasons. Calibrating on the single latest cutoff was tried and rejected: its season
  differs from the hold-out's and hold-out ECE doubled (0.018 against 0.007 on the simulator).
  With fewer than 3 time values, or a fold without both classes, the folds are stratified.
- Explainer and baseline: ``LogisticRegression`` on signed-log, standardised features. Its
  coefficients give the reasons (``ml.reasons``) and its metrics are reported beside the main
  model's.
- ``train`` fits on several cutoffs and evaluates on a later hold-out cutoff whose label window
  starts only after every training label window has ended, so no training label is seen in the
  hold-out period.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ml import metrics
from ml.features import (
    DEFAULT_HORIZON_DAYS,
    CompoundsAt,
    Dataset,
    EventTables,
    build_dataset,
    past_findings_score,
)
from ml.jsonable import to_jsonable

MODEL_FAMILY = "risk-hgb"
DEFAULT_K = 0.1  # planners inspect about a tenth of compounds per round
RANDOM_REPEATS = 20  # random orderings averaged for the "random" reference
CV_CALIBRATION_FOLDS = 3
MAX_LEAF_ROWS = 200  # leaves of at least 200 rows: labels are 0/1 with base rates around 15 %
MIN_LEAF_ROWS = 20
# Hold-out quality on the simulator is flat from ~60,000 training rows up (AUC 0.730 with 60k,
# 0.735 with 640k); beyond this cap more rows only cost time, so a seeded uniform sample is used.
MAX_TRAIN_ROWS = 250_000
LOGISTIC_C = 0.1  # strong L2: many correlated counts, we want stable, readable coefficients

ERR_TOO_FEW_CLASSES = "training data needs at least {n} positive and {n} negative rows"
ERR_OVERLAP = (
    "training label windows must end before the hold-out cutoff: {cutoff} + {horizon} days "
    "is after {holdout}"
)
ERR_MISSING_FEATURES = "features missing from the input: {columns}"
ERR_LENGTH = "X and y must have the same number of rows"


@dataclass(frozen=True)
class TrainedModel:
    estimator: Any  # calibrated classifier with predict_proba
    explainer: Pipeline  # logistic baseline: imputer, signed log, scaler, logistic regression
    feature_names: tuple[str, ...]
    version: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


def signed_log1p(values):
    """log(1 + |x|) with the sign of x: tames counts and areas, keeps negative inputs usable."""
    return np.sign(values) * np.log1p(np.abs(values))


def fit(
    X: pd.DataFrame,
    y,
    *,
    time=None,
    random_state: int = 0,
    metadata: Mapping[str, Any] | None = None,
) -> TrainedModel:
    """Fit the calibrated main model and the logistic explainer on numeric columns of ``X``.

    ``time`` (optional, one value per row) groups rows for the calibration folds.
    """
    labels = np.asarray(y).astype(np.int64)
    if len(labels) != len(X):
        raise ValueError(ERR_LENGTH)
    n_available = len(labels)
    keep = _training_sample(n_available, random_state)
    labels = labels[keep]
    _check_classes(labels)
    features = X.iloc[keep].astype(float)
    time = None if time is None else np.asarray(time)[keep]
    folds = _calibration_folds(labels, time)
    estimator = CalibratedClassifierCV(
        _boosting(len(labels), random_state), method="isotonic", cv=folds, ensemble=True
    ).fit(features, labels)
    explainer = _logistic(random_state).fit(features, labels)
    names = tuple(str(c) for c in X.columns)
    summary = {
        "n_train": len(labels),
        "n_available": n_available,
        "positives": int(labels.sum()),
        "calibration": "isotonic, folds by time"
        if isinstance(folds, list)
        else "isotonic, stratified folds",
        "random_state": random_state,
        "sklearn_version": sklearn.__version__,
        **(metadata or {}),
    }
    return TrainedModel(
        estimator=estimator,
        explainer=explainer,
        feature_names=names,
        version=_version(names, summary),
        metadata=to_jsonable(summary),
    )


def train(
    tables: EventTables,
    *,
    train_cutoffs: Sequence[date],
    holdout_cutoff: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    random_state: int = 0,
    k: float = DEFAULT_K,
    compounds_at: CompoundsAt | None = None,
) -> TrainedModel:
    """Fit on ``train_cutoffs`` and record hold-out metrics at ``holdout_cutoff`` in metadata.

    ``compounds_at(day)`` gives the compounds table as it was on that day (managers then); every
    cutoff, hold-out included, then sees the firm that managed each compound at the time. Without
    it every cutoff sees ``tables.compounds`` (today's managers), see ``build_dataset``.
    """
    for cutoff in train_cutoffs:
        if cutoff + timedelta(days=horizon_days) > holdout_cutoff:
            raise ValueError(
                ERR_OVERLAP.format(cutoff=cutoff, horizon=horizon_days, holdout=holdout_cutoff)
            )
    training = build_dataset(tables, train_cutoffs, horizon_days, compounds_at=compounds_at)
    holdout = build_dataset(tables, [holdout_cutoff], horizon_days, compounds_at=compounds_at)
    window = {
        "train_cutoffs": sorted(train_cutoffs),
        "holdout_cutoff": holdout_cutoff,
        "horizon_days": horizon_days,
    }
    model = fit(
        training.features,
        training.labels,
        time=training.cutoffs,
        random_state=random_state,
        metadata=window,
    )
    report = evaluate(model, holdout, k=k)
    return TrainedModel(
        estimator=model.estimator,
        explainer=model.explainer,
        feature_names=model.feature_names,
        version=model.version,
        metadata={**model.metadata, "holdout": to_jsonable(report)},
    )


def plan_cutoffs(
    last_day: date,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    n_train: int = 6,
    step_days: int = 61,
) -> tuple[list[date], date]:
    """Cutoffs for ``train`` when events are known up to ``last_day`` (inclusive).

    The hold-out window is the last full horizon; training cutoffs step back every
    ``step_days`` (61: six cutoffs cover a year, all seasons) from one horizon before it.
    """
    holdout = last_day - timedelta(days=horizon_days - 1)
    latest_train = holdout - timedelta(days=horizon_days)
    train_cutoffs = [latest_train - timedelta(days=step_days * i) for i in range(n_train)]
    return sorted(train_cutoffs), holdout


def predict_proba(model: TrainedModel, X: pd.DataFrame) -> np.ndarray:
    """Calibrated probability of an ordinary or serious finding in the label window."""
    return model.estimator.predict_proba(_aligned(model, X))[:, 1]


def logistic_proba(model: TrainedModel, X: pd.DataFrame) -> np.ndarray:
    return model.explainer.predict_proba(_aligned(model, X))[:, 1]


def score_enterprises(compound_scores: pd.Series, compounds: pd.DataFrame) -> pd.DataFrame:
    """Enterprise risk = mean probability over the compounds it manages now.

    The mean (not "any compound") keeps the number comparable between a firm with one compound
    and a group with fifty; it stays a calibrated probability for a randomly chosen compound.
    ``compound_scores`` is indexed by compound_id. Returns enterprise_id, p, n_compounds.
    """
    frame = pd.DataFrame(
        {
            "enterprise_id": compounds["enterprise_id"].to_numpy(),
            "p": compound_scores.reindex(compounds["compound_id"].to_numpy()).to_numpy(),
        }
    ).dropna()
    grouped = frame.groupby("enterprise_id", sort=True)["p"]
    return pd.DataFrame({"p": grouped.mean(), "n_compounds": grouped.size()}).reset_index()


def evaluate(model: TrainedModel, dataset: Dataset, *, k: float = DEFAULT_K) -> dict[str, Any]:
    """Hold-out metrics of the model, its logistic baseline and simple references."""
    y = dataset.labels
    model_scores = predict_proba(model, dataset.features)
    past = past_findings_score(dataset.features)
    dates = dataset.first_inspection_dates
    rng = np.random.default_rng(0)
    random_days = [
        metrics.simulated_days_earlier(dates, y, rng.random(len(y))) for _ in range(RANDOM_REPEATS)
    ]
    actual_share, model_share = metrics.first_half_share(dates, y, model_scores)
    return {
        "n": len(y),
        "base_rate": float(y.mean()),
        "model": metrics.ranking_report(y, model_scores, k),
        "logistic": metrics.ranking_report(y, logistic_proba(model, dataset.features), k),
        "past_findings": metrics.ranking_report(y, past, k),
        "precision_ratio_vs_past_findings": precision_ratio(
            metrics.precision_at_k(y, model_scores, k), metrics.precision_at_k(y, past, k)
        ),
        "days_earlier": {
            "model": metrics.simulated_days_earlier(dates, y, model_scores),
            "past_findings": metrics.simulated_days_earlier(dates, y, past),
            "random_mean": float(np.mean(random_days)),
            "perfect": metrics.simulated_days_earlier(dates, y, y),
        },
        "first_half_share": {
            "actual": actual_share,
            "model": model_share,
            "perfect": metrics.first_half_share(dates, y, y)[1],
        },
    }


def precision_ratio(model_precision: float, reference_precision: float) -> float:
    """Model precision over the reference's; nan (JSON null) when the reference found nothing in
    its top k, as small hold-outs (one region, a 15-firm demo) often do: the ratio is undefined
    there, like the other metrics without the data to define them."""
    if reference_precision == 0 or math.isnan(reference_precision):
        return math.nan
    return model_precision / reference_precision


def _aligned(model: TrainedModel, X: pd.DataFrame) -> pd.DataFrame:
    missing = [name for name in model.feature_names if name not in X.columns]
    if missing:
        raise ValueError(ERR_MISSING_FEATURES.format(columns=", ".join(missing)))
    return X.loc[:, list(model.feature_names)].astype(float)


def _training_sample(n_rows: int, random_state: int) -> np.ndarray:
    if n_rows <= MAX_TRAIN_ROWS:
        return np.arange(n_rows)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, MAX_TRAIN_ROWS, replace=False))


def _check_classes(labels: np.ndarray) -> None:
    positives = int(labels.sum())
    if min(positives, len(labels) - positives) < CV_CALIBRATION_FOLDS:
        raise ValueError(ERR_TOO_FEW_CLASSES.format(n=CV_CALIBRATION_FOLDS))


def _calibration_folds(labels: np.ndarray, time) -> list | int:
    """3 folds of whole time values (round robin in time order), else stratified folds."""
    if time is None:
        return CV_CALIBRATION_FOLDS
    distinct, position = np.unique(time, return_inverse=True)
    if len(distinct) < CV_CALIBRATION_FOLDS:
        return CV_CALIBRATION_FOLDS
    fold = position % CV_CALIBRATION_FOLDS
    splits = [(np.nonzero(fold != i)[0], np.nonzero(fold == i)[0]) for i in range(3)]
    both_classes = all(0 < labels[part].sum() < len(part) for split in splits for part in split)
    return splits if both_classes else CV_CALIBRATION_FOLDS


def _boosting(n_rows: int, random_state: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        # 150 rounds at 0.1 match 300 at 0.05 on the simulator (AUC, ECE) at half the cost.
        learning_rate=0.1,
        max_iter=150,
        max_leaf_nodes=8,
        # Leaves of ~1 % of the rows, between 20 and 200, so tiny analyst tables still split.
        min_samples_leaf=int(np.clip(n_rows // 100, MIN_LEAF_ROWS, MAX_LEAF_ROWS)),
        l2_regularization=5.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        random_state=random_state,
    )


def _logistic(random_state: int) -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("log", FunctionTransformer(signed_log1p)),
            ("scale", StandardScaler()),
            (
                "logistic",
                LogisticRegression(C=LOGISTIC_C, max_iter=2000, random_state=random_state),
            ),
        ]
    )


def _version(names: tuple[str, ...], summary: Mapping[str, Any]) -> str:
    payload = json.dumps(
        {"features": names, "summary": to_jsonable(summary)}, sort_keys=True, ensure_ascii=True
    )
    return f"{MODEL_FAMILY}-{hashlib.sha256(payload.encode()).hexdigest()[:12]}"
