"""``python -m ml evaluate``: try the project's risk model on any labelled table.

Rows whose time is before the last time value train the model (``ml.model.fit``: the bounded
time-ordered search, calibration on the most recent training period); rows at the last time
value are the test set. Every other column is a feature unless it is the id column or listed in
``--drop``: numbers, dates and text of any cardinality are encoded on the training rows only
(``ml.tables``), and a column that identifies rows is refused with a message naming it. The
baseline column, if given, stays a feature (drop it to compare against a model that does not
see it). Prints the JSON report (metrics with bootstrap intervals, the features the model leans
on, the gate's verdict against the baseline) and, with ``--json OUT``, writes it there with the
lift and reliability charts beside it (``OUT.lift.svg``, ``OUT.reliability.svg``). Progress goes
to stderr. Exit code 2 for any problem with the arguments or data.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ml import metrics, tables
from ml import report as report_lib
from ml.gate import promotion_gate
from ml.jsonable import to_jsonable
from ml.model import DEFAULT_K, fit, predict_proba

EXIT_USAGE = 2

ERR_COLUMN = "column {name!r} not in the table; columns are: {columns}"
ERR_SINGLE_TIME = "the time column {name!r} has a single value: need at least two (train, test)"
ERR_NOT_BINARY = "the target column {name!r} must hold only 0 and 1 (found {values})"
ERR_TIME_VALUES = "the time column {name!r} is neither numeric nor dates: {error}"
ERR_K = "--k must be a fraction in (0, 1]"


class UsageError(Exception):
    """A problem with the arguments or the table, reported as one line and exit code 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        report = evaluate_table(
            progress=_stderr,
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
    charts = report.pop("_charts")
    text = json.dumps(to_jsonable(report), ensure_ascii=False, indent=2, allow_nan=False)
    print(text)
    for line in summary_lines(report):
        _stderr(line)
    if args.json:
        out = Path(args.json)
        out.write_text(text + "\n", encoding="utf-8")
        for name, svg in charts.items():
            out.with_suffix(f".{name}.svg").write_text(svg, encoding="utf-8")
    return 0


def summary_lines(report: dict) -> list[str]:
    """The short report a person reads (stderr; stdout stays the JSON the contract fixes)."""
    low, high = report["intervals"]["precision_at_k"]
    k = report["k"]
    lines = [
        f"{report['n_train']} training rows until {report['train_until']}, "
        f"{report['n_test']} test rows at {report['test_time']} "
        f"(base rate {report['base_rate']:.3f})",
        f"model: precision@{k:.0%} {report['precision_at_k']:.3f} [{low:.3f}–{high:.3f}], "
        f"ROC-AUC {report['roc_auc']:.3f}, ECE {report['ece']:.3f}",
    ]
    if "baseline" in report:
        (versus,) = report["model_vs_baseline"]["comparisons"]
        ratio_low, ratio_high = versus["interval"]
        lines.append(
            f"baseline {report['baseline']['column']}: precision@{k:.0%} "
            f"{report['baseline']['precision_at_k']:.3f}; model ÷ baseline {versus['ratio']:.2f} "
            f"[{ratio_low:.2f}–{ratio_high:.2f}] "
            + ("(beats it)" if versus["beaten"] else "(not beyond chance)")
        )
    top = ", ".join(f["feature"] for f in report.get("top_features", [])[:5])
    if top:
        lines.append(f"leans on: {top}")
    return lines


def _quiet(message: str) -> None:
    """No progress (library use)."""


def _stderr(message: str) -> None:
    print(f"[ml evaluate] {message}", file=sys.stderr, flush=True)


def evaluate_table(
    *,
    table: Path,
    target: str,
    time_col: str,
    id_col: str | None = None,
    baseline_col: str | None = None,
    drop: list[str] | None = None,
    k: float = DEFAULT_K,
    progress=None,
) -> dict:
    progress = progress or _quiet
    if not 0 < k <= 1:
        raise UsageError(ERR_K)
    progress(f"reading {table} …")
    frame = _read(table)
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
    test = (time == last).to_numpy()
    excluded = {target, time_col, *drop} | ({id_col} if id_col else set())
    progress("encoding features on the training rows …")
    try:
        encoded = tables.encode(frame, [c for c in frame.columns if c not in excluded], ~test)
    except tables.TableError as error:
        raise UsageError(str(error)) from error
    progress(f"training on {int((~test).sum())} rows (time-ordered search, calibration) …")
    try:
        model = fit(
            encoded.train,
            y[~test],
            time=time[~test].to_numpy(),
            categorical=encoded.categorical,
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    progress(f"testing on {int(test.sum())} rows …")
    scores = predict_proba(model, encoded.test)
    report = {
        "n_train": int((~test).sum()),
        "n_test": int(test.sum()),
        "base_rate": float(y[test].mean()),
        "train_until": str(time[~test].max()),
        "test_time": str(last),
        "model_version": model.version,
        "candidate": model.metadata.get("candidate"),
        "calibration_method": model.metadata.get("calibration"),
        "columns": encoded.notes,
        **metrics.ranking_report(y[test], scores, k),
        "intervals": report_lib.intervals(y[test], scores, k),
    }
    rankings = {"模型 model": scores}
    if baseline_col:
        baseline = _baseline(frame.loc[test, baseline_col])
        rankings[f"基线 {baseline_col}"] = baseline
        report["baseline"] = {
            "column": baseline_col,
            **metrics.ranking_report(y[test], baseline, k),
            "intervals": report_lib.intervals(y[test], baseline, k),
        }
        report["model_vs_baseline"] = promotion_gate(
            y[test], scores, {baseline_col: baseline}, k=k
        ).as_dict()
    progress("ranking the features by permutation importance …")
    report["top_features"] = report_lib.top_features(
        model.estimator, encoded.test.loc[:, list(model.feature_names)], y[test]
    )
    report["_charts"] = {
        "lift": report_lib.lift_svg(y[test], rankings, k=k),
        "reliability": report_lib.reliability_svg(report["calibration"]),
    }
    return report


def _read(table: Path) -> pd.DataFrame:
    try:
        return tables.read_table(table)
    except tables.TableError as error:
        raise UsageError(str(error)) from error


def _baseline(column: pd.Series) -> np.ndarray:
    baseline = pd.to_numeric(column, errors="coerce")
    # Missing baseline values rank last, below every real value.
    return baseline.fillna(baseline.min() - 1).fillna(0.0).to_numpy(dtype=float)


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
