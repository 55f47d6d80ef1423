"""Sign-in endpoints as a phone and a bureau client call them (shared router, two audiences)."""

import pytest
from django.core.cache import cache

from backend.models import TokenFamily
from credit.models import StaffRole
from tests.factories import DEFAULT_PASSWORD, staff

pytestmark = pytest.mark.django_db
MOBILE = "/api/mobile/v1"
BUREAU = "/api/bureau/v1"


@pytest.fixture(autouse=True)
def _clear_throttle():
    cache.clear()
    yield
    cache.clear()


def _sign_in(client, base, username, password=DEFAULT_PASSWORD, device="phone-1"):
    return client.post(
        f"{base}/auth/token",
        {"username": username, "password": password, "device_id": device},
        content_type="application/json",
    )


def test_inspector_signs_in_and_reads_profile(client):
    profile = staff(role=StaffRole.INSPECTOR, regions=("150100", "150200"), name="王巡查")

    response = _sign_in(client, MOBILE, profile.user.username)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["inspector"] == {
        "id": profile.id,
        "name": "王巡查",
        "regions": ["150100", "150200"],
        "region_names": {"150100": "呼和浩特市", "150200": "呼和浩特市"},  # factory default name
    }
    me = client.get(f"{MOBILE}/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200 and me.json()["name"] == "王巡查"


def test_wrong_password_is_401_problem(client):
    profile = staff()

    response = _sign_in(client, MOBILE, profile.user.username, password="wrong")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_credentials"
    assert TokenFamily.objects.count() == 0


def test_five_failures_lock_the_username_with_retry_after(client):
    profile = staff()
    for _ in range(5):
        assert _sign_in(client, MOBILE, profile.user.username, password="wrong").status_code == 401

    response = _sign_in(client, MOBILE, profile.user.username)  # even the right password

    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    assert TokenFamily.objects.count() == 0


def test_reviewer_cannot_use_the_mobile_api_and_inspector_cannot_use_the_bureau_api(client):
    reviewer = staff(role=StaffRole.REVIEWER)
    inspector = staff(role=StaffRole.INSPECTOR)

    assert _sign_in(client, MOBILE, reviewer.user.username).status_code == 401
    assert _sign_in(client, BUREAU, inspector.user.username).status_code == 401
    assert _sign_in(client, BUREAU, reviewer.user.username).json()["staff"]["role"] == "reviewer"
    assert TokenFamily.objects.count() == 1


def test_refresh_rotation_and_reuse_over_http(client):
    profile = staff()
    first = _sign_in(client, MOBILE, profile.user.username).json()

    rotated = client.post(
        f"{MOBILE}/auth/refresh",
        {"refresh_token": first["refresh_token"]},
        content_type="application/json",
    )
    reused = client.post(
        f"{MOBILE}/auth/refresh",
        {"refresh_token": first["refresh_token"]},
        content_type="application/json",
    )

    assert rotated.status_code == 200
    assert reused.status_code == 401 and reused.json()["code"] == "refresh_token_reused"
    new_access = rotated.json()["access_token"]
    assert client.get(f"{MOBILE}/me", HTTP_AUTHORIZATION=f"Bearer {new_access}").status_code == 401


def test_logout_makes_the_device_token_useless(client):
    profile = staff()
    tokens = _sign_in(client, MOBILE, profile.user.username).json()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}

    assert client.post(f"{MOBILE}/auth/logout", **auth).status_code == 204
    response = client.get(f"{MOBILE}/me", **auth)

    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_malformed_sign_in_body_is_422_with_error_list(client):
    response = client.post(
        f"{MOBILE}/auth/token", {"username": ""}, content_type="application/json"
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert {tuple(e["loc"])[-1] for e in body["errors"]} >= {"username", "password", "device_id"}


def test_invalid_json_is_a_problem_not_a_500(client):
    response = client.post(f"{MOBILE}/auth/token", "{not json", content_type="application/json")

    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"


def test_sign_in_still_works_when_the_throttle_cache_is_unreachable(client, caplog):
    from django.test import override_settings

    profile = staff()
    # Given the cache (Redis in production) down: nothing listens on the discard port.
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with override_settings(CACHES=unreachable):
        wrong = _sign_in(client, MOBILE, profile.user.username, password="wrong")
        right = _sign_in(client, MOBILE, profile.user.username)

    # Then the password check still decides, and the outage is logged rather than a 500.
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    assert right.status_code == 200
    assert "login throttle unavailable" in caplog.text
