"""The monthly statistics report of a region: the dashboard of the month as a PDF, made by a
scheduled task early each month, kept in the object store and listed on the dashboard.

Idempotent: the object key is fixed by region and month and the row is upserted, so a task
that runs twice (a worker killed after the upload, a retry) leaves one report. The figures are
computed fresh, never from the page cache.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from backend.exceptions import NotFound
from backend.queueing import enqueue_on_commit
from backend.storage import get_store
from credit.access import region_in_scope, scope_prefixes
from credit.models import Region, RegionLevel
from credit.report import html_to_pdf
from credit.stats.periods import last_complete_month, month_period
from credit.workdays import today_local
from inspections.models import MonthlyReport
from inspections.stats.charts import dashboard_charts
from inspections.stats.dashboard import compute_dashboard
from inspections.stats.facts import facts_refresh
from inspections.stats.regions import statistics_region_unscoped
from inspections.stats.tables import dashboard_tables, headline_figures
from inspections.task_names import BUILD_MONTHLY_REPORT_TASK

logger = logging.getLogger(__name__)

REPORT_TEMPLATE = "inspections/statistics/report_pdf.html"
REPORT_LANGUAGE = "zh-hans"
# The province, its leagues and cities, and their banners and counties: the levels that report
# upward. Townships are rows of their county's report.
REPORTED_LEVELS = (RegionLevel.LEAGUE_CITY, RegionLevel.BANNER_COUNTY)
ERR_UNKNOWN_REPORT = "未找到该月度报告，或它不属于您负责的区划。"
LISTED_REPORTS = 24


def report_key(region_code: str, month: date) -> str:
    return f"reports/monthly/{region_code}/{month:%Y-%m}.pdf"


def monthly_report_build(region_code: str, month: date) -> MonthlyReport:
    """Make (or make again) the report of `region_code` for the month of `month`."""
    month = month.replace(day=1)
    region = statistics_region_unscoped(region_code)
    facts_refresh(month_period(month))  # the month as it stands now, not as of the last hour
    figures = compute_dashboard(region, month_period(month))
    with translation.override(REPORT_LANGUAGE):
        html = render_to_string(
            REPORT_TEMPLATE,
            {
                "figures": figures,
                "headline": headline_figures(figures),
                "tables": dashboard_tables(figures),
                "charts": dashboard_charts(figures),
                "generated_at": timezone.localtime(),
            },
        )
    pdf = html_to_pdf(html)
    key = report_key(region.code, month)
    get_store().put_bytes(key, pdf, content_type="application/pdf")
    report, _ = MonthlyReport.objects.update_or_create(
        region_id=region.code,
        month=month,
        defaults={
            "object_key": key,
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "size": len(pdf),
            "generated_at": timezone.now(),
        },
    )
    logger.info("monthly report %s %s: %d bytes", region.code, f"{month:%Y-%m}", len(pdf))
    return report


def monthly_reports_queue(month: date | None = None) -> int:
    """Queue one report task per reporting region for `month` (default: last month)."""
    month = month or last_complete_month(today_local()).first_month
    codes = list(
        Region.objects.filter(level__in=REPORTED_LEVELS)
        .order_by("code")
        .values_list("code", flat=True)
    )
    with transaction.atomic():
        for code in codes:
            enqueue_on_commit(BUILD_MONTHLY_REPORT_TASK, code, month.isoformat())
    return len(codes)


@dataclass(frozen=True)
class ListedReport:
    id: int
    month: date
    size: int
    generated_at: datetime


def monthly_reports(user: AbstractBaseUser, *, region_code: str) -> list[ListedReport]:
    """The latest reports of one region the user may see, newest first."""
    region_in_scope(user, region_code)
    rows = MonthlyReport.objects.filter(region_id=region_code).order_by("-month")[:LISTED_REPORTS]
    return [ListedReport(r.id, r.month, r.size, r.generated_at) for r in rows]


@dataclass(frozen=True)
class ReportDownload:
    file_name: str
    chunks: Iterator[bytes]


def report_download(user: AbstractBaseUser, report_id: int) -> ReportDownload:
    """The PDF of a report of one of the user's regions; NotFound for any other, alike."""
    prefixes = scope_prefixes(user)
    report = MonthlyReport.objects.filter(pk=report_id).first()
    if report is None or not any(report.region_id.startswith(p) for p in prefixes):
        raise NotFound("unknown_report", ERR_UNKNOWN_REPORT)
    reader = get_store().get(report.object_key)
    if reader is None:
        raise NotFound("unknown_report", ERR_UNKNOWN_REPORT)
    return ReportDownload(
        file_name=f"monthly-report-{report.region_id}-{report.month:%Y-%m}.pdf",
        chunks=_closing(reader),
    )


def _closing(reader) -> Iterator[bytes]:
    with reader:
        yield from reader.iter_chunks()
