"""Inspections app tables. Registry of compounds and contracts in `registry.py`; inspection work
(tasks, inspections, findings, photos, complaints, review) and risk tables in other modules."""

from inspections.models.registry import (
    Inspector,
    ManagementContract,
    Project,
    ProjectType,
)

__all__ = ["Inspector", "ManagementContract", "Project", "ProjectType"]
