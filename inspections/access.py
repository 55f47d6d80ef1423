"""Who may see and touch which inspection objects, in one place.

Every lookup answers 404 both for a missing object and for one outside the caller's reach, so a
probe learns nothing about other inspectors' or other regions' data. Inspectors reach projects
and tasks of their regions and only their own inspections, findings, photos and uploads;
reviewers and admins reach findings and projects of their regions.
"""

from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from backend.exceptions import NotFound
from credit.access import region_scope_q, require_role, staff_profile_of
from credit.models import StaffProfile, StaffRole
from inspections.models import (
    Finding,
    Inspection,
    InspectionTask,
    Photo,
    Project,
    TaskStatus,
    Upload,
    UploadState,
)

ERR_PROJECT_NOT_FOUND = "未找到该物业项目，或不在您负责的区划内。"
ERR_TASK_NOT_FOUND = "未找到该巡查任务。"
ERR_INSPECTION_NOT_FOUND = "未找到该巡查记录。"
ERR_FINDING_NOT_FOUND = "未找到该违规发现。"
ERR_PHOTO_NOT_FOUND = "未找到该照片。"
ERR_UPLOAD_NOT_FOUND = "未找到该上传，或它已结束。"

REVIEW_ROLES = (StaffRole.REVIEWER, StaffRole.ADMIN)


def not_found(detail: str) -> NotFound:
    return NotFound("not_found", detail)


def inspector_profile(user: AbstractBaseUser) -> StaffProfile:
    """The caller's inspector profile; a token of anyone else reaches nothing."""
    profile = staff_profile_of(user)
    if profile is None or profile.role != StaffRole.INSPECTOR:
        raise not_found(ERR_INSPECTION_NOT_FOUND)
    return profile


def projects_for_inspector(user: AbstractBaseUser) -> QuerySet[Project]:
    return Project.objects.filter(region_scope_q(user, "region__code"))


def access_project_for_inspector(user: AbstractBaseUser, project_id: int) -> Project:
    project = projects_for_inspector(user).filter(id=project_id).first()
    if project is None:
        raise not_found(ERR_PROJECT_NOT_FOUND)
    return project


def tasks_for_inspector(user: AbstractBaseUser) -> QuerySet[InspectionTask]:
    return InspectionTask.objects.filter(
        region_scope_q(user, "project__region__code"), assignee=inspector_profile(user)
    )


def task_feed_for_inspector(user: AbstractBaseUser) -> QuerySet[InspectionTask]:
    """What the phone's task feed carries: the inspector's tasks in their regions, and the
    cancellation of any task of theirs outside them (a task whose region left their scope is
    cancelled by `tasks_reassign_stranded`, and the phone must hear of it to drop it). Such a
    cancelled task shows only what the inspector was already given."""
    return InspectionTask.objects.filter(
        region_scope_q(user, "project__region__code") | Q(status=TaskStatus.CANCELLED),
        assignee=inspector_profile(user),
    )


def access_task_for_inspector(user: AbstractBaseUser, task_id: int) -> InspectionTask:
    task = tasks_for_inspector(user).filter(id=task_id).first()
    if task is None:
        raise not_found(ERR_TASK_NOT_FOUND)
    return task


def inspections_for_inspector(user: AbstractBaseUser) -> QuerySet[Inspection]:
    return Inspection.objects.filter(
        region_scope_q(user, "project__region__code"), inspector=inspector_profile(user)
    )


def access_inspection_by_uuid(
    user: AbstractBaseUser, inspection_uuid: UUID, *, for_update: bool = False
) -> Inspection:
    """The caller's own inspection. `for_update` locks the row (inside a transaction)."""
    queryset = inspections_for_inspector(user)
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    inspection = queryset.filter(uuid=inspection_uuid).first()
    if inspection is None:
        raise not_found(ERR_INSPECTION_NOT_FOUND)
    return inspection


def photos_for_inspector(user: AbstractBaseUser) -> QuerySet[Photo]:
    return Photo.objects.filter(
        region_scope_q(user, "finding__inspection__project__region__code"),
        finding__inspection__inspector=inspector_profile(user),
    )


def access_photo_by_uuid(
    user: AbstractBaseUser, photo_uuid: UUID, *, for_update: bool = False
) -> Photo:
    queryset = photos_for_inspector(user).select_related(
        "finding__inspection__project", "finding__inspection__inspector"
    )
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    photo = queryset.filter(uuid=photo_uuid).first()
    if photo is None:
        raise not_found(ERR_PHOTO_NOT_FOUND)
    return photo


def access_upload_by_id(
    user: AbstractBaseUser, upload_id: UUID, *, for_update: bool = False
) -> Upload:
    """A live or finished upload of the caller's own photo. Failed, terminated and expired
    uploads are gone for the client: it must start a new one."""
    queryset = Upload.objects.filter(
        region_scope_q(user, "photo__finding__inspection__project__region__code"),
        photo__finding__inspection__inspector=inspector_profile(user),
        state__in=(UploadState.ACTIVE, UploadState.COMPLETED),
    ).select_related("photo")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    upload = queryset.filter(id=upload_id).first()
    if upload is None:
        raise not_found(ERR_UPLOAD_NOT_FOUND)
    return upload


def require_reviewer(user: AbstractBaseUser) -> StaffProfile:
    """403 for staff without a review role (roles are not secret); scope is checked per object."""
    return require_role(user, *REVIEW_ROLES)


def findings_for_reviewer(user: AbstractBaseUser) -> QuerySet[Finding]:
    require_reviewer(user)
    return Finding.objects.filter(region_scope_q(user, "inspection__project__region__code"))


def access_finding_for_reviewer(
    user: AbstractBaseUser, finding_uuid: UUID, *, for_update: bool = False
) -> Finding:
    queryset = findings_for_reviewer(user).select_related("inspection__project")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    finding = queryset.filter(uuid=finding_uuid).first()
    if finding is None:
        raise not_found(ERR_FINDING_NOT_FOUND)
    return finding


def access_project_for_staff(user: AbstractBaseUser, project_id: int) -> Project:
    require_reviewer(user)
    project = Project.objects.filter(region_scope_q(user, "region__code"), id=project_id).first()
    if project is None:
        raise not_found(ERR_PROJECT_NOT_FOUND)
    return project
