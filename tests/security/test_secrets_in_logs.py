"""Secrets never reach the logs: whatever the real flows log (access lines, warnings, errors),
at the most verbose level, contains no password, bearer or refresh token, tender secret or
signature, and no presigned-link signature. Read from the configured console handler, i.e.
what operators and log shippers receive."""

import io
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from credit.signing import signed_headers
from tests.factories import DEFAULT_PASSWORD
from tests.security.conftest import mobile_api

pytestmark = [pytest.mark.django_db, pytest.mark.services]


@pytest.fixture
def log_output():
    """Everything the console handler writes while the test runs, with the root logger at
    DEBUG (the most an operator can switch on)."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if h.name == "console")
    stream = io.StringIO()
    previous_stream, previous_level = handler.setStream(stream), root.level
    root.setLevel(logging.DEBUG)
    yield stream.getvalue
    root.setLevel(previous_level)
    handler.setStream(previous_stream)


def post_json(path: str, body: dict, **headers):
    return Client().post(path, body, content_type="application/json", **headers)


def test_sign_in_refresh_calls_and_tender_calls_log_no_secret(world, log_output):
    a = world.a
    username = a.inspector.user.username
    secrets = [DEFAULT_PASSWORD, "Wrong-Passw0rd-guess", a.tender_secret, a.inspector_refresh]

    # Sign-in (failed, then successful), a refresh, authenticated calls, a logout
    post_json("/api/mobile/v1/auth/token", {
        "username": username, "password": "Wrong-Passw0rd-guess", "device_id": "p",
    })  # fmt: skip
    pair = post_json("/api/mobile/v1/auth/token", {
        "username": username, "password": DEFAULT_PASSWORD, "device_id": "p",
    }).json()  # fmt: skip
    rotated = post_json("/api/mobile/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    rotated = rotated.json()
    phone = mobile_api(rotated["access_token"])
    photo = phone.get(f"/photos/{a.photo.uuid}").json()
    phone.get("/tasks", data={"access_token": rotated["access_token"]})  # a careless client
    bureau = post_json("/api/bureau/v1/auth/token", {
        "username": a.reviewer.user.username, "password": DEFAULT_PASSWORD, "device_id": "pc",
    }).json()  # fmt: skip
    post_json("/api/mobile/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})  # reuse
    phone.post("/auth/logout")
    secrets += [pair["access_token"], pair["refresh_token"], rotated["access_token"]]
    secrets += [rotated["refresh_token"], bureau["access_token"], bureau["refresh_token"]]
    link_signature = parse_qs(urlsplit(photo["display_url"]).query)
    secrets += [value for key, [value] in link_signature.items() if "signature" in key.lower()]

    # Tender calls: answered, replayed, and with a wrong signature
    path = f"/api/tender/v1/enterprises/{a.enterprise_uscc}"
    headers = signed_headers(
        client_id=a.tender_client.client_id, secret=a.tender_secret, method="GET", path=path
    )
    for _ in range(2):
        Client().get(path, headers=headers)
    wrong = {**headers, "X-Signature": "f" * 64, "X-Nonce": "another-nonce-0123456789"}
    Client().get(path, headers=wrong)
    secrets += [headers["X-Signature"]]

    output = log_output()
    assert output.count('"logger": "backend.access"') == 11  # every request was logged
    leaked = [secret for secret in secrets if secret and secret in output]
    assert leaked == []
