"""The database as event tables: who managed what when, which findings count, no leakage."""

import math
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from credit.models import RecordSource, StaffRole
from credit.services import record_create
from inspections.models import Complaint, ManagementContract, ProjectType, ReviewStatus
from inspections.risk.features_orm import OLD_BUILD_YEAR, compounds_by_day, event_tables
from ml.features import (
    COMPOUND_HISTORY_FEATURES,
    build_dataset,
    build_features,
    build_labels,
    tables_at,
)
from tests.factories import ContractFactory, EnterpriseFactory, ProjectFactory, staff
from tests.inspections.risk.conftest import local, simulated_db, visit

pytestmark = pytest.mark.django_db

CONFIRMED, REJECTED, PENDING = ReviewStatus.CONFIRMED, ReviewStatus.REJECTED, ReviewStatus.PENDING
HANDOVER = date(2024, 6, 1)


@pytest.fixture
def town():
    """p1: managed by A until 2024-06-01, then by B; p2: an old hospital nobody manages."""
    firm_a, firm_b = EnterpriseFactory(name="甲物业"), EnterpriseFactory(name="乙物业")
    p1 = ProjectFactory(name="一号小区", building_area_m2=Decimal("50000.00"))
    p2 = ProjectFactory(
        name="二号医院",
        project_type=ProjectType.HOSPITAL,
        is_old_compound=True,
        building_area_m2=Decimal("12345.50"),
    )
    ContractFactory(enterprise=firm_a, project=p1, start_date=date(2020, 1, 1), end_date=HANDOVER)
    ContractFactory(enterprise=firm_b, project=p1, start_date=HANDOVER)
    inspector = staff(role=StaffRole.INSPECTOR, regions=("150100",))
    reviewer = staff(role=StaffRole.REVIEWER, regions=("150100",)).user
    return {
        "a": firm_a,
        "b": firm_b,
        "p1": p1,
        "p2": p2,
        "inspector": inspector,
        "reviewer": reviewer,
    }


def record_history(town) -> None:
    p1, p2, inspector, reviewer = town["p1"], town["p2"], town["inspector"], town["reviewer"]
    # 00:30 in Shanghai is the previous day in UTC: the visit belongs to 1 March.
    visit(
        p1,
        inspector,
        local(date(2024, 3, 1), 0, 30),
        (("FEE-UNLISTED", CONFIRMED), ("ABANDON", REJECTED), ("SANITATION", PENDING)),
        reviewer=reviewer,
    )
    visit(
        p1,
        inspector,
        local(date(2024, 7, 1)),
        (("SANITATION", CONFIRMED), ("PARKING-DISORDER", CONFIRMED)),
        reviewer=reviewer,
    )
    visit(p1, inspector, local(date(2024, 7, 2)), (("ABANDON", PENDING),), submitted=False)
    visit(
        p2, inspector, local(date(2024, 5, 1)), (("SAFETY-ACCIDENT", CONFIRMED),), reviewer=reviewer
    )
    Complaint.objects.create(
        project=p1, text="电梯停运", received_at=local(date(2024, 5, 10)), registered_by=reviewer
    )
    record_create(
        enterprise=town["b"],
        rule_code="DEMO-REGION",
        decided_at=date(2024, 4, 1),
        source=RecordSource.AWARD,
        source_ref="test-award-1",
        actor=reviewer,
    )
    record_create(  # a bad record is no award
        enterprise=town["a"],
        rule_code="FEE-UNLISTED",
        decided_at=date(2024, 4, 2),
        source=RecordSource.MANUAL,
        source_ref="test-bad-1",
        actor=reviewer,
    )


