"""Fixtures of the security tests: two regions of real data (tests.fuzz.world), API clients
holding each side's credentials, and a footprint of everything a request could write."""

import json
from dataclasses import dataclass

import pytest
from django.test import Client

from backend.models import AuditEntry
from backend.storage import get_store
from credit.models import (
    BlacklistEntry,
    CreditRecord,
    Objection,
    RepairApplication,
    SnapshotEntry,
)
from credit.selectors import clear_snapshot_caches
from credit.signing import signed_headers
from credit.tender_auth import clear_client_cache
from inspections.models import (
    Complaint,
    Finding,
    Inspection,
    InspectionPlan,
    InspectionTask,
    Photo,
    Upload,
)
from tests.fuzz.world import World, build_world

WRITABLE = (
    Inspection,
    Finding,
    Photo,
    Upload,
    InspectionTask,
    InspectionPlan,
    Complaint,
    CreditRecord,
    Objection,
    RepairApplication,
    BlacklistEntry,
    SnapshotEntry,
    AuditEntry,
)


@pytest.fixture
def world(db, settings) -> World:
    settings.CREDIT_LATEST_SNAPSHOT_TTL_S = 0
    clear_snapshot_caches()
    clear_client_cache()
    return build_world()


class Api:
    """A JSON client for one API with one bearer token."""

    def __init__(self, prefix: str, token: str) -> None:
        self.prefix = prefix
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, **extra):
        return self.client.get(self.prefix + path, **extra)

    def send(self, method: str, path: str, body: object = None, **extra):
        payload = json.dumps({} if body is None else body)
        return self.client.generic(
            method, self.prefix + path, payload, content_type="application/json", **extra
        )

    def post(self, path: str, body: object = None, **extra):
        return self.send("POST", path, body, **extra)

    def put(self, path: str, body: object = None, **extra):
        return self.send("PUT", path, body, **extra)


def mobile_api(token: str) -> Api:
    return Api("/api/mobile/v1", token)


def bureau_api(token: str) -> Api:
    return Api("/api/bureau/v1", token)


def tender_get(*, client_id: str, secret: str, path: str, query: str = "", **sign):
    headers = signed_headers(
        client_id=client_id, secret=secret, method="GET", path=path, query_string=query, **sign
    )
    return Client().get(f"{path}?{query}" if query else path, headers=headers)


@dataclass(frozen=True)
class Footprint:
    """Row counts of every table a request could write, and the object store's keys."""

    rows: dict[str, int]
    objects: frozenset[str]

    @classmethod
    def now(cls) -> "Footprint":
        return cls(
            rows={model.__name__: model.objects.count() for model in WRITABLE},
            objects=frozenset(get_store().list_keys("")),
        )


def problem_code(response) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return response.json()["code"]
