"""Public disclosure pages at /credit/: from the latest snapshot, escaped, no personal data."""

import csv
import hashlib
import io
import json

import pytest

from credit.services import blacklist_approve, blacklist_propose
from tests.credit.conftest import new_record, publish, rescore
from tests.factories import EnterpriseFactory, region

pytestmark = pytest.mark.django_db


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_search_finds_a_firm_by_part_of_its_name_and_opens_it_by_its_code(client, firm):
    EnterpriseFactory(name="草原物业有限公司")
    publish()

    by_name = page(client, "/credit/", q="青城")
    by_code = client.get("/credit/", {"q": firm.uscc.lower()})

    assert firm.name in by_name and "草原物业有限公司" not in by_name
    assert f'href="/credit/e/{firm.uscc}/"' in by_name
    assert (by_code.status_code, by_code["Location"]) == (302, f"/credit/e/{firm.uscc}/")


def test_search_pages_through_results(client):
    for _ in range(25):
        EnterpriseFactory()
    publish()

    first = page(client, "/credit/", q="测试物业")
    second = page(client, "/credit/", q="测试物业", page=2)

    assert first.count('href="/credit/e/') == 20
    assert second.count('href="/credit/e/') == 5
    assert "page=2" in first and 'rel="prev"' in second


def test_before_any_snapshot_the_pages_say_so(client, firm):
    assert "尚未发布信用信息" in page(client, "/credit/", q="青城")
    assert client.get(f"/credit/e/{firm.uscc}/").status_code == 404


def test_enterprise_page_shows_grade_both_parts_reasons_chart_and_records(
    client, firm, reviewer, clock, no_window
):
    publish()
    new_record(firm, "FEE-UNLISTED", reviewer, document_no="呼房罚〔2025〕9号", facts="李四收费")
    publish()

    html = page(client, f"/credit/e/{firm.uscc}/")

    assert '<span class="grade grade-A">A</span>' in html
    assert "<td>90.00</td>" in html and "<td>0.00</td>" in html  # score and model part
    assert "失信记录 1 条，共 −10 分" in html
    assert '<span class="record-title">收取未标明、未公示的费用</span>' in html
    assert "（二十一）建立物业服务收费动态调节机制" in html  # the policy clause it rests on
    assert "FEE-UNLISTED" not in html
    assert "呼房罚〔2025〕9号" in html
    assert html.count("<circle ") == 1  # both snapshots on one day: one point
    assert "<svg" in html and "<script" not in html


def test_enterprise_page_carries_no_personal_data(client, firm, reviewer, clock, no_window):
    """The legal representative is a registration fact, printed as on the business licence
    (as 信用中国 does); the facts of a record and the staff who handled it never are."""
    new_record(firm, "FEE-UNLISTED", reviewer, facts="巡查员王五发现业主赵六反映")
    publish()

    html = page(client, f"/credit/e/{firm.uscc}/")

    assert f"<td>{firm.legal_representative}</td>" in html
    for personal in ("王五", "赵六", reviewer.username, "审核员甲"):
        assert personal not in html


def test_names_are_html_escaped(client):
    firm = EnterpriseFactory(name='<script>alert("x")</script>物业')
    publish()

    html = page(client, f"/credit/e/{firm.uscc}/")

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;物业" in html


def test_an_unknown_or_invalid_code_is_404(client, firm):
    publish()

    assert client.get("/credit/e/91150100MA0000000X/").status_code == 404
    assert client.get("/credit/e/not-a-code/").status_code == 404


def test_blacklist_and_redlist(client, firm, reviewer, second_reviewer, clock, no_window):
    star = EnterpriseFactory(name="星级物业有限公司")
    new_record(star, "DEMO-NATIONAL", reviewer, source="award")
    new_record(star, "TRADEMARK-NATIONAL", reviewer, source="award")  # 115: AAA
    new_record(firm, "ABANDON", reviewer)
    rescore(firm)
    blacklist_propose(enterprise=firm, reason="合同期内擅自弃管", actor=reviewer)
    blacklist_approve(
        enterprise=firm, authority="住建局", document_no="黑2号", actor=second_reviewer
    )
    publish()

    black = page(client, "/credit/blacklist/")
    red = page(client, "/credit/redlist/")

    assert firm.name in black and "合同期内擅自弃管" in black and star.name not in black
    assert star.name in red and firm.name not in red


