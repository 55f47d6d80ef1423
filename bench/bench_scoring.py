"""Benchmark: the full credit recompute of the province against a plain pandas group-by sum.

    python bench/bench_scoring.py [--enterprises 250000 --records 5000000 --repeats 3]
                                  [--no-database]

Database section (the product's path): starts a throwaway PostgreSQL with production durability
(fsync and synchronous commit on), migrates, loads `--enterprises` firms, `--records` records
(generate_records' distribution) and a risk estimate per firm with COPY, then in one child process
times (a) `credit.recompute.full.recompute_all()` with no score stored yet (every firm stale:
scores, reasons and the rule-triggered blacklist proposals written), (b) a second `recompute_all()`
with nothing changed (the steady state: every firm checked, nothing written but the run's audit
entry), (c) the nightly run of the next day (the records whose period ends that day stop counting,
so their firms are rewritten), and (d) the baseline: the records' enterprise_id and points read
from the same database with `COPY ... TO STDOUT (FORMAT csv)` into `pd.read_csv`, then
`groupby("enterprise_id")["points"].sum()`. Peak memory is the process's RSS high-water mark
(VmHWM): of the timing child just after (a) (it has done nothing else but start Django), and of
fresh children that run only (b) or only (d).

In-memory section (the pure core): `credit.scoring.bulk_score` over numpy arrays against
`groupby().sum()` over the same arrays in a DataFrame.

Targets (issue 3): the full recompute within 3x the baseline and under 60 s for the province.
Writes bench/results/scoring.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import PYTHON, ROOT, django_environment, machine, postgresql

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
    if args.child:
        print(json.dumps(CHILDREN[args.child]()))
        return
    rulebook = load_default_rulebook()
    database = None if args.no_database else database_section(args, rulebook)
    result = {
        "benchmark": "scoring",
        "command": "python bench/bench_scoring.py",
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    if database is not None:
        result["summary"] = database_summary(database)
        result["database"] = database
    result |= in_memory_section(args, rulebook)
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


def in_memory_section(args: argparse.Namespace, rulebook: Rulebook) -> dict:
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
    return {
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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=250_000)
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20150817)
    parser.add_argument("--no-database", action="store_true", help="the in-memory section only")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    return parser.parse_args()


@dataclass(frozen=True)
class GeneratedRecords:
    arrays: RecordArrays
    rule_index: np.ndarray  # into rulebook.rules
    start: np.ndarray  # day numbers; the arrays leave a pending record's period unset
    until: np.ndarray


def generate_records(
    rng: np.random.Generator, rulebook: Rulebook, *, n_enterprises: int, n_records: int
) -> RecordArrays:
    return generate_record_table(
        rng, rulebook, n_enterprises=n_enterprises, n_records=n_records
    ).arrays


def generate_record_table(
    rng: np.random.Generator, rulebook: Rulebook, *, n_enterprises: int, n_records: int
) -> GeneratedRecords:
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
    arrays = RecordArrays(
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
    return GeneratedRecords(arrays=arrays, rule_index=rule_index, start=start, until=until)


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


# --- database section --------------------------------------------------------------------------

MODEL_VERSION = "risk-bench"
# What the risk model's explanations look like: a few short factors, sometimes none.
RISK_REASONS = (
    ["近一年投诉较多", "设施设备老旧"],
    ["人员流动大", "近一年投诉较多", "维修资金使用不规范"],
    ["消防通道占用"],
    [],
)
REGION = ("150100", "呼和浩特市", 1)  # a league city (RegionLevel.LEAGUE_CITY)
# Decisions come before their effective date by the objection window (about 5 working days).
DECIDED_DAYS_BEFORE = 7
ROWS_PER_COPY = 500_000


def database_section(args: argparse.Namespace, rulebook: Rulebook) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_scoring_") as tmp:
        folder = Path(tmp)
        with postgresql(folder) as database:
            env = django_environment(database.url, folder)
            subprocess.run(
                [str(PYTHON), "manage.py", "migrate", "--no-input", "-v", "0"],
                cwd=ROOT,
                env=env,
                check=True,
            )
            load = load_database(database.url, rulebook, args)
            timing = run_child(env, "timing")
            steady_rss = run_child(env, "steady-memory")
            baseline_rss = run_child(env, "baseline-memory")
    first, steady, next_day = timing["first_run"], timing["steady_run"], timing["next_day_run"]
    baseline = min(timing["baseline_seconds"])
    return {
        "database": "postgresql 15, fsync and synchronous_commit on, default memory settings",
        "enterprises": args.enterprises,
        "records": args.records,
        "risk_estimates": args.enterprises,
        "as_of": AS_OF.isoformat(),
        "load_seconds": load["seconds"],
        "full_recompute_first_run_seconds": first["seconds"],
        "full_recompute_first_run_refreshed": first["refreshed"],
        "full_recompute_steady_run_seconds": steady["seconds"],
        "full_recompute_steady_run_refreshed": steady["refreshed"],
        "full_recompute_next_day_run_seconds": next_day["seconds"],
        "full_recompute_next_day_run_refreshed": next_day["refreshed"],
        "baseline": "COPY (SELECT enterprise_id, points ...) TO STDOUT (FORMAT csv) -> "
        "pd.read_csv -> groupby('enterprise_id')['points'].sum(); fastest of the runs",
        "baseline_seconds": round(baseline, 3),
        "baseline_seconds_all": [round(t, 3) for t in timing["baseline_seconds"]],
        "ratio_first_run_to_baseline": round(first["seconds"] / baseline, 2),
        "ratio_steady_run_to_baseline": round(steady["seconds"] / baseline, 2),
        "ratio_next_day_run_to_baseline": round(next_day["seconds"] / baseline, 2),
        "target_ratio": TARGET_RATIO,
        "target_seconds": TARGET_SECONDS,
        "meets_ratio_target_first_run": first["seconds"] / baseline <= TARGET_RATIO,
        "meets_ratio_target_steady_run": steady["seconds"] / baseline <= TARGET_RATIO,
        "meets_ratio_target_next_day_run": next_day["seconds"] / baseline <= TARGET_RATIO,
        "meets_time_target": max(first["seconds"], steady["seconds"], next_day["seconds"])
        < TARGET_SECONDS,
        "peak_rss_measure": "VmHWM (RSS high-water mark) of the process; Django started: "
        f"{timing['rss_started_mib']} MiB",
        "first_run_peak_rss_mib": timing["rss_after_first_run_mib"],
        "steady_run_peak_rss_mib": steady_rss["rss_mib"],
        "baseline_peak_rss_mib": baseline_rss["rss_mib"],
        "blacklist_proposals_opened": timing["blacklist_proposals"],
        "audit_entries_after_first_and_steady_runs": timing["audit_entries"],
        "grade_counts": timing["grade_counts"],
        "machine": machine(),
    }


def database_summary(database: dict) -> str:
    return (
        f"Full recompute of {database['enterprises']:,} enterprises / {database['records']:,} "
        f"records on PostgreSQL: first run {database['full_recompute_first_run_seconds']} s "
        f"({database['ratio_first_run_to_baseline']}x the pandas baseline of "
        f"{database['baseline_seconds']} s), steady run "
        f"{database['full_recompute_steady_run_seconds']} s "
        f"({database['ratio_steady_run_to_baseline']}x), next day "
        f"{database['full_recompute_next_day_run_seconds']} s "
        f"({database['ratio_next_day_run_to_baseline']}x, "
        f"{database['full_recompute_next_day_run_refreshed']:,} firms rewritten); peak RSS "
        f"{database['first_run_peak_rss_mib']} MiB (baseline "
        f"{database['baseline_peak_rss_mib']} MiB)."
    )


def run_child(env: dict[str, str], child: str) -> dict:
    finished = subprocess.run(
        [str(PYTHON), str(Path(__file__).resolve()), "--child", child],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(finished.stdout.strip().splitlines()[-1])


# --- loading ---


def load_database(url: str, rulebook: Rulebook, args: argparse.Namespace) -> dict:
    """Firms 1..n, the generated records and a risk estimate per firm, with COPY; then VACUUM
    (FREEZE, ANALYZE) and a CHECKPOINT, so no timed run pays for hint bits or the load's WAL."""
    rng = np.random.default_rng(args.seed)
    table = generate_record_table(
        rng, rulebook, n_enterprises=args.enterprises, n_records=args.records
    )
    probability = np.clip(rng.beta(2.0, 18.0, size=args.enterprises), 0.0, 1.0)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        insert_firms(conn, args.enterprises)
        insert_records(conn, rulebook, table)
        insert_risks(conn, probability)
        for name in ("credit_enterprise", "credit_creditrecord", "credit_enterpriserisk"):
            conn.execute(f"VACUUM (FREEZE, ANALYZE) {name}")
        conn.execute("CHECKPOINT")
    return {"seconds": round(time.perf_counter() - started, 1)}


