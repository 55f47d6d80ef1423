"""Inspections and findings: idempotent PUTs by client UUID, submit, read-back, and the
inspector's own recent inspections."""

from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from backend.auth_api import ProblemOut
from inspections.access import access_inspection_by_uuid
from inspections.selectors import (
    DEFAULT_RECENT_INSPECTIONS,
    MAX_RECENT_INSPECTIONS,
    inspection_detail,
    inspections_recent,
)
from inspections.services import finding_put, inspection_put, inspection_submit
from mobile_api.auth import mobile_auth
from mobile_api.schemas import (
    FindingIn,
    FindingOut,
    InspectionIn,
    InspectionListOut,
    InspectionOut,
    SubmitIn,
    finding_out,
    inspection_out,
)

router = Router(tags=["inspections"], auth=mobile_auth)

PUT_RESPONSES = {401: ProblemOut, 404: ProblemOut, 409: ProblemOut, 422: ProblemOut}


class InspectionsQuery(Schema):
    project_id: int | None = None
    limit: int = Field(default=DEFAULT_RECENT_INSPECTIONS, ge=1, le=MAX_RECENT_INSPECTIONS)


def _status(created: bool) -> int:
    return 201 if created else 200


# Declared before the /inspections/{inspection_uuid} routes (routes are tried in order), so the
# list can never be read as an inspection's path.
@router.get(
    "/inspections",
    response={200: InspectionListOut, 401: ProblemOut, 404: ProblemOut, 422: ProblemOut},
    operation_id="mobile_inspections_list",
    summary="我的巡查记录（最近开始的在前）/ my inspections, newest first",
)
def list_inspections(request: HttpRequest, query: Query[InspectionsQuery]):
    inspections = inspections_recent(
        user=request.user, project_id=query.project_id, limit=query.limit
    )
    return {"items": [inspection_out(inspection) for inspection in inspections]}


@router.put(
    "/inspections/{inspection_uuid}",
    response={200: InspectionOut, 201: InspectionOut, **PUT_RESPONSES},
    operation_id="mobile_inspection_put",
    summary="登记巡查（可重发）/ record an inspection (idempotent)",
)
def put_inspection(request: HttpRequest, inspection_uuid: UUID, payload: InspectionIn):
    written = inspection_put(
        user=request.user,
        inspection_uuid=inspection_uuid,
        project_id=payload.project_id,
        task_id=payload.task_id,
        started_at=payload.started_at,
        location=payload.location.to_location() if payload.location else None,
        note=payload.note,
    )
    return Status(_status(written.created), inspection_out(inspection_detail(written.obj)))


@router.put(
    "/inspections/{inspection_uuid}/findings/{finding_uuid}",
    response={200: FindingOut, 201: FindingOut, **PUT_RESPONSES},
    operation_id="mobile_finding_put",
    summary="登记违规发现及照片位（可重发）/ record a finding and its photo slots",
)
def put_finding(
    request: HttpRequest, inspection_uuid: UUID, finding_uuid: UUID, payload: FindingIn
):
    written = finding_put(
        user=request.user,
        inspection_uuid=inspection_uuid,
        finding_uuid=finding_uuid,
        violation_code=payload.violation_code,
        description=payload.description,
        observed_at=payload.observed_at,
        location=payload.location.to_location() if payload.location else None,
        photos=[photo.to_slot() for photo in payload.photos],
    )
    return Status(_status(written.created), finding_out(written.obj))


@router.post(
    "/inspections/{inspection_uuid}/submit",
    response={200: InspectionOut, **PUT_RESPONSES},
    operation_id="mobile_inspection_submit",
    summary="提交巡查 / submit (lists what the server still lacks)",
)
def submit_inspection(request: HttpRequest, inspection_uuid: UUID, payload: SubmitIn):
    inspection = inspection_submit(
        user=request.user,
        inspection_uuid=inspection_uuid,
        finished_at=payload.finished_at,
        finding_uuids=payload.finding_uuids,
    )
    return inspection_out(inspection_detail(inspection))


@router.get(
    "/inspections/{inspection_uuid}",
    response={200: InspectionOut, 401: ProblemOut, 404: ProblemOut},
    operation_id="mobile_inspection_get",
    summary="巡查处理状态 / what the server did with an inspection",
)
def get_inspection(request: HttpRequest, inspection_uuid: UUID):
    inspection = access_inspection_by_uuid(request.user, inspection_uuid)
    return inspection_out(inspection_detail(inspection))
