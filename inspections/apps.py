from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "inspections"
    verbose_name = _("巡查检查")

    def ready(self) -> None:
        # tasks registers the tasks that domain code queues by name (inspections.task_names)
        # in every process, not only in workers.
        from inspections import metrics, tasks  # noqa: F401

        metrics.register()
        # The public firm page names the compounds a firm manages; the registry is ours.
        from credit.selectors import compounds_reader_register
        from inspections.selectors import compounds_managed_on

        compounds_reader_register(compounds_managed_on)
