"""What `python -m ml evaluate` adds to the metrics: bootstrap intervals, the lift and
reliability charts as self-contained SVG files, and the features the model leans on.

Pure: arrays in, dicts and SVG text out (no plotting library: the charts are a few lines and
circles, readable in any browser and diff-able in a repository).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

from ml import metrics

INTERVAL_DRAWS = 200
IMPORTANCE_ROWS = 5_000  # permutation importance on a sample of the test rows: seconds, not minutes
IMPORTANCE_REPEATS = 3
TOP_FEATURES = 10
WIDTH, HEIGHT, MARGIN = 480, 360, 48
COLOURS = ("#9b1c1c", "#1d4ed8", "#6b7280")


def intervals(y_true, scores, k: float, *, random_state: int = 0) -> dict[str, list[float]]:
    """95 % bootstrap intervals of precision@k and ROC-AUC (rows drawn with replacement)."""
    y = np.asarray(y_true, dtype=np.int64)
    s = np.asarray(scores, dtype=float)
    rng = np.random.default_rng(random_state)
    precision, auc = [], []
    top = metrics.top_k_count(len(y), k)
    for _ in range(INTERVAL_DRAWS):
        rows = rng.integers(0, len(y), len(y))
        drawn_y, drawn_s = y[rows], s[rows]
        chosen = np.argpartition(-drawn_s, top - 1)[:top] if top < len(y) else slice(None)
        precision.append(drawn_y[chosen].mean())
        if 0 < drawn_y.sum() < len(drawn_y):
            auc.append(roc_auc_score(drawn_y, drawn_s))
    return {"precision_at_k": _quantiles(precision), "roc_auc": _quantiles(auc)}


def top_features(model, X: pd.DataFrame, y, *, random_state: int = 0) -> list[dict]:
    """Mean drop in average precision when a feature's values are shuffled, largest first."""
    y = np.asarray(y, dtype=np.int64)
    if len(y) > IMPORTANCE_ROWS:
        rows = np.random.default_rng(random_state).choice(len(y), IMPORTANCE_ROWS, replace=False)
        X, y = X.iloc[rows], y[rows]
    if y.min() == y.max():
        return []
    result = permutation_importance(
        model,
        X,
        y,
        scoring="average_precision",
        n_repeats=IMPORTANCE_REPEATS,
        random_state=random_state,
    )
    order = np.argsort(-result.importances_mean, kind="stable")[:TOP_FEATURES]
    return [
        {"feature": str(X.columns[i]), "importance": float(result.importances_mean[i])}
        for i in order
    ]


def lift_svg(y_true, rankings: Mapping[str, np.ndarray], *, k: float) -> str:
    """Cumulative gain: share of all positives found against the share of rows inspected, in
    ranking order, for each ranking and for a random order (the diagonal)."""
    y = np.asarray(y_true, dtype=float)
    lines = []
    for colour, (name, scores) in zip(COLOURS, rankings.items(), strict=False):
        order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
        found = np.concatenate([[0.0], np.cumsum(y[order])]) / max(y.sum(), 1.0)
        shares = np.linspace(0, 1, len(found))
        step = max(1, len(found) // 200)
        points = [*zip(shares[::step], found[::step], strict=True), (1.0, 1.0)]
        lines.append((name, colour, points))
    lines.append(("随机 random", COLOURS[-1], [(0.0, 0.0), (1.0, 1.0)]))
    marker = [(k, 0.0), (k, 1.0)]
    return _svg(
        "累计命中：检查前 x% 的项目找到的违规占全部违规的比例 / cumulative gain",
        "检查比例 share inspected",
        "找到的违规 share of violations found",
        lines,
        dashed=[marker],
    )


def reliability_svg(calibration: list[dict]) -> str:
    """Observed rate against mean predicted probability per decile, with the diagonal."""
    points = [(b["mean_predicted"], b["observed_rate"]) for b in calibration]
    top = max([0.05, *(max(p) for p in points)]) if points else 1.0
    scale = min(1.0, math.ceil(top * 10) / 10)
    scaled = [(x / scale, y / scale) for x, y in points]
    return _svg(
        f"可靠性：预测概率与实际违规率（按十分位，坐标至 {scale:.0%}）/ reliability",
        "预测概率 mean predicted",
        "实际违规率 observed rate",
        [("模型 model", COLOURS[0], scaled)],
        dashed=[[(0.0, 0.0), (1.0, 1.0)]],
        dots=True,
    )


def _svg(title, x_label, y_label, lines, *, dashed=(), dots=False) -> str:
    def x(v: float) -> float:
        return round(MARGIN + v * (WIDTH - 2 * MARGIN), 1)

    def y(v: float) -> float:
        return round(HEIGHT - MARGIN - v * (HEIGHT - 2 * MARGIN), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">',
        f"<title>{_escape(title)}</title>",
        f'<text x="{WIDTH / 2}" y="16" text-anchor="middle">{_escape(title)}</text>',
        f'<rect x="{MARGIN}" y="{MARGIN}" width="{WIDTH - 2 * MARGIN}" '
        f'height="{HEIGHT - 2 * MARGIN}" fill="none" stroke="#9aa3b2"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 10}" text-anchor="middle">{_escape(x_label)}</text>',
        f'<text x="12" y="{HEIGHT / 2}" transform="rotate(-90 12 {HEIGHT / 2})" '
        f'text-anchor="middle">{_escape(y_label)}</text>',
    ]
    for segment in dashed:
        coords = " ".join(f"{x(a)},{y(b)}" for a, b in segment)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="#c0c6d0" stroke-dasharray="4 3"/>'
        )
    for index, (name, colour, points) in enumerate(lines):
        coords = " ".join(f"{x(a)},{y(b)}" for a, b in points)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        if dots:
            parts += [f'<circle cx="{x(a)}" cy="{y(b)}" r="3" fill="{colour}"/>' for a, b in points]
        legend_y = MARGIN + 14 + 14 * index
        parts.append(
            f'<text x="{MARGIN + 8}" y="{legend_y}" fill="{colour}">{_escape(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _quantiles(values) -> list[float]:
    if not len(values):
        return [math.nan, math.nan]
    return [float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))]


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
