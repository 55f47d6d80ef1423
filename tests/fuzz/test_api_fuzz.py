"""schemathesis against the published OpenAPI documents of the mobile, bureau and tender APIs,
with valid credentials: no 5xx, every status code documented, every body as its schema says.

Each operation runs as its own test with fresh data (see `world`). The short pass runs in the
normal suite (CI, every change); `make fuzz` runs the long pass (`fuzz_long`).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.world import bureau_token, mobile_token

pytestmark = pytest.mark.services

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# About 25 requests an operation keeps the short pass of all three APIs under three minutes on
# a 2-core CI machine; the long pass (`make fuzz`, about ten minutes) is ten times that.
SHORT = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
LONG = settings(SHORT, max_examples=250, derandomize=False)

mobile = schemathesis.pytest.from_fixture("mobile_schema")
bureau = schemathesis.pytest.from_fixture("bureau_schema")
tender = schemathesis.pytest.from_fixture("tender_schema")


# A logout gets a token of its own, signed in on another device (a sign-in on the same device
# ends the previous one there): it would end the shared token for every later operation.
LOGOUT_DEVICE = "fuzz-logout"


def bearer(case, *, token: str, sign_in) -> dict[str, str]:
    if case.operation.path.endswith("/auth/logout"):
        token = sign_in()
    return {"Authorization": f"Bearer {token}"}


def as_inspector(case, world):
    def sign_in():
        return mobile_token(world.a.inspector, device_id=LOGOUT_DEVICE)[0]

    return bearer(case, token=world.a.inspector_token, sign_in=sign_in)


def as_admin(case, world):
    def sign_in():
        return bureau_token(world.admin, device_id=LOGOUT_DEVICE)

    return bearer(case, token=world.admin_token, sign_in=sign_in)


@mobile.parametrize()
@SHORT
def test_mobile_api_as_an_inspector(case, world):
    case.call_and_validate(headers=as_inspector(case, world), checks=CHECKS)


@bureau.parametrize()
@SHORT
def test_bureau_api_as_the_regions_admin(case, world):
    case.call_and_validate(headers=as_admin(case, world), checks=CHECKS)


@tender.parametrize()
@SHORT
def test_tender_api_as_a_signed_platform(case, world):
    case.call_and_validate(checks=CHECKS)


@pytest.mark.fuzz_long
@mobile.parametrize()
@LONG
def test_mobile_api_long(case, world):
    case.call_and_validate(headers=as_inspector(case, world), checks=CHECKS)


@pytest.mark.fuzz_long
@bureau.parametrize()
@LONG
def test_bureau_api_long(case, world):
    case.call_and_validate(headers=as_admin(case, world), checks=CHECKS)


@pytest.mark.fuzz_long
@tender.parametrize()
@LONG
def test_tender_api_long(case, world):
    case.call_and_validate(checks=CHECKS)
