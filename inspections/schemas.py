"""Shapes more than one interface fills: the evidence of a photo (phone API and bureau API), a
finding under review (bureau API and the review desk page), a plan preview and an approved
plan (bureau API and the planner pages). The bureau API's own schemas are in
`bureau_api.schemas`, the phone's in `mobile_api.schemas`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from ninja import Schema

from inspections.selectors import managing_enterprise_on, photo_links, plan_items

if TYPE_CHECKING:
    from django.http import HttpRequest

    from credit.rulebook import Rulebook
    from inspections.models import Finding, InspectionPlan, Photo, PlanItem
    from inspections.risk.plan_services import PlanPreview


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


# --- plans --------------------------------------------------------------------------------


def preview_out(preview: PlanPreview) -> dict[str, Any]:
    plan = preview.plan
    items = []
    for item in plan.items:
        info = preview.projects[item.project_id]
        enterprise = (
            {"uscc": info.enterprise_uscc, "name": info.enterprise_name}
            if info.enterprise_uscc
            else None
        )
        items.append(
            {
                "rank": item.rank,
                "project": {
                    "id": info.id,
                    "name": info.name,
                    "address": info.address,
                    "region_code": info.region_code,
                    "enterprise": enterprise,
                    "days_since_inspection": info.days_since_inspection,
                    "open_complaints": info.open_complaints,
                },
                "selected_by": item.selected_by,
                "inclusion_probability": item.inclusion_probability,
                "probability": item.probability,
                "reasons": list(item.reasons),
            }
        )
    return {
        "region": preview.region.code,
        "capacity": preview.capacity,
        "start": preview.start,
        "due_date": preview.due_date,
        "seed": preview.seed,
        "random_share": preview.random_share,
        "model_version": preview.model_version,
        "eligible": plan.eligible,
        "random_pool": plan.random_pool,
        "random_slots": plan.random_slots,
        "mandatory_left_out": plan.mandatory_left_out,
        "items": items,
    }


def _item_out(item: PlanItem) -> dict[str, Any]:
    assignee = item.task.assignee
    return {
        "rank": item.rank,
        "project_id": item.project_id,
        "project_name": item.project.name,
        "selected_by": item.selected_by,
        "inclusion_probability": item.inclusion_probability,
        "probability": item.probability,
        "reasons": item.reasons,
        "task": {
            "id": item.task_id,
            "status": item.task.status,
            "assignee_id": assignee.id,
            "assignee_name": assignee.display_name or assignee.user.get_username(),
        },
    }


def plan_out(plan: InspectionPlan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "region": plan.region_id,
        "capacity": plan.capacity,
        "start": plan.start_date,
        "due_date": plan.due_date,
        "seed": plan.seed,
        "random_share": plan.random_share,
        "random_pool": plan.random_pool,
        "random_slots": plan.random_slots,
        "model_version": plan.model_version,
        "approved_by": plan.approved_by.get_username(),
        "created_at": plan.created_at,
        "items": [_item_out(item) for item in plan_items(plan)],
    }
