"""Properties: a period written and read back is itself; the running-sum coverage trend equals a
direct COUNT(DISTINCT) for any history of inspections."""

import statistics
from datetime import date, time, timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit.stats.periods import (
    MAX_MONTHS,
    Period,
    PeriodError,
    add_months,
    month_index,
    parse_period,
)
from inspections.models import Inspection, InspectionStatus
from inspections.stats.coverage import coverage_by_month
from inspections.stats.facts import facts_refresh, summed_facts
from inspections.stats.queries import WaitTenths, median_days
from inspections.stats.regions import statistics_region_unscoped
from tests.factories import ProjectFactory, region, staff
from tests.inspections.stats.world import inspect, local

months = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 1)).map(
    lambda d: d.replace(day=1)
)


@given(months, st.integers(min_value=0, max_value=MAX_MONTHS - 1))
def test_a_period_reads_back_from_its_key(first, length):
    last = add_months(first, length)
    if last.year > 2099:
        return
    period = Period(first, last)

    again = parse_period(period.key)

    assert again == period
    assert len(again.months) == length + 1
    assert again.end == add_months(last, 1)
    assert again.local_bounds()[0].utcoffset() == timedelta(hours=8)


@given(st.text(max_size=30))
def test_any_text_is_a_period_or_a_period_error(text):
    try:
        period = parse_period(text)
    except PeriodError as error:
        assert str(error)
    else:
        assert 1 <= len(period.months) <= MAX_MONTHS


@given(months)
def test_a_short_period_trends_over_the_year_up_to_it(month):
    if month.year < 2001:
        return
    trend = Period(month, month).trend()
    assert len(trend.months) == 12 and trend.last_month == month
    assert month_index(trend.first_month) == month_index(month) - 11


class Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 40), st.booleans()), min_size=0, max_size=25
    )
)
def test_the_coverage_trend_equals_a_direct_count(visits):
    try:
        with transaction.atomic():
            _check_coverage_trend(visits)
            raise Rollback
    except Rollback:
        pass


def _check_coverage_trend(visits) -> None:
    county = region("150102", "新城区")
    inspector = staff(role="inspector", regions=("150100",))
    projects = [ProjectFactory(region=county) for _ in range(4)]
    holder = type("W", (), {"inspector": inspector})
    first = date(2023, 1, 1)
    for compound, month_offset, late_at_night in visits:
        day = add_months(first, month_offset) + timedelta(days=month_offset % 27)
        clock = time(23, 59) if late_at_night else time(0, 0)
        inspect(holder, projects[compound], local(day, clock))
    trend = Period(date(2023, 6, 1), date(2026, 3, 1))

    facts_refresh(trend)
    got = coverage_by_month(summed_facts(statistics_region_unscoped("150102"), trend), trend)

    for month in trend.months:
        start, end = add_months(month, -11), add_months(month, 1)
        expected = Inspection.objects.filter(
            project__region__code__startswith="150102",
            status=InspectionStatus.SUBMITTED,
            started_at__gte=local(start, time(0, 0)),
            started_at__lt=local(end, time(0, 0)),
        ).aggregate(n=Count("project", distinct=True))["n"]
        assert got[month].inspected == expected, month
        assert got[month].compounds == 4


@given(st.lists(st.integers(0, 400), max_size=60))
def test_the_median_of_a_histogram_is_the_median_of_its_waits(tenths):
    histogram: dict[int, int] = {}
    for value in tenths:
        histogram[value] = histogram.get(value, 0) + 1

    got = median_days(histogram)

    if not tenths:
        assert got is None
    else:
        assert got == round(statistics.median(tenths) / 10, 2)


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 40 * 24 * 3600), min_size=1, max_size=10))
def test_waits_are_whole_tenths_of_a_day_in_the_database(seconds):
    """The database's WaitTenths is floor(seconds / 8640), whatever the wait."""
    try:
        with transaction.atomic():
            _check_tenths(seconds)
            raise Rollback
    except Rollback:
        pass


def _check_tenths(seconds) -> None:
    holder = type("W", (), {"inspector": staff(role="inspector", regions=("150100",))})
    project = ProjectFactory(region=region("150102", "新城区"))
    start = local(date(2026, 1, 5), time(8, 0))
    for wait in seconds:
        row = inspect(holder, project, start, finished_minutes=0)
        Inspection.objects.filter(pk=row.pk).update(finished_at=start + timedelta(seconds=wait))
    got = sorted(
        Inspection.objects.filter(project=project)
        .annotate(t=WaitTenths("finished_at", "started_at"))
        .values_list("t", flat=True)
    )
    assert got == sorted(wait // 8640 for wait in seconds)
