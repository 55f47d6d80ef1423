from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "credit"
    verbose_name = _("信用档案")

    def ready(self) -> None:
        # checks registers itself; tasks registers the tasks that domain code queues by name
        # (credit.task_names) in every process, not only in workers.
        from credit import checks, metrics, tasks  # noqa: F401

        metrics.register()
