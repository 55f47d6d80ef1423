"""Benchmark of the risk model at province scale: `python bench/bench_ml.py [--quick]`.

Two phases, each in its own process so that its peak memory (ru_maxrss) is its own:

- train: simulate >= 1,000,000 inspections, build features for the training cutoffs and the
  hold-out, fit, evaluate on the later hold-out (quality metrics below), save the artifact.
- score: simulate a world of 250,000 enterprises and 1,000,000 compounds, load the artifact,
  build features for every compound, predict, aggregate to enterprises, explain the top 1 %.

Targets: training <= 120 s, scoring <= 30 s. Results go to bench/results/ml.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "ml.json"
TRAIN_TARGET_SECONDS = 120
SCORE_TARGET_SECONDS = 30

# 40,000 enterprises and 160,000 compounds visited ~2 times a year for 4 years give about
# 1.6 million inspection rows (routine, follow-ups and complaint visits).
TRAIN_WORLD = {"n_enterprises": 40_000, "n_compounds": 160_000, "days": 4 * 365}
SCORE_WORLD = {"n_enterprises": 250_000, "n_compounds": 1_000_000, "days": 365}
QUICK_SCALE = 20  # --quick: everything 20 times smaller, to check the script itself
START = date(2021, 1, 1)
EXPLAIN_SHARE = 0.01  # planners read reasons for the top of the list only


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scaled(world: dict, quick: bool) -> dict:
    if not quick:
        return world
    return {
        "n_enterprises": world["n_enterprises"] // QUICK_SCALE,
        "n_compounds": world["n_compounds"] // QUICK_SCALE,
        "days": world["days"],
    }


def phase_train(model_path: Path, quick: bool) -> dict:
    from ml import persistence
    from ml.features import build_dataset
    from ml.metrics import precision_at_k, roc_auc
    from ml.model import plan_cutoffs, predict_proba, train
    from ml.simulator import oracle_risk, simulate

    world_size = _scaled(TRAIN_WORLD, quick)
    started = time.perf_counter()
    world = simulate(start=START, seed=42, **world_size)
    simulate_seconds = time.perf_counter() - started
    rss_after_simulation = _rss_mb()

    last_day = START + timedelta(days=world_size["days"] - 1)
    train_cutoffs, holdout_cutoff = plan_cutoffs(last_day)
    started, cpu_started = time.perf_counter(), time.process_time()
    # Managers as of each cutoff, as the production glue trains (no leakage through handovers).
    model = train(
        world.event_tables(),
        train_cutoffs=train_cutoffs,
        holdout_cutoff=holdout_cutoff,
        compounds_at=world.compounds_at,
    )
    train_seconds = time.perf_counter() - started
    train_cpu_seconds = time.process_time() - cpu_started
    artifact = persistence.dumps(model)
    model_path.write_bytes(artifact)

    holdout = build_dataset(world.event_tables(), [holdout_cutoff], compounds_at=world.compounds_at)
    oracle = oracle_risk(world, holdout_cutoff).reindex(holdout.compound_ids).to_numpy()
    report = model.metadata["holdout"]
    scores = predict_proba(model, holdout.features)
    return {
        "world": world_size,
        "inspection_rows": len(world.inspections),
        "simulate_seconds": round(simulate_seconds, 2),
        "train_seconds": round(train_seconds, 2),
        "train_cpu_seconds": round(train_cpu_seconds, 2),
        "labelled_rows": model.metadata["n_available"],
        "training_rows": model.metadata["n_train"],
        "train_cutoffs": model.metadata["train_cutoffs"],
        "holdout_cutoff": model.metadata["holdout_cutoff"],
        "rss_after_simulation_mb": round(rss_after_simulation, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "artifact_bytes": len(artifact),
        "model_version": model.version,
        # What the bounded time-ordered search chose, and how it was calibrated (issue 14).
        "candidate": model.metadata["candidate"],
        "search": model.metadata["search"],
        "calibration": model.metadata["calibration"],
        "holdout": {
            "gate": report["gate"],
            "model_over_oracle_precision": report["model"]["precision_at_k"]
            / precision_at_k(holdout.labels, oracle, 0.1),
            "n": report["n"],
            "base_rate": report["base_rate"],
            "model": {k: v for k, v in report["model"].items() if k != "calibration"},
            "calibration_deciles": report["model"]["calibration"],
            "logistic_baseline": {
                k: v for k, v in report["logistic"].items() if k != "calibration"
            },
            "past_findings": {
                k: v
                for k, v in report["past_findings"].items()
                if k in ("roc_auc", "pr_auc", "precision_at_k", "recall_at_k", "lift_at_k")
            },
            "precision_ratio_vs_past_findings": report["precision_ratio_vs_past_findings"],
            "days_earlier": report["days_earlier"],
            "first_half_share": report["first_half_share"],
            "oracle_truth": {
                "roc_auc": roc_auc(holdout.labels, oracle),
                "precision_at_k": precision_at_k(holdout.labels, oracle, 0.1),
                "model_roc_auc_check": roc_auc(holdout.labels, scores),
            },
        },
    }


def phase_score(model_path: Path, quick: bool) -> dict:
    from ml import persistence
    from ml.features import build_features
    from ml.model import predict_proba, score_enterprises
    from ml.reasons import explain
    from ml.simulator import simulate

    world_size = _scaled(SCORE_WORLD, quick)
    started = time.perf_counter()
    world = simulate(start=START, seed=7, **world_size)
    simulate_seconds = time.perf_counter() - started
    tables = world.event_tables()
    rss_after_simulation = _rss_mb()

    started = time.perf_counter()
    model = persistence.load(model_path)
    load_seconds = time.perf_counter() - started
    cutoff = START + timedelta(days=world_size["days"])
    cpu_started = time.process_time()
    started = time.perf_counter()
    features = build_features(tables, cutoff)
    features_seconds = time.perf_counter() - started
    started = time.perf_counter()
    import pandas as pd

    compound_scores = pd.Series(predict_proba(model, features), index=features.index)
    predict_seconds = time.perf_counter() - started
    started = time.perf_counter()
    enterprises = score_enterprises(compound_scores, tables.compounds)
    enterprise_seconds = time.perf_counter() - started
    scoring_cpu_seconds = time.process_time() - cpu_started
    top = compound_scores.sort_values(ascending=False, kind="stable").index
    top = top[: int(len(top) * EXPLAIN_SHARE)]
    started = time.perf_counter()
    reasons = explain(model, features.loc[top])
    explain_seconds = time.perf_counter() - started
    scoring_seconds = features_seconds + predict_seconds + enterprise_seconds
    return {
        "world": world_size,
        "inspection_rows": len(world.inspections),
        "simulate_seconds": round(simulate_seconds, 2),
        "load_model_seconds": round(load_seconds, 2),
        "compounds_scored": len(compound_scores),
        # Enterprises that manage no compound today have no model part (see score_enterprises).
        "enterprises_in_world": world_size["n_enterprises"],
        "enterprises_scored": len(enterprises),
        "features_seconds": round(features_seconds, 2),
        "predict_seconds": round(predict_seconds, 2),
        "enterprise_aggregation_seconds": round(enterprise_seconds, 2),
        "scoring_seconds": round(scoring_seconds, 2),
        "scoring_cpu_seconds": round(scoring_cpu_seconds, 2),
        "explained_rows": len(reasons),
        "explain_seconds": round(explain_seconds, 2),
        "example_reasons": [r.text for r in reasons[0]],
        "mean_compound_p": float(compound_scores.mean()),
        "rss_after_simulation_mb": round(rss_after_simulation, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
    }


def _run_phase(name: str, model_path: Path, quick: bool) -> dict:
    command = [sys.executable, __file__, "--phase", name, "--model-path", str(model_path)]
    if quick:
        command.append("--quick")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    print(f"running phase {name} ...", file=sys.stderr, flush=True)
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"phase {name} failed with exit code {result.returncode}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20x smaller, for a smoke run")
    parser.add_argument("--phase", choices=["train", "score"], help=argparse.SUPPRESS)
    parser.add_argument("--model-path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase = phase_train if args.phase == "train" else phase_score
        from ml.jsonable import to_jsonable

        print(json.dumps(to_jsonable(phase(args.model_path, args.quick)), ensure_ascii=False))
        return

    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / "risk-model.zip"
        trained = _run_phase("train", model_path, args.quick)
        scored = _run_phase("score", model_path, args.quick)
    results = {
        "benchmark": "ml",
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # Other processes share the 2 cores: wall time under load says little, CPU time more.
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg(),
        },
        "targets": {
            "train_seconds_max": TRAIN_TARGET_SECONDS,
            "scoring_seconds_max": SCORE_TARGET_SECONDS,
            "train_met": trained["train_seconds"] <= TRAIN_TARGET_SECONDS,
            "scoring_met": scored["scoring_seconds"] <= SCORE_TARGET_SECONDS,
        },
        "train": trained,
        "score": scored,
    }
    text = json.dumps(results, ensure_ascii=False, indent=2)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
