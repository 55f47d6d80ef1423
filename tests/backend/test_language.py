"""The site's language: Chinese whatever the browser's Accept-Language says; English only when
the person chooses it (`?lang=en`, remembered in a cookie); `<html lang>` and
`Content-Language` say which; the APIs' problem titles are Chinese."""

import json

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from backend import exceptions as domain
from backend.errors import _TITLES, DOMAIN_STATUSES, response_for
from credit.models import StaffRole
from tests.factories import EnterpriseFactory, staff

pytestmark = pytest.mark.django_db

ENGLISH_BROWSER = "en-US,en;q=0.9"
COOKIE = settings.LANGUAGE_COOKIE_NAME
CHINESE = {"lang": 'lang="zh-Hans"', "header": "zh-Hans", "text": "跳到正文"}
ENGLISH = {"lang": 'lang="en"', "header": "en", "text": "Skip to content"}


@pytest.fixture
def browser():
    """A visitor whose browser asks for English on every request."""
    return Client(headers={"Accept-Language": ENGLISH_BROWSER})


@pytest.fixture
def firm():
    from credit.publication import snapshot_publish

    enterprise = EnterpriseFactory(name="青城物业服务有限公司")
    snapshot_publish(actor=None)
    return enterprise


def page(client, url, status=200, **params):
    response = client.get(url, params)
    assert response.status_code == status, (url, response.status_code)
    return response, response.content.decode()


def assert_language(response, html, expected):
    assert f"<html {expected['lang']}>" in html
    assert response["Content-Language"] == expected["header"]
    assert expected["text"] in html


# Pages built on base.html: the public site, the bureau sign-in and desk, an error page.
PUBLIC_PAGES = ["/credit/", "/credit/blacklist/", "/credit/redlist/"]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_are_chinese_for_an_english_browser(browser, firm, url):
    response, html = page(browser, url)

    assert_language(response, html, CHINESE)
    assert "Vary" in response and "Cookie" in response["Vary"]
    assert COOKIE not in response.cookies


def test_the_firm_page_is_chinese_for_an_english_browser(browser, firm):
    response, html = page(browser, f"/credit/e/{firm.uscc}/")

    assert_language(response, html, CHINESE)
    assert firm.name in html


def test_bureau_sign_in_and_desk_are_chinese_for_an_english_browser(browser):
    reviewer = staff(role=StaffRole.REVIEWER)

    login, login_html = page(browser, "/bureau/login/")
    browser.force_login(reviewer.user)
    desk, desk_html = page(browser, "/bureau/")

    assert_language(login, login_html, CHINESE)
    assert "主管部门登录" in login_html
    assert_language(desk, desk_html, CHINESE)


def test_the_admin_is_chinese_for_an_english_browser(browser):
    response, html = page(browser, "/admin/login/")

    # The admin's own templates name the language by Django's code, zh-hans (the same tag).
    assert '<html lang="zh-hans"' in html
    assert response["Content-Language"] == "zh-Hans"
    assert "登录" in html and "Log in" not in html


def test_the_admin_switches_to_english_on_request(browser):
    response, html = page(browser, "/admin/login/", lang="en")

    assert '<html lang="en"' in html and "Log in" in html
    assert response["Content-Language"] == "en"


def test_an_error_page_is_chinese_for_an_english_browser(browser):
    response, html = page(browser, "/credit/no-such-page/", status=404)

    assert_language(response, html, CHINESE)
    assert "页面不存在" in html


def test_an_error_page_is_english_on_request(browser):
    response, html = page(browser, "/credit/no-such-page/", status=404, lang="en")

    assert_language(response, html, ENGLISH)
    assert "Page not found" in html


@pytest.mark.parametrize(
    ("language", "text"), [("zh-hans", "服务器内部错误"), ("en", "Server error")]
)
def test_the_500_page_is_in_the_language_of_the_request(rf, language, text):
    """Django renders 500.html without a request context; it still names its language."""
    from django.views.defaults import server_error

    with translation.override(language):
        response = server_error(rf.get("/credit/"))

    html = response.content.decode()
    assert response.status_code == 500
    assert f'<html lang="{"en" if language == "en" else "zh-Hans"}">' in html and text in html


def test_the_inspector_app_503_page_is_chinese_for_an_english_browser(browser, settings, tmp_path):
    settings.INSPECTOR_APP_BUILD_DIR = tmp_path / "never-built"

    response, html = page(browser, "/m/", status=503)

    assert response["Content-Language"] == "zh-Hans"
    assert html.index("尚未构建") < html.index("has not been built")


