"""Reporting periods: a month, a quarter, a year or a run of months, in Asia/Shanghai.

Pure: no Django. A department head reports by calendar month, quarter and year; every figure
of the statistics counts days and instants inside one `Period`, local time, end exclusive.

Written forms (the `period` query parameter, export file names, report keys):
    2026-11            one month
    2026-Q3            a quarter
    2026               a year
    2024-01..2026-11   a run of months (both included), at most MAX_MONTHS long
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
MAX_MONTHS = 60
FIRST_YEAR, LAST_YEAR = 2000, 2099  # the range every client date of the product lives in
# A month period's trend charts show the year up to it: one point says nothing about a trend.
TREND_MONTHS_FOR_SHORT_PERIODS = 12
QUARTER_NAMES = ("第一季度", "第二季度", "第三季度", "第四季度")

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_YEAR = re.compile(r"(\d{4})")


class PeriodError(ValueError):
    """A period that cannot be read; the message says what is accepted, in Chinese."""


ERR_PERIOD = "统计期间应写作 2026-11（月）、2026-Q3（季度）、2026（年）或 2024-01..2026-11。"
ERR_PERIOD_RANGE = "统计期间须在 2000 年至 2099 年之间，且不超过 {months} 个月。"
ERR_PERIOD_ORDER = "统计期间的起始月份不能晚于结束月份。"


@dataclass(frozen=True)
class Period:
    first_month: date  # the first day of the first month
    last_month: date  # the first day of the last month (the same as first_month for a month)

    @property
    def start(self) -> date:
        return self.first_month

    @property
    def end(self) -> date:
        """The day after the period: every bound is end-exclusive."""
        return add_months(self.last_month, 1)

    @property
    def months(self) -> list[date]:
        count = month_index(self.last_month) - month_index(self.first_month) + 1
        return [add_months(self.first_month, step) for step in range(count)]

    @property
    def key(self) -> str:
        first, last = self.first_month, self.last_month
        if first == last:
            return f"{first:%Y-%m}"
        if first.year == last.year and (first.month, last.month) == (1, 12):
            return f"{first.year}"
        if first.year == last.year and first.month % 3 == 1 and last.month == first.month + 2:
            return f"{first.year}-Q{(first.month + 2) // 3}"
        return f"{first:%Y-%m}..{last:%Y-%m}"

    @property
    def label(self) -> str:
        """The period as a Chinese heading says it: 2026年11月, 2026年第三季度, 2026年,
        2024年1月至2026年11月."""
        key = self.key
        first, last = self.first_month, self.last_month
        if first == last:
            return f"{first.year}年{first.month}月"
        if "Q" in key:
            return f"{first.year}年{QUARTER_NAMES[(first.month - 1) // 3]}"
        if ".." not in key:
            return f"{first.year}年"
        return f"{first.year}年{first.month}月至{last.year}年{last.month}月"

    def local_bounds(self) -> tuple[datetime, datetime]:
        """The period's first and past-the-end instants, midnight in Asia/Shanghai."""
        return local_midnight(self.start), local_midnight(self.end)

    def trend(self) -> Period:
        """The months a trend chart of this period shows: the period itself when it has a few
        months, otherwise the twelve months that end with it."""
        if len(self.months) >= 3:
            return self
        return Period(
            add_months(self.last_month, 1 - TREND_MONTHS_FOR_SHORT_PERIODS), self.last_month
        )

    def twelve_months_to_end(self) -> tuple[date, date]:
        """The year that ends with the period (end exclusive): the coverage window."""
        return add_months(self.end, -12), self.end


def parse_period(text: str) -> Period:
    text = (text or "").strip()
    if ".." in text:
        first_text, _, last_text = text.partition("..")
        period = Period(_month_of(first_text), _month_of(last_text))
    elif match := _QUARTER.fullmatch(text):
        year, quarter = int(match[1]), int(match[2])
        first = _checked_month(year, 3 * quarter - 2)
        period = Period(first, add_months(first, 2))
    elif _YEAR.fullmatch(text):
        year = int(text)
        period = Period(_checked_month(year, 1), _checked_month(year, 12))
    else:
        month = _month_of(text)
        period = Period(month, month)
    return _checked(period)


def month_period(month: date) -> Period:
    first = month.replace(day=1)
    return Period(first, first)


def last_complete_month(today: date) -> Period:
    """The default period: the month before today's, the one a monthly report covers."""
    return month_period(add_months(today.replace(day=1), -1))


def add_months(month: date, count: int) -> date:
    index = month_index(month) + count
    return date(index // 12, index % 12 + 1, 1)


def month_index(month: date) -> int:
    return month.year * 12 + month.month - 1


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_ZONE)


def _month_of(text: str) -> date:
    match = _MONTH.fullmatch(text.strip())
    if not match:
        raise PeriodError(ERR_PERIOD)
    return _checked_month(int(match[1]), int(match[2]))


def _checked_month(year: int, month: int) -> date:
    if not (FIRST_YEAR <= year <= LAST_YEAR):
        raise PeriodError(ERR_PERIOD_RANGE.format(months=MAX_MONTHS))
    if not 1 <= month <= 12:
        raise PeriodError(ERR_PERIOD)
    return date(year, month, 1)


def _checked(period: Period) -> Period:
    if period.first_month > period.last_month:
        raise PeriodError(ERR_PERIOD_ORDER)
    if len(period.months) > MAX_MONTHS:
        raise PeriodError(ERR_PERIOD_RANGE.format(months=MAX_MONTHS))
    return period