def test_compounds_carry_the_manager_of_the_day_and_the_old_compound_flag(town):
    p1, p2 = town["p1"], town["p2"]

    before = event_tables(as_of=HANDOVER - timedelta(days=1)).compounds
    after = event_tables(as_of=HANDOVER).compounds

    assert before["enterprise_id"].tolist() == [town["a"].id, -p2.id]
    assert after["enterprise_id"].tolist() == [town["b"].id, -p2.id]
    assert after["compound_id"].tolist() == [p1.id, p2.id]
    assert after["area_m2"].tolist() == [50000.0, 12345.5]
    assert after["compound_type"].tolist() == ["residential", "hospital"]
    assert math.isnan(after["build_year"].iloc[0])
    assert after["build_year"].iloc[1] == OLD_BUILD_YEAR


def test_inspections_count_confirmed_findings_by_severity_with_the_manager_of_the_visit(town):
    record_history(town)

    tables = event_tables(as_of=date(2024, 8, 1))

    rows = tables.inspections.sort_values("date")[
        ["compound_id", "enterprise_id", "date", "n_minor", "n_ordinary", "n_serious"]
    ]
    assert [tuple(r) for r in rows.astype(str).itertuples(index=False)] == [
        (str(town["p1"].id), str(town["a"].id), "2024-03-01", "0", "1", "0"),
        (str(town["p2"].id), str(-town["p2"].id), "2024-05-01", "0", "0", "1"),
        (str(town["p1"].id), str(town["b"].id), "2024-07-01", "2", "0", "0"),
    ]
    assert tables.complaints[["compound_id", "enterprise_id"]].values.tolist() == [
        [town["p1"].id, town["a"].id]
    ]
    assert tables.complaints["date"].astype(str).tolist() == ["2024-05-10"]
    assert tables.awards["enterprise_id"].tolist() == [town["b"].id]
    assert tables.awards["date"].astype(str).tolist() == ["2024-04-01"]


def test_features_read_the_database_history(town):
    record_history(town)

    features = build_features(event_tables(as_of=date(2024, 8, 1)), date(2024, 8, 1))

    p1, p2 = features.loc[town["p1"].id], features.loc[town["p2"].id]
    assert (p1["ordinary_365d"], p1["minor_365d"], p1["serious_365d"]) == (1.0, 2.0, 0.0)
    assert p1["inspections_365d"] == 2.0
    assert p1["days_since_last_inspection"] == 31.0
    assert p1["complaints_365d"] == 1.0
    assert p1["ent_awards_1095d"] == 1.0  # B's award; B manages p1 now
    assert (p2["serious_365d"], p2["old_compound"], p2["type_hospital"]) == (1.0, 1.0, 1.0)
    assert p2["ent_compounds"] == 1.0  # its own pseudo-enterprise, not a pool of orphans


def test_labels_come_from_inspections_actually_made(town):
    record_history(town)
    tables = event_tables(as_of=date(2024, 8, 1))

    spring = build_labels(tables, date(2024, 2, 15))
    summer = build_labels(tables, date(2024, 6, 15))

    # Spring window: p1's confirmed ordinary finding (the rejected serious one does not count),
    # p2's confirmed serious one. The draft visit never happened.
    assert spring[["compound_id", "label", "n_inspections"]].values.tolist() == [
        [town["p1"].id, 1, 2],
        [town["p2"].id, 1, 1],
    ]
    # Summer window: p1 only had minor findings; p2 was not inspected, so it has no label at
    # all (unknown, not clean).
    assert summer[["compound_id", "label", "n_inspections"]].values.tolist() == [
        [town["p1"].id, 0, 1]
    ]


def test_events_after_the_cutoff_do_not_change_features(town):
    record_history(town)
    cutoff = date(2024, 6, 15)
    before = build_features(event_tables(as_of=cutoff), cutoff)

    p1, p2, inspector = town["p1"], town["p2"], town["inspector"]
    reviewer = town["reviewer"]
    # Ten minutes into the cutoff day (the previous day in UTC) is already the future.
    visit(p1, inspector, local(cutoff, 0, 10), (("ABANDON", CONFIRMED),), reviewer=reviewer)
    visit(
        p2, inspector, local(date(2024, 7, 20)), (("ELEVATOR-OPS", CONFIRMED),), reviewer=reviewer
    )
    Complaint.objects.create(
        project=p2, text="漏水", received_at=local(date(2024, 6, 16)), registered_by=reviewer
    )
    ContractFactory(enterprise=town["a"], project=p2, start_date=date(2024, 7, 1))
    record_create(
        enterprise=town["a"],
        rule_code="DEMO-REGION",
        decided_at=date(2024, 6, 30),
        source=RecordSource.AWARD,
        source_ref="test-award-2",
        actor=reviewer,
    )

    after = build_features(event_tables(as_of=cutoff), cutoff)

    pd.testing.assert_frame_equal(before, after)
    # The later contract is there: the same cutoff seen with today's managers differs.
    assert not after.equals(build_features(event_tables(as_of=date(2024, 8, 1)), cutoff))


