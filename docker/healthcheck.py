"""Container health checks: `python docker/healthcheck.py web|worker|beat`; exit 0 = healthy.

- web: GET /healthz on the local gunicorn (database, broker and object store reachable).
- worker: a Celery ping answered by this container's worker.
- beat: the beat schedule file was written recently (beat rewrites it at least every few
  minutes while it runs; a hung or dead beat stops touching it).
"""

import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # /app in the image
BEAT_SCHEDULE = Path(os.environ.get("BEAT_SCHEDULE", "/app/var/celerybeat-schedule"))
# Beat syncs its schedule every 3 minutes and sleeps at most 5 between ticks: 10 minutes
# without a write means it is not running.
BEAT_STALE_S = 600


def allowed_host() -> str:
    """A Host header Django accepts: the first ALLOWED_HOSTS entry ('.example.cn' matches
    'example.cn'; '*' matches anything)."""
    first = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip()
    return first.lstrip(".") if first and first != "*" else "localhost"


def check_web() -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ.get('PORT') or 8000}/healthz",
        # Looks like the proxy's HTTPS request, so SECURE_SSL_REDIRECT does not answer 301.
        headers={"X-Forwarded-Proto": "https", "Host": allowed_host()},
    )
    with urllib.request.urlopen(request, timeout=8) as response:  # noqa: S310 (fixed local URL)
        return response.status == 200


def check_worker() -> bool:
    sys.path.insert(0, str(PROJECT_ROOT))
    from backend.celery import app

    replies = app.control.ping(destination=[f"celery@{socket.gethostname()}"], timeout=5)
    return bool(replies)


def check_beat() -> bool:
    # shelve may add a suffix (.db) depending on the dbm backend.
    files = [p for p in BEAT_SCHEDULE.parent.glob(BEAT_SCHEDULE.name + "*") if p.is_file()]
    return any(time.time() - p.stat().st_mtime < BEAT_STALE_S for p in files)


CHECKS = {"web": check_web, "worker": check_worker, "beat": check_beat}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in CHECKS:
        print(f"usage: healthcheck.py {'|'.join(CHECKS)}", file=sys.stderr)
        return 2
    try:
        healthy = CHECKS[argv[1]]()
    except Exception as exc:  # any failure to check is "unhealthy", reported for `docker inspect`
        print(f"{argv[1]} unhealthy: {exc!r}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
