"""Fixtures of the bureau API tests: the credit tests' staff and firms of 呼和浩特 (150100), 包头
firms and the clock (`tests/credit/conftest.py`), and the planner's staff
(`tests/inspections/risk/conftest.py`)."""

from tests.credit.conftest import *  # noqa: F403
from tests.inspections.risk.conftest import (  # noqa: F401
    one_openmp_thread,
    planner_admin,
    planner_reviewer,
)
