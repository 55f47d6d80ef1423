"""The public portal at /credit/ as a resident, a journalist or a bidder reads it: a home that
informs (figures, grade distribution, blacklist moves, a search with filters), a firm's page in
plain words, the technical identifiers only in the data notes, pages a screen reader and a
phone can use, and a fixed number of queries per page whatever the data."""

import itertools
from datetime import date

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credit import views
from credit.models import CreditRecord, Objection, ObjectionDecision
from credit.recompute.clock import activate_due_records
from credit.selectors import ManagedCompound, compounds_reader_register
from credit.services import (
    blacklist_approve,
    blacklist_propose,
    objection_file,
    objection_resolve,
    repair_apply,
    repair_decide,
    risks_update,
)
from credit.services.risk import RiskRow
from inspections.models import ManagementContract
from tests.credit.conftest import new_record, publish, rescore
from tests.credit.html_tree import parse
from tests.factories import ContractFactory, EnterpriseFactory, ProjectFactory, region

pytestmark = pytest.mark.django_db


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def body_and_notes(html: str) -> tuple[str, str]:
    """The page before its data notes, and the notes."""
    body, notes = html.split('id="data-notes"')
    return body, notes


@pytest.fixture
def hohhot():
    region("150100", name="呼和浩特市")
    return region("150102", name="新城区")


@pytest.fixture
def baotou():
    return region("150200", name="包头市")


@pytest.fixture
def compounds_reader():
    """The reader of managed compounds as the inspections app installs it at start-up
    (credit cannot read contracts itself: imports flow one way)."""

    def reader(enterprise_id: int, day: date) -> list[ManagedCompound]:
        rows = (
            ManagementContract.objects.filter(enterprise_id=enterprise_id, start_date__lte=day)
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
            .order_by("project__name")
            .values_list("project__name", "project__region_id")
            .distinct()
        )
        return [ManagedCompound(name=name, region_code=code) for name, code in rows]

    compounds_reader_register(reader)
    yield reader
    compounds_reader_register(None)


def blacklisted(firm, reviewer, second_reviewer, *, reason="合同期内擅自弃管物业"):
    record = new_record(firm, "ABANDON", reviewer)
    rescore(firm)
    blacklist_propose(enterprise=firm, reason=reason, actor=reviewer)
    blacklist_approve(
        enterprise=firm, authority="呼和浩特市住建局", document_no="黑1号", actor=second_reviewer
    )
    return record


# --- the home -------------------------------------------------------------------------------


def test_the_home_gives_the_headline_figures_and_the_last_update(
    client, hohhot, reviewer, second_reviewer, clock, no_window
):
    for _ in range(3):
        EnterpriseFactory(region=hohhot)  # 100: A
    star = EnterpriseFactory(region=hohhot, name="星级物业有限公司")
    new_record(star, "DEMO-NATIONAL", reviewer, source="award")
    new_record(star, "TRADEMARK-NATIONAL", reviewer, source="award")  # 115: AAA
    blacklisted(EnterpriseFactory(region=hohhot), reviewer, second_reviewer)
    snapshot = publish()

    html = page(client, "/credit/")
    tree = parse(html)
    figures = {
        div.find("dt").text(): div.find("dd").text() for div in tree.find("dl").find_all("div")
    }

    assert figures == {
        "企业总数": "5 家",
        "红名单（AAA 级）": "1 家",
        "黑名单": "1 家",
        "最近更新": snapshot.published_at.astimezone(clock_zone()).strftime("%Y-%m-%d %H:%M"),
    }


