"""Inspections app tables. Registry of compounds and contracts in `registry.py`; inspection work
(tasks, inspections, findings) in `work.py`, photos and uploads in `photos.py`, complaints in
`complaints.py`; risk model registry, risk estimates and
inspection plans in `risk.py`."""

from inspections.choices import ALLOWED_PHOTO_TYPES, SelectedBy
from inspections.models.complaints import Complaint, ComplaintOutcome
from inspections.models.photos import Photo, PhotoState, Upload, UploadState
from inspections.models.registry import (
    Inspector,
    ManagementContract,
    Project,
    ProjectType,
)
from inspections.models.reports import MonthlyReport, StatisticFact, StatisticsRefresh
from inspections.models.risk import (
    InspectionPlan,
    PlanItem,
    ProjectRisk,
    RiskModelStatus,
    RiskModelVersion,
)
from inspections.models.work import (
    Finding,
    Inspection,
    InspectionStatus,
    InspectionTask,
    ReviewStatus,
    TaskFeedHead,
    TaskKind,
    TaskStatus,
)

__all__ = [
    "ALLOWED_PHOTO_TYPES",
    "Complaint",
    "ComplaintOutcome",
    "Finding",
    "Inspection",
    "InspectionPlan",
    "InspectionStatus",
    "InspectionTask",
    "Inspector",
    "ManagementContract",
    "MonthlyReport",
    "Photo",
    "PhotoState",
    "PlanItem",
    "Project",
    "ProjectRisk",
    "ProjectType",
    "ReviewStatus",
    "RiskModelStatus",
    "RiskModelVersion",
    "SelectedBy",
    "StatisticFact",
    "StatisticsRefresh",
    "TaskFeedHead",
    "TaskKind",
    "TaskStatus",
    "Upload",
    "UploadState",
]
