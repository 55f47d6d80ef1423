"""Benchmark: registry import of a 5,000-row workbook on PostgreSQL.

    python bench/bench_import.py [--enterprises 1000 --projects 4000 --repeats 3]

Builds one .xlsx with an enterprise sheet and a project sheet (one contract per project row; the
defaults make 5,000 data rows), starts a throwaway PostgreSQL with the test harness (or uses
DATABASE_URL when it points at PostgreSQL), migrates it, and times, `--repeats` times on an
emptied registry each:

- the same file with one bad credit code (validated, nothing written),
- the corrected file into an empty registry (everything created),
- the corrected file again (everything unchanged: the re-import no-op).

Target (issue 2): the corrected file imports in under 30 s. Writes bench/results/import.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS_PATH = ROOT / "bench" / "results" / "import.json"
TARGET_S = 30.0
COUNTY = ("150102", "新城区")
PROJECT_HEADER = [
    *("项目名称", "地址", "区划代码", "纬度", "经度", "建筑面积", "项目类型", "老旧小区"),
    *("物业企业信用代码", "合同起始日期", "合同终止日期", "是否招标", "合同编号"),
]


def start_postgresql(base: Path):
    from tests.harness import services as svc

    missing = svc.postgresql_missing()
    if missing:
        sys.exit(f"PostgreSQL is needed for this benchmark: {missing}")
    service, initdb = svc.prepare_postgresql(base)
    svc.finish_postgresql(service, initdb)
    service.wait_ready()
    svc.create_database(service)
    return service


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def build_workbook(*, enterprises: int, projects: int, bad_row: int | None) -> bytes:
    """`projects` rows, each project managed by enterprise (row % enterprises). `bad_row` (the
    spreadsheet row number in 项目) gets a credit code with a wrong check character."""
    import openpyxl

    from credit.validators import make_uscc

    usccs = [make_uscc(region_code=COUNTY[0], serial=100_000 + n) for n in range(enterprises)]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "企业"
    sheet.append(["统一社会信用代码", "企业名称", "法定代表人", "区划代码", "经营状态"])
    for n, uscc in enumerate(usccs):
        sheet.append([uscc, f"呼和浩特市测试{n}物业服务有限公司", "王伟", COUNTY[0], "正常经营"])
    sheet = workbook.create_sheet("项目")
    sheet.append(PROJECT_HEADER)
    for n in range(projects):
        uscc = usccs[n % enterprises]
        if n + 2 == bad_row:
            uscc = uscc[:-1] + ("1" if uscc[-1] != "1" else "2")
        sheet.append(
            [
                f"测试小区{n}",
                f"新城区测试路{n}号",
                COUNTY[0],
                round(40.80 + (n % 100) / 1000, 6),
                round(111.60 + (n // 100) / 1000, 6),
                50_000 + n,
                "住宅",
                "否",
                uscc,
                date(2020, 1, 1),
                None,
                "是",
                f"WY{n:06d}",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def empty_registry() -> None:
    from credit.models import Enterprise
    from inspections.models import ManagementContract, Project

    ManagementContract.objects.all().delete()
    Project.objects.all().delete()
    Enterprise.objects.all().delete()


def timed_import(data: bytes) -> tuple[float, object]:
    from inspections.registry_import import registry_import

    started = time.perf_counter()
    report = registry_import(source=io.BytesIO(data), filename="bench.xlsx", actor="bench")
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    service = None
    database_url = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as base:
        if not database_url.startswith(("postgres://", "postgresql://")):
            os.chmod(base, 0o711)  # the postgres account must reach its folder inside
            service = start_postgresql(Path(base))
            database_url = service.url
        try:
            setup_django(database_url)
            result = run(args)
        finally:
            if service is not None:
                service.stop()
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


def run(args: argparse.Namespace) -> dict:
    from credit.models import Region, RegionLevel

    Region.objects.get_or_create(code="150100", defaults={"name": "呼和浩特市", "level": 1})
    Region.objects.get_or_create(
        code=COUNTY[0],
        defaults={"name": COUNTY[1], "level": RegionLevel.BANNER_COUNTY, "parent_id": "150100"},
    )
    rows = args.enterprises + args.projects
    bad_line = args.projects // 2 + 2
    bad = build_workbook(enterprises=args.enterprises, projects=args.projects, bad_row=bad_line)
    good = build_workbook(enterprises=args.enterprises, projects=args.projects, bad_row=None)
    timings: dict[str, list[float]] = {"refused": [], "first_import": [], "re_import": []}
    for _ in range(args.repeats):
        empty_registry()
        seconds, report = timed_import(bad)
        assert [(e.sheet, e.line) for e in report.errors] == [("项目", bad_line)], report.errors
        timings["refused"].append(seconds)
        seconds, report = timed_import(good)
        assert report.ok and report.contracts.created == args.projects, report
        timings["first_import"].append(seconds)
        seconds, report = timed_import(good)
        assert not report.changed and report.contracts.unchanged == args.projects, report
        timings["re_import"].append(seconds)
    medians = {name: round(statistics.median(values), 3) for name, values in timings.items()}
    return {
        "benchmark": "registry import (xlsx, PostgreSQL)",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "rows": rows,
        "enterprises": args.enterprises,
        "projects": args.projects,
        "file_bytes": len(good),
        "repeats": args.repeats,
        "median_s": medians,
        "all_s": {name: [round(v, 3) for v in values] for name, values in timings.items()},
        "target_s": TARGET_S,
        "meets_target": medians["first_import"] < TARGET_S,
    }


if __name__ == "__main__":
    main()
