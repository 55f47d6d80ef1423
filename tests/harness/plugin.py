"""pytest plugin (loaded with `-p tests.harness.plugin`): real services for the whole suite.

Before pytest-django reads the settings, this plugin starts PostgreSQL, Redis and SeaweedFS on
free loopback ports and exports `DATABASE_URL`, `REDIS_URL`, `CELERY_BROKER_URL` (Redis db 1)
and `OBJECT_STORE_URL`, so every test runs on the production stack.

- A missing binary falls back to the embedded setting for that service (SQLite, no broker so
  tasks run eagerly, a local object folder) and tests marked `services` / `worker` skip,
  naming the binary.
- `REQUIRE_SERVICES=1` (CI) turns a missing or failing service into a failed run.
- `WUYE_TEST_SERVICES=0` forces the embedded mode for a fast local run.

With Redis running, `CELERY_TASK_ALWAYS_EAGER` is off: `delay_on_commit` publishes to Redis and
nothing runs in-process. Tests that need a task's effect call the task function directly, use
the `celery_eager` fixture, or use `celery_worker_proc` for the real thing.
"""

import atexit
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.harness import services as svc

SERVICE_NAMES = ("postgresql", "redis", "s3")
# The embedded fallback still needs a key: settings refuse to start without one when DEBUG is off.
TEST_SECRET_KEY = "test-only-secret-key-never-used-outside-the-test-suite"


@dataclass
class Harness:
    """What the session runs on. `postgresql`, `redis`, `s3` are live `ServiceProcess`es
    (stop()/start() for fault tests) or None when the embedded fallback is in use."""

    base_dir: Path
    required: bool
    postgresql: svc.ServiceProcess | None = None
    redis: svc.ServiceProcess | None = None
    s3: svc.ServiceProcess | None = None
    missing: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    startup_s: float = 0.0
    workers: list[svc.ServiceProcess] = field(default_factory=list)
    spare_buckets: list[str] = field(default_factory=list)

    def is_real(self, name: str) -> bool:
        return getattr(self, name) is not None

    def services_missing(self) -> str | None:
        reasons = [
            f"{name}: {self.missing[name]}" for name in SERVICE_NAMES if name in self.missing
        ]
        return "needs real services; " + "; ".join(reasons) if reasons else None

    def worker_missing(self) -> str | None:
        reasons = [
            f"{name}: {self.missing[name]}"
            for name in ("postgresql", "redis")
            if name in self.missing
        ]
        if not svc.celery_binary().is_file():
            reasons.append(f"celery: {svc.celery_binary()} not found")
        return "needs a real Celery worker; " + "; ".join(reasons) if reasons else None

    def s3_url(self, *, bucket: str, secret: str = svc.S3_SECRET_KEY) -> str:
        assert self.s3 is not None, "SeaweedFS is not running"
        return svc.s3_url(self.s3.ports["s3"], bucket=bucket, secret=secret)

    def summary(self) -> list[str]:
        states = [
            f"{name}={'real' if self.is_real(name) else 'embedded'}" for name in SERVICE_NAMES
        ]
        worker = "unavailable" if self.worker_missing() else "available"
        lines = [
            f"services: {' '.join(states)} worker={worker} (started in {self.startup_s:.1f} s)"
        ]
        lines += [f"  {name} embedded: {reason}" for name, reason in self.missing.items()]
        return lines

    def stop(self) -> None:
        for process in [*self.workers, self.s3, self.redis, self.postgresql]:
            if process is not None:
                process.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _start_services(*, enabled: bool, required: bool) -> Harness:
    started = time.monotonic()
    base_dir = Path(tempfile.mkdtemp(prefix="wuye-services-"))
    base_dir.chmod(0o711)  # the postgres account must reach its own folder inside
    harness = Harness(base_dir=base_dir, required=required)
    try:
        if enabled:
            _launch(harness)
        else:
            harness.missing = dict.fromkeys(SERVICE_NAMES, "WUYE_TEST_SERVICES=0")
        if required and harness.missing:
            raise pytest.UsageError(
                "REQUIRE_SERVICES=1 but the suite cannot run on real services:\n"
                + "\n".join(f"  {name}: {reason}" for name, reason in harness.missing.items())
            )
    except BaseException:
        harness.stop()
        raise
    harness.env = _environment(harness)
    os.environ.update(harness.env)
    harness.startup_s = time.monotonic() - started
    return harness


