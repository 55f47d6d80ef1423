"""The bureau's statistics dashboard in headless Chromium with an English browser: Chinese, every
chart drawn as SVG beside its table, no serious WCAG 2.1 AA violation, usable at 390 px, a
figure's link opens its records and the export downloads. Screenshots at 1280 and 390 px go to
var/test-artefacts/statistics/ and are looked at."""

import re

import pytest
from django.test import Client

from tests.browser.test_public_portal import ARTEFACTS as PORTAL_ARTEFACTS
from tests.browser.test_public_portal import WIDTHS, english_page, serious_violations
from tests.inspections.stats.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = PORTAL_ARTEFACTS.parent / "statistics"
DASHBOARD = "/bureau/statistics/?region=150100&period=2026-03"


@pytest.fixture
def signed_in(settings):
    """The world and a reviewer's session cookie, made before Playwright starts (its event loop
    makes the ORM refuse synchronous calls afterwards)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    world = build_world()
    client = Client()
    client.force_login(world.reviewer_150100.user)
    return client.cookies["sessionid"].value


def test_the_dashboard_is_chinese_drawn_and_accessible_at_both_widths(
    live_server, signed_in, browser
):
    problems = {}
    for width in WIDTHS:
        page = english_page(browser, width)
        page.context.add_cookies(
            [{"name": "sessionid", "value": signed_in, "url": live_server.url}]
        )
        response = page.goto(f"{live_server.url}{DASHBOARD}")
        assert response.status == 200
        assert page.evaluate("() => document.documentElement.lang") == "zh-Hans"
        assert "监管统计：呼和浩特市，2026年3月" in page.locator("h1").inner_text()
        charts = page.locator("svg.stat-chart")
        assert charts.count() >= 6
        for index in range(charts.count()):
            box = charts.nth(index).bounding_box()
            assert box and box["width"] > 300 and box["height"] > 40, index
        assert page.locator("table#table-inspections").inner_text().count("计划巡查") == 1
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / f"dashboard-{width}.png"), full_page=True)
        problems[width] = serious_violations(page)
        if width == 390:
            overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 1, f"the dashboard scrolls sideways by {overflow} px at 390"
        page.context.close()

    assert {w: p for w, p in problems.items() if p} == {}


def test_a_figure_opens_its_records_and_the_page_exports(live_server, signed_in, browser):
    page = english_page(browser, 1280)
    page.context.add_cookies([{"name": "sessionid", "value": signed_in, "url": live_server.url}])
    page.goto(f"{live_server.url}{DASHBOARD}")

    page.locator("table#table-findings-by-rule a").first.click()
    page.wait_for_load_state()
    heading = page.locator("h1").inner_text()
    total = int(re.search(r"共 (\d+) 条", page.locator("main").inner_text()).group(1))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "list-1280.png"), full_page=True)
    rows = page.locator("main table tbody tr").count()
    page.go_back()
    with page.expect_download() as download:
        page.locator("a", has_text="导出 Excel（XLSX）").first.click()

    assert heading.startswith("违规发现：呼和浩特市")
    assert total == rows == 2  # ELEVATOR-OPS, found twice in March
    assert download.value.suggested_filename == "statistics-150100-2026-03.xlsx"
    page.context.close()
