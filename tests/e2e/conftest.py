import pytest

from tests.mobile_api.fixtures import *  # noqa: F403


@pytest.fixture(autouse=True)
def short_lived_connections():
    """The live server answers each request on a new thread; a persistent connection per thread
    would outlive the test and keep the test database busy at teardown."""
    from django.db import connections

    saved = connections.settings["default"].get("CONN_MAX_AGE", 0)
    connections.settings["default"]["CONN_MAX_AGE"] = 0
    yield
    connections.settings["default"]["CONN_MAX_AGE"] = saved
