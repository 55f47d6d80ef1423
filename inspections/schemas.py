"""Schemas of the bureau API parts that live in this app (staff profile, review, complaints)."""

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone
from ninja import Schema
from pydantic import Field

from backend.fields import ClientDate, ClientDateTime
from credit.access import staff_profile_of
from credit.rulebook import Rulebook
from inspections.models import Complaint, Finding, Photo
from inspections.selectors import managing_enterprise_on, photo_links

MAX_COMMENT_CHARS = 2000
MAX_COMPLAINT_CHARS = 4000


class StaffOut(Schema):
    id: int
    name: str
    role: str
    regions: list[str]


def staff_out(user: AbstractBaseUser) -> dict:
    profile = staff_profile_of(user)
    return {
        "id": profile.id,
        "name": profile.display_name or user.get_username(),
        "role": profile.role,
        "regions": sorted(profile.regions.values_list("code", flat=True)),
    }


def absolute(request: HttpRequest, url: str | None) -> str | None:
    """S3 links are absolute already; the embedded store signs paths on this server."""
    return request.build_absolute_uri(url) if url and url.startswith("/") else url


# --- review -------------------------------------------------------------------------------


class EvidenceOut(Schema):
    captured_at: datetime | None
    gps_lat: float | None
    gps_lon: float | None
    width: int | None
    height: int | None
    format: str | None


class ReviewPhotoOut(Schema):
    photo_uuid: UUID
    state: str
    rejection_reason: str | None
    flags: list[str]
    evidence: EvidenceOut
    thumb_url: str | None
    display_url: str | None


class NamedOut(Schema):
    id: int
    name: str


class ReviewProjectOut(Schema):
    id: int
    name: str
    address: str
    region_code: str


class ReviewEnterpriseOut(Schema):
    uscc: str
    name: str


class ReviewFindingOut(Schema):
    finding_uuid: UUID
    inspection_uuid: UUID
    violation_code: str
    violation_title: str | None
    severity: str | None
    description: str
    observed_at: datetime
    submitted_at: datetime | None
    project: ReviewProjectOut
    enterprise: ReviewEnterpriseOut | None
    inspector: NamedOut
    review_status: Literal["pending", "confirmed", "rejected"]
    review_comment: str
    reviewed_at: datetime | None
    credit_record_id: int | None
    photos: list[ReviewPhotoOut]


class ReviewPageOut(Schema):
    items: list[ReviewFindingOut]
    next_cursor: str | None
    has_more: bool


class ReviewDecisionIn(Schema):
    decision: Literal["confirm", "reject"]
    comment: str = Field(default="", max_length=MAX_COMMENT_CHARS)


class ReviewDecisionOut(Schema):
    finding_uuid: UUID
    review_status: Literal["pending", "confirmed", "rejected"]
    review_comment: str
    reviewed_at: datetime | None
    credit_record_id: int | None


def evidence_out(photo: Photo) -> dict:
    return {
        "captured_at": photo.captured_at,
        "gps_lat": photo.gps_lat,
        "gps_lon": photo.gps_lon,
        "width": photo.width,
        "height": photo.height,
        "format": photo.detected_format or None,
    }


def review_photo_out(photo: Photo, request: HttpRequest) -> dict:
    links = photo_links(photo)
    return {
        "photo_uuid": photo.uuid,
        "state": photo.state,
        "rejection_reason": photo.rejection_reason or None,
        "flags": list(photo.flags),
        "evidence": evidence_out(photo),
        "thumb_url": absolute(request, links.thumb_url),
        "display_url": absolute(request, links.display_url),
    }


def review_finding_out(finding: Finding, *, rulebook: Rulebook, request: HttpRequest) -> dict:
    inspection = finding.inspection
    project = inspection.project
    rule = rulebook.rule(finding.violation_code)
    enterprise = managing_enterprise_on(
        project=project, day=timezone.localdate(finding.observed_at)
    )
    inspector = inspection.inspector
    return {
        "finding_uuid": finding.uuid,
        "inspection_uuid": inspection.uuid,
        "violation_code": finding.violation_code,
        "violation_title": rule.title_zh if rule else None,
        "severity": rule.severity if rule else None,
        "description": finding.description,
        "observed_at": finding.observed_at,
        "submitted_at": inspection.submitted_at,
        "project": {
            "id": project.id,
            "name": project.name,
            "address": project.address,
            "region_code": project.region_id,
        },
        "enterprise": ({"uscc": enterprise.uscc, "name": enterprise.name} if enterprise else None),
        "inspector": {
            "id": inspector.id,
            "name": inspector.display_name or inspector.user.get_username(),
        },
        "review_status": finding.review_status,
        "review_comment": finding.review_comment,
        "reviewed_at": finding.reviewed_at,
        "credit_record_id": finding.credit_record_id,
        "photos": [review_photo_out(photo, request) for photo in finding.photos.all()],
    }


def review_decision_out(finding: Finding) -> dict:
    return {
        "finding_uuid": finding.uuid,
        "review_status": finding.review_status,
        "review_comment": finding.review_comment,
        "reviewed_at": finding.reviewed_at,
        "credit_record_id": finding.credit_record_id,
    }


# --- complaints ---------------------------------------------------------------------------


class ComplaintIn(Schema):
    project_id: int
    text: str = Field(min_length=1, max_length=MAX_COMPLAINT_CHARS)
    received_at: ClientDateTime | None = None
    due_date: ClientDate | None = None


class ComplaintTaskOut(Schema):
    id: int
    kind: str
    status: str
    due_date: date
    assignee: NamedOut


class ComplaintOut(Schema):
    id: int
    project_id: int
    received_at: datetime
    outcome: Literal["open", "confirmed", "unfounded"]
    task: ComplaintTaskOut


def complaint_out(complaint: Complaint) -> dict:
    task = complaint.task
    assignee = task.assignee
    return {
        "id": complaint.id,
        "project_id": complaint.project_id,
        "received_at": complaint.received_at,
        "outcome": complaint.outcome,
        "task": {
            "id": task.id,
            "kind": task.kind,
            "status": task.status,
            "due_date": task.due_date,
            "assignee": {
                "id": assignee.id,
                "name": assignee.display_name or assignee.user.get_username(),
            },
        },
    }
