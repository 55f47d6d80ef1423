import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError

from inspections import demo_data

# What seeding would otherwise log by the thousand, drowning the progress and the accounts:
# in embedded mode every queued task runs in-process and Celery logs each one ("Task …
# succeeded"), and kombu warns that the empty broker URL means localhost (eager tasks never
# connect to it); each back-filled monthly snapshot and each monthly report logs a line, and
# each demo photo, processed by the seed itself, a "nothing to process" when its queued task
# runs. Warnings and errors of
# everything else still show.
QUIET_LOGGERS = {
    "celery.app.trace": logging.WARNING,
    "inspections.tasks": logging.WARNING,
    "kombu.connection": logging.ERROR,
    "credit.publication": logging.WARNING,
    # The monthly reports step: a line per figure computation and per PDF.
    "inspections.stats.dashboard": logging.WARNING,
    "inspections.stats.reports": logging.WARNING,
    "inspections.stats.facts": logging.WARNING,
}


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "生成演示数据（内蒙古真实行政区划、物业企业、项目、合同和演示账号），可重复运行 / "
        "Seed demo data; deterministic with --seed, safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--enterprises", type=_positive, default=demo_data.DEFAULT_ENTERPRISES)
        parser.add_argument(
            "--years", type=_positive, default=demo_data.DEFAULT_YEARS, help="历史年数"
        )
        parser.add_argument("--seed", type=int, default=demo_data.DEFAULT_SEED)

    def handle(self, *args, enterprises: int, years: int, seed: int, **options):
        if enterprises > 100_000:
            raise CommandError("--enterprises 最多 100000")
        with quiet_logs():
            ctx = demo_data.seed_demo(
                enterprises=enterprises, years=years, seed=seed, progress=self._progress
            )
        counts = "  ".join(f"{name}={value}" for name, value in ctx.counts.items())
        self.stdout.write(self.style.SUCCESS(f"演示数据就绪 demo data ready ({counts})"))
        self.stdout.write(_credentials_table(ctx.credentials))
        self.stdout.write(DOORS)

    def _progress(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()


@contextmanager
def quiet_logs() -> Iterator[None]:
    """QUIET_LOGGERS at their levels for the duration of the seed, then as they were."""
    loggers = {name: logging.getLogger(name) for name in QUIET_LOGGERS}
    before = {name: logger.level for name, logger in loggers.items()}
    for name, logger in loggers.items():
        logger.setLevel(QUIET_LOGGERS[name])
    try:
        yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(before[name])


# Where each demo account starts, at the address `make run` serves.
DOORS = """打开 open (make run serves http://127.0.0.1:8000):
  巡查员应用 inspectors' web app   http://127.0.0.1:8000/m/       inspector_150100 (phone-sized)
  主管部门工作台 bureau desk       http://127.0.0.1:8000/bureau/  reviewer_west / reviewer_east
    待办 waiting: 违规审核、异议 findings, an objection (reviewer_west); 黑名单批准 approval (admin)
  监管统计 statistics              http://127.0.0.1:8000/bureau/statistics/  admin (whole region)
  信用信息公示 public portal       http://127.0.0.1:8000/credit/"""


def _credentials_table(credentials: list[demo_data.DemoCredential]) -> str:
    header = ("username", "password", "role", "regions")
    rows = [header] + [(c.username, c.password, c.role, ",".join(c.regions)) for c in credentials]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["演示账号 demo accounts:"]
    for number, row in enumerate(rows):
        lines.append(
            ("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
        )
        if number == 0:
            lines.append("  " + "  ".join("-" * width for width in widths))
    return "\n".join(lines)
