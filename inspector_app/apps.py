from django.apps import AppConfig


class InspectorAppConfig(AppConfig):
    name = "inspector_app"
    verbose_name = "巡查员网页应用"
