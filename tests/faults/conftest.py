"""Fault-injection scenarios (issue 6). Each test runs its workload twice on the real services:
once without faults (the baseline) and once with one, and compares the end states.

Scenarios that take under a minute run with the suite; longer variants carry the
`faults_long` marker and run only when selected (`make faults`)."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.harness import services as svc

LONG_MARKER = "faults_long"
FAULTS_DIR = Path(__file__).parent
GUNICORN_WORKERS = 2  # the machine has 2 cores
GUNICORN_THREADS = 4  # docker/gunicorn.conf.py's default


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LONG_MARKER in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason=f"long fault scenario: `make faults` runs it (-m {LONG_MARKER})")
    for item in items:
        if item.get_closest_marker(LONG_MARKER) and FAULTS_DIR in Path(item.path).parents:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def short_lived_connections():
    """The live server answers each request on a new thread; a persistent connection per
    thread would outlive the test and keep the test database busy at teardown."""
    from django.db import connections

    saved = connections.settings["default"].get("CONN_MAX_AGE", 0)
    connections.settings["default"]["CONN_MAX_AGE"] = 0
    yield
    connections.settings["default"]["CONN_MAX_AGE"] = saved


def worker_database_url(services) -> str:
    """pytest-django's `test_<NAME>` database, which server and worker processes must use."""
    from django.db import connection

    return services.postgresql.url.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]


@pytest.fixture
def gunicorn_server(services, transactional_db) -> Iterator[svc.ServiceProcess]:
    """The production web server: gunicorn with docker/gunicorn.conf.py (gthread workers,
    persistent database connections with health checks) on the test database."""
    if services.services_missing():
        pytest.skip(services.services_missing())
    port = svc.free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=worker_database_url(services),
        WEB_CONCURRENCY=str(GUNICORN_WORKERS),
        WEB_THREADS=str(GUNICORN_THREADS),
        LOG_LEVEL="WARNING",  # settings pass it to logging as is, which wants capitals
    )
    base = f"http://127.0.0.1:{port}"
    server = svc.ServiceProcess(
        name="gunicorn",
        argv=[
            str(svc.VENV_BIN / "gunicorn"),
            "backend.wsgi:application",
            "--config",
            str(svc.PROJECT_ROOT / "docker" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        log_path=services.base_dir / f"gunicorn-{uuid.uuid4().hex[:6]}.log",
        ready=lambda: requests.get(f"{base}/healthz", timeout=2).status_code == 200,
        url=base,
        ports={"http": port},
        env=env,
    )
    server.start()
    yield server
    server.stop()
