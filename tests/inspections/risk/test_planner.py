"""The planner: the pure selection (properties and the random part's probabilities) and the
plan services against the database (candidates, approval, workload-balanced tasks)."""

import math
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from backend.errors import status_for
from backend.exceptions import DomainError
from credit.models import StaffRole
from inspections.models import (
    Complaint,
    InspectionPlan,
    InspectionTask,
    PlanItem,
    ProjectRisk,
    RiskModelStatus,
    TaskKind,
    TaskStatus,
)
from inspections.risk.plan_services import ROUND_DAYS, plan_approve, plan_preview
from inspections.risk.planner import Candidate, make_plan, random_slot_count
from inspections.services import task_create
from tests.bureau_api.test_plans import model_row
from tests.factories import ContractFactory, EnterpriseFactory, ProjectFactory, region, staff
from tests.inspections.risk.conftest import local, visit


# --- pure --------------------------------------------------------------------------------------
def candidate(project_id, p=None, days=30, complaints=0) -> Candidate:
    return Candidate(
        project_id=project_id,
        probability=p,
        reasons=("模型理由",),
        days_since_inspection=days,
        open_complaints=complaints,
    )


candidates_st = st.lists(
    st.builds(
        candidate,
        project_id=st.integers(1, 10_000),
        p=st.none() | st.floats(0, 1),
        days=st.none() | st.integers(0, 800),
        complaints=st.sampled_from([0, 0, 0, 0, 1, 2]),
    ),
    max_size=60,
    unique_by=lambda c: c.project_id,
)


