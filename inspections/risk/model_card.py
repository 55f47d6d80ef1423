"""The model card: what bureau staff need to trust (or distrust) the risk model. Read-only.

Everything comes from the registry row (hold-out metrics and segments written at training,
drift written by the latest scoring), so showing the card never opens the artifact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from backend.exceptions import NotFound
from credit.access import require_role
from credit.models import Region, StaffRole
from inspections.models import RiskModelStatus, RiskModelVersion
from inspections.risk.charts import CalibrationChart, calibration_chart
from inspections.risk.gating import model_status
from inspections.risk.registry import access_version, scoring_version
from ml.gate import COMPETITOR_NAMES

CARD_ROLES = (StaffRole.REVIEWER, StaffRole.ADMIN)
# Usual credit-scoring reading of the PSI (also in ml.metrics.psi).
PSI_WATCH, PSI_RETRAIN = 0.1, 0.25
HISTORY_LENGTH = 20

ERR_NO_MODEL = "尚无启用的风险模型。"
RANKING_LABELS = {"model": "风险模型", **COMPETITOR_NAMES}


@dataclass(frozen=True)
class DriftRow:
    feature: str
    psi: float
    level: str  # stable | watch | retrain


@dataclass(frozen=True)
class SegmentRow:
    segment: str
    label: str
    n: int
    base_rate: float
    selected: int
    selection_rate: float
    precision: float | None


@dataclass(frozen=True)
class VersionRow:
    version: str
    status: str
    status_label: str
    trained_at: datetime
    data_until: date
    promoted_at: datetime | None
    promoted_by: str | None
    roc_auc: float | None
    precision_at_k: float | None


@dataclass(frozen=True)
class ModelCard:
    version: str
    status: str
    trained_at: datetime
    data_until: date
    metadata: dict[str, Any]
    holdout: dict[str, Any]
    calibration: list[dict[str, Any]]
    chart: CalibrationChart | None
    leagues: tuple[SegmentRow, ...]
    sizes: tuple[SegmentRow, ...]
    drift: tuple[DriftRow, ...]
    drift_as_of: date | None
    history: tuple[VersionRow, ...]
    live: bool  # the model moves scores and ranks plans (see inspections.risk.gating)
    live_reason: str  # why, in one plain-Chinese sentence
    ranking_label: str  # what ranks the plans now: the model, or a simple ranking
    gate: dict[str, Any]  # ml.gate verdict: each competitor with its ratio interval
    gate_override_reason: str
    calibration_checks: tuple[dict[str, Any], ...]  # the monthly re-checks, newest first
    oracle: dict[str, Any]  # demo only: the simulated truth's precision and model ÷ oracle


def psi_level(value: float) -> str:
    if value > PSI_RETRAIN:
        return "retrain"
    if value >= PSI_WATCH:
        return "watch"
    return "stable"


def _segments(rows: list[dict[str, Any]], labels: dict[str, str]) -> tuple[SegmentRow, ...]:
    return tuple(
        SegmentRow(
            segment=row["segment"],
            label=labels.get(row["segment"], row["segment"]),
            n=row["n"],
            base_rate=row["base_rate"],
            selected=row["selected"],
            selection_rate=row["selection_rate"],
            precision=row["precision"],
        )
        for row in rows
    )


def _history() -> tuple[VersionRow, ...]:
    rows = RiskModelVersion.objects.select_related("promoted_by").order_by("-trained_at", "-id")
    return tuple(
        VersionRow(
            version=row.version,
            status=row.status,
            status_label=row.get_status_display(),
            trained_at=row.trained_at,
            data_until=row.data_until,
            promoted_at=row.promoted_at,
            promoted_by=row.promoted_by.get_username() if row.promoted_by else None,
            roc_auc=row.metrics.get("holdout", {}).get("model", {}).get("roc_auc"),
            precision_at_k=row.metrics.get("holdout", {}).get("model", {}).get("precision_at_k"),
        )
        for row in rows[:HISTORY_LENGTH]
    )


def model_card(*, user: AbstractBaseUser, version: str | None = None) -> ModelCard:
    """The card of `version`, or of the active model; 404 `no_model` when there is none."""
    require_role(user, *CARD_ROLES)
    if version is not None:
        row = access_version(version)
    else:
        # No active model yet: the newest one, with why it is not live.
        row = scoring_version()
        if row is None:
            raise NotFound("no_model", ERR_NO_MODEL)
    holdout = row.metrics.get("holdout", {})
    segments = row.metrics.get("segments", {})
    league_rows = segments.get("league", [])
    names = dict(
        Region.objects.filter(code__in=[r["segment"] for r in league_rows]).values_list(
            "code", "name"
        )
    )
    calibration = holdout.get("model", {}).get("calibration", [])
    drift = sorted(row.drift.items(), key=lambda item: (-item[1], item[0]))
    status = model_status(row)
    return ModelCard(
        version=row.version,
        status=row.status,
        trained_at=row.trained_at,
        data_until=row.data_until,
        metadata=row.metadata,
        holdout=holdout,
        calibration=calibration,
        chart=calibration_chart(calibration),
        leagues=_segments(league_rows, names),
        sizes=_segments(segments.get("size", []), {}),
        drift=tuple(DriftRow(name, value, psi_level(value)) for name, value in drift),
        drift_as_of=row.drift_as_of,
        history=_history(),
        live=status.live and row.status == RiskModelStatus.ACTIVE,
        live_reason=status.reason,
        ranking_label=RANKING_LABELS.get(status.ranking, status.ranking)
        # The current card (no version asked for) shows what ranks the plans now.
        if version is None or row.status == RiskModelStatus.ACTIVE
        else "",
        gate=holdout.get("gate", {}),
        gate_override_reason=row.gate_override_reason,
        calibration_checks=tuple(reversed(row.calibration_checks or [])),
        oracle=row.metrics.get("oracle", {}),
    )
