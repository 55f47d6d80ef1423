"""Metrics for ranking compounds to inspect, for calibration, drift and re-ordered schedules.

Conventions shared by every function here:

- ``y_true`` is 0/1, ``scores`` are floats (higher = riskier), same length, at least one row.
- Ranking is a *stable* sort by descending score: tied rows keep their input order. So results
  with ties are deterministic and depend on input order, exactly like an inspector working down
  a printed list.
- "top k" with ``k`` a fraction in (0, 1] means the first ``ceil(k * n)`` rows of that ranking
  (at least one row); ``k * n`` is rounded to 9 decimals first so that 0.1 * 30 gives 3 rows, not
  4 through floating-point noise.
- A metric that is undefined for the data (AUC with one class, recall without positives) is
  ``nan``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

ECE_BINS = 10
PSI_BINS = 10
# Empty PSI bins get this share instead of 0, so the logarithm stays finite; 1e-4 is the usual
# choice in credit-scoring practice and is small against a 10-bin share of 0.1.
PSI_EMPTY_SHARE = 1e-4

ERR_LENGTHS = "y_true, scores (and dates) must have the same length"
ERR_EMPTY = "at least one row is needed"
ERR_NOT_BINARY = "y_true must contain only 0 and 1"
ERR_K = "k must be a fraction in (0, 1]"


@dataclass(frozen=True)
class CalibrationBin:
    mean_predicted: float
    observed_rate: float
    n: int


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve; tied scores count one half (Mann-Whitney)."""
    y, s = _checked(y_true, scores)
    if _single_class(y):
        return math.nan
    return float(roc_auc_score(y, s))


def pr_auc(y_true, scores) -> float:
    """Average precision: sum over thresholds of (recall step) x precision.

    Tied scores form one threshold (scikit-learn's ``average_precision_score``), so the result
    does not depend on the order of tied rows.
    """
    y, s = _checked(y_true, scores)
    if y.sum() == 0:
        return math.nan
    return float(average_precision_score(y, s))


def brier(y_true, scores) -> float:
    """Mean squared difference between predicted probability and outcome."""
    y, s = _checked(y_true, scores)
    return float(np.mean((s - y) ** 2))


def top_k_count(n: int, k: float) -> int:
    if not 0 < k <= 1:
        raise ValueError(ERR_K)
    return max(1, math.ceil(round(k * n, 9)))


def precision_at_k(y_true, scores, k: float) -> float:
    """Share of positives among the top ``ceil(k * n)`` rows."""
    y, s = _checked(y_true, scores)
    top = _ranking(s)[: top_k_count(len(y), k)]
    return float(y[top].mean())


def recall_at_k(y_true, scores, k: float) -> float:
    """Share of all positives that are in the top ``ceil(k * n)`` rows."""
    y, s = _checked(y_true, scores)
    if y.sum() == 0:
        return math.nan
    top = _ranking(s)[: top_k_count(len(y), k)]
    return float(y[top].sum() / y.sum())


def lift_at_k(y_true, scores, k: float) -> float:
    """Precision at k divided by the base rate (1.0 = no better than random)."""
    y, _ = _checked(y_true, scores)
    if y.sum() == 0:
        return math.nan
    return precision_at_k(y_true, scores, k) / float(y.mean())