def insert_firms(conn: psycopg.Connection, n: int) -> None:
    conn.execute(
        "INSERT INTO credit_region (code, name, level, parent_id, created_at, updated_at)"
        " VALUES (%s, %s, %s, NULL, now(), now())",
        REGION,
    )
    # Digits only: a valid USCC shape (the check character is not checked by the database).
    conn.execute(
        "INSERT INTO credit_enterprise (id, created_at, updated_at, uscc, name,"
        " legal_representative, region_id, status, managed_area_m2, managed_projects)"
        " SELECT i, now(), now(), '91150100' || lpad(i::text, 10, '0'),"
        " '基准物业服务有限公司' || i, '', %s, 'active', 0, 0 FROM generate_series(1, %s) AS i",
        (REGION[0], n),
    )


def insert_records(conn: psycopg.Connection, rulebook: Rulebook, table: GeneratedRecords) -> None:
    arrays = table.arrays
    ended = np.where(arrays.ended_on == DAY_NONE, -1, arrays.ended_on)
    conn.execute(
        "CREATE TEMPORARY TABLE bench_records (enterprise_id int8, rule_index int4, start int4,"
        " until int4, status int4, ended int4)"
    )
    copy_binary(
        conn,
        "bench_records",
        [
            (arrays.enterprise_index + 1, ">i8"),
            (table.rule_index, ">i4"),
            (table.start, ">i4"),
            (table.until, ">i4"),
            (arrays.status, ">i4"),
            (ended, ">i4"),
        ],
    )
    rules = rulebook.rules
    conn.execute(
        "INSERT INTO credit_creditrecord (created_at, updated_at, enterprise_id, rule_code,"
        " title_zh, title_en, kind, severity, points, months, blacklist, facts, document_no,"
        " decided_at, objection_deadline, effective_from, effective_until, ended_on, status,"
        " source, source_ref, rulebook_version, created_by_id)"
        " SELECT now(), now(), s.enterprise_id, r.code, r.title_zh, r.title_en, r.kind,"
        " r.severity, r.points, r.months, r.blacklist, '', '',"
        " DATE '1970-01-01' + s.start - %(decided_before)s, NULL, DATE '1970-01-01' + s.start,"
        " DATE '1970-01-01' + s.until,"
        " CASE WHEN s.ended >= 0 THEN DATE '1970-01-01' + s.ended END,"
        " (%(statuses)s::text[])[s.status + 1], r.source, '', %(version)s, NULL"
        " FROM bench_records s JOIN unnest(%(codes)s::text[], %(titles_zh)s::text[],"
        " %(titles_en)s::text[], %(kinds)s::text[], %(severities)s::text[],"
        " %(points)s::numeric[], %(months)s::int4[], %(blacklist)s::bool[], %(sources)s::text[])"
        " WITH ORDINALITY AS r(code, title_zh, title_en, kind, severity, points, months,"
        " blacklist, source, position) ON r.position = s.rule_index + 1",
        {
            "decided_before": DECIDED_DAYS_BEFORE,
            "statuses": list(STATUS_CODES),
            "version": rulebook.version,
            "codes": [r.code for r in rules],
            "titles_zh": [r.title_zh for r in rules],
            "titles_en": [r.title_en for r in rules],
            "kinds": [r.kind for r in rules],
            "severities": [r.severity or "" for r in rules],
            "points": [r.points for r in rules],
            "months": [r.months for r in rules],
            "blacklist": [r.blacklist for r in rules],
            "sources": ["award" if r.kind == KIND_GOOD else "inspection" for r in rules],
        },
    )