def _launch(harness: Harness) -> None:
    """Start what is installed, overlapping the slow parts: initdb, SeaweedFS and Redis boot
    at the same time. All processes are spawned from this (main) thread, because the
    parent-death signal follows the thread that forked them."""
    base = harness.base_dir
    for name, missing in (
        ("postgresql", svc.postgresql_missing()),
        ("redis", svc.redis_missing()),
        ("s3", svc.seaweedfs_missing()),
    ):
        if missing:
            harness.missing[name] = missing

    initdb = None
    if "postgresql" not in harness.missing:
        try:
            harness.postgresql, initdb = svc.prepare_postgresql(base)
        except (svc.ServiceStartError, OSError) as exc:
            harness.missing["postgresql"] = str(exc)
    if "redis" not in harness.missing:
        harness.redis = svc.prepare_redis(base)
        _attempt(harness, "redis", harness.redis.spawn)
    if "s3" not in harness.missing:
        harness.s3 = svc.prepare_seaweedfs(base)
        _attempt(harness, "s3", harness.s3.spawn)
    if harness.postgresql is not None and initdb is not None:
        service = harness.postgresql
        _attempt(harness, "postgresql", lambda: svc.finish_postgresql(service, initdb))

    if harness.redis is not None:
        _attempt(harness, "redis", harness.redis.wait_ready)
    if harness.s3 is not None:
        _attempt(harness, "s3", harness.s3.wait_ready)
    if harness.postgresql is not None:
        service = harness.postgresql
        _attempt(harness, "postgresql", service.wait_ready)
        if harness.postgresql is not None:
            _attempt(harness, "postgresql", lambda: svc.create_database(service))


def _attempt(harness: Harness, name: str, step) -> None:
    """Run one start step; a failure stops that service and records why, so the run falls back
    to the embedded setting (or fails under REQUIRE_SERVICES=1)."""
    try:
        step()
    except Exception as exc:
        process = getattr(harness, name)
        if process is not None:
            process.stop()
        setattr(harness, name, None)
        harness.missing[name] = f"failed to start: {exc}"


def _environment(harness: Harness) -> dict[str, str]:
    base = harness.base_dir
    redis_url = harness.redis.url if harness.redis else ""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or TEST_SECRET_KEY,
        "DATABASE_URL": (
            harness.postgresql.url if harness.postgresql else f"sqlite:///{base / 'db.sqlite3'}"
        ),
        # Cache and rate limits in db 0, Celery messages in db 1: a cache flush keeps the queue.
        "REDIS_URL": f"{redis_url}/0" if redis_url else "",
        "CELERY_BROKER_URL": f"{redis_url}/1" if redis_url else "",
        "OBJECT_STORE_URL": harness.s3.url if harness.s3 else f"file://{base / 'objects'}",
    }


HARNESS_KEY = pytest.StashKey[Harness]()


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser, args):
    # A wrapper runs before every plain implementation of this hook, including pytest-django's,
    # which is where Django reads the settings (and so the variables exported here).
    namespace = early_config.known_args_namespace
    if getattr(namespace, "help", False) or getattr(namespace, "version", False):
        return (yield)
    required = os.environ.get("REQUIRE_SERVICES") == "1"
    enabled = os.environ.get("WUYE_TEST_SERVICES", "1") != "0"
    if required and not enabled:
        raise pytest.UsageError("REQUIRE_SERVICES=1 contradicts WUYE_TEST_SERVICES=0")
    harness = _start_services(enabled=enabled, required=required)
    early_config.stash[HARNESS_KEY] = harness
    early_config.add_cleanup(harness.stop)
    atexit.register(harness.stop)  # also when pytest fails before its own cleanup runs
    try:
        return (yield)
    except BaseException:
        harness.stop()
        raise


