"""OWASP API2 (broken authentication): stolen and reused tokens, tokens of the wrong audience,
password guessing, and the tender API's HMAC signatures (another client's secret, replay,
stale timestamps, tampering)."""

import time
import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from backend.models import TokenFamily
from credit.signing import signed_headers
from credit.tender_auth import clear_client_cache
from tests.factories import DEFAULT_PASSWORD
from tests.fuzz.world import mobile_token
from tests.security.conftest import bureau_api, mobile_api, problem_code, tender_get

pytestmark = [pytest.mark.django_db, pytest.mark.services]

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


# --- bearer tokens ----------------------------------------------------------------------------


def refresh(prefix: str, refresh_token: str):
    return Client().post(
        f"{prefix}/auth/refresh", {"refresh_token": refresh_token}, content_type="application/json"
    )


def test_a_reused_refresh_token_revokes_the_whole_family(world):
    # Given a phone that refreshed once (the thief copied the old refresh token)
    inspector = world.a.inspector
    access, old_refresh = mobile_token(inspector, device_id="stolen")
    rotated = refresh("/api/mobile/v1", old_refresh).json()

    # When the copy is presented again
    reused = refresh("/api/mobile/v1", old_refresh)

    # Then it is refused and every token of that sign-in stops working, the new ones included
    assert (reused.status_code, problem_code(reused)) == (401, "refresh_token_reused")
    for token in (access, rotated["access_token"]):
        assert mobile_api(token).get("/me").status_code == 401
    assert refresh("/api/mobile/v1", rotated["refresh_token"]).status_code == 401
    family = TokenFamily.objects.get(user=inspector.user, device_id="stolen")
    assert family.revoked_reason == "refresh_reuse"
    # while the inspector's other devices are untouched
    assert mobile_api(world.a.inspector_token).get("/me").status_code == 200


def test_a_logged_out_token_is_refused(world):
    access, refresh_token = mobile_token(world.a.inspector, device_id="lost")
    phone = mobile_api(access)

    assert phone.post("/auth/logout").status_code == 204

    assert phone.get("/me").status_code == 401
    assert refresh("/api/mobile/v1", refresh_token).status_code == 401


@pytest.mark.parametrize(
    "request_with",
    [
        lambda token: mobile_api(token).get("/tasks"),
        lambda token: Client(HTTP_AUTHORIZATION=f"Bearer {token}").head(
            "/api/mobile/v1/uploads/" + str(uuid.uuid4()), **TUS
        ),
    ],
    ids=["json", "tus"],
)
def test_a_bureau_token_is_refused_by_the_mobile_api(world, request_with):
    assert request_with(world.a.reviewer_token).status_code == 401


def test_a_mobile_token_is_refused_by_the_bureau_api(world):
    response = bureau_api(world.a.inspector_token).get("/review/findings")

    assert (response.status_code, problem_code(response)) == (401, "not_authenticated")


def test_a_mobile_refresh_token_cannot_refresh_a_bureau_sign_in(world):
    _, mobile_refresh = mobile_token(world.a.inspector, device_id="x")

    assert refresh("/api/bureau/v1", mobile_refresh).status_code == 401


def test_an_inspector_cannot_sign_in_to_the_bureau_api(world):
    response = Client().post(
        "/api/bureau/v1/auth/token",
        {
            "username": world.a.inspector.user.username,
            "password": DEFAULT_PASSWORD,
            "device_id": "pc",
        },
        content_type="application/json",
    )

    assert (response.status_code, problem_code(response)) == (401, "invalid_credentials")


def test_an_expired_access_token_is_refused(world, settings):
    settings.ACCESS_TOKEN_TTL_S = -1
    access, _ = mobile_token(world.a.inspector, device_id="old")

    assert mobile_api(access).get("/me").status_code == 401


# --- password guessing ------------------------------------------------------------------------


def sign_in(username: str, password: str):
    return Client().post(
        "/api/mobile/v1/auth/token",
        {"username": username, "password": password, "device_id": "guess"},
        content_type="application/json",
    )


def test_five_wrong_passwords_lock_that_username_even_for_the_right_password(world):
    username = world.a.inspector.user.username
    cache.clear()

    failures = [sign_in(username, f"guess-{n}").status_code for n in range(5)]
    locked = sign_in(username, DEFAULT_PASSWORD)
    other = sign_in(world.b.inspector.user.username, DEFAULT_PASSWORD)

    assert failures == [401] * 5
    assert (locked.status_code, problem_code(locked)) == (429, "too_many_attempts")
    assert 1 <= int(locked["Retry-After"]) <= 15 * 60
    assert other.status_code == 200  # counted per username: one locked account locks no other


def test_the_lock_ignores_case_and_surrounding_spaces_of_the_username(world):
    username = world.a.inspector.user.username
    cache.clear()
    for variant in (username, username.upper(), f" {username}", f"{username} ", username.title()):
        sign_in(variant, "wrong")

    assert sign_in(username, DEFAULT_PASSWORD).status_code == 429


# --- tender HMAC ------------------------------------------------------------------------------


def enterprise_path(world) -> str:
    return f"/api/tender/v1/enterprises/{world.a.enterprise_uscc}"


def test_a_correctly_signed_call_is_answered(world):
    a = world.a
    response = tender_get(
        client_id=a.tender_client.client_id, secret=a.tender_secret, path=enterprise_path(world)
    )

    assert response.status_code == 200


def test_client_bs_signature_over_client_as_id_is_refused(world):
    response = tender_get(
        client_id=world.a.tender_client.client_id,
        secret=world.b.tender_secret,
        path=enterprise_path(world),
    )

    assert (response.status_code, problem_code(response)) == (401, "bad_signature")


def test_the_same_nonce_twice_is_a_replay(world):
    a = world.a
    call = dict(
        client_id=a.tender_client.client_id,
        secret=a.tender_secret,
        path=enterprise_path(world),
        nonce="n" + uuid.uuid4().hex,
    )

    first, second = tender_get(**call), tender_get(**call)

    assert first.status_code == 200
    assert (second.status_code, problem_code(second)) == (401, "replayed_request")


@pytest.mark.parametrize("skew_s", [-600, 600], ids=["ten_minutes_old", "ten_minutes_ahead"])
def test_a_timestamp_ten_minutes_off_is_stale(world, skew_s):
    a = world.a
    response = tender_get(
        client_id=a.tender_client.client_id,
        secret=a.tender_secret,
        path=enterprise_path(world),
        timestamp=int(time.time()) + skew_s,
    )

    assert (response.status_code, problem_code(response)) == (401, "stale_request")


def test_a_query_changed_after_signing_is_refused(world):
    a = world.a
    path = enterprise_path(world) + "/tender-terms"
    headers = signed_headers(
        client_id=a.tender_client.client_id,
        secret=a.tender_secret,
        method="GET",
        path=path,
        query_string="project_area_m2=1000",
    )

    response = Client().get(f"{path}?project_area_m2=200000", headers=headers)

    assert (response.status_code, problem_code(response)) == (401, "bad_signature")


def test_a_deactivated_client_is_refused(world):
    a = world.a
    a.tender_client.is_active = False
    a.tender_client.save(update_fields=["is_active"])
    clear_client_cache()

    response = tender_get(
        client_id=a.tender_client.client_id, secret=a.tender_secret, path=enterprise_path(world)
    )

    assert (response.status_code, problem_code(response)) == (401, "unknown_client")
