"""Benchmark: the credit report PDF of one firm (/credit/e/{uscc}/report.pdf), against the public
enterprise page of the same firm, in one process.

    python bench/bench_report.py [--enterprises 300] [--snapshots 12] [--firms 30] [--warmup 5]

Builds a demo world in a throwaway SQLite database (migrated, static files collected, the
production settings: DEBUG off): `--enterprises` firms in two regions of 呼和浩特, two thirds
of them with one to six records (bad and good, effective, some with a rejected objection or a
pending repair application), and `--snapshots` monthly snapshots back-filled so the page draws a
year of score history. Then, through Django's test client (the whole middleware stack and URL
resolution, no network), for `--firms` firms with records, each once:

- the report: GET report.pdf → 200 `application/pdf` (content assembly from the latest
  snapshot, the template, WeasyPrint's layout and its PDF with the CJK font subset embedded);
- the baseline: GET the firm's public page (/credit/e/{uscc}/) → 200 HTML, rendered for the
  first time for that firm (its content is memoised per snapshot, so each firm is asked once).

Before anything is counted, `--warmup` other firms get both (WeasyPrint's import, fontconfig's
font list and the fonts' first load happen there; the first report's time is reported
separately as `first_report_ms`; it is also the process's first request, so it includes
importing the URLconf and every API's routers). Then each counted firm's report is timed again
phase by phase outside the client: content assembly, HTML template, WeasyPrint layout, PDF
writing (font subsetting is part of it). Median and p95 (nearest rank); target: the report's
p95 ≤ 500 ms. Writes bench/results/report.json.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _common import ROOT, django_environment, machine, percentile, write_result

RESULTS_PATH = ROOT / "bench" / "results" / "report.json"
TARGET_P95_MS = 500.0
REGIONS = (("150102", "新城区"), ("150105", "赛罕区"))
SURNAMES, GIVEN_NAMES = "张王李赵刘陈杨黄", ("建国", "丽华", "志强", "秀英")
RECORDED_SHARE = 2 / 3  # firms with at least one record
MAX_RECORDS = 6
GOOD_SHARE = 0.2
OBJECTED_SHARE = 0.15  # records whose objection was rejected before they took effect
REPAIR_SHARE = 0.1  # bad records with a repair application waiting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--snapshots", type=int, default=12)
    parser.add_argument("--firms", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        folder = Path(tmp)
        setup_django(folder)
        started = time.perf_counter()
        recorded = seed_world(args.enterprises, args.snapshots, random.Random(16))
        seed_s = time.perf_counter() - started
        rng = random.Random(17)
        chosen = rng.sample(recorded, args.warmup + args.firms)
        result = measure(chosen[: args.warmup], chosen[args.warmup :])
    result = {
        "benchmark": "report",
        "command": "python bench/bench_report.py",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": summary(result),
        "world": {
            "database": "sqlite",
            "enterprises": args.enterprises,
            "snapshots": args.snapshots,
            "seed_seconds": round(seed_s, 1),
        },
        "target_p95_ms": TARGET_P95_MS,
        **result,
        "machine": machine(),
    }
    write_result(RESULTS_PATH, result)


def setup_django(folder: Path) -> None:
    env = django_environment(f"sqlite:///{folder / 'bench.sqlite3'}", folder)
    env["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--no-input", verbosity=0)
    call_command("collectstatic", "--no-input", verbosity=0)


def seed_world(enterprises: int, snapshots: int, rng: random.Random) -> list[str]:
    """The firms, their records and the snapshot history; the codes of the firms with records."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from credit.models import Enterprise, Region, RegionLevel
    from credit.publication import snapshot_publish
    from credit.validators import make_uscc

    league = Region.objects.create(code="150100", name="呼和浩特市", level=RegionLevel.LEAGUE_CITY)
    counties = [
        Region.objects.create(code=code, name=name, level=RegionLevel.BANNER_COUNTY, parent=league)
        for code, name in REGIONS
    ]
    firms = Enterprise.objects.bulk_create(
        [
            Enterprise(
                uscc=make_uscc(region_code=county.code, serial=i),
                name=f"{county.name}第{i}物业服务有限公司",
                legal_representative=rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES),
                region=county,
            )
            for i in range(1, enterprises + 1)
            for county in [counties[i % len(counties)]]
        ]
    )
    clerk = get_user_model().objects.create_user(username="bench-clerk", password=None)
    today = timezone.localdate()
    recorded = [f for f in firms if rng.random() < RECORDED_SHARE]
    seed_records(recorded, clerk, today, rng)
    for months_back in range(snapshots - 1, 0, -1):  # oldest first
        snapshot_publish(actor=None, as_of=today - timedelta(days=30 * months_back))
    snapshot_publish(actor=None)
    return [f.uscc for f in recorded]


