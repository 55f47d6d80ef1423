"""`/statistics`: the bureau's statistics of a region and period (reviewers and admins of the
region), the same tables as the `/bureau/statistics/` page and its exports, and the monthly
reports."""

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from backend.auth import BearerAuth
from backend.auth_api import ProblemOut
from backend.models import TokenAudience
from bureau_api.schemas import StatisticsOut, statistics_out
from credit.access import require_role
from credit.choices import StaffRole
from inspections.stats.dashboard import dashboard_figures, requested_period
from inspections.stats.regions import default_region_code, statistics_region
from inspections.stats.reports import monthly_reports, report_download
from inspections.stats.tables import dashboard_tables, headline_figures

router = Router(tags=["statistics"], auth=BearerAuth(TokenAudience.BUREAU))


class StatisticsQueryIn(Schema):
    region: str = Field("", max_length=12, description="区划代码; empty: the caller's broadest")
    period: str = Field(
        "", max_length=20, description="2026-11 | 2026-Q3 | 2026 | 2024-01..2026-11"
    )


@router.get(
    "",
    response={
        200: StatisticsOut,
        401: ProblemOut,
        403: ProblemOut,
        404: ProblemOut,
        422: ProblemOut,
    },
    operation_id="bureau_statistics",
    summary="监管统计 / the dashboard's figures of a region and period",
)
def statistics(request: HttpRequest, query: Query[StatisticsQueryIn]):
    require_role(request.user, StaffRole.REVIEWER, StaffRole.ADMIN)
    period = requested_period(query.period)
    region = statistics_region(request.user, query.region or default_region_code(request.user))
    figures = dashboard_figures(region, period)
    reports = monthly_reports(request.user, region_code=region.code)
    return statistics_out(figures, headline_figures(figures), dashboard_tables(figures), reports)


@router.get(
    "/reports/{report_id}",
    response={200: None, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut},
    operation_id="bureau_statistics_report",
    summary="月度统计报告 PDF / a monthly report of one of the caller's regions",
    openapi_extra={"responses": {200: {"content": {"application/pdf": {}}}}},
)
def monthly_report(request: HttpRequest, report_id: int):
    require_role(request.user, StaffRole.REVIEWER, StaffRole.ADMIN)
    report = report_download(request.user, report_id)
    response = StreamingHttpResponse(report.chunks, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report.file_name}"'
    return response