def clock_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def test_the_grade_distribution_labels_every_bar_and_has_a_table(
    client, hohhot, reviewer, second_reviewer, clock, no_window
):
    for _ in range(2):
        EnterpriseFactory(region=hohhot)  # A
    new_record(EnterpriseFactory(region=hohhot), "ADMIN-PENALTY", reviewer)  # 90: A
    new_record(EnterpriseFactory(region=hohhot), "TENDER-FRAUD", reviewer)  # 60: C
    blacklisted(EnterpriseFactory(region=hohhot), reviewer, second_reviewer)
    publish()

    tree = parse(page(client, "/credit/"))
    chart = next(s for s in tree.find_all("svg") if "bars" in s.attrs.get("class", ""))
    values = [t.text() for t in chart.find_all("text") if t.attrs["class"] == "bar-value"]
    labels = [t.text() for t in chart.find_all("text") if t.attrs["class"] == "bar-label"]
    table = next(
        t for t in tree.find_all("table") if t.find("caption").text() == "各信用等级的企业数"
    )
    rows = [[c.text() for c in tr.children] for tr in table.find("tbody").find_all("tr")]

    assert labels == ["AAA 级", "AA 级", "A 级", "B 级", "C 级", "黑名单"]
    assert values == ["0", "0", "3", "0", "1", "1"]  # every bar, zero ones too
    assert chart.attrs["role"] == "img"
    labelled_by = chart.attrs["aria-labelledby"].split()
    assert [n.text() for n in chart.iter() if n.attrs.get("id") in labelled_by] == [
        "各信用等级的企业数",
        "AAA 级 0 家，AA 级 0 家，A 级 3 家，B 级 0 家，C 级 1 家，黑名单 1 家",
    ]
    assert rows == [
        ["AAA", "110 分及以上", "0"],
        ["AA", "103 分至 110 分（不含）", "0"],
        ["A", "90 分至 103 分（不含）", "3"],
        ["B", "70 分至 90 分（不含）", "0"],
        ["C", "70 分以下", "1"],
        ["黑名单", "—", "1"],
    ]


def test_the_home_lists_recent_blacklist_entries_and_exits(
    client, hohhot, reviewer, second_reviewer, clock, no_window
):
    leaving = EnterpriseFactory(region=hohhot, name="改过物业有限公司")
    staying = EnterpriseFactory(region=hohhot, name="弃管物业有限公司")
    record = blacklisted(leaving, reviewer, second_reviewer)
    blacklisted(staying, reviewer, second_reviewer)
    publish()
    clock.advance(200)
    publish()  # still on the list
    clock.advance(166)  # a serious record may be repaired after 12 months
    repair_apply(record=record, evidence="已整改", actor=reviewer)
    repair_decide(record=record, approve=True, reason="整改到位", actor=second_reviewer)
    rescore(leaving)
    publish()

    html = page(client, "/credit/")
    tree = parse(html)
    entries, exits = (
        [[c.text() for c in tr.children] for tr in table.find("tbody").find_all("tr")]
        for table in tree.find_all("table")[1:3]
    )

    assert entries == [["弃管物业有限公司", "呼和浩特市新城区", "2025-03-05"]]
    assert exits == [["改过物业有限公司", "呼和浩特市新城区", clock.today.isoformat()]]
    black = page(client, "/credit/blacklist/")
    assert "改过物业有限公司" in black.split('id="exits-heading"')[1]


def test_the_search_filters_by_region_name_grade_and_list(
    client, hohhot, baotou, reviewer, second_reviewer, clock, no_window
):
    qingcheng = EnterpriseFactory(region=hohhot, name="青城物业服务有限公司")
    lucheng = EnterpriseFactory(region=baotou, name="鹿城物业服务有限公司")
    fined = EnterpriseFactory(region=baotou, name="受罚物业服务有限公司")
    new_record(fined, "ELEVATOR-OPS", reviewer)  # 94: A
    new_record(EnterpriseFactory(region=baotou, name="乙等物业有限公司"), "ABANDON", reviewer)
    blacklisted(
        EnterpriseFactory(region=baotou, name="黑名物业有限公司"), reviewer, second_reviewer
    )
    publish()

    home = parse(page(client, "/credit/"))
    options = {o.attrs["value"]: o.text() for o in home.find("select").find_all("option")}
    baotou_firms = page(client, "/credit/", region="150200")
    in_hohhot = page(client, "/credit/", q="物业服务", region="150100")
    blacklist_only = page(client, "/credit/", list="blacklist", region="150200")
    grade_c = page(client, "/credit/", grade="C")

    assert options == {"": "全部地区", "150100": "呼和浩特市", "150200": "包头市"}
    assert lucheng.name in baotou_firms and qingcheng.name not in baotou_firms
    assert '<td data-label="注册地区">包头市</td>' in baotou_firms
    assert qingcheng.name in in_hohhot and lucheng.name not in in_hohhot
    assert "黑名物业有限公司" in blacklist_only and lucheng.name not in blacklist_only
    # C is the grade shown: a blacklisted firm is shown as blacklisted, not by its grade
    assert "乙等物业有限公司" in grade_c and "黑名物业有限公司" not in grade_c


