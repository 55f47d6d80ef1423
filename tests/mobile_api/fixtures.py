"""Fixtures shared by the mobile API, inspections and e2e tests (their conftests import them):
a compound in 呼和浩特 (150100) managed by one firm, its inspector signed in on a phone, a
colleague, and an inspector of 包头 (150200)."""

from datetime import date

import pytest
from django.test import Client

from credit.models import StaffRole
from tests.factories import (
    DEFAULT_PASSWORD,
    ContractFactory,
    EnterpriseFactory,
    ProjectFactory,
    region,
    staff,
)
from tests.inspections import imagefactory
from tests.mobile_api.phone import Phone, sign_in


@pytest.fixture
def inspector():
    return staff(role=StaffRole.INSPECTOR, regions=("150100",), name="巡查员甲")


@pytest.fixture
def colleague():
    return staff(role=StaffRole.INSPECTOR, regions=("150100",), name="巡查员乙")


@pytest.fixture
def baotou_inspector():
    return staff(role=StaffRole.INSPECTOR, regions=("150200",), name="包头巡查员")


@pytest.fixture
def enterprise():
    return EnterpriseFactory(name="青城物业服务有限公司")


@pytest.fixture
def project(enterprise):
    """At the coordinates the test photos' EXIF carries, so they raise no GPS flag."""
    compound = ProjectFactory(
        name="青城花园", lat=imagefactory.HOHHOT_LAT, lon=imagefactory.HOHHOT_LON
    )
    ContractFactory(enterprise=enterprise, project=compound, start_date=date(2020, 1, 1))
    return compound


@pytest.fixture
def baotou_project():
    return ProjectFactory(
        name="鹿城小区", region=region("150200", name="包头市"), lat=40.65, lon=109.84
    )


@pytest.fixture
def phone(inspector) -> Phone:
    token = sign_in(Client(), inspector.user.username)["access_token"]
    return Phone(Client(), token)


@pytest.fixture
def colleague_phone(colleague) -> Phone:
    token = sign_in(Client(), colleague.user.username)["access_token"]
    return Phone(Client(), token)


@pytest.fixture
def reviewer():
    return staff(role=StaffRole.REVIEWER, regions=("150100",), name="审核员甲")


@pytest.fixture
def bureau(reviewer) -> Client:
    """The reviewer's bureau API client (bearer token of the bureau audience)."""
    response = Client().post(
        "/api/bureau/v1/auth/token",
        {"username": reviewer.user.username, "password": DEFAULT_PASSWORD, "device_id": "pc"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
