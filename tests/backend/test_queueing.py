import logging

import pytest
from django.db import transaction

from backend.queueing import enqueue_on_commit

pytestmark = pytest.mark.django_db(transaction=True)


class _Task:
    """Stands in for the broker connection, the one edge these tests are about."""

    name = "tests.probe"

    def __init__(self, *, fail: bool) -> None:
        self.fail, self.calls = fail, []

    def delay(self, *args):
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.calls.append(args)


def test_publishes_only_after_commit():
    task = _Task(fail=False)
    with transaction.atomic():
        enqueue_on_commit(task, 7)
        assert task.calls == []

    assert task.calls == [(7,)]


def test_rolled_back_transaction_publishes_nothing():
    task = _Task(fail=False)
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(task, 7)
        raise RuntimeError

    assert task.calls == []


def test_broker_outage_after_commit_is_logged_not_raised(caplog):
    task = _Task(fail=True)
    with caplog.at_level(logging.WARNING, logger="backend.queueing"), transaction.atomic():
        enqueue_on_commit(task, 7)

    assert "could not queue tests.probe(7,) (ConnectionError: broker unreachable)" in caplog.text
