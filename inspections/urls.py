from django.urls import path

from inspections import risk_views, statistics_views, views

app_name = "bureau"

urlpatterns = [
    path("", views.home, name="home"),
    path("review/", views.review_desk, name="review"),
    path("review/<uuid:finding_uuid>/", views.review_decide, name="review-decide"),
    path("tasks/stranded/", views.stranded, name="stranded"),
    path("plans/", risk_views.planner, name="planner"),
    path("plans/approve/", risk_views.plan_approve_view, name="plan-approve"),
    path("plans/<int:plan_id>/", risk_views.plan_detail, name="plan"),
    path("statistics/", statistics_views.dashboard, name="statistics"),
    path("statistics/list/<slug:kind>/", statistics_views.statistics_list, name="statistics-list"),
    path(
        "statistics/reports/<int:report_id>.pdf",
        statistics_views.monthly_report,
        name="statistics-report",
    ),
    path("model/", risk_views.model_card_view, name="model"),
    path("model/<str:version>/promote/", risk_views.model_promote_view, name="model-promote"),
    path("model/<str:version>/rollback/", risk_views.model_rollback_view, name="model-rollback"),
]
