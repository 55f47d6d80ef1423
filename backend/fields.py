"""Date and time types for the dates and times clients send (the schemas of all three APIs).

A datetime near year 1 or 9999 parses, but moving it to UTC for the database overflows
(`0001-01-01T00:00:00+06:27` was a 500 on the phone API, found by `make fuzz`), and a year like
1 or 9999 is never a real inspection, complaint, credit decision or plan. Every value a client
sends must fall in [EARLIEST, LATEST]: outside it is a 422 `validation_error` naming the field.
The per-field rules of the product ("not in the future", "not before the inspection started")
stay in the services; this only keeps out what no rule could mean.
"""

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
MSG_OUT_OF_RANGE = f"日期须在 {EARLIEST.isoformat()} 至 {LATEST.isoformat()} 之间。"

_EARLIEST_INSTANT = datetime.combine(EARLIEST, time.min, tzinfo=UTC)
_LATEST_INSTANT = datetime.combine(LATEST, time.max, tzinfo=UTC)


def plausible_date(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(MSG_OUT_OF_RANGE)
    return value


def plausible_datetime(value: datetime) -> datetime:
    """Compared as instants, without converting: `astimezone` is what overflows at the ends of
    the calendar, and an aware datetime compares with another whatever their offsets."""
    if not _EARLIEST_INSTANT <= value <= _LATEST_INSTANT:
        raise ValueError(MSG_OUT_OF_RANGE)
    return value


ClientDate = Annotated[date, AfterValidator(plausible_date)]
ClientDateTime = Annotated[AwareDatetime, AfterValidator(plausible_datetime)]
