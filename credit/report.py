"""The credit report (信用报告) of one firm: a PDF the firm can attach to a tender.

Its credit standing (grade, score and both parts, blacklist and red list, the records) is what
the latest published snapshot says — the same entry the public page and the tender API answer
from; the registration facts (legal representative, region) and where each record's objection
or repair stands are read as they are when the report is made, and the report says so. The text
is plain Chinese whatever the page language: a tender file is read in Chinese. Internal
identifiers (snapshot id and hash, rulebook version) appear only in the 数据说明 section, with
how to check the report against the open data and the tender API.

Rendered by WeasyPrint from `credit/templates/credit/report_pdf.html` (its style sheet inline,
no URL fetched). The font is Noto Sans CJK SC from the system (Debian's fonts-noto-cjk);
WeasyPrint embeds the subset of glyphs used, so the PDF opens on any machine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import translation

from credit.choices import EnterpriseStatus, ObjectionDecision
from credit.selectors import (
    EnterpriseRegistration,
    RecordAppeal,
    enterprise_registration,
    record_appeals,
    rulebook_for_version,
)
from credit.workdays import today_local

if TYPE_CHECKING:
    from credit.models import SnapshotEntry
    from credit.rulebook import Rulebook

REPORT_TEMPLATE = "credit/report_pdf.html"
REPORT_LANGUAGE = "zh-hans"
# Every credit rule counts days in the bureau's zone; the report prints its times there too.
REPORT_ZONE = ZoneInfo("Asia/Shanghai")
OPEN_DATA_PATH = "/credit/open-data/latest.json"
TENDER_PATH = "/api/tender/v1/enterprises/{uscc}"
ENTERPRISE_PATH = "/credit/e/{uscc}/"
REDLIST_GRADE = "AAA"  # the red list: grade AAA and not blacklisted (selectors.snapshot_redlist)
# Characters no file name may hold on the usual systems (Windows is the strictest).
FILENAME_FORBIDDEN = frozenset('\\/:*?"<>|')

# The published values of a record's kind and severity (credit.models.RecordKind, Severity).
KIND_BAD = "bad"
SEVERITY_NAMES = {"minor": "轻微", "ordinary": "一般", "serious": "严重"}
# A repair application's RepairStatus value → what the report says of it.
REPAIR_TEXT = {
    "pending": "{applied} 申请信用修复，正在审核",
    "approved": "{decided} 信用修复获批准，该记录自当日起不再计分（下一次发布后不再公示）",
    "rejected": "{applied} 申请信用修复，{decided} 未获批准",
}
OBJECTION_TEXT = {
    "": "{filed} 提出异议，正在审查",
    ObjectionDecision.UPHELD.value: "{filed} 提出异议，{decided} 认定异议成立，该记录已撤销",
    ObjectionDecision.REJECTED.value: "{filed} 提出异议，{decided} 认定异议不成立",
}
NO_APPEAL = "未提出异议，未申请信用修复"
MINUS = "\u2212"  # the minus sign, not a hyphen, as the public page prints deductions

# Pango and fontconfig are reached through cffi and are not documented as safe to share between
# threads; a web process renders one report at a time (about 0.1 s each, most of it holding the
# GIL anyway).
_render_lock = threading.Lock()


@dataclass(frozen=True)
class ReportRecord:
    title: str
    basis: str  # the clauses of the policy the rule rests on, e.g. "（二十一）"
    category: str
    points: str
    decided_at: str
    document_no: str
    period: str
    appeal: str


@dataclass(frozen=True)
class CreditReport:
    uscc: str
    name: str
    legal_representative: str
    address: str
    region: str
    status: str
    grade: str
    score: str
    rule_score: str
    model_adjustment: str
    rule_explained: str
    model_explained: str
    grades_explained: str
    blacklist: str
    redlist: str
    is_backbone: bool
    records: tuple[ReportRecord, ...]
    snapshot_id: int
    snapshot_published_at: str
    snapshot_as_of: str
    snapshot_sha256: str
    rulebook_title: str
    rulebook_version: str
    generated_at: str
    site: str
    open_data_url: str
    tender_path: str
    enterprise_url: str


def report_day() -> date:
    """The day the report is made for: the bureau's day, which every credit rule counts from
    (the public page filters the records by the same day)."""
    return today_local()


def report_etag(entry: SnapshotEntry, day: date) -> str:
    """Weak (every rendering prints its own generation time): the same snapshot, firm and day
    give the same content, and a record whose publication period ends drops out the next day.
    The id as well as the hash: a publication that changed nothing has the same hash, but the
    report names the snapshot the tender API answers from."""
    snapshot = entry.snapshot
    return f'W/"{snapshot.id}-{snapshot.sha256}-{entry.uscc}-{day:%Y%m%d}"'


def report_filename(entry: SnapshotEntry, day: date) -> str:
    name = "".join(c for c in entry.name if c not in FILENAME_FORBIDDEN and c.isprintable())
    return f"{name.strip() or entry.uscc}-信用报告-{day.isoformat()}.pdf"


def content_disposition(filename: str, fallback: str) -> str:
    """RFC 6266 with the RFC 5987 UTF-8 name, and an ASCII name for clients without it."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def credit_report(entry: SnapshotEntry, *, day: date, now: datetime, site: str) -> CreditReport:
    """The report's content for `entry` (an entry of the latest snapshot, with its snapshot)
    on `day`, made at `now`; `site` is the address the links start with (scheme and host, no
    trailing slash)."""
    snapshot = entry.snapshot
    rulebook = rulebook_for_version(snapshot.rulebook_version)
    registration = enterprise_registration(
        enterprise_id=entry.enterprise_id, region_code=entry.region_code
    )
    return CreditReport(
        uscc=entry.uscc,
        name=entry.name,
        **_registration_fields(registration),
        **_standing_fields(entry, rulebook),
        records=_records(entry, rulebook, day),
        snapshot_id=snapshot.id,
        snapshot_published_at=_local_time(snapshot.published_at, "%Y-%m-%d %H:%M"),
        snapshot_as_of=snapshot.as_of.isoformat(),
        snapshot_sha256=snapshot.sha256,
        rulebook_title=rulebook.title_zh,
        rulebook_version=rulebook.version,
        generated_at=_local_time(now, "%Y-%m-%d %H:%M:%S"),
        site=site,
        open_data_url=site + OPEN_DATA_PATH,
        tender_path=TENDER_PATH.format(uscc=entry.uscc),
        enterprise_url=site + ENTERPRISE_PATH.format(uscc=entry.uscc),
    )


