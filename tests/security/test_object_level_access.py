"""OWASP API1 (broken object-level authorisation): every endpoint that takes an id, called with
the credentials of another region's inspector or reviewer, answers 404 exactly like an id that
does not exist, and writes nothing: no row, no audit entry, no object."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from credit.models import StaffRole
from inspections.risk.plan_services import plan_approve
from tests.factories import DEFAULT_PASSWORD, staff
from tests.fuzz.world import STARTED, bureau_token, mobile_token
from tests.mobile_api.phone import TUS, metadata
from tests.security.conftest import Footprint, bureau_api, mobile_api, problem_code

pytestmark = [pytest.mark.django_db, pytest.mark.services]

NOT_FOUND = (404, "not_found")


def inspection_body(side) -> dict:
    """Region A's own inspection body, byte for byte what its phone sent."""
    return {
        "task_id": side.task.id,
        "project_id": side.project.id,
        "started_at": STARTED.isoformat(),
        "location": {"lat": side.project.lat, "lon": side.project.lon, "accuracy_m": 10.0},
        "note": "",
    }


def finding_body(side) -> dict:
    photo = side.photo
    return {
        "violation_code": "SANITATION",
        "description": "垃圾堆放未清理",
        "observed_at": (STARTED + timedelta(minutes=20)).isoformat(),
        "location": None,
        "photos": [
            {
                "photo_uuid": str(photo.uuid),
                "sha256": photo.declared_sha256,
                "size_bytes": photo.declared_size,
                "content_type": "image/jpeg",
            }
        ],
    }


MOBILE_PROBES = [
    "get_inspection",
    "put_same_inspection",
    "put_same_finding",
    "put_new_finding",
    "submit",
    "get_photo",
]


def mobile_probe(name: str, a) -> tuple[str, str, dict | None]:
    """(method, path, body) of a mobile operation that names one of region A's objects."""
    inspection, finding = a.inspection.uuid, a.finding.uuid
    submit = {
        "finished_at": (STARTED + timedelta(hours=1)).isoformat(),
        "finding_uuids": [str(finding)],
    }
    return {
        "get_inspection": ("GET", f"/inspections/{inspection}", None),
        "put_same_inspection": ("PUT", f"/inspections/{inspection}", inspection_body(a)),
        "put_same_finding": (
            "PUT", f"/inspections/{inspection}/findings/{finding}", finding_body(a),
        ),
        "put_new_finding": (
            "PUT", f"/inspections/{inspection}/findings/{uuid.uuid4()}", finding_body(a),
        ),
        "submit": ("POST", f"/inspections/{inspection}/submit", submit),
        "get_photo": ("GET", f"/photos/{a.photo.uuid}", None),
    }[name]  # fmt: skip


@pytest.mark.parametrize("probe", MOBILE_PROBES)
@pytest.mark.parametrize("intruder", ["other_region", "same_region_colleague"])
def test_another_inspector_reaches_none_of_an_inspectors_objects(world, probe, intruder):
    # Given region A's inspection, finding and photo, and an inspector who does not own them
    a = world.a
    if intruder == "other_region":
        token = world.b.inspector_token
    else:
        colleague = staff(role=StaffRole.INSPECTOR, regions=(a.region_code,), name="同事")
        token = mobile_token(colleague)[0]
    method, path, body = mobile_probe(probe, a)
    before = Footprint.now()

    # When the intruder sends the request
    response = mobile_api(token).send(method, path, body)

    # Then it is the 404 of an unknown id, and nothing changed
    assert (response.status_code, problem_code(response)) == NOT_FOUND
    assert Footprint.now() == before


def test_a_foreign_id_answers_exactly_like_an_unknown_one(world):
    phone = mobile_api(world.b.inspector_token)

    foreign = phone.get(f"/inspections/{world.a.inspection.uuid}").json()
    unknown = phone.get(f"/inspections/{uuid.uuid4()}").json()

    assert foreign == unknown


def test_a_foreign_project_or_task_cannot_be_inspected(world):
    a, b = world.a, world.b
    phone = mobile_api(b.inspector_token)
    before = Footprint.now()

    on_project = phone.put(f"/inspections/{uuid.uuid4()}", {**inspection_body(a), "task_id": None})
    on_task = phone.put(
        f"/inspections/{uuid.uuid4()}", {**inspection_body(b), "task_id": a.task.id}
    )

    assert [r.status_code for r in (on_project, on_task)] == [404, 404]
    assert Footprint.now() == before


def tus(token: str, method: str, url: str, **headers):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.generic(method, url, **TUS, **headers)


