"""Fixtures of the credit tests: staff in 呼和浩特 (150100), firms there and in 包头 (150200)."""

from datetime import date

import pytest
from django.conf import settings
from django.test import override_settings
from redis import Redis

from credit.models import StaffRole
from credit.selectors import clear_snapshot_caches
from credit.tender_auth import clear_client_cache
from credit.tender_calls import CALLS_KEY, FLUSH_LOCK_KEY
from tests.factories import EnterpriseFactory, region, staff

# A Wednesday: five working days later is the next Wednesday, so windows are easy to read.
DECIDED = date(2025, 3, 5)


@pytest.fixture(autouse=True)
def fast_test_settings(settings):
    """Templates render without `collectstatic` (the production manifest storage needs it)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Staff fixtures create several users per test; the production hasher costs ~0.3 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests publish and read back at once, and rolled-back databases reuse ids: no caching.
    settings.CREDIT_LATEST_SNAPSHOT_TTL_S = 0
    clear_snapshot_caches()
    clear_client_cache()
    forget_queued_tender_calls()
    yield
    # Nor may a later test elsewhere, with the default TTL, be answered from this one's.
    clear_snapshot_caches()


def forget_queued_tender_calls() -> None:
    """Calls queued by earlier tests name clients of rolled-back databases, whose ids are
    reused: a flush in this test must only see this test's calls."""
    if settings.REDIS_URL:
        with Redis.from_url(settings.REDIS_URL) as redis:
            redis.delete(CALLS_KEY, FLUSH_LOCK_KEY)


@pytest.fixture
def reviewer():
    return staff(role=StaffRole.REVIEWER, regions=("150100",), name="审核员甲").user


@pytest.fixture
def second_reviewer():
    return staff(role=StaffRole.REVIEWER, regions=("150100",), name="审核员乙").user


@pytest.fixture
def inspector():
    return staff(role=StaffRole.INSPECTOR, regions=("150100",)).user


@pytest.fixture
def other_region_reviewer():
    return staff(role=StaffRole.REVIEWER, regions=("150200",), name="包头审核员").user


@pytest.fixture
def admin_user():
    return staff(role=StaffRole.ADMIN, regions=("150000",), name="管理员").user


@pytest.fixture
def firm():
    return EnterpriseFactory(region=region("150100"), name="青城物业服务有限公司")


@pytest.fixture
def baotou_firm():
    return EnterpriseFactory(region=region("150200", name="包头市"), name="鹿城物业服务有限公司")


@pytest.fixture
def no_window():
    with override_settings(CREDIT_OBJECTION_WORKING_DAYS=0):
        yield


@pytest.fixture
def five_day_window():
    with override_settings(CREDIT_OBJECTION_WORKING_DAYS=5):
        yield


class Clock:
    """The local date the services see (timezone.localdate); wall-clock time is left alone."""

    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self, *args, **kwargs) -> date:
        return self.today

    def advance(self, days: int) -> date:
        from datetime import timedelta

        self.today += timedelta(days=days)
        return self.today


@pytest.fixture
def clock(monkeypatch):
    from django.utils import timezone

    fake = Clock(DECIDED)
    monkeypatch.setattr(timezone, "localdate", fake)
    return fake


def publish(actor=None):
    from credit.publication import snapshot_publish

    return snapshot_publish(actor=actor)


def rescore(enterprise):
    from credit.recompute.firm import recompute_enterprise

    return recompute_enterprise(enterprise_id=enterprise.id)


def new_record(enterprise, rule_code, actor, *, decided_at=DECIDED, source="inspection", **kw):
    from credit.services import record_create

    return record_create(
        enterprise=enterprise,
        rule_code=rule_code,
        decided_at=decided_at,
        source=source,
        actor=actor,
        **kw,
    )
