import os
from datetime import date
from pathlib import Path

import pytest
from django.test import override_settings

from credit.models import StaffRole
from tests.e2e.conftest import short_lived_connections  # noqa: F401 - autouse fixture
from tests.factories import EnterpriseFactory, region, staff
from tests.mobile_api.fixtures import *  # noqa: F403


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


@pytest.fixture
def browser(monkeypatch):
    """Headless system Chromium with an English UI (the pages must stay Chinese anyway); a
    module may define its own (the inspector app's drives a phone)."""
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is required (REQUIRE_SERVICES=1)")
        pytest.skip(f"{CHROMIUM} not installed: browser tests need the system Chromium")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connections.close_all()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--lang=en-US"]
        )
        yield chromium
        chromium.close()
        connections.close_all()
