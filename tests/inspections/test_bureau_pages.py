"""The bureau desk's pages at /bureau/: the workbench counts what waits in the reviewer's regions
and links each count to its list; every list says what to do when it is empty; region names,
never bare codes; the review desk in plain Chinese."""

import re
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from credit.models import StaffRole
from credit.services import blacklist_propose, objection_file, objection_resolve
from inspections.models import InspectionTask
from inspections.services import task_create
from tests.credit.conftest import new_record, rescore
from tests.factories import EnterpriseFactory, ProjectFactory, region, staff
from tests.inspections.test_review_and_complaints import submitted_finding
from tests.mobile_api.phone import Phone, sign_in

pytestmark = pytest.mark.django_db


def page(profile, url: str) -> str:
    client = Client()
    client.force_login(profile.user)
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def visible_text(html: str) -> str:
    """The text of the page's main part (the header carries the language switch)."""
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r"<[^>]+>", " ", main)


def tile(html: str, href: str) -> int:
    """The count the workbench shows in the tile linking to `href`."""
    match = re.search(rf'<a href="{re.escape(href)}"><span class="count">(\d+)</span>', html)
    assert match, f"no tile links to {href}"
    return int(match.group(1))


BARE_CODE = re.compile(r"(?<![0-9A-Z])15\d{4}(?![0-9A-Z])")  # 150100, not inside a credit code


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def world(phone, project, enterprise, reviewer, baotou_inspector, baotou_project, today):
    """In 呼和浩特 (the reviewer's region): two findings waiting, one already decided, a
    proposal by a person and one by the rules, an open objection, a decided one, a record
    still in its window, and one stranded task; in 包头, one of each that must not count."""
    for code in ("SANITATION", "PARKING-DISORDER"):
        submitted_finding(phone, project, code=code)
    baotou_phone = Phone(
        Client(), sign_in(Client(), baotou_inspector.user.username)["access_token"]
    )
    submitted_finding(baotou_phone, baotou_project)

    staff_user = reviewer.user
    proposed = EnterpriseFactory(name="列入提议物业公司")
    new_record(proposed, "MAINT-FUND-MISUSE", staff_user, decided_at=today - timedelta(days=60))
    blacklist_propose(enterprise=proposed, reason="挪用维修资金", actor=staff_user)
    by_rules = EnterpriseFactory(name="系统提议物业公司")
    new_record(by_rules, "TENDER-FRAUD", staff_user, decided_at=today - timedelta(days=60))
    rescore(by_rules)  # the rules' proposal, waiting for a person
    elsewhere = EnterpriseFactory(region=region("150200", name="包头市"), name="包头物业公司")
    new_record(elsewhere, "ABANDON", staff_user, decided_at=today - timedelta(days=60))
    blacklist_propose(enterprise=elsewhere, reason="弃管", actor=staff_user)

    with override_settings(CREDIT_OBJECTION_WORKING_DAYS=5):
        objected = new_record(enterprise, "FEE-UNLISTED", staff_user, decided_at=today)
        decided = new_record(
            enterprise, "SANITATION", staff_user, decided_at=today, source="manual"
        )
        new_record(enterprise, "ELEVATOR-OPS", staff_user, decided_at=today, source="manual")
        far = new_record(elsewhere, "FEE-UNLISTED", staff_user, decided_at=today)
    objection_file(record=objected, grounds="收费已公示", actor=staff_user)
    objection_file(record=decided, grounds="已整改", actor=staff_user)
    objection_resolve(record=decided, decision="rejected", reason="证据不足", actor=staff_user)
    objection_file(record=far, grounds="不服", actor=staff_user)

    inspector = staff(role=StaffRole.INSPECTOR, regions=("150100",), name="调走的巡查员")
    due = today + timedelta(days=7)
    task_create(project=project, assignee=inspector, kind="routine", due_date=due)
    inspector.regions.set([region("150200", name="包头市")])
    task_create(project=ProjectFactory(name="有人负责的小区"), assignee=staff(), kind="routine",
                due_date=due)  # fmt: skip
    return reviewer


def test_the_workbench_counts_what_waits_in_the_reviewers_regions_and_links_each_list(world):
    html = page(world, "/bureau/")

    assert tile(html, "/bureau/review/") == 2
    assert tile(html, "/bureau/credit/blacklist/") == 1
    assert "另有 1 项系统提议待工作人员提议" in html
    assert tile(html, "/bureau/credit/objections/") == 1
    assert "另有 1 条记录仍在异议期内" in html
    assert tile(html, "/bureau/tasks/stranded/") == 1
    assert "呼和浩特市" in html  # the reviewer's region, by name