def _training_view(cutoff: date, today: date):
    """What monthly training sees at `cutoff` when run on `today`: all events known today, the
    compounds and managers of the cutoff's day."""
    tables = event_tables(as_of=today)
    compounds_at = compounds_by_day()
    features = build_features(tables_at(tables, cutoff, compounds_at), cutoff)
    dataset = build_dataset(tables, [cutoff], compounds_at=compounds_at)
    return features, dataset


def test_a_new_manager_after_the_cutoff_does_not_change_the_features_training_sees(town):
    record_history(town)
    cutoff, today = date(2024, 6, 15), date(2024, 9, 1)
    features_before, dataset_before = _training_view(cutoff, today)

    # B loses p1 on 1 August (after the cutoff); A, with its confirmed ordinary finding and its
    # bad credit record, takes it back.
    handback = date(2024, 8, 1)
    ManagementContract.objects.filter(project=town["p1"], enterprise=town["b"]).update(
        end_date=handback
    )
    ContractFactory(enterprise=town["a"], project=town["p1"], start_date=handback)
    features_after, dataset_after = _training_view(cutoff, today)

    pd.testing.assert_frame_equal(features_before, features_after)
    pd.testing.assert_frame_equal(dataset_before.features, dataset_after.features)
    np.testing.assert_array_equal(dataset_before.labels, dataset_after.labels)
    assert features_after.loc[town["p1"].id, "ent_awards_1095d"] == 1.0  # B's award, B's cutoff
    # Today's managers at the same cutoff (the leak this guards against) would differ.
    today_managers = build_features(event_tables(as_of=today), cutoff)
    assert today_managers.loc[town["p1"].id, "ent_awards_1095d"] == 0.0


def test_compounds_by_day_are_the_compounds_of_event_tables_of_that_day(town):
    compounds_at = compounds_by_day()

    for day in (HANDOVER - timedelta(days=1), HANDOVER, date(2030, 1, 1)):
        pd.testing.assert_frame_equal(compounds_at(day), event_tables(as_of=day).compounds)


def test_a_simulated_world_reads_back_with_the_simulators_own_history_features():
    db = simulated_db(n_enterprises=5, n_compounds=30, years=2, seed=3)
    cutoff = db.today - timedelta(days=100)

    from_db = build_features(event_tables(as_of=cutoff), cutoff)
    from_world = build_features(db.world.event_tables(), cutoff)

    project_of = {k + 1: project.id for k, project in enumerate(db.projects)}
    expected = from_world.rename(index=project_of)[list(COMPOUND_HISTORY_FEATURES)]
    actual = from_db.loc[expected.index, list(COMPOUND_HISTORY_FEATURES)]
    np.testing.assert_array_equal(actual.to_numpy(), expected.to_numpy())
    assert expected["inspections_365d"].sum() > 0  # the comparison is about something


def test_an_unknown_violation_code_counts_as_nothing(town):
    visit(
        town["p1"],
        town["inspector"],
        local(date(2024, 3, 1)),
        (("NOT-IN-RULEBOOK", CONFIRMED),),
        reviewer=town["reviewer"],
    )

    row = event_tables(as_of=date(2024, 8, 1)).inspections.iloc[0]

    assert (row["n_minor"], row["n_ordinary"], row["n_serious"]) == (0, 0, 0)
