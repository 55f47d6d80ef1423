"""Shared pieces of the HTTP benchmarks (tender, public, uploads): the services on loopback,
gunicorn with the production settings, a lean closed-loop load generator, percentiles and the
machine description every result file carries.

The load generator is one thread driving every connection through `selectors`, with the
requests encoded before the clock starts, so it costs a few tens of microseconds per request
instead of the ~0.3 ms of `http.client` (measured: it shows as `client_cpu_share` in every
result, next to the CPU the server processes used in the same window).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import services as svc  # noqa: E402 - needs the path above

PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
GUNICORN_CONF = ROOT / "docker" / "gunicorn.conf.py"
HOST = "127.0.0.1"
# The throwaway clusters of the test harness run without fsync; the benchmarks measure what a
# durable production database costs, so these settings are taken back out.
NON_DURABLE_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
RECV_BYTES = 256 * 1024
STARTUP_TIMEOUT_S = 60.0
ERR_EXHAUSTED = "the clients ran out of prepared requests; raise --per-client"


# --- machine -----------------------------------------------------------------------------


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    """Where and under what load a figure was measured (other work on a 2-core machine moves
    every latency; the load average says how much)."""
    return {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_1_5_15": load_average(),
    }


def write_result(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not ordered:
        raise ValueError("no samples")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def django_environment(database_url: str, folder: Path, *, redis_url: str = "") -> dict[str, str]:
    """The environment of the Django processes a benchmark starts: production settings (DEBUG
    off, no Celery/Redis variables inherited from the caller) on the throwaway services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-only-secret-key",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OBJECT_STORE_URL": f"file://{folder / 'objects'}",
            "CREDIT_OBJECTION_WORKING_DAYS": "0",
            "LOG_LEVEL": "WARNING",
            "STATIC_ROOT": str(folder / "static"),
        }
    )
    if redis_url:
        env["REDIS_URL"] = f"{redis_url}/0"
    return env


# --- services ----------------------------------------------------------------------------


@contextlib.contextmanager
def postgresql(folder: Path) -> Iterator[svc.ServiceProcess]:
    """A fresh PostgreSQL on loopback with production durability (fsync, synchronous commit)."""
    folder.chmod(0o755)  # PostgreSQL runs as its own account when we are root
    service, initdb = svc.prepare_postgresql(folder)
    service.argv = _without_non_durable(service.argv)
    svc.finish_postgresql(service, initdb)
    service.wait_ready()
    svc.create_database(service)
    try:
        yield service
    finally:
        service.stop()


def _without_non_durable(argv: list[str]) -> list[str]:
    kept: list[str] = []
    for arg in argv:
        if arg in NON_DURABLE_SETTINGS:
            kept.pop()  # its "-c"
            continue
        kept.append(arg)
    return kept


@contextlib.contextmanager
def redis(folder: Path) -> Iterator[svc.ServiceProcess]:
    service = svc.prepare_redis(folder)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def services_cpu_pids(*services: svc.ServiceProcess) -> list[int]:
    return [s.popen.pid for s in services if s.popen is not None]


# --- gunicorn ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GunicornSettings:
    worker_class: str
    workers: int
    threads: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Server:
    port: int
    pid: int
    log: Path
    settings: GunicornSettings
    extra_pids: list[int] = field(default_factory=list)  # database, Redis: their CPU counts too


@contextlib.contextmanager
def gunicorn(
    *,
    env: dict[str, str],
    folder: Path,
    settings: GunicornSettings,
    ready_path: str,
    extra_pids: Sequence[int] = (),
) -> Iterator[Server]:
    """gunicorn with docker/gunicorn.conf.py (the production settings) bound to loopback, with
    the worker class and counts under test; yields once `ready_path` answers 200."""
    port = svc.free_port()
    log_path = folder / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "backend.wsgi:application",
                "-c",
                str(GUNICORN_CONF),
                "--bind",
                f"{HOST}:{port}",
                "--worker-class",
                settings.worker_class,
                "--workers",
                str(settings.workers),
                "--threads",
                str(settings.threads),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(port, ready_path, process, log_path)
            yield Server(port, process.pid, log_path, settings, list(extra_pids))
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_ready(port: int, path: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 2) as conn:
            conn.sendall(get_request(path))
            if conn.recv(64).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"gunicorn did not answer {path}:\n{tail}")


