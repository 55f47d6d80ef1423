"""Every write to the credit archive, one module per subject. Keyword-only arguments, one
transaction each, audited; failures raise `backend.exceptions` domain errors. Import from here.

Scores are never written by the actions themselves: an action marks the enterprise dirty in its
own transaction and queues `credit.recompute_enterprise` on commit (`common.py`); the periodic
sweeper (`credit.recompute.sweep`) picks up anything whose message was lost.
"""

from credit.services.backbone import backbone_designate, backbone_end
from credit.services.blacklist import (
    AUTO_PROPOSAL_REASON,
    blacklist_approve,
    blacklist_follow_records,
    blacklist_propose,
)
from credit.services.common import enterprise_mark_dirty
from credit.services.records import (
    objection_file,
    objection_resolve,
    objection_window_working_days,
    record_create,
    record_period,
    repair_apply,
    repair_decide,
    repair_earliest,
)
from credit.services.risk import (
    RiskRow,
    enterprise_scale_update,
    enterprise_scales_update,
    enterprises_mark_dirty,
    risk_update,
    risks_update,
)
from credit.services.rulebooks import ERR_RULEBOOK_VERSION_TAKEN, rulebook_version_create
from credit.workdays import today_local

__all__ = [
    "AUTO_PROPOSAL_REASON",
    "ERR_RULEBOOK_VERSION_TAKEN",
    "RiskRow",
    "backbone_designate",
    "backbone_end",
    "blacklist_approve",
    "blacklist_follow_records",
    "blacklist_propose",
    "enterprise_mark_dirty",
    "enterprise_scale_update",
    "enterprise_scales_update",
    "enterprises_mark_dirty",
    "objection_file",
    "objection_resolve",
    "objection_window_working_days",
    "record_create",
    "record_period",
    "repair_apply",
    "repair_decide",
    "repair_earliest",
    "risk_update",
    "risks_update",
    "rulebook_version_create",
    "today_local",
]
