"""Turning faults on and off, and waiting for the system to settle, without fixed sleeps."""

import signal
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from django.db import close_old_connections, connections
from django.db.models import F

from tests.harness.services import ServiceProcess

T = TypeVar("T")
POLL_S = 0.02
# Bounds that end a test which cannot pass; a healthy run needs a small fraction of each.
SETTLE_TIMEOUT_S = 60.0


def wait_until(check: Callable[[], T], what: str, *, timeout_s: float = SETTLE_TIMEOUT_S) -> T:
    """Poll `check` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(POLL_S)


def kill_worker(worker: ServiceProcess) -> None:
    """SIGKILL: no warm shutdown, no message handed back, the open transaction dies with the
    connection, as when the kernel's OOM killer or a power cut takes the worker."""
    assert worker.popen is not None and worker.running, "the worker is not running"
    worker.popen.send_signal(signal.SIGKILL)
    worker.popen.wait(timeout=10)


class KillWhen(threading.Thread):
    """Watches for a moment (`moment()` returns something truthy) on its own database
    connection and SIGKILLs the worker right then, while the test thread drives a workload.
    `.victim` is what `moment()` returned."""

    def __init__(
        self,
        worker: ServiceProcess,
        moment: Callable[[], object],
        *,
        timeout_s: float = SETTLE_TIMEOUT_S,
    ) -> None:
        super().__init__(daemon=True)
        self.worker, self.moment, self.timeout_s = worker, moment, timeout_s
        self.victim: object = None
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self.victim = wait_until(
                self.moment, "the moment to kill the worker", timeout_s=self.timeout_s
            )
            kill_worker(self.worker)
        except BaseException as exc:  # reported by result() in the test thread
            self.failure = exc
        finally:
            connections.close_all()

    def result(self) -> object:
        self.join(self.timeout_s + 15)  # the kill itself, after the moment came
        assert not self.is_alive(), "the worker was never killed"
        if self.failure is not None:
            raise self.failure
        return self.victim


def let_sweeper_delay_pass() -> None:
    """Move every clock the sweepers look at 11 minutes back, as if that long had passed: the
    photo sweeper leaves `received` photos alone for their first 10 minutes (their message is
    probably still on its way)."""
    from credit.models import EnterpriseScore
    from inspections.models import Photo

    shift = timedelta(minutes=11)
    Photo.objects.filter(received_at__isnull=False).update(received_at=F("received_at") - shift)
    EnterpriseScore.objects.filter(dirty_since__isnull=False).update(
        dirty_since=F("dirty_since") - shift
    )


def run_sweepers_as_beat() -> None:
    """Publish the sweepers the way celery beat does; the worker runs them."""
    from credit.tasks import recompute_dirty_task
    from inspections.tasks import expire_uploads, sweep_photos

    sweep_photos.delay()
    recompute_dirty_task.delay()
    expire_uploads.delay()


def all_settled() -> bool:
    """No photo waiting for the worker, no enterprise waiting for a recompute, no upload parts
    left behind by a finished upload."""
    from credit.models import EnterpriseScore
    from inspections.models import Photo, PhotoState, Upload, UploadState

    return not (
        Photo.objects.filter(state=PhotoState.RECEIVED).exists()
        or EnterpriseScore.objects.filter(dirty=True).exists()
        or Upload.objects.filter(state=UploadState.COMPLETED).exclude(parts=[]).exists()
    )


def worker_caught_up(*, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Wait until the worker has run everything queued so far: a heartbeat queued last runs
    last (one queue, solo pool, one message at a time)."""
    from backend.models import WorkerHeartbeat
    from backend.tasks import heartbeat

    marker = f"faults-{uuid.uuid4().hex[:8]}"
    heartbeat.delay(marker)
    wait_until(
        lambda: WorkerHeartbeat.objects.filter(name=marker).exists(),
        "the worker to reach the end of its queue",
        timeout_s=timeout_s,
    )


def settle_with_worker(*, rounds: int = 3, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """What beat would do over the next minutes: run the sweepers until nothing is left
    unfinished. A round re-queues stuck photos, whose processing the next round waits for."""
    for _ in range(rounds):
        let_sweeper_delay_pass()
        run_sweepers_as_beat()
        worker_caught_up(timeout_s=timeout_s)
        if all_settled():
            return
    raise AssertionError("work was still unfinished after every sweep")


def reconnect_database() -> None:
    """After PostgreSQL restarted: drop this process's broken connections."""
    for connection in connections.all(initialized_only=True):
        connection.close()
    close_old_connections()
