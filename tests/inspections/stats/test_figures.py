"""Every figure of the dashboard against the hand-built world of `world.py`, whose answers were
counted by hand (March 2026, 呼和浩特市), and the coverage trend against a brute-force count."""

from datetime import date

import pytest
from django.db.models import Count

from credit.stats.grades import BLACKLIST
from credit.stats.periods import add_months, parse_period
from inspections.models import Inspection, InspectionStatus
from inspections.stats.dashboard import compute_dashboard
from inspections.stats.regions import statistics_region
from tests.inspections.stats.world import MARCH, build_world, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def march(world):
    return compute_dashboard(statistics_region(world.admin.user, "150100"), MARCH)


def test_inspections_by_kind_count_submitted_visits_in_local_months(march):
    assert march.inspections.by_kind == {"planned": 1, "random": 1, "complaint": 1, "self": 1}
    assert march.inspections.total == 4
    assert march.inspections.by_child == {
        "150102": {"planned": 1, "self": 1},
        "150103": {"complaint": 1, "random": 1},
    }


def test_a_month_period_trends_over_the_twelve_months_up_to_it(march):
    assert march.trend.key == "2025-04..2026-03"
    assert min(march.inspections.by_month) == date(2025, 4, 1)
    assert len(march.inspections.by_month) == 12
    assert march.inspections.by_month[date(2026, 3, 1)] == march.inspections.by_kind
    assert march.inspections.by_month[date(2025, 6, 1)] == {"self": 1}
    assert march.inspections.by_month[date(2026, 2, 1)] == {"self": 1}


def test_coverage_is_compounds_inspected_in_the_twelve_months_to_the_end(march):
    assert (march.coverage.compounds, march.coverage.inspected) == (5, 3)
    assert march.coverage.percent == 60.0
    by_child = {code: (c.compounds, c.inspected) for code, c in march.coverage_by_child.items()}
    assert by_child == {"150102": (2, 1), "150103": (3, 2)}


def test_coverage_trend_matches_a_direct_count_for_every_month(world, march):
    region = statistics_region(world.admin.user, "150100")
    for month, coverage in march.coverage_by_month.items():
        window_start = add_months(month, -11)
        window_end = add_months(month, 1)
        covered = Inspection.objects.filter(
            project__region__code__startswith="1501",
            status=InspectionStatus.SUBMITTED,
            started_at__gte=local(window_start).replace(hour=0, minute=0),
            started_at__lt=local(window_end).replace(hour=0, minute=0),
        ).aggregate(n=Count("project", distinct=True))["n"]
        assert coverage.inspected == covered, month
        assert coverage.compounds == 5
    assert march.coverage_by_month[date(2025, 4, 1)].inspected == 1  # B, inspected 2025-03-15
    assert march.coverage_by_month[date(2025, 6, 1)].inspected == 2  # and A, 2025-06-10
    assert march.coverage_by_month[date(2026, 3, 1)].percent == march.coverage.percent
    assert region.prefix == "1501"


def test_property_service_coverage_on_the_last_day_by_kind_of_compound(march):
    served = {
        key: (c.compounds, c.inspected, c.percent) for key, c in march.service_coverage.items()
    }
    assert served == {
        "residential": (4, 2, 50.0),  # A and F under contract; B's ended 2026-02-01, E never
        "old_residential": (1, 1, 100.0),
        "non_residential": (1, 1, 100.0),
    }


def test_findings_by_rule_and_severity_and_the_review_figures(march):
    rows = {r.code: (r.found, r.confirmed, r.rejected, r.pending) for r in march.findings.by_rule}
    assert rows == {"ELEVATOR-OPS": (2, 0, 1, 1), "SANITATION": (1, 1, 0, 0)}
    assert [r.code for r in march.findings.by_rule] == ["ELEVATOR-OPS", "SANITATION"]
    assert march.findings.by_severity() == {"ordinary": 2, "minor": 1}
    # Reviewed in March: two of March's findings and February's (10 days after it was found).
    assert (march.findings.reviewed, march.findings.confirmed) == (3, 2)
    assert march.findings.confirmation_percent == 66.7
    assert march.findings.median_days_to_review == 2.0
    last = march.findings.review_by_month[-1]
    assert (last.month, last.reviewed, last.confirmed, last.median_days) == (
        date(2026, 3, 1),
        3,
        2,
        2.0,
    )


def test_complaints_received_verified_closed_and_the_time_to_visit(march):
    c = march.complaints
    assert (c.received, c.verified, c.unfounded, c.closed, c.open, c.visited) == (3, 1, 1, 2, 1, 1)
    assert c.median_days_to_visit == 3.0  # received 03-17 09:00, visited 03-20 10:00


def test_random_share_planned_against_achieved(march):
    r = march.random_share
    assert (r.plans, r.items, r.random_items, r.done, r.random_done) == (1, 4, 3, 2, 1)
    assert (r.planned_percent, r.achieved_percent) == (75.0, 50.0)


def test_grades_are_the_last_snapshot_of_each_month_by_registration_region(march):
    by_month = {g.month: (g.as_of, g.firms_by_grade) for g in march.grades}
    assert by_month[date(2026, 3, 1)] == (date(2026, 3, 31), {BLACKLIST: 1, "AA": 1})
    assert by_month[date(2026, 2, 1)] == (date(2026, 2, 28), {"A": 1, "B": 1})
    assert by_month[date(2026, 1, 1)] == (None, {})


def test_blacklist_entries_exits_and_firms_on_the_list_at_the_end(march):
    b = march.blacklist
    assert (b.entries, b.exits, b.on_list_at_end) == (1, 1, 1)
    assert b.by_month[-1].entries == 1 and b.by_month[-1].exits == 1
    assert sum(m.entries for m in b.by_month) == 1


def test_objections_and_repairs_filed_in_the_period_with_their_outcomes(march):
    a = march.appeals
    assert (a.objections, a.objections_upheld, a.objections_rejected, a.objections_pending) == (
        2,
        1,
        0,
        1,
    )
    assert (a.repairs, a.repairs_approved, a.repairs_rejected, a.repairs_pending) == (2, 1, 1, 0)


def test_a_child_region_counts_only_its_own(world):
    figures = compute_dashboard(statistics_region(world.admin.user, "150102"), MARCH)
    assert figures.inspections.by_kind == {"planned": 1, "random": 0, "complaint": 0, "self": 1}
    assert (figures.coverage.compounds, figures.coverage.inspected) == (2, 1)
    assert figures.complaints.received == 2  # A's and B's
    assert figures.blacklist.entries == 1 and figures.blacklist.exits == 0


def test_the_province_counts_baotou_too(world):
    figures = compute_dashboard(statistics_region(world.admin.user, "150000"), MARCH)
    assert figures.inspections.total == 5
    assert figures.findings.found == 4
    assert figures.blacklist.entries == 2
    assert figures.appeals.repairs == 3
    assert {child.code for child in figures.region.children} >= {"150100", "150200"}


def test_a_quarter_counts_its_three_months(world):
    quarter = compute_dashboard(
        statistics_region(world.admin.user, "150100"), parse_period("2026-Q1")
    )
    assert quarter.trend.key == "2026-Q1"
    assert quarter.inspections.total == 5  # March's four and February's one
    assert quarter.findings.found == 4
