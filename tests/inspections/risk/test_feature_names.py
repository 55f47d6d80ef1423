"""Every feature of the risk model has a plain-Chinese name for the bureau pages."""

import re

from inspections.risk.feature_names import FEATURE_LABELS, feature_label
from ml.features import FEATURE_NAMES

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


def test_every_feature_of_ml_features_has_a_name():
    missing = [name for name in FEATURE_NAMES if name not in FEATURE_LABELS]

    assert missing == []


def test_the_names_are_plain_chinese_and_tell_the_features_apart():
    labels = [str(FEATURE_LABELS[name]) for name in (*FEATURE_NAMES, "probability")]

    assert all(CHINESE.search(label) and not ENGLISH_WORD.search(label) for label in labels)
    assert len(set(labels)) == len(labels)


def test_the_models_output_is_named_too_and_an_unknown_name_shows_as_it_is():
    assert feature_label("probability") == "模型估计的违规概率"
    assert feature_label("ent_inspections_365d") == "在管企业近一年被巡查次数"
    assert feature_label("something_new") == "something_new"
