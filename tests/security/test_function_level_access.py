"""OWASP API5 (broken function-level authorisation) and the upload rules of the OWASP File
Upload Cheat Sheet that are not about the bytes themselves: roles decide which functions a
user reaches, and nothing a client names (file name, declared type) becomes a storage path."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from backend.storage import get_store
from tests.factories import DEFAULT_PASSWORD
from tests.mobile_api.phone import TUS, metadata
from tests.security.conftest import Footprint, bureau_api, problem_code
from tests.security.test_oversized_and_slow import declared_slot, tus_client, tus_patch

pytestmark = [pytest.mark.django_db, pytest.mark.services]


def test_a_reviewer_cannot_approve_an_inspection_plan(world):
    start = timezone.localdate() + timedelta(days=7)
    before = Footprint.now()

    response = bureau_api(world.a.reviewer_token).post(
        "/plans", {"region": world.a.region_code, "capacity": 1, "start": str(start), "seed": 1}
    )

    assert (response.status_code, problem_code(response)) == (403, "forbidden_role")
    assert Footprint.now() == before


def test_an_inspector_gets_no_bureau_page(world):
    browser = Client()
    assert browser.login(username=world.a.inspector.user.username, password=DEFAULT_PASSWORD)

    assert browser.get("/bureau/review/").status_code == 403


def test_the_proposer_of_a_blacklisting_cannot_approve_it(world, settings):
    # Given an effective serious record and a blacklisting proposed by one reviewer
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0
    a = world.a
    api = bureau_api(a.reviewer_token)
    api.post(
        "/credit/records",
        {"uscc": a.enterprise_uscc, "rule_code": "ABANDON", "decided_at": "2025-03-05"},
    )
    path = f"/credit/blacklist/{a.enterprise_uscc}"
    assert api.post(f"{path}/propose", {"reason": "合同期内弃管"}).status_code == 201

    # When the same reviewer approves it
    response = api.post(f"{path}/approve", {"authority": "住建局", "document_no": "1号"})

    # Then the two-person rule refuses it
    assert (response.status_code, problem_code(response)) == (409, "same_user")


@pytest.mark.parametrize(
    "filename", ["../../../../etc/passwd", "..\\..\\web.config", "photo.jpg.php", "a/../../b"]
)
def test_a_client_file_name_never_becomes_part_of_a_storage_key(world, filename):
    # Given a declared photo uploaded under a hostile file name
    data = world.a.photo_bytes
    slot = declared_slot(world.a, data)
    token = world.a.inspector_token
    created = tus_client(token).post(
        "/api/mobile/v1/uploads/",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=metadata(
            photo_uuid=str(slot.photo_uuid), filename=filename, content_type="image/jpeg"
        ),
        **TUS,
    )
    before = set(get_store().list_keys(""))

    # When its bytes arrive
    tus_patch(token, created["Location"], 0, data)

    # Then the stored parts are named by ids the server chose, and no key names the file
    added = set(get_store().list_keys("")) - before
    upload_id = created["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert added and all(key.startswith(f"uploads/{upload_id}/") for key in added)
    assert not any(".." in key or "passwd" in key or ".php" in key for key in added)


def test_a_declared_type_outside_the_allow_list_is_refused(world):
    slot = declared_slot(world.a, b"\xff\xd8\xff" + bytes(100))

    response = tus_client(world.a.inspector_token).post(
        "/api/mobile/v1/uploads/",
        HTTP_UPLOAD_LENGTH="103",
        HTTP_UPLOAD_METADATA=metadata(photo_uuid=str(slot.photo_uuid), content_type="text/html"),
        **TUS,
    )

    assert (response.status_code, problem_code(response)) == (415, "unsupported_media_type")


def test_an_upload_for_an_unknown_slot_is_404(world):
    response = tus_client(world.a.inspector_token).post(
        "/api/mobile/v1/uploads/",
        HTTP_UPLOAD_LENGTH="100",
        HTTP_UPLOAD_METADATA=metadata(photo_uuid=str(uuid.uuid4()), content_type="image/jpeg"),
        **TUS,
    )

    assert response.status_code == 404
