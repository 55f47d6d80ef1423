"""The public pages in headless Chromium (Playwright driving the system /usr/bin/chromium):
search an enterprise, open it, read the blacklist — with no JavaScript needed by the pages."""

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 - shared by the browser tests

SCREENSHOT = Path(__file__).resolve().parents[2] / "bench" / "results" / "public-enterprise.png"


@pytest.fixture
def chromium_path() -> str:
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is required (REQUIRE_SERVICES=1)")
        pytest.skip(f"{CHROMIUM} not installed: browser tests need the system Chromium")
    return str(CHROMIUM)


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
    assert "呼房罚〔2025〕9号" in records and "收取未标明、未公示的费用" in records
    assert "FEE-UNLISTED" not in records  # plain words for the public, not rule codes
    assert chart_points == 1
    assert bad.name in blacklist and "合同期内擅自弃管物业" in blacklist
    assert good.name not in blacklist
    assert SCREENSHOT.stat().st_size > 10_000
