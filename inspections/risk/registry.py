"""Risk model versions: register a trained model, promote one, roll back, load the active one.

The artifact bytes live in the object store (`risk-models/<version>/model.zip`, written before
the row, so a row always points at an object); the row is the registry. A version's status
moves candidate → active → retired; promoting a version retires the one that was active, a
rollback re-activates the version promoted before the current one. Both change credit scores
(the nightly blend uses the active model), so both are audited and queue a scoring run.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from backend.audit import SYSTEM_ACTOR, actor_name, audit_append
from backend.exceptions import Conflict, NotFound, Unavailable
from backend.queueing import enqueue_on_commit
from backend.storage import get_store
from credit.access import require_role
from credit.models import StaffRole
from inspections.models import RiskModelStatus, RiskModelVersion
from inspections.risk.gating import stored_gate
from inspections.task_names import SCORE_RISK_TASK
from ml import persistence
from ml.model import TrainedModel

KEY_PREFIX = "risk-models"
MODEL_CONTENT_TYPE = "application/zip"
# A boosted model of 300 small trees is a few MB; 200 MB refuses garbage without refusing a
# model trained on millions of rows.
MAX_ARTIFACT_BYTES = 200 * 1024 * 1024

ERR_VERSION_NOT_FOUND = "未找到该模型版本。"
ERR_NO_ACTIVE_MODEL = "尚无启用的风险模型。"
ERR_NOT_ACTIVE = "只能回退当前启用的模型版本。"
ERR_NO_PREVIOUS = "没有更早启用过的模型版本可以回退。"
ERR_ARTIFACT_MISSING = "模型文件不在对象存储中：{key}"
ERR_FAILED_GATE = "该模型未通过上线检验（{verdict}）；如仍要启用，须填写理由。"
ERR_NO_GATE = "训练时尚无上线检验"


@dataclass(frozen=True)
class LoadedModel:
    row: RiskModelVersion
    model: TrainedModel


def model_key(version: str) -> str:
    return f"{KEY_PREFIX}/{version}/model.zip"


def reference_key(version: str) -> str:
    return f"{KEY_PREFIX}/{version}/reference.npz"


def reference_to_bytes(features: pd.DataFrame) -> bytes:
    """Feature sample as .npz: plain arrays, read back with allow_pickle=False."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        columns=np.array(list(features.columns), dtype=str),
        values=features.to_numpy(dtype=np.float32),
    )
    return buffer.getvalue()


def reference_from_bytes(data: bytes) -> pd.DataFrame:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return pd.DataFrame(archive["values"], columns=[str(c) for c in archive["columns"]])


def risk_model_register(
    *,
    model: TrainedModel,
    reference: pd.DataFrame,
    metrics: dict[str, Any],
    data_until: date,
    trained_at: datetime | None = None,
) -> RiskModelVersion:
    """Store the artifact and the training sample, then the registry row (candidate; active when
    no model is active yet, so a fresh installation starts scoring after its first training).
    Registering a version that exists returns that row unchanged: retraining on the same data
    with the same settings gives the same version."""
    existing = RiskModelVersion.objects.filter(version=model.version).first()
    if existing is not None:
        return existing
    verdict = stored_gate(metrics)
    gate_passed = verdict is not None and verdict.passed
    trained_at = trained_at or timezone.now()
    store = get_store()
    store.put_bytes(
        model_key(model.version),
        persistence.dumps(model, created_at=trained_at),
        content_type=MODEL_CONTENT_TYPE,
    )
    store.put_bytes(reference_key(model.version), reference_to_bytes(reference))
    with transaction.atomic():
        # A fresh installation starts with its first model only if it passed the gate.
        first = gate_passed and not (
            RiskModelVersion.objects.filter(status=RiskModelStatus.ACTIVE).exists()
        )
        row = RiskModelVersion(
            version=model.version,
            object_key=model_key(model.version),
            reference_key=reference_key(model.version),
            metadata=dict(model.metadata),
            metrics=metrics,
            status=RiskModelStatus.ACTIVE if first else RiskModelStatus.CANDIDATE,
            trained_at=trained_at,
            data_until=data_until,
            promoted_at=trained_at if first else None,
        )
        row.full_clean()
        row.save()
        audit_append(
            actor=SYSTEM_ACTOR,
            action="risk_model.registered",
            object_type="risk_model_version",
            object_id=row.version,
            payload={
                "status": row.status,
                "data_until": data_until.isoformat(),
                "gate_passed": gate_passed,
            },
        )
    return row


def access_version(version: str, *, for_update: bool = False) -> RiskModelVersion:
    queryset = RiskModelVersion.objects.all()
    if for_update:
        queryset = queryset.select_for_update()
    row = queryset.filter(version=version).first()
    if row is None:
        raise NotFound("unknown_model_version", ERR_VERSION_NOT_FOUND)
    return row


