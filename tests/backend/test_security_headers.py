"""Security headers on a public page, an API response, the admin, the API docs and the inspector
web app (/m/), which alone runs its own scripts, a service worker, the camera and the position."""

import pytest
from django.test import RequestFactory

from backend.middleware import (
    SecurityHeadersMiddleware,
    app_security_policy,
    content_security_policy,
    object_store_origin,
)

pytestmark = pytest.mark.django_db

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:{origins}; style-src 'self'; script-src 'none'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


def img_origins_suffix(settings) -> str:
    origin = object_store_origin(settings.OBJECT_STORE_URL)
    return f" {origin}" if origin else ""


def assert_common_headers(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Permissions-Policy"] == PERMISSIONS


def test_public_page_gets_the_strict_policy_and_may_be_cached(client, settings):
    response = client.get("/credit/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == PAGE_CSP.format(
        origins=img_origins_suffix(settings)
    )
    assert_common_headers(response)
    assert "no-store" not in response.get("Cache-Control", "")


def test_api_responses_with_personal_or_auth_data_are_not_stored(client):
    mobile = client.get("/api/mobile/v1/me", HTTP_AUTHORIZATION="Bearer wrong")
    sign_in = client.post(
        "/api/bureau/v1/auth/token",
        {"username": "nobody", "password": "wrong", "device_id": "pc"},
        content_type="application/json",
    )

    for response in (mobile, sign_in):
        assert response.status_code == 401
        assert response["Cache-Control"] == "no-store"
        assert_common_headers(response)
        # JSON is never rendered as a page, so it carries no page policy.
        assert "Content-Security-Policy" not in response


def test_admin_login_may_run_its_own_scripts_only(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "style-src 'self'" in policy
    assert_common_headers(response)
    assert "no-store" in response["Cache-Control"]


def test_api_docs_load_swagger_from_this_site_under_the_policy(client):
    response = client.get("/api/mobile/v1/docs")

    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page
    assert "<script>" not in page  # no inline script, which script-src 'self' would block


def test_the_bureau_pages_are_not_stored(client):
    response = client.get("/bureau/")

    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("s3://k:s@minio:9000/wuye?secure=false", "http://minio:9000"),
        ("s3://k:s@oss.example.cn/wuye", "https://oss.example.cn"),
        ("s3://k:s@oss.example.cn:9443/wuye?secure=true", "https://oss.example.cn:9443"),
        ("file:///srv/objects", None),
    ],
)
def test_object_store_origin_follows_the_store_url(url, origin):
    assert object_store_origin(url) == origin


def test_photos_from_the_object_store_are_allowed_as_images(settings):
    settings.OBJECT_STORE_URL = "s3://k:s@minio.internal:9000/wuye?secure=false"
    settings.CSP_IMG_ORIGINS = []
    derived = SecurityHeadersMiddleware(lambda request: None).page_policy
    settings.CSP_IMG_ORIGINS = ["https://photos.example.cn"]
    configured = SecurityHeadersMiddleware(lambda request: None).page_policy

    assert "img-src 'self' data: http://minio.internal:9000;" in derived
    assert "img-src 'self' data: https://photos.example.cn;" in configured
    assert "minio.internal" not in configured


def test_a_policy_set_by_a_view_is_kept():
    from django.http import HttpResponse

    own = "default-src 'none'"

    def view(request):
        response = HttpResponse("<p>x</p>")
        response["Content-Security-Policy"] = own
        return response

    response = SecurityHeadersMiddleware(view)(RequestFactory().get("/x"))

    assert response["Content-Security-Policy"] == own


def test_script_policy_differs_from_the_page_policy_only_in_script_src():
    page = content_security_policy(scripts=False, img_origins=[])
    admin = content_security_policy(scripts=True, img_origins=[])

    assert page.replace("script-src 'none'", "script-src 'self'") == admin


# --- the inspector web app (/m/) and only it gets the app's policy ------------------------

APP_CSP = (
    "default-src 'self'; img-src 'self' data: blob:{origins}; style-src 'self'; "
    "script-src 'self'; worker-src 'self'; connect-src 'self'; manifest-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
APP_PERMISSIONS = (
    "accelerometer=(), camera=(self), geolocation=(self), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


@pytest.fixture
def app_build(tmp_path, settings):
    """The smallest build /m/ serves: its page and its service worker."""
    (tmp_path / "index.html").write_text("<!doctype html><title>巡查</title>", encoding="utf-8")
    (tmp_path / "sw.js").write_text("self.skipWaiting();", encoding="utf-8")
    settings.INSPECTOR_APP_BUILD_DIR = tmp_path
    return tmp_path


@pytest.mark.parametrize("path", ["/m/", "/m/sw.js"])
def test_the_web_app_page_and_worker_get_the_app_policy(client, settings, app_build, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == APP_CSP.format(
        origins=img_origins_suffix(settings)
    )
    assert response["Permissions-Policy"] == APP_PERMISSIONS
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_rest_of_the_site_keeps_the_strict_policy_beside_the_app(client, settings, app_build):
    strict_page = PAGE_CSP.format(origins=img_origins_suffix(settings))

    public = client.get("/credit/")
    bureau = client.get("/bureau/login/")
    api = client.get("/api/mobile/v1/me", HTTP_AUTHORIZATION="Bearer wrong")

    assert public["Content-Security-Policy"] == strict_page
    assert bureau["Content-Security-Policy"] == strict_page
    assert "Content-Security-Policy" not in api
    for response in (public, bureau, api):
        assert_common_headers(response)


@pytest.mark.parametrize("path", ["/m", "/mobile/x", "/media/m/", "/credit/m/"])
def test_only_paths_under_m_slash_are_the_app(path):
    from django.http import HttpResponse

    middleware = SecurityHeadersMiddleware(lambda request: HttpResponse("<p>x</p>"))

    response = middleware(RequestFactory().get(path))

    assert response["Content-Security-Policy"] == middleware.page_policy
    assert response["Permissions-Policy"] == PERMISSIONS


def test_the_app_policy_opens_only_what_the_app_needs():
    page = dict(
        d.split(" ", 1) for d in content_security_policy(scripts=False, img_origins=[]).split("; ")
    )
    app = dict(d.split(" ", 1) for d in app_security_policy(img_origins=[]).split("; "))

    opened = {name: value for name, value in app.items() if page.get(name) != value}

    assert opened == {
        "img-src": "'self' data: blob:",
        "script-src": "'self'",
        "worker-src": "'self'",
        "connect-src": "'self'",
        "manifest-src": "'self'",
    }
    assert set(page) - set(app) == set()


def test_the_app_policy_allows_photos_from_the_object_store(settings):
    settings.CSP_IMG_ORIGINS = ["https://photos.example.cn"]

    policy = SecurityHeadersMiddleware(lambda request: None).app_policy

    assert "img-src 'self' data: blob: https://photos.example.cn;" in policy
