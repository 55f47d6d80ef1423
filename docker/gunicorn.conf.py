"""gunicorn settings for the web container (`gunicorn backend.wsgi:application -c ...`)."""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT') or 8000}"
# Sync workers with a few threads: requests are short database round trips, and threads let a
# worker keep serving while one request waits on the object store. (2 × cores + 1) is gunicorn's
# rule of thumb; WEB_CONCURRENCY overrides it for small or shared hosts.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("WEB_THREADS") or 4)
worker_class = "gthread"
# The slowest request is a 25 MB photo PUT over a field connection (about 30 s at 7 Mbit/s);
# 60 s leaves margin while still killing a stuck worker.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak in a library cannot grow without bound; jitter
# keeps them from restarting together. A recycled worker drops its idle keep-alive connections
# and its caches (tender clients, snapshot entries), so the bound is set for hours of ordinary
# traffic, not seconds: 2,000 recycled each worker every ~2 s under tender-platform load.
max_requests = 50_000
max_requests_jitter = 5_000
# Behind the reverse proxy: trust its X-Forwarded-* headers (the container is not exposed).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "*"
# No gunicorn access log: backend.middleware writes one JSON line per request with its request
# id, route and duration, and a second, id-less line would only double the volume.
accesslog = None
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
# Workers start from an imported app: faster forks and import errors stop the master at boot.
preload_app = True
