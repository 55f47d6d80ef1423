"""Queueing work after a commit, the way ARCHITECTURE.md's reliability rules want it.

`enqueue_on_commit(task, *args)` is `task.delay_on_commit(*args)` that survives a broker outage:
the row that needs the work is already committed in its unfinished state (the database is the
outbox), so a failed publish is logged and left for the task's sweeper instead of turning a
successful request into an error.
"""

import logging
from typing import Any

from django.db import transaction

from backend.celery import app

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """`task` is a Celery task or its registered name: domain code names the task (a
    `task_names` constant) rather than import the tasks module, which imports the domain."""

    def publish() -> None:
        target = _resolve(task)  # an unknown name is a bug, not an outage: let it raise
        try:
            target.delay(*args)
        except Exception as exc:  # any broker failure: the sweeper will find the row
            # One line, no traceback: during an outage every request logs this.
            logger.warning(
                "could not queue %s%r (%s: %s); its sweeper will pick it up",
                getattr(task, "name", task),
                args,
                type(exc).__name__,
                exc,
            )

    publish.__qualname__ = f"enqueue_on_commit({getattr(task, 'name', task)})"
    transaction.on_commit(publish)


def _resolve(task: Any) -> Any:
    """The task object of a name, from the app's registry (each app's `ready()` imports its
    tasks module, so every process knows every task)."""
    return app.tasks[task] if isinstance(task, str) else task
