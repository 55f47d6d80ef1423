"""Inspections app tables. Registry of compounds and contracts in `registry.py`; inspection work
(tasks, inspections, findings) in `work.py`, photos and uploads in `photos.py`, complaints in
`complaints.py`; risk tables in other modules."""

from inspections.models.complaints import Complaint, ComplaintOutcome
from inspections.models.photos import ALLOWED_PHOTO_TYPES, Photo, PhotoState, Upload, UploadState
from inspections.models.registry import (
    Inspector,
    ManagementContract,
    Project,
    ProjectType,
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
    "InspectionStatus",
    "InspectionTask",
    "Inspector",
    "ManagementContract",
    "Photo",
    "PhotoState",
    "Project",
    "ProjectType",
    "ReviewStatus",
    "TaskFeedHead",
    "TaskKind",
    "TaskStatus",
    "Upload",
    "UploadState",
]
