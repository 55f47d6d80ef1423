"""`/m/`: the inspector web app's shell files, its hashed assets, and 404 for anything else
(the app routes inside its own page, so no other address under /m/ exists)."""

from django.urls import path, re_path

from inspector_app import views

app_name = "inspector_app"

urlpatterns = [
    path("", views.index, name="index"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("assets/<path:asset>", views.asset, name="asset"),
    # Last: a plain 404 instead of the site's HTML error page, also for /m/index.html.
    re_path(r"^.*$", views.not_found, name="not-found"),
]
