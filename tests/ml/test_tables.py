"""Analysts' tables as they come (ml.tables): categories of any cardinality, dates, and
identifiers refused; every encoding fitted on the training rows only."""

import numpy as np
import pandas as pd
import pytest

from ml.tables import MAX_LEVELS, RARE_MIN_ROWS, TableError, encode


def frame_with(column: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    train = np.arange(len(column)) < int(len(column) * 0.75)
    return pd.DataFrame({"c": column}), train


def test_a_thousand_level_text_column_becomes_pooled_category_codes():
    rng = np.random.default_rng(0)
    levels = np.array([f"街道{i:04d}" for i in range(1000)])
    column = pd.Series(levels[rng.integers(0, 1000, 40_000)])
    frame, train = frame_with(column)

    encoded = encode(frame, ["c"], train)

    codes = encoded.train["c"]
    assert encoded.categorical == ("c",)
    assert codes.max() == MAX_LEVELS  # the pooled "other" level
    assert codes.nunique() == MAX_LEVELS + 1
    assert "category" in encoded.notes["c"]


def test_levels_are_learned_from_training_rows_only():
    values = ["常见"] * 60 + ["罕见"] * 5 + ["常见"] * 20 + ["只在测试期"] * 20
    frame, train = frame_with(pd.Series(values))
    assert train.sum() == 78

    encoded = encode(frame, ["c"], train)

    test = encoded.test["c"]
    assert set(encoded.train["c"]) == {0.0, 1.0}  # 常见, and 罕见 pooled (< RARE_MIN_ROWS)
    assert RARE_MIN_ROWS > 5
    assert test.iloc[-1] != test.iloc[-1]  # a level never seen in training is missing (NaN)


def test_dates_become_a_day_number_and_a_month():
    column = pd.Series(pd.date_range("2023-01-01", periods=400, freq="D").strftime("%Y-%m-%d"))
    frame, train = frame_with(column)

    encoded = encode(frame, ["c"], train)

    assert list(encoded.train.columns) == ["c_day", "c_month"]
    assert encoded.train["c_month"].iloc[40] == 2.0
    assert encoded.train["c_day"].iloc[1] - encoded.train["c_day"].iloc[0] == 1.0


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(np.arange(500)),  # a row number
        pd.Series([f"BLD-{i:06d}" for i in range(500)]),  # a code per row
        pd.Series([f"楼{i % 2500}" for i in range(4000)]),  # as many values as rows, almost
    ],
)
def test_identifier_like_columns_are_refused_with_their_name(column):
    frame, train = frame_with(column)

    with pytest.raises(TableError, match="column 'c' looks like an identifier"):
        encode(frame, ["c"], train)


def test_distinct_measurements_are_features_not_identifiers():
    column = pd.Series(np.random.default_rng(1).normal(100, 20, 500))
    frame, train = frame_with(column)

    assert encode(frame, ["c"], train).notes["c"] == "number"
