"""`manage.py refresh_statistics [--all | --period 2026-01..2026-11]`: recompute the
statistics' stored facts now (beat does it every hour for the last two months and every night
for all of them)."""

from django.core.management.base import BaseCommand, CommandError

from credit.stats.periods import PeriodError, parse_period
from inspections.stats.facts import facts_refresh, facts_refresh_all, facts_refresh_recent


class Command(BaseCommand):
    help = "重新计算统计数据 / Recompute the statistics' facts."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--all", action="store_true", help="every month since the first record")
        group.add_argument("--period", default="", help="2026-11, 2026-Q3, 2026, 2024-01..2026-11")

    def handle(self, *args, all: bool, period: str, **options):
        if all:
            rows = facts_refresh_all()
        elif period:
            try:
                rows = facts_refresh(parse_period(period))
            except PeriodError as error:
                raise CommandError(str(error)) from error
        else:
            rows = facts_refresh_recent()
        self.stdout.write(f"{rows} facts written")