def seed_records(firms, clerk, today: date, rng: random.Random) -> None:
    from credit.models import CreditRecord, Objection, RepairApplication
    from credit.scoring import record_period_end
    from credit.selectors import active_rulebook

    active = active_rulebook()
    records = []
    for firm in firms:
        for _ in range(rng.randint(1, MAX_RECORDS)):
            good = rng.random() < GOOD_SHARE
            rulebook = active.rulebook
            rule = rng.choice(rulebook.good_behaviours if good else rulebook.violations)
            start = today - timedelta(days=rng.randrange(1, 330))
            records.append(
                CreditRecord(
                    enterprise=firm,
                    rule_code=rule.code,
                    title_zh=rule.title_zh,
                    title_en=rule.title_en,
                    kind=rule.kind,
                    severity=rule.severity or "",
                    points=rule.points,
                    months=rule.months,
                    blacklist=rule.blacklist,
                    document_no=f"呼房罚〔{start.year}〕{rng.randrange(1, 999)}号",
                    decided_at=start,
                    effective_from=start,
                    effective_until=record_period_end(start, rule.months),
                    status="effective",
                    source="award" if good else "inspection",
                    rulebook_version=active.version,
                )
            )
    records = CreditRecord.objects.bulk_create(records)
    now = datetime.now(UTC)
    Objection.objects.bulk_create(
        Objection(
            record=r,
            filed_on=r.decided_at,
            grounds="企业提出异议",
            filed_by=clerk,
            decision="rejected",
            decision_reason="证据充分",
            decided_by=clerk,
            decided_at=now,
        )
        for r in records
        if rng.random() < OBJECTED_SHARE
    )
    RepairApplication.objects.bulk_create(
        RepairApplication(record=r, applied_on=today, evidence="已整改", registered_by=clerk)
        for r in records
        if r.kind == "bad" and rng.random() < REPAIR_SHARE
    )


def measure(warmup: list[str], counted: list[str]) -> dict:
    from django.test import Client

    client = Client()
    started = time.perf_counter()
    get_ok(client, f"/credit/e/{warmup[0]}/report.pdf")
    first_report_ms = (time.perf_counter() - started) * 1000
    for uscc in warmup:
        get_ok(client, f"/credit/e/{uscc}/report.pdf")
        get_ok(client, f"/credit/e/{uscc}/")
    report_ms, page_ms, sizes = [], [], []
    for uscc in counted:
        report, elapsed = timed(client, f"/credit/e/{uscc}/report.pdf")
        report_ms.append(elapsed)
        sizes.append(len(report.content))
        page_ms.append(timed(client, f"/credit/e/{uscc}/")[1])
    return {
        "firms": len(counted),
        "warmup_firms": len(warmup),
        "first_report_ms": round(first_report_ms, 1),
        "report": stats(report_ms),
        "baseline_public_page": stats(page_ms),
        "ratio_report_to_page_median": round(
            statistics.median(report_ms) / statistics.median(page_ms), 1
        ),
        "report_bytes": {"median": int(statistics.median(sizes)), "max": max(sizes)},
        "phases_median_ms": phases(counted),
    }


def get_ok(client, path: str):
    response = client.get(path)
    if response.status_code != 200:
        sys.exit(f"{path}: {response.status_code}")
    return response


def timed(client, path: str) -> tuple:
    started = time.perf_counter()
    response = get_ok(client, path)
    return response, (time.perf_counter() - started) * 1000


def phases(usccs: list[str]) -> dict:
    """Where a report's time goes: each step of credit.report.report_pdf, timed apart."""
    from django.template.loader import render_to_string
    from django.utils import timezone, translation
    from weasyprint import HTML, URLFetcher

    from credit.report import REPORT_LANGUAGE, REPORT_TEMPLATE, credit_report, report_day
    from credit.selectors import latest_entry

    steps: dict[str, list[float]] = {"assemble": [], "template": [], "layout": [], "write_pdf": []}
    for uscc in usccs:
        clock = time.perf_counter()
        entry = latest_entry(uscc=uscc)
        content = credit_report(entry, day=report_day(), now=timezone.now(), site="http://x")
        clock = lap(steps["assemble"], clock)
        with translation.override(REPORT_LANGUAGE):
            html = render_to_string(REPORT_TEMPLATE, {"report": content})
        clock = lap(steps["template"], clock)
        document = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).render()
        clock = lap(steps["layout"], clock)
        document.write_pdf()
        lap(steps["write_pdf"], clock)
    return {name: round(statistics.median(values), 1) for name, values in steps.items()}


def lap(values: list[float], since: float) -> float:
    now = time.perf_counter()
    values.append((now - since) * 1000)
    return now


def stats(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "max_ms": round(ordered[-1], 1),
    }


def summary(result: dict) -> str:
    report, page = result["report"], result["baseline_public_page"]
    verdict = "meets" if report["p95_ms"] <= TARGET_P95_MS else "misses"
    return (
        f"Credit report PDF over {result['firms']} firms: median {report['median_ms']} ms, "
        f"p95 {report['p95_ms']} ms ({verdict} the {TARGET_P95_MS:.0f} ms target); the public "
        f"page of the same firms (first render): median {page['median_ms']} ms, p95 "
        f"{page['p95_ms']} ms. First report of a fresh process {result['first_report_ms']} ms "
        f"(the process's first request: URLconf, WeasyPrint's import, the first layout)."
    )


if __name__ == "__main__":
    main()
