"""Benchmark: full bulk credit scoring against a plain pandas group-by sum over the same records.

    python bench/bench_scoring.py [--enterprises 250000 --records 5000000 --repeats 3]

Targets: bulk_score within 3x the pandas baseline (it does a period filter, several per-enterprise
sums, the model blend and the grades, where the baseline does one sum) and under 60 s in absolute
terms for the whole province. Writes bench/results/scoring.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from credit.rulebook import KIND_GOOD, Rulebook, load_default_rulebook
from credit.scoring import (
    DAY_NONE,
    SEVERITY_CODE_NONE,
    SEVERITY_CODES,
    STATUS_CODES,
    RecordArrays,
    bulk_score,
    date_to_day,
)

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "scoring.json"
TARGET_RATIO = 3.0
TARGET_SECONDS = 60.0
AS_OF = date(2025, 6, 30)
# Records start over the six years before AS_OF, so a realistic share has already expired.
HISTORY_DAYS = 6 * 365
DAYS_PER_MONTH = 30.44  # mean Gregorian month; exact calendar months do not matter for timing
# Inspections find far more bad than good behaviour, and serious breaches are rare.
GOOD_RECORD_SHARE = 0.15
BAD_SEVERITY_SHARES = {"minor": 0.65, "ordinary": 0.34, "serious": 0.01}
# Records that started within the objection window are still pending (7 calendar days ~ 5
# working days); of the rest, a few were revoked on objection or repaired.
PENDING_DAYS = 7
REVOKED_SHARE = 0.03
REPAIRED_SHARE = 0.02


def main() -> None:
    args = parse_args()
    rulebook = load_default_rulebook()
    rng = np.random.default_rng(args.seed)
    enterprise_ids = np.arange(1, args.enterprises + 1, dtype=np.int64)
    records = generate_records(
        rng, rulebook, n_enterprises=args.enterprises, n_records=args.records
    )
    risk = np.clip(rng.beta(2.0, 18.0, size=args.enterprises), 0.0, 1.0)  # mean about 0.1
    frame = pd.DataFrame({"enterprise": records.enterprise_index, "points": signed_points(records)})

    def run_bulk():
        return bulk_score(
            enterprise_ids=enterprise_ids,
            records=records,
            rulebook=rulebook,
            as_of=AS_OF,
            risk_probability=risk,
            risk_population_mean=float(risk.mean()),
        )

    def run_pandas():
        return frame.groupby("enterprise")["points"].sum()

    bulk_times = timed(run_bulk, args.repeats)
    pandas_times = timed(run_pandas, args.repeats)
    bulk_peak = peak_traced_bytes(run_bulk)
    pandas_peak = peak_traced_bytes(run_pandas)
    scores = run_bulk()

    bulk_seconds = statistics.median(bulk_times)
    pandas_seconds = statistics.median(pandas_times)
    result = {
        "benchmark": "scoring",
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "enterprises": args.enterprises,
        "records": args.records,
        "repeats": args.repeats,
        "as_of": AS_OF.isoformat(),
        "rulebook_version": rulebook.version,
        "bulk_score_seconds_median": round(bulk_seconds, 4),
        "bulk_score_seconds_all": [round(t, 4) for t in bulk_times],
        "pandas_groupby_seconds_median": round(pandas_seconds, 4),
        "pandas_groupby_seconds_all": [round(t, 4) for t in pandas_times],
        "ratio_bulk_to_pandas": round(bulk_seconds / pandas_seconds, 3),
        "target_ratio": TARGET_RATIO,
        "target_seconds": TARGET_SECONDS,
        "meets_ratio_target": bulk_seconds / pandas_seconds <= TARGET_RATIO,
        "meets_time_target": bulk_seconds < TARGET_SECONDS,
        "bulk_score_peak_traced_mib": round(bulk_peak / 2**20, 1),
        "pandas_groupby_peak_traced_mib": round(pandas_peak / 2**20, 1),
        "input_record_arrays_mib": round(record_bytes(records) / 2**20, 1),
        "grade_counts": grade_counts(scores.grade, rulebook),
        "blacklist_proposals": int(scores.blacklist_proposal.sum()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=250_000)
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20150817)
    return parser.parse_args()


def generate_records(
    rng: np.random.Generator, rulebook: Rulebook, *, n_enterprises: int, n_records: int
) -> RecordArrays:
    rules = rulebook.rules
    rule_index = rng.choice(len(rules), size=n_records, p=rule_weights(rulebook))

    def per_rule(values, dtype):
        return np.asarray(values, dtype=dtype)[rule_index]

    as_of_day = date_to_day(AS_OF)
    start = as_of_day - rng.integers(0, HISTORY_DAYS, size=n_records)
    months = per_rule([rule.months for rule in rules], np.int64)
    until = start + np.round(months * DAYS_PER_MONTH).astype(np.int64)
    status = np.where(until <= as_of_day, STATUS_CODES["expired"], STATUS_CODES["effective"])
    draw = rng.random(n_records)
    status = np.where(draw < REVOKED_SHARE, STATUS_CODES["revoked"], status)
    status = np.where(
        (draw >= REVOKED_SHARE) & (draw < REVOKED_SHARE + REPAIRED_SHARE),
        STATUS_CODES["repaired"],
        status,
    )
    pending = start > as_of_day - PENDING_DAYS
    status = np.where(pending, STATUS_CODES["pending"], status).astype(np.int8)
    ended = np.isin(status, [STATUS_CODES["revoked"], STATUS_CODES["repaired"]])
    ended_on = np.where(ended, start + rng.integers(1, 400, size=n_records), DAY_NONE)
    return RecordArrays(
        enterprise_index=rng.integers(0, n_enterprises, size=n_records, dtype=np.int64),
        is_good=per_rule([rule.kind == KIND_GOOD for rule in rules], bool),
        points_centi=per_rule([int(rule.points * 100) for rule in rules], np.int64),
        severity=per_rule(
            [SEVERITY_CODES.get(rule.severity, SEVERITY_CODE_NONE) for rule in rules], np.int8
        ),
        effective_from=np.where(pending, DAY_NONE, start),
        effective_until=np.where(pending, DAY_NONE, until),
        ended_on=ended_on,
        status=status,
        blacklist=per_rule([rule.blacklist for rule in rules], bool),
        tender_benefit=per_rule([rule.tender_benefit for rule in rules], bool),
    )


def rule_weights(rulebook: Rulebook) -> np.ndarray:
    """Sampling probability of each rule: class share spread evenly over the class's rules."""
    classes = [KIND_GOOD if rule.kind == KIND_GOOD else rule.severity for rule in rulebook.rules]
    shares = {KIND_GOOD: GOOD_RECORD_SHARE} | {
        severity: (1 - GOOD_RECORD_SHARE) * share for severity, share in BAD_SEVERITY_SHARES.items()
    }
    weights = np.array([shares[c] / classes.count(c) for c in classes])
    return weights / weights.sum()


def signed_points(records: RecordArrays) -> np.ndarray:
    return np.where(records.is_good, records.points_centi, -records.points_centi)


def timed(function: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def peak_traced_bytes(function: Callable[[], object]) -> int:
    # numpy reports its buffers to tracemalloc, so this is the extra memory the call needs.
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def record_bytes(records: RecordArrays) -> int:
    return sum(getattr(records, name).nbytes for name in RecordArrays.__dataclass_fields__)


def grade_counts(grades: np.ndarray, rulebook: Rulebook) -> dict[str, int]:
    counts = np.bincount(grades, minlength=len(rulebook.grade_names))
    return dict(zip(rulebook.grade_names, counts.tolist(), strict=True))


if __name__ == "__main__":
    main()
