"""The promotion gate (ml.gate): a model passes only when its precision@k beats every
competitor's by more than the paired bootstrap's uncertainty."""

import numpy as np
import pytest

from ml.gate import (
    DAYS_SINCE_INSPECTION,
    LOGISTIC,
    PAST_FINDINGS,
    gate_from_dict,
    promotion_gate,
)


@pytest.fixture
def holdout():
    rng = np.random.default_rng(3)
    n = 6000
    truth = rng.random(n)
    y = (rng.random(n) < 0.05 + 0.4 * truth).astype(int)
    return {
        "y": y,
        "sharp": truth + rng.normal(0, 0.05, n),
        "blurred": truth + rng.normal(0, 0.8, n),
        "noise": rng.random(n),
    }


def test_a_clearly_better_ranking_passes_with_every_interval_above_one(holdout):
    result = promotion_gate(
        holdout["y"],
        holdout["sharp"],
        {PAST_FINDINGS: holdout["blurred"], DAYS_SINCE_INSPECTION: holdout["noise"]},
    )

    assert result.passed
    for comparison in result.comparisons:
        assert comparison.low > 1.0
        assert comparison.low <= comparison.ratio <= comparison.high
    assert "优于所有对照排序" in result.reason_zh


def test_the_same_ranking_does_not_beat_itself(holdout):
    result = promotion_gate(holdout["y"], holdout["sharp"], {LOGISTIC: holdout["sharp"].copy()})

    assert not result.passed
    (comparison,) = result.comparisons
    assert comparison.ratio == pytest.approx(1.0)
    assert comparison.low <= 1.0 <= comparison.high
    assert "正则化逻辑回归模型" in result.reason_zh and "暂不用于调整信用分" in result.reason_zh


def test_a_lead_smaller_than_the_uncertainty_fails(holdout):
    # On 300 rows a small lead is within the luck of the draw.
    rows = slice(0, 300)
    slightly = holdout["sharp"][rows] + np.random.default_rng(9).normal(0, 0.3, 300)
    result = promotion_gate(holdout["y"][rows], slightly, {PAST_FINDINGS: holdout["sharp"][rows]})

    assert not result.passed


def test_shuffled_labels_never_pass(holdout):
    shuffled = np.random.default_rng(1).permutation(holdout["y"])
    result = promotion_gate(shuffled, holdout["sharp"], {PAST_FINDINGS: holdout["noise"]})

    assert not result.passed


def test_the_fallback_is_the_best_simple_ranking_and_the_verdict_survives_storage(holdout):
    result = promotion_gate(
        holdout["y"],
        holdout["noise"],
        {
            LOGISTIC: holdout["sharp"],
            PAST_FINDINGS: holdout["blurred"],
            DAYS_SINCE_INSPECTION: holdout["noise"][::-1].copy(),
        },
    )

    assert result.best_simple_ranking() == PAST_FINDINGS
    stored = gate_from_dict(result.as_dict())
    assert stored == result
    assert gate_from_dict({}) is None


def test_the_same_seed_gives_the_same_interval(holdout):
    args = (holdout["y"], holdout["sharp"], {PAST_FINDINGS: holdout["blurred"]})
    assert promotion_gate(*args) == promotion_gate(*args)
