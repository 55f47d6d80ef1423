"""GET /projects: compounds of the inspector's regions, for ad-hoc patrols."""

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from backend.auth_api import ProblemOut
from backend.errors import Problem
from inspections.selectors import DEFAULT_PAGE, MAX_PAGE, projects_page
from mobile_api.auth import mobile_auth
from mobile_api.schemas import ProjectPageOut, page_out, project_out

ERR_BAD_NEAR = "near 参数应为“纬度,经度”，例如 40.84,111.75。"

router = Router(tags=["projects"], auth=mobile_auth)


class ProjectsQuery(Schema):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    near: str | None = Field(default=None, max_length=64)


def parse_near(near: str) -> tuple[float, float]:
    try:
        lat_text, lon_text = near.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        lat, lon = float("nan"), float("nan")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for NaN
        raise Problem(
            422,
            "validation_error",
            ERR_BAD_NEAR,
            errors=[{"loc": ["query", "near"], "msg": ERR_BAD_NEAR}],
        )
    return lat, lon


@router.get(
    "/projects",
    response={200: ProjectPageOut, 401: ProblemOut, 422: ProblemOut},
    operation_id="mobile_projects",
    summary="辖区内物业项目 / compounds in my regions",
)
def projects(request: HttpRequest, query: Query[ProjectsQuery]):
    near = parse_near(query.near) if query.near else None
    page = projects_page(user=request.user, cursor=query.cursor, limit=query.limit, near=near)
    return page_out(page, project_out)
