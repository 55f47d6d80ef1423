"""GET /inspections: the calling inspector's own inspections, newest start first, as the phone
(or the web app) lists them to pick up its recent work."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import ProjectFactory
from tests.mobile_api.phone import API, STARTED, Phone, sign_in, slot

pytestmark = pytest.mark.django_db


def put_at(phone, project, *, hours: int) -> str:
    """An inspection of `project` started `hours` after STARTED; its uuid as the API shows it."""
    inspection_uuid = uuid.uuid4()
    started_at = (STARTED + timedelta(hours=hours)).isoformat()
    response = phone.put_inspection(inspection_uuid, project_id=project.id, started_at=started_at)
    assert response.status_code == 201, response.content
    return str(inspection_uuid)


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["inspection_uuid"] for item in response.json()["items"]]


def test_lists_only_my_inspections_newest_start_first(phone, colleague_phone, project):
    oldest = put_at(phone, project, hours=0)
    newest = put_at(phone, project, hours=48)
    middle = put_at(phone, project, hours=24)
    put_at(colleague_phone, project, hours=72)  # the colleague's, on the same compound

    response = phone.get("/inspections")

    assert listed(response) == [newest, middle, oldest]


def test_items_have_the_shape_of_the_single_inspection_read(phone, project):
    inspection_uuid = put_at(phone, project, hours=0)
    phone.put_finding(inspection_uuid, uuid.uuid4(), [slot(b"photo-1")])

    [item] = phone.get("/inspections").json()["items"]

    assert item == phone.get(f"/inspections/{inspection_uuid}").json()
    assert len(item["findings"]) == 1 and len(item["findings"][0]["photos"]) == 1


def test_project_filter_keeps_that_compounds_inspections(phone, project):
    other = ProjectFactory(name="北垣小区")
    here = put_at(phone, project, hours=0)
    put_at(phone, other, hours=1)

    response = phone.get(f"/inspections?project_id={project.id}")

    assert listed(response) == [here]


def test_a_compound_without_my_inspections_lists_nothing(phone, colleague_phone, project):
    put_at(colleague_phone, project, hours=0)

    response = phone.get(f"/inspections?project_id={project.id}")

    assert response.json() == {"items": []}


def test_a_project_outside_my_regions_is_404_as_for_put(phone, baotou_project):
    response = phone.get(f"/inspections?project_id={baotou_project.id}")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_another_regions_inspector_does_not_see_mine(phone, baotou_inspector, project):
    put_at(phone, project, hours=0)
    token = sign_in(Client(), baotou_inspector.user.username)["access_token"]

    response = Phone(Client(), token).get("/inspections")

    assert response.json() == {"items": []}


def test_limit_keeps_the_newest(phone, project):
    put_at(phone, project, hours=0)
    second = put_at(phone, project, hours=1)
    newest = put_at(phone, project, hours=2)

    response = phone.get("/inspections?limit=2")

    assert listed(response) == [newest, second]


def test_default_limit_is_20(phone, project):
    for hour in range(21):
        put_at(phone, project, hours=hour)

    assert len(listed(phone.get("/inspections"))) == 20
    assert len(listed(phone.get("/inspections?limit=100"))) == 21


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("project_id=abc", "project_id"),
    ],
)
def test_bad_queries_are_422_naming_the_field(phone, query, field):
    response = phone.get(f"/inspections?{query}")

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["loc"][-1] == field


def test_without_a_token_it_is_401(project):
    response = Client().get(f"{API}/inspections")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def queries_to_list(phone) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = phone.get("/inspections?limit=100")
    assert response.status_code == 200
    return len(captured)


def add_inspections(phone, project, *, count: int, findings: int) -> None:
    for hour in range(count):
        inspection_uuid = put_at(phone, project, hours=hour)
        for number in range(findings):
            photos = [slot(f"{inspection_uuid}-{number}-{n}".encode()) for n in range(2)]
            response = phone.put_finding(inspection_uuid, uuid.uuid4(), photos)
            assert response.status_code == 201, response.content


def test_the_number_of_queries_does_not_grow_with_the_inspections(phone, project):
    add_inspections(phone, project, count=1, findings=1)
    one = queries_to_list(phone)
    add_inspections(phone, project, count=5, findings=3)

    many = queries_to_list(phone)

    # The token, the caller's profile and regions, then one query each for the inspections,
    # their findings and the findings' photos.
    assert (one, many) == (6, 6)