def test_lang_en_switches_to_english_and_is_remembered(browser, firm):
    chosen, chosen_html = page(browser, "/credit/", lang="en")
    later, later_html = page(browser, f"/credit/e/{firm.uscc}/")

    assert_language(chosen, chosen_html, ENGLISH)
    cookie = chosen.cookies[COOKIE]
    assert cookie.value == "en"
    assert cookie["max-age"] == settings.LANGUAGE_COOKIE_AGE
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert_language(later, later_html, ENGLISH)
    assert COOKIE not in later.cookies  # remembered, not set again


def test_lang_zh_switches_back_to_chinese(browser):
    page(browser, "/credit/", lang="en")

    back, back_html = page(browser, "/credit/", lang="zh")
    later, later_html = page(browser, "/credit/blacklist/")

    assert_language(back, back_html, CHINESE)
    assert back.cookies[COOKIE].value == "zh-hans"
    assert_language(later, later_html, CHINESE)


@pytest.mark.parametrize("value", ["xx", "", "de-DE", "en;q=1"])
def test_an_unknown_lang_is_ignored(browser, value):
    response, html = page(browser, "/credit/", lang=value)

    assert_language(response, html, CHINESE)
    assert COOKIE not in response.cookies


def test_an_unknown_lang_keeps_the_language_chosen_before(browser):
    page(browser, "/credit/", lang="en")

    response, html = page(browser, "/credit/", lang="xx")

    assert_language(response, html, ENGLISH)
    assert COOKIE not in response.cookies


def test_an_unknown_cookie_value_means_chinese(browser):
    browser.cookies[COOKIE] = "fr"

    response, html = page(browser, "/credit/")

    assert_language(response, html, CHINESE)


def test_the_switch_is_a_link_to_this_page_in_the_other_language(browser):
    _, chinese = page(browser, "/credit/", q="青城", page="2")
    _, english = page(browser, "/credit/", q="青城", lang="en")

    assert (
        '<a class="language" href="/credit/?q=%E9%9D%92%E5%9F%8E&amp;page=2&amp;lang=en" '
        'hreflang="en" lang="en">English</a>'
    ) in chinese
    assert (
        '<a class="language" href="/credit/?q=%E9%9D%92%E5%9F%8E&amp;lang=zh" '
        'hreflang="zh-Hans" lang="zh-Hans">中文</a>'
    ) in english
    assert "set_language" not in chinese and "/i18n/setlang/" not in chinese


def test_the_set_language_form_still_switches(browser):
    switched = browser.post("/i18n/setlang/", {"language": "en", "next": "/credit/"})
    response, html = page(browser, "/credit/")

    assert switched.status_code == 302 and switched["Location"] == "/credit/"
    assert_language(response, html, ENGLISH)


def test_the_language_chosen_does_not_outlive_the_request(browser):
    from django.utils.translation import get_language

    page(browser, "/credit/", lang="en")

    assert get_language() == settings.LANGUAGE_CODE


# The APIs: problem titles are Chinese whatever the client's language, and no language cookie.


def test_api_problem_titles_are_chinese_for_an_english_client(browser):
    unauthenticated = browser.get("/api/mobile/v1/tasks", {"lang": "en"})
    invalid = browser.post("/api/mobile/v1/auth/token", {}, content_type="application/json")

    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["title"] == "未认证"
    assert unauthenticated.json()["code"] == "not_authenticated"
    assert COOKIE not in unauthenticated.cookies
    assert invalid.status_code == 422
    assert invalid.json()["title"] == "请求数据无效"
    assert invalid.json()["code"] == "validation_error"


def test_domain_problems_keep_their_code_and_members_with_a_chinese_title():
    with translation.override("en"):
        body = json.loads(
            response_for(domain.Conflict("idempotency_conflict", "内容不同。", seen=2)).content
        )

    assert body == {
        "type": "https://wuye-credit.example/problems/idempotency_conflict",
        "title": "冲突",
        "status": 409,
        "detail": "内容不同。",
        "code": "idempotency_conflict",
        "seen": 2,
    }


def test_api_text_stays_chinese_for_a_client_that_chose_english_pages(browser):
    page(browser, "/credit/", lang="en")

    response = browser.post(
        "/api/bureau/v1/auth/token",
        {"username": "nobody", "password": "x", "device_id": "d1"},
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response.json()["title"] == "未认证"
    assert all(ord(ch) > 127 for ch in response.json()["detail"][:2])


def test_every_status_the_apis_send_has_a_chinese_title():
    statuses = {*DOMAIN_STATUSES.values(), 400, 401, 405, 410, 411, 412, 429, 500}

    assert statuses <= set(_TITLES)
    assert [title for title in _TITLES.values() if title.isascii()] == []
    assert (_TITLES[404], _TITLES[409], _TITLES[422], _TITLES[429]) == (
        "未找到",
        "冲突",
        "请求数据无效",
        "请求过于频繁",
    )