def test_an_unknown_filter_value_is_ignored(client, firm):
    publish()

    html = page(client, "/credit/", region="999900", grade="Z", list="grey", q="青城")

    assert firm.name in html and "找到 1 家企业。" in html


def test_the_pager_keeps_the_filters(client, hohhot):
    for _ in range(25):
        EnterpriseFactory(region=hohhot)
    publish()

    first = page(client, "/credit/", region="150100", grade="A")
    second = page(client, "/credit/", region="150100", grade="A", page=2)

    assert 'href="?region=150100&amp;grade=A&amp;page=2"' in first
    assert second.count('href="/credit/e/') == 5


def test_an_exact_code_or_an_exact_name_opens_the_firm(client, firm):
    publish()

    by_code = client.get("/credit/", {"q": f" {firm.uscc.lower()} "})
    by_name = client.get("/credit/", {"q": firm.name, "grade": "C"})  # filters do not matter

    assert (by_code.status_code, by_code["Location"]) == (302, f"/credit/e/{firm.uscc}/")
    assert (by_name.status_code, by_name["Location"]) == (302, f"/credit/e/{firm.uscc}/")


def test_a_name_two_firms_share_lists_both_and_an_unpublished_code_finds_none(client, firm):
    twin = EnterpriseFactory(name="同名物业有限公司")
    EnterpriseFactory(name="同名物业有限公司")
    publish()
    unpublished = EnterpriseFactory()

    shared = page(client, "/credit/", q="同名物业有限公司")
    unknown = page(client, "/credit/", q=unpublished.uscc)

    assert shared.count(twin.name) >= 2 and "找到 2 家企业。" in shared
    assert "找到 0 家企业。" in unknown


def test_the_public_pages_say_when_nothing_is_published(client, firm):
    for url in ("/credit/", "/credit/blacklist/", "/credit/redlist/"):
        html = page(client, url)
        assert "尚未发布信用信息。" in html and 'id="data-notes"' not in html


# --- the enterprise page -------------------------------------------------------------------


def test_the_firm_page_gives_its_registration_in_names(client, hohhot, compounds_reader):
    firm = EnterpriseFactory(
        region=hohhot, name="青城物业服务有限公司", legal_representative="王建国"
    )
    for name in ("丁香园", "百合园"):
        ContractFactory(enterprise=firm, project=ProjectFactory(name=name, region=hohhot))
    ContractFactory(  # ended: no longer managed
        enterprise=firm,
        project=ProjectFactory(name="旧园", region=hohhot),
        end_date=date(2021, 1, 1),
    )
    publish()

    tree = parse(page(client, f"/credit/e/{firm.uscc}/"))
    facts = {tr.find("th").text(): tr.find("td") for tr in tree.find("table").find_all("tr")}

    assert facts["统一社会信用代码"].text() == firm.uscc
    assert facts["法定代表人"].text() == "王建国"
    assert facts["注册地区"].text() == "呼和浩特市新城区"
    assert facts["经营状态"].text() == "正常经营"
    assert [li.text() for li in facts["在管项目"].find_all("li")] == ["丁香园", "百合园"]
    assert facts["在管项目"].text().startswith("2 个")


