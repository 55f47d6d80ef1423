"""OWASP API3 (broken object property level authorisation) / mass assignment: fields a client
may not set (state, ownership, links to credit records) are ignored when sent, and never
change what is stored."""

import uuid
from datetime import timedelta

import pytest

from credit.models import CreditRecord
from inspections.models import Finding, Inspection
from tests.fuzz.world import STARTED
from tests.security.conftest import bureau_api, mobile_api

pytestmark = [pytest.mark.django_db, pytest.mark.services]

SMUGGLED = {
    "id": 1,
    "status": "submitted",
    "submitted_at": "2025-05-06T10:00:00+08:00",
    "inspector_id": 1,
    "inspector": 1,
    "review_status": "confirmed",
    "credit_record_id": 1,
    "reviewed_by": 1,
}


def test_an_inspection_put_ignores_state_and_ownership_fields(world):
    a, b = world.a, world.b
    inspection_uuid = uuid.uuid4()
    body = {
        "task_id": None,
        "project_id": a.project.id,
        "started_at": STARTED.isoformat(),
        "location": None,
        "note": "",
    }

    response = mobile_api(a.inspector_token).put(
        f"/inspections/{inspection_uuid}", body | SMUGGLED | {"inspector_id": b.inspector.id}
    )

    assert response.status_code == 201
    stored = Inspection.objects.get(uuid=inspection_uuid)
    assert (stored.status, stored.submitted_at, stored.inspector_id) == (
        "draft",
        None,
        a.inspector.id,
    )
    # and a resend without the extras is the same request, not a conflict
    resend = mobile_api(a.inspector_token).put(f"/inspections/{inspection_uuid}", body)
    assert resend.status_code == 200


def test_a_finding_put_cannot_confirm_itself_or_link_a_credit_record(world):
    a = world.a
    draft_uuid = uuid.uuid4()
    phone = mobile_api(a.inspector_token)
    phone.put(
        f"/inspections/{draft_uuid}",
        {"project_id": a.project.id, "started_at": STARTED.isoformat()},
    )
    finding_uuid = uuid.uuid4()
    photo = {
        "photo_uuid": str(uuid.uuid4()),
        "sha256": "ab" * 32,
        "size_bytes": 1000,
        "content_type": "image/jpeg",
    }
    body = {
        "violation_code": "SANITATION",
        "description": "x",
        "observed_at": (STARTED + timedelta(minutes=5)).isoformat(),
        "photos": [photo | {"state": "processed", "flags": []}],
    }

    response = phone.put(
        f"/inspections/{draft_uuid}/findings/{finding_uuid}",
        body | SMUGGLED | {"credit_record_id": a.record.id},
    )

    assert response.status_code == 201
    stored = Finding.objects.get(uuid=finding_uuid)
    assert (stored.review_status, stored.credit_record_id, stored.reviewed_by_id) == (
        "pending",
        None,
        None,
    )
    assert [p.state for p in stored.photos.all()] == ["declared"]


def test_a_review_decision_cannot_choose_the_credit_record_it_links(world):
    a = world.a
    records_before = set(CreditRecord.objects.values_list("id", flat=True))

    response = bureau_api(a.reviewer_token).post(
        f"/review/findings/{a.finding.uuid}",
        {"decision": "confirm", "comment": "", "credit_record_id": a.record.id},
    )

    assert response.status_code == 200
    linked = response.json()["credit_record_id"]
    assert linked not in records_before  # a new record, made by the service
    assert CreditRecord.objects.get(id=linked).source_ref == str(a.finding.uuid)


def test_a_credit_record_create_cannot_set_status_points_or_enterprise(world):
    a, b = world.a, world.b
    body = {"uscc": a.enterprise_uscc, "rule_code": "SANITATION", "decided_at": "2025-03-05"}
    extras = {
        "status": "effective",
        "points": 0,
        "severity": "minor",
        "enterprise_id": b.record.enterprise_id,
        "rulebook_version": "hacked",
        "effective_until": "2025-03-06",
    }

    response = bureau_api(a.reviewer_token).post("/credit/records", body | extras)

    assert response.status_code == 201
    record = CreditRecord.objects.get(id=response.json()["id"])
    reference = bureau_api(a.reviewer_token).post("/credit/records", body).json()
    assert record.enterprise.uscc == a.enterprise_uscc
    assert (record.status, float(record.points), record.severity, record.rulebook_version) == (
        reference["status"],
        reference["points"],
        reference["severity"],
        reference["rulebook_version"],
    )
    assert record.effective_until.isoformat() == reference["effective_until"]
