"""Dates and times at the ends of the calendar, sent to every operation that takes one: a 422
`validation_error` naming the field, and nothing written. Before `backend.fields`, a phone's
`0001-01-01T00:00:00+06:27` (found by `make fuzz`) overflowed on its way to UTC: a 500."""

import uuid
from datetime import timedelta

import pytest

from tests.fuzz.world import STARTED
from tests.security.conftest import Footprint, bureau_api, mobile_api, problem_code

pytestmark = [pytest.mark.django_db, pytest.mark.services]

EDGE_TIMES = ["0001-01-01T00:00:00+06:27", "9999-12-31T23:59:59-05:00", "1970-01-01T08:00:00+08:00"]
EDGE_DATES = ["0001-01-01", "9999-12-31", "1999-12-31"]
PHOTO = {"sha256": "ab" * 32, "size_bytes": 1000, "content_type": "image/jpeg"}


def draft(side) -> uuid.UUID:
    inspection_uuid = uuid.uuid4()
    response = mobile_api(side.inspector_token).put(
        f"/inspections/{inspection_uuid}",
        {"project_id": side.project.id, "started_at": STARTED.isoformat()},
    )
    assert response.status_code == 201
    return inspection_uuid


def refused(response, field: str) -> bool:
    assert (response.status_code, problem_code(response)) == (422, "validation_error")
    return any(
        error["loc"][0] == "body" and error["loc"][-1] == field
        for error in response.json()["errors"]
    )


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_the_phone_api_refuses_times_outside_the_calendar(world, when):
    a = world.a
    phone = mobile_api(a.inspector_token)
    inspection_uuid = draft(a)
    before = Footprint.now()

    started = phone.put(
        f"/inspections/{uuid.uuid4()}", {"project_id": a.project.id, "started_at": when}
    )
    observed = phone.put(
        f"/inspections/{inspection_uuid}/findings/{uuid.uuid4()}",
        {
            "violation_code": "SANITATION",
            "description": "x",
            "observed_at": when,
            "photos": [PHOTO | {"photo_uuid": str(uuid.uuid4())}],
        },
    )
    finished = phone.post(
        f"/inspections/{inspection_uuid}/submit", {"finished_at": when, "finding_uuids": []}
    )

    assert refused(started, "started_at")
    assert refused(observed, "observed_at")
    assert refused(finished, "finished_at")
    assert Footprint.now() == before


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_a_complaint_received_outside_the_calendar_is_refused(world, when):
    before = Footprint.now()

    response = bureau_api(world.a.reviewer_token).post(
        "/complaints", {"project_id": world.a.project.id, "text": "噪音", "received_at": when}
    )

    assert refused(response, "received_at")
    assert Footprint.now() == before


@pytest.mark.parametrize("day", EDGE_DATES)
def test_bureau_dates_outside_the_calendar_are_refused(world, day):
    """A plan's start has rules of its own (`start_in_past`, `start_too_far`:
    tests/bureau_api/test_plans.py)."""
    a = world.a
    bureau = bureau_api(a.reviewer_token)
    before = Footprint.now()

    complaint = bureau.post(
        "/complaints", {"project_id": a.project.id, "text": "噪音", "due_date": day}
    )
    record = bureau.post(
        "/credit/records",
        {"uscc": a.enterprise_uscc, "rule_code": "ADMIN-PENALTY", "decided_at": day},
    )

    assert refused(complaint, "due_date")
    assert refused(record, "decided_at")
    assert Footprint.now() == before


def test_a_time_just_inside_the_calendar_still_reaches_the_rules(world):
    """The range only keeps out what no rule could mean; the product's own rules still answer
    for the rest (here: an inspection cannot finish before it started)."""
    a = world.a
    inspection_uuid = draft(a)

    response = mobile_api(a.inspector_token).post(
        f"/inspections/{inspection_uuid}/submit",
        {"finished_at": (STARTED - timedelta(days=1)).isoformat(), "finding_uuids": []},
    )

    assert (response.status_code, problem_code(response)) == (422, "finished_before_start")
