"""The promotion gate: a model moves scores and sends inspectors only when it beats, on a later
hold-out period, every simpler way of ranking the same compounds by more than chance.

The competitors are the regularised logistic model and the simple rankings a planner could use
without any model (``SIMPLE_RANKINGS``: confirmed findings in the last year, days since the last
inspection). For each, the paired bootstrap over hold-out rows gives the interval of
precision@k(model) ÷ precision@k(competitor): the rows are drawn with replacement, both
rankings are re-evaluated on the same draw, so the interval measures how much of the lead is the
luck of this hold-out. The model passes when every interval's lower end is above 1 — it beats
even the best simple ranking by a margin larger than its bootstrap uncertainty.

Pure: arrays in, a frozen dataclass out (no Django), so training, promotion and the nightly
scoring apply the very same rule to the metrics stored with the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml import metrics

# 400 paired draws put the 2.5 % quantile within about ±0.01 of its limit for ratios near 1.2
# on hold-outs of a few thousand rows; training runs it once per candidate, so it stays cheap.
BOOTSTRAP_DRAWS = 400
CONFIDENCE = 0.95
DRAW_CHUNK = 25
MODEL = "model"
LOGISTIC = "logistic"
PAST_FINDINGS = "past_findings"
DAYS_SINCE_INSPECTION = "days_since_inspection"
# Chinese names of the competitors, for the model card and the reasons shown on scores.
COMPETITOR_NAMES = {
    LOGISTIC: "正则化逻辑回归模型",
    PAST_FINDINGS: "按近一年确认违规数排序",
    DAYS_SINCE_INSPECTION: "按距上次巡查天数排序",
}
MSG_PASSED = (
    "风险模型在后一时段的留出数据上优于所有对照排序（前{k:.0%}命中率之比的 95% 区间均高于 1 倍）"
)
MSG_FAILED = (
    "风险模型未显著优于{name}（前{k:.0%}命中率为其 {ratio} 倍，95% 区间 {low}–{high}），"
    "暂不用于调整信用分"
)
MSG_NO_HOLDOUT = "留出期没有可比较的违规样本，无法证明风险模型优于简单排序"


def simple_rankings(features: pd.DataFrame) -> dict[str, np.ndarray]:
    """The rankings a planner has without a model (higher = inspect first)."""
    past = (features["minor_365d"] + features["ordinary_365d"] + features["serious_365d"]).to_numpy(
        dtype=float
    )
    return {
        PAST_FINDINGS: past,
        DAYS_SINCE_INSPECTION: features["days_since_last_inspection"].to_numpy(dtype=float),
    }


@dataclass(frozen=True)
class Comparison:
    competitor: str
    model_precision: float
    competitor_precision: float
    ratio: float  # model ÷ competitor precision@k on the hold-out; nan when undefined
    low: float  # bootstrap interval of the ratio
    high: float

    @property
    def beaten(self) -> bool:
        return not math.isnan(self.low) and self.low > 1.0

    def as_dict(self) -> dict:
        return {
            "competitor": self.competitor,
            "competitor_name": COMPETITOR_NAMES.get(self.competitor, self.competitor),
            "model_precision": self.model_precision,
            "competitor_precision": self.competitor_precision,
            "ratio": self.ratio,
            "interval": [self.low, self.high],
            "beaten": self.beaten,
        }


@dataclass(frozen=True)
class GateResult:
    passed: bool
    k: float
    comparisons: tuple[Comparison, ...]
    reason_zh: str  # one sentence for the model card and for the scores it gates

    def best_simple_ranking(self) -> str | None:
        """The simple ranking with the highest hold-out precision: the planner's fallback."""
        simple = [c for c in self.comparisons if c.competitor != LOGISTIC]
        if not simple:
            return None
        return max(simple, key=lambda c: _finite(c.competitor_precision)).competitor

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "k": self.k,
            "confidence": CONFIDENCE,
            "bootstrap_draws": BOOTSTRAP_DRAWS,
            "comparisons": [c.as_dict() for c in self.comparisons],
            "best_simple_ranking": self.best_simple_ranking(),
            "reason": self.reason_zh,
        }