def insert_risks(conn: psycopg.Connection, probability: np.ndarray) -> None:
    conn.execute("CREATE TEMPORARY TABLE bench_risks (enterprise_id int8, probability float8)")
    ids = np.arange(1, len(probability) + 1, dtype=np.int64)
    copy_binary(conn, "bench_risks", [(ids, ">i8"), (probability, ">f8")])
    conn.execute(
        "INSERT INTO credit_enterpriserisk (enterprise_id, probability, population_mean,"
        " model_version, reasons, updated_at)"
        " SELECT enterprise_id, probability, %s, %s, (%s::jsonb[])[enterprise_id %% %s + 1], now()"
        " FROM bench_risks",
        (
            float(probability.mean()),
            MODEL_VERSION,
            [json.dumps(r, ensure_ascii=False) for r in RISK_REASONS],
            len(RISK_REASONS),
        ),
    )


def copy_binary(
    conn: psycopg.Connection, table: str, columns: list[tuple[np.ndarray, str]]
) -> None:
    """COPY ... FROM STDIN (FORMAT binary) from numpy columns: fixed-width rows built by numpy,
    no Python object per row."""
    fields = [("count", ">i2")]
    for k, (_, dtype) in enumerate(columns):
        fields += [(f"length{k}", ">i4"), (f"value{k}", dtype)]
    n = len(columns[0][0])
    with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
        for start in range(0, n, ROWS_PER_COPY):
            end = min(start + ROWS_PER_COPY, n)
            rows = np.empty(end - start, dtype=fields)
            rows["count"] = len(columns)
            for k, (values, dtype) in enumerate(columns):
                rows[f"length{k}"] = np.dtype(dtype).itemsize
                rows[f"value{k}"] = values[start:end]
            copy.write(rows.tobytes())
        copy.write((-1).to_bytes(2, "big", signed=True))


