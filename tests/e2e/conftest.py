from tests.mobile_api.fixtures import *  # noqa: F403
