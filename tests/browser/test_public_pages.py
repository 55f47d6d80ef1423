"""The public pages in headless Chromium (Playwright driving the system /usr/bin/chromium):
search an enterprise, open it, read the blacklist — with no JavaScript needed by the pages."""

import os
from datetime import date
from pathlib import Path

import pytest
from django.test import override_settings

from credit.models import StaffRole
from tests.factories import EnterpriseFactory, region, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "bench" / "results" / "public-enterprise.png"


@pytest.fixture
def chromium_path() -> str:
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is required (REQUIRE_SERVICES=1)")
        pytest.skip(f"{CHROMIUM} not installed: browser tests need the system Chromium")
    return str(CHROMIUM)


@pytest.fixture
def published_firms(settings):
    """Two firms, one blacklisted, in a published snapshot (made before the browser starts:
    Playwright's event loop makes the ORM refuse synchronous calls afterwards)."""
    from credit.publication import snapshot_publish
    from credit.recompute.firm import recompute_enterprise
    from credit.services import blacklist_approve, blacklist_propose, record_create

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    first = staff(role=StaffRole.REVIEWER, regions=("150100",)).user
    second = staff(role=StaffRole.REVIEWER, regions=("150100",)).user
    good = EnterpriseFactory(region=region("150100"), name="青城物业服务有限公司")
    bad = EnterpriseFactory(region=region("150100"), name="弃管物业有限公司")
    with override_settings(CREDIT_OBJECTION_WORKING_DAYS=0):
        today = date.today()
        record_create(
            enterprise=good,
            rule_code="FEE-UNLISTED",
            decided_at=today,
            source="inspection",
            document_no="呼房罚〔2025〕9号",
            actor=first,
        )
        record_create(
            enterprise=bad,
            rule_code="ABANDON",
            decided_at=today,
            source="inspection",
            actor=first,
        )
    for firm in (good, bad):
        recompute_enterprise(enterprise_id=firm.id)
    blacklist_propose(enterprise=bad, reason="合同期内擅自弃管物业", actor=first)
    blacklist_approve(
        enterprise=bad, authority="呼和浩特市住建局", document_no="黑1号", actor=second
    )
    snapshot_publish(actor=first)
    return good, bad


def test_search_open_an_enterprise_and_read_the_blacklist(
    live_server, published_firms, chromium_path
):
    from playwright.sync_api import sync_playwright

    good, bad = published_firms
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page(java_script_enabled=False, locale="zh-CN")
        page.goto(f"{live_server.url}/credit/")
        page.fill("#q", "青城")
        page.click("form[role=search] button")
        page.click(f"text={good.name}")
        heading = page.inner_text("h1")
        grade = page.inner_text(".grade")
        records = page.inner_text("#records + table")
        chart_points = page.locator("svg.chart circle").count()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.click("header nav a[href='/credit/blacklist/']")
        blacklist = page.inner_text("main")
        browser.close()

    assert (heading, grade) == (good.name, "A")
    assert "呼房罚〔2025〕9号" in records and "FEE-UNLISTED" in records
    assert chart_points == 1
    assert bad.name in blacklist and "合同期内擅自弃管物业" in blacklist
    assert good.name not in blacklist
    assert SCREENSHOT.stat().st_size > 10_000
