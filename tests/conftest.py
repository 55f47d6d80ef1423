"""Generic fixtures for the whole suite. Services and their fixtures (`services`,
`celery_worker_proc`, `s3_store`, `folder_store`) live in `tests/harness/plugin.py`."""

import pytest
from hypothesis import settings

# Shared 2-core CI machines stall now and then; a per-example deadline would turn that into
# flaky failures. Speed is measured by the benchmarks instead.
settings.register_profile("wuye", deadline=None)
settings.load_profile("wuye")


@pytest.fixture
def celery_eager():
    """Run tasks in-process for one test even when a broker is configured. Tasks queued with
    `delay_on_commit` still wait for a real commit: combine with `transactional_db` or with
    `django_capture_on_commit_callbacks(execute=True)`."""
    from backend.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _fast_test_settings(settings):
    """Two costs no test is about: the production password hasher (~0.5 s a hash, by design)
    and the manifest static storage that needs `collectstatic` before any page renders."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_snapshot_cache_across_tests():
    """The public pages cache the latest snapshot per process; rolled-back test databases
    reuse ids, so no test may be answered from another's cache, whatever directory it is in."""
    from credit.selectors import clear_snapshot_caches

    clear_snapshot_caches()
    yield
    clear_snapshot_caches()
