"""The risk model: the best of several candidates, calibrated out of time, gated before use.

- ``fit`` searches the candidates of ``ml.candidates`` (regularised, monotonic gradient
  boosting and the regularised logistic model) by time-ordered folds within the training
  period, then fits the chosen one on the earlier periods and calibrates it on the most recent
  one (see ``ml.candidates``). The logistic model is also kept as the explainer: its
  coefficients give the reasons (``ml.reasons``).
- ``train`` fits on several cutoffs and evaluates on a later hold-out cutoff whose label window
  starts only after every training label window has ended, so no training label is seen in the
  hold-out period. ``evaluate`` reports the model beside the logistic model and the simple
  rankings, and ``ml.gate.promotion_gate``'s verdict on whether the model beats them all by
  more than its bootstrap uncertainty: the only way a model moves a score.
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
from sklearn.pipeline import Pipeline

from ml import candidates, gate, metrics
from ml.features import (
    DEFAULT_HORIZON_DAYS,
    CompoundsAt,
    Dataset,
    EventTables,
    build_dataset,
)
from ml.jsonable import to_jsonable

MODEL_FAMILY = "risk-hgb"
DEFAULT_K = 0.1  # planners inspect about a tenth of compounds per round
RANDOM_REPEATS = 20  # random orderings averaged for the "random" reference
MIN_CLASS_ROWS = 3
# Hold-out quality on the simulator is flat from ~60,000 training rows up (AUC 0.730 with 60k,
# 0.735 with 640k); beyond this cap more rows only cost time, so a seeded uniform sample is used.
MAX_TRAIN_ROWS = 250_000

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


def fit(
    X: pd.DataFrame,
    y,
    *,
    time=None,
    gap=None,
    categorical: Sequence[str] = (),
    random_state: int = 0,
    metadata: Mapping[str, Any] | None = None,
) -> TrainedModel:
    """Search, fit and calibrate the model on ``X`` (see ``ml.candidates``).

    ``time`` (one value per row) orders the periods: the search validates on the latest ones and
    the calibration uses the most recent. ``gap`` (same unit as ``time``, e.g. the label
    horizon as ``numpy.timedelta64``) keeps a fold's training labels out of the period it is
    judged on. ``categorical`` names columns holding category codes (boosting splits on them
    natively; the logistic explainer target-encodes them).
    """
    labels = np.asarray(y).astype(np.int64)
    if len(labels) != len(X):
        raise ValueError(ERR_LENGTH)
    n_available = len(labels)
    keep = _training_sample(n_available, random_state)
    labels = labels[keep]
    _check_classes(labels)
    features = X.iloc[keep].astype(float).reset_index(drop=True)
    time = None if time is None else np.asarray(time)[keep]
    found = candidates.search(
        features, labels, time, gap=gap, random_state=random_state, categorical=categorical
    )
    calibrated = candidates.fit_calibrated(
        found.chosen,
        features,
        labels,
        time,
        random_state=random_state,
        categorical=categorical,
    )
    explainer = candidates.logistic(
        random_state, columns=list(features.columns), categorical=categorical
    ).fit(features, labels)
    names = tuple(str(c) for c in X.columns)
    summary = {
        "n_train": len(labels),
        "n_available": n_available,
        "positives": int(labels.sum()),
        "candidate": {"family": found.chosen.family, **found.chosen.params},
        "search": {"folds": found.folds, "mean_average_precision": found.scores},
        "calibration": calibrated.summary,
        "random_state": random_state,
        "sklearn_version": sklearn.__version__,
        **(metadata or {}),
    }
    return TrainedModel(
        estimator=calibrated.estimator,
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
        gap=np.timedelta64(horizon_days, "D"),
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
    """Hold-out metrics of the model, its logistic baseline and the simple rankings, and the
    promotion gate's verdict (``ml.gate``)."""
    y = dataset.labels
    model_scores = predict_proba(model, dataset.features)
    logistic_scores = logistic_proba(model, dataset.features)
    simple = gate.simple_rankings(dataset.features)
    past = simple[gate.PAST_FINDINGS]
    dates = dataset.first_inspection_dates
    rng = np.random.default_rng(0)
    random_days = [
        metrics.simulated_days_earlier(dates, y, rng.random(len(y))) for _ in range(RANDOM_REPEATS)
    ]
    actual_share, model_share = metrics.first_half_share(dates, y, model_scores)
    competitors = dict(simple)
    if model.metadata.get("candidate", {}).get("family") != candidates.LOGISTIC:
        competitors = {gate.LOGISTIC: logistic_scores, **simple}
    verdict = gate.promotion_gate(y, model_scores, competitors, k=k)
    return {
        "n": len(y),
        "base_rate": float(y.mean()),
        "model": metrics.ranking_report(y, model_scores, k),
        "logistic": metrics.ranking_report(y, logistic_scores, k),
        "past_findings": metrics.ranking_report(y, past, k),
        "days_since_inspection": metrics.ranking_report(y, simple[gate.DAYS_SINCE_INSPECTION], k),
        "precision_ratio_vs_past_findings": precision_ratio(
            metrics.precision_at_k(y, model_scores, k), metrics.precision_at_k(y, past, k)
        ),
        "gate": verdict.as_dict(),
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
    if min(positives, len(labels) - positives) < MIN_CLASS_ROWS:
        raise ValueError(ERR_TOO_FEW_CLASSES.format(n=MIN_CLASS_ROWS))


def _version(names: tuple[str, ...], summary: Mapping[str, Any]) -> str:
    payload = json.dumps(
        {"features": names, "summary": to_jsonable(summary)}, sort_keys=True, ensure_ascii=True
    )
    return f"{MODEL_FAMILY}-{hashlib.sha256(payload.encode()).hexdigest()[:12]}"
