from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackendConfig(AppConfig):
    name = "backend"
    verbose_name = _("平台基础")

    def ready(self) -> None:
        # Web and worker processes both set up Django, so both time their Celery tasks.
        from backend.observability import connect_celery_signals

        connect_celery_signals()
