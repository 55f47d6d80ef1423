"""The bureau API (`/api/bureau/v1`): staff sign-in, review, complaints, plans, model card and
the credit desk. One `NinjaAPI` for the bureau audience, one router per resource."""

from backend.auth_api import make_auth_router
from backend.errors import make_api
from backend.models import TokenAudience
from bureau_api.routers import complaints, credit, model, plans, review, statistics
from bureau_api.schemas import StaffOut, staff_out
from credit.access import is_bureau_staff

bureau_api = make_api(
    title="物业企业信用 — 主管部门接口 / Bureau API",
    version="1",
    urls_namespace="bureau-api",
    description="主管部门工作人员使用。Bearer tokens of staff users.",
)
bureau_api.add_router(
    "/auth",
    make_auth_router(
        audience=TokenAudience.BUREAU,
        may_sign_in=is_bureau_staff,
        profile_key="staff",
        profile_schema=StaffOut,
        profile_of=staff_out,
        operation_prefix="bureau",
    ),
)
bureau_api.add_router("/credit", credit.router)
bureau_api.add_router("/review", review.router)
bureau_api.add_router("/complaints", complaints.router)
bureau_api.add_router("/plans", plans.router)
bureau_api.add_router("/model", model.router)
bureau_api.add_router("/statistics", statistics.router)
