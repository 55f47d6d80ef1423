"""`manage.py build_monthly_reports [--month 2026-11] [--region 150100 …]`: make the monthly
statistics reports now, in this process (the scheduled task queues the same work on the 2nd of
each month). Making a month's report again replaces it."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from backend.exceptions import NotFound
from credit.stats.periods import PeriodError, last_complete_month, parse_period
from credit.workdays import today_local
from inspections.stats.reports import monthly_report_build, reporting_region_codes


class Command(BaseCommand):
    help = "生成月度统计报告（PDF，存入对象存储）/ Build the monthly statistics reports now."

    def add_arguments(self, parser):
        parser.add_argument("--month", default="", help="YYYY-MM; default: last month")
        parser.add_argument(
            "--region",
            action="append",
            default=[],
            help="区划代码; default: every reporting region",
        )

    def handle(self, *args, month: str, region: list[str], **options):
        first = self._month(month)
        codes = region or reporting_region_codes()
        for code in codes:
            try:
                report = monthly_report_build(code, first)
            except NotFound as error:
                raise CommandError(f"{code}: {error.detail}") from error
            self.stdout.write(f"{code} {first:%Y-%m}: {report.object_key} ({report.size} bytes)")

    def _month(self, text: str) -> date:
        if not text:
            return last_complete_month(today_local()).first_month
        try:
            period = parse_period(text)
        except PeriodError as error:
            raise CommandError(str(error)) from error
        if len(period.months) != 1:
            raise CommandError("--month 应为一个月份，例如 2026-11。")
        return period.first_month
