import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml import cli, metrics, tables

ROWS_PER_PERIOD = 400


@pytest.fixture
def table(tmp_path) -> Path:
    """Three periods of 400 rows; the outcome follows x1, "noise" is noise, "region" is text."""
    rng = np.random.default_rng(5)
    n = 3 * ROWS_PER_PERIOD
    x1 = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "period": np.repeat(["2023-01-01", "2023-07-01", "2024-01-01"], ROWS_PER_PERIOD),
            "x1": x1,
            "noise": rng.normal(size=n),
            "region": rng.choice(["呼和浩特", "包头"], n),
            "past": rng.poisson(1.0, n),
            "y": (rng.random(n) < 1 / (1 + np.exp(1.5 - 1.5 * x1))).astype(int),
        }
    )
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_evaluate_trains_on_earlier_periods_and_tests_on_the_last(table, tmp_path, capsys):
    # given
    out = tmp_path / "report.json"
    argv = ["evaluate", "--table", str(table), "--target", "y", "--time-col", "period"]
    argv += ["--id-col", "id", "--baseline-col", "past", "--drop", "noise", "--json", str(out)]
    # when
    code, printed, _ = _run(argv, capsys)
    # then
    assert code == 0
    report = json.loads(out.read_text())
    assert json.loads(printed) == report
    frame = pd.read_csv(table)
    test = frame[frame["period"] == "2024-01-01"]
    assert report["n_train"] == 2 * ROWS_PER_PERIOD
    assert report["n_test"] == ROWS_PER_PERIOD
    assert report["base_rate"] == pytest.approx(test["y"].mean())
    assert report["k"] == 0.1
    assert [b["n"] for b in report["calibration"]] == [40] * 10
    assert set(report) >= {"roc_auc", "pr_auc", "brier", "precision_at_k", "recall_at_k"}
    assert report["lift_at_k"] == pytest.approx(report["precision_at_k"] / report["base_rate"])
    baseline = report["baseline"]
    assert baseline["column"] == "past"
    assert baseline["precision_at_k"] == pytest.approx(
        metrics.precision_at_k(test["y"], test["past"], 0.1)
    )
    assert baseline["brier"] is None  # counts are not probabilities
    # x1 drives the outcome, so the model must beat a Poisson count unrelated to it
    assert report["roc_auc"] > 0.7 > baseline["roc_auc"]


def test_runs_as_a_module(table):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml",
            "evaluate",
            "--table",
            str(table),
            "--target",
            "y",
            "--time-col",
            "period",
            "--id-col",
            "id",
            "--k",
            "0.2",
        ],
        # One OpenMP thread, as in conftest: busy-waiting threads crawl on a shared machine.
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["k"] == 0.2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--target": "missing"}, "column 'missing' not in the table"),
        ({"--time-col": "x1", "--drop": "nope"}, "column 'nope' not in the table"),
        ({"--target": "past"}, "target column 'past' must hold only 0 and 1"),
        ({"--k": "0"}, "--k must be a fraction"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(table, capsys, changes, message):
    options = {"--table": str(table), "--target": "y", "--time-col": "period", **changes}
    argv = ["evaluate", *[item for pair in options.items() for item in pair]]
    code, printed, err = _run(argv, capsys)
    assert code == 2
    assert printed == ""
    assert message in err


def test_single_time_value_exits_2(tmp_path, capsys):
    path = tmp_path / "one.csv"
    pd.DataFrame({"t": [1] * 20, "x": range(20), "y": [0, 1] * 10}).to_csv(path, index=False)
    code, _, err = _run(
        ["evaluate", "--table", str(path), "--target", "y", "--time-col", "t"], capsys
    )
    assert code == 2
    assert "has a single value" in err


def test_unknown_extension_exits_2(tmp_path, capsys):
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"")
    code, _, err = _run(
        ["evaluate", "--table", str(path), "--target", "y", "--time-col", "t"], capsys
    )
    assert code == 2
    assert "unknown table extension '.xlsx'" in err


@pytest.mark.parametrize("suffix", [".parquet", ".feather"])
def test_parquet_and_feather_without_pyarrow_say_what_to_install(
    tmp_path, capsys, monkeypatch, suffix
):
    path = tmp_path / f"table{suffix}"
    path.write_bytes(b"")
    monkeypatch.setattr(tables.importlib.util, "find_spec", lambda name: None)
    code, _, err = _run(
        ["evaluate", "--table", str(path), "--target", "y", "--time-col", "t"], capsys
    )
    assert code == 2
    assert f"reading {suffix} files needs pyarrow: pip install pyarrow" in err


@pytest.mark.parametrize("suffix", [".parquet", ".feather"])
def test_parquet_and_feather_tables_give_the_same_report_as_csv(table, tmp_path, capsys, suffix):
    frame = pd.read_csv(table)
    other = tmp_path / f"table{suffix}"
    getattr(frame, "to_parquet" if suffix == ".parquet" else "to_feather")(other)
    argv = ["--target", "y", "--time-col", "period", "--id-col", "id", "--drop", "noise"]

    code_csv, from_csv, _ = _run(["evaluate", "--table", str(table), *argv], capsys)
    code_other, from_other, _ = _run(["evaluate", "--table", str(other), *argv], capsys)

    assert code_csv == code_other == 0
    csv_report, other_report = json.loads(from_csv), json.loads(from_other)
    for key in ("n_train", "n_test", "base_rate", "roc_auc", "precision_at_k"):
        assert other_report[key] == pytest.approx(csv_report[key])