def test_without_a_compounds_reader_the_page_gives_the_count_kept_on_the_firm(client, hohhot):
    firm = EnterpriseFactory(region=hohhot, managed_projects=7)
    publish()

    html = page(client, f"/credit/e/{firm.uscc}/")

    assert "<td>7 个</td>" in html


def test_the_score_chart_spans_the_page_and_labels_every_band_with_c(
    client, firm, reviewer, clock, no_window
):
    publish()
    clock.advance(30)
    new_record(firm, "ADMIN-PENALTY", reviewer)
    rescore(firm)
    publish()

    tree = parse(page(client, f"/credit/e/{firm.uscc}/"))
    chart = next(n for n in tree.iter("div") if n.attrs.get("class") == "score-chart")
    gutter, plot = chart.find_all("svg")[:2]
    names = [t.text() for t in gutter.find_all("text") if t.attrs["class"] == "band-name"]
    ticks = [t.text() for t in gutter.find_all("text") if t.attrs["class"] == "tick"]
    described = next(n for n in tree.iter("p") if n.attrs.get("id") == "score-chart-desc").text()

    assert names == ["AAA", "AA", "A", "B", "C"]
    assert ticks == ["110", "103", "90", "70"]
    assert plot.attrs["width"] == "100%" and chart.attrs["role"] == "img"
    assert len(plot.find_all("circle")) == 2
    assert described == (
        "共 2 次发布：2025-03-05 为 100.00 分，2025-04-04 为 90.00 分。"
        "图中色带为各信用等级的分数范围：AAA 级（110 分及以上），AA 级（103 分及以上），"
        "A 级（90 分及以上），B 级（70 分及以上），C 级（70 分以下）。"
    )


def test_records_show_their_period_basis_and_objection_and_repair(
    client, firm, reviewer, second_reviewer, clock, five_day_window
):
    disputed = new_record(firm, "FEE-UNLISTED", reviewer, document_no="呼房罚〔2025〕1号")
    objection_file(record=disputed, grounds="已公示", actor=reviewer)
    clock.advance(3)
    objection_resolve(
        record=disputed, decision=ObjectionDecision.REJECTED, reason="未公示", actor=reviewer
    )
    plain = new_record(firm, "SANITATION", reviewer)
    clock.advance(40)  # past the window; a minor record may be repaired after a month
    activate_due_records()
    repair_apply(record=CreditRecord.objects.get(pk=plain.pk), evidence="已清扫", actor=reviewer)
    rescore(firm)
    publish()

    tree = parse(page(client, f"/credit/e/{firm.uscc}/"))
    table = next(n for n in tree.iter("table") if "records" in n.attrs.get("class", ""))
    rows = {
        tr.find("span").text(): {td.attrs["data-label"]: td.text() for td in tr.find_all("td")}
        for tr in table.find("tbody").find_all("tr")
    }
    decided = timezone.localtime(Objection.objects.get(record=disputed).decided_at).date()

    fee = rows["收取未标明、未公示的费用"]
    assert fee["政策依据"] == (
        "《内蒙古自治区人民政府关于加强物业管理促进物业服务业发展的意见》"
        "（二十一）建立物业服务收费动态调节机制"
    )
    assert fee["分值"] == "−10"
    assert fee["认定日期与文书编号"] == "2025-03-05呼房罚〔2025〕1号"  # on two lines
    assert fee["公示期"] == "2025-03-13 至 2026-03-12"  # after the window, to its last day
    assert fee["异议与信用修复"] == f"2025-03-05 提出异议，{decided} 认定异议不成立"
    sanitation = rows["保洁、秩序维护不到位（脏乱差）"]
    assert "轻微失信" in sanitation["信用记录"] and sanitation["分值"] == "−2"
    assert sanitation["异议与信用修复"] == "2025-04-17 申请信用修复，正在审核"


