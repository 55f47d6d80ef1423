"""URLconf: mounts the admin, each audience's API, the public pages and the inspector web app.
The only module of `backend` allowed to import the apps (see import-linter contracts)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from backend import health
from backend.auth import ThrottledAuthenticationForm
from backend.observability import metrics_view
from backend.storage_views import signed_object
from bureau_api.api import bureau_api
from credit.api import tender_api
from mobile_api.api import mobile_api

admin.site.site_header = "物业服务企业信用管理平台"
admin.site.site_title = "物业信用平台"
admin.site.index_title = "管理后台"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/mobile/v1/", mobile_api.urls),
    path("api/bureau/v1/", bureau_api.urls),
    path("api/tender/v1/", tender_api.urls),
    path("objects/<str:token>", signed_object, name="signed-object"),
    path("credit/", include("credit.urls")),
    path(
        "bureau/login/",
        auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("bureau/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("bureau/credit/", include("credit.bureau_urls")),
    path("bureau/", include("inspections.urls")),
    # The inspector web app: built files only, a client of the mobile API above.
    path("m/", include("inspector_app.urls")),
]
