"""OWASP API8 (security misconfiguration) / injection: text typed by outsiders (enterprise
names from registry files, finding descriptions from phones, blacklist reasons, search
boxes) is stored as typed and escaped wherever a page shows it; search input is a value, never
SQL."""

from datetime import date

import pytest
from django.test import Client
from django.utils.html import escape

from credit.models import StaffRole
from credit.publication import snapshot_publish
from credit.services import blacklist_approve, blacklist_propose, record_create
from tests.factories import DEFAULT_PASSWORD, ContractFactory, EnterpriseFactory, region, staff
from tests.security.conftest import mobile_api, problem_code, tender_get

pytestmark = [pytest.mark.django_db, pytest.mark.services]

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'
SQL = "' OR 1=1 --"


@pytest.fixture
def hostile(world, settings):
    """An enterprise named SCRIPT, blacklisted with reason ATTRIBUTE_BREAK, managing region A's
    compound, whose pending finding's description is ATTRIBUTE_BREAK; then published."""
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0
    a = world.a
    firm = EnterpriseFactory(region=region(a.region_code), name=SCRIPT)
    ContractFactory(enterprise=firm, project=a.project, start_date=date(2024, 1, 1))
    a.project.contracts.exclude(enterprise=firm).update(end_date=date(2023, 12, 31))
    record_create(
        enterprise=firm,
        rule_code="ABANDON",
        decided_at=date(2025, 3, 5),
        facts=ATTRIBUTE_BREAK,
        source="penalty",
        actor=a.reviewer.user,
    )
    blacklist_propose(enterprise=firm, reason=ATTRIBUTE_BREAK, actor=a.reviewer.user)
    approver = staff(role=StaffRole.ADMIN, regions=(a.region_code,), name="批准人")
    blacklist_approve(
        enterprise=firm, authority="呼和浩特市住建局", document_no="呼房黑〔2025〕1号",
        actor=approver.user,
    )  # fmt: skip
    a.finding.__class__.objects.filter(pk=a.finding.pk).update(description=ATTRIBUTE_BREAK)
    snapshot_publish(actor=None)
    return firm


def reviewer_browser(side) -> Client:
    browser = Client()
    assert browser.login(username=side.reviewer.user.username, password=DEFAULT_PASSWORD)
    return browser


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


@pytest.mark.parametrize(
    "url",
    ["/credit/?q=%3Cscript%3E", "/credit/e/{uscc}/", "/credit/blacklist/"],
    ids=["search", "enterprise", "blacklist"],
)
def test_public_pages_escape_a_hostile_enterprise_name_and_blacklist_reason(hostile, url):
    html = page(Client(), url.format(uscc=hostile.uscc))

    assert SCRIPT not in html and ATTRIBUTE_BREAK not in html
    assert escape(SCRIPT) in html
    if "?q=" not in url:  # search results list names only
        assert escape(ATTRIBUTE_BREAK) in html


def test_the_search_box_echoes_a_script_escaped(world):
    html = page(Client(), f"/credit/?q={SCRIPT}")

    assert SCRIPT not in html
    assert escape(SCRIPT) in html


def test_the_review_page_escapes_a_hostile_finding_description_and_enterprise(world, hostile):
    html = page(reviewer_browser(world.a), "/bureau/review/")

    assert ATTRIBUTE_BREAK not in html and SCRIPT not in html
    assert escape(ATTRIBUTE_BREAK) in html and escape(SCRIPT) in html


def test_the_bureau_enterprise_page_escapes_names_facts_and_reasons(world, hostile):
    html = page(reviewer_browser(world.a), f"/bureau/credit/e/{hostile.uscc}/")

    assert ATTRIBUTE_BREAK not in html and SCRIPT not in html
    assert escape(ATTRIBUTE_BREAK) in html and escape(SCRIPT) in html


def test_sql_in_the_public_search_is_only_a_search_for_that_text(world):
    html = page(Client(), "/credit/?q=" + SQL)

    assert world.a.enterprise_name not in html and world.b.enterprise_name not in html
    assert escape(SQL) in html


def test_sql_in_a_tender_code_is_an_invalid_code(world):
    a = world.a
    response = tender_get(
        client_id=a.tender_client.client_id,
        secret=a.tender_secret,
        path="/api/tender/v1/enterprises/' OR 1=1 --",
    )

    assert (response.status_code, problem_code(response)) == (422, "invalid_uscc")


def test_sql_in_a_mobile_cursor_is_an_invalid_cursor(world):
    response = mobile_api(world.a.inspector_token).get("/tasks", data={"cursor": SQL})

    assert response.status_code == 422
