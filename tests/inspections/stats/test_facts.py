"""The stored facts behind every dashboard: a refresh replaces whole months (twice is the same as
once), a month nobody computed is computed when asked for, and a change shows once its month is
refreshed — the freshness the page states."""

from datetime import date

import pytest

from credit.stats.periods import parse_period
from inspections.models import StatisticFact, StatisticsRefresh
from inspections.stats.dashboard import compute_dashboard
from inspections.stats.facts import ensure_facts, facts_refresh, recent_months
from inspections.stats.regions import statistics_region
from inspections.tasks import refresh_statistics
from tests.inspections.stats.world import MARCH, build_world, inspect, local

pytestmark = pytest.mark.django_db
YEAR = parse_period("2025-04..2026-03")


@pytest.fixture
def world():
    return build_world()


def stored() -> list[tuple]:
    return sorted(
        StatisticFact.objects.values_list("month", "region_code", "figure", "key", "value")
    )


def test_a_second_refresh_replaces_the_months_with_the_same_rows(world):
    facts_refresh(YEAR)
    first = stored()
    facts_refresh(YEAR)

    assert stored() == first
    assert first, "the world has facts"
    assert {row[0] for row in first} <= set(YEAR.months)


def test_a_month_never_computed_is_computed_when_a_dashboard_asks(world):
    assert not StatisticsRefresh.objects.exists()

    compute_dashboard(statistics_region(world.admin.user, "150100"), MARCH)

    assert set(StatisticsRefresh.objects.values_list("month", flat=True)) == set(
        MARCH.trend().months
    )
    before = dict(StatisticsRefresh.objects.values_list("month", "refreshed_at"))
    ensure_facts(MARCH.trend())
    assert dict(StatisticsRefresh.objects.values_list("month", "refreshed_at")) == before


def test_a_change_shows_once_its_month_is_refreshed(world):
    region = statistics_region(world.admin.user, "150100")
    before = compute_dashboard(region, MARCH)
    inspect(world, world.projects["E"], local(date(2026, 3, 30)))

    stale = compute_dashboard(region, MARCH)
    facts_refresh(MARCH)
    fresh = compute_dashboard(region, MARCH)

    assert stale.inspections.total == before.inspections.total == 4
    assert fresh.inspections.total == 5
    assert fresh.coverage.inspected == before.coverage.inspected + 1  # E is covered now
    # The page states the oldest month's time: the other eleven were not refreshed again.
    assert fresh.facts_as_of == before.facts_as_of
    march = StatisticsRefresh.objects.get(month=date(2026, 3, 1)).refreshed_at
    assert march > before.facts_as_of


def test_the_hourly_task_refreshes_this_month_and_the_last(world, monkeypatch):
    monkeypatch.setattr("inspections.stats.facts.today_local", lambda: date(2026, 4, 10))

    refresh_statistics("recent")

    assert recent_months(date(2026, 4, 10)).key == "2026-03..2026-04"
    assert set(StatisticsRefresh.objects.values_list("month", flat=True)) == {
        date(2026, 3, 1),
        date(2026, 4, 1),
    }
    assert StatisticFact.objects.filter(month=date(2026, 3, 1), figure="inspections").exists()


def test_the_nightly_task_covers_every_month_from_the_first_record(world, monkeypatch):
    monkeypatch.setattr("inspections.stats.facts.today_local", lambda: date(2026, 4, 10))

    refresh_statistics("all")

    months = set(StatisticsRefresh.objects.values_list("month", flat=True))
    assert min(months) == date(2025, 3, 1)  # B's inspection of 2025-03-15, the first record
    assert max(months) == date(2026, 4, 1)
    assert len(months) == 14