def expected_calibration_error(y_true, scores, bins: int = ECE_BINS) -> float:
    """ECE over ``bins`` EQUAL-WIDTH probability bins [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0].

    ECE = sum over non-empty bins of (n_bin / n) * |mean predicted - observed rate|. A score of
    exactly 1.0 falls in the last bin. Equal-width bins are the textbook definition (Guo et al.
    2017); most of the weight sits in the low bins where most compounds are.
    """
    y, s = _checked(y_true, scores)
    bin_of = np.minimum((s * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in np.unique(bin_of):
        in_bin = bin_of == b
        total += in_bin.sum() / len(y) * abs(s[in_bin].mean() - y[in_bin].mean())
    return float(total)


def calibration_deciles(y_true, scores, groups: int = 10) -> list[CalibrationBin]:
    """Equal-count groups by ascending score (stable sort; with n % groups != 0 the first groups
    get one more row, as ``numpy.array_split`` does). Fewer rows than groups -> one row each."""
    y, s = _checked(y_true, scores)
    order = np.argsort(s, kind="stable")
    return [
        CalibrationBin(
            mean_predicted=float(s[part].mean()), observed_rate=float(y[part].mean()), n=len(part)
        )
        for part in np.array_split(order, min(groups, len(y)))
    ]


def psi(expected_scores, actual_scores, bins: int = PSI_BINS) -> float:
    """Population stability index of ``actual_scores`` against ``expected_scores``.

    Bin edges are the quantiles of the expected scores (so each expected bin holds ~1/bins),
    with the outer edges open; a value equal to an edge goes to the upper bin. PSI =
    sum (a - e) * ln(a / e) over bins, with empty shares replaced by ``PSI_EMPTY_SHARE``.
    Rule of thumb: < 0.1 stable, 0.1-0.25 watch, > 0.25 retrain.
    """
    expected = np.asarray(expected_scores, dtype=float)
    actual = np.asarray(actual_scores, dtype=float)
    if len(expected) == 0 or len(actual) == 0:
        raise ValueError(ERR_EMPTY)
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    e_share = np.maximum(e / len(expected), PSI_EMPTY_SHARE)
    a_share = np.maximum(a / len(actual), PSI_EMPTY_SHARE)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def reordered_dates(dates, scores) -> np.ndarray:
    """The date each inspection would get if the same dates were used in score order.

    The dates actually used are sorted ascending and handed out to the inspections sorted by
    descending score (stable: tied inspections keep their input order).
    """
    d = np.asarray(dates).astype("datetime64[D]")
    s = np.asarray(scores, dtype=float)
    if len(d) != len(s):
        raise ValueError(ERR_LENGTHS)
    simulated = np.empty_like(d)
    simulated[_ranking(s)] = np.sort(d)
    return simulated


def simulated_days_earlier(dates, y_true, scores) -> float:
    """Mean over positives of (actual date - re-ordered date) in days; nan without positives.

    Positive = found earlier by the re-ordered schedule. See ``reordered_dates``.
    """
    y, _ = _checked(y_true, scores)
    d = np.asarray(dates).astype("datetime64[D]")
    if len(d) != len(y):
        raise ValueError(ERR_LENGTHS)
    if y.sum() == 0:
        return math.nan
    gain = (d - reordered_dates(d, scores)).astype(np.int64)
    return float(gain[y == 1].mean())


def first_half_share(dates, y_true, scores) -> tuple[float, float]:
    """Share of all positives found in the first half of the schedule: (actual, re-ordered).

    Reading of "dates whose cumulative inspection count is below half the total": count the
    inspections per distinct date, accumulate in ascending date order *including* the date
    itself; a date belongs to the first half when that cumulative count is strictly below
    n / 2. So a date is in the first half only when all its inspections fit before the
    midpoint; the date that straddles the midpoint is not. Example: dates [1, 1, 2, 3] give
    cumulative counts 2, 3, 4 against n / 2 = 2, so no date is in the first half.

    Both schedules use the same multiset of dates, so the set of first-half dates is the same;
    the actual share looks at each positive's actual date, the re-ordered share at its
    re-ordered date. ``(nan, nan)`` without positives.
    """
    y, _ = _checked(y_true, scores)
    d = np.asarray(dates).astype("datetime64[D]")
    if len(d) != len(y):
        raise ValueError(ERR_LENGTHS)
    if y.sum() == 0:
        return (math.nan, math.nan)
    distinct, counts = np.unique(d, return_counts=True)
    first_half_dates = distinct[np.cumsum(counts) < len(d) / 2]
    positive = y == 1
    actual = np.isin(d[positive], first_half_dates).sum() / positive.sum()
    reordered = (
        np.isin(reordered_dates(d, scores)[positive], first_half_dates).sum() / positive.sum()
    )
    return (float(actual), float(reordered))


def ranking_report(y_true, scores, k: float) -> dict[str, object]:
    """The metric block of ``python -m ml evaluate`` for one ranking (JSON-ready, nan kept).

    Brier and ECE need probabilities: for scores outside [0, 1] (a count used as a ranking)
    they are ``nan``.
    """
    _, s = _checked(y_true, scores)
    probabilities = bool(((s >= 0) & (s <= 1)).all())
    return {
        "roc_auc": roc_auc(y_true, scores),
        "pr_auc": pr_auc(y_true, scores),
        "brier": brier(y_true, scores) if probabilities else math.nan,
        "ece": expected_calibration_error(y_true, scores) if probabilities else math.nan,
        "k": k,
        "precision_at_k": precision_at_k(y_true, scores, k),
        "recall_at_k": recall_at_k(y_true, scores, k),
        "lift_at_k": lift_at_k(y_true, scores, k),
        "calibration": [
            {"mean_predicted": b.mean_predicted, "observed_rate": b.observed_rate, "n": b.n}
            for b in calibration_deciles(y_true, scores)
        ],
    }


def _ranking(scores: np.ndarray) -> np.ndarray:
    # Negating keeps equal scores equal, so the stable sort keeps tied rows in input order.
    return np.argsort(-scores, kind="stable")


def _single_class(y: np.ndarray) -> bool:
    return y.min() == y.max()


def _checked(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    if len(y) != len(s):
        raise ValueError(ERR_LENGTHS)
    if len(y) == 0:
        raise ValueError(ERR_EMPTY)
    if not np.isin(y, (0, 1)).all():
        raise ValueError(ERR_NOT_BINARY)
    return y.astype(float), s
