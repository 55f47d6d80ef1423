"""Top reasons per row in plain Chinese, from the logistic explainer's contributions.

Contribution of feature j for a row = coefficient_j * (transformed value_j - population mean_j)
/ scale_j, i.e. how far the row's log-odds moves from the training population's because of
that feature (the scaler's mean and scale are the training population's). Rows are explained
by the logistic baseline even when ranked by the boosted model: its additive contributions are
exact for itself and a faithful summary of a model that is itself close to additive.

Only features with a readable sentence take part (a "type_hospital = 0" is no reason), and an
amount of nothing ("近365天有0次严重违规") never raises risk: when a rare count has a negative
coefficient, a zero sits above the population's mean contribution, which is arithmetic, not a
reason a planner can act on. Order: largest absolute contribution first, ties by feature order;
``top`` (default 3) per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ml.features import DAYS_SINCE_CAP
from ml.model import TrainedModel

DEFAULT_TOP = 3
DAYS_PER_MONTH = 30.44  # mean Gregorian month
# A 180-day window starting in April or May ends before November: the only winter-free ones.
NO_WINTER_START_MONTHS = (4, 5)

SEVERITY_WORDS = {"minor": "轻微", "ordinary": "一般", "serious": "严重"}
TYPE_WORDS = {
    "residential": "住宅小区",
    "office": "办公楼",
    "factory": "厂区",
    "hospital": "医院（人员密集）",
    "school": "学校（人员密集）",
    "mall": "商场（人员密集）",
    "hotel": "酒店",
    "public": "公共建筑",
}


@dataclass(frozen=True)
class Reason:
    feature: str
    text: str  # plain Chinese, e.g. "近180天有3次确认的一般违规"
    contribution: float  # change in log-odds against the population; > 0 raises risk

    @property
    def raises_risk(self) -> bool:
        return self.contribution > 0


def explain(
    model: TrainedModel,
    X: pd.DataFrame,
    *,
    top: int = DEFAULT_TOP,
    direction: Literal["raises", "lowers", "both"] = "raises",
) -> list[tuple[Reason, ...]]:
    """Up to ``top`` reasons for each row of ``X`` (same order as ``X``).

    ``direction="raises"`` (planners: why inspect this one) keeps contributions > 0,
    ``"lowers"`` those < 0, ``"both"`` all of them.
    """
    contributions = contribution_matrix(model, X)
    values = X.loc[:, list(model.feature_names)].to_numpy(dtype=float)
    names = model.feature_names
    result = []
    for row_values, row_contrib in zip(values, contributions, strict=True):
        texts = [_text(name, value) for name, value in zip(names, row_values, strict=True)]
        candidates = [
            j
            for j, text in enumerate(texts)
            if text is not None
            and _wanted(row_contrib[j], direction)
            and not _nothing_raises(names[j], row_values[j], row_contrib[j])
        ]
        # Stable sort on -|c| keeps feature order among equal contributions.
        ranked = sorted(candidates, key=lambda j: -abs(row_contrib[j]))[:top]
        result.append(tuple(Reason(names[j], texts[j], float(row_contrib[j])) for j in ranked))
    return result


def _wanted(contribution: float, direction: str) -> bool:
    if direction == "raises":
        return contribution > 0
    if direction == "lowers":
        return contribution < 0
    return True


def _nothing_raises(feature: str, value: float, contribution: float) -> bool:
    template = TEMPLATES.get(feature)
    return contribution > 0 and isinstance(template, _Count) and template.rounded(value) == 0


def contribution_matrix(model: TrainedModel, X: pd.DataFrame) -> np.ndarray:
    """(rows, features) log-odds contributions against the training population."""
    pipeline = model.explainer
    frame = X.loc[:, list(model.feature_names)].astype(float)
    standardised = pipeline[:-1].transform(frame)
    return standardised * pipeline[-1].coef_[0]


@dataclass(frozen=True)
class _Count:
    """A sentence about an amount of something, shown with ``digits`` decimals."""

    template: str  # with an ``{n}`` field
    digits: int = 0

    def rounded(self, value: float) -> float:
        return round(value, self.digits) if self.digits else round(value)

    def __call__(self, value: float) -> str:
        return self.template.format(n=self.rounded(value))


def _count(template: str) -> _Count:
    return _Count(template)


def _flag(text: str) -> Callable[[float], str | None]:
    return lambda value: text if value >= 1 else None


def _days_since_inspection(value: float) -> str:
    if value >= DAYS_SINCE_CAP:
        return "两年以上未巡查"
    months = int(value // DAYS_PER_MONTH)
    return f"已{months}个月未巡查" if months >= 1 else f"{round(value)}天前刚巡查过"


def _days_since_violation(value: float) -> str:
    if value >= DAYS_SINCE_CAP:
        return "两年以上无一般及以上违规"
    months = int(value // DAYS_PER_MONTH)
    return f"最近一次一般及以上违规在{months}个月前" if months >= 1 else "本月内有一般及以上违规"


def _history_templates() -> dict[str, Callable[[float], str | None]]:
    templates: dict[str, Callable[[float], str | None]] = {}
    for severity, word in SEVERITY_WORDS.items():
        for window in (90, 180, 365):
            templates[f"{severity}_{window}d"] = _count(f"近{window}天有{{n}}次确认的{word}违规")
    return templates


TEMPLATES: dict[str, Callable[[float], str | None]] = {
    **_history_templates(),
    "inspections_365d": _count("近365天巡查{n}次"),
    "violation_visits_365d": _count("近365天有{n}次巡查发现一般及以上违规"),
    "days_since_last_inspection": _days_since_inspection,
    "never_inspected": _flag("从未巡查"),
    "days_since_last_violation": _days_since_violation,
    "complaints_180d": _count("近180天收到{n}件投诉"),
    "complaints_365d": _count("近365天收到{n}件投诉"),
    "area_10k_m2": lambda v: f"建筑面积{v:.1f}万平方米",
    "building_age_years": lambda v: f"楼龄{round(v)}年",
    "old_compound": lambda v: "老旧小区（2000年前建成）" if v >= 1 else "非老旧小区",
    **{f"type_{name}": _flag(f"项目类型：{word}") for name, word in TYPE_WORDS.items()},
    "ent_compounds": _count("所属企业管理{n}个项目"),
    "ent_inspections_365d": _count("所属企业近365天被巡查{n}次"),
    "ent_violation_rate_365d": lambda v: f"所属企业近365天巡查违规率{v:.0%}",
    "ent_minor_per_visit_365d": _Count("所属企业近365天每次巡查平均{n:.1f}项轻微问题", digits=1),
    "ent_serious_365d": _count("所属企业近365天有{n}次严重违规"),
    "ent_complaints_180d_per_compound": _Count(
        "所属企业近180天每个项目平均{n:.1f}件投诉", digits=1
    ),
    "ent_awards_1095d": _count("所属企业近三年获{n}项表彰"),
    "cutoff_month": lambda v: (
        "预测期不含冬季"
        if round(v) in NO_WINTER_START_MONTHS
        else "预测期含冬季（冰雪、供暖问题多发）"
    ),
}


def _text(feature: str, value: float) -> str | None:
    if np.isnan(value):
        return None
    template = TEMPLATES.get(feature)
    if template is None:  # analyst tables: columns we have no sentence for
        return f"{feature} = {value:g}"
    return template(value)
