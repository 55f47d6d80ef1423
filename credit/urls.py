from django.urls import path

from credit import report_views, views

app_name = "credit"

urlpatterns = [
    path("", views.search, name="search"),
    path("e/<str:uscc>/", views.enterprise, name="enterprise"),
    path("e/<str:uscc>/report.pdf", report_views.report, name="report"),
    path("blacklist/", views.blacklist, name="blacklist"),
    path("redlist/", views.redlist, name="redlist"),
    path("open-data/latest.json", views.open_data_json, name="open-data-json"),
    path("open-data/latest.csv", views.open_data_csv, name="open-data-csv"),
]
