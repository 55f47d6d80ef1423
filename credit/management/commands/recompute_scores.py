from django.core.management.base import BaseCommand

from credit.recompute.full import recompute_all
from credit.recompute.sweep import recompute_dirty


class Command(BaseCommand):
    help = (
        "重新计算企业信用分：默认只算待重算（dirty）的企业，--all 全量向量化重算 / "
        "Recompute dirty enterprises, or all of them with --all"
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="全部企业 / every enterprise")

    def handle(self, *args, all: bool, **options):
        if all:
            summary = recompute_all()
            self.stdout.write(
                f"scored {summary.enterprises} enterprises, refreshed {summary.refreshed} "
                f"in {summary.seconds:.1f} s"
            )
            return
        total = 0
        while done := recompute_dirty():
            total += done
            self.stdout.write(f"recomputed {total} …")
        self.stdout.write(f"recomputed {total} dirty enterprises")
