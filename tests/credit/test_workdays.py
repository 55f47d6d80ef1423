"""The objection window counts working days of the mainland calendar (statutory holidays and
the make-up working days of the State Council's yearly schedule)."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from credit.workdays import add_working_days, is_working_day


def test_an_ordinary_week_skips_the_weekend():
    friday = date(2025, 3, 7)

    assert add_working_days(friday, 1) == date(2025, 3, 10)
    assert add_working_days(friday, 5) == date(2025, 3, 14)
    assert add_working_days(friday, 0) == friday


def test_the_national_day_week_is_skipped_and_its_make_up_saturday_counts():
    # 2026: 1–7 October off, Saturday 10 October worked. Counting Monday to Friday would end
    # five working days after 30 September on 7 October, in the middle of the holiday.
    assert add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert not is_working_day(date(2026, 10, 5))  # a Monday off
    assert is_working_day(date(2026, 10, 10))  # a Saturday worked


def test_the_spring_festival_is_skipped():
    # 2026: Saturday 14 February worked, 15–23 February off.
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)


def test_new_years_day_is_not_a_working_day():
    assert not is_working_day(date(2025, 1, 1))
    assert add_working_days(date(2024, 12, 31), 1) == date(2025, 1, 2)


@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(min_value=1, max_value=30),
)
def test_the_window_ends_on_a_working_day_with_exactly_that_many_before_it(start, days):
    end = add_working_days(start, days)

    assert is_working_day(end)
    counted = sum(is_working_day(start + timedelta(n)) for n in range(1, (end - start).days + 1))
    assert counted == days


def test_a_year_without_a_published_schedule_still_skips_its_statutory_holidays():
    # Estimated from the lunar calendar when the installed data stops: never a shorter window.
    assert not is_working_day(date(2031, 1, 1))
    assert not is_working_day(date(2031, 10, 1))
