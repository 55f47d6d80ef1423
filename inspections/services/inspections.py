"""Inspections and findings as phones send them: idempotent PUTs keyed by client UUIDs, and the
submit that closes an inspection once everything it declared has arrived.

Idempotency: the UUID column is unique; a writer looks for the row under a lock, and when two
identical requests race, the loser's INSERT fails on the constraint (PostgreSQL makes it wait for
the winner's commit first), its savepoint rolls back and it compares with the winner's row. So
any number of identical PUTs leave one row and all succeed; a different body is 409.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.exceptions import Conflict, Invalid
from credit.rulebook import KIND_BAD
from credit.selectors import active_rulebook
from inspections.access import (
    ERR_FINDING_NOT_FOUND,
    ERR_INSPECTION_NOT_FOUND,
    access_inspection_by_uuid,
    access_project_for_inspector,
    access_task_for_inspector,
    inspector_profile,
    not_found,
)
from inspections.models import (
    ComplaintOutcome,
    Finding,
    Inspection,
    InspectionStatus,
    Photo,
    PhotoState,
    TaskKind,
    TaskStatus,
)
from inspections.services.common import (
    Location,
    Written,
    fingerprint,
    idempotency_conflict,
    validated,
)
from inspections.services.tasks import task_status_set

ERR_TASK_PROJECT_MISMATCH = "该任务属于另一个物业项目。"
ERR_UNKNOWN_VIOLATION = "违规行为代码 {code} 不在当前违规目录中。"
ERR_TOO_FEW_PHOTOS = "违规行为 {code} 至少需要 {minimum} 张照片，本次只有 {count} 张。"
ERR_INSPECTION_SUBMITTED = "该巡查记录已提交，不能再添加违规发现。"
ERR_PHOTO_UUID_TAKEN = "照片编号已被其他违规发现使用。"
ERR_FINDINGS_MISSING = "服务器尚未收到以下违规发现，请先上传后再提交。"
ERR_FINDINGS_UNEXPECTED = "服务器上有未列入本次提交的违规发现。"
ERR_PHOTOS_MISSING = "以下照片尚未上传完成，请上传后再提交。"
ERR_FINISHED_BEFORE_START = "结束时间早于开始时间。"

# Photo states in which the bytes have arrived (a rejected photo arrived, and was refused).
ARRIVED_PHOTO_STATES = (PhotoState.RECEIVED, PhotoState.PROCESSED, PhotoState.REJECTED)


@dataclass(frozen=True)
class PhotoSlot:
    """A photo the phone promises to upload for a finding."""

    photo_uuid: UUID
    sha256: str
    size_bytes: int
    content_type: str


# --- inspections --------------------------------------------------------------------------


def inspection_put(
    *,
    user: AbstractBaseUser,
    inspection_uuid: UUID,
    project_id: int,
    task_id: int | None,
    started_at: datetime,
    location: Location | None,
    note: str,
) -> Written[Inspection]:
    """Create the inspection, or recognise an identical resend. 404 for a project or task the
    inspector cannot reach, 409 for a different body under the same UUID."""
    profile = inspector_profile(user)
    body_sha256 = fingerprint(
        {
            "project_id": project_id,
            "task_id": task_id,
            "started_at": started_at,
            "location": location,
            "note": note,
        }
    )
    with transaction.atomic():
        existing = _locked_inspection(inspection_uuid)
        if existing is not None:
            return Written(_replayed_inspection(existing, profile.id, body_sha256), created=False)
        project = access_project_for_inspector(user, project_id)
        task = access_task_for_inspector(user, task_id) if task_id is not None else None
        if task is not None and task.project_id != project.id:
            raise Invalid("task_project_mismatch", ERR_TASK_PROJECT_MISMATCH)
        inspection = validated(
            Inspection(
                uuid=inspection_uuid,
                inspector=profile,
                project=project,
                task=task,
                started_at=started_at,
                lat=location.lat if location else None,
                lon=location.lon if location else None,
                accuracy_m=location.accuracy_m if location else None,
                note=note,
                body_sha256=body_sha256,
            )
        )
        try:
            with transaction.atomic():
                inspection.save()
        except IntegrityError:
            winner = _locked_inspection(inspection_uuid)
            if winner is None:
                raise
            return Written(_replayed_inspection(winner, profile.id, body_sha256), created=False)
        if task is not None:
            task_status_set(task=task, status=TaskStatus.IN_PROGRESS)
    return Written(inspection, created=True)


def _locked_inspection(inspection_uuid: UUID) -> Inspection | None:
    return Inspection.objects.select_for_update().filter(uuid=inspection_uuid).first()


def _replayed_inspection(existing: Inspection, inspector_id: int, body_sha256: str) -> Inspection:
    if existing.inspector_id != inspector_id:
        raise not_found(ERR_INSPECTION_NOT_FOUND)
    if existing.body_sha256 != body_sha256:
        raise idempotency_conflict()
    return existing


# --- findings -----------------------------------------------------------------------------


def finding_put(
    *,
    user: AbstractBaseUser,
    inspection_uuid: UUID,
    finding_uuid: UUID,
    violation_code: str,
    description: str,
    observed_at: datetime,
    location: Location | None,
    photos: Sequence[PhotoSlot],
) -> Written[Finding]:
    """Create a finding with its declared photo slots, or recognise an identical resend.
    422 `unknown_violation_code` / `too_few_photos` against the active rulebook."""
    body_sha256 = fingerprint(
        {
            "violation_code": violation_code,
            "description": description,
            "observed_at": observed_at,
            "location": location,
            "photos": [
                {
                    "photo_uuid": slot.photo_uuid,
                    "sha256": slot.sha256.lower(),
                    "size_bytes": slot.size_bytes,
                    "content_type": slot.content_type,
                }
                for slot in photos
            ],
        }
    )
    with transaction.atomic():
        # The inspection row lock orders this PUT against other PUTs and the submit.
        inspection = access_inspection_by_uuid(user, inspection_uuid, for_update=True)
        existing = Finding.objects.select_for_update().filter(uuid=finding_uuid).first()
        if existing is not None:
            return Written(_replayed_finding(existing, inspection, body_sha256), created=False)
        if inspection.status == InspectionStatus.SUBMITTED:
            raise Conflict("inspection_submitted", ERR_INSPECTION_SUBMITTED)
        _check_against_rulebook(violation_code, len(photos))
        finding = validated(
            Finding(
                uuid=finding_uuid,
                inspection=inspection,
                violation_code=violation_code,
                description=description,
                observed_at=observed_at,
                lat=location.lat if location else None,
                lon=location.lon if location else None,
                accuracy_m=location.accuracy_m if location else None,
                body_sha256=body_sha256,
            )
        )
        try:
            with transaction.atomic():
                finding.save()
                Photo.objects.bulk_create(_photo_rows(finding, photos))
        except IntegrityError:
            winner = Finding.objects.select_for_update().filter(uuid=finding_uuid).first()
            if winner is None:
                raise Conflict("photo_uuid_taken", ERR_PHOTO_UUID_TAKEN) from None
            return Written(_replayed_finding(winner, inspection, body_sha256), created=False)
    return Written(finding, created=True)


def _photo_rows(finding: Finding, photos: Sequence[PhotoSlot]) -> list[Photo]:
    return [
        validated(
            Photo(
                uuid=slot.photo_uuid,
                finding=finding,
                position=position,
                declared_sha256=slot.sha256.lower(),
                declared_size=slot.size_bytes,
                declared_content_type=slot.content_type,
            )
        )
        for position, slot in enumerate(photos, start=1)
    ]


def _check_against_rulebook(violation_code: str, photo_count: int) -> None:
    rule = active_rulebook().rulebook.rule(violation_code)
    if rule is None or rule.kind != KIND_BAD:
        raise Invalid("unknown_violation_code", ERR_UNKNOWN_VIOLATION.format(code=violation_code))
    minimum = rule.min_photos or 1
    if photo_count < minimum:
        raise Invalid(
            "too_few_photos",
            ERR_TOO_FEW_PHOTOS.format(code=violation_code, minimum=minimum, count=photo_count),
            min_photos=minimum,
        )


def _replayed_finding(existing: Finding, inspection: Inspection, body_sha256: str) -> Finding:
    if existing.inspection_id != inspection.id:
        owner_id = Inspection.objects.filter(id=existing.inspection_id).values_list(
            "inspector_id", flat=True
        )[0]
        if owner_id != inspection.inspector_id:
            raise not_found(ERR_FINDING_NOT_FOUND)
        raise idempotency_conflict()
    if existing.body_sha256 != body_sha256:
        raise idempotency_conflict()
    return existing


# --- submit -------------------------------------------------------------------------------


def inspection_submit(
    *,
    user: AbstractBaseUser,
    inspection_uuid: UUID,
    finished_at: datetime,
    finding_uuids: Sequence[UUID],
) -> Inspection:
    """Close the inspection once the server holds every finding the phone lists and every photo
    they declared. 409 lists exactly what is missing; a resend of the same submit is a no-op."""
    submit_sha256 = fingerprint(
        {"finished_at": finished_at, "finding_uuids": sorted(str(u) for u in finding_uuids)}
    )
    with transaction.atomic():
        inspection = access_inspection_by_uuid(user, inspection_uuid, for_update=True)
        if inspection.status == InspectionStatus.SUBMITTED:
            if inspection.submit_sha256 != submit_sha256:
                raise idempotency_conflict()
            return inspection
        if finished_at < inspection.started_at:
            raise Invalid("finished_before_start", ERR_FINISHED_BEFORE_START)
        _check_everything_arrived(inspection, set(finding_uuids))
        now = timezone.now()
        inspection.status = InspectionStatus.SUBMITTED
        inspection.finished_at = finished_at
        inspection.submitted_at = now
        inspection.submit_sha256 = submit_sha256
        inspection.save(
            update_fields=["status", "finished_at", "submitted_at", "submit_sha256", "updated_at"]
        )
        if inspection.task_id is not None:
            _close_task(inspection, has_findings=bool(finding_uuids))
    return inspection


def _check_everything_arrived(inspection: Inspection, declared: set[UUID]) -> None:
    on_server = set(inspection.findings.values_list("uuid", flat=True))
    missing = sorted(str(u) for u in declared - on_server)
    if missing:
        raise Conflict("findings_missing", ERR_FINDINGS_MISSING, missing_findings=missing)
    unexpected = sorted(str(u) for u in on_server - declared)
    if unexpected:
        raise Conflict(
            "findings_unexpected", ERR_FINDINGS_UNEXPECTED, unexpected_findings=unexpected
        )
    missing_photos = sorted(
        str(u)
        for u in Photo.objects.filter(finding__inspection=inspection)
        .exclude(state__in=ARRIVED_PHOTO_STATES)
        .values_list("uuid", flat=True)
    )
    if missing_photos:
        raise Conflict("photos_missing", ERR_PHOTOS_MISSING, missing_photos=missing_photos)


def _close_task(inspection: Inspection, *, has_findings: bool) -> None:
    task = inspection.task
    task_status_set(task=task, status=TaskStatus.DONE)
    if task.kind == TaskKind.COMPLAINT and not has_findings:
        # A clean visit on a complaint task means the complaint did not hold up on site.
        complaint = getattr(task, "complaint", None)
        if complaint is not None and complaint.outcome == ComplaintOutcome.OPEN:
            complaint.outcome = ComplaintOutcome.UNFOUNDED
            complaint.save(update_fields=["outcome", "updated_at"])
