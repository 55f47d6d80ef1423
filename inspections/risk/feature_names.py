"""The risk model's features in plain Chinese, for the bureau pages (model card, drift table).

One place for every name `ml.features.FEATURE_NAMES` makes, plus `probability` (the model's
output, whose drift the scoring run records beside the features'). tests/inspections/risk/
test_feature_names.py fails when a feature is added to `ml/features.py` without a name here.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

FEATURE_LABELS = {
    # The compound's own inspection history (confirmed findings only).
    "minor_90d": _("项目近90天确认的轻微违规次数"),
    "minor_180d": _("项目近180天确认的轻微违规次数"),
    "minor_365d": _("项目近一年确认的轻微违规次数"),
    "ordinary_90d": _("项目近90天确认的一般违规次数"),
    "ordinary_180d": _("项目近180天确认的一般违规次数"),
    "ordinary_365d": _("项目近一年确认的一般违规次数"),
    "serious_90d": _("项目近90天确认的严重违规次数"),
    "serious_180d": _("项目近180天确认的严重违规次数"),
    "serious_365d": _("项目近一年确认的严重违规次数"),
    "inspections_365d": _("项目近一年被巡查次数"),
    "violation_visits_365d": _("项目近一年发现违规的巡查次数"),
    "days_since_last_inspection": _("距项目上次巡查的天数"),
    "never_inspected": _("项目从未被巡查"),
    "days_since_last_violation": _("距项目上次确认违规的天数"),
    "complaints_180d": _("项目近180天的投诉数"),
    "complaints_365d": _("项目近一年的投诉数"),
    # What the compound is.
    "area_10k_m2": _("项目建筑面积（万平方米）"),
    "building_age_years": _("项目建成年数"),
    "old_compound": _("老旧小区（2000年前建成）"),
    "type_residential": _("项目类型：住宅小区"),
    "type_office": _("项目类型：办公楼"),
    "type_factory": _("项目类型：厂区"),
    "type_hospital": _("项目类型：医院"),
    "type_school": _("项目类型：学校"),
    "type_mall": _("项目类型：商场"),
    "type_hotel": _("项目类型：酒店"),
    "type_public": _("项目类型：公共建筑"),
    # The managing enterprise, over all its compounds.
    "ent_compounds": _("在管企业的在管项目数"),
    "ent_inspections_365d": _("在管企业近一年被巡查次数"),
    "ent_violation_rate_365d": _("在管企业近一年巡查发现违规的比例"),
    "ent_minor_per_visit_365d": _("在管企业近一年平均每次巡查的轻微违规数"),
    "ent_serious_365d": _("在管企业近一年确认的严重违规次数"),
    "ent_complaints_180d_per_compound": _("在管企业近180天平均每个项目的投诉数"),
    "ent_awards_1095d": _("在管企业近三年的良好记录（表彰）数"),
    # When.
    "cutoff_month": _("评估月份（季节）"),
    # Not a feature: the model's output, whose distribution drifts too.
    "probability": _("模型估计的违规概率"),
}


def feature_label(name: str) -> str:
    """The plain-Chinese name of a feature (the raw name only for one this file lacks)."""
    return str(FEATURE_LABELS.get(name, name))