def test_each_list_behind_the_workbench_shows_its_cases(world):
    review = page(world, "/bureau/review/")
    blacklist = page(world, "/bureau/credit/blacklist/")
    objections = page(world, "/bureau/credit/objections/")
    stranded = page(world, "/bureau/tasks/stranded/")

    assert review.count('class="card finding"') == 2 and "鹿城小区" not in review
    assert "列入提议物业公司" in blacklist and "待批准" in blacklist
    assert "系统提议物业公司" in blacklist and "包头物业公司" not in blacklist
    assert "收费已公示" in objections and "已整改" not in objections and "不服" not in objections
    assert "电梯日常运行管理不到位" in objections  # still in its window, no objection yet
    assert "调走的巡查员" in stranded and "该巡查员的负责区划已不含这个项目" in stranded
    assert "有人负责的小区" not in stranded


def test_an_objection_is_decided_from_its_list_and_leaves_it(world, enterprise):
    client = Client()
    client.force_login(world.user)
    record = enterprise.credit_records.get(rule_code="FEE-UNLISTED")

    response = client.post(
        f"/bureau/credit/records/{record.id}/objection/resolve",
        {"decision": "upheld", "reason": "公示属实", "back": "objections"},
    )

    assert response["Location"] == "/bureau/credit/objections/"
    record.refresh_from_db()
    assert record.status == "revoked"
    assert "收费已公示" not in page(world, "/bureau/credit/objections/")


def test_with_nothing_waiting_every_list_says_what_to_do():
    reviewer = staff(role=StaffRole.REVIEWER, regions=("150100",))

    home = page(reviewer, "/bureau/")
    assert [
        tile(home, href)
        for href in (
            "/bureau/review/",
            "/bureau/credit/blacklist/",
            "/bureau/credit/objections/",
            "/bureau/tasks/stranded/",
        )
    ] == [0, 0, 0, 0]
    assert "没有待审核的违规发现" in page(reviewer, "/bureau/review/")
    assert "巡查员在手机上提交巡查后" in page(reviewer, "/bureau/review/")
    assert "系统会在这里生成提议" in page(reviewer, "/bureau/credit/blacklist/")
    objections = page(reviewer, "/bureau/credit/objections/")
    assert "没有待处理的异议" in objections and "没有异议期内的记录" in objections
    assert "没有滞留的巡查任务" in page(reviewer, "/bureau/tasks/stranded/")
    assert "还没有批准的巡查计划" in page(reviewer, "/bureau/plans/")
    assert "您负责的区划内还没有企业" in page(reviewer, "/bureau/credit/")
    assert "没有候选企业" in page(reviewer, "/bureau/credit/backbone/")


def test_inspectors_are_sent_to_their_app_not_shown_the_workbench():
    inspector = staff(role=StaffRole.INSPECTOR, regions=("150100",))
    client = Client()
    client.force_login(inspector.user)

    response = client.get("/bureau/")

    assert response.status_code == 403
    assert 'href="/m/"' in response.content.decode()
    assert client.get("/bureau/tasks/stranded/").status_code == 403


def test_the_review_desk_speaks_plain_chinese_with_region_names(world):
    html = page(world, "/bureau/review/")
    text = visible_text(html)

    assert "保洁、秩序维护不到位（脏乱差）" in text and "无序停车未有效管理" in text
    assert '<span class="severity severity-minor">轻微</span>' in html
    assert "青城花园（呼和浩特市）" in text
    assert "SANITATION" not in text and "minor" not in text
    assert not re.search(r"[A-Za-z]{4,}", text.replace("EXIF", ""))  # no English words
    assert not BARE_CODE.search(text)


@pytest.mark.parametrize(
    "url",
    ["/bureau/", "/bureau/credit/", "/bureau/credit/blacklist/", "/bureau/credit/objections/"],
)
def test_bureau_pages_show_region_names_never_bare_codes(world, url):
    text = visible_text(page(world, url))

    assert not BARE_CODE.search(text), BARE_CODE.search(text)


def test_the_enterprise_list_and_page_name_the_region(world, enterprise):
    listing = visible_text(page(world, "/bureau/credit/"))
    firm_page = visible_text(page(world, f"/bureau/credit/e/{enterprise.uscc}/"))

    assert "呼和浩特市" in listing
    assert "呼和浩特市" in firm_page and not BARE_CODE.search(firm_page)


def test_stranded_tasks_list_only_open_tasks(world):
    InspectionTask.objects.filter(assignee__display_name="调走的巡查员").update(status="done")

    assert "没有滞留的巡查任务" in page(world, "/bureau/tasks/stranded/")
