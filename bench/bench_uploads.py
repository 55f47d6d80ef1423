"""Benchmark: 20 concurrent 8 MB tus uploads through gunicorn.

    python bench/bench_uploads.py [--uploads 20] [--size-mb 8] [--workers 2] [--threads 10]

Starts PostgreSQL, Redis and SeaweedFS on loopback (the test harness's launchers), migrates a
fresh database, starts gunicorn (gthread: `--workers` × `--threads` requests at once) and sends
the photos with tuspy, each in one PATCH, all at the same time. Measures:

- peak memory growth of the server: the largest sum of RSS over the gunicorn master and
  workers during the run, minus that sum after a warm-up round (target ≤ 100 MB: streaming
  holds one 1 MiB part per request, never a photo);
- throughput (bytes / wall time) as a share of a plain loopback copy of the same bytes by the
  same number of concurrent connections into a reader that throws them away.

No Celery worker runs, so the processing messages wait in Redis and the web servers are
measured alone. Writes bench/results/uploads.json.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import services as svc  # noqa: E402 - needs the path above

RESULTS_PATH = ROOT / "bench" / "results" / "uploads.json"
TARGET_GROWTH_MB = 100
PASSWORD = "Bench-Password-42"
SAMPLE_EVERY_S = 0.02
WARM_UP_BYTES = 64 * 1024
MB = 1024 * 1024


def start_services(base: Path) -> tuple[list[svc.ServiceProcess], dict[str, str]]:
    postgresql, initdb = svc.prepare_postgresql(base)
    redis = svc.prepare_redis(base)
    s3 = svc.prepare_seaweedfs(base)
    redis.spawn()
    s3.spawn()
    svc.finish_postgresql(postgresql, initdb)
    for service in (redis, s3, postgresql):
        service.wait_ready()
    svc.create_database(postgresql)
    env = {
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "SECRET_KEY": "bench-only-secret-key",
        "DATABASE_URL": postgresql.url,
        "REDIS_URL": f"{redis.url}/0",
        "CELERY_BROKER_URL": f"{redis.url}/1",
        "OBJECT_STORE_URL": s3.url,
        "LOG_LEVEL": "WARNING",
    }
    return [postgresql, redis, s3], env


def prepare_field(uploads: int, size: int) -> tuple[str, int, list[tuple[uuid.UUID, bytes]]]:
    """An inspector, a compound, one inspection and findings declaring the photo slots."""
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from credit.models import Region, RegionLevel, StaffProfile, StaffRole
    from inspections.models import Project
    from inspections.services import PhotoSlot, finding_put, inspection_put

    region, _ = Region.objects.get_or_create(
        code="150100", defaults={"name": "呼和浩特市", "level": RegionLevel.LEAGUE_CITY}
    )
    user = get_user_model().objects.create_user(username="bench", password=PASSWORD)
    profile = StaffProfile.objects.create(user=user, role=StaffRole.INSPECTOR)
    profile.regions.set([region])
    project = Project.objects.create(
        name="基准小区",
        address="基准路1号",
        region=region,
        lat=40.84,
        lon=111.75,
        building_area_m2=10000,
        project_type="residential",
    )
    inspection_uuid = uuid.uuid4()
    started = timezone.now() - timedelta(hours=1)
    inspection_put(
        user=user,
        inspection_uuid=inspection_uuid,
        project_id=project.id,
        task_id=None,
        started_at=started,
        location=None,
        note="",
    )
    photos = [(uuid.uuid4(), os.urandom(size)) for _ in range(uploads)]
    warm = [(uuid.uuid4(), os.urandom(WARM_UP_BYTES)) for _ in range(uploads)]
    per_finding = 10  # the API's limit of photos per finding
    every = warm + photos
    for start in range(0, len(every), per_finding):
        finding_put(
            user=user,
            inspection_uuid=inspection_uuid,
            finding_uuid=uuid.uuid4(),
            violation_code="SANITATION",
            description="",
            observed_at=started,
            location=None,
            photos=[
                PhotoSlot(
                    photo_uuid=u,
                    sha256=hashlib.sha256(d).hexdigest(),
                    size_bytes=len(d),
                    content_type="image/jpeg",
                )
                for u, d in every[start : start + per_finding]
            ],
        )
    return user.username, len(warm), every


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int, log: Path):
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "backend.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--preload",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not start; see {log}")


def server_rss(master: psutil.Process) -> int:
    total = 0
    for process in [master, *master.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # a worker recycled mid-sample
            total += process.memory_info().rss
    return total


class PeakSampler(threading.Thread):
    def __init__(self, master: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.master, self.peak, self.done = master, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, server_rss(self.master))
            time.sleep(SAMPLE_EVERY_S)


def upload_all(base_url: str, token: str, photos: list[tuple[uuid.UUID, bytes]]) -> float:
    from tusclient import client as tus

    errors: list[BaseException] = []
    barrier = threading.Barrier(len(photos))

    def send(photo_uuid: uuid.UUID, data: bytes) -> None:
        try:
            uploader = tus.TusClient(
                f"{base_url}/api/mobile/v1/uploads/", headers={"Authorization": f"Bearer {token}"}
            ).uploader(
                file_stream=io.BytesIO(data),
                chunk_size=len(data),
                metadata={
                    "photo_uuid": str(photo_uuid),
                    "filename": "x.jpg",
                    "content_type": "image/jpeg",
                },
            )
            barrier.wait()
            uploader.upload()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=photo) for photo in photos]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"uploads failed: {errors[:3]}")
    return time.perf_counter() - started


def loopback_copy(payloads: list[bytes]) -> float:
    """The same bytes over the same number of concurrent loopback connections, discarded."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=len(payloads))
    port = listener.getsockname()[1]

    def drain(conn: socket.socket) -> None:
        buffer = bytearray(1024 * 1024)
        with conn:
            while conn.recv_into(buffer):
                pass

    def accept_all() -> None:
        for _ in payloads:
            conn, _ = listener.accept()
            threading.Thread(target=drain, args=(conn,), daemon=True).start()

    acceptor = threading.Thread(target=accept_all, daemon=True)
    acceptor.start()

    def send(data: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1)

    threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    listener.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--size-mb", type=float, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=10)
    args = parser.parse_args()
    size = int(args.size_mb * MB)
    base = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
    base.chmod(0o711)
    services, env = start_services(base)
    os.environ.update(env)
    gunicorn = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT,
            check=True,
            env={**os.environ, **env},
        )
        username, warm_count, every = prepare_field(args.uploads, size)
        warm, photos = every[:warm_count], every[warm_count:]
        port = svc.free_port()
        gunicorn = start_gunicorn(env, port, args.workers, args.threads, base / "gunicorn.log")
        base_url = f"http://127.0.0.1:{port}"
        import requests

        token = requests.post(
            f"{base_url}/api/mobile/v1/auth/token",
            json={"username": username, "password": PASSWORD, "device_id": "bench"},
            timeout=30,
        ).json()["access_token"]
        upload_all(base_url, token, warm)  # every worker thread has served an upload once
        time.sleep(1.0)
        master = psutil.Process(gunicorn.pid)
        baseline = server_rss(master)
        sampler = PeakSampler(master)
        sampler.start()
        elapsed = upload_all(base_url, token, photos)
        sampler.done.set()
        sampler.join()
        peak = max(sampler.peak, server_rss(master))

        from inspections.models import Photo, PhotoState

        received = Photo.objects.filter(
            uuid__in=[u for u, _ in photos], state=PhotoState.RECEIVED
        ).count()
        copy_elapsed = loopback_copy([data for _, data in photos])
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        for service in reversed(services):
            service.stop()

    total = size * len(photos)
    growth_mb = (peak - baseline) / MB
    result = {
        "benchmark": "uploads",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "uploads": len(photos),
        "bytes_per_upload": size,
        "gunicorn": {"worker_class": "gthread", "workers": args.workers, "threads": args.threads},
        "received": received,
        "server_rss_baseline_mb": round(baseline / MB, 1),
        "server_rss_peak_mb": round(peak / MB, 1),
        "peak_growth_mb": round(growth_mb, 1),
        "target_growth_mb": TARGET_GROWTH_MB,
        "growth_within_target": growth_mb <= TARGET_GROWTH_MB,
        "upload_seconds": round(elapsed, 3),
        "upload_mb_per_s": round(total / MB / elapsed, 1),
        "loopback_copy_seconds": round(copy_elapsed, 3),
        "loopback_mb_per_s": round(total / MB / copy_elapsed, 1),
        "throughput_share_of_loopback": round(copy_elapsed / elapsed, 4),
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if received != len(photos):
        raise SystemExit(f"only {received} of {len(photos)} photos arrived")


if __name__ == "__main__":
    main()
