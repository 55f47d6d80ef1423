"""Credit app tables. Registry (regions, enterprises, staff) lives in `registry.py`; the credit
archive (rulebooks, records, scores, snapshots, blacklist) in the other modules."""

from credit.models.registry import (
    Enterprise,
    EnterpriseStatus,
    Region,
    RegionLevel,
    StaffProfile,
    StaffRole,
)

__all__ = ["Enterprise", "EnterpriseStatus", "Region", "RegionLevel", "StaffProfile", "StaffRole"]
