"""GET /tasks: the inspector's task feed, commit-ordered, cancellations included."""

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from backend.auth_api import ProblemOut
from inspections.selectors import DEFAULT_PAGE, MAX_PAGE, tasks_page
from mobile_api.auth import mobile_auth
from mobile_api.schemas import TaskPageOut, page_out, task_out

router = Router(tags=["tasks"], auth=mobile_auth)


class TasksQuery(Schema):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)


@router.get(
    "/tasks",
    response={200: TaskPageOut, 401: ProblemOut, 422: ProblemOut},
    operation_id="mobile_tasks",
    summary="我的巡查任务 / my tasks (keep next_cursor to receive only changes)",
)
def tasks(request: HttpRequest, query: Query[TasksQuery]):
    page = tasks_page(user=request.user, cursor=query.cursor, limit=query.limit)
    return page_out(page, task_out)
