from datetime import date

from django.core.management.base import BaseCommand, CommandError

from backend.exceptions import DomainError
from inspections.risk.training import risk_model_train


class Command(BaseCommand):
    help = (
        "训练风险模型（截至昨天的巡查记录），登记为候选版本；尚无启用模型时直接启用 / "
        "Train the risk model on everything known up to yesterday and register it"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD（默认今天）"
        )
        parser.add_argument("--random-state", type=int, default=0)

    def handle(self, *args, today: date | None, random_state: int, **options):
        try:
            row = risk_model_train(today=today, random_state=random_state, progress=self._progress)
        except DomainError as problem:
            raise CommandError(problem.detail) from problem
        model = row.metrics.get("holdout", {}).get("model", {})
        self.stdout.write(
            self.style.SUCCESS(
                f"{row.version} {row.status}: ROC-AUC {model.get('roc_auc')}, "
                f"precision@10% {model.get('precision_at_k')}, ECE {model.get('ece')}"
            )
        )

    def _progress(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
