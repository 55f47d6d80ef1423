"""Sign-in, throttling, expiry, refresh rotation and device logout as the phone meets them."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from backend.models import ApiToken, TokenKind
from backend.tokens import token_digest
from credit.models import StaffRole
from tests.factories import staff
from tests.mobile_api.phone import API, Phone, sign_in

pytestmark = pytest.mark.django_db


def test_sign_in_returns_tokens_and_inspector_profile(client, inspector):
    body = sign_in(client, inspector.user.username)

    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["inspector"] == {
        "id": inspector.id,
        "name": "巡查员甲",
        "regions": ["150100"],
        "region_names": {"150100": "呼和浩特市"},
    }


def test_reviewer_cannot_sign_in_on_the_phone(client):
    reviewer = staff(role=StaffRole.REVIEWER)

    response = client.post(
        f"{API}/auth/token",
        {"username": reviewer.user.username, "password": "Correct-Horse-42", "device_id": "x"},
        content_type="application/json",
    )

    assert response.status_code == 401


def test_sixth_attempt_after_five_failures_is_throttled(client, inspector):
    wrong = {"username": inspector.user.username, "password": "wrong", "device_id": "p"}
    failures = [
        client.post(f"{API}/auth/token", wrong, content_type="application/json").status_code
        for _ in range(5)
    ]

    throttled = client.post(
        f"{API}/auth/token",
        wrong | {"password": "Correct-Horse-42"},
        content_type="application/json",
    )

    assert failures == [401] * 5
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "too_many_attempts"
    assert 0 < int(throttled["Retry-After"]) <= 15 * 60


def test_expired_access_token_is_401(phone):
    raw = phone.auth["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    ApiToken.objects.filter(digest=token_digest(raw)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = phone.get("/tasks")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_reused_refresh_token_revokes_the_device(client, inspector):
    pair = sign_in(client, inspector.user.username)
    rotated = client.post(
        f"{API}/auth/refresh",
        {"refresh_token": pair["refresh_token"]},
        content_type="application/json",
    )

    reuse = client.post(
        f"{API}/auth/refresh",
        {"refresh_token": pair["refresh_token"]},
        content_type="application/json",
    )

    assert rotated.status_code == 200
    assert reuse.status_code == 401
    assert Phone(Client(), rotated.json()["access_token"]).get("/me").status_code == 401


def test_logout_ends_this_device_only(inspector):
    this_device = Phone(Client(), sign_in(Client(), inspector.user.username)["access_token"])
    other_token = sign_in(Client(), inspector.user.username, device_id="tablet")["access_token"]

    logout = this_device.client.post(f"{API}/auth/logout", **this_device.auth)

    assert logout.status_code == 204
    assert this_device.get("/me").status_code == 401
    assert Phone(Client(), other_token).get("/me").status_code == 200
    assert ApiToken.objects.filter(kind=TokenKind.ACCESS).count() == 2
