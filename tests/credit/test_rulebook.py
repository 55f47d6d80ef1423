import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.rulebook import (
    DEFAULT_RULEBOOK_PATH,
    KIND_BAD,
    KIND_GOOD,
    RulebookError,
    default_rulebook_data,
    load_default_rulebook,
    parse_rulebook,
    rulebook_sha256,
)

# PRODUCT.md "Default violation catalogue": code -> (severity, points, months, blacklist, clause)
PRODUCT_VIOLATIONS = {
    "FEE-UNLISTED": ("ordinary", 10, 12, False, "二十一"),
    "FEE-NOT-DISCLOSED": ("minor", 3, 3, False, "二十一"),
    "ABANDON": ("serious", 40, 36, True, "二十二"),
    "UNREGISTERED": ("serious", 40, 24, True, "二十二"),
    "ELEVATOR-CONTRACT": ("ordinary", 10, 12, False, "七"),
    "ELEVATOR-OPS": ("ordinary", 6, 6, False, "七"),
    "SAFETY-ACCIDENT": ("serious", 40, 36, True, "二"),
    "EMERGENCY-RESPONSE": ("ordinary", 8, 12, False, "二"),
    "CONSTRUCTION-UNREPORTED": ("minor", 3, 3, False, "十一"),
    "RENOVATION-UNREPORTED": ("minor", 3, 3, False, "十一"),
    "GREEN-DAMAGE": ("minor", 2, 3, False, "二"),
    "PARKING-DISORDER": ("minor", 2, 3, False, "二"),
    "PARKING-LEASE": ("ordinary", 6, 6, False, "二十八"),
    "HANDOVER-RECORDS": ("ordinary", 5, 6, False, "六"),
    "E-ARCHIVE-MISSING": ("minor", 3, 3, False, "七"),
    "SANITATION": ("minor", 2, 3, False, "一"),
    "SNOW-ICE": ("minor", 2, 3, False, "四"),
    "SECONDARY-WATER": ("ordinary", 6, 6, False, "四"),
    "COMPLAINT-VERIFIED": ("minor", 1, 3, False, "二十二"),
    "ADMIN-PENALTY": ("ordinary", 10, 12, False, "二十二"),
    "TENDER-FRAUD": ("serious", 40, 36, True, "五"),
    "MAINT-FUND-MISUSE": ("serious", 40, 36, True, "十四"),
}
# PRODUCT.md "Default good-behaviour catalogue": code -> (points, months, clauses)
PRODUCT_GOOD_BEHAVIOURS = {
    "DEMO-NATIONAL": (10, 36, ("二", "二十七")),
    "DEMO-REGION": (6, 36, ("二", "二十七")),
    "EXCELLENT-REGION": (4, 24, ("二",)),
    "TRADEMARK-NATIONAL": (5, 36, ("十七",)),
    "TRADEMARK-REGION": (3, 36, ("十七",)),
    "STANDARDIZATION-PILOT": (3, 36, ("十七",)),
    "OLD-COMPOUND-TAKEOVER": (3, 12, ("二十七",)),
    "EMPLOY-DISADVANTAGED": (1, 12, ("二十七",)),
    "ENERGY-SAVING": (2, 12, ("二十五",)),
}


def problems_of(data):
    with pytest.raises(RulebookError) as caught:
        parse_rulebook(data)
    return caught.value.problems


def test_default_violations_match_the_product_catalogue():
    rulebook = load_default_rulebook()

    actual = {
        rule.code: (rule.severity, rule.points, rule.months, rule.blacklist, *rule.clauses)
        for rule in rulebook.violations
    }

    assert actual == PRODUCT_VIOLATIONS
    assert {rule.kind for rule in rulebook.violations} == {KIND_BAD}


