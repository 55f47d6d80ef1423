"""Benchmark: signed tender look-ups through gunicorn against the unsigned `/api/tender/v1/ping`
ninja operation on the same server.

    python bench/bench_tender.py [--enterprises 20000] [--clients 32] [--seconds 10]

Starts a throwaway PostgreSQL on loopback (the embedded SQLite file when PostgreSQL is not
installed), migrates, seeds `--enterprises` firms (a tenth with a record) and publishes a
snapshot, then runs gunicorn (2 gthread workers × 8 threads: one per core of this machine) and
a closed-loop load of `--clients` concurrent keep-alive connections, first against the trivial
operation, then against `GET /enterprises/{uscc}` with every request freshly signed (signatures
are made before the clock starts so the load generator spends its time sending). Targets: tender
look-ups per second ≥ 0.8 × the trivial operation's, p99 ≤ 25 ms. Writes
bench/results/tender.json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import services as svc  # noqa: E402

RESULTS_PATH = ROOT / "bench" / "results" / "tender.json"
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
TARGET_RATIO = 0.8
TARGET_P99_MS = 25.0
GUNICORN_WORKERS = 2  # one per core
GUNICORN_THREADS = 8  # 2 × 8 = 16 in flight; the rest of 32 clients queue in the backlog
WARMUP_S = 2.0


@dataclass(frozen=True)
class Stack:
    host: str
    port: int
    database: str
    client_id: str
    secret: str
    usccs: list[str]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@contextlib.contextmanager
def database(folder: Path) -> Iterator[tuple[str, str]]:
    """(DATABASE_URL, kind): a fresh PostgreSQL when installed, else a SQLite file."""
    if svc.postgresql_missing():
        yield f"sqlite:///{folder / 'bench.sqlite3'}", "sqlite"
        return
    folder.chmod(0o755)  # PostgreSQL runs as its own account when we are root
    service, initdb = svc.prepare_postgresql(folder)
    svc.finish_postgresql(service, initdb)
    service.wait_ready()
    svc.create_database(service)
    try:
        yield service.url, "postgresql"
    finally:
        service.stop()


def environment(database_url: str, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-only-secret-key",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OBJECT_STORE_URL": f"file://{folder / 'objects'}",
            "CREDIT_OBJECTION_WORKING_DAYS": "0",
            "LOG_LEVEL": "WARNING",
            "STATIC_ROOT": str(folder / "static"),
        }
    )
    return env


SEED_SCRIPT = """
import json, random, sys
from datetime import date, timedelta
import django
django.setup()
from credit.models import CreditRecord, Enterprise, Region, RegionLevel
from credit.publication import snapshot_publish
from credit.scoring import record_period_end
from credit.selectors import active_rulebook
from credit.tender_auth import tender_client_create
from credit.validators import make_uscc

