"""Bureau web pages of the credit archive (staff session login)."""

from django.urls import path

from credit import bureau_views as views

app_name = "bureau-credit"

urlpatterns = [
    path("", views.index, name="index"),
    path("e/<str:uscc>/", views.enterprise, name="enterprise"),
    path("e/<str:uscc>/blacklist/propose", views.blacklist_propose, name="blacklist-propose"),
    path("e/<str:uscc>/blacklist/approve", views.blacklist_approve, name="blacklist-approve"),
    path("e/<str:uscc>/backbone", views.backbone_designate, name="backbone-designate"),
    path("records/<int:record_id>/objection", views.objection_file, name="objection"),
    path(
        "records/<int:record_id>/objection/resolve",
        views.objection_resolve,
        name="objection-resolve",
    ),
    path("records/<int:record_id>/repair", views.repair_apply, name="repair"),
    path("records/<int:record_id>/repair/decide", views.repair_decide, name="repair-decide"),
    path("objections/", views.objections, name="objections"),
    path("blacklist/", views.blacklist, name="blacklist"),
    path("backbone/", views.backbone, name="backbone"),
]
