"""Injection of U+0000: PostgreSQL cannot store it in text, so before the refusal in
`backend.middleware.RefuseNulMiddleware` and `backend.errors.NulRefusingParser` a NUL typed into
the public search box or sent in a record's facts reached a query and came back as a 500. Each
way in now answers 4xx with a stable code and writes nothing."""

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client

from inspections.models import Finding
from tests.fuzz.world import STARTED
from tests.mobile_api.phone import metadata
from tests.security.conftest import Footprint, bureau_api, mobile_api, problem_code, tender_get
from tests.security.test_injection_and_xss import reviewer_browser

pytestmark = [pytest.mark.django_db, pytest.mark.services]

RECORD = {"rule_code": "ADMIN-PENALTY", "decided_at": "2025-03-05", "document_no": "呼房罚1号"}


def refused_fields(response) -> list[list]:
    assert (response.status_code, problem_code(response)) == (422, "validation_error")
    return [error["loc"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    "url", ["/credit/?q=%E7%89%A9%00%E4%B8%9A", "/credit/?q=x&page=1%00", "/credit/e/%00/"]
)
def test_a_nul_in_a_public_page_address_is_a_400_page(world, url):
    response = Client().get(url)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "U+0000" in response.content.decode()


@pytest.mark.parametrize(
    ("extra", "loc"),
    [
        ({"facts": "未公示\x00收费"}, ["body", "facts"]),
        ({"fa\x00cts": "x"}, ["body", "fa\\u0000cts"]),  # a key: shown escaped
    ],
    ids=["value", "key"],
)
def test_a_nul_in_a_records_json_is_refused_and_nothing_is_written(world, extra, loc):
    a = world.a
    before = Footprint.now()

    response = bureau_api(a.reviewer_token).post(
        "/credit/records", RECORD | {"uscc": a.enterprise_uscc} | extra
    )

    assert refused_fields(response) == [loc]
    assert Footprint.now() == before


def test_a_json_body_sent_as_plain_text_is_checked_too(world):
    """ninja reads a body as JSON whatever its declared type, so the check sits in its parser
    and not only in the middleware."""
    a = world.a
    before = Footprint.now()
    body = json.dumps(RECORD | {"uscc": a.enterprise_uscc, "facts": "x\x00"})

    response = Client().post(
        "/api/bureau/v1/credit/records",
        body,
        content_type="text/plain",
        headers={"Authorization": f"Bearer {a.reviewer_token}"},
    )

    assert refused_fields(response) == [["body", "facts"]]
    assert Footprint.now() == before


def draft_finding_body(description: str) -> dict:
    return {
        "violation_code": "SANITATION",
        "description": description,
        "observed_at": (STARTED + timedelta(minutes=5)).isoformat(),
        "photos": [
            {
                "photo_uuid": str(uuid.uuid4()),
                "sha256": "ab" * 32,
                "size_bytes": 1000,
                "content_type": "image/jpeg",
            }
        ],
    }


def put_draft_finding(side, description: str):
    phone = mobile_api(side.inspector_token)
    draft = uuid.uuid4()
    phone.put(
        f"/inspections/{draft}", {"project_id": side.project.id, "started_at": STARTED.isoformat()}
    )
    body = draft_finding_body(description)
    return phone.put(f"/inspections/{draft}/findings/{uuid.uuid4()}", body), body


def test_a_nul_in_a_findings_description_from_a_phone_is_refused(world):
    before = Footprint.now()

    response, _ = put_draft_finding(world.a, "垃圾\x00未清运")

    assert refused_fields(response) == [["body", "description"]]
    # the draft inspection itself was stored before; the finding was not
    assert Footprint.now().rows["Finding"] == before.rows["Finding"]
    assert Footprint.now().rows["Photo"] == before.rows["Photo"]


def test_a_nul_in_an_api_query_parameter_is_refused(world):
    response = mobile_api(world.a.inspector_token).get("/tasks", data={"cursor": "a\x00b"})

    assert refused_fields(response) == [["query", "cursor"]]


def test_a_nul_in_a_tender_query_is_refused_before_anything_is_recorded(world):
    a = world.a
    before = Footprint.now()

    response = tender_get(
        client_id=a.tender_client.client_id,
        secret=a.tender_secret,
        path=f"/api/tender/v1/enterprises/{a.enterprise_uscc}/tender-terms",
        query="project_area_m2=1000&project_type=%00",
    )

    assert refused_fields(response) == [["query", "project_type"]]
    assert Footprint.now() == before


def test_a_nul_in_a_review_comment_form_is_a_400_and_the_finding_stays_pending(world):
    a = world.a
    browser = reviewer_browser(a)
    before = Footprint.now()

    response = browser.post(
        f"/bureau/review/{a.finding.uuid}/", {"decision": "confirm", "comment": "属实\x00"}
    )

    assert response.status_code == 400
    assert Finding.objects.get(pk=a.finding.pk).review_status == "pending"
    assert Footprint.now() == before


def tus_create(side, photo_uuid: str, filename: str):
    return Client().post(
        "/api/mobile/v1/uploads/",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_LENGTH="1000",
        HTTP_UPLOAD_METADATA=metadata(
            photo_uuid=photo_uuid, filename=filename, content_type="image/jpeg"
        ),
        HTTP_AUTHORIZATION=f"Bearer {side.inspector_token}",
    )


def test_a_nul_in_an_uploads_file_name_is_invalid_metadata(world):
    a = world.a
    declared, body = put_draft_finding(a, "垃圾未清运")
    assert declared.status_code == 201
    photo_uuid = body["photos"][0]["photo_uuid"]
    before = Footprint.now()

    refused = tus_create(a, photo_uuid, "IMG\x00.JPG")

    assert (refused.status_code, problem_code(refused)) == (400, "invalid_metadata")
    assert Footprint.now() == before
    assert tus_create(a, photo_uuid, "IMG_0001.JPG").status_code == 201  # the slot was open
