"""Security headers on a public page, an API response, the admin and the API docs."""

import pytest
from django.test import RequestFactory

from backend.middleware import (
    SecurityHeadersMiddleware,
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
