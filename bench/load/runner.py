"""Load test (`make load`): inspectors syncing, tender look-ups and public pages at once.

    python bench/load/runner.py [--duration 300] [--inspectors 200] [--tender-rps 50]
                                [--public-rps 20] [--enterprises 500]

Starts PostgreSQL, Redis and SeaweedFS on loopback (the test harness's launchers), migrates,
seeds demo enterprises and projects, a year of credit history with its snapshots, the load
inspectors with tasks in their leagues and a tender client; starts gunicorn with
docker/gunicorn.conf.py (bound to 127.0.0.1) and a real Celery worker; then runs locust
headless (bench/load/locustfile.py) for `--duration` seconds, hard-stopped. Every second it
samples the RSS and CPU of each server and the Celery queue depth. Afterwards it waits for the
worker to drain the queue, runs the photo sweeper, and checks that no photo is left
`received` and that gunicorn logged no 5xx.

Figures come from locust's per-request log: throughput and p50/p95/p99 per route over the
whole run and over the steady part (after every inspector has signed in), and every error with
its status and body. Writes bench/results/load.json and the `<!-- load -->` section of
docs/performance.md and bench/load/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.harness import services as svc  # noqa: E402 - needs the path above

if TYPE_CHECKING:
    from bench.load.seed import LoadData

HERE = Path(__file__).resolve().parent
RESULTS_PATH = ROOT / "bench" / "results" / "load.json"
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
README = HERE / "README.md"
SECTION_START, SECTION_END = "<!-- load -->", "<!-- /load -->"
VENV_BIN = Path(sys.executable).parent
MB = 1024 * 1024
SAMPLE_EVERY_S = 1.0
# Each constant-rate user sends one request a second, so a reply may take up to a second
# before the user falls behind its rate (a closed loop would hide a slow server).
PER_USER_RPS = 1.0
# Five preloaded workers on a busy 2-core machine can take most of a minute to answer.
GUNICORN_START_TIMEOUT_S = 120.0
# An inspector's step (walk, frame a photo, type a note) takes 10–30 s: about one inspection
# every four minutes, some fifteen times a real field pace, so 200 phones load like 3,000.
THINK_S = (10.0, 30.0)
PHOTO_VARIANTS = 24
PHOTO_SIZE = (1600, 1200)  # a downsized phone photo: 150–300 KB as JPEG with sensor noise
# The worker must drain what was queued; 3 minutes means "not catching up", not "slow".
CATCH_UP_TIMEOUT_S = 180.0
BACKLOG_TIMEOUT_S = 300.0
# locust stops at --run-time; past this grace the runner kills it (the hard stop).
LOCUST_GRACE_S = 60.0
STEADY_MARGIN_S = 5.0
ERROR_BODY_CHARS = 300
ACCESS_LOGGER = "backend.access"  # one JSON line per answered request (backend/logs.py)
WORKER_TIMEOUT = "WORKER TIMEOUT"


# --- services ---------------------------------------------------------------------------------


@dataclass
class Stack:
    base: Path
    env: dict[str, str]
    services: list[svc.ServiceProcess] = field(default_factory=list)
    gunicorn: subprocess.Popen | None = None
    port: int = 0

    def stop(self) -> None:
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.terminate()
            try:
                self.gunicorn.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
        for service in reversed(self.services):
            service.stop()


def start_services(base: Path) -> Stack:
    postgresql, initdb = svc.prepare_postgresql(base)
    redis = svc.prepare_redis(base)
    s3 = svc.prepare_seaweedfs(base)
    stack = Stack(base=base, env={}, services=[postgresql, redis, s3])
    redis.spawn()
    s3.spawn()
    svc.finish_postgresql(postgresql, initdb)
    for service in (redis, s3, postgresql):
        service.wait_ready()
    svc.create_database(postgresql)
    stack.env = {
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "SECRET_KEY": "load-test-only-secret-key-0123456789abcdef",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": postgresql.url,
        "REDIS_URL": f"{redis.url}/0",
        "CELERY_BROKER_URL": f"{redis.url}/1",
        "OBJECT_STORE_URL": s3.url,
        "STATIC_ROOT": str(base / "static"),
        "CREDIT_OBJECTION_WORKING_DAYS": "0",
    }
    return stack


def manage(stack: Stack, *command: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *command, "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **stack.env},
        check=True,
    )


def start_worker(stack: Stack) -> svc.ServiceProcess:
    worker = svc.prepare_celery_worker(stack.base, env={**os.environ, **stack.env}, name="load")
    stack.services.append(worker)
    worker.start()
    return worker


def start_gunicorn(stack: Stack) -> None:
    """Production settings (docker/gunicorn.conf.py); only the address moves to loopback."""
    stack.port = svc.free_port()
    log = (stack.base / "gunicorn.log").open("wb")
    stack.gunicorn = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "backend.wsgi:application",
            "-c",
            str(ROOT / "docker" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{stack.port}",
        ],
        cwd=ROOT,
        env={**os.environ, **stack.env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + GUNICORN_START_TIMEOUT_S
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{stack.port}/healthz", timeout=5),
        ):
            return
        if stack.gunicorn.poll() is not None:
            break
        time.sleep(0.3)
    log.close()
    tail = "\n".join((stack.base / "gunicorn.log").read_text(errors="replace").splitlines()[-40:])
    raise SystemExit(f"gunicorn did not answer /healthz with 200:\n{tail}")


# --- photos -----------------------------------------------------------------------------------


def write_photos(folder: Path) -> list[int]:
    """Phone-like JPEGs (shapes under sensor noise, EXIF from Hohhot), made once per run."""
    from PIL import Image

    from tests.inspections import imagefactory

    folder.mkdir()
    sizes = []
    for seed in range(PHOTO_VARIANTS):
        scene = imagefactory.scene(*PHOTO_SIZE, seed=seed)
        noise = Image.effect_noise(PHOTO_SIZE, 20 + seed % 6 * 5).convert("RGB")
        data = imagefactory.encode(
            Image.blend(scene, noise, 0.15), "JPEG", quality=80, exif=imagefactory.hohhot_exif()
        )
        (folder / f"photo-{seed:02d}.jpg").write_bytes(data)
        sizes.append(len(data))
    return sizes


# --- sampling ---------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Once a second: RSS and CPU of each process group, machine CPU, Celery queue depth."""

    def __init__(self, groups: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.groups = groups
        self.samples: list[dict] = []
        self.done = threading.Event()
        self.cpu_seen: dict[int, float] = {}

    def processes(self, root_pid: int) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(root_pid)
            return [root, *root.children(recursive=True)]
        return []

    def group_figures(self, root_pid: int) -> tuple[float, float, float]:
        """(RSS MB, PSS MB, CPU seconds used since the last sample) over a process and its
        children. RSS counts the pages forked workers share once per worker; PSS splits them."""
        rss, pss, cpu = 0, 0, 0.0
        for process in self.processes(root_pid):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                memory = process.memory_full_info()
                rss += memory.rss
                pss += memory.pss
                times = process.cpu_times()
                total = times.user + times.system
                cpu += total - self.cpu_seen.get(process.pid, 0.0 if self.samples else total)
                self.cpu_seen[process.pid] = total
        return rss / MB, pss / MB, cpu

    def run(self) -> None:
        from backend.observability import celery_queue_lengths

        psutil.cpu_percent(interval=None)
        last = time.monotonic()
        while not self.done.is_set():
            sample: dict = {"t": time.time()}
            now = time.monotonic()
            elapsed, last = max(now - last, 1e-3), now
            for name, pid in self.groups.items():
                rss, pss, cpu = self.group_figures(pid)
                sample[f"{name}_rss_mb"] = round(rss, 1)
                sample[f"{name}_pss_mb"] = round(pss, 1)
                sample[f"{name}_cpu_pct"] = round(100 * cpu / elapsed, 1)
            sample["machine_cpu_pct"] = psutil.cpu_percent(interval=None)
            with contextlib.suppress(Exception):  # a failed probe leaves a gap, not a crash
                sample["queue"] = int(sum(celery_queue_lengths().values()))
            self.samples.append(sample)
            self.done.wait(SAMPLE_EVERY_S)


# --- load -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadPlan:
    duration_s: int
    ramp_s: float
    inspectors: int
    tender_users: int
    public_users: int

    @property
    def users(self) -> int:
        return self.inspectors + self.tender_users + self.public_users


def locust_command(plan: LoadPlan, host: str, csv_prefix: Path) -> list[str]:
    return [
        str(VENV_BIN / "locust"),
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "-u",
        str(plan.users),
        # All users exist within seconds; inspectors then spread their sign-ins over the ramp.
        "-r",
        "50",
        "--run-time",
        f"{plan.duration_s}s",
        "--stop-timeout",
        "0",
        "--host",
        host,
        "--csv",
        str(csv_prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]


# --- figures ----------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (the value below which q of the samples fall)."""
    index = max(0, math.ceil(q * len(sorted_values)) - 1)
    return round(sorted_values[index], 1)


def route_figures(rows: list[dict], seconds: float) -> dict[str, dict]:
    by_route: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_route[row["route"]].append(row)
    figures = {}
    for route, entries in sorted(by_route.items()):
        times = sorted(entry["ms"] for entry in entries)
        errors = [entry for entry in entries if entry.get("error") is not None]
        figures[route] = {
            "requests": len(entries),
            "rps": round(len(entries) / seconds, 2),
            "p50_ms": percentile(times, 0.50),
            "p95_ms": percentile(times, 0.95),
            "p99_ms": percentile(times, 0.99),
            "max_ms": round(times[-1], 1),
            "errors": len(errors),
            "statuses": dict(sorted(Counter(str(entry["status"]) for entry in entries).items())),
        }
    return figures


def window(rows: list[dict], start: float, end: float) -> dict:
    chosen = [row for row in rows if start <= row["t"] < end]
    seconds = max(end - start, 1e-3)
    return {
        "seconds": round(seconds, 1),
        "requests": len(chosen),
        "rps": round(len(chosen) / seconds, 1),
        "routes": route_figures(chosen, seconds),
    }


def error_list(rows: list[dict]) -> list[dict]:
    grouped = Counter(
        (row["route"], row["status"], row["error"]) for row in rows if row.get("error") is not None
    )
    return [
        {"route": route, "status": status, "body": body, "count": count}
        for (route, status, body), count in grouped.most_common()
    ]


def last_nonzero(values: list[float]) -> float:
    """The last figure measured while the process still ran (locust exits before the end)."""
    return next((value for value in reversed(values) if value), 0.0)


def resource_figures(samples: list[dict], groups: list[str], start: float, end: float) -> dict:
    during = [s for s in samples if start <= s["t"] <= end] or samples
    figures: dict = {}
    for name in groups:
        rss = [s[f"{name}_rss_mb"] for s in during]
        pss = [s[f"{name}_pss_mb"] for s in during]
        cpu = [s[f"{name}_cpu_pct"] for s in during[1:]] or [0.0]
        figures[name] = {
            "rss_peak_mb": max(rss),
            "rss_end_mb": last_nonzero(rss),
            "pss_peak_mb": max(pss),
            "pss_end_mb": last_nonzero(pss),
            "cpu_mean_pct_of_one_core": round(statistics.fmean(cpu), 1),
            "cpu_peak_pct_of_one_core": max(cpu),
        }
    machine = [s["machine_cpu_pct"] for s in during[1:]] or [0.0]
    ours = sum(figures[name]["cpu_mean_pct_of_one_core"] for name in groups)
    cores = os.cpu_count() or 1
    figures["machine"] = {
        "cpu_mean_pct": round(statistics.fmean(machine), 1),
        # Whatever else ran on the machine meanwhile (other jobs, the kernel), in % of one core.
        "other_processes_cpu_pct_of_one_core": round(
            max(0.0, statistics.fmean(machine) * cores - ours), 1
        ),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "samples_above_95_pct": sum(1 for value in machine if value > 95),
        "samples": len(machine),
    }
    queue = [s["queue"] for s in during if "queue" in s]
    figures["celery_queue"] = {"peak": max(queue, default=0), "end": queue[-1] if queue else None}
    return figures


def locust_exceptions(csv_prefix: Path) -> list[dict]:
    """Exceptions raised inside locust tasks (a bug in the load script, not a server answer):
    counted as errors too, since a task that stops early sends less load than planned."""
    path = Path(f"{csv_prefix}_exceptions.csv")
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            {"count": int(row["Count"]), "message": row["Message"][:ERROR_BODY_CHARS]}
            for row in csv.DictReader(handle)
        ]


def server_statuses(gunicorn_log: Path) -> tuple[dict[str, int], int]:
    """(Answers by status from the app's JSON access log, gunicorn worker timeouts): a worker
    killed mid-request answers nothing, so it shows up only as a timeout line."""
    counts: Counter = Counter()
    timeouts = 0
    for line in gunicorn_log.read_text(errors="replace").splitlines():
        if WORKER_TIMEOUT in line:
            timeouts += 1
        if not line.startswith("{"):
            continue
        with contextlib.suppress(json.JSONDecodeError):
            entry = json.loads(line)
            if entry.get("logger") == ACCESS_LOGGER and "status" in entry:
                counts[str(entry["status"])] += 1
    return dict(sorted(counts.items())), timeouts


def photo_states() -> dict[str, int]:
    from django.db.models import Count

    from inspections.models import Photo

    rows = Photo.objects.values("state").annotate(n=Count("id")).order_by("state")
    return {row["state"]: row["n"] for row in rows}


def queue_depth() -> int:
    from backend.observability import celery_queue_lengths

    return int(sum(celery_queue_lengths().values()))


def drain_backlog() -> float:
    """Seeding queues a recompute per credit record; the load starts once the worker has done
    them, so the run measures the load and not the seeding's leftovers."""
    started = time.monotonic()
    while queue_depth() and time.monotonic() - started < BACKLOG_TIMEOUT_S:
        time.sleep(1.0)
    return round(time.monotonic() - started, 1)


def catch_up() -> dict:
    """Wait for an empty queue and no photo `received`, run the sweeper, wait again. (The
    sweeper re-queues only photos `received` for 10 minutes, longer than a run: here it shows
    that nothing older was lost, and the wait shows that nothing newer is left.)"""
    from inspections.models import Photo, PhotoState
    from inspections.tasks import sweep_photos

    def drained() -> bool:
        return not queue_depth() and not Photo.objects.filter(state=PhotoState.RECEIVED).exists()

    started = time.monotonic()
    deadline = started + CATCH_UP_TIMEOUT_S
    while not drained() and time.monotonic() < deadline:
        time.sleep(1.0)
    drained_after = round(time.monotonic() - started, 1)
    requeued = sweep_photos()
    while not drained() and time.monotonic() < deadline:
        time.sleep(1.0)
    states = photo_states()
    return {
        "drained_after_s": drained_after,
        "sweeper_requeued": requeued,
        "photo_states": states,
        "received_left": states.get(PhotoState.RECEIVED, 0),
        "queue_left": queue_depth(),
        "caught_up": drained(),
    }


# --- report -----------------------------------------------------------------------------------


def summary_line(result: dict) -> str:
    steady = result["steady"]
    achieved = {
        kind: round(sum(f["rps"] for r, f in steady["routes"].items() if match(r)), 1)
        for kind, match in ROUTE_KINDS.items()
    }
    return (
        f"{result['plan']['inspectors']} inspectors + {achieved['tender']} tender and "
        f"{achieved['public']} public req/s achieved (targets {result['targets']['tender_rps']} "
        f"and {result['targets']['public_rps']}) over {result['plan']['duration_s']} s; "
        f"{result['errors_total']} errors, {result['client_5xx']} 5xx seen by clients, "
        f"{result['server_5xx']} among {result['server_answers']} answers in the server's "
        f"access log, {result['gunicorn_worker_timeouts']} worker timeouts; worker caught up: "
        f"{result['catch_up']['caught_up']}"
    )


ROUTE_KINDS = {
    "inspector": lambda route: "/api/mobile/" in route,
    "tender": lambda route: "/api/tender/" in route,
    "public": lambda route: "/credit/" in route,
}


def markdown(result: dict) -> str:
    res = result["resources"]
    lines = [
        "## Load: inspectors, tender look-ups and public pages together",
        "",
        f"Command: `{result['command']}` (locust: `{result['locust_command']}`), "
        f"measured {result['measured_at']} on {result['machine']['cpus']} cores; the load "
        "generator runs on the same machine and competes with the server for them.",
        "",
        f"**{result['summary']}**",
        "",
        f"Steady part: the last {result['steady']['seconds']:.0f} s, once the "
        f"{result['plan']['ramp_s']:.0f} s ramp was over and the last of "
        f"{result['sign_ins_answered']} sign-ins was answered (after "
        f"{result['last_sign_in_answered_after_s']} s; one PBKDF2 check costs about 0.8 s of "
        "server CPU).",
        "",
        "| route | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for route, f in result["steady"]["routes"].items():
        lines.append(
            f"| `{route}` | {f['rps']} | {f['p50_ms']} | {f['p95_ms']} | {f['p99_ms']} "
            f"| {f['max_ms']} | {f['errors']} |"
        )
    lines += [
        "",
        "Whole run including the sign-in ramp:",
        "",
        "| route | requests | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for route, f in result["run"]["routes"].items():
        lines.append(
            f"| `{route}` | {f['requests']} | {f['p50_ms']} | {f['p95_ms']} | {f['p99_ms']} "
            f"| {f['errors']} |"
        )
    lines += [
        "",
        "Memory is summed over each server's processes (gunicorn: master and workers). RSS",
        "counts the pages the forked workers share once per worker; PSS shares them out.",
        "",
        "| process | RSS peak MB | RSS at end MB | PSS peak MB | PSS at end MB "
        "| CPU mean (% of one core) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in result["process_groups"]:
        f = res[name]
        lines.append(
            f"| {name} | {f['rss_peak_mb']} | {f['rss_end_mb']} | {f['pss_peak_mb']} "
            f"| {f['pss_end_mb']} | {f['cpu_mean_pct_of_one_core']} |"
        )
    machine = res["machine"]
    catch = result["catch_up"]
    lines += [
        "",
        f"Machine CPU: mean {machine['cpu_mean_pct']} %, above 95 % for "
        f"{machine['samples_above_95_pct']} of {machine['samples']} samples; processes "
        "outside the test used "
        f"{machine['other_processes_cpu_pct_of_one_core']} % of one core. Celery queue "
        f"peak {res['celery_queue']['peak']}. After the run the worker drained in "
        f"{catch['drained_after_s']} s; the sweeper re-queued {catch['sweeper_requeued']}; "
        f"photos by state {catch['photo_states']}; `received` left: {catch['received_left']}.",
        "",
    ]
    for error in result["load_script_exceptions"]:
        lines.append(f"- load script exception ×{error['count']}: {error['message']}")
    if result["errors"]:
        lines += ["Errors (route, status, count, body):", ""]
        for error in result["errors"]:
            body = error["body"].replace("\n", " ").replace("|", "\\|")
            lines.append(f"- `{error['route']}` {error['status']} ×{error['count']}: {body}")
        lines.append("")
    else:
        lines += ["No request failed.", ""]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    block = f"{SECTION_START}\n{text}\n{SECTION_END}"
    current = path.read_text() if path.exists() else ""
    if SECTION_START in current and SECTION_END in current:
        before, rest = current.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1]
        updated = before + block + after
    elif "<!-- results -->" in current:  # stay in the head the summariser keeps
        before, after = current.split("<!-- results -->", 1)
        updated = before.rstrip() + "\n\n" + block + "\n\n<!-- results -->" + after
    else:
        updated = (current.rstrip() + "\n\n" if current else "") + block + "\n"
    path.write_text(updated)


# --- main -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=300, help="seconds of load")
    parser.add_argument("--inspectors", type=int, default=200)
    parser.add_argument("--tender-rps", type=float, default=50.0)
    parser.add_argument("--public-rps", type=float, default=20.0)
    parser.add_argument("--enterprises", type=int, default=500)
    parser.add_argument("--tasks-per-inspector", type=int, default=3)
    parser.add_argument(
        "--ramp", type=float, default=None, help="seconds over which inspectors sign in"
    )
    return parser.parse_args()


def main() -> int:
    # A SIGTERM (a CI timeout, a `kill`) unwinds through `finally`, stopping every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args()
    command = " ".join(["python", "bench/load/runner.py", *sys.argv[1:]])
    # A third of the run, at most 100 s: 200 sign-ins × 0.8 s of CPU need about that long on
    # two cores without starving the rest.
    ramp_s = args.ramp if args.ramp is not None else min(100.0, args.duration / 3)
    plan = LoadPlan(
        duration_s=args.duration,
        ramp_s=ramp_s,
        inspectors=args.inspectors,
        tender_users=math.ceil(args.tender_rps / PER_USER_RPS),
        public_users=math.ceil(args.public_rps / PER_USER_RPS),
    )
    base = Path(tempfile.mkdtemp(prefix="wuye-load-"))
    base.chmod(0o711)  # the postgres account must reach its folder inside
    stack = start_services(base)
    try:
        return run(args, plan, stack, command)
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)


@dataclass(frozen=True)
class Seeding:
    data: LoadData
    photo_sizes: list[int]
    seconds: float


@dataclass(frozen=True)
class LoadRun:
    locust: list[str]
    exit_code: int
    start: float  # wall clock, as the request log's timestamps
    end: float
    process_groups: list[str]
    samples: list[dict]
    catch_up: dict


def run(args: argparse.Namespace, plan: LoadPlan, stack: Stack, command: str) -> int:
    os.environ.update(stack.env)
    seeding = seed(args, stack)
    config_path = write_load_config(plan, stack, seeding.data)
    groups, backlog_s = start_servers(stack)
    load = run_load(plan, stack, groups, config_path)
    result = load_result(
        args=args,
        plan=plan,
        stack=stack,
        command=command,
        seeding=seeding,
        backlog_s=backlog_s,
        load=load,
    )
    write_report(result)
    return 0 if healthy(result) else 1


def seed(args: argparse.Namespace, stack: Stack) -> Seeding:
    started = time.monotonic()
    manage(stack, "migrate", "--no-input")
    manage(stack, "collectstatic", "--no-input")
    import django

    django.setup()
    from bench.load.seed import seed_load_data

    data = seed_load_data(
        enterprises=args.enterprises,
        inspectors=args.inspectors,
        tasks_per_inspector=args.tasks_per_inspector,
        progress=lambda message: print(
            f"[{time.monotonic() - started:5.0f} s] seeding {message}", flush=True
        ),
    )
    photo_sizes = write_photos(stack.base / "photos")
    seed_s = round(time.monotonic() - started, 1)
    print(f"seeded in {seed_s} s: {data.projects} projects, {data.tasks} tasks", flush=True)
    return Seeding(data=data, photo_sizes=photo_sizes, seconds=seed_s)


def write_load_config(plan: LoadPlan, stack: Stack, data: LoadData) -> Path:
    """The seeded data and the plan, for locustfile.py (it reads the file named by
    LOAD_CONFIG: locust's users run in its processes, not in this one)."""
    config = {
        "data": data.as_dict(),
        "photos_dir": str(stack.base / "photos"),
        "request_log": str(stack.base / "requests.jsonl"),
        "inspectors": plan.inspectors,
        "tender_users": plan.tender_users,
        "public_users": plan.public_users,
        "per_user_rps": PER_USER_RPS,
        "think_s": list(THINK_S),
        "ramp_s": plan.ramp_s,
    }
    config_path = stack.base / "load-config.json"
    config_path.write_text(json.dumps(config, ensure_ascii=False))
    return config_path


def start_servers(stack: Stack) -> tuple[dict[str, int], float]:
    """Worker and gunicorn up, the seeding backlog done; returns the process groups to
    sample (name: root pid) and how long the backlog took."""
    worker = start_worker(stack)
    backlog_s = drain_backlog()
    print(f"worker drained the seeding backlog in {backlog_s} s", flush=True)
    start_gunicorn(stack)
    assert stack.gunicorn is not None and worker.popen is not None
    postgresql, redis, s3 = stack.services[:3]
    groups = {
        "gunicorn": stack.gunicorn.pid,
        "celery_worker": worker.popen.pid,
        "postgresql": postgresql.popen.pid,
        "redis": redis.popen.pid,
        "seaweedfs": s3.popen.pid,
    }
    return groups, backlog_s


def run_load(plan: LoadPlan, stack: Stack, groups: dict[str, int], config_path: Path) -> LoadRun:
    """locust for the planned time with every server sampled, then the worker's catch-up."""
    host = f"http://127.0.0.1:{stack.port}"
    locust = locust_command(plan, host, stack.base / "locust")
    env = {**os.environ, "LOAD_CONFIG": str(config_path)}
    print(f"locust: {plan.users} users for {plan.duration_s} s against {host}", flush=True)
    load_start = time.time()
    with (stack.base / "locust.log").open("wb") as out:
        process = subprocess.Popen(locust, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = Sampler({**groups, "locust": process.pid})
        sampler.start()
        locust_code = wait_for_locust(process, plan.duration_s + LOCUST_GRACE_S)
    load_end = time.time()
    catch = catch_up()
    sampler.done.set()
    sampler.join()
    return LoadRun(
        locust=locust,
        exit_code=locust_code,
        start=load_start,
        end=load_end,
        process_groups=[*groups, "locust"],
        samples=sampler.samples,
        catch_up=catch,
    )


def wait_for_locust(process: subprocess.Popen, timeout_s: float) -> int:
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:  # the hard stop
        process.kill()
        return process.wait()


def load_result(
    *,
    args: argparse.Namespace,
    plan: LoadPlan,
    stack: Stack,
    command: str,
    seeding: Seeding,
    backlog_s: float,
    load: LoadRun,
) -> dict:
    traffic = traffic_figures(stack, plan, load)
    group_names = load.process_groups
    result = {
        "benchmark": "load",
        "command": command,
        "locust_command": " ".join(["locust", *load.locust[1:]])
        .replace(str(ROOT) + "/", "")
        .replace(str(stack.base), "$TMP"),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "plan": plan_figures(plan),
        "targets": {"tender_rps": args.tender_rps, "public_rps": args.public_rps, "errors": 0},
        "seed": seed_figures(seeding),
        "locust_exit_code": load.exit_code,
        "seeding_backlog_drained_s": backlog_s,
        **traffic,
        "process_groups": group_names,
        "resources": resource_figures(load.samples, group_names, load.start, load.end),
        "catch_up": load.catch_up,
    }
    result["summary"] = summary_line(result)
    return result


def plan_figures(plan: LoadPlan) -> dict:
    return {
        "duration_s": plan.duration_s,
        "ramp_s": plan.ramp_s,
        "inspectors": plan.inspectors,
        "tender_users": plan.tender_users,
        "public_users": plan.public_users,
        "per_user_rps": PER_USER_RPS,
        "inspector_think_s": list(THINK_S),
        "gunicorn": "docker/gunicorn.conf.py (WEB_CONCURRENCY unset: 2 × cores + 1 workers)",
        "celery_worker": "solo pool, one process",
    }


def seed_figures(seeding: Seeding) -> dict:
    data = seeding.data
    return {
        "seconds": seeding.seconds,
        "enterprises": len(data.usccs),
        "projects": data.projects,
        "tasks": data.tasks,
        "credit_records": data.credit_records,
        "snapshots": data.snapshots,
        "blacklisted": len(data.blacklisted),
        "photo_kb_min": min(seeding.photo_sizes) // 1024,
        "photo_kb_max": max(seeding.photo_sizes) // 1024,
    }


def traffic_figures(stack: Stack, plan: LoadPlan, load: LoadRun) -> dict:
    """What the clients saw (locust's request log) and the server answered (its access log)."""
    request_log = stack.base / "requests.jsonl"
    rows = [json.loads(line) for line in request_log.read_text().splitlines() if line]
    sign_ins = [row for row in rows if row["route"].endswith("/auth/token")]
    # Steady once the ramp is over and the last sign-in has been answered.
    signed_in_by = max((row["t"] + row["ms"] / 1000 for row in sign_ins), default=load.start)
    steady_start = max(load.start + plan.ramp_s, signed_in_by) + STEADY_MARGIN_S
    run_window = window(rows, load.start, load.end + 1)
    steady = window(rows, steady_start, load.end + 1)
    errors = error_list(rows)
    script_errors = locust_exceptions(stack.base / "locust")
    statuses, worker_timeouts = server_statuses(stack.base / "gunicorn.log")
    return {
        "sign_ins_answered": len(sign_ins),
        "last_sign_in_answered_after_s": round(signed_in_by - load.start, 1),
        "requests_total": len(rows),
        "errors_total": sum(error["count"] for error in [*errors, *script_errors]),
        "load_script_exceptions": script_errors,
        "client_5xx": sum(1 for row in rows if row["status"] >= 500),
        "server_5xx": sum(n for status, n in statuses.items() if status.startswith("5")),
        "server_statuses": statuses,
        "server_answers": sum(statuses.values()),
        "gunicorn_worker_timeouts": worker_timeouts,
        "run": run_window,
        "steady": steady,
        "errors": errors,
    }


def write_report(result: dict) -> None:
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    text = markdown(result)
    write_section(PERFORMANCE_DOC, text)
    write_section(README, text)
    print(text)


def healthy(result: dict) -> bool:
    return bool(
        not result["errors_total"]
        and not result["server_5xx"]
        and not result["gunicorn_worker_timeouts"]
        and result["server_statuses"]  # an empty access log would make "no 5xx" meaningless
        and result["catch_up"]["caught_up"]
    )


if __name__ == "__main__":
    sys.exit(main())
