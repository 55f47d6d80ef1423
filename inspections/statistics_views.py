"""The bureau's statistics pages (`/bureau/statistics/`): the dashboard of a region and period,
the list behind every figure, and their CSV and XLSX exports.

Thin: read the region (scoped: `credit.access.region_in_scope`), the period and the filters,
ask `inspections.stats` for the figures or the list, render or export the same tables.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from backend.exceptions import DomainError, Forbidden, Invalid, NotFound
from credit.access import require_role
from credit.choices import StaffRole
from credit.stats.periods import Period
from inspections.stats.charts import dashboard_charts
from inspections.stats.dashboard import dashboard_figures, requested_period
from inspections.stats.drilldown import drilldown
from inspections.stats.export import (
    CSV_CONTENT_TYPE,
    XLSX_CONTENT_TYPE,
    rows_csv,
    rows_xlsx,
    tables_csv,
    tables_xlsx,
)
from inspections.stats.regions import (
    StatRegion,
    default_region_code,
    region_choices,
    statistics_region,
)
from inspections.stats.reports import monthly_reports, report_download
from inspections.stats.tables import dashboard_tables, headline_figures

LIST_PAGE_SIZE = 50
XLSX_LIST_LIMIT = 200_000  # an XLSX is built in memory; larger lists export as CSV
FORMATS = ("", "html", "csv", "xlsx")
ERR_FORMAT = "导出格式只能是 csv 或 xlsx。"
ERR_XLSX_TOO_LONG = "明细超过 {limit} 行，请导出 CSV 或缩小统计期间。"


def statistics_page(view: Callable) -> Callable:
    """Bureau staff only; a domain refusal becomes its page (403, 404, or 400 for bad input)."""

    @login_required
    @require_GET
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            require_role(request.user, StaffRole.REVIEWER, StaffRole.ADMIN)
            return view(request, *args, **kwargs)
        except Forbidden as problem:
            return _refusal(request, problem, 403)
        except NotFound as problem:
            return _refusal(request, problem, 404)
        except Invalid as problem:
            return _refusal(request, problem, 400)

    return wrapper


def _refusal(request: HttpRequest, problem: DomainError, status: int) -> HttpResponse:
    return render(
        request,
        "inspections/statistics/refused.html",
        {"detail": problem.detail, "status": status, "back": reverse("bureau:statistics")},
        status=status,
    )


def _region_and_period(request: HttpRequest) -> tuple[StatRegion, Period]:
    code = request.GET.get("region") or default_region_code(request.user)
    period = requested_period(request.GET.get("period", ""))
    return statistics_region(request.user, code), period


def _export_format(request: HttpRequest) -> str:
    value = request.GET.get("format", "")
    if value not in FORMATS:
        raise Invalid("invalid_format", ERR_FORMAT)
    return value if value != "html" else ""


def _file_response(data, content_type: str, name: str) -> HttpResponse:
    response_class = StreamingHttpResponse if not isinstance(data, bytes) else HttpResponse
    response = response_class(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _heading(region: StatRegion, period: Period, facts_as_of) -> list[str]:
    when = timezone.localtime(facts_as_of).strftime("%Y-%m-%d %H:%M")
    return [
        _("物业服务监管统计"),
        _("区划：{name}（{code}）").format(name=region.name, code=region.code),
        _("统计期间：{period}").format(period=period.label),
        _("数据截至：{when}").format(when=when),
        _("口径说明见 docs/statistics.md"),
    ]


@statistics_page
def dashboard(request: HttpRequest) -> HttpResponse:
    export = _export_format(request)
    region, period = _region_and_period(request)
    figures = dashboard_figures(region, period)
    tables = dashboard_tables(figures)
    name = f"statistics-{region.code}-{period.key}"
    heading = _heading(region, period, figures.facts_as_of)
    if export == "csv":
        return _file_response(tables_csv(tables, heading=heading), CSV_CONTENT_TYPE, f"{name}.csv")
    if export == "xlsx":
        xlsx = tables_xlsx(tables, heading=heading)
        return _file_response(xlsx, XLSX_CONTENT_TYPE, f"{name}.xlsx")
    charts = dashboard_charts(figures)
    query = urlencode({"region": region.code, "period": period.key})
    return render(
        request,
        "inspections/statistics/dashboard.html",
        {
            "figures": figures,
            "region": region,
            "period": period,
            "headline": headline_figures(figures),
            "sections": _sections(tables, charts),
            "choices": region_choices(request.user),
            "query": query,
            "reports": monthly_reports(request.user, region_code=region.code),
        },
    )


# The page's sections: the tables each shows, in order (a chart stands beside its table).
SECTIONS = (
    ("巡查工作", ("inspections", "inspections-by-month")),
    ("覆盖情况", ("coverage", "regions", "service-coverage")),
    ("违规发现与审核", ("findings-by-severity", "findings-by-rule", "review")),
    ("投诉处理与随机抽查", ("complaints", "random-share")),
    ("信用结果", ("grades", "blacklist", "appeals")),
)


def _sections(tables, charts) -> list[dict]:
    by_id = {table.id: table for table in tables}
    return [
        {
            "title": _(title),
            "items": [
                {"table": by_id[table_id], "chart": charts.get(table_id)}
                for table_id in ids
                if table_id in by_id and (table_id != "regions" or by_id[table_id].rows)
            ],
        }
        for title, ids in SECTIONS
    ]


@statistics_page
def statistics_list(request: HttpRequest, kind: str) -> HttpResponse:
    export = _export_format(request)
    region, period = _region_and_period(request)
    listing = drilldown(kind, region, period, request.GET)
    name = f"statistics-{kind}-{region.code}-{period.key}"
    if export == "csv":
        return _file_response(
            rows_csv(listing.columns, listing.rows()), CSV_CONTENT_TYPE, f"{name}.csv"
        )
    if export == "xlsx":
        if listing.queryset.count() > XLSX_LIST_LIMIT:
            raise Invalid("list_too_long", ERR_XLSX_TOO_LONG.format(limit=XLSX_LIST_LIMIT))
        data = rows_xlsx(listing.title, listing.columns, listing.rows())
        return _file_response(data, XLSX_CONTENT_TYPE, f"{name}.xlsx")
    page = Paginator(listing.queryset, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {k: v for k, v in request.GET.items() if k not in ("page", "format")}
    return render(
        request,
        "inspections/statistics/list.html",
        {
            "listing": listing,
            "rows": list(listing.rows(page.object_list)) if page.object_list else [],
            "page": page,
            "region": region,
            "period": period,
            "query": urlencode(filters),
            "filters": {"page_query": urlencode(filters) + "&" if filters else ""},
            "back": f"{reverse('bureau:statistics')}?"
            + urlencode({"region": region.code, "period": period.key}),
        },
    )


@statistics_page
def monthly_report(request: HttpRequest, report_id: int) -> HttpResponse:
    report = report_download(request.user, report_id)
    return _file_response(report.chunks, "application/pdf", report.file_name)
