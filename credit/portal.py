"""What the public pages say, in plain words: a published snapshot entry and the rulebook it was
scored under, turned into sentences and rows a resident can read (CONTRACTS.md "Public pages").

No internal code reaches the page from here: records are named by their titles with the policy
clauses they rest on (credit.policy), the model part is one sentence, and the identifiers that
make a snapshot checkable (its id and hash, the rulebook and model versions) are left to the
data notes at the bottom of each page. Every text is a Chinese message id, translated on use.
Reads nothing: the caller passes what the selectors returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import get_language, gettext, pgettext

from credit.policy import clause_text

if TYPE_CHECKING:
    from credit.models import SnapshotEntry
    from credit.rulebook import Rulebook
    from credit.selectors import RecordAppeal

KIND_BAD = "bad"
MINUS = "\u2212"  # the minus sign, not a hyphen
ENGLISH = "en"


def plain_number(value: Decimal | int | str) -> str:
    """90.00 → "90", 87.50 → "87.5": a score as people write it."""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def signed(value: Decimal | int | str) -> str:
    """+1, −2 (the minus sign), 0."""
    number = Decimal(value)
    if number > 0:
        return f"+{plain_number(number)}"
    if number < 0:
        return f"{MINUS}{plain_number(-number)}"
    return "0"


def _english() -> bool:
    return get_language() == ENGLISH


# A rule code as the rulebook spells them (credit.rulebook.RULE_CODE_PATTERN), inside text.
RULE_CODE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9-])[A-Z0-9]+(?:-[A-Z0-9]+)*(?![A-Za-z0-9-])")


def plain_reason(text: str, rulebook: Rulebook) -> str:
    """Staff-written text (a blacklist reason) with every rule code it names replaced by the
    rule's title: "……记录：ABANDON。" → "……记录：「合同期内擅自弃管物业」。"."""
    english = _english()

    def title(match: re.Match) -> str:
        rule = rulebook.rule(match.group(0))
        if rule is None:
            return match.group(0)
        return f"“{rule.title_en}”" if english else f"「{rule.title_zh}」"

    return RULE_CODE_IN_TEXT.sub(title, text)


# --- the standing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A firm's published standing and why, in sentences."""

    rule_sentence: str
    model_sentence: str
    model_counts: bool  # the model part is part of the score (a live model's estimate)
    model_factors: tuple[str, ...]  # what the estimate rests on, in the model's own words
    grades_sentence: str
    floor_sentence: str  # "" unless the clean-record floor raised the grade
    base: str
    deductions: str  # signed, e.g. "−10"
    deduction_count: int
    bonuses: str
    bonus_count: int


def standing(entry: SnapshotEntry, rulebook: Rulebook) -> Standing:
    by_code: dict[str, list[dict]] = {}
    for reason in entry.reasons:
        by_code.setdefault(reason["code"], []).append(reason)
    deductions = _points_sum(by_code.get("bad_record", []))
    bonuses = _points_sum(by_code.get("good_record", []) + by_code.get("bonus_cap", []))
    model_sentence, counts = _model_sentence(entry, rulebook, by_code)
    return Standing(
        rule_sentence=gettext(
            "以基础分 %(base)s 分为起点，减去公示中失信记录的扣分，加上良好记录的加分"
            "（加分合计最多 %(cap)s 分）。"
        )
        % {"base": plain_number(rulebook.base_score), "cap": plain_number(rulebook.bonus_cap)},
        model_sentence=model_sentence,
        model_counts=counts,
        model_factors=tuple(_factor(r) for r in by_code.get("model_reason", [])) if counts else (),
        grades_sentence=grades_sentence(rulebook),
        floor_sentence=(
            gettext("没有生效的失信记录，等级不低于 %(grade)s 级。")
            % {"grade": rulebook.clean_floor_grade}
            if "grade_floor" in by_code
            else ""
        ),
        base=plain_number(rulebook.base_score),
        deductions=signed(deductions),
        deduction_count=len(by_code.get("bad_record", [])),
        bonuses=signed(bonuses),
        bonus_count=len(by_code.get("good_record", [])),
    )


# The scorer prefixes each of the model's reasons; the page lists them under the model's line.
FACTOR_PREFIXES = ("风险模型：", "Risk model factor: ")


def _factor(reason: dict) -> str:
    text = reason["text_en"] if _english() else reason["text_zh"]
    for prefix in FACTOR_PREFIXES:
        text = text.removeprefix(prefix)
    return text


def _points_sum(reasons: list[dict]) -> Decimal:
    return sum((Decimal(r["points"]) for r in reasons if r.get("points")), Decimal(0))


def _model_sentence(
    entry: SnapshotEntry, rulebook: Rulebook, by_code: dict[str, list[dict]]
) -> tuple[str, bool]:
    """The model part in one sentence, from the reasons the snapshot published with it, and
    whether that part counts."""
    cap = plain_number(rulebook.model.cap)
    if "model_adjustment" in by_code:
        sentence = gettext("根据巡查数据估计的风险，调整 %(points)s 分，最多 ±%(cap)s 分。") % {
            "points": signed(entry.model_adjustment),
            "cap": cap,
        }
        if "model_no_lift_with_serious_record" in by_code:
            sentence += gettext("有生效的严重失信记录时，风险估计只减分、不加分。")
        return sentence, True
    if "model_not_live" in by_code:
        return (
            gettext(
                "根据巡查数据估计风险的模型尚未通过准确性检验，不计入信用分（调整 0 分；"
                "计入后最多 ±%(cap)s 分）。"
            )
            % {"cap": cap},
            False,
        )
    return gettext("暂无根据巡查数据估计的风险，不作调整（调整 0 分）。"), False


