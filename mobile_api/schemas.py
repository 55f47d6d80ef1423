"""Request and response shapes of the mobile API, and the functions that fill the responses.

Field names and codes are fixed by CONTRACTS.md ("Mobile API"). Shaping is explicit (no
`fields="__all__"`): a new model column never leaks to phones by accident.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from django.conf import settings
from ninja import Schema
from pydantic import Field, field_validator

from backend.fields import ClientDateTime
from credit.access import region_codes, region_names, staff_profile_of
from inspections.choices import ALLOWED_PHOTO_TYPES
from inspections.schemas import EvidenceOut
from inspections.selectors import Page, current_enterprise
from inspections.services import Location, PhotoSlot

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from inspections.models import Finding, Inspection, InspectionTask, Photo

# Bodies are typed by phones in the field: generous, but bounded so one request stays small.
MAX_NOTE_CHARS = 2000
MAX_DESCRIPTION_CHARS = 4000
# More than 10 photos of one breach adds nothing for a reviewer and slows 2G uploads.
MAX_PHOTOS_PER_FINDING = 10
# An inspection of a large compound rarely has more than a few dozen findings.
MAX_FINDINGS_PER_INSPECTION = 200
ERR_DUPLICATE_PHOTO = "photo_uuid values must be distinct within a finding"

PhotoContentType = Literal[ALLOWED_PHOTO_TYPES]  # type: ignore[valid-type]


class InspectorOut(Schema):
    id: int
    name: str
    regions: list[str]
    region_names: dict[str, str] = Field(
        description="区划名称 / names of `regions`, by code (呼和浩特市)"
    )


def inspector_out(user: AbstractBaseUser) -> dict:
    profile = staff_profile_of(user)
    return {
        "id": profile.id,
        "name": profile.display_name or user.get_username(),
        "regions": region_codes(user),
        "region_names": region_names(user),
    }


# --- shared pieces ------------------------------------------------------------------------


class LocationIn(Schema):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)

    def to_location(self) -> Location:
        return Location(lat=self.lat, lon=self.lon, accuracy_m=self.accuracy_m)


class LocationOut(Schema):
    lat: float
    lon: float
    accuracy_m: float | None


def location_out(obj) -> dict | None:
    if obj.lat is None or obj.lon is None:
        return None
    return {"lat": obj.lat, "lon": obj.lon, "accuracy_m": obj.accuracy_m}


class EnterpriseOut(Schema):
    uscc: str
    name: str


def enterprise_out(enterprise) -> dict | None:
    return None if enterprise is None else {"uscc": enterprise.uscc, "name": enterprise.name}


# --- catalogue ----------------------------------------------------------------------------


class CatalogueItemOut(Schema):
    code: str
    title: str
    # The rulebook's English title; an empty string where the rulebook gives none.
    title_en: str
    severity: Literal["minor", "ordinary", "serious"]
    points: float
    min_photos: int


class CatalogueOut(Schema):
    rulebook_version: str
    items: list[CatalogueItemOut]


# --- projects and tasks -------------------------------------------------------------------


class TaskProjectOut(Schema):
    id: int
    name: str
    address: str
    region_code: str
    lat: float
    lon: float
    geofence_m: int


class ProjectOut(TaskProjectOut):
    enterprise: EnterpriseOut | None


class ProjectPageOut(Schema):
    items: list[ProjectOut]
    next_cursor: str | None
    has_more: bool


def task_project_out(project) -> dict:
    return {
        "id": project.id,
        "name": project.name,
        "address": project.address,
        "region_code": project.region_id,
        "lat": project.lat,
        "lon": project.lon,
        "geofence_m": project.geofence_m,
    }


def project_out(project) -> dict:
    return {**task_project_out(project), "enterprise": enterprise_out(current_enterprise(project))}


class TaskOut(Schema):
    id: int
    kind: Literal["routine", "special", "complaint", "followup"]
    status: Literal["assigned", "in_progress", "done", "cancelled"]
    due_date: date
    priority_rank: int
    reasons: list[str]
    project: TaskProjectOut
    enterprise: EnterpriseOut | None


class TaskPageOut(Schema):
    items: list[TaskOut]
    next_cursor: str | None
    has_more: bool


def task_out(task: InspectionTask) -> dict:
    return {
        "id": task.id,
        "kind": task.kind,
        "status": task.status,
        "due_date": task.due_date,
        "priority_rank": task.priority_rank,
        "reasons": [str(reason) for reason in task.reasons],
        "project": task_project_out(task.project),
        "enterprise": enterprise_out(current_enterprise(task.project)),
    }


def page_out(page: Page, shape) -> dict:
    return {
        "items": [shape(item) for item in page.items],
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }


# --- inspections, findings, photo slots ---------------------------------------------------


class InspectionIn(Schema):
    task_id: int | None = None
    project_id: int
    started_at: ClientDateTime
    location: LocationIn | None = None
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)


class PhotoSlotIn(Schema):
    photo_uuid: UUID
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    size_bytes: int = Field(ge=1, le=settings.MAX_PHOTO_BYTES)
    content_type: PhotoContentType

    def to_slot(self) -> PhotoSlot:
        return PhotoSlot(
            photo_uuid=self.photo_uuid,
            sha256=self.sha256,
            size_bytes=self.size_bytes,
            content_type=self.content_type,
        )


class FindingIn(Schema):
    violation_code: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    observed_at: ClientDateTime
    location: LocationIn | None = None
    photos: list[PhotoSlotIn] = Field(max_length=MAX_PHOTOS_PER_FINDING)

    @field_validator("photos")
    @classmethod
    def distinct_photos(cls, photos: list[PhotoSlotIn]) -> list[PhotoSlotIn]:
        if len({photo.photo_uuid for photo in photos}) != len(photos):
            raise ValueError(ERR_DUPLICATE_PHOTO)
        return photos


class SubmitIn(Schema):
    finished_at: ClientDateTime
    finding_uuids: list[UUID] = Field(max_length=MAX_FINDINGS_PER_INSPECTION)


class PhotoSlotOut(Schema):
    photo_uuid: UUID
    state: Literal["declared", "uploading", "received", "processed", "rejected"]
    rejection_reason: str | None
    flags: list[str]
    sha256: str
    size_bytes: int
    content_type: str


def photo_slot_out(photo: Photo) -> dict:
    return {
        "photo_uuid": photo.uuid,
        "state": photo.state,
        "rejection_reason": photo.rejection_reason or None,
        "flags": list(photo.flags),
        "sha256": photo.declared_sha256,
        "size_bytes": photo.declared_size,
        "content_type": photo.declared_content_type,
    }


class FindingOut(Schema):
    finding_uuid: UUID
    violation_code: str
    description: str
    observed_at: datetime
    location: LocationOut | None
    review_status: Literal["pending", "confirmed", "rejected"]
    review_comment: str
    reviewed_at: datetime | None
    photos: list[PhotoSlotOut]


def finding_out(finding: Finding) -> dict:
    return {
        "finding_uuid": finding.uuid,
        "violation_code": finding.violation_code,
        "description": finding.description,
        "observed_at": finding.observed_at,
        "location": location_out(finding),
        "review_status": finding.review_status,
        "review_comment": finding.review_comment,
        "reviewed_at": finding.reviewed_at,
        "photos": [photo_slot_out(photo) for photo in finding.photos.all()],
    }


class InspectionOut(Schema):
    inspection_uuid: UUID
    status: Literal["draft", "submitted"]
    project_id: int
    task_id: int | None
    started_at: datetime
    finished_at: datetime | None
    submitted_at: datetime | None
    location: LocationOut | None
    note: str
    findings: list[FindingOut]


def inspection_out(inspection: Inspection) -> dict:
    return {
        "inspection_uuid": inspection.uuid,
        "status": inspection.status,
        "project_id": inspection.project_id,
        "task_id": inspection.task_id,
        "started_at": inspection.started_at,
        "finished_at": inspection.finished_at,
        "submitted_at": inspection.submitted_at,
        "location": location_out(inspection),
        "note": inspection.note,
        "findings": [finding_out(finding) for finding in inspection.findings.all()],
    }


class InspectionListOut(Schema):
    items: list[InspectionOut]


# --- photos -------------------------------------------------------------------------------


class PhotoOut(Schema):
    photo_uuid: UUID
    finding_uuid: UUID
    state: Literal["declared", "uploading", "received", "processed", "rejected"]
    rejection_reason: str | None
    rejection_detail: str | None
    flags: list[str]
    evidence: EvidenceOut
    thumb_url: str | None
    display_url: str | None
    urls_expire_at: datetime | None
