"""Benchmark: the bureau statistics dashboard (issue 17) for the whole province over three years,
on the province-scale world, on PostgreSQL.

    python bench/bench_statistics.py [--enterprises 250000 --records 5000000 --projects 400000]
        [--keep] [--cold 7 --warm 50 --export-runs 3 --list-warm 20] [--slow-ms 100]

Starts a throwaway PostgreSQL with production durability (fsync and synchronous commit on,
default memory settings) and Redis, migrates, writes the regions and the staff through the
product (`seed_regions`, `staff_upsert`, in a Django child), loads the world of
bench/statistics_world.py with COPY, runs the product's `grade_counts_store` for each of the
36 snapshots in another child (timed: it is what every publish now adds), then VACUUM
(ANALYZE). With `--keep` the loaded cluster is kept under var/bench-cache/statistics-<hash>/
(the hash covers the parameters and both generators' sources) and a rerun starts PostgreSQL
on it instead of loading (migrating first, in case the product gained a migration since).

Then gunicorn with the production settings (docker/gunicorn.conf.py, gthread 5 × 4 on this
2-core machine) and REDIS_URL, so Django's cache — where the dashboard keeps its figures for
five minutes — is Redis. One client signs in as the admin (regions [150000]) and, one request
at a time on a fresh connection each:

- the very first dashboard request after the load (`first_ever_ms`: PostgreSQL's and the OS's
  caches as the load left them), then every worker is warmed (URLconf, templates);
- the province dashboard `?region=150000&period=2023-12..2026-11`, cold: `--cold` times, each
  right after FLUSHDB on Redis (PostgreSQL's buffers stay warm), and warm: `--warm` times;
- the same for one league (150100), the CSV and XLSX exports (cold and warm), and the first
  page of the inspections drill-down list;
- the baseline: one plain `SELECT count(*) FROM inspections_inspection` through psycopg on the
  same database (median of five), for the ratio of the cold p95 to it.

Every statement slower than `--slow-ms` is taken from PostgreSQL's log
(log_min_duration_statement) and the slowest are reported; when a target is missed they are
also run again under EXPLAIN (ANALYZE, BUFFERS). Targets: warm p95 ≤ 300 ms, cold p95 ≤ 2 s.
Writes bench/results/statistics.json.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

import statistics_world as world
from _common import (
    HOST,
    PYTHON,
    ROOT,
    GunicornSettings,
    django_environment,
    get_request,
    gunicorn,
    machine,
    percentile,
    postgresql,
    run_closed_loop,
    write_result,
)
from _common import (
    redis as redis_server,
)
from bench_tender import PING_PATH, parse_settings

from tests.harness import services as svc

RESULTS_PATH = ROOT / "bench" / "results" / "statistics.json"
CACHE_ROOT = ROOT / "var" / "bench-cache"
TARGET_WARM_P95_MS = 300.0
TARGET_COLD_P95_MS = 2000.0
ADMIN_USERNAME = "bench_admin"
ADMIN_PASSWORD = "Bench-Statistics-2026!"  # a throwaway benchmark account
PROVINCE, LEAGUE = "150000", "150100"
PERIOD = "2023-12..2026-11"
DASHBOARD = "/bureau/statistics/"
DRILLDOWN = "/bureau/statistics/list/inspections/"
COMPOUNDS_PER_INSPECTOR = 1_500
# A cold province page may take longer than the production worker timeout (60 s); it is
# measured rather than killed, and the result says so.
WORKER_TIMEOUT_S = 900
WARM_UP_REQUESTS = 15  # per page kind, uncounted: every worker has rendered it once
SLOWEST_REPORTED = 12
EXPLAINED = 5


# --- Django children: the product's own functions ------------------------------------------


def run_child(env: dict[str, str], child: str, *args: str) -> dict:
    command = [str(PYTHON), str(Path(__file__).resolve()), "--child", child, *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"child {child} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_staff(projects: int) -> dict:
    """Regions as `seed_regions` writes them, the admin and a reviewer for the west and one
    for the east through `staff_upsert`, about one inspector per 1,500 compounds in bulk,
    each in one county (no password: nobody signs in as them)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from credit.models import StaffProfile, StaffRole
    from credit.staff import staff_upsert
    from inspections import demo_data as demo

    demo.seed_regions(demo.DemoContext(seed=0, enterprises=0, years=3, today=world.LAST_MONTH))
    account = {"password": ADMIN_PASSWORD, "actor": "bench"}
    admin = staff_upsert(
        username=ADMIN_USERNAME, role=StaffRole.ADMIN, region_codes=[PROVINCE], **account
    )
    reviewers = {}
    for side, codes in (("west", demo.WEST), ("east", demo.EAST)):
        name, role = f"bench_reviewer_{side}", StaffRole.REVIEWER
        result = staff_upsert(username=name, role=role, region_codes=codes, **account)
        reviewers |= dict.fromkeys(codes, result.profile.user_id)
    weights = demo.LEAGUE_WEIGHTS
    share = max(1, projects // COMPOUNDS_PER_INSPECTOR) / sum(weights.values())
    leagues = [(g.code, demo.COUNTIES[g.code]) for g in demo.LEAGUES]
    wanted = []  # (county, number) of each inspector, by the league's weight, county by county
    for code, counties in leagues:
        per_county = max(1, round(share * weights[code] / len(counties)))
        wanted += [(county, k) for county in counties for k in range(per_county)]
    User, unusable = get_user_model(), make_password(None)
    users = User.objects.bulk_create(
        [User(username=f"bench_inspector_{c.code}_{k}", password=unusable) for c, k in wanted]
    )
    pairs = list(zip(users, wanted, strict=True))
    profiles = StaffProfile.objects.bulk_create(
        [StaffProfile(user=u, role=StaffRole.INSPECTOR, display_name=f"{c.name}巡查员{k + 1}")
         for u, (c, k) in pairs]
    )  # fmt: skip
    through = StaffProfile.regions.through
    rows = [
        through(staffprofile=p, region_id=c.code)
        for p, (c, _) in zip(profiles, wanted, strict=True)
    ]
    through.objects.bulk_create(rows)
    counties = [county for _, counties in leagues for county in counties]
    per_county = Counter(county.code for county, _ in wanted)
    return {  # statistics_world.Places: counties league by league, inspectors county by county
        "league_codes": [code for code, _ in leagues],
        "league_share": [weights[code] for code, _ in leagues],
        "county_codes": [c.code for c in counties],
        "county_seat": [[c.lat, c.lon] for c in counties],
        "county_league": [k for k, (_, cs) in enumerate(leagues) for _ in cs],
        "county_offsets": [0, *accumulate(len(cs) for _, cs in leagues)],
        "inspector_ids": [profile.pk for profile in profiles],
        "inspector_offsets": [0, *accumulate(per_county[c.code] for c in counties)],
        "reviewer_by_league": [reviewers[code] for code, _ in leagues],
        "admin_user_id": admin.profile.user_id,
    }


def child_grade_counts() -> dict:
    """`grade_counts_store` for each snapshot in its own transaction, as a publish runs it."""
    import django

    django.setup()
    from django.db import transaction

    from credit.models import Snapshot
    from credit.stats.grades import grade_counts_store

    timings = []
    for snapshot in Snapshot.objects.order_by("as_of", "id"):
        started = time.perf_counter()
        with transaction.atomic():
            grade_counts_store(snapshot)
        timings.append(round((time.perf_counter() - started) * 1000, 1))
    mean = round(sum(timings) / len(timings), 1) if timings else None
    return {"mean_ms": mean, "max_ms": max(timings, default=None), "per_snapshot_ms": timings}


def child_facts() -> dict:
    """The statistics' scheduled refreshes on the loaded world: the nightly one of every
    month, then the hourly one of the current and previous month (the dashboard reads the
    facts they store)."""
    import django

    django.setup()
    from inspections.models import StatisticFact
    from inspections.stats.facts import facts_refresh_all, facts_refresh_recent

    started = time.perf_counter()
    facts_refresh_all()
    nightly = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    facts_refresh_recent()
    hourly = round(time.perf_counter() - started, 1)
    return {
        "nightly_all_months_s": nightly,
        "hourly_recent_months_s": hourly,
        "facts_rows": StatisticFact.objects.count(),
    }


CHILDREN = {
    "staff": lambda args: child_staff(int(args[0])),
    "grade-counts": lambda args: child_grade_counts(),
    "facts": lambda args: child_facts(),
}


# --- the world: loaded, or started from the cache -------------------------------------------


@dataclass
class World:
    url: str
    info: dict  # what the load reported (kept with a cached cluster)
    from_cache: bool
    log: Path  # PostgreSQL's log, for the slow statements
    pid: int


def cache_folder(params: world.WorldParams) -> Path:
    """One folder per world: the parameters and the generators' sources (a change to either
    is another world)."""
    digest = hashlib.sha256(json.dumps(asdict(params), sort_keys=True).encode())
    for source in ("statistics_world.py", "bench_scoring.py"):
        digest.update((ROOT / "bench" / source).read_bytes())
    return CACHE_ROOT / f"statistics-{digest.hexdigest()[:12]}"


def migrate(env: dict[str, str]) -> None:
    command = [str(PYTHON), "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


@contextlib.contextmanager
def world_database(args: argparse.Namespace, params, run_folder: Path) -> Iterator[World]:
    folder = cache_folder(params) if args.keep else run_folder / "database"
    info_path = folder / "world.json"
    if args.keep and info_path.exists():
        progress(f"world from the cache {folder.relative_to(ROOT)}")
        with existing_postgresql(folder) as database:
            migrate(django_environment(database.url, run_folder))
            info = json.loads(info_path.read_text())
            yield World(database.url, info, True, database.log_path, database.popen.pid)
        return
    if folder.exists():
        shutil.rmtree(folder)  # a load that did not finish: start over
    folder.mkdir(parents=True)
    with postgresql(folder) as database:
        info = build_world(django_environment(database.url, run_folder), database.url, params)
        if args.keep:
            info_path.write_text(json.dumps(info, indent=2, ensure_ascii=False))
        yield World(database.url, info, False, database.log_path, database.popen.pid)


def build_world(env: dict[str, str], url: str, params) -> dict:
    started = time.perf_counter()
    migrate(env)
    progress("regions and staff (seed_regions, staff_upsert) …")
    staff = run_child(env, "staff", str(params.projects))
    info = world.load_world(url, staff, params)
    progress("grade counts: grade_counts_store per snapshot …")
    info["grade_counts_store"] = run_child(env, "grade-counts")
    progress("VACUUM (ANALYZE), CHECKPOINT …")
    world.settle(url)
    info["load_seconds"] = round(time.perf_counter() - started, 1)
    progress(f"world loaded in {info['load_seconds']} s")
    return info


@contextlib.contextmanager
def existing_postgresql(folder: Path) -> Iterator[svc.ServiceProcess]:
    """PostgreSQL on a cluster a previous `--keep` run loaded, durable like a fresh one."""
    base = folder / "postgresql"
    port = svc.free_port()
    service = svc.ServiceProcess(
        name="postgresql",
        argv=[
            str(svc.POSTGRES_BIN / "postgres"),
            *("-D", str(base / "data"), "-p", str(port), "-k", str(base / "sockets")),
            *("-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100"),
        ],
        log_path=base / "postgresql.log",
        ready=lambda: answers(port),
        url=f"postgres://postgres@{HOST}:{port}/{svc.DATABASE_NAME}",
        ports={"postgresql": port},
        cwd=base,
        run_as="postgres" if os.geteuid() == 0 else None,
        stop_signal=signal.SIGINT,
        death_signal=signal.SIGQUIT,
    )
    service.start()
    try:
        yield service
    finally:
        service.stop()


def answers(port: int) -> bool:
    with psycopg.connect(host=HOST, port=port, user="postgres", connect_timeout=2) as conn:
        conn.execute("SELECT 1")
    return True


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- HTTP: one signed-in client, a request at a time -----------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes
    ms: float
    content_type: str


class Client:
    """A browser of one: cookies kept, each request on a fresh connection (gunicorn closes
    idle keep-alive connections after 5 s, and a cold page is waited on for much longer)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, **headers) -> Answer:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        headers = {"Cookie": cookie, "Accept-Language": "zh-CN,zh;q=0.9"} | headers
        connection = http.client.HTTPConnection(HOST, self.port, timeout=WORKER_TIMEOUT_S + 60)
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()  # chunked (streamed CSV) or not
        took = (time.perf_counter() - started) * 1000
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";")[0]
        connection.close()
        return Answer(response.status, data, took, response.getheader("Content-Type", ""))

    def get_ok(self, path: str) -> Answer:
        answer = self.request("GET", path)
        if answer.status != 200:
            excerpt = answer.body[:600].decode(errors="replace")
            raise RuntimeError(f"GET {path} answered {answer.status}, not 200:\n{excerpt}")
        return answer


def sign_in(client: Client) -> None:
    page = client.get_ok("/bureau/login/")
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    token = found.group(1).decode() if found else client.cookies.get("csrftoken", "")
    form = {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    body = urlencode(form | {"csrfmiddlewaretoken": token, "next": "/bureau/"})
    answer = client.request(
        "POST", "/bureau/login/", body, **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    if answer.status != 302 or "sessionid" not in client.cookies:
        excerpt = answer.body[:600].decode(errors="replace")
        raise RuntimeError(f"sign-in as {ADMIN_USERNAME} failed ({answer.status}):\n{excerpt}")


def timings(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "runs": len(values),
        "p50_ms": round(percentile(ordered, 0.50), 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "max_ms": round(ordered[-1], 1),
        "all_ms": [round(v, 1) for v in values],
    }


def series(client: Client, path: str, runs: int, flush=None) -> dict:
    """`runs` requests of `path`, each after `flush()` when given (a cold cache)."""
    took, sizes, kinds = [], set(), set()
    for _ in range(runs):
        if flush is not None:
            flush()
        answer = client.get_ok(path)
        took.append(answer.ms)
        sizes.add(len(answer.body))
        kinds.add(answer.content_type)
    return timings(took) | {"bytes": max(sizes), "content_type": ", ".join(sorted(kinds))}


def cold_and_warm(client: Client, path: str, cold: int, warm: int, flush) -> dict:
    result = {"path": path, "cold": series(client, path, cold, flush)}
    client.get_ok(path)  # fills the cache
    result["warm"] = series(client, path, warm)
    return result


def page(path: str, region: str, **extra: str) -> str:
    return f"{path}?{urlencode({'region': region, 'period': PERIOD} | extra)}"


def measure(server, cache, args: argparse.Namespace) -> dict:
    client = Client(server.port)
    sign_in(client)
    flush = redis.Redis.from_url(f"{cache.url}/0").flushdb
    province, league = page(DASHBOARD, PROVINCE), page(DASHBOARD, LEAGUE)
    listing = page(DRILLDOWN, PROVINCE)
    pings = [iter([get_request(PING_PATH)] * 5000) for _ in range(10)]  # every worker imports
    run_closed_loop(server=server, requests_per_client=pings, seconds=1.0, warmup_s=0.0)
    flush()
    progress("the first dashboard request after the load …")
    first = client.get_ok(province)
    progress(f"  {first.ms:.0f} ms; warming the workers' templates …")
    for path in (province, league, listing):
        for _ in range(WARM_UP_REQUESTS):
            client.get_ok(path)
    result = {}
    for name, path, cold, warm in (
        ("dashboard", province, args.cold, args.warm),
        ("dashboard_league", league, args.cold, args.warm),
        ("export_csv", page(DASHBOARD, PROVINCE, format="csv"), args.export_runs, args.export_runs),
        (
            "export_xlsx",
            page(DASHBOARD, PROVINCE, format="xlsx"),
            args.export_runs,
            args.export_runs,
        ),
        ("drilldown_inspections", listing, args.cold, args.list_warm),
    ):
        progress(f"{name}: {cold} cold, {warm} warm …")
        result[name] = cold_and_warm(client, path, cold, warm, flush)
        cold_p95, warm_p95 = result[name]["cold"]["p95_ms"], result[name]["warm"]["p95_ms"]
        progress(f"  cold p95 {cold_p95} ms, warm p95 {warm_p95} ms")
    result["dashboard"]["first_ever_ms"] = round(first.ms, 1)
    return result


# --- PostgreSQL: the baseline, the slow statements, the data set -----------------------------

BASELINE_SQL = "SELECT count(*) FROM inspections_inspection"
DURATION = re.compile(r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.*)")
LOG_LINE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")  # log_line_prefix starts with %m


def baseline(url: str, runs: int = 5) -> dict:
    took = []
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute(BASELINE_SQL).fetchone()
            took.append((time.perf_counter() - started) * 1000)
    return {"query": BASELINE_SQL, "median_ms": round(statistics.median(took), 1)} | {
        "min_ms": round(min(took), 1),
        "all_ms": [round(t, 1) for t in took],
    }


def slow_log(url: str, threshold_ms: int | None) -> None:
    """log_min_duration_statement on (a threshold) or back to its default (None)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if threshold_ms is None:
            conn.execute("ALTER SYSTEM RESET log_min_duration_statement")
        else:
            conn.execute(f"ALTER SYSTEM SET log_min_duration_statement = {int(threshold_ms)}")
        conn.execute("SELECT pg_reload_conf()")


def slow_statements(log: Path, offset: int) -> list[dict]:
    """The statements logged since `offset`, grouped by shape (literals replaced), slowest
    first. A statement with line breaks (raw SQL) goes on in the lines without a timestamp."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    logged: list[tuple[float, list[str]]] = []
    for line in text.splitlines():
        if LOG_LINE.match(line):
            match = DURATION.search(line)
            logged += [(float(match[1]), [match[2]])] if match else [(-1.0, [])]
        elif logged:
            logged[-1][1].append(line)
    found: dict[str, dict] = {}
    for took, parts in logged:
        if took < 0:
            continue
        sql = " ".join(" ".join(parts).split())
        shape = re.sub(r"\b\d+(\.\d+)?\b", "?", re.sub(r"'(?:[^']|'')*'", "?", sql))
        entry = found.setdefault(shape, {"count": 0, "total_ms": 0.0, "max_ms": 0.0, "sql": sql})
        entry["count"] += 1
        entry["total_ms"] = round(entry["total_ms"] + took, 1)
        if took > entry["max_ms"]:
            entry["max_ms"], entry["sql"] = took, sql
    return sorted(found.values(), key=lambda e: -e["max_ms"])[:SLOWEST_REPORTED]


def explain(url: str, statements: list[dict]) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest SELECTs, in Django's session time zone."""
    plans = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        queries = [e for e in statements if e["sql"].upper().startswith(("SELECT", "WITH"))]
        for entry in queries[:EXPLAINED]:
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + entry["sql"]).fetchall()
            plans.append({"max_ms": entry["max_ms"], "sql": entry["sql"][:4000]}
                         | {"plan": [row[0] for row in rows][:80]})  # fmt: skip
    return plans


DATA_SET_TABLES = (
    "credit_region credit_staffprofile credit_enterprise inspections_project"
    " inspections_managementcontract credit_creditrecord credit_objection"
    " credit_repairapplication credit_blacklistentry credit_blacklistentry_basis_records"
    " inspections_complaint inspections_inspectiontask inspections_inspection"
    " inspections_finding inspections_inspectionplan inspections_planitem credit_snapshot"
    " credit_snapshotentry credit_snapshotgradecount"
)
# The shapes the brief fixes, read back from the database rather than from the generator.
CHECKS_SQL = {
    "inspections_submitted": "SELECT count(*) FILTER (WHERE status = 'submitted')"
    " FROM inspections_inspection",
    "inspections_with_task_share": "SELECT round(avg((task_id IS NOT NULL)::int), 3)"
    " FROM inspections_inspection",
    "clean_share": "SELECT round(1 - (SELECT count(DISTINCT inspection_id) FROM"
    " inspections_finding)::numeric / count(*), 3) FROM inspections_inspection"
    " WHERE status = 'submitted'",
    "findings_per_inspection_with_violation": "SELECT round(count(*)::numeric"
    " / count(DISTINCT inspection_id), 3) FROM inspections_finding",
    "review_status_shares": "SELECT json_object_agg(review_status, share) FROM (SELECT"
    " review_status, round(count(*)::numeric / sum(count(*)) OVER (), 3) AS share"
    " FROM inspections_finding GROUP BY 1) s",
    "review_days_max": "SELECT round(max(extract(epoch FROM reviewed_at - observed_at))"
    " / 86400, 2) FROM inspections_finding",
    "tasks_by_kind": "SELECT json_object_agg(kind, n) FROM (SELECT kind, count(*) AS n"
    " FROM inspections_inspectiontask GROUP BY 1) s",
    "tasks_by_status": "SELECT json_object_agg(status, n) FROM (SELECT status, count(*) AS n"
    " FROM inspections_inspectiontask GROUP BY 1) s",
    "complaint_outcomes": "SELECT json_object_agg(outcome, n) FROM (SELECT outcome, count(*)"
    " AS n FROM inspections_complaint GROUP BY 1) s",
    "complaint_visit_days_max": "SELECT round(max(extract(epoch FROM i.started_at"
    " - c.received_at)) / 86400, 2) FROM inspections_complaint c JOIN inspections_inspection i"
    " ON i.task_id = c.task_id",
    "compounds_with_current_contract_share": "SELECT round(count(DISTINCT project_id)::numeric"
    " / (SELECT count(*) FROM inspections_project), 3) FROM inspections_managementcontract"
    " WHERE end_date IS NULL",
    "plan_items_by_selection": "SELECT json_object_agg(selected_by, n) FROM (SELECT"
    " selected_by, count(*) AS n FROM inspections_planitem GROUP BY 1) s",
    "objections_per_record": "SELECT round((SELECT count(*) FROM credit_objection)::numeric"
    " / count(*), 4) FROM credit_creditrecord",
    "repairs_per_record": "SELECT round((SELECT count(*) FROM credit_repairapplication)"
    "::numeric / count(*), 4) FROM credit_creditrecord",
    "blacklist_by_status": "SELECT json_object_agg(status, n) FROM (SELECT status, count(*)"
    " AS n FROM credit_blacklistentry GROUP BY 1) s",
    "grades_last_snapshot": "SELECT json_object_agg(grade, n) FROM (SELECT grade, count(*) AS n"
    " FROM credit_snapshotentry WHERE snapshot_id = (SELECT max(id) FROM credit_snapshot)"
    " GROUP BY 1) s",
    "task_feed_head_minus_max_change_seq": "SELECT (SELECT seq FROM inspections_taskfeedhead)"
    " - max(change_seq) FROM inspections_inspectiontask",
}


def data_set(url: str) -> tuple[dict, dict]:
    """Row counts of every table the world fills, and the checks above."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in DATA_SET_TABLES.split()
        }
        checks = {name: conn.execute(sql).fetchone()[0] for name, sql in CHECKS_SQL.items()}
    return rows, {k: float(v) if isinstance(v, Decimal) else v for k, v in checks.items()}


# --- the result ------------------------------------------------------------------------------


def verdicts(figures: dict) -> dict[str, bool]:
    return {
        f"{name}_{kind}": figures[name][kind]["p95_ms"] <= target
        for name in ("dashboard", "dashboard_league")
        for kind, target in (("warm", TARGET_WARM_P95_MS), ("cold", TARGET_COLD_P95_MS))
    }


def summary(result: dict) -> str:
    d, league, rows = result["dashboard"], result["dashboard_league"], result["world"]["rows"]
    csv, xlsx, listing = (
        result["export_csv"],
        result["export_xlsx"],
        result["drilldown_inspections"],
    )
    grades = result["world"]["grade_counts_store"]
    met = "meets both targets" if all(result["passed"].values()) else "misses a target"
    return (
        f"Bureau statistics dashboard, whole province ({PERIOD}) on the province-scale world "
        f"({rows['credit_enterprise']:,} firms, {rows['inspections_project']:,} compounds, "
        f"{rows['credit_creditrecord']:,} records, {rows['inspections_inspection']:,} "
        f"inspections, {rows['inspections_finding']:,} findings, "
        f"{rows['credit_snapshotentry']:,} snapshot entries) on PostgreSQL: warm p95 "
        f"{d['warm']['p95_ms']} ms (target ≤ {TARGET_WARM_P95_MS:.0f}), cold p95 "
        f"{d['cold']['p95_ms']} ms after FLUSHDB (target ≤ {TARGET_COLD_P95_MS:.0f}; the very "
        f"first request after the load {d['first_ever_ms']} ms), {met}; "
        f"{result['ratio_cold_p95_to_baseline']}x one count(*) of the inspections "
        f"({result['baseline']['median_ms']} ms). One league (150100): warm p95 "
        f"{league['warm']['p95_ms']} ms, cold p95 {league['cold']['p95_ms']} ms. Exports: CSV "
        f"{csv['cold']['bytes']:,} bytes in {csv['cold']['p50_ms']} ms cold / "
        f"{csv['warm']['p50_ms']} ms warm, XLSX {xlsx['cold']['bytes']:,} bytes in "
        f"{xlsx['cold']['p50_ms']} / {xlsx['warm']['p50_ms']} ms; the inspections list's first "
        f"page p95 {listing['cold']['p95_ms']} ms cold, {listing['warm']['p95_ms']} ms warm. "
        f"grade_counts_store adds {grades['mean_ms']} ms (max {grades['max_ms']}) to a publish. "
        f"The dashboard sums stored monthly facts: their nightly refresh of every month took "
        f"{result['refresh']['nightly_all_months_s']} s, the hourly one of the last two months "
        f"{result['refresh']['hourly_recent_months_s']} s ({result['refresh']['facts_rows']:,} "
        "facts)."
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = world.WorldParams()
    parser.add_argument("--enterprises", type=int, default=defaults.enterprises)
    parser.add_argument("--records", type=int, default=defaults.records)
    parser.add_argument("--projects", type=int, default=defaults.projects)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--keep", action="store_true", help="cache the loaded cluster")
    parser.add_argument("--cold", type=int, default=7, help="cold requests per page")
    parser.add_argument("--warm", type=int, default=50, help="warm requests per dashboard")
    parser.add_argument("--export-runs", type=int, default=3, help="cold and warm, per format")
    parser.add_argument("--list-warm", type=int, default=20)
    parser.add_argument("--slow-ms", type=int, default=100, help="log_min_duration_statement")
    parser.add_argument("--gunicorn", default="gthread:5:4", help="class:workers:threads")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("child_args", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args()


def command_line(args: argparse.Namespace) -> str:
    defaults = world.WorldParams()
    given = [
        f"--{name} {getattr(args, name)}"
        for name in ("enterprises", "records", "projects")
        if getattr(args, name) != getattr(defaults, name)
    ]
    return " ".join(["python bench/bench_statistics.py", *given, *(["--keep"] * args.keep)])


def run(args: argparse.Namespace, params: world.WorldParams, settings: GunicornSettings) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_statistics_") as tmp:
        run_folder = Path(tmp)
        run_folder.chmod(0o755)  # PostgreSQL runs as its own account when we are root
        with (
            world_database(args, params, run_folder) as db,
            redis_server(run_folder) as cache,
        ):
            env = django_environment(db.url, run_folder, redis_url=cache.url)
            env["GUNICORN_CMD_ARGS"] = f"--timeout {WORKER_TIMEOUT_S}"
            command = [str(PYTHON), "manage.py", "collectstatic", "--no-input", "-v", "0"]
            subprocess.run(command, cwd=ROOT, env=env, check=True)
            progress("statistics facts: the nightly and the hourly refresh …")
            refresh = run_child(env, "facts")
            nightly, hourly = refresh["nightly_all_months_s"], refresh["hourly_recent_months_s"]
            progress(f"  nightly {nightly} s, hourly {hourly} s")
            offset = db.log.stat().st_size
            slow_log(db.url, args.slow_ms)
            try:
                with gunicorn(
                    env=env,
                    folder=run_folder,
                    settings=settings,
                    ready_path=PING_PATH,
                    extra_pids=[db.pid, cache.popen.pid],
                ) as server:
                    figures = measure(server, cache, args)
            finally:
                slow_log(db.url, None)
            figures["baseline"] = baseline(db.url)
            slow = slow_statements(db.log, offset)
            missed = not all(verdicts(figures).values())
            figures["explained"] = explain(db.url, slow) if missed else []
            progress("row counts and checks …")
            rows, checks = data_set(db.url)
        info = db.info | {"from_cache": db.from_cache, "rows": rows, "checks": checks}
    return figures | {"refresh": refresh, "world": info, "slow_statements": slow}


def main() -> None:
    args = parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.child_args)))
        return
    params = world.WorldParams(args.enterprises, args.records, args.projects, args.seed)
    settings = parse_settings(args.gunicorn)[0]
    figures = run(args, params, settings)
    ratio = figures["dashboard"]["cold"]["p95_ms"] / max(figures["baseline"]["median_ms"], 0.001)
    result = {
        "benchmark": "statistics",
        "command": command_line(args),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": "postgresql 15, fsync and synchronous_commit on, default memory settings",
        "gunicorn": settings.as_dict() | {"timeout_s": WORKER_TIMEOUT_S},
        "period": PERIOD,
        "targets": {"warm_p95_ms": TARGET_WARM_P95_MS, "cold_p95_ms": TARGET_COLD_P95_MS},
        "passed": verdicts(figures),
        "ratio_cold_p95_to_baseline": round(ratio, 1),
        **figures,
        "machine": machine(),
    }
    result = {"summary": summary(result), **result}
    write_result(RESULTS_PATH, result)


if __name__ == "__main__":
    main()
