"""The credit report PDF (/credit/e/<uscc>/report.pdf): what the latest snapshot says of one
firm, in Chinese with the font embedded, checkable against the open data."""

import ast
import io
import tomllib
from pathlib import Path

import pytest
from django.utils import timezone
from pypdf import PdfReader

from credit.models import ObjectionDecision, RepairStatus
from credit.recompute.clock import activate_due_records
from credit.report import OBJECTION_TEXT, REPAIR_TEXT
from credit.services import (
    blacklist_approve,
    blacklist_propose,
    objection_file,
    objection_resolve,
    repair_apply,
)
from tests.credit.conftest import DECIDED, new_record, publish, rescore
from tests.factories import EnterpriseFactory, region

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def report_url(uscc: str) -> str:
    return f"/credit/e/{uscc}/report.pdf"


def download(client, uscc: str, **headers):
    response = client.get(report_url(uscc), headers=headers)
    assert response.status_code == 200, response.status_code
    return response


def pdf_text(content: bytes) -> str:
    """The PDF's text with all white space removed: extraction breaks lines where the layout
    does, which says nothing about the content."""
    reader = PdfReader(io.BytesIO(content))
    return "".join("".join(page.extract_text() or "" for page in reader.pages).split())


def page_fonts(content: bytes) -> list[dict]:
    """Each font of each page: its name and the descriptor of the glyphs it draws."""
    fonts = []
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            glyphs = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            descriptor = glyphs["/FontDescriptor"].get_object()
            fonts.append({"name": str(font["/BaseFont"]), "descriptor": descriptor})
    return fonts


@pytest.fixture
def hohhot_firm():
    region("150100", name="呼和浩特市")
    return EnterpriseFactory(
        region=region("150102", name="新城区"),
        name="青城物业服务有限公司",
        legal_representative="王建国",
    )


def test_the_report_shows_the_firm_its_standing_and_the_snapshot(
    client, hohhot_firm, reviewer, clock, no_window
):
    new_record(hohhot_firm, "FEE-UNLISTED", reviewer, document_no="呼房罚〔2025〕9号")
    snapshot = publish()

    response = download(client, hohhot_firm.uscc)
    text = pdf_text(response.content)

    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    for expected in (
        "青城物业服务有限公司",
        hohhot_firm.uscc,
        "王建国",  # legal representative, as on the business licence
        "呼和浩特市新城区",
        "信用等级A",
        "90.00分（规则得分90.00分，风险调整0分）",
        "收取未标明、未公示的费用",
        "依据意见（二十一）",
        "一般失信−10.00分",
        "2025-03-05呼房罚〔2025〕9号",
        "2025-03-05至2026-03-04",  # the last day of the twelve months, not the day after
        "未提出异议，未申请信用修复",
        "黑名单未列入",
        f"信用快照编号{snapshot.id}",
        snapshot.sha256,
        "/credit/open-data/latest.json",
        f"/api/tender/v1/enterprises/{hohhot_firm.uscc}",
        "报告生成时间",
        "北京时间",
    ):
        assert expected in text, expected
    for internal in ("FEE-UNLISTED", "SECONDARY-WATER", "risk-", "population"):
        assert internal not in text


def test_the_model_part_is_one_plain_sentence(client, firm):
    publish()

    text = pdf_text(download(client, firm.uscc).content)

    # No live model in a fresh world: the part is 0, and the sentence says why and how much
    # it could move once it counts.
    assert "风险调整0分" in text
    assert "暂不计入，调整0分（计入后最多±5分）" in text or "尚无根据巡查数据估计的风险" in text


def test_the_cjk_font_is_embedded_as_a_subset(client, firm):
    publish()

    fonts = page_fonts(download(client, firm.uscc).content)

    assert fonts
    for font in fonts:
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(font["descriptor"]), font["name"]
        prefix = font["name"].lstrip("/").partition("+")[0]
        assert len(prefix) == 6 and prefix.isupper(), font["name"]  # a subset (ISO 32000 9.6.4)
    assert any("Noto-Sans-CJK-SC" in font["name"] for font in fonts)


def test_download_headers_name_the_firm_and_cache_per_snapshot(client, firm, clock):
    snapshot = publish()

    response = download(client, firm.uscc)

    day = clock.today.isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="credit-report-{firm.uscc}-{day}.pdf"; '
        "filename*=UTF-8''%E9%9D%92%E5%9F%8E%E7%89%A9%E4%B8%9A%E6%9C%8D%E5%8A%A1%E6%9C%89%E9%99%90"
        f"%E5%85%AC%E5%8F%B8-%E4%BF%A1%E7%94%A8%E6%8A%A5%E5%91%8A-{day}.pdf"
    )
    assert response["ETag"] == (
        f'W/"{snapshot.id}-{snapshot.sha256}-{firm.uscc}-{clock.today:%Y%m%d}"'
    )
    assert response["Cache-Control"] == "public, no-cache"
    assert response["X-Snapshot-Id"] == str(snapshot.id)


