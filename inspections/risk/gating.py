"""Whether the risk model is live: it moves credit scores and ranks the plan only when it passed
the promotion gate (`ml.gate`, verdict stored with its hold-out metrics), or when staff promoted
it anyway with a recorded reason. Otherwise the model part of every score is 0 with the gate's
verdict as the reason, and the planner ranks by the best simple ranking of that hold-out.

One function for the three places the gate runs: training (does a fresh installation start
with this model?), promotion (refused without a reason) and the nightly scoring.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspections.models import RiskModelStatus, RiskModelVersion
from ml.gate import PAST_FINDINGS, GateResult, gate_from_dict

MSG_NO_MODEL = "尚无启用的风险模型"
MSG_NO_GATE = "该模型训练于上线检验之前，无法证明其优于简单排序，请重新训练"
MSG_NOT_ACTIVE = "该模型版本未启用"
MSG_OVERRIDDEN = "未通过上线检验，由工作人员记录理由后启用：{reason}"


@dataclass(frozen=True)
class ModelStatus:
    live: bool
    reason: str  # one plain-Chinese sentence: why the model is (not) live
    gate: GateResult | None
    fallback: str  # the simple ranking the planner uses while the model is not live

    @property
    def ranking(self) -> str:
        """What ranks the plan's model slots: "model" or a simple ranking's name."""
        return "model" if self.live else self.fallback


def stored_gate(metrics: dict | None) -> GateResult | None:
    """The gate's verdict in a version's metrics (None for a model trained before gates)."""
    return gate_from_dict((metrics or {}).get("holdout", {}).get("gate"))


def gate_of(row: RiskModelVersion) -> GateResult | None:
    return stored_gate(row.metrics)


def model_status(row: RiskModelVersion | None) -> ModelStatus:
    """Whether `row` moves scores and plans; only an active version can."""
    if row is None:
        return ModelStatus(False, MSG_NO_MODEL, None, PAST_FINDINGS)
    gate = gate_of(row)
    fallback = (gate.best_simple_ranking() if gate else None) or PAST_FINDINGS
    if gate is None:
        return ModelStatus(False, MSG_NO_GATE, None, fallback)
    if row.status != RiskModelStatus.ACTIVE:
        return ModelStatus(
            False, gate.reason_zh if not gate.passed else MSG_NOT_ACTIVE, gate, fallback
        )
    if gate.passed:
        return ModelStatus(True, gate.reason_zh, gate, fallback)
    if row.gate_override_reason:
        reason = MSG_OVERRIDDEN.format(reason=row.gate_override_reason)
        return ModelStatus(True, reason, gate, fallback)
    return ModelStatus(False, gate.reason_zh, gate, fallback)
