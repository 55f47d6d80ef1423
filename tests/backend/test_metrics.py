"""/metrics: request and task metrics, scrape-time gauges, access rule, multiprocess mode."""

import os
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from backend import observability, storage
from backend.celery import app
from backend.models import WorkerHeartbeat
from backend.tasks import heartbeat

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = "wuye_http_request_duration_seconds_count"
OUTSIDE = "10.1.2.3"  # any address that is not loopback
METRICS_TOKEN = "metrics-token-for-tests-0123456789"


@app.task(name="tests.metrics.fails")
def failing_task():
    raise LookupError("no such row")


@app.task(name="tests.metrics.retries_once", bind=True, max_retries=1)
def retrying_task(self):
    if self.request.retries == 0:
        raise self.retry(countdown=0)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client, **headers) -> dict[str, list]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        family.name: family.samples
        for family in text_string_to_metric_families(response.content.decode())
    }


def values(families: dict[str, list], name: str) -> dict[tuple, float]:
    return {tuple(sorted(s.labels.items())): s.value for s in families.get(name, [])}


@pytest.fixture
def gauges(monkeypatch):
    """The gauge registry, restored after the test (tests register their own gauges)."""
    monkeypatch.setattr(observability, "_gauges", dict(observability._gauges))
    return observability._gauges


# --- requests -------------------------------------------------------------------------------


def test_request_is_counted_under_its_url_pattern_not_its_path(client):
    labels = {"route": "objects/<str:token>", "method": "GET", "status": "4xx"}
    before = sample(REQUESTS, **labels)

    response = client.get("/objects/not-a-signed-token-4711")

    assert response.status_code in (400, 403, 404)
    assert sample(REQUESTS, **labels) == before + 1
    assert "not-a-signed-token-4711" not in client.get("/metrics").content.decode()


def test_unknown_paths_and_methods_share_one_label_value(client):
    unmatched = {"route": "unmatched", "method": "GET", "status": "4xx"}
    other = {"route": "healthz", "method": "other", "status": "4xx"}
    before = sample(REQUESTS, **unmatched), sample(REQUESTS, **other)

    client.get("/no/such/page/123")
    client.generic("BREW", "/healthz")

    assert (sample(REQUESTS, **unmatched), sample(REQUESTS, **other)) == (
        before[0] + 1,
        before[1] + 1,
    )


@pytest.mark.django_db
def test_server_errors_are_counted_as_5xx(client, settings):
    labels = {"route": "healthz", "method": "GET", "status": "5xx"}
    before = sample(REQUESTS, **labels)
    settings.OBJECT_STORE_URL = "s3://key:secret@127.0.0.1:9/bucket?secure=false"
    storage.reset_store()
    try:
        response = client.get("/healthz")
    finally:
        storage.reset_store()

    assert response.status_code == 503
    assert sample(REQUESTS, **labels) == before + 1


def test_duration_lands_in_the_bucket_of_its_latency():
    labels = {"route": "tests/slow", "method": "PUT", "status": "2xx"}

    observability.observe_request(route="tests/slow", method="PUT", status=201, duration_s=0.3)

    bucket = "wuye_http_request_duration_seconds_bucket"
    assert sample(bucket, **labels, le="0.25") == 0
    assert sample(bucket, **labels, le="0.5") == 1
    assert sample("wuye_http_request_duration_seconds_sum", **labels) == pytest.approx(0.3)


# --- Celery tasks ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_successful_task_is_timed_by_name_and_state():
    labels = {"task": "backend.heartbeat", "state": "SUCCESS"}
    before = sample("wuye_celery_task_duration_seconds_count", **labels)

    heartbeat.apply(args=("metrics-test",))

    assert sample("wuye_celery_task_duration_seconds_count", **labels) == before + 1


def test_a_failing_task_counts_a_failure_with_its_exception_class():
    failures = {"task": "tests.metrics.fails", "exception": "LookupError"}
    timed = {"task": "tests.metrics.fails", "state": "FAILURE"}
    before = (
        sample("wuye_celery_task_failures_total", **failures),
        sample("wuye_celery_task_duration_seconds_count", **timed),
    )

    result = failing_task.apply()

    assert result.failed()
    assert sample("wuye_celery_task_failures_total", **failures) == before[0] + 1
    assert sample("wuye_celery_task_duration_seconds_count", **timed) == before[1] + 1


