"""PUT /inspections, PUT /findings, POST /submit, GET /inspections as the phone calls them."""

import uuid

import pytest

from inspections.models import Finding, Inspection, Photo, PhotoState, TaskKind, TaskStatus
from inspections.services import task_create
from tests.mobile_api.phone import jpeg, slot

pytestmark = pytest.mark.django_db


def test_put_inspection_creates_then_identical_resend_answers_200(phone, project):
    inspection_uuid = uuid.uuid4()

    first = phone.put_inspection(inspection_uuid, project_id=project.id)
    again = phone.put_inspection(inspection_uuid, project_id=project.id)

    assert first.status_code == 201
    assert again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["inspection_uuid"] == str(inspection_uuid)
    assert first.json()["status"] == "draft"
    assert first.json()["location"] == {"lat": 40.8253, "lon": 111.652, "accuracy_m": 12.0}
    assert Inspection.objects.filter(uuid=inspection_uuid).count() == 1


def test_same_instant_in_another_offset_is_the_same_body(phone, project):
    inspection_uuid = uuid.uuid4()
    phone.put_inspection(inspection_uuid, project_id=project.id, started_at="2025-05-06T09:00:00Z")

    again = phone.put_inspection(
        inspection_uuid, project_id=project.id, started_at="2025-05-06T17:00:00+08:00"
    )

    assert again.status_code == 200


def test_different_body_under_same_uuid_is_409_and_changes_nothing(phone, project):
    inspection_uuid = uuid.uuid4()
    phone.put_inspection(inspection_uuid, project_id=project.id, note="第一次")

    conflict = phone.put_inspection(inspection_uuid, project_id=project.id, note="改过的备注")

    assert conflict.status_code == 409
    assert conflict["Content-Type"] == "application/problem+json"
    assert conflict.json()["code"] == "idempotency_conflict"
    assert Inspection.objects.get(uuid=inspection_uuid).note == "第一次"


def test_project_outside_my_regions_is_404_and_writes_nothing(phone, baotou_project):
    inspection_uuid = uuid.uuid4()

    response = phone.put_inspection(inspection_uuid, project_id=baotou_project.id)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Inspection.objects.filter(uuid=inspection_uuid).exists()


def test_another_inspectors_inspection_is_404_for_every_verb(phone, colleague_phone, project):
    inspection_uuid = uuid.uuid4()
    colleague_phone.put_inspection(inspection_uuid, project_id=project.id)
    finding_uuid = uuid.uuid4()

    read = phone.get(f"/inspections/{inspection_uuid}")
    overwrite = phone.put_inspection(inspection_uuid, project_id=project.id)
    add_finding = phone.put_finding(inspection_uuid, finding_uuid, [slot(jpeg())])
    submit = phone.submit(inspection_uuid, [])

    assert [r.status_code for r in (read, overwrite, add_finding, submit)] == [404] * 4
    assert not Finding.objects.filter(uuid=finding_uuid).exists()
    assert Inspection.objects.get(uuid=inspection_uuid).status == "draft"


def test_naive_timestamp_is_a_validation_error(phone, project):
    response = phone.put_inspection(
        uuid.uuid4(), project_id=project.id, started_at="2025-05-06T09:00:00"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["loc"][-1] == "started_at"


def test_starting_a_task_moves_it_in_progress(phone, inspector, project):
    task = task_create(
        project=project,
        assignee=inspector,
        kind=TaskKind.ROUTINE,
        due_date=project.created_at.date(),
    )

    response = phone.put_inspection(uuid.uuid4(), project_id=project.id, task_id=task.id)

    assert response.status_code == 201
    assert response.json()["task_id"] == task.id
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS


def test_task_of_another_inspector_is_404(phone, colleague, project):
    task = task_create(
        project=project,
        assignee=colleague,
        kind=TaskKind.ROUTINE,
        due_date=project.created_at.date(),
    )
    inspection_uuid = uuid.uuid4()

    response = phone.put_inspection(inspection_uuid, project_id=project.id, task_id=task.id)

    assert response.status_code == 404
    assert not Inspection.objects.filter(uuid=inspection_uuid).exists()


# --- findings -----------------------------------------------------------------------------


@pytest.fixture
def inspection_uuid(phone, project):
    value = uuid.uuid4()
    assert phone.put_inspection(value, project_id=project.id).status_code == 201
    return value


def test_finding_declares_photo_slots(phone, inspection_uuid):
    finding_uuid, photos = uuid.uuid4(), [slot(jpeg(1)), slot(jpeg(2))]

    created = phone.put_finding(inspection_uuid, finding_uuid, photos)
    again = phone.put_finding(inspection_uuid, finding_uuid, photos)

    assert created.status_code == 201
    assert again.status_code == 200
    body = created.json()
    assert body["review_status"] == "pending"
    assert [p["photo_uuid"] for p in body["photos"]] == [str(s.photo_uuid) for s in photos]
    assert {p["state"] for p in body["photos"]} == {"declared"}
    assert Photo.objects.filter(finding__uuid=finding_uuid).count() == 2


def test_finding_with_other_photos_under_same_uuid_is_409(phone, inspection_uuid):
    finding_uuid = uuid.uuid4()
    phone.put_finding(inspection_uuid, finding_uuid, [slot(jpeg(1))])

    conflict = phone.put_finding(inspection_uuid, finding_uuid, [slot(jpeg(2))])

    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_conflict"
    assert Photo.objects.filter(finding__uuid=finding_uuid).count() == 1


def test_unknown_violation_code_is_422(phone, inspection_uuid):
    finding_uuid = uuid.uuid4()

    response = phone.put_finding(inspection_uuid, finding_uuid, [slot(jpeg())], code="NO-SUCH")

    assert response.status_code == 422
    assert response.json()["code"] == "unknown_violation_code"
    assert not Finding.objects.filter(uuid=finding_uuid).exists()


def test_good_behaviour_code_is_not_a_violation(phone, inspection_uuid):
    response = phone.put_finding(
        inspection_uuid, uuid.uuid4(), [slot(jpeg())], code="DEMO-NATIONAL"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "unknown_violation_code"


def test_serious_violation_with_one_photo_is_too_few(phone, inspection_uuid):
    finding_uuid = uuid.uuid4()

    response = phone.put_finding(inspection_uuid, finding_uuid, [slot(jpeg())], code="ABANDON")

    assert response.status_code == 422
    assert response.json()["code"] == "too_few_photos"
    assert response.json()["min_photos"] == 2
    assert not Finding.objects.filter(uuid=finding_uuid).exists()


def test_photo_uuid_of_another_finding_is_409(phone, inspection_uuid):
    shared = slot(jpeg())
    phone.put_finding(inspection_uuid, uuid.uuid4(), [shared])
    second = uuid.uuid4()

    response = phone.put_finding(inspection_uuid, second, [shared])

    assert response.status_code == 409
    assert response.json()["code"] == "photo_uuid_taken"
    assert not Finding.objects.filter(uuid=second).exists()


def test_duplicate_photo_in_one_finding_is_a_validation_error(phone, inspection_uuid):
    same = slot(jpeg())

    response = phone.put_finding(inspection_uuid, uuid.uuid4(), [same, same])

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size_bytes", 0),
        ("size_bytes", 25 * 1024 * 1024 + 1),
        ("sha256", "xyz"),
        ("content_type", "image/svg+xml"),
    ],
)
def test_bad_photo_declarations_are_validation_errors(phone, inspection_uuid, field, value):
    declared = slot(jpeg()).declared() | {field: value}
    finding_uuid = uuid.uuid4()
    body = {
        "violation_code": "SANITATION",
        "description": "",
        "observed_at": "2025-05-06T09:30:00Z",
        "location": None,
        "photos": [declared],
    }

    response = phone.put(f"/inspections/{inspection_uuid}/findings/{finding_uuid}", body)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert not Finding.objects.filter(uuid=finding_uuid).exists()


