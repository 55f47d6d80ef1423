"""Prometheus metrics: requests, Celery tasks, queue depth and the gauges apps register.

What is measured where:

- Web requests: `RequestContextMiddleware` calls `observe_request` once per request, labelled
  by the resolved URL pattern (never the raw path, whose ids would make a series per object),
  the method and the status class.
- Celery tasks: `connect_celery_signals()` (called from BackendConfig.ready, so in web and
  worker processes alike) times every task between task_prerun and task_postrun and counts
  failures and retries.
- Scrape time: gauges registered with `register_gauge` (queue depth, heartbeat age, and what the
  apps add in their AppConfig.ready) are computed when /metrics is read. A gauge that fails
  (database down, Redis down) is logged and skipped, and `wuye_gauge_up{gauge=...}` says 0.

Several processes: gunicorn runs several workers and a Celery prefork worker several children,
each with its own memory. When `PROMETHEUS_MULTIPROC_DIR` is set (before the process starts),
prometheus-client keeps every process's counters in memory-mapped files there and the scrape
sums them (`MultiProcessCollector`). The directory must be empty when the service starts (a
tmpfs, or `rm -rf` in the start script); web and worker containers each use their own.
Without the variable (embedded mode, runserver, tests) the process's own registry is used.

Access: see `metrics_access_allowed`. The worker exposes its task metrics on
`WORKER_METRICS_PORT` (off when 0) with the same access rule; queue depth and the domain gauges
are only computed by the web's /metrics.
"""

import hmac
import ipaddress
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    make_wsgi_app,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from backend.errors import problem_response
from backend.logs import bind_task, unbind_task

logger = logging.getLogger(__name__)

# `_created` series double the output and no alert or dashboard here uses them.
disable_created_metrics()

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROC_DIR:
    # prometheus-client writes its files on the first observation and expects the folder.
    os.makedirs(MULTIPROC_DIR, exist_ok=True)

# Up to the 60 s gunicorn timeout: the slowest legitimate request is a 25 MB photo upload.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# A photo takes about a second, a full recompute under a minute; 360 s is the hard time limit.
TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 360.0)
# Anything else (a scanner's made-up verbs) shares one label value instead of adding series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
# Scraping must not hang on a dead broker: Prometheus gives up after 10 s by default.
REDIS_TIMEOUT_S = 0.5
# kombu's Redis transport keeps one list per priority step: `celery`, then `celery\x06\x163` …
KOMBU_PRIORITY_SEP = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

ERR_GAUGE_NAME = "invalid metric name {name!r}: use [a-zA-Z_:][a-zA-Z0-9_:]*"
ERR_LABEL_NAME = "invalid label name {label!r} for gauge {name!r}"
ERR_LABEL_COUNT = "gauge {name!r} returned labels {labels!r}; expected values for {labelnames!r}"
DETAIL_METRICS_AUTH = "需要有效的监控令牌（Authorization: Bearer METRICS_TOKEN）。"
DETAIL_LOOPBACK = "未设置 METRICS_TOKEN 时只允许本机读取监控指标。"

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

http_request_duration = Histogram(
    "wuye_http_request_duration_seconds",
    "Time to produce a response, by URL pattern, method and status class. "
    "Its _count is the request count.",
    ["route", "method", "status"],
    buckets=HTTP_BUCKETS,
)
task_duration = Histogram(
    "wuye_celery_task_duration_seconds",
    "Celery task run time by task name and final state (SUCCESS, FAILURE, RETRY).",
    ["task", "state"],
    buckets=TASK_BUCKETS,
)
task_failures = Counter(
    "wuye_celery_task_failures_total",
    "Celery tasks that raised, by task name and exception class.",
    ["task", "exception"],
)
task_retries = Counter(
    "wuye_celery_task_retries_total", "Celery task retries by task name.", ["task"]
)

# --- requests -------------------------------------------------------------------------------


def route_label(request: HttpRequest) -> str:
    """The URL pattern that matched (`api/mobile/v1/inspections/<inspection_uuid>`)."""
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else UNMATCHED_ROUTE


def method_label(method: str | None) -> str:
    return method if method in KNOWN_METHODS else "other"


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def observe_request(*, route: str, method: str, status: int, duration_s: float) -> None:
    http_request_duration.labels(
        route=route, method=method_label(method), status=status_class(status)
    ).observe(duration_s)


