"""`/complaints`: register a resident complaint; it becomes a complaint task."""

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from backend.auth import BearerAuth
from backend.auth_api import ProblemOut
from backend.models import TokenAudience
from bureau_api.schemas import ComplaintIn, ComplaintOut, complaint_out
from inspections.services import complaint_register

router = Router(tags=["complaints"], auth=BearerAuth(TokenAudience.BUREAU))


@router.post(
    "",
    response={
        201: ComplaintOut,
        401: ProblemOut,
        403: ProblemOut,
        404: ProblemOut,
        409: ProblemOut,
        422: ProblemOut,
    },
    operation_id="bureau_complaint_create",
    summary="登记居民投诉 / register a complaint (creates a complaint task)",
)
def create(request: HttpRequest, payload: ComplaintIn):
    complaint = complaint_register(
        user=request.user,
        project_id=payload.project_id,
        text=payload.text,
        received_at=payload.received_at or timezone.now(),
        due_date=payload.due_date,
    )
    return Status(201, complaint_out(complaint))
