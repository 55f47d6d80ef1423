"""Working days (工作日) of the mainland Chinese calendar, for the objection window.

A working day is Monday to Friday unless it is a statutory holiday (法定节假日 and the days off
around it), plus the weekend days the State Council's yearly schedule makes working days (调休).
The dates come from the `holidays` package (its China calendar carries each year's published
schedule); it is upgraded every December, when the next year's schedule is published
(docs/operations.md). For a year whose schedule the installed version does not carry yet, the
package estimates the statutory days from the lunar calendar and no weekend day is worked: the
window can then come out a day or two long, never short — an enterprise never loses time to
object.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
from django.utils import timezone


def today_local() -> date:
    """Today in the bureau's time zone (TIME_ZONE, Asia/Shanghai): the day every credit rule
    counts from, whatever the server clock's zone."""
    return timezone.localdate()


@lru_cache(maxsize=64)
def _calendar(year: int) -> holidays.HolidayBase:
    # One object per year, filled at once: lookups never grow it afterwards, so the web
    # process's threads can share it.
    return holidays.country_holidays("CN", years=year)


def is_working_day(day: date) -> bool:
    return _calendar(day.year).is_working_day(day)


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (`start` itself when `days` is 0)."""
    current, remaining = start, days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
