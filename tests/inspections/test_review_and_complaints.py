"""Bureau API /review and /complaints, and the reviewer's web page."""

import uuid
from datetime import date

import pytest
from django.test import Client

from backend.models import AuditEntry
from credit.models import CreditRecord, EnterpriseScore, StaffRole
from inspections.models import Complaint, Finding, InspectionTask, Photo, ReviewStatus
from inspections.services import photo_process
from tests.factories import ContractFactory, EnterpriseFactory, staff
from tests.mobile_api.phone import jpeg, slot

pytestmark = pytest.mark.django_db
REVIEW = "/api/bureau/v1/review/findings"


def submitted_finding(phone, project, *, code="SANITATION", task_id=None, process=True):
    """A finding of a submitted inspection (observed 2025-05-06 17:30 Beijing time)."""
    inspection_uuid, finding_uuid, photo = uuid.uuid4(), uuid.uuid4(), slot(jpeg(21))
    phone.put_inspection(inspection_uuid, project_id=project.id, task_id=task_id)
    assert phone.put_finding(inspection_uuid, finding_uuid, [photo], code=code).status_code == 201
    assert phone.upload(photo).status_code == 204
    if process:
        photo_process(photo_id=Photo.objects.get(uuid=photo.photo_uuid).id)
    assert phone.submit(inspection_uuid, [finding_uuid]).status_code == 200
    return finding_uuid


def decide(bureau: Client, finding_uuid, decision: str, comment: str = ""):
    return bureau.post(
        f"{REVIEW}/{finding_uuid}",
        {"decision": decision, "comment": comment},
        content_type="application/json",
    )


def test_queue_shows_submitted_findings_with_photos_and_flags(bureau, phone, project):
    finding_uuid = submitted_finding(phone, project)
    draft_uuid = uuid.uuid4()
    phone.put_inspection(uuid.uuid4(), project_id=project.id)

    body = bureau.get(f"{REVIEW}?status=pending").json()

    assert [item["finding_uuid"] for item in body["items"]] == [str(finding_uuid)]
    assert str(draft_uuid) not in str(body)
    item = body["items"][0]
    assert item["violation_title"] == "保洁、秩序维护不到位（脏乱差）"
    assert item["enterprise"]["name"] == "青城物业服务有限公司"
    [photo] = item["photos"]
    assert photo["state"] == "processed"
    assert photo["flags"] == []
    assert photo["thumb_url"] and photo["display_url"]
    assert photo["evidence"]["gps_lat"] is not None


def test_confirm_creates_a_record_of_the_enterprise_managing_on_the_finding_day(
    bureau, phone, project, enterprise, reviewer
):
    project.contracts.update(end_date=date(2025, 5, 10))
    successor = EnterpriseFactory(name="新接管物业公司")
    ContractFactory(enterprise=successor, project=project, start_date=date(2025, 5, 10))
    finding_uuid = submitted_finding(phone, project)

    response = decide(bureau, finding_uuid, "confirm", "照片清楚")

    assert response.status_code == 200
    record = CreditRecord.objects.get(source="inspection", source_ref=str(finding_uuid))
    assert (record.enterprise_id, record.rule_code, record.status) == (
        enterprise.id,
        "SANITATION",
        "pending",
    )
    assert response.json()["credit_record_id"] == record.id
    assert response.json()["review_status"] == "confirmed"
    assert EnterpriseScore.objects.get(pk=enterprise.id).dirty
    assert AuditEntry.objects.filter(action="finding.confirm", object_id=str(finding_uuid)).exists()
    assert not CreditRecord.objects.filter(enterprise=successor).exists()


def test_confirm_twice_is_one_record_and_rejecting_after_is_409(bureau, phone, project):
    finding_uuid = submitted_finding(phone, project)

    first = decide(bureau, finding_uuid, "confirm")
    again = decide(bureau, finding_uuid, "confirm")
    reject = decide(bureau, finding_uuid, "reject", "看错了")

    assert (first.status_code, again.status_code, reject.status_code) == (200, 200, 409)
    assert again.json()["credit_record_id"] == first.json()["credit_record_id"]
    assert CreditRecord.objects.filter(source_ref=str(finding_uuid)).count() == 1


def test_reject_needs_a_comment_and_creates_no_record(bureau, phone, project):
    finding_uuid = submitted_finding(phone, project)

    bare = decide(bureau, finding_uuid, "reject", "  ")
    with_reason = decide(bureau, finding_uuid, "reject", "照片与违规行为无关")

    assert (bare.status_code, bare.json()["code"]) == (422, "comment_required")
    assert with_reason.status_code == 200
    finding = Finding.objects.get(uuid=finding_uuid)
    assert (finding.review_status, finding.review_comment) == (
        ReviewStatus.REJECTED,
        "照片与违规行为无关",
    )
    assert not CreditRecord.objects.filter(source_ref=str(finding_uuid)).exists()
    assert AuditEntry.objects.filter(action="finding.reject", object_id=str(finding_uuid)).exists()
    [out] = phone.get(f"/inspections/{finding.inspection.uuid}").json()["findings"]
    assert (out["review_status"], out["review_comment"]) == ("rejected", "照片与违规行为无关")