def _registration_fields(registration: EnterpriseRegistration) -> dict:
    with translation.override(REPORT_LANGUAGE):
        status = str(EnterpriseStatus(registration.status).label)
    return {
        "legal_representative": registration.legal_representative or "（未登记）",
        "address": registration.address or "（未登记）",
        "region": "".join(registration.region_names) or "（未登记）",
        "status": status,
    }


def _standing_fields(entry: SnapshotEntry, rulebook: Rulebook) -> dict:
    return {
        "grade": entry.grade,
        "score": _number(entry.score),
        "rule_score": _number(entry.rule_score),
        "model_adjustment": _signed(Decimal(entry.model_adjustment)),
        "rule_explained": (
            f"以基础分 {_whole(rulebook.base_score)} 分为起点，减去公示中失信记录的扣分，"
            f"加上良好记录的加分（加分合计最多 {_whole(rulebook.bonus_cap)} 分）。"
        ),
        "model_explained": _model_sentence(entry, rulebook),
        "grades_explained": _grades_sentence(rulebook),
        "blacklist": (
            f"已列入（自 {entry.blacklist_since:%Y-%m-%d} 起）：{entry.blacklist_reason}"
            if entry.blacklisted
            else "未列入"
        ),
        "redlist": (
            "已列入（AAA 级且未列入黑名单）"
            if entry.grade == REDLIST_GRADE and not entry.blacklisted
            else "未列入（红名单为 AAA 级且未列入黑名单的企业）"
        ),
        "is_backbone": entry.is_backbone,
    }


def _model_sentence(entry: SnapshotEntry, rulebook: Rulebook) -> str:
    """The model part in one sentence, from the reasons the snapshot published with it."""
    codes = {reason["code"] for reason in entry.reasons}
    cap = _whole(rulebook.model.cap)
    if "model_adjustment" in codes:
        sentence = (
            f"根据巡查数据估计的风险，调整 {_signed(Decimal(entry.model_adjustment))} 分，"
            f"最多 ±{cap} 分。"
        )
        if "model_no_lift_with_serious_record" in codes:
            sentence += "有生效的严重失信记录时，风险估计不加分。"
        return sentence
    if "model_not_live" in codes:
        return (
            "根据巡查数据估计风险的模型尚未通过准确性检验，暂不计入，"
            f"调整 0 分（计入后最多 ±{cap} 分）。"
        )
    return f"尚无根据巡查数据估计的风险，调整 0 分（最多 ±{cap} 分）。"


