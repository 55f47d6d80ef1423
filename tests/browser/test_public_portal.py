"""The public portal as a citizen with an English browser meets it, in headless Chromium: the
pages stay Chinese until English is chosen (and remember it), an exact credit code jumps
straight to the firm, the credit report downloads as a PDF with the firm's text in it, and
axe-core finds no serious or critical WCAG 2.1 AA violation on the home, firm and blacklist
pages. Screenshots at 1280 and 390 px go to var/test-artefacts/public-portal/."""

import io
import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = (
    Path(os.environ.get("TEST_ARTEFACTS", ROOT / "var" / "test-artefacts")) / "public-portal"
)
WIDTHS = (1280, 390)
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
BLOCKING = {"serious", "critical"}


def english_page(browser, width: int):
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        extra_http_headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    return context.new_page()


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v.get("impact") in BLOCKING
    ]


def test_pages_are_chinese_for_an_english_browser_and_pass_axe(
    live_server,
    published_firms,
    browser,
):
    good, bad = published_firms
    found: dict[str, list[str]] = {}
    languages = set()
    for width in WIDTHS:
        page = english_page(browser, width)
        for name, path in (
            ("home", "/credit/"),
            ("enterprise", f"/credit/e/{good.uscc}/"),
            ("blacklisted", f"/credit/e/{bad.uscc}/"),
            ("blacklist", "/credit/blacklist/"),
        ):
            response = page.goto(f"{live_server.url}{path}")
            languages.add(
                (
                    response.headers.get("content-language"),
                    page.evaluate("() => document.documentElement.lang"),
                )
            )
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / f"{name}-{width}.png"), full_page=True)
            found[f"{name}@{width}"] = serious_violations(page)
            if width == 390:
                # The page must not scroll sideways on a phone.
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth - window.innerWidth"
                )
                assert overflow <= 1, f"{name} scrolls sideways by {overflow} px at 390"
        page.context.close()

    assert languages == {("zh-Hans", "zh-Hans")}
    assert {page: problems for page, problems in found.items() if problems} == {}


def test_an_exact_credit_code_opens_the_firm_and_english_is_remembered(
    live_server,
    published_firms,
    browser,
):
    good, _ = published_firms
    page = english_page(browser, 1280)
    page.goto(f"{live_server.url}/credit/")
    page.fill("input[name=q]", good.uscc)
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    landed = page.url
    heading = page.inner_text("h1")
    page.click("a[href*='lang=en']")
    english_heading = page.inner_text("h1")
    page.goto(f"{live_server.url}/credit/blacklist/")
    remembered = page.evaluate("() => document.documentElement.lang")
    page.click("a[href*='lang=zh']")
    back = page.evaluate("() => document.documentElement.lang")
    page.context.close()

    assert landed.endswith(f"/credit/e/{good.uscc}/")
    assert heading == good.name == english_heading  # a firm's name is not translated
    assert (remembered, back) == ("en", "zh-Hans")


def test_the_credit_report_downloads_as_a_pdf_with_the_firms_text(
    live_server,
    published_firms,
    browser,
):
    from pypdf import PdfReader

    good, _ = published_firms
    page = english_page(browser, 1280)
    page.goto(f"{live_server.url}/credit/e/{good.uscc}/")
    with page.expect_download() as download:
        page.click(f"a[href$='/credit/e/{good.uscc}/report.pdf']")
    pdf = Path(download.value.path()).read_bytes()
    page.context.close()

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf.startswith(b"%PDF")
    assert good.name in text and good.uscc in text
    assert "信用报告" in text