def test_default_good_behaviours_match_the_product_catalogue():
    rulebook = load_default_rulebook()

    actual = {
        rule.code: (rule.points, rule.months, rule.clauses) for rule in rulebook.good_behaviours
    }

    assert actual == PRODUCT_GOOD_BEHAVIOURS
    assert {rule.kind for rule in rulebook.good_behaviours} == {KIND_GOOD}


def test_only_trademark_and_standardisation_rules_carry_a_tender_benefit():
    rulebook = load_default_rulebook()

    benefit = {rule.code for rule in rulebook.rules if rule.tender_benefit}

    assert benefit == {"TRADEMARK-NATIONAL", "TRADEMARK-REGION", "STANDARDIZATION-PILOT"}


def test_serious_violations_need_two_photos_and_the_others_one():
    rulebook = load_default_rulebook()

    photos = {rule.code: rule.min_photos for rule in rulebook.violations}

    expected = {code: 2 if row[0] == "serious" else 1 for code, row in PRODUCT_VIOLATIONS.items()}
    assert photos == expected


def test_every_rule_has_chinese_and_english_titles():
    rulebook = load_default_rulebook()

    untitled = [rule.code for rule in rulebook.rules if not (rule.title_zh and rule.title_en)]

    assert untitled == []
    assert rulebook.rule("ABANDON").title_zh == "合同期内擅自弃管物业"


def test_default_model_and_grade_settings_follow_the_product_defaults():
    rulebook = load_default_rulebook()

    bands = [(band.grade, band.min_score) for band in rulebook.grade_bands]

    assert rulebook.version == "2015-default-1"
    assert (rulebook.base_score, rulebook.bonus_cap) == (100, 20)
    assert bands == [("AAA", 110), ("AA", 103), ("A", 90), ("B", 70), ("C", None)]
    assert rulebook.grade_names == ("AAA", "AA", "A", "B", "C")
    assert rulebook.clean_floor_grade == "B"
    assert rulebook.objection_window_working_days == 5
    assert dict(rulebook.repair_min_months) == {"minor": 1, "ordinary": 3, "serious": 12}
    assert (rulebook.model.weight, rulebook.model.cap) == (20, 5)


def test_default_tender_settings_follow_clause_seventeen():
    tender = load_default_rulebook().tender

    assert dict(tender.grade_points) == {"AAA": 3, "AA": 2, "A": 1, "B": 0, "C": -3}
    assert tender.backbone_min_project_area_m2 == 100_000
    assert tender.backbone_project_types is None
    assert (tender.backbone_points, tender.backbone_deposit_reduction) == (2, Decimal("0.5"))
    assert (tender.benefit_points, tender.benefit_deposit_reduction) == (1, Decimal("0.2"))
    assert tender.max_deposit_reduction == Decimal("0.5")


def test_parsed_rulebook_carries_the_hash_of_its_document():
    data = default_rulebook_data()

    assert load_default_rulebook().sha256 == rulebook_sha256(data)


def test_hash_ignores_key_order_and_whitespace_but_not_values():
    data = default_rulebook_data()
    reordered = json.loads(json.dumps(data, indent=4, sort_keys=False))
    reordered = dict(reversed(list(reordered.items())))
    changed = default_rulebook_data()
    changed["violations"][0]["points"] = 11

    assert rulebook_sha256(reordered) == rulebook_sha256(data)
    assert rulebook_sha256(changed) != rulebook_sha256(data)


