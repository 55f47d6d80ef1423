"""Nightly scoring (data flow 4): features as of today → active model → compound risks with
reasons → enterprise risks through `credit.services.risks_update` (one bulk upsert that flags the
enterprises and queues one recompute sweep, so the credit blend follows) → drift against the
training population.

Enterprise risk is the mean probability over the compounds it manages today (see
`ml.model.score_enterprises`), and `population_mean` (p_ref of the credit blend) is the mean of
those enterprise probabilities, so an average firm gets no adjustment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from credit.services import RiskRow, risks_update
from inspections.models import Project, ProjectRisk, RiskModelVersion
from inspections.risk.features_orm import event_tables
from inspections.risk.gating import ModelStatus, model_status
from inspections.risk.registry import load_reference, load_scoring_model
from ml import metrics
from ml.features import SEASON_FEATURES, build_features
from ml.model import TrainedModel, predict_proba, score_enterprises
from ml.reasons import explain

BULK_BATCH = 5000
TOP_REASONS = 3
# Per enterprise: its average, then why its riskiest compound stands out.
ENTERPRISE_COMPOUND_REASONS = 2
MSG_ENTERPRISE_MEAN = "所管{n}个项目的平均违规概率{p:.1%}（全体企业平均{mean:.1%}）"
MSG_RISKIEST = "风险最高的项目「{name}」：{reason}"


@dataclass(frozen=True)
class ScoringSummary:
    model_version: str
    compounds: int
    enterprises: int
    population_mean: float
    max_feature_psi: float | None


@dataclass(frozen=True)
class CompoundScores:
    features: pd.DataFrame  # indexed by compound_id
    probability: pd.Series  # indexed by compound_id
    reasons: list[list[str]]  # same order


def _silent(message: str) -> None:
    """Default progress sink: scoring from a task has no console."""


def score_compounds(model: TrainedModel, features: pd.DataFrame) -> CompoundScores:
    probability = predict_proba(model, features)
    reasons = [[reason.text for reason in row] for row in explain(model, features, top=TOP_REASONS)]
    return CompoundScores(
        features=features,
        probability=pd.Series(probability, index=features.index),
        reasons=reasons,
    )


def risk_score_all(
    *, today: date | None = None, progress: Callable[[str], None] = _silent
) -> ScoringSummary | None:
    """Score every compound and enterprise with the active model (or, while none is active, the
    newest model, whose estimates then move no score); None when no model exists."""
    loaded = load_scoring_model()
    if loaded is None:
        return None
    today = today or timezone.localdate()
    progress(f"模型 model {loaded.row.version}：读取数据 reading events …")
    tables = event_tables(as_of=today)
    features = build_features(tables, today)
    progress(f"评分 scoring {len(features)} compounds …")
    scores = score_compounds(loaded.model, features)
    managed = tables.compounds[tables.compounds["enterprise_id"] > 0]
    enterprises = score_enterprises(scores.probability, managed)
    population_mean = float(enterprises["p"].mean()) if len(enterprises) else 0.0
    with transaction.atomic():
        _write_project_risks(scores, loaded.row.version)
        progress(f"写入企业风险 updating {len(enterprises)} enterprises …")
        _write_enterprise_risks(
            scores, managed, enterprises, population_mean, loaded.row, model_status(loaded.row)
        )
        max_psi = _record_drift(loaded.row, scores, today)
    progress("完成 done")
    return ScoringSummary(
        model_version=loaded.row.version,
        compounds=len(features),
        enterprises=len(enterprises),
        population_mean=population_mean,
        max_feature_psi=max_psi,
    )


def _write_project_risks(scores: CompoundScores, version: str) -> None:
    now = timezone.now()
    rows = [
        ProjectRisk(
            project_id=int(compound_id),
            probability=float(p),
            reasons=reasons,
            model_version=version,
            scored_at=now,
        )
        for compound_id, p, reasons in zip(
            scores.probability.index, scores.probability.to_numpy(), scores.reasons, strict=True
        )
    ]
    ProjectRisk.objects.bulk_create(
        rows,
        batch_size=BULK_BATCH,
        update_conflicts=True,
        unique_fields=["project"],
        update_fields=["probability", "reasons", "model_version", "scored_at"],
    )


def _write_enterprise_risks(
    scores: CompoundScores,
    managed: pd.DataFrame,
    enterprises: pd.DataFrame,
    population_mean: float,
    row: RiskModelVersion,
    status: ModelStatus,
) -> None:
    """The enterprise estimates with their reasons; while the model is not live (the gate, see
    inspections.risk.gating) they are stored for the model card but move no score, and every
    firm's model line is the gate's verdict instead of the model's reasons."""
    riskiest = _riskiest_compound(scores, managed)
    names = dict(Project.objects.filter(pk__in=riskiest.to_list()).values_list("id", "name"))
    reasons_of = dict(zip(scores.probability.index, scores.reasons, strict=True))
    rows = []
    for enterprise_id, p, n in enterprises[["enterprise_id", "p", "n_compounds"]].itertuples(
        index=False
    ):
        compound_id = int(riskiest[enterprise_id])
        reasons = [MSG_ENTERPRISE_MEAN.format(n=int(n), p=p, mean=population_mean)] + [
            MSG_RISKIEST.format(name=names.get(compound_id, compound_id), reason=text)
            for text in reasons_of[compound_id][:ENTERPRISE_COMPOUND_REASONS]
        ]
        if not status.live:
            reasons = [status.reason]
        rows.append(
            RiskRow(enterprise_id=int(enterprise_id), probability=float(p), reasons=reasons)
        )
    # One bulk upsert, one audit entry and one queued sweep for the whole run. The run covers
    # every enterprise managing a compound today: any other firm's old estimate is withdrawn.
    risks_update(
        risks=rows,
        model_version=row.version,
        population_mean=population_mean,
        withdraw_others=True,
        live=status.live,
    )


