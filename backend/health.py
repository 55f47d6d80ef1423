"""`/healthz`: is the database, the broker and the object store reachable? 200 or 503."""

import logging
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from backend import storage

logger = logging.getLogger(__name__)


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from backend.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_object_store() -> str:
    storage.get_store().check()
    return "ok"


CHECKS = {"database": _check_database, "broker": _check_broker, "object_store": _check_object_store}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict] = {}
    healthy = True
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            status = check()
        except Exception as exc:  # a health check reports every failure, it never raises
            logger.warning("health check %s failed: %s", name, exc)
            status, healthy = "error", False
            results[name] = {"status": status, "error": type(exc).__name__}
            continue
        results[name] = {"status": status, "ms": round((time.monotonic() - started) * 1000, 1)}
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": results},
        status=200 if healthy else 503,
    )