# --- Celery tasks ---------------------------------------------------------------------------


@dataclass
class _RunningTask:
    started: float
    log_context: Any


# task id → the runs in progress under that id. A list, because an eager retry runs the same
# task id again inside the first run. A thread pool may run several tasks at once; each entry
# is written and removed by the thread running that task.
_running: dict[str, list[_RunningTask]] = {}


def _task_prerun(*, task_id: str, task: Any, **_: Any) -> None:
    run = _RunningTask(
        started=time.perf_counter(), log_context=bind_task(task_id=task_id, task_name=task.name)
    )
    _running.setdefault(task_id, []).append(run)


def _task_postrun(*, task_id: str, task: Any, state: str | None = None, **_: Any) -> None:
    runs = _running.get(task_id)
    if not runs:  # prerun happened before the handlers were connected
        return
    run = runs.pop()
    if not runs:
        del _running[task_id]
    task_duration.labels(task=task.name, state=state or "UNKNOWN").observe(
        time.perf_counter() - run.started
    )
    unbind_task(run.log_context)


def _task_failure(*, sender: Any, exception: BaseException | None = None, **_: Any) -> None:
    task_failures.labels(task=sender.name, exception=type(exception).__name__).inc()


def _task_retry(*, sender: Any, **_: Any) -> None:
    task_retries.labels(task=sender.name).inc()


def _worker_ready(**_: Any) -> None:
    port = settings.WORKER_METRICS_PORT
    if not port:
        return
    if not MULTIPROC_DIR:
        logger.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: only tasks run in the worker's main process "
            "(solo or threads pool) are counted, not those of prefork children"
        )
    start_worker_metrics_server(port=port)


def connect_celery_signals() -> None:
    """Idempotent (dispatch_uid): AppConfig.ready may run more than once in tests."""
    from celery import signals

    for signal, handler in (
        (signals.task_prerun, _task_prerun),
        (signals.task_postrun, _task_postrun),
        (signals.task_failure, _task_failure),
        (signals.task_retry, _task_retry),
        (signals.worker_ready, _worker_ready),
    ):
        signal.connect(handler, weak=False, dispatch_uid=f"wuye-metrics-{handler.__name__}")


# --- scrape-time gauges ---------------------------------------------------------------------

GaugeValues = Mapping[tuple[str, ...], float]


@dataclass(frozen=True)
class GaugeSpec:
    name: str
    documentation: str
    labelnames: tuple[str, ...]
    compute: Callable[[], GaugeValues]


_gauges: dict[str, GaugeSpec] = {}
_gauges_lock = threading.Lock()


def register_gauge(
    name: str,
    documentation: str,
    fn: Callable[[], GaugeValues],
    *,
    labelnames: Sequence[str] = (),
) -> None:
    """Compute gauge `name` at every scrape of /metrics: `fn()` returns {label values: value},
    e.g. `{("received",): 3.0, ("processed",): 120.0}` for labelnames=("state",), or
    `{(): 5.0}` without labels. An exception in `fn` is logged and the gauge left out of that
    scrape. Registering a name again replaces the earlier function."""
    if not _METRIC_NAME.match(name):
        raise ValueError(ERR_GAUGE_NAME.format(name=name))
    for label in labelnames:
        if not _LABEL_NAME.match(label) or label.startswith("__"):
            raise ValueError(ERR_LABEL_NAME.format(label=label, name=name))
    with _gauges_lock:
        _gauges[name] = GaugeSpec(name, documentation, tuple(labelnames), fn)


def _gauge_family(spec: GaugeSpec) -> GaugeMetricFamily:
    family = GaugeMetricFamily(spec.name, spec.documentation, labels=spec.labelnames)
    for labels, value in spec.compute().items():
        if len(labels) != len(spec.labelnames):
            raise ValueError(
                ERR_LABEL_COUNT.format(name=spec.name, labels=labels, labelnames=spec.labelnames)
            )
        family.add_metric([str(label) for label in labels], float(value))
    return family