def test_a_retry_is_counted_and_both_runs_are_timed():
    task = "tests.metrics.retries_once"
    before = (
        sample("wuye_celery_task_retries_total", task=task),
        sample("wuye_celery_task_duration_seconds_count", task=task, state="RETRY"),
        sample("wuye_celery_task_duration_seconds_count", task=task, state="SUCCESS"),
    )

    retrying_task.apply()  # eager: the retry runs under the same task id inside the first run

    assert (
        sample("wuye_celery_task_retries_total", task=task),
        sample("wuye_celery_task_duration_seconds_count", task=task, state="RETRY"),
        sample("wuye_celery_task_duration_seconds_count", task=task, state="SUCCESS"),
    ) == (before[0] + 1, before[1] + 1, before[2] + 1)
    assert observability._running == {}


def test_worker_ready_starts_the_metrics_server_on_the_configured_port(settings, monkeypatch):
    from celery import signals

    started = []
    monkeypatch.setattr(
        observability, "start_worker_metrics_server", lambda *, port: started.append(port)
    )
    settings.WORKER_METRICS_PORT = 0
    signals.worker_ready.send(sender=None)
    settings.WORKER_METRICS_PORT = 9808
    signals.worker_ready.send(sender=None)

    assert started == [9808]


# --- scrape-time gauges ---------------------------------------------------------------------


def test_registered_gauge_is_computed_at_each_scrape(client, gauges):
    photos = {"received": 3, "processed": 120}
    observability.register_gauge(
        "wuye_test_photos",
        "Photos by state (test only).",
        lambda: {(state,): count for state, count in photos.items()},
        labelnames=("state",),
    )

    first = values(scrape(client), "wuye_test_photos")
    photos["received"] = 0
    second = values(scrape(client), "wuye_test_photos")

    assert first == {(("state", "received"),): 3.0, (("state", "processed"),): 120.0}
    assert second[(("state", "received"),)] == 0.0


def test_a_failing_gauge_is_logged_and_skipped_while_the_others_are_served(client, gauges, caplog):
    def database_down():
        raise OperationalError("connection refused")

    observability.register_gauge("wuye_test_broken", "Fails (test only).", database_down)
    observability.register_gauge("wuye_test_snapshot_age_seconds", "Works.", lambda: {(): 42})

    families = scrape(client)

    assert "wuye_test_broken" not in families
    assert values(families, "wuye_test_snapshot_age_seconds") == {(): 42.0}
    up = values(families, "wuye_gauge_up")
    assert up[(("gauge", "wuye_test_broken"),)] == 0.0
    assert up[(("gauge", "wuye_test_snapshot_age_seconds"),)] == 1.0
    assert any(
        "wuye_test_broken" in r.getMessage() and "connection refused" in r.getMessage()
        for r in caplog.records
    )


def test_metrics_are_served_when_the_database_cannot_be_reached(client):
    # No django_db mark: every query raises, as with the database down. The heartbeat gauge
    # needs the database; the rest of the page must still be served.
    families = scrape(client)

    assert values(families, "wuye_gauge_up")[(("gauge", "wuye_heartbeat_age_seconds"),)] == 0.0
    assert "wuye_http_request_duration_seconds" in families


def test_gauge_with_the_wrong_number_of_labels_is_skipped(client, gauges):
    observability.register_gauge(
        "wuye_test_mislabelled", "Wrong labels.", lambda: {("a", "b"): 1}, labelnames=("state",)
    )

    families = scrape(client)

    assert "wuye_test_mislabelled" not in families
    assert values(families, "wuye_gauge_up")[(("gauge", "wuye_test_mislabelled"),)] == 0.0


@pytest.mark.parametrize(
    ("name", "labelnames"),
    [("wuye-dash", ()), ("9starts_with_digit", ()), ("wuye_ok", ("bad-label",))],
)
def test_register_gauge_refuses_invalid_names(gauges, name, labelnames):
    with pytest.raises(ValueError, match="invalid"):
        observability.register_gauge(name, "doc", dict, labelnames=labelnames)
    assert name not in gauges


@pytest.mark.django_db
def test_heartbeat_age_is_the_seconds_since_the_last_beat(client):
    WorkerHeartbeat.objects.create(
        name="beat", beats=7, last_at=timezone.now() - timedelta(seconds=90)
    )
    WorkerHeartbeat.objects.create(name="never", beats=0, last_at=None)

    ages = values(scrape(client), "wuye_heartbeat_age_seconds")

    assert set(ages) == {(("name", "beat"),)}
    # The scrape itself takes a moment after the row was written.
    assert 90 <= ages[(("name", "beat"),)] < 100


