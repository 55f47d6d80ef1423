"""Benchmark: signed tender look-ups through gunicorn against the unsigned `/api/tender/v1/ping`
ninja operation on the same server.

    python bench/bench_tender.py [--enterprises 20000] [--clients 32] [--seconds 3] [--rounds 5]
                                 [--working-set 200] [--warm-up-s 4]
                                 [--gunicorn gthread:5:4,gthread:2:2,sync:5:1] [--no-redis]

Starts a throwaway PostgreSQL with production durability (fsync and synchronous commit on) and
Redis on loopback, migrates, seeds `--enterprises` firms (a tenth with a record), publishes a
snapshot, then for each gunicorn setting (worker class : workers : threads, with the rest of
docker/gunicorn.conf.py; the first setting is the headline: the production default of 2 × cores
+ 1 workers with 4 threads on this 2-core machine) warms the workers up on the working set and
runs `--rounds` paired rounds: `--clients` keep-alive connections run a closed loop of the
trivial operation and then of `GET /enterprises/{uscc}` (random firms of the working set), on
the same connections, the order alternating between rounds. The ratio is the median of the
rounds' ratios: gunicorn splits a fresh set of connections between its workers differently
every time, which moves throughput by tens of percent, and pairing cancels that out.
Every look-up is freshly signed with its own nonce (signatures are made before the clock
starts), so each one claims its nonce and queues its call in Redis. The load generator's own
CPU share is reported with each run. Targets: look-ups per second ≥ 0.8 × the trivial
operation's, p99 ≤ 25 ms. Writes bench/results/tender.json.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import random
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from _common import (
    PYTHON,
    ROOT,
    GunicornSettings,
    LoadResult,
    Server,
    close_connections,
    django_environment,
    get_request,
    gunicorn,
    machine,
    open_connections,
    postgresql,
    redis,
    run_closed_loop,
    write_result,
)

RESULTS_PATH = ROOT / "bench" / "results" / "tender.json"
TARGET_RATIO = 0.8
TARGET_P99_MS = 25.0
PING_PATH = "/api/tender/v1/ping"
WARMUP_S = 1.0  # the first second of each run is not counted (threads and caches settle)
# Look-ups one client can send in one run: 32 clients at a few thousand answers a second
# each send at most ~150 a second.
DEFAULT_PER_CLIENT = 1500
# Firms a tender platform asks about: the bidders of the tenders open at the moment, a few
# hundred in a league city at most. Each web process renders a firm's answer on its
# first look-up (one query) and serves it from memory while the snapshot stays the latest; the
# warm-up run lets every worker see the working set once, so the counted rounds show the
# steady state. `--working-set 20000 --warm-up-s 0` measures a cold server instead.
DEFAULT_WORKING_SET = 200
DEFAULT_WARM_UP_S = 4.0


@dataclass(frozen=True)
class Seeded:
    client_id: str
    secret: str
    usccs: list[str]


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


def prepare(env: dict[str, str], enterprises: int, snapshots: int) -> Seeded:
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
    return Seeded(**json.loads(seeded.stdout.strip().splitlines()[-1]))


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]
    folder: Path
    seeded: Seeded
    service_pids: list[int]
    database: str
    redis: bool


@contextlib.contextmanager
def seeded_stack(
    *, prefix: str, enterprises: int, snapshots: int, with_redis: bool
) -> Iterator[Stack]:
    """PostgreSQL (and Redis) running, migrated and seeded; gunicorn is started per setting."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        folder = Path(tmp)
        with contextlib.ExitStack() as services:
            database = services.enter_context(postgresql(folder))
            cache = services.enter_context(redis(folder)) if with_redis else None
            env = django_environment(database.url, folder, redis_url=cache.url if cache else "")
            yield Stack(
                env=env,
                folder=folder,
                seeded=prepare(env, enterprises, snapshots),
                service_pids=[s.popen.pid for s in (database, cache) if s and s.popen],
                database="postgresql (fsync on)",
                redis=cache is not None,
            )


def signed_lookups(seeded: Seeded, usccs: list[str], count: int, rng: random.Random) -> list[bytes]:
    from credit.signing import signed_headers

    requests = []
    for _ in range(count):
        path = f"/api/tender/v1/enterprises/{rng.choice(usccs)}"
        headers = signed_headers(
            client_id=seeded.client_id, secret=seeded.secret, method="GET", path=path
        )
        requests.append(get_request(path, headers))
    return requests


def combined(results: list[LoadResult]) -> dict:
    """Rounds of the same operation: throughput over all rounds, the median and worst tails."""
    seconds = sum(r.seconds for r in results)
    requests = sum(r.requests for r in results)
    return {
        "rps": round(requests / seconds, 1),
        "p50_ms_median_round": statistics.median(r.p50_ms for r in results),
        "p99_ms_median_round": statistics.median(r.p99_ms for r in results),
        "p99_ms_worst_round": max(r.p99_ms for r in results),
        "errors": sum(r.errors for r in results),
        "dropped": sum(r.dropped for r in results),
        "rounds": [asdict(r) for r in results],
    }