class ScrapeTimeGauges:
    """A prometheus-client collector over the registered gauges."""

    def collect(self) -> Iterator[Metric]:
        with _gauges_lock:
            specs = list(_gauges.values())
        up = GaugeMetricFamily(
            "wuye_gauge_up",
            "1 when the scrape-time gauge could be computed, 0 when it failed (see the logs).",
            labels=["gauge"],
        )
        for spec in specs:
            try:
                family = _gauge_family(spec)
            except Exception as exc:  # one broken source must not take the others down
                # No traceback: a database outage would print one per gauge every 15 s.
                logger.warning(
                    "metrics gauge %s failed, left out of this scrape: %s: %s",
                    spec.name,
                    type(exc).__name__,
                    exc,
                )
                up.add_metric([spec.name], 0.0)
                continue
            up.add_metric([spec.name], 1.0)
            yield family
        yield up


def celery_queue_lengths() -> dict[tuple[str, ...], float]:
    """Messages waiting in each Celery queue (LLEN, all priority lists summed). Empty when the
    broker is not Redis (embedded mode has no queue)."""
    broker_url = settings.CELERY_BROKER_URL
    if urlsplit(broker_url).scheme not in ("redis", "rediss"):
        return {}
    import redis

    from backend.celery import app

    client = redis.Redis.from_url(
        broker_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )
    try:
        lengths: dict[tuple[str, ...], float] = {}
        for queue in app.amqp.queues:
            keys = [queue, *(f"{queue}{KOMBU_PRIORITY_SEP}{step}" for step in KOMBU_PRIORITY_STEPS)]
            with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.llen(key)
                lengths[(queue,)] = float(sum(pipe.execute()))
        return lengths
    finally:
        client.close()


def heartbeat_ages() -> dict[tuple[str, ...], float]:
    """Seconds since each `backend.WorkerHeartbeat` last beat (beat sends one a minute)."""
    from backend.models import WorkerHeartbeat

    now = timezone.now()
    return {
        (name,): (now - last_at).total_seconds()
        for name, last_at in WorkerHeartbeat.objects.exclude(last_at=None).values_list(
            "name", "last_at"
        )
    }


register_gauge(
    "wuye_celery_queue_length",
    "Messages waiting in the Celery queue on the Redis broker.",
    celery_queue_lengths,
    labelnames=("queue",),
)
register_gauge(
    "wuye_heartbeat_age_seconds",
    "Seconds since the named heartbeat was last written (beat → worker every minute).",
    heartbeat_ages,
    labelnames=("name",),
)

# --- exposition -----------------------------------------------------------------------------


def metrics_access_allowed(*, authorization: str, remote_addr: str, token: str) -> bool:
    """With METRICS_TOKEN set: only `Authorization: Bearer <token>` (from anywhere). Without
    it: only clients on loopback, i.e. a Prometheus (or curl) on the same host."""
    if token:
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        )
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in LOOPBACK_NETWORKS)


class _Union:
    """Several collectors read as one registry, for `generate_latest`."""

    def __init__(self, *sources: Any) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self._sources:
            yield from source.collect()


def process_metrics() -> Any:
    """What this service's processes recorded: every process's files in multiprocess mode,
    this process's registry otherwise."""
    if MULTIPROC_DIR:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=MULTIPROC_DIR)
        return registry
    return REGISTRY


_scrape_time_gauges = ScrapeTimeGauges()


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_access_allowed(
        authorization=request.headers.get("Authorization", ""),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        token=settings.METRICS_TOKEN,
    ):
        if settings.METRICS_TOKEN:
            return problem_response(
                401,
                "metrics_token_required",
                DETAIL_METRICS_AUTH,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return problem_response(403, "metrics_loopback_only", DETAIL_LOOPBACK)
    output = generate_latest(_Union(process_metrics(), _scrape_time_gauges))  # type: ignore[arg-type]
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every 15 s would drown the worker log."""


def _guarded(app: Callable, *, token: str) -> Callable:
    def guarded_app(environ: dict, start_response: Callable) -> Any:
        if metrics_access_allowed(
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
            remote_addr=environ.get("REMOTE_ADDR", ""),
            token=token,
        ):
            return app(environ, start_response)
        start_response("401 Unauthorized" if token else "403 Forbidden", [])
        return [b""]

    return guarded_app


def start_worker_metrics_server(*, port: int, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104
    """Serve this worker's task metrics on `port` from a daemon thread. Called on worker_ready,
    after the prefork pool exists, so the children do not inherit the listening socket. Every
    interface, because Prometheus runs in another container; the access rule still applies."""
    app = _guarded(make_wsgi_app(process_metrics()), token=settings.METRICS_TOKEN)
    server = make_server(host, port, app, _ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    logger.info("worker metrics on %s:%s/metrics", host, port)
    return server