@given(
    candidates=candidates_st,
    capacity=st.integers(1, 40),
    share=st.floats(0, 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_plan_properties(candidates, capacity, share, seed):
    plan = make_plan(candidates, capacity=capacity, random_share=share, seed=seed)

    items = plan.items
    assert len(items) == min(capacity, len(candidates))
    assert [i.rank for i in items] == list(range(1, len(items) + 1))
    assert len({i.project_id for i in items}) == len(items)
    mandatory = [c for c in candidates if c.open_complaints or _overdue(c)]
    chosen = {i.project_id for i in items}
    if len(mandatory) <= capacity:
        assert {c.project_id for c in mandatory} <= chosen
        assert plan.mandatory_left_out == 0
    else:
        assert plan.mandatory_left_out == len(mandatory) - capacity
    kinds = [i.selected_by for i in items]
    order = {"complaint": 0, "overdue": 1, "model": 2, "random": 3}
    assert kinds == sorted(kinds, key=order.__getitem__)  # complaints first, random last
    random_items = [i for i in items if i.selected_by == "random"]
    assert len(random_items) == plan.random_slots
    expected_slots = min(
        random_slot_count(capacity, share), capacity - min(len(mandatory), capacity)
    )
    assert plan.random_slots == min(expected_slots, plan.random_pool)
    for item in random_items:
        assert item.inclusion_probability == plan.random_slots / plan.random_pool
    assert all(i.inclusion_probability == 1.0 for i in items if i.selected_by != "random")
    scored_left_out = [c.probability for c in candidates if c.project_id not in chosen]
    for item in items:
        if item.selected_by == "model" and item.probability is not None:
            assert all(p is None or item.probability >= p for p in scored_left_out)
    assert make_plan(candidates, capacity=capacity, random_share=share, seed=seed) == plan


def _overdue(c: Candidate) -> bool:
    return c.days_since_inspection is None or c.days_since_inspection >= 365


# 40 compounds, nobody overdue: 10 visits, 3 at random (30 %), 7 by the model, pool of 33.
POOL_WORLD = [candidate(i, p=i / 100, days=30) for i in range(1, 41)]


def random_picks(seed: int) -> frozenset[int]:
    plan = make_plan(POOL_WORLD, capacity=10, random_share=0.3, seed=seed)
    return frozenset(i.project_id for i in plan.items if i.selected_by == "random")


def test_the_random_part_is_a_simple_random_sample_with_the_recorded_probability():
    plan = make_plan(POOL_WORLD, capacity=10, random_share=0.3, seed=1)
    assert (plan.random_slots, plan.random_pool) == (3, 33)
    q = 3 / 33
    assert {i.inclusion_probability for i in plan.items if i.selected_by == "random"} == {q}

    runs = 3000
    counts = Counter(pid for seed in range(runs) for pid in random_picks(seed))

    # Only the 33 compounds below the model's top 7 are ever drawn, each about runs × q times
    # (≈273, binomial sd ≈ 15.7; the bound is five sd).
    assert set(counts) == set(range(1, 34))
    sd = math.sqrt(runs * q * (1 - q))
    assert all(abs(n - runs * q) < 5 * sd for n in counts.values())


def test_same_seed_same_plan_other_seed_other_random_picks():
    assert random_picks(7) == random_picks(7)
    assert random_picks(7) != random_picks(8)


def test_random_slot_count_rounds_halves_up():
    assert [random_slot_count(c, 0.15) for c in (1, 3, 10, 30, 60)] == [0, 0, 2, 5, 9]


def test_complaints_and_overdue_beyond_capacity_are_reported_not_dropped_silently():
    world = [candidate(1, complaints=1), candidate(2, days=None), candidate(3, days=500)]

    plan = make_plan(world, capacity=2, random_share=0.15, seed=1)

    assert [(i.project_id, i.selected_by) for i in plan.items] == [(1, "complaint"), (2, "overdue")]
    assert plan.mandatory_left_out == 1


def test_invalid_requests_are_refused():
    with pytest.raises(ValueError):
        make_plan([], capacity=0, random_share=0.1, seed=1)
    with pytest.raises(ValueError):
        make_plan([], capacity=1, random_share=1.5, seed=1)


# --- services ------------------------------------------------------------------------------------
@pytest.fixture
def hohhot(db):
    """Inspectors A (also covering 包头, with 3 open tasks there) and B; in 呼和浩特 a compound
    with an open complaint whose task went to B, one never inspected, one last seen 400 days
    before the round, and six recently inspected ones scored 0.9, 0.8, … 0.4."""
    today = timezone.localdate()
    start = today + timedelta(days=7 - today.weekday())
    a = staff(role=StaffRole.INSPECTOR, regions=("150100", "150200"), name="甲")
    b = staff(role=StaffRole.INSPECTOR, regions=("150100",), name="乙")
    admin = staff(role=StaffRole.ADMIN, regions=("150100",)).user
    firm = EnterpriseFactory()
    model_row("m", RiskModelStatus.ACTIVE)  # a live model: it passed the promotion gate
    baotou = ProjectFactory(name="包头小区", region=region("150200"), lat=40.6, lon=109.8)
    for _ in range(3):
        task_create(project=baotou, assignee=a, kind=TaskKind.ROUTINE, due_date=start)

    def compound(name, last_days=None, p=None):
        project = ProjectFactory(name=name)
        ContractFactory(enterprise=firm, project=project)
        if last_days is not None:
            visit(project, a, local(start - timedelta(days=last_days)))
        if p is not None:
            ProjectRisk.objects.create(
                project=project,
                probability=p,
                reasons=["理由"],
                model_version="m",
                scored_at=local(today),
            )
        return project

    complained = compound("投诉小区", last_days=30, p=0.1)
    complaint_task = task_create(
        project=complained, assignee=b, kind=TaskKind.COMPLAINT, due_date=start
    )
    Complaint.objects.create(
        project=complained,
        text="电梯停运",
        received_at=local(today),
        registered_by=admin,
        task=complaint_task,
    )
    never = compound("从未巡查小区")
    stale = compound("久未巡查小区", last_days=400, p=0.05)
    scored = [
        compound(f"评分小区{i}", last_days=30, p=p)
        for i, p in enumerate((0.9, 0.8, 0.7, 0.6, 0.5, 0.4))
    ]
    return {
        "start": start,
        "a": a,
        "b": b,
        "admin": admin,
        "complained": complained,
        "complaint_task": complaint_task,
        "never": never,
        "stale": stale,
        "scored": scored,
    }


def test_preview_ranks_complaints_then_overdue_then_model_then_random(hohhot):
    preview = plan_preview(
        user=hohhot["admin"],
        region_code="150100",
        capacity=6,
        start=hohhot["start"],
        seed=42,
        random_share=0.34,
    )

    items = preview.plan.items
    assert [(i.project_id, i.selected_by) for i in items[:4]] == [
        (hohhot["complained"].id, "complaint"),
        (hohhot["never"].id, "overdue"),
        (hohhot["stale"].id, "overdue"),
        (hohhot["scored"][0].id, "model"),
    ]
    assert [i.selected_by for i in items[4:]] == ["random", "random"]
    # Pool: the five scored compounds the model did not take; two slots.
    assert (preview.plan.random_slots, preview.plan.random_pool) == (2, 5)
    assert {i.inclusion_probability for i in items[4:]} == {0.4}
    assert {i.project_id for i in items[4:]} <= {p.id for p in hohhot["scored"][1:]}
    assert items[1].reasons == ("从未巡查",)
    assert items[2].reasons == ("已13个月未巡查（超过12个月必查）", "理由")
    assert items[0].reasons == ("有1件待核查的居民投诉", "理由")
    info = preview.projects[hohhot["stale"].id]
    assert (info.days_since_inspection, info.open_complaints) == (400, 0)
    assert preview.due_date == hohhot["start"] + timedelta(days=ROUND_DAYS - 1)
    assert InspectionPlan.objects.count() == 0  # a preview writes nothing


def test_approving_creates_tasks_balanced_by_open_workload_and_keeps_open_tasks(hohhot):
    a, b = hohhot["a"], hohhot["b"]
    tasks_before = InspectionTask.objects.count()

    plan = plan_approve(
        user=hohhot["admin"],
        region_code="150100",
        capacity=6,
        start=hohhot["start"],
        seed=42,
        random_share=0.34,
    )

    items = list(PlanItem.objects.filter(plan=plan).select_related("task").order_by("rank"))
    assert items[0].task == hohhot["complaint_task"]  # the complaint visit serves the plan
    # Open tasks before: A 3 (包头), B 1 (the complaint). Each new task goes to the least
    # loaded inspector in rank order, ties to the lower id (A): B, B, A, B, A.
    assert [i.task.assignee_id for i in items[1:]] == [b.id, b.id, a.id, b.id, a.id]
    assert InspectionTask.objects.count() == tasks_before + 5
    open_tasks = Counter(
        InspectionTask.objects.filter(status=TaskStatus.ASSIGNED).values_list(
            "assignee_id", flat=True
        )
    )
    assert (open_tasks[a.id], open_tasks[b.id]) == (5, 4)
    for item in items[1:]:
        task = item.task
        assert (task.plan_id, task.kind, task.priority_rank) == (plan.id, "routine", item.rank)
        assert task.due_date == hohhot["start"] + timedelta(days=ROUND_DAYS - 1)
        assert task.reasons == item.reasons
    assert (plan.seed, plan.random_slots, plan.random_pool) == (42, 2, 5)
    assert [i.inclusion_probability for i in items] == [1.0, 1.0, 1.0, 1.0, 0.4, 0.4]


def test_a_second_approval_of_the_same_round_is_refused(hohhot):
    request = {
        "user": hohhot["admin"],
        "region_code": "150100",
        "capacity": 3,
        "start": hohhot["start"],
    }
    plan_approve(**request)
    tasks = InspectionTask.objects.count()

    with pytest.raises(DomainError) as caught:
        plan_approve(**request)

    assert caught.value.code == "plan_exists"
    assert InspectionTask.objects.count() == tasks


def test_a_region_without_inspectors_gets_no_plan_and_nothing_is_written(db):
    admin = staff(role=StaffRole.ADMIN, regions=("150000",)).user
    ProjectFactory(name="乌海小区", region=region("150300"), lat=39.6, lon=106.8)
    today = timezone.localdate()

    with pytest.raises(DomainError) as caught:
        plan_approve(user=admin, region_code="150300", capacity=5, start=today)

    assert (status_for(caught.value), caught.value.code) == (409, "no_inspector_for_region")
    assert (InspectionPlan.objects.count(), InspectionTask.objects.count()) == (0, 0)


def test_a_round_cannot_start_in_the_past(hohhot):
    with pytest.raises(DomainError) as caught:
        plan_preview(
            user=hohhot["admin"],
            region_code="150100",
            capacity=5,
            start=timezone.localdate() - timedelta(days=1),
        )

    assert (status_for(caught.value), caught.value.code) == (422, "start_in_past")