def test_another_regions_inspector_can_neither_create_nor_touch_an_upload(world):
    # Given region A's finished upload and a new, still declared photo slot of A's
    a, b = world.a, world.b
    upload_url = f"/api/mobile/v1/uploads/{a.photo.uploads.get().id}"
    before = Footprint.now()

    # When B's inspector creates an upload for A's photo, then probes A's upload
    created = tus(
        b.inspector_token,
        "POST",
        "/api/mobile/v1/uploads/",
        HTTP_UPLOAD_LENGTH=str(a.photo.declared_size),
        HTTP_UPLOAD_METADATA=metadata(photo_uuid=str(a.photo.uuid), content_type="image/jpeg"),
    )
    head = tus(b.inspector_token, "HEAD", upload_url)
    patch = Client(HTTP_AUTHORIZATION=f"Bearer {b.inspector_token}").generic(
        "PATCH",
        upload_url,
        b"\xff\xd8\xff",
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    delete = tus(b.inspector_token, "DELETE", upload_url)

    # Then every answer is 404 and nothing was written
    assert [r.status_code for r in (created, head, patch, delete)] == [404] * 4
    assert Footprint.now() == before
    # and A's own phone still sees its upload finished
    assert tus(a.inspector_token, "HEAD", upload_url)["Upload-Offset"] == str(len(a.photo_bytes))


BUREAU_PROBES = [
    "review",
    "objection",
    "objection_resolve",
    "repair",
    "repair_decide",
    "record_create",
    "blacklist_propose",
    "blacklist_approve",
    "complaint",
]


def bureau_probe(name: str, a) -> tuple[str, str, dict]:
    record = f"/credit/records/{a.record.id}"
    blacklist = f"/credit/blacklist/{a.enterprise_uscc}"
    return {
        "review": (
            "POST", f"/review/findings/{a.finding.uuid}", {"decision": "confirm", "comment": ""},
        ),
        "objection": ("POST", f"{record}/objection", {"grounds": "不服"}),
        "objection_resolve": (
            "POST", f"{record}/objection/resolve", {"decision": "upheld", "reason": "成立"},
        ),
        "repair": ("POST", f"{record}/repair", {"evidence": "已整改"}),
        "repair_decide": (
            "POST", f"{record}/repair/decide", {"decision": "approved", "reason": "同意"},
        ),
        "record_create": ("POST", "/credit/records", {
            "uscc": a.enterprise_uscc, "rule_code": "ADMIN-PENALTY", "decided_at": "2025-03-05",
        }),
        "blacklist_propose": ("POST", f"{blacklist}/propose", {"reason": "严重失信"}),
        "blacklist_approve": ("POST", f"{blacklist}/approve", {
            "authority": "包头市住建局", "document_no": "包房〔2025〕1号",
        }),
        "complaint": ("POST", "/complaints", {"project_id": a.project.id, "text": "垃圾无人清运"}),
    }[name]  # fmt: skip


@pytest.mark.parametrize("probe", BUREAU_PROBES)
def test_another_regions_reviewer_reaches_none_of_a_regions_objects(world, probe):
    method, path, body = bureau_probe(probe, world.a)
    before = Footprint.now()

    response = bureau_api(world.b.reviewer_token).send(method, path, body)

    assert response.status_code == 404, response.content
    assert Footprint.now() == before


def test_another_regions_reviewer_does_not_see_the_finding_in_the_queue(world):
    queue = bureau_api(world.b.reviewer_token).get("/review/findings?status=pending").json()

    assert [item["finding_uuid"] for item in queue["items"]] == [str(world.b.finding.uuid)]


def test_another_regions_admin_can_neither_preview_approve_nor_read_a_regions_plan(world):
    # Given a plan approved by region A's own admin
    a_admin = staff(role=StaffRole.ADMIN, regions=(world.a.region_code,), name="呼市管理员")
    b_admin = staff(role=StaffRole.ADMIN, regions=(world.b.region_code,), name="包头管理员")
    start = timezone.localdate() + timedelta(days=7)
    plan = plan_approve(
        user=a_admin.user, region_code=world.a.region_code, capacity=1, start=start, seed=1
    )
    api = bureau_api(bureau_token(b_admin))
    query = f"region={world.a.region_code}&capacity=1&start={start}&seed=1"
    before = Footprint.now()

    preview = api.get(f"/plans/preview?{query}")
    approve = api.post(
        "/plans", {"region": world.a.region_code, "capacity": 1, "start": str(start), "seed": 2}
    )
    read = api.get(f"/plans/{plan.id}")

    assert [r.status_code for r in (preview, approve, read)] == [404, 404, 404]
    assert Footprint.now() == before


def test_another_regions_reviewer_cannot_decide_on_the_review_page(world):
    # The bureau web page takes the same id; it shares the service and its scope check.
    browser = Client()
    assert browser.login(username=world.b.reviewer.user.username, password=DEFAULT_PASSWORD)
    before = Footprint.now()

    response = browser.post(
        f"/bureau/review/{world.a.finding.uuid}/", {"decision": "confirm", "comment": ""}
    )

    assert response.status_code == 302
    assert Footprint.now() == before
    world.a.finding.refresh_from_db()
    assert world.a.finding.review_status == "pending"


@pytest.mark.parametrize(
    "path",
    ["/bureau/credit/e/{uscc}/"],
)
def test_another_regions_reviewer_does_not_see_a_regions_enterprise_in_the_bureau_pages(
    world, path
):
    browser = Client()
    assert browser.login(username=world.b.reviewer.user.username, password=DEFAULT_PASSWORD)

    response = browser.get(path.format(uscc=world.a.enterprise_uscc))

    assert response.status_code == 404
