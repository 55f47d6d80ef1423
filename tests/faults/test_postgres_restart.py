"""PostgreSQL restarts while phones keep the production server (gunicorn, persistent database
connections with health checks) busy: requests fail only while the database is down, none
after it is back, and the phones' retried writes end as in a run without the restart."""

import random
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from tests.faults.control import reconnect_database, wait_until
from tests.faults.fingerprint import assert_same_end_state, reset_world, take_fingerprint
from tests.faults.world import build_world, seeded_uuid
from tests.inspections import imagefactory
from tests.mobile_api.phone import STARTED

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CLIENTS = 4
INSPECTIONS_PER_CLIENT = 40
INSPECTIONS_PER_CLIENT_LONG = 150
RESTARTS_LONG = 3
# The restart begins once the load is running, and the database comes back once the canary
# client has met it down this many times. The other clients hold back while it is down, so
# most server threads keep a connection that died with the restart and meet it only after:
# a health check must catch it then (when every thread meets the outage, its connection is
# dropped as failed and a missing health check would go unnoticed).
WARM_UP_ANSWERS = 30
ANSWERS_WHILE_DOWN = 3
# The phone app's offline queue resends a failed write after a pause.
RESEND_PAUSE_S = 0.05
MAX_SENDS = 400  # bounds a test that cannot pass; an outage of seconds needs far fewer


@dataclass(frozen=True)
class Exchange:
    started: float
    ended: float
    method: str
    status: int | None  # None: no HTTP answer at all
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 500

    def overlaps(self, start: float, end: float) -> bool:
        return self.started <= end and self.ended >= start


class LoadClient(threading.Thread):
    """One phone: PUT an inspection (resent until the server takes it), then GET its task
    feed, over and over, recording every exchange."""

    def __init__(
        self,
        base_url: str,
        token: str,
        project_id: int,
        *,
        seed: int,
        inspections: int,
        log: list,
        gate: threading.Event | None,
    ) -> None:
        super().__init__(daemon=True)
        self.gate, self.parked = gate, threading.Event()
        self.api = f"{base_url}/api/mobile/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.project_id, self.log = project_id, log
        rng = random.Random(seed)
        self.inspections = [seeded_uuid(rng) for _ in range(inspections)]
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for inspection_uuid in self.inspections:
                self._put_until_taken(inspection_uuid)
                self._send("GET", f"{self.api}/tasks")
        except BaseException as exc:
            self.failure = exc

    def _put_until_taken(self, inspection_uuid) -> None:
        body = {
            "project_id": self.project_id,
            "started_at": STARTED.isoformat(),
            "location": {
                "lat": imagefactory.HOHHOT_LAT,
                "lon": imagefactory.HOHHOT_LON,
                "accuracy_m": 10.0,
            },
        }
        for _ in range(MAX_SENDS):
            exchange = self._send("PUT", f"{self.api}/inspections/{inspection_uuid}", json=body)
            if not exchange.failed:
                assert exchange.status in (200, 201), exchange
                return
            time.sleep(RESEND_PAUSE_S)
        raise AssertionError(f"inspection {inspection_uuid} was never taken")

    def _send(self, method: str, url: str, **kwargs) -> Exchange:
        if self.gate is not None and not self.gate.is_set():
            self.parked.set()
            self.gate.wait()
            self.parked.clear()
        started = time.monotonic()
        try:
            response = self.http.request(method, url, timeout=30, **kwargs)
            status, error = response.status_code, ""
        except requests.RequestException as exc:
            status, error = None, repr(exc)
        exchange = Exchange(started, time.monotonic(), method, status, error)
        self.log.append(exchange)
        return exchange


def run_load(base_url: str, *, inspections: int, during=None) -> list[Exchange]:
    """Every client's inspections, with `during(log, gate, held_back)` run in this thread
    meanwhile. The first client is the canary; the others pause while `gate` is clear."""
    world = build_world(inspectors=CLIENTS)
    log: list[Exchange] = []
    gate = threading.Event()
    gate.set()
    clients = [
        LoadClient(
            base_url,
            token,
            world.project_id,
            seed=index,
            inspections=inspections,
            log=log,
            gate=gate if index else None,
        )
        for index, token in enumerate(world.inspector_tokens)
    ]
    for client in clients:
        client.start()
    if during is not None:
        try:
            during(log, gate, clients[1:])
        finally:
            gate.set()
    for client in clients:
        client.join(180)
        assert not client.is_alive(), "a load client never finished"
        if client.failure is not None:
            raise client.failure
    return log


def restarts(postgresql, *, times: int, windows: list[tuple[float, float]]):
    """`times` restarts of PostgreSQL, each once WARM_UP_ANSWERS more answers came in; the
    (down, up) moments of each go to `windows`."""

    def restart_again_and_again(log: list[Exchange], gate, held_back: list[LoadClient]):
        for _ in range(times):
            warm = len(log) + WARM_UP_ANSWERS
            wait_until(lambda warm=warm: len(log) >= warm, "the load to warm up")
            gate.clear()
            wait_until(lambda: all(c.parked.is_set() for c in held_back), "clients to hold back")
            down = time.monotonic()
            postgresql.stop()
            try:
                wait_until(
                    lambda down=down: sum(e.started > down for e in log) >= ANSWERS_WHILE_DOWN,
                    "the canary to meet the database down",
                )
            finally:
                postgresql.start()
                windows.append((down, time.monotonic()))
                gate.set()

    return restart_again_and_again


def assert_failures_only_while_down(log: list[Exchange], windows) -> None:
    failed = [e for e in log if e.failed]
    assert failed, "no request met the database down: the test proved nothing"
    assert [e for e in failed if not any(e.overlaps(*w) for w in windows)] == []
    after = [e for e in log if e.started > windows[-1][1]]
    assert len(after) >= CLIENTS, "too few requests after the last restart to judge it"


def restart_scenario(server_url: str, postgresql, *, inspections: int, times: int) -> None:
    # Given the state a run without restarts ends in
    reset_world()
    log = run_load(server_url, inspections=inspections)
    assert [e for e in log if e.failed] == []
    baseline = take_fingerprint()

    # When PostgreSQL stops (fast shutdown: every session is cut) and starts again under load
    reset_world()
    windows: list[tuple[float, float]] = []
    during = restarts(postgresql, times=times, windows=windows)
    log = run_load(server_url, inspections=inspections, during=during)
    reconnect_database()

    # Then requests failed only while it was down, and none after it was back
    assert len(windows) == times
    assert_failures_only_while_down(log, windows)
    # and the resent writes ended as without the restarts
    assert_same_end_state(baseline, take_fingerprint())


def test_postgresql_restarts_under_load(gunicorn_server, services):
    restart_scenario(
        gunicorn_server.url, services.postgresql, inspections=INSPECTIONS_PER_CLIENT, times=1
    )


@pytest.mark.faults_long
@pytest.mark.timeout(600)  # three restarts under a longer load
def test_postgresql_restarts_again_and_again_under_load(gunicorn_server, services):
    restart_scenario(
        gunicorn_server.url,
        services.postgresql,
        inspections=INSPECTIONS_PER_CLIENT_LONG,
        times=RESTARTS_LONG,
    )
