"""`/review`: the queue of submitted findings and the reviewer's decision."""

from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from backend.auth import BearerAuth
from backend.auth_api import ProblemOut
from backend.models import TokenAudience
from bureau_api.schemas import (
    ReviewDecisionIn,
    ReviewDecisionOut,
    ReviewPageOut,
    review_decision_out,
)
from credit.selectors import active_rulebook
from inspections.access import require_reviewer
from inspections.schemas import review_finding_out
from inspections.selectors import DEFAULT_PAGE, MAX_PAGE, review_queue
from inspections.services import finding_review

router = Router(tags=["review"], auth=BearerAuth(TokenAudience.BUREAU))


class QueueQuery(Schema):
    status: Literal["pending", "confirmed", "rejected"] = "pending"
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)


@router.get(
    "/findings",
    response={200: ReviewPageOut, 401: ProblemOut, 403: ProblemOut, 422: ProblemOut},
    operation_id="bureau_review_queue",
    summary="待审核违规发现 / review queue with photos and evidence flags",
)
def queue(request: HttpRequest, query: Query[QueueQuery]):
    require_reviewer(request.user)
    page = review_queue(
        user=request.user, status=query.status, cursor=query.cursor, limit=query.limit
    )
    rulebook = active_rulebook().rulebook
    return {
        "items": [
            review_finding_out(finding, rulebook=rulebook, request=request)
            for finding in page.items
        ],
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }


@router.post(
    "/findings/{finding_uuid}",
    response={
        200: ReviewDecisionOut,
        401: ProblemOut,
        403: ProblemOut,
        404: ProblemOut,
        409: ProblemOut,
        422: ProblemOut,
    },
    operation_id="bureau_review_decide",
    summary="确认或驳回 / confirm (creates the credit record) or reject with a reason",
)
def decide(request: HttpRequest, finding_uuid: UUID, payload: ReviewDecisionIn):
    outcome = finding_review(
        user=request.user,
        finding_uuid=finding_uuid,
        decision=payload.decision,
        comment=payload.comment,
    )
    return review_decision_out(outcome.finding)