def grades_sentence(rulebook: Rulebook) -> str:
    """ "AAA 级 110 分及以上，……，C 级 70 分以下。", from the rulebook's bands."""
    parts = []
    above = None
    for band in rulebook.grade_bands:
        if band.min_score is not None:
            parts.append(
                gettext("%(grade)s 级 %(score)s 分及以上")
                % {"grade": band.grade, "score": plain_number(band.min_score)}
            )
            above = band.min_score
        elif above is not None:
            parts.append(
                gettext("%(grade)s 级 %(score)s 分以下")
                % {"grade": band.grade, "score": plain_number(above)}
            )
    return pgettext("list separator", "，").join(parts) + pgettext("sentence end", "。")


def band_ranges(rulebook: Rulebook) -> dict[str, str]:
    """Each grade's score range in words: "110 分及以上", "103 分至 110 分（不含）", "70 分以下"."""
    ranges = {}
    above = None
    for band in rulebook.grade_bands:
        if band.min_score is None:
            text = gettext("%(score)s 分以下") % {"score": plain_number(above or 0)}
        elif above is None:
            text = gettext("%(score)s 分及以上") % {"score": plain_number(band.min_score)}
        else:
            text = gettext("%(low)s 分至 %(high)s 分（不含）") % {
                "low": plain_number(band.min_score),
                "high": plain_number(above),
            }
        ranges[band.grade] = text
        if band.min_score is not None:
            above = band.min_score
    return ranges


def band_label(grade: str, min_score: Decimal | None, below: Decimal | None) -> str:
    """A grade band's label on the chart: "AA 级（103 分及以上）", "C 级（70 分以下）"."""
    if min_score is not None:
        return gettext("%(grade)s 级（%(score)s 分及以上）") % {
            "grade": grade,
            "score": plain_number(min_score),
        }
    if below is not None:
        return gettext("%(grade)s 级（%(score)s 分以下）") % {
            "grade": grade,
            "score": plain_number(below),
        }
    return gettext("%(grade)s 级") % {"grade": grade}


# --- the records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicRecord:
    id: int
    title: str
    basis: tuple[str, ...]  # the policy clauses, e.g. "（二十一）建立物业服务收费动态调节机制"
    category: str
    bad: bool
    severity: str  # "" for a good record
    points: str  # signed
    decided_at: str
    document_no: str
    shown_from: str
    shown_until: str  # the last day it is published (inclusive)
    appeal: str = ""


def severity_name(severity: str | None, *, bad: bool) -> str:
    if not bad:
        return gettext("良好信用记录")
    return {
        "minor": gettext("轻微失信"),
        "ordinary": gettext("一般失信"),
        "serious": gettext("严重失信"),
    }.get(severity or "", gettext("失信"))


def published_records(entry: SnapshotEntry, rulebook: Rulebook, day: date) -> list[PublicRecord]:
    """The records the snapshot published that are still in their publication period on `day`,
    latest decision first."""
    english = _english()
    shown = [r for r in entry.records if r["effective_until"] > day.isoformat()]
    shown.sort(key=lambda r: (r["decided_at"], r["id"]), reverse=True)
    records = []
    for r in shown:
        rule = rulebook.rule(r["rule_code"])
        bad = r["kind"] == KIND_BAD
        last_day = date.fromisoformat(r["effective_until"]) - timedelta(days=1)
        records.append(
            PublicRecord(
                id=r["id"],
                title=r["title_en"] if english else r["title_zh"],
                basis=tuple(clause_text(c) for c in rule.clauses) if rule else (),
                category=severity_name(r.get("severity"), bad=bad),
                bad=bad,
                severity=(r.get("severity") or "") if bad else "",
                points=signed(-Decimal(r["points"]) if bad else Decimal(r["points"])),
                decided_at=r["decided_at"],
                document_no=r["document_no"],
                shown_from=r["effective_from"],
                shown_until=last_day.isoformat(),
            )
        )
    return records


def with_appeals(
    records: list[PublicRecord], appeals: dict[int, RecordAppeal]
) -> list[PublicRecord]:
    """The records with where each one's objection and repair stand today."""
    return [replace(r, appeal=appeal_text(appeals.get(r.id))) for r in records]


def appeal_text(appeal: RecordAppeal | None) -> str:
    if appeal is None:
        return gettext("未提出异议，未申请信用修复")
    parts = []
    if appeal.objection_decision is not None:
        parts.append(_objection_text(appeal))
    if appeal.repair_status is not None:
        parts.append(_repair_text(appeal))
    return pgettext("list separator", "；").join(parts) or gettext("未提出异议，未申请信用修复")


def _objection_text(appeal: RecordAppeal) -> str:
    dates = {"filed": _day(appeal.objection_filed_on), "decided": _day(appeal.objection_decided_on)}
    if appeal.objection_decision == "upheld":
        return gettext("%(filed)s 提出异议，%(decided)s 认定异议成立，该记录已撤销") % dates
    if appeal.objection_decision == "rejected":
        return gettext("%(filed)s 提出异议，%(decided)s 认定异议不成立") % dates
    return gettext("%(filed)s 提出异议，正在审查") % dates


def _repair_text(appeal: RecordAppeal) -> str:
    dates = {"applied": _day(appeal.repair_applied_on), "decided": _day(appeal.repair_decided_on)}
    if appeal.repair_status == "approved":
        return gettext("%(decided)s 信用修复获批准，该记录不再计分") % dates
    if appeal.repair_status == "rejected":
        return gettext("%(applied)s 申请信用修复，%(decided)s 未获批准") % dates
    return gettext("%(applied)s 申请信用修复，正在审核") % dates


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""