def _riskiest_compound(scores: CompoundScores, managed: pd.DataFrame) -> pd.Series:
    """compound_id of each enterprise's highest-probability compound (ties: lowest id)."""
    frame = pd.DataFrame(
        {
            "enterprise_id": managed["enterprise_id"].to_numpy(),
            "compound_id": managed["compound_id"].to_numpy(),
            "p": scores.probability.reindex(managed["compound_id"].to_numpy()).to_numpy(),
        }
    ).sort_values(["enterprise_id", "p", "compound_id"], ascending=[True, False, True])
    return frame.groupby("enterprise_id", sort=True)["compound_id"].first()


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
    """PSI of each feature shared by both frames, NaN values left out (an unknown value is not a
    shift of the distribution); features empty on either side are skipped, and so is the season
    (the cutoff month is one value per population: it always "drifts" between two dates)."""
    drift = {}
    for column in reference.columns:
        if column not in current.columns or column in SEASON_FEATURES:
            continue
        expected = reference[column].to_numpy(dtype=float)
        actual = current[column].to_numpy(dtype=float)
        expected, actual = expected[~np.isnan(expected)], actual[~np.isnan(actual)]
        if len(expected) and len(actual):
            drift[column] = metrics.psi(expected, actual)
    return drift


def _record_drift(row: RiskModelVersion, scores: CompoundScores, today: date) -> float | None:
    reference = load_reference(row)
    if reference is None:
        return None
    current = scores.features.reset_index(drop=True).assign(
        probability=scores.probability.to_numpy()
    )
    drift = feature_drift(reference, current)
    row.drift = {name: round(value, 6) for name, value in drift.items()}
    row.drift_as_of = today
    row.save(update_fields=["drift", "drift_as_of", "updated_at"])
    features_only = [v for k, v in drift.items() if k != "probability"]
    return max(features_only) if features_only else None
