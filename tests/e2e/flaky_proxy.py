"""A loopback TCP proxy that drops connections at random points, as a 2G link does.

Each accepted connection is piped to the upstream server by two threads. With probability
`drop_probability` a connection gets a random byte budget in one direction; when the budget
runs out mid-stream both sockets are closed. At most `max_drops` connections are ever dropped,
so a client that retries always finishes.
"""

import contextlib
import random
import socket
import threading
from dataclasses import dataclass, field

PIPE_BYTES = 16 * 1024


@dataclass
class FlakyProxy:
    upstream: tuple[str, int]
    seed: int
    drop_probability: float = 0.5
    max_drops: int = 12
    # Budgets stay below a typical request or photo chunk so drops land inside bodies.
    max_budget: int = 200_000
    drops: int = 0
    connections: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()
        return f"http://{host}:{port}"

    def start(self) -> "FlakyProxy":
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()

    def _budgets(self) -> tuple[int | None, int | None]:
        """(client→server, server→client) byte budgets; None means unlimited."""
        with self._lock:
            self.connections += 1
            if self.drops >= self.max_drops or self._random.random() >= self.drop_probability:
                return None, None
            self.drops += 1
            budget = self._random.randrange(0, self.max_budget)
            upstream_side = self._random.random() < 0.7  # most drops hit the upload body
            return (budget, None) if upstream_side else (None, budget)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                downstream, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=30)
            except OSError:
                downstream.close()
                continue
            to_server, to_client = self._budgets()
            both = (downstream, upstream)
            threading.Thread(
                target=_pipe, args=(downstream, upstream, to_server, both), daemon=True
            ).start()
            threading.Thread(
                target=_pipe, args=(upstream, downstream, to_client, both), daemon=True
            ).start()


def _pipe(source: socket.socket, target: socket.socket, budget: int | None, both) -> None:
    try:
        while True:
            data = source.recv(PIPE_BYTES)
            if not data:
                break
            if budget is not None:
                if len(data) >= budget:
                    target.sendall(data[:budget])
                    break  # the link dies here
                budget -= len(data)
            target.sendall(data)
    except OSError:
        pass
    for sock in both:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
