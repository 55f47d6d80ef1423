"""GET /catalogue, /projects and /tasks: caching, paging, nearest first, the task feed."""

import pytest
from django.utils import timezone

from credit.rulebook import load_default_rulebook
from credit.selectors import active_rulebook
from inspections.models import TaskKind
from inspections.services import task_cancel, task_create, task_status_set
from tests.factories import ContractFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_catalogue_lists_violations_and_answers_304_to_its_etag(phone):
    rulebook = load_default_rulebook()

    first = phone.get("/catalogue")
    cached = phone.get("/catalogue", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200
    body = first.json()
    assert body["rulebook_version"] == rulebook.version
    assert [item["code"] for item in body["items"]] == [r.code for r in rulebook.violations]
    abandon = next(item for item in body["items"] if item["code"] == "ABANDON")
    assert abandon == {
        "code": "ABANDON",
        "title": "合同期内擅自弃管物业",
        "title_en": "Abandoning a managed property during the contract term",
        "severity": "serious",
        "points": 40.0,
        "min_photos": 2,
    }
    assert cached.status_code == 304
    assert cached.content == b""


def test_catalogue_titles_in_english_come_from_the_rulebook(phone):
    rulebook = load_default_rulebook()

    items = phone.get("/catalogue").json()["items"]

    assert [item["title_en"] for item in items] == [r.title_en for r in rulebook.violations]


def test_an_etag_of_the_catalogue_before_title_en_gets_the_new_body(phone):
    active = active_rulebook()
    # The ETag as it was before items had `title_en`: version and rulebook hash only.
    before_title_en = f'"{active.version}-{active.rulebook.sha256[:16]}"'

    response = phone.get("/catalogue", HTTP_IF_NONE_MATCH=before_title_en)

    assert response.status_code == 200
    assert response["ETag"] != before_title_en
    assert "title_en" in response.json()["items"][0]


def test_projects_are_those_of_my_regions_with_their_enterprise(phone, project, baotou_project):
    body = phone.get("/projects").json()

    assert [item["id"] for item in body["items"]] == [project.id]
    assert body["items"][0]["enterprise"]["name"] == "青城物业服务有限公司"
    assert body["items"][0]["region_code"] == "150100"
    assert (body["next_cursor"] is not None, body["has_more"]) == (True, False)


def test_projects_page_through_with_the_cursor(phone):
    created = [ProjectFactory().id for _ in range(5)]

    seen, cursor, pages = [], "", 0
    while True:
        body = phone.get(f"/projects?limit=2&cursor={cursor}").json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]

    assert (seen, pages) == (sorted(created), 3)


def test_projects_near_a_point_come_nearest_first_across_pages(phone):
    far = ProjectFactory(lat=40.90, lon=111.80)
    near = ProjectFactory(lat=40.8431, lon=111.7495)
    middle = ProjectFactory(lat=40.86, lon=111.76)

    first = phone.get("/projects?near=40.8424,111.7490&limit=2").json()
    rest = phone.get(f"/projects?near=40.8424,111.7490&limit=2&cursor={first['next_cursor']}")

    assert [p["id"] for p in first["items"]] == [near.id, middle.id]
    assert [p["id"] for p in rest.json()["items"]] == [far.id]


@pytest.mark.parametrize("query", ["near=abc", "near=91,10", "cursor=!!!", "limit=201"])
def test_bad_project_queries_are_422(phone, query):
    response = phone.get(f"/projects?{query}")

    assert response.status_code == 422


def test_task_feed_returns_changes_after_the_cursor_cancellations_included(
    phone, inspector, colleague, project
):
    today = timezone.localdate()
    ContractFactory(project=ProjectFactory(), start_date=today)
    mine = task_create(project=project, assignee=inspector, kind=TaskKind.ROUTINE, due_date=today)
    task_create(project=project, assignee=colleague, kind=TaskKind.ROUTINE, due_date=today)
    first = phone.get("/tasks").json()

    task_cancel(task=mine)
    changes = phone.get(f"/tasks?cursor={first['next_cursor']}").json()
    nothing_new = phone.get(f"/tasks?cursor={changes['next_cursor']}").json()

    assert [(t["id"], t["status"]) for t in first["items"]] == [(mine.id, "assigned")]
    assert first["items"][0]["project"]["id"] == project.id
    assert first["items"][0]["enterprise"]["name"] == "青城物业服务有限公司"
    assert [(t["id"], t["status"]) for t in changes["items"]] == [(mine.id, "cancelled")]
    assert nothing_new["items"] == []
    assert nothing_new["next_cursor"] == changes["next_cursor"]


def test_finished_task_does_not_come_back_to_life(inspector, project):
    task = task_create(
        project=project, assignee=inspector, kind=TaskKind.ROUTINE, due_date=timezone.localdate()
    )
    task_cancel(task=task)

    after = task_status_set(task=task, status="in_progress")

    assert after.status == "cancelled"
