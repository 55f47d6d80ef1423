"""The inspectors' API (`/api/mobile/v1`). Thin: parse, call an inspections service, shape.

One router per resource; tus uploads (`mobile_api.tus`) handle their raw bodies themselves.
"""

from django.http import HttpRequest

from backend.auth_api import make_auth_router
from backend.errors import make_api, problem_response
from backend.models import TokenAudience
from backend.storage import StorageUnavailable
from credit.access import is_inspector
from mobile_api import tus
from mobile_api.auth import mobile_auth
from mobile_api.routers import catalogue, inspections, photos, projects, tasks
from mobile_api.schemas import InspectorOut, inspector_out

ERR_STORAGE = "文件存储暂时不可用，请稍后重试。"
STORAGE_RETRY_AFTER_S = 10

mobile_api = make_api(
    title="物业巡查 — 移动端接口 / Mobile API",
    version="1",
    urls_namespace="mobile-api",
    description="巡查员手机端使用。Bearer tokens; every write is idempotent by client UUID.",
)

mobile_api.add_router(
    "/auth",
    make_auth_router(
        audience=TokenAudience.MOBILE,
        may_sign_in=is_inspector,
        profile_key="inspector",
        profile_schema=InspectorOut,
        profile_of=inspector_out,
        operation_prefix="mobile",
    ),
)
mobile_api.add_router("", catalogue.router)
mobile_api.add_router("", projects.router)
mobile_api.add_router("", tasks.router)
mobile_api.add_router("", inspections.router)
mobile_api.add_router("", photos.router)
mobile_api.add_router("", tus.router)


@mobile_api.exception_handler(StorageUnavailable)
def _storage_unavailable(request: HttpRequest, exc: StorageUnavailable):
    return problem_response(
        503, "storage_unavailable", ERR_STORAGE, headers={"Retry-After": str(STORAGE_RETRY_AFTER_S)}
    )


@mobile_api.get(
    "/me", auth=mobile_auth, response=InspectorOut, operation_id="mobile_me", tags=["me"]
)
def me(request: HttpRequest):
    return inspector_out(request.user)
