"""The inspectors' API (`/api/mobile/v1`). Thin: parse, call an inspections service, shape."""

from django.http import HttpRequest

from backend.auth import BearerAuth
from backend.auth_api import make_auth_router
from backend.errors import make_api
from backend.models import TokenAudience
from credit.access import is_inspector
from mobile_api.schemas import InspectorOut, inspector_out

mobile_api = make_api(
    title="物业巡查 — 移动端接口 / Mobile API",
    version="1",
    urls_namespace="mobile-api",
    description="巡查员手机端使用。Bearer tokens; every write is idempotent by client UUID.",
)
mobile_auth = BearerAuth(TokenAudience.MOBILE)

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


@mobile_api.get(
    "/me", auth=mobile_auth, response=InspectorOut, operation_id="mobile_me", tags=["me"]
)
def me(request: HttpRequest):
    return inspector_out(request.user)