def pytest_report_header(config: pytest.Config) -> list[str]:
    harness = config.stash.get(HARNESS_KEY, None)
    return harness.summary() if harness else []


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    # `-q` hides the report header; the services line matters most in terse CI logs.
    harness = session.config.stash.get(HARNESS_KEY, None)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if harness and reporter and session.config.get_verbosity() < 0:
        reporter.write_line(harness.summary()[0])


def pytest_runtest_setup(item: pytest.Item) -> None:
    harness = item.config.stash.get(HARNESS_KEY, None)
    if harness is None:
        return
    for marker, reason in (
        ("services", harness.services_missing()),
        ("worker", harness.worker_missing()),
    ):
        if reason and item.get_closest_marker(marker):
            pytest.skip(reason)


def _harness(config: pytest.Config) -> Harness:
    harness = config.stash.get(HARNESS_KEY, None)
    if harness is None:
        pytest.skip("the service harness did not run")
    return harness


@pytest.fixture(scope="session")
def services(pytestconfig: pytest.Config) -> Harness:
    """The session's services: `.postgresql`, `.redis`, `.s3` (ServiceProcess or None),
    `.env` (the exported URLs), `.missing` (why a service is embedded)."""
    return _harness(pytestconfig)


@pytest.fixture(scope="module")
def celery_worker_proc(
    request: pytest.FixtureRequest, services: Harness, django_db_setup
) -> Iterator[svc.ServiceProcess]:
    """A real `celery -A backend worker` (solo pool, so tasks run one at a time in queue order)
    on the session's Redis and on pytest-django's test database. Use with `transactional_db`,
    since the worker only sees committed rows. `.stop()`/`.start()` restart it; the queue is
    purged once before the first start so earlier tests' messages do not leak in."""
    reason = services.worker_missing()
    if reason:
        pytest.skip(reason)
    from django.db import connection

    from backend.celery import app

    env = dict(os.environ)
    # pytest-django created `test_<NAME>`; the worker must use that database, not NAME.
    env["DATABASE_URL"] = (
        services.postgresql.url.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    )
    name = f"worker-{request.module.__name__.rsplit('.', 1)[-1]}-{uuid.uuid4().hex[:6]}"
    worker = svc.prepare_celery_worker(services.base_dir, env=env, name=name)
    app.control.purge()
    services.workers.append(worker)
    worker.start()
    yield worker
    worker.stop()
    services.workers.remove(worker)


@pytest.fixture
def s3_store(services: Harness):
    """An S3Store on an empty SeaweedFS bucket of its own. Buckets are emptied and reused
    afterwards: SeaweedFS gives every new bucket a fresh volume, which costs 0.2 s each."""
    if services.s3 is None:
        pytest.skip(f"needs SeaweedFS; {services.missing.get('s3')}")
    from backend.storage import StorageError, store_from_url

    bucket = services.spare_buckets.pop() if services.spare_buckets else f"t-{uuid.uuid4().hex}"
    store = store_from_url(services.s3_url(bucket=bucket), timeout_s=10.0)
    store.ensure_bucket()
    yield store
    try:
        for key in list(store.list_keys()):
            store.delete(key)
    except StorageError:
        return  # the test stopped SeaweedFS or broke the bucket: do not reuse it
    services.spare_buckets.append(bucket)


@pytest.fixture
def folder_store(tmp_path: Path):
    """A FolderStore on an empty temporary folder."""
    from backend.storage import FolderStore

    store = FolderStore(root=tmp_path / "objects")
    store.ensure_bucket()
    return store