def test_the_model_part_is_one_plain_sentence(
    client, firm, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        risks_update(
            risks=[
                RiskRow(enterprise_id=firm.id, probability=0.2, reasons=["所管2个项目近期多次违规"])
            ],
            model_version="risk-hgb-0123456789ab",
            population_mean=0.1,
        )
    publish()

    html = page(client, f"/credit/e/{firm.uscc}/")
    body, notes = body_and_notes(html)

    assert "根据巡查数据估计的风险，调整 −2 分，最多 ±5 分。" in body
    assert "<li>所管2个项目近期多次违规</li>" in body
    assert "risk-hgb-0123456789ab" not in body and "risk-hgb-0123456789ab" in notes
    assert "本企业的信用分已计入风险调整。" in notes


def test_a_model_that_is_not_live_is_said_not_to_count(
    client, firm, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        risks_update(
            risks=[RiskRow(enterprise_id=firm.id, probability=0.3)],
            model_version="risk-hgb-notlive",
            population_mean=0.1,
            live=False,
        )
    publish()

    body, notes = body_and_notes(page(client, f"/credit/e/{firm.uscc}/"))

    assert "尚未通过准确性检验，不计入信用分（调整 0 分；计入后最多 ±5 分）。" in body
    assert "本企业的信用分未计入风险调整。" in notes


def test_without_an_estimate_the_model_part_says_so(client, firm):
    publish()

    body, _ = body_and_notes(page(client, f"/credit/e/{firm.uscc}/"))

    assert "暂无根据巡查数据估计的风险，不作调整（调整 0 分）。" in body


def test_no_internal_code_before_the_data_notes_which_explain_each_identifier(
    client, firm, reviewer, second_reviewer, clock, no_window
):
    new_record(firm, "SECONDARY-WATER", reviewer)
    other = EnterpriseFactory()
    blacklisted(
        other, reviewer, second_reviewer, reason="存在可列入黑名单的生效严重失信记录：ABANDON。"
    )
    snapshot = publish()

    for url in (
        f"/credit/e/{firm.uscc}/",
        f"/credit/e/{other.uscc}/",
        "/credit/blacklist/",
        "/credit/",
    ):
        body, notes = body_and_notes(page(client, url))
        for code in ("SECONDARY-WATER", "ABANDON", snapshot.sha256, snapshot.rulebook_version):
            assert code not in body, (url, code)
        assert snapshot.sha256 in notes and snapshot.rulebook_version in notes
        assert "数字指纹" in notes and "不可更改" in notes
    assert "「合同期内擅自弃管物业」" in page(client, "/credit/blacklist/")


def test_the_firm_page_links_its_credit_report(client, firm, monkeypatch):
    publish()

    linked = page(client, f"/credit/e/{firm.uscc}/")
    monkeypatch.setattr(views, "_report_url", lambda uscc: None)  # a deployment without it
    unlinked = page(client, f"/credit/e/{firm.uscc}/")

    assert f'href="/credit/e/{firm.uscc}/report.pdf"' in linked
    assert "report.pdf" not in unlinked


# --- accessibility, phone, print, no network ------------------------------------------------


def assert_accessible_structure(html: str) -> None:
    tree = parse(html)
    assert tree.find("html").attrs["lang"] == "zh-Hans"
    assert len(tree.find_all("main")) == 1 and tree.find("header") and tree.find("footer")
    assert all(nav.attrs.get("aria-label") for nav in tree.find_all("nav"))
    levels = [int(n.tag[1]) for n in tree.iter() if n.tag in ("h1", "h2", "h3", "h4")]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    for table in tree.find_all("table"):
        assert table.find("caption") is not None and table.find("caption").text().strip()
        assert all(th.attrs.get("scope") in ("col", "row") for th in table.find_all("th"))
    ids = [n.attrs["id"] for n in tree.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids))
    labelled = {n.attrs["for"] for n in tree.find_all("label")}
    for control in tree.find_all("input") + tree.find_all("select"):
        if control.attrs.get("type") != "hidden":
            assert control.attrs["id"] in labelled
    by_id = {n.attrs["id"]: n for n in tree.iter() if "id" in n.attrs}
    for image in (n for n in tree.iter() if n.attrs.get("role") == "img"):
        names = image.attrs["aria-labelledby"].split()
        assert all(by_id[i].text().strip() for i in names)
    assert "<script" not in html and 'src="http' not in html and 'href="http' not in html


def test_every_public_page_has_landmarks_ordered_headings_and_labelled_tables(
    client, firm, reviewer, second_reviewer, clock, no_window
):
    new_record(firm, "FEE-UNLISTED", reviewer)
    blacklisted(EnterpriseFactory(), reviewer, second_reviewer)
    publish()

    for url in (
        "/credit/",
        "/credit/?q=物业",
        f"/credit/e/{firm.uscc}/",
        "/credit/blacklist/",
        "/credit/redlist/",
    ):
        assert_accessible_structure(page(client, url))


def test_the_stylesheet_keeps_the_nav_on_one_row_on_a_phone_and_prints():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "backend/static/wuye/site.css").read_text()
    phone = css[css.index("@media (max-width: 40rem)") :]

    assert ".portal-nav { flex-wrap:nowrap; overflow-x:auto;" in phone
    assert "@media print" in css and "form.search" in css[css.index("@media print") :]


