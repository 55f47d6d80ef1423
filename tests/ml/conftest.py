"""Fixtures for the pure ml package: no Django, no database, no services.

These tests must also run with ``-p no:django``, where pytest-django's ``settings`` fixture does
not exist; the suite-wide autouse fixture that needs it is replaced here by a no-op.
"""

from datetime import date

import pytest
from threadpoolctl import threadpool_limits

from ml.model import TrainedModel, plan_cutoffs, train
from ml.simulator import World, simulate

# Big enough for a hold-out of ~10,000 labelled compounds, so that ECE sampling noise (~0.01)
# stays well under the 0.03 bar; small enough to simulate and train in seconds.
WORLD_ENTERPRISES = 3000
WORLD_COMPOUNDS = 15_000
WORLD_START = date(2021, 1, 1)
WORLD_DAYS = 3 * 365
WORLD_SEED = 1
LAST_DAY = date(2023, 12, 31)


@pytest.fixture(autouse=True)
def _fast_test_settings():
    """Overrides the suite's Django settings fixture: nothing here touches Django."""


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """One OpenMP thread: on a shared 2-core machine, busy-waiting OpenMP threads of the
    boosting model slow down five-fold as soon as another process runs."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def world() -> World:
    return simulate(WORLD_ENTERPRISES, WORLD_COMPOUNDS, WORLD_START, WORLD_DAYS, WORLD_SEED)


@pytest.fixture(scope="session")
def trained(world) -> TrainedModel:
    train_cutoffs, holdout = plan_cutoffs(LAST_DAY)
    return train(
        world.event_tables(),
        train_cutoffs=train_cutoffs,
        holdout_cutoff=holdout,
        compounds_at=world.compounds_at,
    )