def test_open_data_json_hashes_to_the_published_sha256(client, firm, reviewer, clock, no_window):
    new_record(firm, "FEE-UNLISTED", reviewer)
    snapshot = publish()

    response = client.get("/credit/open-data/latest.json")
    body = b"".join(response.streaming_content)

    assert hashlib.sha256(body).hexdigest() == snapshot.sha256 == response["X-Snapshot-Sha256"]
    document = json.loads(body)
    assert [e["uscc"] for e in document["entries"]] == [firm.uscc]
    assert document["entries"][0]["score"] == "90.00"
    assert "legal_representative" not in body.decode() and "张三" not in body.decode()


def test_open_data_csv_names_the_snapshot_on_every_row(client, firm):
    other = EnterpriseFactory(region=region("150200", name="包头市"))
    snapshot = publish()

    response = client.get("/credit/open-data/latest.csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )

    assert sorted(r["uscc"] for r in rows) == sorted([firm.uscc, other.uscc])
    assert {r["snapshot_sha256"] for r in rows} == {snapshot.sha256}
    assert rows[0]["grade"] == "A" and rows[0]["score"] == "100.00"


def test_english_version_through_the_language_switch(client, firm, reviewer, clock, no_window):
    new_record(firm, "FEE-UNLISTED", reviewer)
    publish()

    client.post("/i18n/setlang/", {"language": "en", "next": "/credit/"})
    html = page(client, f"/credit/e/{firm.uscc}/")

    assert '<html lang="en">' in html
    assert "Charging unlisted or undisclosed fees" in html
    assert "Published records" in html


def test_chinese_is_the_default(client, firm):
    publish()

    html = page(client, f"/credit/e/{firm.uscc}/")

    assert '<html lang="zh-Hans">' in html and "公示中的信用记录" in html


def test_the_rendered_page_is_kept_per_language(client, firm, reviewer, clock, no_window):
    """The page's content is rendered once per snapshot, firm, day and language: a visitor
    switching language after another has seen the Chinese page gets the English one."""
    new_record(firm, "FEE-UNLISTED", reviewer)
    publish()

    chinese = page(client, f"/credit/e/{firm.uscc}/")
    client.post("/i18n/setlang/", {"language": "en", "next": "/credit/"})
    english = page(client, f"/credit/e/{firm.uscc}/")
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/credit/"})
    chinese_again = page(client, f"/credit/e/{firm.uscc}/")

    assert "收取未标明、未公示的费用" in chinese and "Charging unlisted" not in chinese
    assert "Charging unlisted or undisclosed fees" in english and "公示中的信用记录" not in english
    # The public pages hold no per-visitor token (the language switch is a plain link).
    assert chinese_again == chinese


def test_a_record_past_its_period_leaves_the_page_the_next_day_without_a_new_snapshot(
    client, firm, reviewer, clock, no_window
):
    new_record(firm, "FEE-UNLISTED", reviewer, document_no="呼房罚〔2025〕7号")
    publish()
    shown = page(client, f"/credit/e/{firm.uscc}/")

    clock.advance(366)  # FEE-UNLISTED is published for 12 months
    gone = page(client, f"/credit/e/{firm.uscc}/")

    assert "呼房罚〔2025〕7号" in shown
    assert "呼房罚〔2025〕7号" not in gone and "没有公示中的信用记录。" in gone


def test_the_firm_page_shows_its_registered_address(client):
    firm = EnterpriseFactory(address="新城区新华大街128号")
    publish()

    html = page(client, f"/credit/e/{firm.uscc}/")

    assert "<td>新城区新华大街128号</td>" in html
