from django.apps import AppConfig


class BureauApiConfig(AppConfig):
    name = "bureau_api"
    verbose_name = "主管部门接口"