def promotion_gate(
    y_true,
    model_scores,
    competitors: Mapping[str, np.ndarray],
    *,
    k: float = 0.1,
    draws: int = BOOTSTRAP_DRAWS,
    random_state: int = 0,
) -> GateResult:
    """Compare the model's hold-out ranking with every competitor's (see the module docstring)."""
    y = np.asarray(y_true, dtype=np.int64)
    rankings = {MODEL: np.asarray(model_scores, dtype=float)}
    rankings.update({name: np.asarray(other, dtype=float) for name, other in competitors.items()})
    drawn = _bootstrap_precisions(y, rankings, draws=draws, k=k, random_state=random_state)
    comparisons = tuple(_compare(name, y, rankings, drawn, k) for name in rankings if name != MODEL)
    passed = bool(comparisons) and all(c.beaten for c in comparisons)
    reason = _reason(comparisons, k)
    return GateResult(passed=passed, k=k, comparisons=comparisons, reason_zh=reason)


def gate_from_dict(stored: Mapping | None) -> GateResult | None:
    """The gate result stored with a model's metrics (None for a model trained before gates)."""
    if not stored or "comparisons" not in stored:
        return None
    comparisons = tuple(
        Comparison(
            competitor=c["competitor"],
            model_precision=_number(c["model_precision"]),
            competitor_precision=_number(c["competitor_precision"]),
            ratio=_number(c["ratio"]),
            low=_number(c["interval"][0]),
            high=_number(c["interval"][1]),
        )
        for c in stored["comparisons"]
    )
    return GateResult(
        passed=bool(stored["passed"]),
        k=float(stored["k"]),
        comparisons=comparisons,
        reason_zh=str(stored.get("reason", "")),
    )


def _compare(name: str, y, rankings, drawn, k: float) -> Comparison:
    model_p = metrics.precision_at_k(y, rankings[MODEL], k) if len(y) else math.nan
    other_p = metrics.precision_at_k(y, rankings[name], k) if len(y) else math.nan
    ratios = _ratios(drawn[MODEL], drawn[name])
    tail = (1 - CONFIDENCE) / 2
    low, high = (
        (float(np.quantile(ratios, tail)), float(np.quantile(ratios, 1 - tail)))
        if len(ratios)
        else (math.nan, math.nan)
    )
    return Comparison(
        competitor=name,
        model_precision=model_p,
        competitor_precision=other_p,
        ratio=model_p / other_p if other_p else math.nan,
        low=low,
        high=high,
    )


def _bootstrap_precisions(
    y: np.ndarray, rankings: dict[str, np.ndarray], *, draws: int, k: float, random_state: int
) -> dict[str, np.ndarray]:
    """precision@k of every ranking on the same bootstrap draws of the hold-out rows. Draws are
    made DRAW_CHUNK at a time, so a province hold-out (100,000 rows) never holds all 400 draws
    in memory at once; the top k of a draw is found by partition, not a full sort (ties at the
    cut are broken without looking at the labels, as a stable sort of a random draw is)."""
    if not len(y):
        return {name: np.zeros(0) for name in rankings}
    rng = np.random.default_rng(random_state)
    top = metrics.top_k_count(len(y), k)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in rankings}
    for start in range(0, draws, DRAW_CHUNK):
        samples = rng.integers(0, len(y), size=(min(DRAW_CHUNK, draws - start), len(y)))
        labels = y[samples]
        for name, scores in rankings.items():
            if top < len(y):
                chosen = np.argpartition(-scores[samples], top - 1, axis=1)[:, :top]
                hits = np.take_along_axis(labels, chosen, axis=1)
            else:
                hits = labels
            parts[name].append(hits.mean(axis=1))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def _ratios(model: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Ratios of the draws where the competitor found anything (elsewhere undefined)."""
    defined = other > 0
    return model[defined] / other[defined]


def _reason(comparisons: tuple[Comparison, ...], k: float) -> str:
    if not comparisons or all(math.isnan(c.low) for c in comparisons):
        return MSG_NO_HOLDOUT
    failing = [c for c in comparisons if not c.beaten]
    if not failing:
        return MSG_PASSED.format(k=k)
    worst = min(failing, key=lambda c: _finite(c.low))
    return MSG_FAILED.format(
        name=COMPETITOR_NAMES.get(worst.competitor, worst.competitor),
        k=k,
        ratio=_shown(worst.ratio),
        low=_shown(worst.low),
        high=_shown(worst.high),
    )


def _finite(value: float) -> float:
    return -math.inf if value is None or math.isnan(value) else value


def _shown(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2f}"


def _number(value) -> float:
    return math.nan if value is None else float(value)
