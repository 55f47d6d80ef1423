"""Credit app tables. Registry (regions, enterprises, staff) lives in `registry.py`; the credit
archive (rulebooks, records, scores, snapshots, blacklist) in the other modules."""

from credit.choices import ObjectionDecision, RecordSource, RegionLevel, StaffRole
from credit.models.archive import (
    CreditRecord,
    Objection,
    RecordKind,
    RecordStatus,
    RepairApplication,
    RepairStatus,
    Severity,
)
from credit.models.registry import (
    Enterprise,
    EnterpriseStatus,
    Region,
    StaffProfile,
)
from credit.models.rulebooks import RulebookVersion
from credit.models.scores import (
    BackboneDesignation,
    BlacklistEntry,
    BlacklistStatus,
    EnterpriseRisk,
    EnterpriseScore,
)
from credit.models.snapshots import (
    ImmutableRowError,
    Snapshot,
    SnapshotEntry,
    SnapshotGradeCount,
)
from credit.models.tender import TenderCall, TenderClient

__all__ = [
    "BackboneDesignation",
    "BlacklistEntry",
    "BlacklistStatus",
    "CreditRecord",
    "Enterprise",
    "EnterpriseRisk",
    "EnterpriseScore",
    "EnterpriseStatus",
    "ImmutableRowError",
    "Objection",
    "ObjectionDecision",
    "RecordKind",
    "RecordSource",
    "RecordStatus",
    "Region",
    "RegionLevel",
    "RepairApplication",
    "RepairStatus",
    "RulebookVersion",
    "Severity",
    "Snapshot",
    "SnapshotEntry",
    "SnapshotGradeCount",
    "StaffProfile",
    "StaffRole",
    "TenderCall",
    "TenderClient",
]
