"""Tasks queued with `delay_on_commit` run only for committed transactions, exactly once, on a
real Celery worker consuming the real Redis broker and the test database."""

import time
import uuid

import pytest
from django.db import transaction

from backend.models import WorkerHeartbeat
from backend.tasks import heartbeat

# Covers a cold worker importing Django and opening its first database connection on a busy
# 2-core machine; a healthy worker answers in well under a second.
WORKER_WAIT_S = 20.0


def beats_of(name: str) -> int | None:
    row = WorkerHeartbeat.objects.filter(name=name).first()
    return row.beats if row else None


def wait_for_beats(name: str, expected: int) -> int | None:
    deadline = time.monotonic() + WORKER_WAIT_S
    while time.monotonic() < deadline:
        beats = beats_of(name)
        if beats == expected:
            return beats
        time.sleep(0.1)
    return beats_of(name)


def drain_queue() -> None:
    """The solo worker runs one task at a time in queue order, so once a marker queued now has
    run, every message published before it has run too."""
    marker = f"marker-{uuid.uuid4().hex}"
    heartbeat.delay(marker)
    assert wait_for_beats(marker, 1) == 1, "the worker did not consume the queue"


@pytest.mark.django_db
def test_heartbeat_counts_every_execution():
    heartbeat("counted")
    heartbeat("counted")

    row = WorkerHeartbeat.objects.get(name="counted")
    assert row.beats == 2
    assert row.last_at is not None


@pytest.mark.worker
def test_task_queued_in_a_rolled_back_transaction_never_runs(transactional_db, celery_worker_proc):
    name = f"rolled-back-{uuid.uuid4().hex}"

    with pytest.raises(RuntimeError, match="abort"), transaction.atomic():
        heartbeat.delay_on_commit(name)
        raise RuntimeError("abort")
    drain_queue()

    assert beats_of(name) is None


@pytest.mark.worker
def test_task_queued_in_a_committed_transaction_runs_exactly_once(
    transactional_db, celery_worker_proc
):
    name = f"committed-{uuid.uuid4().hex}"

    with transaction.atomic():
        heartbeat.delay_on_commit(name)
        # Nothing is published before the commit, so the worker cannot have run it yet.
        drain_queue()
        assert beats_of(name) is None

    assert wait_for_beats(name, 1) == 1
    drain_queue()
    assert beats_of(name) == 1
