"""OWASP API8 (security misconfiguration): every surface answers with the security headers, HTML
pages with a Content-Security-Policy that runs no script and allows no framing, private API
answers are never stored, and HTTPS deployments send HSTS."""

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD
from tests.security.conftest import tender_get

pytestmark = [pytest.mark.django_db, pytest.mark.services]

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csp(response) -> dict[str, str]:
    directives = (
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    return {name: value for name, value in directives}


def responses(world) -> dict[str, object]:
    reviewer = Client()
    assert reviewer.login(username=world.a.reviewer.user.username, password=DEFAULT_PASSWORD)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {world.a.inspector_token}"}
    return {
        "public_search": Client().get("/credit/"),
        "public_enterprise": Client().get(f"/credit/e/{world.a.enterprise_uscc}/"),
        "review_page": reviewer.get("/bureau/review/"),
        "mobile_json": Client().get("/api/mobile/v1/tasks", **bearer),
        "mobile_problem": Client().get("/api/mobile/v1/tasks"),
        "tus": Client().options("/api/mobile/v1/uploads/", HTTP_TUS_RESUMABLE="1.0.0"),
        "tender": tender_get(
            client_id=world.a.tender_client.client_id,
            secret=world.a.tender_secret,
            path="/api/tender/v1/snapshots/latest",
        ),
        "open_data": Client().get("/credit/open-data/latest.json"),
    }


def test_every_surface_sends_the_security_headers(world):
    for name, response in responses(world).items():
        sent = {header: response.get(header) for header in EVERYWHERE}
        assert sent == EVERYWHERE, name
        assert response["X-Frame-Options"] == "DENY", name


@pytest.mark.parametrize("page", ["public_search", "public_enterprise", "review_page"])
def test_html_pages_run_no_script_and_cannot_be_framed(world, page):
    policy = csp(responses(world)[page])

    assert policy["script-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["default-src"] == "'self'"


@pytest.mark.parametrize("surface", ["review_page", "mobile_json", "mobile_problem"])
def test_private_answers_are_never_stored(world, surface):
    assert responses(world)[surface]["Cache-Control"] == "no-store"


def test_https_deployments_send_hsts(world, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    response = Client().get("/credit/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
