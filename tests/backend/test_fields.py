"""backend.fields: the range every client-sent date and time must fall in. Checked against an
oracle in whole seconds, so that the ends of the calendar (where moving to UTC overflows) are
covered without converting anything."""

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.fields import EARLIEST, LATEST, plausible_date, plausible_datetime

OFFSETS = st.builds(
    timezone,
    st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
    ),
)
DAY = 86_400


def utc_seconds(value: datetime) -> float:
    """Seconds since 0001-01-01 UTC, by integer arithmetic (never overflows)."""
    local = value.toordinal() * DAY + value.hour * 3600 + value.minute * 60 + value.second
    return local + value.microsecond / 1e6 - value.utcoffset().total_seconds()


def accepted(check, value) -> bool:
    try:
        return check(value) is value
    except ValueError:
        return False


@given(st.datetimes(timezones=OFFSETS))
def test_a_datetime_is_accepted_exactly_when_its_instant_is_in_range(value):
    lowest = EARLIEST.toordinal() * DAY
    highest = (LATEST.toordinal() + 1) * DAY
    assert accepted(plausible_datetime, value) == (lowest <= utc_seconds(value) < highest)


@given(st.dates())
def test_a_date_is_accepted_exactly_when_it_is_in_range(value):
    assert accepted(plausible_date, value) == (EARLIEST <= value <= LATEST)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("0001-01-01T00:00:00+06:27", False),  # found by `make fuzz`: a 500 before
        ("9999-12-31T23:59:59-05:00", False),
        ("1999-12-31T23:59:59-01:00", True),  # 2000-01-01T00:59:59Z
        ("2000-01-01T07:59:59+08:00", False),  # 1999-12-31T23:59:59Z
        ("2099-12-31T23:59:59+00:00", True),
    ],
)
def test_the_ends_are_instants_not_local_dates(text, ok):
    assert accepted(plausible_datetime, datetime.fromisoformat(text)) == ok


def test_the_ends_of_the_date_range_are_included():
    assert plausible_date(EARLIEST) == EARLIEST and plausible_date(LATEST) == LATEST
    assert not accepted(plausible_date, date(1999, 12, 31))