def test_reviewer_of_another_region_gets_404_and_nothing_changes(phone, project):
    baotou = staff(role=StaffRole.REVIEWER, regions=("150200",))
    token = (
        Client()
        .post(
            "/api/bureau/v1/auth/token",
            {"username": baotou.user.username, "password": "Correct-Horse-42", "device_id": "pc"},
            content_type="application/json",
        )
        .json()["access_token"]
    )
    other = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    finding_uuid = submitted_finding(phone, project)

    queue = other.get(REVIEW).json()
    response = decide(other, finding_uuid, "confirm")

    assert queue["items"] == []
    assert response.status_code == 404
    assert Finding.objects.get(uuid=finding_uuid).review_status == ReviewStatus.PENDING
    assert not CreditRecord.objects.exists()


def test_phone_token_is_not_a_bureau_token(phone, project):
    finding_uuid = submitted_finding(phone, project)

    response = phone.client.post(
        f"{REVIEW}/{finding_uuid}",
        {"decision": "confirm"},
        content_type="application/json",
        **phone.auth,
    )

    assert response.status_code == 401


# --- complaints ---------------------------------------------------------------------------


def register(bureau: Client, project, text="楼道堆满杂物，物业不清理"):
    return bureau.post(
        "/api/bureau/v1/complaints",
        {"project_id": project.id, "text": text, "received_at": "2025-05-05T08:00:00+08:00"},
        content_type="application/json",
    )


def test_complaint_goes_to_the_least_loaded_inspector_of_the_region(
    bureau, project, inspector, colleague, baotou_inspector
):
    first = register(bureau, project)
    second = register(bureau, project)

    assert (first.status_code, second.status_code) == (201, 201)
    assignees = [first.json()["task"]["assignee"]["id"], second.json()["task"]["assignee"]["id"]]
    assert sorted(assignees) == sorted([inspector.id, colleague.id])
    task = InspectionTask.objects.get(id=first.json()["task"]["id"])
    assert (task.kind, task.priority_rank, task.reasons) == (
        "complaint",
        1,
        ["居民投诉：楼道堆满杂物，物业不清理"],
    )


def test_complaint_confirmed_on_site_becomes_complaint_verified(bureau, phone, project, inspector):
    complaint_id = register(bureau, project).json()["id"]
    task = Complaint.objects.get(id=complaint_id).task
    assert task.assignee_id == inspector.id
    [feed_task] = phone.get("/tasks").json()["items"]
    assert (feed_task["id"], feed_task["kind"]) == (task.id, "complaint")
    finding_uuid = submitted_finding(phone, project, code="COMPLAINT-VERIFIED", task_id=task.id)

    decide(bureau, finding_uuid, "confirm")

    complaint = Complaint.objects.get(id=complaint_id)
    [record] = CreditRecord.objects.all()
    assert (complaint.outcome, complaint.credit_record_id) == ("confirmed", record.id)
    assert (record.rule_code, record.source, record.source_ref) == (
        "COMPLAINT-VERIFIED",
        "complaint",
        f"complaint-{complaint_id}",
    )
    task.refresh_from_db()
    assert task.status == "done"


def test_clean_visit_on_a_complaint_task_finds_it_unfounded(bureau, phone, project, inspector):
    complaint_id = register(bureau, project).json()["id"]
    task = Complaint.objects.get(id=complaint_id).task
    inspection_uuid = uuid.uuid4()
    phone.put_inspection(inspection_uuid, project_id=project.id, task_id=task.id)

    phone.submit(inspection_uuid, [])

    assert Complaint.objects.get(id=complaint_id).outcome == "unfounded"


def test_complaint_about_a_project_outside_my_regions_is_404(bureau, baotou_project):
    response = register(bureau, baotou_project)

    assert response.status_code == 404
    assert not Complaint.objects.exists()


# --- the reviewer's page ------------------------------------------------------------------


def test_review_page_shows_photos_and_flags_and_confirms_with_csrf(reviewer, phone, project):
    finding_uuid = submitted_finding(phone, project)
    Photo.objects.filter(finding__uuid=finding_uuid).update(flags=["reused_photo"])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reviewer.user)

    page = browser.get("/bureau/review/")
    without_token = browser.post(f"/bureau/review/{finding_uuid}/", {"decision": "confirm"})
    confirmed = browser.post(
        f"/bureau/review/{finding_uuid}/",
        {"decision": "confirm", "csrfmiddlewaretoken": browser.cookies["csrftoken"].value},
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "青城花园" in html and "疑似重复使用的照片" in html
    assert "thumb.jpg" in html or "/objects/" in html
    assert without_token.status_code == 403
    assert confirmed.status_code == 302
    assert Finding.objects.get(uuid=finding_uuid).review_status == ReviewStatus.CONFIRMED
    assert "已确认" in browser.get("/bureau/review/").content.decode()


def test_review_page_is_403_for_an_inspector_session(inspector):
    browser = Client()
    browser.force_login(inspector.user)

    assert browser.get("/bureau/review/").status_code == 403
