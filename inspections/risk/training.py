"""Monthly training: database → event tables → `ml.model.train` → registry.

The time design is `ml.model.plan_cutoffs` on the events known up to yesterday: the hold-out is
the last full 180-day window, training cutoffs step back from one window before it, so no
training label is seen in the hold-out period. Every cutoff sees the managers under the
contracts of its own day (`features_orm.compounds_by_day`), not today's. Cutoffs before the
history starts (a young installation) are dropped: their features would describe an empty past,
not a clean one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.utils import timezone

from backend.exceptions import Conflict
from inspections.models import RiskModelVersion
from inspections.risk.features_orm import compounds_by_day, event_tables
from inspections.risk.registry import risk_model_register
from ml import metrics
from ml.features import EventTables, build_dataset, build_features, tables_at, to_days
from ml.jsonable import to_jsonable
from ml.model import DEFAULT_K, plan_cutoffs, predict_proba, train

# Features need some past to mean anything: a cutoff needs 90 days of recorded inspections
# before it (a quarter: every compound visited at the usual twice-a-year rate has had a chance).
MIN_HISTORY_DAYS = 90
# Drift compares feature distributions; 20,000 rows pin a decile to about ±0.3 percentage
# points and keep the stored sample under a few MB.
REFERENCE_ROWS = 20_000
# Enterprise size by compounds managed: a single-site firm, a local firm, a city player, a group.
SIZE_BUCKETS = (
    (1, 1, "1个项目"),
    (2, 5, "2–5个项目"),
    (6, 20, "6–20个项目"),
    (21, None, "20个以上"),
)

ERR_NOT_ENOUGH_HISTORY = (
    "巡查历史不足：训练需要至少 {days} 天的巡查记录，并覆盖一个完整的 180 天留出期。"
)
ERR_NOT_ENOUGH_LABELS = "巡查结果中违规与未违规的样本太少，无法训练：{detail}"


def _silent(message: str) -> None:
    """Default progress sink: training from a task has no console."""


def risk_model_train(
    *,
    today: date | None = None,
    random_state: int = 0,
    progress: Callable[[str], None] = _silent,
) -> RiskModelVersion:
    """Train on everything known before `today` and register the model (see registry)."""
    today = today or timezone.localdate()
    last_day = today - timedelta(days=1)
    progress("读取巡查、投诉和表彰记录 reading events …")
    tables = event_tables(as_of=today)
    # Managers change partly because of findings: each cutoff must see the managers of its day.
    compounds_at = compounds_by_day()
    train_cutoffs, holdout = usable_cutoffs(tables, last_day=last_day)
    progress(
        f"训练 training on cutoffs {', '.join(c.isoformat() for c in train_cutoffs)}; "
        f"hold-out {holdout.isoformat()} …"
    )
    try:
        model = train(
            tables,
            train_cutoffs=train_cutoffs,
            holdout_cutoff=holdout,
            random_state=random_state,
            compounds_at=compounds_at,
        )
    except ValueError as error:  # too few violations or clean visits among the labels
        raise Conflict("not_enough_labels", ERR_NOT_ENOUGH_LABELS.format(detail=error)) from error
    progress(f"模型 {model.version}：计算分组指标与漂移基准 segments and drift reference …")
    segments = holdout_segments(model, tables_at(tables, holdout, compounds_at), holdout)
    # Drift is measured against the hold-out's population, the latest one the model was
    # checked on: against the latest training cutoff, a year of ordinary change already read
    # as drift on the day the model was trained (PSI 0.39 in the first demo).
    reference = drift_reference(
        model, tables_at(tables, holdout, compounds_at), holdout, random_state=random_state
    )
    row = risk_model_register(
        model=model,
        reference=reference,
        metrics=to_jsonable({"holdout": model.metadata["holdout"], "segments": segments}),
        data_until=last_day,
    )
    progress(f"已登记 registered {row.version}（{row.get_status_display()}）")
    return row


def usable_cutoffs(tables: EventTables, *, last_day: date) -> tuple[list[date], date]:
    train_cutoffs, holdout = plan_cutoffs(last_day)
    days = to_days(tables.inspections["date"])
    if len(days) == 0:
        raise Conflict("not_enough_history", ERR_NOT_ENOUGH_HISTORY.format(days=MIN_HISTORY_DAYS))
    earliest = days.min().astype(date) + timedelta(days=MIN_HISTORY_DAYS)
    usable = [cutoff for cutoff in train_cutoffs if cutoff >= earliest]
    if not usable:
        raise Conflict("not_enough_history", ERR_NOT_ENOUGH_HISTORY.format(days=MIN_HISTORY_DAYS))
    return usable, holdout


def league_of(region_code: str) -> str:
    return region_code[:4] + "00"


def size_bucket(compounds_managed: float) -> str:
    for low, high, label in SIZE_BUCKETS:
        if compounds_managed >= low and (high is None or compounds_managed <= high):
            return label
    return "无在管项目"


def holdout_segments(model, tables: EventTables, holdout: date) -> dict[str, list[dict[str, Any]]]:
    """Precision and selection rate of the model's top 10 % on the hold-out, per league/city and
    per enterprise size: is the model sending inspectors to some places and never others, and is
    it as right there as elsewhere? `tables` carry the compounds (managers) of the hold-out."""
    dataset = build_dataset(tables, [holdout])
    scores = predict_proba(model, dataset.features)
    selected = np.zeros(len(scores), dtype=bool)
    selected[np.argsort(-scores, kind="stable")[: metrics.top_k_count(len(scores), DEFAULT_K)]] = (
        True
    )
    regions = tables.compounds.set_index("compound_id")["region_code"]
    frame = pd.DataFrame(
        {
            "league": [league_of(code) for code in regions.loc[dataset.compound_ids]],
            "size": [size_bucket(v) for v in dataset.features["ent_compounds"]],
            "label": dataset.labels,
            "selected": selected,
        }
    )
    return {"league": _segment_rows(frame, "league"), "size": _segment_rows(frame, "size")}


def _segment_rows(frame: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    rows = []
    for key, group in frame.groupby(column, sort=True):
        chosen = group[group["selected"]]
        rows.append(
            {
                "segment": str(key),
                "n": len(group),
                "base_rate": float(group["label"].mean()),
                "selected": len(chosen),
                "selection_rate": len(chosen) / len(group),
                "precision": float(chosen["label"].mean()) if len(chosen) else None,
            }
        )
    return rows


def drift_reference(model, tables: EventTables, cutoff: date, *, random_state: int) -> pd.DataFrame:
    """Features of every compound at `cutoff` (the hold-out's: the latest population the model
    was checked on; `tables` carry the compounds and managers of that day), with the model's
    probability, sampled down to `REFERENCE_ROWS`."""
    features = build_features(tables, cutoff).reset_index(drop=True)
    if len(features) > REFERENCE_ROWS:
        rows = np.random.default_rng(random_state).choice(
            len(features), REFERENCE_ROWS, replace=False
        )
        features = features.iloc[np.sort(rows)].reset_index(drop=True)
    return features.assign(probability=predict_proba(model, features))