@pytest.mark.services
def test_queue_length_sums_the_priority_lists_of_the_celery_queue(settings, services):
    import redis

    # A database of its own: the session's broker database feeds the test workers.
    url = f"{services.redis.url}/5"
    settings.CELERY_BROKER_URL = url
    broker = redis.Redis.from_url(url)
    broker.flushdb()
    broker.lpush("celery", "m1", "m2", "m3")
    broker.lpush("celery\x06\x163", "m4", "m5")
    try:
        lengths = observability.celery_queue_lengths()
    finally:
        broker.flushdb()
        broker.close()

    assert lengths == {("celery",): 5.0}


def test_queue_length_with_redis_down_is_skipped_not_an_error(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/1"  # nothing listens on port 9

    families = scrape(client)

    assert "wuye_celery_queue_length" not in families
    assert values(families, "wuye_gauge_up")[(("gauge", "wuye_celery_queue_length"),)] == 0.0


def test_queue_length_is_empty_without_a_redis_broker(settings):
    settings.CELERY_BROKER_URL = ""

    assert observability.celery_queue_lengths() == {}


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "remote_addr", "token", "allowed"),
    [
        ("", "127.0.0.1", "", True),
        ("", "127.8.9.10", "", True),
        ("", "::1", "", True),
        ("", OUTSIDE, "", False),
        ("", "not-an-address", "", False),
        (f"Bearer {METRICS_TOKEN}", OUTSIDE, METRICS_TOKEN, True),
        (f"bearer {METRICS_TOKEN}", OUTSIDE, METRICS_TOKEN, True),
        (f"Bearer {METRICS_TOKEN}x", OUTSIDE, METRICS_TOKEN, False),
        (f"Basic {METRICS_TOKEN}", OUTSIDE, METRICS_TOKEN, False),
        # With a token set, loopback is no longer enough: another container may be local.
        ("", "127.0.0.1", METRICS_TOKEN, False),
    ],
)
def test_metrics_access_rule(authorization, remote_addr, token, allowed):
    assert (
        observability.metrics_access_allowed(
            authorization=authorization, remote_addr=remote_addr, token=token
        )
        is allowed
    )


def test_without_a_token_only_loopback_may_scrape(client, settings):
    settings.METRICS_TOKEN = ""

    outside = client.get("/metrics", REMOTE_ADDR=OUTSIDE)
    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert outside.status_code == 403
    assert outside.json()["code"] == "metrics_loopback_only"
    assert b"wuye_" not in outside.content
    assert local.status_code == 200


def test_with_a_token_the_bearer_token_is_required(client, settings):
    settings.METRICS_TOKEN = METRICS_TOKEN

    missing = client.get("/metrics", REMOTE_ADDR=OUTSIDE)
    wrong = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer guess")
    right = client.get(
        "/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}"
    )

    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing["WWW-Authenticate"] == "Bearer"
    assert b"wuye_http_request_duration_seconds" in right.content


# --- worker exposition and multiprocess mode ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_worker_metrics_server_serves_task_metrics_behind_the_token(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    failing_task.apply()
    port = _free_port()
    server = observability.start_worker_metrics_server(port=port, host="127.0.0.1")
    try:
        denied, _ = _get(f"http://127.0.0.1:{port}/metrics")
        status, body = _get(
            f"http://127.0.0.1:{port}/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
    finally:
        server.shutdown()
        server.server_close()

    assert denied == 401
    assert status == 200
    failures = 'wuye_celery_task_failures_total{exception="LookupError",task="tests.metrics.fails"}'
    assert failures in body


MULTIPROCESS_SCRIPT = textwrap.dedent(
    """
    import multiprocessing
    import django

    django.setup()
    from prometheus_client import generate_latest
    from backend import observability

    def serve_one_request():
        observability.observe_request(
            route="api/x/<id>", method="GET", status=200, duration_s=0.01
        )

    # Two gunicorn-like worker processes record, a third (the parent) scrapes.
    fork = multiprocessing.get_context("fork")
    for _ in range(2):
        child = fork.Process(target=serve_one_request)
        child.start()
        child.join()
        assert child.exitcode == 0
    print(generate_latest(observability.process_metrics()).decode())
    """
)


@pytest.mark.slow
def test_multiprocess_mode_sums_the_metrics_of_every_process(tmp_path):
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "DJANGO_SETTINGS_MODULE": "backend.settings",
    }

    run = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    families = {f.name: f.samples for f in text_string_to_metric_families(run.stdout)}
    counts = [
        s.value
        for s in families["wuye_http_request_duration_seconds"]
        if s.name.endswith("_count") and s.labels["route"] == "api/x/<id>"
    ]
    assert counts == [2.0]