def active_version() -> RiskModelVersion | None:
    return RiskModelVersion.objects.filter(status=RiskModelStatus.ACTIVE).first()


def _activate(
    row: RiskModelVersion, *, user: AbstractBaseUser, action: str, reason: str = ""
) -> RiskModelVersion:
    previous = (
        RiskModelVersion.objects.select_for_update()
        .filter(status=RiskModelStatus.ACTIVE)
        .exclude(pk=row.pk)
        .first()
    )
    if previous is not None:
        previous.status = RiskModelStatus.RETIRED
        previous.save(update_fields=["status", "updated_at"])
    row.status = RiskModelStatus.ACTIVE
    row.promoted_by = user
    row.promoted_at = timezone.now()
    row.save(update_fields=["status", "promoted_by", "promoted_at", "updated_at"])
    audit_append(
        actor=actor_name(user),
        action=action,
        object_type="risk_model_version",
        object_id=row.version,
        payload={
            "previous": previous.version if previous else None,
            **({"override_reason": reason} if reason else {}),
        },
    )
    # Scores must follow the model the credit blend claims to use.
    enqueue_on_commit(SCORE_RISK_TASK)
    return row


@transaction.atomic
def risk_model_promote(
    *, user: AbstractBaseUser, version: str, reason: str = ""
) -> RiskModelVersion:
    """Make `version` the active model (admins). Promoting the active version changes nothing.
    A model that did not pass the promotion gate (ml.gate) is promoted only with a reason,
    which is recorded on the version and in the audit log (it is then live: see gating)."""
    require_role(user, StaffRole.ADMIN)
    row = access_version(version, for_update=True)
    if row.status == RiskModelStatus.ACTIVE:
        return row
    reason = reason.strip()
    gate = stored_gate(row.metrics)
    if not (gate is not None and gate.passed):
        if not reason:
            verdict = gate.reason_zh if gate is not None else ERR_NO_GATE
            raise Conflict("model_failed_gate", ERR_FAILED_GATE.format(verdict=verdict))
        row.gate_override_reason = reason
        row.save(update_fields=["gate_override_reason", "updated_at"])
    return _activate(row, user=user, action="risk_model.promoted", reason=reason)


@transaction.atomic
def risk_model_rollback(*, user: AbstractBaseUser, version: str) -> RiskModelVersion:
    """Retire the active `version` and re-activate the version promoted before it (admins).
    Returns the re-activated version."""
    require_role(user, StaffRole.ADMIN)
    row = access_version(version, for_update=True)
    if row.status != RiskModelStatus.ACTIVE:
        raise Conflict("model_not_active", ERR_NOT_ACTIVE)
    previous = (
        RiskModelVersion.objects.select_for_update()
        .filter(status=RiskModelStatus.RETIRED, promoted_at__isnull=False)
        .order_by("-promoted_at", "-id")
        .first()
    )
    if previous is None:
        raise Conflict("no_previous_model", ERR_NO_PREVIOUS)
    return _activate(previous, user=user, action="risk_model.rolled_back")


@lru_cache(maxsize=2)
def _loaded(version: str, key: str) -> TrainedModel:
    # Keyed by version and key: a version's artifact never changes once registered.
    data = get_store().read_bytes(key, max_bytes=MAX_ARTIFACT_BYTES)
    if data is None:
        raise Unavailable("model_artifact_missing", ERR_ARTIFACT_MISSING.format(key=key))
    return persistence.loads(data)


def forget_loaded_models() -> None:
    """Drop the in-process model cache (tests that switch object stores, forked workers)."""
    _loaded.cache_clear()


def load_model(row: RiskModelVersion) -> TrainedModel:
    return _loaded(row.version, row.object_key)


def load_active_model() -> LoadedModel | None:
    row = active_version()
    if row is None:
        return None
    return LoadedModel(row=row, model=load_model(row))


def scoring_version() -> RiskModelVersion | None:
    """The version the nightly run scores with: the active one, else the newest registered
    (which failed the promotion gate, or it would have been activated): its estimates are
    then stored but move no score, and the scores say why (inspections.risk.gating)."""
    return active_version() or RiskModelVersion.objects.order_by("-trained_at", "-id").first()


def load_scoring_model() -> LoadedModel | None:
    row = scoring_version()
    return None if row is None else LoadedModel(row=row, model=load_model(row))


def load_reference(row: RiskModelVersion) -> pd.DataFrame | None:
    data = get_store().read_bytes(row.reference_key, max_bytes=MAX_ARTIFACT_BYTES)
    return None if data is None else reference_from_bytes(data)