# --- children: each a fresh process, so its RSS high-water mark is its own ---


def child_timing() -> dict:
    django_setup()
    from django.db import connection

    from credit.models import BlacklistEntry, EnterpriseScore
    from credit.recompute.full import recompute_all

    started_rss = peak_rss_mib()
    first = timed_recompute(recompute_all)
    after_first_rss = peak_rss_mib()
    steady = timed_recompute(recompute_all)
    grades = list(EnterpriseScore.objects.values_list("grade", flat=True))
    proposals = BlacklistEntry.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT action, count(*) FROM backend_auditentry GROUP BY action")
        audit_entries = dict(cursor.fetchall())
    next_day = timed_recompute(recompute_all, as_of=AS_OF + timedelta(days=1))
    baselines = [timed_baseline(connection) for _ in range(2)]
    return {
        "first_run": first,
        "steady_run": steady,
        "next_day_run": next_day,
        "baseline_seconds": baselines,
        "rss_started_mib": started_rss,
        "rss_after_first_run_mib": after_first_rss,
        "blacklist_proposals": proposals,
        "audit_entries": audit_entries,
        "grade_counts": {g: grades.count(g) for g in sorted(set(grades))},
    }


def child_steady_memory() -> dict:
    django_setup()
    from credit.recompute.full import recompute_all

    run = timed_recompute(recompute_all)
    return {"rss_mib": peak_rss_mib(), "refreshed": run["refreshed"]}


def child_baseline_memory() -> dict:
    django_setup()
    from django.db import connection

    timed_baseline(connection)
    return {"rss_mib": peak_rss_mib()}


def django_setup() -> None:
    import django

    django.setup()


def timed_recompute(recompute_all: Callable, *, as_of: date = AS_OF) -> dict:
    started = time.perf_counter()
    summary = recompute_all(as_of=as_of)
    return {"seconds": round(time.perf_counter() - started, 3), "refreshed": summary.refreshed}


def timed_baseline(connection) -> float:
    started = time.perf_counter()
    pandas_baseline(connection)
    return time.perf_counter() - started


def pandas_baseline(connection) -> pd.Series:
    connection.ensure_connection()
    buffer = io.BytesIO()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(
            "COPY (SELECT enterprise_id, points FROM credit_creditrecord) TO STDOUT (FORMAT csv)"
        ) as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    frame = pd.read_csv(buffer, names=["enterprise_id", "points"])
    return frame.groupby("enterprise_id")["points"].sum()


def peak_rss_mib() -> float:
    """VmHWM, the RSS high-water mark of this process's address space. Not ru_maxrss: Linux
    carries the parent's high-water mark through fork and exec into it, so a child started by a
    parent holding the generated records would report at least the parent's size."""
    status = Path("/proc/self/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(int(kib) / 1024, 1)


CHILDREN = {
    "timing": child_timing,
    "steady-memory": child_steady_memory,
    "baseline-memory": child_baseline_memory,
}


if __name__ == "__main__":
    main()