def warm_up(server: Server, seeded: Seeded, args: argparse.Namespace, rng: random.Random) -> None:
    """Not counted: every worker renders the working set's answers once."""
    run_closed_loop(
        server=server,
        requests_per_client=shared_lookups(seeded, args, rng),
        seconds=args.warm_up_s,
        warmup_s=0,
    )


def shared_lookups(
    seeded: Seeded, args: argparse.Namespace, rng: random.Random
) -> list[Iterator[bytes]]:
    """One pool of signed look-ups that every client draws from: a client on a lightly loaded
    worker sends many more requests than one on a crowded worker, so the pool is sized for the
    total, not per client."""
    working_set = seeded.usccs[: args.working_set]
    pool = iter(signed_lookups(seeded, working_set, args.per_client * args.clients, rng))
    return [pool] * args.clients


def paired_round(
    server: Server, seeded: Seeded, args: argparse.Namespace, rng: random.Random, ping_first: bool
) -> tuple[LoadResult, LoadResult]:
    """The trivial operation and the look-up, one after the other on the same connections
    (hence the same split of clients between workers); returns (ping, look-up)."""
    ping = get_request(PING_PATH)
    runs = {
        "ping": [itertools.repeat(ping) for _ in range(args.clients)],
        "lookup": shared_lookups(seeded, args, rng),
    }
    order = ("ping", "lookup") if ping_first else ("lookup", "ping")
    connections = open_connections(server, args.clients)
    try:
        results = {
            name: run_closed_loop(
                server=server,
                requests_per_client=runs[name],
                seconds=args.seconds,
                warmup_s=WARMUP_S,
                connections=connections,
            )
            for name in order
        }
    finally:
        close_connections(connections)
    return results["ping"], results["lookup"]


def compare(server: Server, seeded: Seeded, args: argparse.Namespace) -> dict:
    rng = random.Random(7)
    if args.warm_up_s > 0:
        warm_up(server, seeded, args, rng)
    pings, lookups = [], []
    for round_number in range(args.rounds):
        # Alternate which goes first, so a drift in background load weighs on both alike.
        ping, lookup = paired_round(server, seeded, args, rng, ping_first=round_number % 2 == 0)
        pings.append(ping)
        lookups.append(lookup)
    trivial, tender = combined(pings), combined(lookups)
    ratios = [lookup.rps / ping.rps for ping, lookup in zip(pings, lookups, strict=True)]
    ratio = round(statistics.median(ratios), 3)
    return {
        "gunicorn": server.settings.as_dict(),
        "trivial_ping": trivial,
        "tender_lookup": tender,
        "ratio": ratio,
        "ratio_per_round": [round(r, 3) for r in ratios],
        "passed": ratio >= TARGET_RATIO
        and tender["p99_ms_median_round"] <= TARGET_P99_MS
        and not (tender["errors"] or tender["dropped"]),
    }


def parse_settings(text: str) -> list[GunicornSettings]:
    settings = []
    for item in text.split(","):
        worker_class, workers, threads = item.split(":")
        settings.append(GunicornSettings(worker_class, int(workers), int(threads)))
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0, help="counted seconds per run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-client", type=int, default=DEFAULT_PER_CLIENT)
    parser.add_argument(
        "--gunicorn",
        default="gthread:5:4,gthread:2:2,sync:5:1",
        help="worker_class:workers:threads[,...]; the first is the headline figure",
    )
    parser.add_argument(
        "--working-set",
        type=int,
        default=DEFAULT_WORKING_SET,
        help="how many of the firms are looked up (uniformly at random)",
    )
    parser.add_argument("--warm-up-s", type=float, default=DEFAULT_WARM_UP_S)
    parser.add_argument("--no-redis", action="store_true", help="the embedded nonce fallback")
    args = parser.parse_args()
    with seeded_stack(
        prefix="bench_tender_",
        enterprises=args.enterprises,
        snapshots=1,
        with_redis=not args.no_redis,
    ) as stack:
        runs = []
        for settings in parse_settings(args.gunicorn):
            with gunicorn(
                env=stack.env,
                folder=stack.folder,
                settings=settings,
                ready_path=PING_PATH,
                extra_pids=stack.service_pids,
            ) as server:
                runs.append(compare(server, stack.seeded, args))
    headline = runs[0]
    result = {
        "benchmark": "tender",
        "command": "python bench/bench_tender.py",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "today": date.today().isoformat(),
        "database": stack.database,
        "redis_nonce_guard": stack.redis,
        "enterprises": args.enterprises,
        "working_set": args.working_set,
        "warm_up_s": args.warm_up_s,
        "clients": args.clients,
        "gunicorn": headline["gunicorn"],
        "ratio": headline["ratio"],
        "tender_rps": headline["tender_lookup"]["rps"],
        "tender_p99_ms": headline["tender_lookup"]["p99_ms_median_round"],
        "ping_rps": headline["trivial_ping"]["rps"],
        "targets": {"ratio_min": TARGET_RATIO, "p99_ms_max": TARGET_P99_MS},
        "passed": headline["passed"],
        "machine": machine(),
        "runs": runs,
    }
    write_result(RESULTS_PATH, result)


if __name__ == "__main__":
    main()
