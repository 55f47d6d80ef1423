from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "credit"
    verbose_name = _("信用档案")

    def ready(self) -> None:
        from credit import checks, metrics  # noqa: F401 - checks registers itself

        metrics.register()