# --- submit -------------------------------------------------------------------------------


def test_clean_inspection_submits_with_no_findings(phone, inspection_uuid):
    response = phone.submit(inspection_uuid, [])

    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    assert response.json()["findings"] == []


def test_submit_lists_findings_the_server_lacks(phone, inspection_uuid):
    arrived, missing = uuid.uuid4(), uuid.uuid4()
    phone.put_finding(inspection_uuid, arrived, [slot(jpeg())])

    response = phone.submit(inspection_uuid, [arrived, missing])

    assert response.status_code == 409
    assert response.json()["code"] == "findings_missing"
    assert response.json()["missing_findings"] == [str(missing)]
    assert Inspection.objects.get(uuid=inspection_uuid).status == "draft"


def test_submit_lists_photos_not_yet_uploaded(phone, inspection_uuid):
    finding_uuid, uploaded, pending = uuid.uuid4(), slot(jpeg(1)), slot(jpeg(2))
    phone.put_finding(inspection_uuid, finding_uuid, [uploaded, pending])
    assert phone.upload(uploaded).status_code == 204

    response = phone.submit(inspection_uuid, [finding_uuid])

    assert response.status_code == 409
    assert response.json()["code"] == "photos_missing"
    assert response.json()["missing_photos"] == [str(pending.photo_uuid)]


def test_submit_is_idempotent_and_a_different_submit_conflicts(phone, inspection_uuid):
    first = phone.submit(inspection_uuid, [])
    again = phone.submit(inspection_uuid, [])
    different = phone.submit(inspection_uuid, [], finished_at="2025-05-06T12:00:00Z")

    assert (first.status_code, again.status_code, different.status_code) == (200, 200, 409)
    assert first.json() == again.json()


def test_no_new_findings_after_submit_but_resends_still_succeed(phone, inspection_uuid):
    finding_uuid, photo = uuid.uuid4(), slot(jpeg())
    phone.put_finding(inspection_uuid, finding_uuid, [photo])
    phone.upload(photo)
    assert phone.submit(inspection_uuid, [finding_uuid]).status_code == 200

    resend = phone.put_finding(inspection_uuid, finding_uuid, [photo])
    late = phone.put_finding(inspection_uuid, uuid.uuid4(), [slot(jpeg(3))])

    assert resend.status_code == 200
    assert late.status_code == 409
    assert late.json()["code"] == "inspection_submitted"


def test_get_inspection_shows_slots_and_review_state(phone, inspection_uuid):
    finding_uuid, photo = uuid.uuid4(), slot(jpeg())
    phone.put_finding(inspection_uuid, finding_uuid, [photo])
    phone.upload(photo)

    body = phone.get(f"/inspections/{inspection_uuid}").json()

    [finding] = body["findings"]
    assert finding["finding_uuid"] == str(finding_uuid)
    assert finding["review_status"] == "pending"
    [photo_out] = finding["photos"]
    assert photo_out["state"] in {PhotoState.RECEIVED, PhotoState.PROCESSED}
    assert photo_out["sha256"] == photo.declared()["sha256"]