# --- queries ---------------------------------------------------------------------------------


def queries_of(client, url, **params) -> int:
    page(client, url, **params)  # the first visit fills the per-snapshot memo
    with CaptureQueriesContext(connection) as captured:
        page(client, url, **params)
    return len(captured.captured_queries)


def test_the_firm_page_reads_a_fixed_number_of_queries_whatever_its_records(
    client, reviewer, clock, five_day_window, compounds_reader
):
    few, many = EnterpriseFactory(), EnterpriseFactory()
    codes = {
        few: ["FEE-UNLISTED"],
        many: ["FEE-UNLISTED", "SANITATION", "SNOW-ICE", "GREEN-DAMAGE"],
    }
    for firm, firm_codes in codes.items():
        for code in firm_codes:
            record = new_record(firm, code, reviewer)
            objection_file(record=record, grounds="x", actor=reviewer)
            objection_resolve(record=record, decision="rejected", reason="y", actor=reviewer)
        for _ in range(3):
            ContractFactory(enterprise=firm)
    clock.advance(10)
    activate_due_records()
    rescore(few)
    rescore(many)
    publish()

    # the latest snapshot's id; the firm's registration; its compounds; the objections and
    # the repairs of the records shown (entry, history, rulebook and region names are kept
    # per snapshot)
    assert queries_of(client, f"/credit/e/{few.uscc}/") == 5
    assert queries_of(client, f"/credit/e/{many.uscc}/") == 5


def test_the_home_and_the_lists_read_a_fixed_number_of_queries(
    client, hohhot, reviewer, second_reviewer, clock, no_window
):
    for _ in range(3):
        EnterpriseFactory(region=hohhot)
    blacklisted(EnterpriseFactory(region=hohhot), reviewer, second_reviewer)
    publish()
    small = {
        "home": queries_of(client, "/credit/"),
        "search": queries_of(client, "/credit/", q="物业", region="150100"),
        "blacklist": queries_of(client, "/credit/blacklist/"),
        "redlist": queries_of(client, "/credit/redlist/"),
    }
    for _ in range(25):
        EnterpriseFactory(region=hohhot)
    for _ in range(3):
        blacklisted(EnterpriseFactory(region=hohhot), reviewer, second_reviewer)
    publish()

    large = {
        "home": queries_of(client, "/credit/"),
        "search": queries_of(client, "/credit/", q="物业", region="150100"),
        "blacklist": queries_of(client, "/credit/blacklist/"),
        "redlist": queries_of(client, "/credit/redlist/"),
    }

    # home: the latest snapshot's id (figures, chart and lists are kept per snapshot);
    # search: + exact match, count and page; lists: + count and page (+ exits on the blacklist)
    assert small == large == {"home": 1, "search": 4, "blacklist": 3, "redlist": 2}