def test_hash_of_the_file_document_is_the_hash_of_its_parsed_json():
    on_disk = json.loads(DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8"))

    assert rulebook_sha256(on_disk) == load_default_rulebook().sha256


def test_default_rulebook_data_is_a_private_copy():
    first = default_rulebook_data()
    first["base_score"] = 1

    assert default_rulebook_data()["base_score"] == 100


def test_every_problem_is_reported_at_once():
    data = default_rulebook_data()
    data["violations"][0]["points"] = -1.234
    data["grade_bands"][1]["min_score"] = 120
    del data["tender"]["benefit_points"]
    data["surprise"] = 1
    data["good_behaviours"][0]["code"] = "ABANDON"

    problems = problems_of(data)

    assert problems == (
        "surprise: unknown key",
        "grade_bands[1].min_score: must be strictly below the band above",
        "violations[0].points: at most 2 decimal places",
        "violations[0].points: must be > 0",
        "good_behaviours[0].code: duplicate rule code 'ABANDON'",
        "tender.benefit_points: missing",
    )


def test_error_message_lists_every_problem():
    data = default_rulebook_data()
    data["version"] = ""
    data["bonus_cap"] = "20"

    with pytest.raises(RulebookError) as caught:
        parse_rulebook(data)

    assert str(caught.value) == (
        "invalid rulebook (2 problem(s)):\n"
        "- version: must be a non-empty string\n"
        "- bonus_cap: must be a number"
    )


def test_only_serious_violations_may_lead_to_the_blacklist():
    data = default_rulebook_data()
    data["violations"][0]["blacklist"] = True

    assert problems_of(data) == (
        "violations[0].blacklist: only serious violations may lead to the blacklist",
    )


def test_bottom_grade_band_must_be_open_and_only_it():
    data = default_rulebook_data()
    data["grade_bands"][4]["min_score"] = 0
    data["grade_bands"][2]["min_score"] = None

    assert problems_of(data) == (
        "grade_bands[2].min_score: only the last band may have min_score null",
        "grade_bands[4].min_score: the last band must have min_score null (it catches every score)",
    )


def test_tender_grade_points_must_cover_exactly_the_grades():
    data = default_rulebook_data()
    del data["tender"]["grade_points"]["C"]

    assert problems_of(data) == (
        "tender.grade_points: needs exactly one entry per grade of grade_bands (AAA, AA, A, B, C)",
    )


def test_unknown_severity_and_grade_references_are_reported():
    data = default_rulebook_data()
    data["violations"][2]["severity"] = "grave"
    data["clean_floor_grade"] = "D"
    data["backbone_candidate"]["min_grade"] = "A+"

    assert problems_of(data) == (
        "violations[2].severity: must be one of minor, ordinary, serious (got 'grave')",
        "clean_floor_grade: 'D' is not a grade of grade_bands",
        "backbone_candidate.min_grade: 'A+' is not a grade of grade_bands",
    )


def test_rule_codes_are_upper_case_words_joined_by_dashes():
    data = default_rulebook_data()
    data["violations"][0]["code"] = "fee unlisted"

    assert problems_of(data) == (
        "violations[0].code: rule codes are upper-case words joined by '-' (got 'fee unlisted')",
    )


def test_ratios_must_lie_between_zero_and_one():
    data = default_rulebook_data()
    data["tender"]["max_deposit_reduction"] = 1.5

    assert problems_of(data) == ("tender.max_deposit_reduction: must be between 0 and 1",)


def test_severity_tables_need_every_severity():
    data = default_rulebook_data()
    del data["repair_min_months"]["minor"]
    data["min_photos"]["serious"] = 0

    assert problems_of(data) == (
        "min_photos.serious: must be a whole number >= 1",
        "repair_min_months: needs exactly the keys minor, ordinary, serious",
    )


def test_a_document_that_is_not_an_object_is_refused():
    assert problems_of([]) == ("rulebook: must be a JSON object",)


def test_an_empty_document_lists_each_missing_section():
    problems = problems_of({})

    assert "violations: missing" in problems
    assert "model: missing" in problems
    assert len(problems) == 15


@given(points=st.integers(min_value=1, max_value=100_000).map(lambda c: c / 100))
def test_any_positive_points_with_two_decimals_parse_exactly(points):
    data = default_rulebook_data()
    data["violations"][0]["points"] = points

    rule = parse_rulebook(data).rule(data["violations"][0]["code"])

    assert rule.points == Decimal(str(points))
    assert rule.points * 100 == int(rule.points * 100)