def test_the_same_snapshot_answers_304_and_a_new_one_a_new_report(client, firm, clock):
    publish()
    etag = download(client, firm.uscc)["ETag"]

    again = client.get(report_url(firm.uscc), headers={"If-None-Match": etag})
    later = publish()
    after = client.get(report_url(firm.uscc), headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    assert after.status_code == 200
    # Nothing changed, so the hash is the same; the report names the newer snapshot.
    assert later.sha256 in etag and after["ETag"] != etag
    assert after["ETag"].startswith(f'W/"{later.id}-')


def test_a_file_name_drops_what_file_systems_refuse(client, clock):
    firm = EnterpriseFactory(name='蒙"草/原:物业*')
    publish()

    disposition = download(client, firm.uscc)["Content-Disposition"]

    expected = "%E8%92%99%E8%8D%89%E5%8E%9F%E7%89%A9%E4%B8%9A-%E4%BF%A1%E7%94%A8%E6%8A%A5%E5%91%8A"
    assert f"filename*=UTF-8''{expected}-{clock.today.isoformat()}.pdf" in disposition


def test_names_are_escaped_in_the_report(client):
    firm = EnterpriseFactory(name='<img src="http://example.invalid/x.png">物业')
    publish()

    text = pdf_text(download(client, firm.uscc).content)

    assert '<imgsrc="http://example.invalid/x.png">物业' in text  # printed, not fetched


@pytest.mark.parametrize(
    "code",
    [
        "91150100MA0000000X",  # the right shape, a wrong check character
        "not-a-code",
        "9115010",
    ],
)
def test_an_invalid_code_is_the_404_page(client, firm, code):
    publish()

    response = client.get(report_url(code))

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_firm_is_404(client, firm):
    publish()
    stranger = EnterpriseFactory.build()  # a valid code the registry does not hold

    assert client.get(report_url(stranger.uscc)).status_code == 404


def test_a_firm_not_in_the_latest_snapshot_is_404(client, firm):
    publish()
    newcomer = EnterpriseFactory()  # registered after the publication

    assert client.get(report_url(newcomer.uscc)).status_code == 404
    assert client.get(report_url(firm.uscc)).status_code == 200


def test_before_any_snapshot_there_is_no_report(client, firm):
    assert client.get(report_url(firm.uscc)).status_code == 404


def test_a_lower_case_code_finds_the_firm(client, firm):
    publish()

    assert client.get(report_url(firm.uscc.lower())).status_code == 200


def test_a_blacklisted_firm_says_so_and_is_not_on_the_red_list(
    client, firm, reviewer, second_reviewer, clock, no_window
):
    new_record(firm, "ABANDON", reviewer)
    rescore(firm)
    blacklist_propose(enterprise=firm, reason="合同期内擅自弃管", actor=reviewer)
    blacklist_approve(
        enterprise=firm, authority="住建局", document_no="黑2号", actor=second_reviewer
    )
    publish()

    text = pdf_text(download(client, firm.uscc).content)

    assert f"黑名单已列入（自{clock.today.isoformat()}起）：合同期内擅自弃管" in text
    assert "红名单未列入" in text


def test_an_aaa_firm_is_on_the_red_list(client, reviewer, clock, no_window):
    star = EnterpriseFactory(name="星级物业有限公司")
    new_record(star, "DEMO-NATIONAL", reviewer, source="award")
    new_record(star, "TRADEMARK-NATIONAL", reviewer, source="award")
    publish()

    text = pdf_text(download(client, star.uscc).content)

    assert "信用等级AAA" in text and "红名单已列入" in text
    assert "良好+10.00分" in text


def test_a_record_past_its_publication_period_is_left_out(client, firm, reviewer, clock, no_window):
    new_record(firm, "SANITATION", reviewer)  # minor: three months
    publish()

    clock.advance(120)
    text = pdf_text(download(client, firm.uscc).content)

    assert "保洁、秩序维护不到位" not in text
    assert "没有公示中的信用记录" in text


def test_objection_and_repair_of_each_record(client, firm, reviewer, clock, five_day_window):
    objected = new_record(firm, "FEE-UNLISTED", reviewer)
    objection_file(record=objected, grounds="已按规定公示", actor=reviewer)
    clock.advance(10)
    objection_resolve(
        record=objected, decision=ObjectionDecision.REJECTED, reason="证据充分", actor=reviewer
    )
    repaired = new_record(firm, "ELEVATOR-OPS", reviewer, decided_at=clock.today)
    clock.advance(7)  # past the window: effective
    activate_due_records()
    clock.advance(100)  # past the three months before an ordinary record may be repaired
    repair_apply(record=repaired, evidence="已整改并复查合格", actor=reviewer)
    publish()

    text = pdf_text(download(client, firm.uscc).content)

    objected_on = DECIDED.isoformat()
    # Decisions are stamped with the wall clock, which the test clock leaves alone.
    objected.objection.refresh_from_db()
    decided_on = timezone.localtime(objected.objection.decided_at).date().isoformat()
    assert f"{objected_on}提出异议，{decided_on}认定异议不成立" in text
    assert f"{clock.today.isoformat()}申请信用修复，正在审核" in text


def test_every_objection_and_repair_state_has_its_words():
    assert set(OBJECTION_TEXT) == {"", *ObjectionDecision.values}
    assert set(REPAIR_TEXT) == set(RepairStatus.values)


def test_the_view_reads_through_selectors_never_models():
    tree = ast.parse((ROOT / "credit" / "report_views.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    interfaces = next(
        c for c in contracts["contracts"] if c["name"].startswith("Interfaces never import models")
    )

    assert not {m for m in imported if m and m.startswith(("credit.models", "inspections.models"))}
    assert "credit.report_views" in interfaces["source_modules"]
