from datetime import date

from django.core.management.base import BaseCommand, CommandError

from inspections.risk.scoring import risk_score_all


class Command(BaseCommand):
    help = (
        "用启用的风险模型为全部项目和企业评分，并写入信用分的模型部分 / "
        "Score every compound and enterprise with the active risk model"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD（默认今天）"
        )

    def handle(self, *args, today: date | None, **options):
        summary = risk_score_all(today=today, progress=self._progress)
        if summary is None:
            raise CommandError("尚无启用的风险模型：请先运行 train_risk_model。")
        psi = "—" if summary.max_feature_psi is None else f"{summary.max_feature_psi:.3f}"
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.model_version}: {summary.compounds} compounds, "
                f"{summary.enterprises} enterprises, population mean "
                f"{summary.population_mean:.3f}, max feature PSI {psi}"
            )
        )

    def _progress(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
