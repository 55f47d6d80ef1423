"""Analysts' tables as they come, turned into model features: `python -m ml evaluate`'s input.

Every encoding is fitted on the training rows only and then applied to the test rows, so the
test period never shapes its own features:

- numbers and booleans are used as they are (missing values stay missing: both models handle
  them);
- dates (a datetime column, or text of which nearly every value reads as a date) become the day
  number and the month (seasons matter for inspections);
- text is a category of any cardinality: its levels seen at least `RARE_MIN_ROWS` times in
  training are kept (the `MAX_LEVELS` most frequent), the rest are pooled into one "other"
  level, unseen and missing values stay missing; the codes go to gradient boosting as native
  categories and to the logistic model through target encoding (cross-fitted by scikit-learn);
- a column that identifies rows instead of describing them (a value per row, or text with as
  many distinct values as half the rows) is refused with a message naming it: it cannot
  generalise to the next period, and a model that memorises it looks good only on paper.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

RARE_MIN_ROWS = 20
# HistGradientBoosting takes at most 255 bins per feature, one of them for missing values.
MAX_LEVELS = 250
# Text columns with at least this share of distinct values among their rows are identifiers.
IDENTIFIER_SHARE = 0.5
IDENTIFIER_MIN_DISTINCT = 1000
# Share of a text column's values that must parse as dates for it to be a date column.
DATE_SHARE = 0.95

ERR_EXTENSION = "unknown table extension {suffix!r}: use .csv, .parquet or .feather"
ERR_PYARROW = "reading {suffix} files needs pyarrow: pip install pyarrow (or use a .csv file)"
ERR_NO_FILE = "table not found: {path}"
ERR_IDENTIFIER = (
    "column {name!r} looks like an identifier ({n} distinct values in {rows} rows): it cannot "
    "describe the next period; pass it as --id-col or --drop it"
)
ERR_NO_FEATURES = "no feature columns left after removing target, time, id and dropped columns"


class TableError(ValueError):
    """The table cannot become features; the message names the column and why."""


@dataclass(frozen=True)
class Encoded:
    train: pd.DataFrame
    test: pd.DataFrame
    categorical: tuple[str, ...]  # columns holding category codes
    notes: dict[str, str]  # what was done to each source column, for the report


def read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".feather"):
        raise TableError(ERR_EXTENSION.format(suffix=suffix))
    if not path.exists():
        raise TableError(ERR_NO_FILE.format(path=path))
    if suffix == ".csv":
        return pd.read_csv(path, low_memory=False)
    if importlib.util.find_spec("pyarrow") is None:
        raise TableError(ERR_PYARROW.format(suffix=suffix))
    return pd.read_parquet(path) if suffix == ".parquet" else pd.read_feather(path)


def encode(frame: pd.DataFrame, columns: list[str], train: np.ndarray) -> Encoded:
    """Features of `columns` for the rows where `train` is True and for the others."""
    if not columns:
        raise TableError(ERR_NO_FEATURES)
    parts_train, parts_test, categorical, notes = [], [], [], {}
    for name in columns:
        column = frame[name]
        kind, encoded = _encode_column(name, column, train)
        notes[name] = kind
        for out_name, values in encoded.items():
            parts_train.append(values[train].rename(out_name).reset_index(drop=True))
            parts_test.append(values[~train].rename(out_name).reset_index(drop=True))
            if kind.startswith("category"):
                categorical.append(out_name)
    return Encoded(
        train=pd.concat(parts_train, axis=1),
        test=pd.concat(parts_test, axis=1),
        categorical=tuple(categorical),
        notes=notes,
    )


def _encode_column(name: str, column: pd.Series, train: np.ndarray):
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        _refuse_row_identifier(name, column)
        return "number", {name: column.astype(float)}
    dates = _as_dates(column)
    if dates is not None:
        days = (dates - pd.Timestamp("1970-01-01")).dt.days.astype(float)
        return "date (day number and month)", {
            f"{name}_day": days,
            f"{name}_month": dates.dt.month.astype(float),
        }
    text = column.astype("string")
    _refuse_text_identifier(name, text)
    codes, levels = _category_codes(text, train)
    return f"category ({levels} levels kept, rare ones pooled)", {name: codes}


def _as_dates(column: pd.Series) -> pd.Series | None:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.tz_localize(None) if column.dt.tz is not None else column
    present = column.dropna()
    if present.empty or not pd.api.types.is_object_dtype(column):
        return None
    sample = present.sample(min(len(present), 2000), random_state=0).astype(str)
    if pd.to_datetime(sample, errors="coerce", format="mixed").notna().mean() < DATE_SHARE:
        return None
    return pd.to_datetime(column.astype("string"), errors="coerce", format="mixed")


def _refuse_row_identifier(name: str, column: pd.Series) -> None:
    """A whole-number column with a different value on every row (a row number, a serial)."""
    present = column.dropna()
    if len(present) < 100 or present.nunique() < len(present):
        return
    if not np.allclose(present.to_numpy(dtype=float) % 1, 0):
        return  # distinct measurements (areas, amounts) are features, not identifiers
    raise TableError(ERR_IDENTIFIER.format(name=name, n=present.nunique(), rows=len(column)))


def _refuse_text_identifier(name: str, text: pd.Series) -> None:
    present = text.dropna()
    distinct = present.nunique()
    if distinct >= IDENTIFIER_MIN_DISTINCT and distinct >= IDENTIFIER_SHARE * len(present):
        raise TableError(ERR_IDENTIFIER.format(name=name, n=distinct, rows=len(text)))
    if len(present) >= 100 and distinct == len(present):
        raise TableError(ERR_IDENTIFIER.format(name=name, n=distinct, rows=len(text)))


def _category_codes(text: pd.Series, train: np.ndarray) -> tuple[pd.Series, int]:
    """Codes 0..L-1 for the kept levels (most frequent first), L for the pooled "other" level,
    NaN for missing values and for levels never seen in training."""
    counts = text[train].value_counts()
    # Most frequent first, ties by the level itself: the same codes whatever the file format.
    ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    kept = [level for level, n in ranked if n >= RARE_MIN_ROWS][:MAX_LEVELS]
    seen = set(counts.index)
    code_of = {level: float(i) for i, level in enumerate(kept)}
    other = float(len(kept))

    def code(value) -> float:
        if value is pd.NA or value not in seen:
            return np.nan
        return code_of.get(value, other)

    return text.map(code).astype(float), len(kept)
