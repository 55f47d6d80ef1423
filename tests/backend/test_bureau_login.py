"""Reviewers (no Django-admin access) sign in to the bureau pages with the throttled form."""

import pytest
from django.core.cache import cache

from credit.models import StaffRole
from tests.factories import DEFAULT_PASSWORD, staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_throttle():
    cache.clear()
    yield
    cache.clear()


def _login(client, username, password=DEFAULT_PASSWORD):
    return client.post(
        "/bureau/login/", {"username": username, "password": password, "next": "/bureau/review/"}
    )


def test_pages_send_anonymous_visitors_to_the_bureau_login():
    from django.test import Client

    response = Client().get("/bureau/review/")

    assert response.status_code == 302
    assert response["Location"] == "/bureau/login/?next=/bureau/review/"


def test_reviewer_signs_in_and_reaches_the_review_desk(client):
    reviewer = staff(role=StaffRole.REVIEWER)
    assert not reviewer.user.is_staff  # no admin access: the bureau login is their only door

    response = _login(client, reviewer.user.username)

    assert response.status_code == 302 and response["Location"] == "/bureau/review/"
    assert client.get("/bureau/review/").status_code == 200


def test_wrong_password_shows_an_error_and_five_failures_lock_the_username(client):
    reviewer = staff(role=StaffRole.REVIEWER)
    for _ in range(5):
        failed = _login(client, reviewer.user.username, password="wrong")
        assert failed.status_code == 200
        assert "用户名或密码错误" in failed.content.decode()

    locked = _login(client, reviewer.user.username)

    assert locked.status_code == 200
    assert "登录失败次数过多" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client):
    reviewer = staff(role=StaffRole.REVIEWER)
    _login(client, reviewer.user.username)

    response = client.post("/bureau/logout/")

    assert response.status_code == 302
    assert client.get("/bureau/review/").status_code == 302
