"""Bureau credit pages at /bureau/credit/: session login, reviewer/admin role, region scope."""

import pytest

from credit.models import BlacklistStatus, Objection, RecordStatus
from tests.credit.conftest import new_record, rescore

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/bureau/credit/")

    assert response.status_code == 302 and response["Location"].startswith("/bureau/login/")


def test_inspectors_are_refused(client, inspector):
    client.force_login(inspector)

    assert client.get("/bureau/credit/").status_code == 403


def test_reviewer_sees_only_firms_of_their_regions(client, firm, baotou_firm, reviewer):
    client.force_login(reviewer)

    html = client.get("/bureau/credit/").content.decode()

    assert firm.name in html and baotou_firm.name not in html
    assert client.get(f"/bureau/credit/e/{baotou_firm.uscc}/").status_code == 404


def test_enterprise_page_lists_records_with_personal_data_for_staff(
    client, firm, reviewer, clock, five_day_window
):
    new_record(firm, "FEE-UNLISTED", reviewer, document_no="呼房罚〔2025〕5号")
    client.force_login(reviewer)

    html = client.get(f"/bureau/credit/e/{firm.uscc}/").content.decode()

    assert "呼房罚〔2025〕5号" in html and firm.legal_representative in html
    assert "登记异议" in html


def test_objection_form_records_the_objection(client, firm, reviewer, clock, five_day_window):
    record = new_record(firm, "FEE-UNLISTED", reviewer)
    client.force_login(reviewer)

    response = client.post(f"/bureau/credit/records/{record.id}/objection", {"grounds": "已公示"})

    assert response.status_code == 302
    assert Objection.objects.get(record=record).grounds == "已公示"


def test_a_refused_action_shows_the_reason_and_writes_nothing(
    client, firm, reviewer, clock, five_day_window
):
    record = new_record(firm, "FEE-UNLISTED", reviewer)
    clock.advance(30)
    client.force_login(reviewer)

    response = client.post(
        f"/bureau/credit/records/{record.id}/objection", {"grounds": "过期"}, follow=True
    )

    assert "已过异议期" in response.content.decode()
    assert Objection.objects.count() == 0


def test_other_region_records_are_404(client, baotou_firm, reviewer, clock, five_day_window):
    record = new_record(baotou_firm, "FEE-UNLISTED", reviewer)
    client.force_login(reviewer)

    response = client.post(f"/bureau/credit/records/{record.id}/objection", {"grounds": "x"})

    assert response.status_code == 404
    assert Objection.objects.count() == 0


def test_blacklist_page_endorse_and_approve(
    client, firm, reviewer, second_reviewer, clock, no_window
):
    new_record(firm, "MAINT-FUND-MISUSE", reviewer)
    rescore(firm)
    client.force_login(reviewer)
    listed = client.get("/bureau/credit/blacklist/").content.decode()
    client.post(
        f"/bureau/credit/e/{firm.uscc}/blacklist/propose",
        {"reason": "挪用维修资金", "back": "list"},
    )
    client.force_login(second_reviewer)
    client.post(
        f"/bureau/credit/e/{firm.uscc}/blacklist/approve",
        {"authority": "住建局", "document_no": "黑5号", "back": "list"},
    )

    assert firm.name in listed
    assert firm.blacklist_entries.get().status == BlacklistStatus.ACTIVE


def test_repair_through_the_pages(client, firm, reviewer, clock, no_window):
    from datetime import date

    record = new_record(firm, "SANITATION", reviewer)  # minor: one month minimum
    clock.today = date(2025, 4, 7)
    client.force_login(reviewer)
    client.post(f"/bureau/credit/records/{record.id}/repair", {"evidence": "已整改"})
    client.post(
        f"/bureau/credit/records/{record.id}/repair/decide",
        {"decision": "approved", "reason": "整改到位"},
    )

    record.refresh_from_db()
    assert record.status == RecordStatus.REPAIRED


# --- the credit desk's lists (issue 16) ------------------------------------------------------


def test_the_objections_page_lists_open_objections_and_records_still_in_their_window(
    client, firm, reviewer, clock, five_day_window
):
    objected = new_record(firm, "FEE-UNLISTED", reviewer, document_no="呼房罚〔2025〕7号")
    new_record(firm, "ELEVATOR-OPS", reviewer)
    Objection.objects.create(
        record=objected, filed_on=clock.today, grounds="收费已公示", filed_by=reviewer
    )
    client.force_login(reviewer)

    html = client.get("/bureau/credit/objections/").content.decode()

    assert "收费已公示" in html and "呼房罚〔2025〕7号" in html
    assert f'action="/bureau/credit/records/{objected.id}/objection/resolve"' in html
    assert "电梯日常运行管理不到位" in html and "2025-03-12" in html  # its deadline


def test_an_empty_objections_page_says_where_objections_come_from(client, reviewer):
    client.force_login(reviewer)

    html = client.get("/bureau/credit/objections/").content.decode()

    assert "没有待处理的异议" in html and "登记异议" in html
    assert "没有异议期内的记录" in html


def test_the_proposer_is_told_a_second_person_approves(
    client, firm, reviewer, second_reviewer, clock, no_window
):
    new_record(firm, "MAINT-FUND-MISUSE", reviewer)
    client.force_login(reviewer)
    client.post(f"/bureau/credit/e/{firm.uscc}/blacklist/propose", {"reason": "挪用维修资金"})

    own = client.get("/bureau/credit/blacklist/").content.decode()
    client.force_login(second_reviewer)
    other = client.get("/bureau/credit/blacklist/").content.decode()

    assert "须由另一名工作人员（例如管理员）批准" in own and "批准列入黑名单</button>" not in own
    assert "批准列入黑名单</button>" in other


def test_firms_are_listed_with_the_name_of_their_region(client, firm, reviewer):
    client.force_login(reviewer)

    html = client.get("/bureau/credit/").content.decode()
    page = client.get(f"/bureau/credit/e/{firm.uscc}/").content.decode()

    assert "<td>呼和浩特市</td>" in html
    assert "<dd>呼和浩特市</dd>" in page and "（150100）" not in page
