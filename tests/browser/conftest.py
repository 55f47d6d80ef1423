from tests.e2e.conftest import short_lived_connections  # noqa: F401 - autouse fixture
from tests.mobile_api.fixtures import *  # noqa: F403