n, history = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(20250601)
region = Region.objects.create(code="150100", name="呼和浩特市", level=RegionLevel.LEAGUE_CITY)
Enterprise.objects.bulk_create(
    [Enterprise(uscc=make_uscc(region_code="150100", serial=i), name=f"基准物业服务有限公司{i}",
                region=region) for i in range(1, n + 1)],
    batch_size=5000,
)
rules = active_rulebook()
today = date.today()
records = []
for firm_id in Enterprise.objects.values_list("id", flat=True)[: n // 10]:
    rule = rng.choice(rules.rulebook.violations)
    start = today - timedelta(days=rng.randrange(1, 300))
    records.append(CreditRecord(
        enterprise_id=firm_id, rule_code=rule.code, title_zh=rule.title_zh, title_en=rule.title_en,
        kind="bad", severity=rule.severity, points=rule.points, months=rule.months,
        blacklist=rule.blacklist, decided_at=start, effective_from=start,
        effective_until=record_period_end(start, rule.months), status="effective",
        source="manual", rulebook_version=rules.version))
CreditRecord.objects.bulk_create(records, batch_size=5000)
for months_back in range(history - 1, 0, -1):  # monthly back-filled history, oldest first
    snapshot_publish(actor=None, as_of=today - timedelta(days=30 * months_back))
snapshot_publish(actor=None)
client, secret = tender_client_create(name="bench")
usccs = list(Enterprise.objects.values_list("uscc", flat=True))
print(json.dumps({"client_id": client.client_id, "secret": secret, "usccs": usccs}))
"""


def prepare(env: dict[str, str], enterprises: int, snapshots: int) -> dict:
    for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"]):
        subprocess.run(
            [str(PYTHON), "manage.py", *command, "-v", "0"], cwd=ROOT, env=env, check=True
        )
    seeded = subprocess.run(
        [str(PYTHON), "-c", SEED_SCRIPT, str(enterprises), str(snapshots)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(seeded.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def gunicorn(env: dict[str, str], folder: Path) -> Iterator[int]:
    port = svc.free_port()
    log = (folder / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            str(GUNICORN),
            "backend.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(GUNICORN_WORKERS),
            "--worker-class",
            "gthread",
            "--threads",
            str(GUNICORN_THREADS),
            "--keep-alive",
            "30",
            "--backlog",
            "256",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/api/tender/v1/ping")
                if connection.getresponse().status == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start; see " + str(folder / "gunicorn.log"))
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@contextlib.contextmanager
def running_stack(enterprises: int, snapshots: int = 1) -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="bench_tender_") as tmp:
        folder = Path(tmp)
        with database(folder) as (url, kind):
            env = environment(url, folder)
            seeded = prepare(env, enterprises, snapshots)
            with gunicorn(env, folder) as port:
                yield Stack(
                    host="127.0.0.1",
                    port=port,
                    database=kind,
                    client_id=seeded["client_id"],
                    secret=seeded["secret"],
                    usccs=seeded["usccs"],
                )


Request = tuple[str, dict[str, str]]  # path, headers


def run_load(stack: Stack, requests_per_client: list[list[Request]], seconds: float) -> LoadResult:
    """Closed loop: each client sends its next request as soon as the previous answer is read.
    Latencies of the first WARMUP_S seconds are discarded."""
    latencies: list[list[float]] = [[] for _ in requests_per_client]
    errors = [0] * len(requests_per_client)
    barrier = threading.Barrier(len(requests_per_client) + 1)
    start_box: list[float] = []

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(stack.host, stack.port, timeout=10)
        barrier.wait()
        measure_from = start_box[0] + WARMUP_S
        stop_at = measure_from + seconds
        for path, headers in requests_per_client[index]:
            sent = time.perf_counter()
            if sent >= stop_at:
                break
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            done = time.perf_counter()
            if sent >= measure_from:
                latencies[index].append(done - sent)
                if response.status != 200:
                    errors[index] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(requests_per_client))]
    for thread in threads:
        thread.start()
    start_box.append(time.perf_counter())
    barrier.wait()
    for thread in threads:
        thread.join()
    every = sorted(x for per_client in latencies for x in per_client)
    if not every:
        raise RuntimeError("no request completed inside the measuring window")

    def pct(q: float) -> float:
        return round(every[min(len(every) - 1, int(q * len(every)))] * 1000, 2)

    return LoadResult(
        requests=len(every),
        errors=sum(errors),
        seconds=seconds,
        rps=round(len(every) / seconds, 1),
        p50_ms=pct(0.50),
        p95_ms=pct(0.95),
        p99_ms=pct(0.99),
    )


def signed_lookups(stack: Stack, count: int, rng: random.Random) -> list[Request]:
    from credit.signing import signed_headers

    requests = []
    for _ in range(count):
        path = f"/api/tender/v1/enterprises/{rng.choice(stack.usccs)}"
        headers = signed_headers(
            client_id=stack.client_id, secret=stack.secret, method="GET", path=path
        )
        requests.append((path, headers))
    return requests


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    # Upper bound on requests one client can send in a run (2 ms per request at best).
    parser.add_argument("--per-client", type=int, default=4000)
    args = parser.parse_args()
    rng = random.Random(7)
    with running_stack(args.enterprises) as stack:
        trivial = [[("/api/tender/v1/ping", {})] * args.per_client for _ in range(args.clients)]
        ping = run_load(stack, trivial, args.seconds)
        signed = [signed_lookups(stack, args.per_client, rng) for _ in range(args.clients)]
        tender = run_load(stack, signed, args.seconds)
    ratio = round(tender.rps / ping.rps, 3)
    result = {
        "benchmark": "tender",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "today": date.today().isoformat(),
        "database": stack.database,
        "enterprises": args.enterprises,
        "clients": args.clients,
        "gunicorn": {"workers": GUNICORN_WORKERS, "threads": GUNICORN_THREADS},
        "trivial_ping": ping.__dict__,
        "tender_lookup": tender.__dict__,
        "ratio": ratio,
        "targets": {"ratio_min": TARGET_RATIO, "p99_ms_max": TARGET_P99_MS},
        "passed": ratio >= TARGET_RATIO and tender.p99_ms <= TARGET_P99_MS and not tender.errors,
        "machine": machine(),
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
