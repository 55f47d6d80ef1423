"""Benchmark: 20 concurrent 8 MB tus uploads through gunicorn.

    python bench/bench_uploads.py [--uploads 20] [--size-mb 8] [--gunicorn gthread:2:10]

Starts PostgreSQL (with production durability), Redis and SeaweedFS on loopback, migrates a
fresh database, starts gunicorn with docker/gunicorn.conf.py (gthread: workers × threads
requests at once) and sends the photos with tuspy, each in one PATCH (the whole file as one
tus chunk: what a phone on a good link does), all at the same time. Measures:

- peak memory growth of the server: the largest sum of RSS over the gunicorn master and
  workers during the run, minus that sum after a warm-up round (target ≤ 100 MB: streaming
  holds one part per request, never a photo);
- throughput (bytes / wall time) as a share of a plain loopback copy: the same bytes sent
  over the same number of concurrent TCP connections through 127.0.0.1 into a reader that
  throws them away (a real socket transfer, not a memory copy). The upload path moves every
  byte over loopback twice (phone → gunicorn → object store), hashes it twice (the photo's
  SHA-256, and the S3 signature over plain HTTP) and has the object store write it, so a
  share of a few per cent is what a 2-core machine running all of it allows.

No Celery worker runs, so the processing messages wait in Redis and the web servers are
measured alone. Writes bench/results/uploads.json.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from _common import (
    ROOT,
    Server,
    gunicorn,
    machine,
    postgresql,
    process_tree_rss,
    redis,
    tree_cpu_seconds,
    write_result,
)
from bench_tender import parse_settings

from tests.harness import services as svc

RESULTS_PATH = ROOT / "bench" / "results" / "uploads.json"
TARGET_GROWTH_MB = 100
PASSWORD = "Bench-Password-42"
SAMPLE_EVERY_S = 0.02
WARM_UP_BYTES = 64 * 1024
MB = 1024 * 1024


@contextlib.contextmanager
def running_services(base: Path):
    """PostgreSQL, Redis and SeaweedFS; yields the environment and their process ids."""
    s3 = svc.prepare_seaweedfs(base)
    s3.spawn()
    with postgresql(base) as database, redis(base) as cache:
        s3.wait_ready()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "SECRET_KEY": "bench-only-secret-key",
            "DATABASE_URL": database.url,
            "REDIS_URL": f"{cache.url}/0",
            "CELERY_BROKER_URL": f"{cache.url}/1",
            "OBJECT_STORE_URL": s3.url,
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        try:
            yield env, [p.popen.pid for p in (database, cache, s3) if p.popen]
        finally:
            s3.stop()


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


class PeakSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, process_tree_rss(self.pid))
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


def measure(server: Server, token: str, warm, photos) -> dict:
    base_url = f"http://127.0.0.1:{server.port}"
    upload_all(base_url, token, warm)  # every worker thread has served an upload once
    time.sleep(1.0)
    baseline = process_tree_rss(server.pid)
    sampler = PeakSampler(server.pid)
    sampler.start()
    cpu_before = tree_cpu_seconds([server.pid]), tree_cpu_seconds(server.extra_pids)
    elapsed = upload_all(base_url, token, photos)
    cpu_after = tree_cpu_seconds([server.pid]), tree_cpu_seconds(server.extra_pids)
    sampler.done.set()
    sampler.join()
    peak = max(sampler.peak, process_tree_rss(server.pid))
    window = elapsed * (os.cpu_count() or 1)
    return {
        "baseline": baseline,
        "peak": peak,
        "elapsed": elapsed,
        "server_cpu_share": round((cpu_after[0] - cpu_before[0]) / window, 3),
        "services_cpu_share": round((cpu_after[1] - cpu_before[1]) / window, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--size-mb", type=float, default=8)
    parser.add_argument("--gunicorn", default="gthread:2:10", help="worker_class:workers:threads")
    args = parser.parse_args()
    size = int(args.size_mb * MB)
    settings = parse_settings(args.gunicorn)[0]
    with tempfile.TemporaryDirectory(prefix="bench_uploads_") as tmp:
        base = Path(tmp)
        with running_services(base) as (env, service_pids):
            os.environ.update(env)
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=env
            )
            username, warm_count, every = prepare_field(args.uploads, size)
            warm, photos = every[:warm_count], every[warm_count:]
            with gunicorn(
                env=env,
                folder=base,
                settings=settings,
                ready_path="/healthz",
                extra_pids=service_pids,
            ) as server:
                import requests

                token = requests.post(
                    f"http://127.0.0.1:{server.port}/api/mobile/v1/auth/token",
                    json={"username": username, "password": PASSWORD, "device_id": "bench"},
                    timeout=30,
                ).json()["access_token"]
                run = measure(server, token, warm, photos)

            from inspections.models import Photo, PhotoState

            received = Photo.objects.filter(
                uuid__in=[u for u, _ in photos], state=PhotoState.RECEIVED
            ).count()
    copy_elapsed = loopback_copy([data for _, data in photos])
    total = size * len(photos)
    growth_mb = (run["peak"] - run["baseline"]) / MB
    result = {
        "benchmark": "uploads",
        "command": "python bench/bench_uploads.py",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "uploads": len(photos),
        "bytes_per_upload": size,
        "gunicorn": settings.as_dict(),
        "patch_bytes": size,
        "received": received,
        "server_rss_baseline_mb": round(run["baseline"] / MB, 1),
        "server_rss_peak_mb": round(run["peak"] / MB, 1),
        "peak_growth_mb": round(growth_mb, 1),
        "target_growth_mb": TARGET_GROWTH_MB,
        "growth_within_target": growth_mb <= TARGET_GROWTH_MB,
        "upload_seconds": round(run["elapsed"], 3),
        "upload_mb_per_s": round(total / MB / run["elapsed"], 1),
        "server_cpu_share": run["server_cpu_share"],
        "services_cpu_share": run["services_cpu_share"],
        "loopback_copy": "TCP through 127.0.0.1, same bytes, same number of connections",
        "loopback_copy_seconds": round(copy_elapsed, 3),
        "loopback_mb_per_s": round(total / MB / copy_elapsed, 1),
        "throughput_share_of_loopback": round(copy_elapsed / run["elapsed"], 4),
    }
    write_result(RESULTS_PATH, result)
    if received != len(photos):
        raise SystemExit(f"only {received} of {len(photos)} photos arrived")


if __name__ == "__main__":
    main()
