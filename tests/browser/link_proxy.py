"""A loopback TCP link between the browser and the test server that tests can break.

The browser opens the app at the proxy's address, so every byte of the app (pages, API, tus)
crosses it. The link can be
- `offline`: open connections are cut and new ones are refused at once (a phone in a lift);
- cut every `drop_every` bytes sent upstream (a flaky 2G/3G link): the connection carrying
  the byte that crosses the mark is closed mid-stream, both ways;
- paced to `rate` bytes per second upstream (the benchmark's slow link).
It counts what it forwarded and how often it cut, so tests can reason about it.
"""

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field

PIPE_BYTES = 16 * 1024


@dataclass
class LinkProxy:
    upstream: tuple[str, int]
    drop_every: int | None = None
    rate: float | None = None
    offline: bool = False
    bytes_up: int = 0
    drops: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)
    _open: set = field(default_factory=set)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()
        return f"http://{host}:{port}"

    def start(self) -> "LinkProxy":
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        self.cut_all()

    def go_offline(self) -> None:
        self.offline = True
        self.cut_all()

    def go_online(self) -> None:
        self.offline = False

    def cut_all(self) -> None:
        with self._lock:
            pairs = list(self._open)
        for pair in pairs:
            _close(*pair)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            if self.offline:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            pair = (client, server)
            with self._lock:
                self._open.add(pair)
            threading.Thread(
                target=self._pipe, args=(client, server, pair, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(server, client, pair, False), daemon=True
            ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, pair, upstream: bool) -> None:
        started = time.monotonic()
        sent = 0
        try:
            while True:
                data = source.recv(PIPE_BYTES)
                if not data:
                    break
                if upstream:
                    data, cut = self._admit(data)
                    if self.rate:
                        sent += len(data)
                        # Pace this connection's upload to the link's rate.
                        delay = sent / self.rate - (time.monotonic() - started)
                        if delay > 0:
                            time.sleep(delay)
                    if data:
                        sink.sendall(data)
                    if cut:
                        break
                else:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(*pair)
            with self._lock:
                self._open.discard(pair)

    def _admit(self, data: bytes) -> tuple[bytes, bool]:
        """The part of `data` that crosses the link, and whether the link cuts after it."""
        with self._lock:
            if self.offline:
                return b"", True
            before = self.bytes_up
            self.bytes_up += len(data)
            if self.drop_every and before // self.drop_every != self.bytes_up // self.drop_every:
                mark = (before // self.drop_every + 1) * self.drop_every
                self.bytes_up = mark
                self.drops += 1
                return data[: mark - before], True
            return data, False


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