def process_tree_rss(pid: int) -> int:
    total = 0
    with contextlib.suppress(psutil.NoSuchProcess):
        master = psutil.Process(pid)
        for process in [master, *master.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):  # a worker recycled mid-sample
                total += process.memory_info().rss
    return total


def tree_cpu_seconds(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = process.cpu_times()
                    total += times.user + times.system
    return total


# --- load generator ----------------------------------------------------------------------


def get_request(path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass(frozen=True)
class LoadResult:
    clients: int
    seconds: float
    requests: int
    errors: int  # answers other than 200
    dropped: int  # requests lost with a connection the server closed
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_share: float  # of the whole machine (1.0 = every core busy)
    server_cpu_share: float  # gunicorn master and workers
    services_cpu_share: float  # PostgreSQL, Redis
    load_average_1_5_15: list[float]


class _Connection:
    """One keep-alive client connection that sends its next request as soon as an answer is
    complete; reconnects when the server closes (sync workers do after every answer)."""

    def __init__(self, port: int, requests: Iterator[bytes]) -> None:
        self.port = port
        self.requests = requests
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.must_reconnect = False

    def connect(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        return sock

    def send_next(self) -> bool:
        request = next(self.requests, None)
        if request is None:
            return False
        self.sent_at = time.perf_counter()
        assert self.sock is not None
        self.sock.sendall(request)
        return True

    def answer(self) -> int | None:
        """The status once a whole answer is buffered, else None."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buffer[:end]).decode("latin-1").lower()
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip() == "close":
                self.must_reconnect = True
        if len(self.buffer) < end + 4 + length:
            return None
        del self.buffer[: end + 4 + length]
        return int(head[9:12])


def open_connections(server: Server, count: int) -> list[_Connection]:
    """Keep-alive connections to reuse across runs (`run_closed_loop(connections=...)`): gunicorn
    hands each new connection to whichever worker accepts it first, so every fresh set of 32
    is split differently between the workers, and a worker left with few connections idles
    while the others queue. Runs compared with each other share one set, hence one split."""
    connections = [_Connection(server.port, iter(())) for _ in range(count)]
    for conn in connections:
        conn.connect()
    return connections


def close_connections(connections: list[_Connection]) -> None:
    for conn in connections:
        if conn.sock is not None:
            conn.sock.close()


def _receive(sock: socket.socket) -> bytes:
    """The next bytes of an answer; b"" when the server closed the connection, with a FIN or,
    as a worker being recycled may, with a reset."""
    try:
        return sock.recv(RECV_BYTES)
    except ConnectionResetError:
        return b""


def _drain_answers(selector: selectors.BaseSelector, timeout_s: float = 5.0) -> None:
    """Read the answers still in flight when the clock stopped, so reused connections start
    the next run clean."""
    waiting = {key.fileobj: key.data for key in selector.get_map().values()}
    deadline = time.perf_counter() + timeout_s
    while waiting and time.perf_counter() < deadline:
        for key, _ in selector.select(timeout=0.5):
            conn: _Connection = key.data
            chunk = _receive(key.fileobj)
            if not chunk:
                conn.must_reconnect = True
            else:
                conn.buffer += chunk
                if conn.answer() is None:
                    continue
            selector.unregister(key.fileobj)
            waiting.pop(key.fileobj, None)
    for fileobj in list(waiting):
        selector.unregister(fileobj)


def run_closed_loop(
    *,
    server: Server,
    requests_per_client: list[Iterator[bytes]],
    seconds: float,
    warmup_s: float,
    connections: list[_Connection] | None = None,
) -> LoadResult:
    """Each client sends its next request as soon as its previous answer is complete. Answers
    of the first `warmup_s` are not counted; CPU is read over the counted window only. With
    `connections` (from open_connections, one per client) the run reuses them and leaves them
    open, otherwise it opens its own and closes them at the end."""
    selector = selectors.DefaultSelector()
    owned = connections is None
    if connections is None:
        connections = open_connections(server, len(requests_per_client))
    _start_clients(selector, connections, requests_per_client)
    loop = _ClosedLoop(server, selector, warmup_s=warmup_s, seconds=seconds)
    loop.run()
    _drain_answers(selector)
    if owned:
        close_connections(connections)
    selector.close()
    return loop.result(clients=len(connections))


def _start_clients(
    selector: selectors.BaseSelector,
    connections: list[_Connection],
    requests_per_client: list[Iterator[bytes]],
) -> None:
    """Give each connection its requests and send the first one, before the clock starts."""
    for conn, requests in zip(connections, requests_per_client, strict=True):
        conn.requests = iter(requests)
        conn.buffer.clear()
        if conn.must_reconnect:  # the server closed it after its last answer (sync workers)
            conn.sock.close()
            conn.connect()
            conn.must_reconnect = False
        assert conn.sock is not None
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        conn.send_next()


class _ClosedLoop:
    """The counted part of run_closed_loop over connections already registered with
    `selector`, each with its first request in flight. The clock starts when it is made, so
    opening the connections stays out of the warm-up."""

    def __init__(
        self,
        server: Server,
        selector: selectors.BaseSelector,
        *,
        warmup_s: float,
        seconds: float,
    ) -> None:
        self.server = server
        self.selector = selector
        self.seconds = seconds
        started = time.perf_counter()
        self.measure_from, self.stop_at = started + warmup_s, started + warmup_s + seconds
        self.latencies: list[float] = []
        self.errors = 0
        self.dropped = 0
        self.cpu_marks: list[tuple[float, float, float]] = []

    def run(self) -> None:
        while True:
            now = time.perf_counter()
            if not self.cpu_marks and now >= self.measure_from:
                self.mark()
            if now >= self.stop_at:
                break
            for key, _ in self.selector.select(timeout=0.5):
                self.on_readable(key)
        self.mark()

    def mark(self) -> None:
        self.cpu_marks.append(
            (
                time.process_time(),
                tree_cpu_seconds([self.server.pid]),
                tree_cpu_seconds(self.server.extra_pids),
            )
        )

    def on_readable(self, key: selectors.SelectorKey) -> None:
        conn: _Connection = key.data
        chunk = _receive(key.fileobj)
        if not chunk:
            # A worker that is recycled or shut down closes its idle keep-alive connections;
            # a request sent on one just then is lost, as a real client would see it.
            self.dropped += 1
            self.reconnect(key, conn)
            return
        conn.buffer += chunk
        status = conn.answer()
        if status is None:
            return
        self.count(conn, status)
        if conn.must_reconnect:
            self.reconnect(key, conn)
        elif not conn.send_next():
            raise RuntimeError(ERR_EXHAUSTED)

    def count(self, conn: _Connection, status: int) -> None:
        """Only answers to requests sent after the warm-up and complete before the stop count,
        so neither edge of the window leaks into the figures."""
        done = time.perf_counter()
        if conn.sent_at >= self.measure_from and done < self.stop_at:
            self.latencies.append(done - conn.sent_at)
            self.errors += status != 200

    def reconnect(self, key: selectors.SelectorKey, conn: _Connection) -> None:
        self.selector.unregister(key.fileobj)
        key.fileobj.close()
        conn.buffer.clear()
        conn.must_reconnect = False
        self.selector.register(conn.connect(), selectors.EVENT_READ, conn)
        if not conn.send_next():
            raise RuntimeError(ERR_EXHAUSTED)

    def result(self, *, clients: int) -> LoadResult:
        latencies, seconds = self.latencies, self.seconds
        latencies.sort()
        window = seconds * (os.cpu_count() or 1)
        (client0, server0, extra0), (client1, server1, extra1) = (
            self.cpu_marks[0],
            self.cpu_marks[-1],
        )
        return LoadResult(
            clients=clients,
            seconds=seconds,
            requests=len(latencies),
            errors=self.errors,
            dropped=self.dropped,
            rps=round(len(latencies) / seconds, 1),
            p50_ms=round(percentile(latencies, 0.50) * 1000, 2),
            p95_ms=round(percentile(latencies, 0.95) * 1000, 2),
            p99_ms=round(percentile(latencies, 0.99) * 1000, 2),
            max_ms=round(latencies[-1] * 1000, 2),
            client_cpu_share=round((client1 - client0) / window, 3),
            server_cpu_share=round((server1 - server0) / window, 3),
            services_cpu_share=round((extra1 - extra0) / window, 3),
            load_average_1_5_15=load_average(),
        )