def _grades_sentence(rulebook: Rulebook) -> str:
    parts = []
    lowest = None
    for band in rulebook.grade_bands:
        if band.min_score is None:
            parts.append(f"{band.grade} 级 {_whole(lowest)} 分以下" if lowest else band.grade)
        else:
            parts.append(f"{band.grade} 级 {_whole(band.min_score)} 分及以上")
            lowest = band.min_score
    return "，".join(parts) + f"；没有生效失信记录的企业不低于 {rulebook.clean_floor_grade} 级。"


def _records(entry: SnapshotEntry, rulebook: Rulebook, day: date) -> tuple[ReportRecord, ...]:
    """The records the snapshot published that are still in their publication period on `day`
    (as on the public page), latest decision first."""
    published = [r for r in entry.records if r["effective_until"] > day.isoformat()]
    published.sort(key=lambda r: (r["decided_at"], r["id"]), reverse=True)
    appeals = record_appeals(record_ids=[r["id"] for r in published])
    return tuple(_record(r, rulebook, appeals.get(r["id"])) for r in published)


def _record(record: dict, rulebook: Rulebook, appeal: RecordAppeal | None) -> ReportRecord:
    rule = rulebook.rule(record["rule_code"])
    bad = record["kind"] == KIND_BAD
    last_day = date.fromisoformat(record["effective_until"]) - timedelta(days=1)
    return ReportRecord(
        title=record["title_zh"],
        basis="、".join(f"（{clause}）" for clause in rule.clauses) if rule else "",
        category=f"{SEVERITY_NAMES.get(record['severity'], '')}失信" if bad else "良好",
        points=f"{MINUS if bad else '+'}{_number(record['points'])}",
        decided_at=record["decided_at"],
        document_no=record["document_no"],
        period=f"{record['effective_from']} 至 {last_day.isoformat()}",
        appeal=_appeal_text(appeal),
    )


def _appeal_text(appeal: RecordAppeal | None) -> str:
    if appeal is None:
        return NO_APPEAL
    parts = []
    if appeal.objection_decision is not None:
        parts.append(
            OBJECTION_TEXT[appeal.objection_decision].format(
                filed=_day(appeal.objection_filed_on), decided=_day(appeal.objection_decided_on)
            )
        )
    if appeal.repair_status is not None:
        parts.append(
            REPAIR_TEXT[appeal.repair_status].format(
                applied=_day(appeal.repair_applied_on), decided=_day(appeal.repair_decided_on)
            )
        )
    return "；".join(parts) or NO_APPEAL


def report_pdf(report: CreditReport) -> bytes:
    with translation.override(REPORT_LANGUAGE):
        html = render_to_string(REPORT_TEMPLATE, {"report": report})
    return html_to_pdf(html)


def html_to_pdf(html: str) -> bytes:
    """A self-contained HTML document (inline styles and SVG, nothing to fetch) as a PDF with
    its glyphs embedded; the bureau's monthly statistics report is rendered here too."""
    with _render_lock:
        renderer, font_config = _weasyprint()
        # No protocol allowed: the template fetches nothing, and nothing in it may reach out.
        document = renderer(string=html, url_fetcher=_no_fetching())
        return document.write_pdf(font_config=font_config)


@cache
def _weasyprint():
    """WeasyPrint's HTML class and one font configuration for every report (setting one up
    costs ~10 ms; it only holds the system's fonts, as the template declares no @font-face).
    Imported on first use: WeasyPrint takes ~0.5 s to import (Pango, fontconfig, fontTools),
    which no other page, task or command needs."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    return HTML, FontConfiguration()


def _no_fetching():
    from weasyprint import URLFetcher

    return URLFetcher(allowed_protocols=())


def _local_time(moment: datetime, pattern: str) -> str:
    return moment.astimezone(REPORT_ZONE).strftime(pattern)


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _number(value) -> str:
    return f"{Decimal(value):.2f}"


def _signed(value: Decimal) -> str:
    if value > 0:
        return f"+{value:.2f}"
    if value < 0:
        return f"{MINUS}{-value:.2f}"
    return "0"


def _whole(value: Decimal) -> str:
    """A rulebook number without needless decimals: 100, 5, 2.5."""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
