"""Benchmark: the public enterprise page (/credit/e/{uscc}/) through gunicorn.

    python bench/bench_public.py [--enterprises 20000] [--snapshots 12] [--clients 8]

Same stack as bench_tender.py (throwaway PostgreSQL, gunicorn on loopback), seeded with
`--snapshots` monthly snapshots so every page draws a year of score history. A closed loop of
`--clients` concurrent readers (a busy moment of public traffic for one bureau) opens random
enterprises. Target: p95 ≤ 50 ms. Writes bench/results/public.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tender import machine, run_load, running_stack

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "public.json"
TARGET_P95_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--snapshots", type=int, default=12)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--per-client", type=int, default=4000)
    args = parser.parse_args()
    rng = random.Random(11)
    with running_stack(args.enterprises, snapshots=args.snapshots) as stack:
        # Chinese first: the page as most visitors get it.
        headers = {"Accept-Language": "zh-CN,zh;q=0.9"}
        pages = [
            [(f"/credit/e/{rng.choice(stack.usccs)}/", headers) for _ in range(args.per_client)]
            for _ in range(args.clients)
        ]
        single = run_load(stack, pages[:1], args.seconds / 2)
        loaded = run_load(stack, pages, args.seconds)
    result = {
        "benchmark": "public",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "today": date.today().isoformat(),
        "database": stack.database,
        "enterprises": args.enterprises,
        "snapshots": args.snapshots,
        "single_client": single.__dict__,
        "concurrent": {"clients": args.clients, **loaded.__dict__},
        "targets": {"p95_ms_max": TARGET_P95_MS},
        "passed": loaded.p95_ms <= TARGET_P95_MS and not loaded.errors,
        "machine": machine(),
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
