"""``python -m ml evaluate``: try the project's risk model on any labelled table.

Rows whose time is before the last time value train the model (``ml.model.fit``, calibration
folds grouped by time value); rows at the last time value are the test set. Every other
column is a feature unless it is the id column or listed in ``--drop``; the baseline column,
if given, stays a feature (drop it to compare against a model that does not see it). Text
columns with at most 50 distinct values are one-hot encoded. Prints the JSON report and, with
``--json OUT``, writes it there too. Exit code 2 for any problem with the arguments or data.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ml import metrics
from ml.jsonable import to_jsonable
from ml.model import DEFAULT_K, fit, predict_proba

MAX_CATEGORIES = 50  # more distinct text values than this is an identifier, not a category
EXIT_USAGE = 2

ERR_EXTENSION = "unknown table extension {suffix!r}: use .csv, .parquet or .feather"
ERR_PYARROW = "reading {suffix} files needs pyarrow: pip install pyarrow (or use a .csv file)"
ERR_NO_FILE = "table not found: {path}"
ERR_COLUMN = "column {name!r} not in the table; columns are: {columns}"
ERR_SINGLE_TIME = "the time column {name!r} has a single value: need at least two (train, test)"
ERR_NOT_BINARY = "the target column {name!r} must hold only 0 and 1 (found {values})"
ERR_TIME_VALUES = "the time column {name!r} is neither numeric nor dates: {error}"
ERR_TOO_MANY_CATEGORIES = (
    "column {name!r} is text with {n} distinct values (max {max}); --drop it or encode it"
)
ERR_NO_FEATURES = "no feature columns left after removing target, time, id and dropped columns"
ERR_K = "--k must be a fraction in (0, 1]"


class UsageError(Exception):
    """A problem with the arguments or the table, reported as one line and exit code 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        report = evaluate_table(
            table=Path(args.table),
            target=args.target,
            time_col=args.time_col,
            id_col=args.id_col,
            baseline_col=args.baseline_col,
            drop=[c for c in (args.drop or "").split(",") if c],
            k=args.k,
        )
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    text = json.dumps(to_jsonable(report), ensure_ascii=False, indent=2, allow_nan=False)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


def evaluate_table(
    *,
    table: Path,
    target: str,
    time_col: str,
    id_col: str | None = None,
    baseline_col: str | None = None,
    drop: list[str] | None = None,
    k: float = DEFAULT_K,
) -> dict:
    if not 0 < k <= 1:
        raise UsageError(ERR_K)
    frame = read_table(table)
    drop = drop or []
    for name in [target, time_col, id_col, baseline_col, *drop]:
        if name is not None and name not in frame.columns:
            raise UsageError(
                ERR_COLUMN.format(name=name, columns=", ".join(map(str, frame.columns)))
            )
    y = _binary_target(frame[target], target)
    time = _time_values(frame[time_col], time_col)
    last = time.max()
    if (time == last).all():
        raise UsageError(ERR_SINGLE_TIME.format(name=time_col))
    excluded = {target, time_col, *drop} | ({id_col} if id_col else set())
    features = _encode([c for c in frame.columns if c not in excluded], frame)
    test = (time == last).to_numpy()
    try:
        model = fit(features[~test], y[~test], time=time[~test].to_numpy())
    except ValueError as error:
        raise UsageError(str(error)) from error
    scores = predict_proba(model, features[test])
    report = {
        "n_train": int((~test).sum()),
        "n_test": int(test.sum()),
        "base_rate": float(y[test].mean()),
        "train_until": str(time[~test].max()),
        "test_time": str(last),
        "model_version": model.version,
        **metrics.ranking_report(y[test], scores, k),
    }
    if baseline_col:
        baseline = pd.to_numeric(frame.loc[test, baseline_col], errors="coerce")
        # Missing baseline values rank last, below every real value.
        baseline = baseline.fillna(baseline.min() - 1).fillna(0.0).to_numpy(dtype=float)
        report["baseline"] = {
            "column": baseline_col,
            **metrics.ranking_report(y[test], baseline, k),
        }
    return report


def read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".feather"):
        raise UsageError(ERR_EXTENSION.format(suffix=suffix))
    if not path.exists():
        raise UsageError(ERR_NO_FILE.format(path=path))
    if suffix == ".csv":
        return pd.read_csv(path)
    if importlib.util.find_spec("pyarrow") is None:
        raise UsageError(ERR_PYARROW.format(suffix=suffix))
    return pd.read_parquet(path) if suffix == ".parquet" else pd.read_feather(path)


def _binary_target(column: pd.Series, name: str) -> np.ndarray:
    values = pd.unique(column)
    numeric = pd.to_numeric(column, errors="coerce")
    if column.isna().any() or numeric.isna().any() or not numeric.isin((0, 1)).all():
        shown = ", ".join(map(str, values[:5]))
        raise UsageError(ERR_NOT_BINARY.format(name=name, values=shown))
    return numeric.to_numpy().astype(np.int64)


def _time_values(column: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column):
        return column
    try:
        return pd.to_datetime(column)
    except (ValueError, TypeError) as error:
        raise UsageError(ERR_TIME_VALUES.format(name=name, error=error)) from error


def _encode(columns: list[str], frame: pd.DataFrame) -> pd.DataFrame:
    if not columns:
        raise UsageError(ERR_NO_FEATURES)
    parts = []
    for name in columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            parts.append(column.astype(float).rename(name))
            continue
        n = column.nunique(dropna=True)
        if n > MAX_CATEGORIES:
            raise UsageError(ERR_TOO_MANY_CATEGORIES.format(name=name, n=n, max=MAX_CATEGORIES))
        parts.append(pd.get_dummies(column, prefix=name, dtype=float))
    return pd.concat(parts, axis=1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    evaluate = commands.add_parser("evaluate", help="train on earlier times, test on the last")
    evaluate.add_argument("--table", required=True, help="FILE.csv, .parquet or .feather")
    evaluate.add_argument("--target", required=True, help="0/1 outcome column")
    evaluate.add_argument("--time-col", required=True, help="numeric or date column")
    evaluate.add_argument("--id-col", help="row identifier, never a feature")
    evaluate.add_argument("--baseline-col", help="existing ranking to compare against")
    evaluate.add_argument("--drop", help="comma-separated columns to ignore")
    evaluate.add_argument("--k", type=float, default=DEFAULT_K, help="top fraction (0.1)")
    evaluate.add_argument("--json", help="also write the report to this file")
    return parser
