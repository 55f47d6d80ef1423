"""A small hand-built world whose statistics are counted by hand (tests/inspections/stats).

Period: March 2026 in 呼和浩特市 (150100: 新城区 150102, 回民区 150103); 包头市 (150200) has
one of everything, which must never count. Rows are written straight through the models, as
history imported from an older system, so each figure's answer below is known exactly.

Compounds of 150100: A (新城区, old residential, contract running), B (新城区, residential,
contract ended 2026-02-01), C (回民区, office, contract running), E (回民区, residential, no
contract), F (回民区, residential, contract running).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from credit.models import (
    BlacklistEntry,
    BlacklistStatus,
    Objection,
    ObjectionDecision,
    RepairApplication,
    RepairStatus,
    Snapshot,
    SnapshotEntry,
)
from credit.stats.grades import grade_counts_store
from credit.stats.periods import parse_period
from inspections.models import (
    Complaint,
    ComplaintOutcome,
    Finding,
    Inspection,
    InspectionPlan,
    InspectionStatus,
    InspectionTask,
    PlanItem,
    ProjectType,
    ReviewStatus,
    SelectedBy,
    TaskKind,
    TaskStatus,
)
from tests.credit.conftest import new_record
from tests.factories import ContractFactory, EnterpriseFactory, ProjectFactory, region, staff

LOCAL = ZoneInfo("Asia/Shanghai")
MARCH = parse_period("2026-03")
_seq = iter(range(1, 10_000))


def local(day: date, clock: time = time(10, 0)) -> datetime:
    return datetime.combine(day, clock, tzinfo=LOCAL)


@dataclass
class World:
    admin: object
    reviewer_150100: object
    reviewer_150200: object
    reviewer_150102: object
    inspector: object
    projects: dict = field(default_factory=dict)
    firms: dict = field(default_factory=dict)


def build_world() -> World:
    for code, name in (("150100", "呼和浩特市"), ("150200", "包头市")):
        region(code, name)
    for code, name in (("150102", "新城区"), ("150103", "回民区"), ("150202", "东河区")):
        region(code, name)
    world = World(
        admin=staff(role="admin", regions=("150000",), username="stat-admin"),
        reviewer_150100=staff(role="reviewer", regions=("150100",), username="stat-r-150100"),
        reviewer_150200=staff(role="reviewer", regions=("150200",), username="stat-r-150200"),
        reviewer_150102=staff(role="reviewer", regions=("150102",), username="stat-r-150102"),
        inspector=staff(role="inspector", regions=("150100", "150200"), username="stat-insp"),
    )
    _compounds(world)
    _inspections(world)
    _complaints(world)
    _credit(world)
    return world


def _compounds(world: World) -> None:
    specs = {
        "A": ("150102", ProjectType.RESIDENTIAL, True, None),
        "B": ("150102", ProjectType.RESIDENTIAL, False, date(2026, 2, 1)),
        "C": ("150103", ProjectType.OFFICE, False, None),
        "E": ("150103", ProjectType.RESIDENTIAL, False, "none"),
        "F": ("150103", ProjectType.RESIDENTIAL, False, None),
        "D": ("150202", ProjectType.RESIDENTIAL, False, None),
    }
    for name, (code, kind, old, end) in specs.items():
        project = ProjectFactory(
            name=f"统计小区{name}", region=region(code), project_type=kind, is_old_compound=old
        )
        world.projects[name] = project
        if end != "none":
            ContractFactory(project=project, start_date=date(2020, 1, 1), end_date=end)


def _task(world: World, project, kind=TaskKind.ROUTINE, status=TaskStatus.DONE) -> InspectionTask:
    return InspectionTask.objects.create(
        kind=kind,
        status=status,
        project=project,
        assignee=world.inspector,
        due_date=date(2026, 3, 31),
        change_seq=10_000 + next(_seq),
    )


def inspect(
    world: World,
    project,
    started: datetime,
    *,
    task=None,
    status=InspectionStatus.SUBMITTED,
    finished_minutes: int = 30,
):
    key = uuid.uuid4()
    return Inspection.objects.create(
        uuid=key,
        inspector=world.inspector,
        project=project,
        task=task,
        started_at=started,
        finished_at=started + timedelta(minutes=finished_minutes),
        status=status,
        submitted_at=started + timedelta(minutes=30)
        if status == InspectionStatus.SUBMITTED
        else None,
        body_sha256="0" * 64,
    )


def find(
    world: World,
    inspection,
    code: str,
    observed: datetime,
    review=ReviewStatus.PENDING,
    reviewed=None,
):
    return Finding.objects.create(
        uuid=uuid.uuid4(),
        inspection=inspection,
        violation_code=code,
        observed_at=observed,
        body_sha256="0" * 64,
        review_status=review,
        review_comment="证据不足" if review == ReviewStatus.REJECTED else "",
        reviewed_by=world.admin.user if reviewed else None,
        reviewed_at=reviewed,
    )


def _inspections(world: World) -> None:
    p = world.projects
    plan = InspectionPlan.objects.create(
        region=region("150100"),
        capacity=10,
        start_date=date(2026, 3, 1),
        due_date=date(2026, 3, 31),
        seed=1,
        random_share=0.5,
        random_pool=4,
        random_slots=3,
        approved_by=world.admin.user,
    )
    planned_task = _task(world, p["A"])
    random_task_c = _task(world, p["C"])
    for rank, (name, selected_by, task) in enumerate(
        (
            ("A", SelectedBy.MODEL, planned_task),
            ("C", SelectedBy.RANDOM, random_task_c),
            ("E", SelectedBy.RANDOM, _task(world, p["E"], status=TaskStatus.ASSIGNED)),
            ("F", SelectedBy.RANDOM, _task(world, p["F"], status=TaskStatus.ASSIGNED)),
        ),
        start=1,
    ):
        PlanItem.objects.create(
            plan=plan,
            project=p[name],
            rank=rank,
            selected_by=selected_by,
            inclusion_probability=0.5,
            task=task,
        )
    # March in 150100: planned 1, self 1, complaint 1 (in _complaints), random 1.
    a_march = inspect(world, p["A"], local(date(2026, 3, 5)), task=planned_task)
    find(
        world,
        a_march,
        "SANITATION",
        local(date(2026, 3, 5), time(10, 10)),
        ReviewStatus.CONFIRMED,
        local(date(2026, 3, 7), time(10, 10)),
    )
    # 2026-02-28 16:30 UTC is 2026-03-01 00:30 in Asia/Shanghai: March.
    inspect(world, p["A"], datetime(2026, 2, 28, 16, 30, tzinfo=ZoneInfo("UTC")))
    c_random = inspect(world, p["C"], local(date(2026, 3, 25)), task=random_task_c)
    find(world, c_random, "ELEVATOR-OPS", local(date(2026, 3, 25), time(10, 5)))
    # 2026-03-31 16:30 UTC is already April locally; B stays uncovered at the end of March.
    inspect(world, p["B"], datetime(2026, 3, 31, 16, 30, tzinfo=ZoneInfo("UTC")))
    inspect(world, p["A"], local(date(2025, 6, 10)))
    inspect(world, p["B"], local(date(2025, 3, 15)))
    inspect(world, p["F"], local(date(2025, 12, 1)))
    # February's finding reviewed in March: counts in March's review figures only.
    a_february = inspect(world, p["A"], local(date(2026, 2, 20)))
    find(
        world,
        a_february,
        "SANITATION",
        local(date(2026, 2, 20), time(10, 0)),
        ReviewStatus.CONFIRMED,
        local(date(2026, 3, 2), time(10, 0)),
    )
    # Never counted: a draft in 150100, everything in 包头.
    draft = inspect(world, p["E"], local(date(2026, 3, 12)), status=InspectionStatus.DRAFT)
    find(world, draft, "SANITATION", local(date(2026, 3, 12)))
    baotou = inspect(world, p["D"], local(date(2026, 3, 10)))
    find(
        world,
        baotou,
        "FEE-UNLISTED",
        local(date(2026, 3, 10)),
        ReviewStatus.CONFIRMED,
        local(date(2026, 3, 11)),
    )


def _complaints(world: World) -> None:
    p = world.projects
    visit_task = _task(world, p["C"], kind=TaskKind.COMPLAINT)
    complaint_c = Complaint.objects.create(
        project=p["C"],
        text="电梯停运",
        received_at=local(date(2026, 3, 17), time(9, 0)),
        registered_by=world.admin.user,
        task=visit_task,
        outcome=ComplaintOutcome.CONFIRMED,
    )
    visit = inspect(world, p["C"], local(date(2026, 3, 20), time(10, 0)), task=visit_task)
    find(
        world,
        visit,
        "ELEVATOR-OPS",
        local(date(2026, 3, 20), time(10, 10)),
        ReviewStatus.REJECTED,
        local(date(2026, 3, 21), time(10, 10)),
    )
    Complaint.objects.create(
        project=p["A"],
        text="垃圾未清运",
        received_at=local(date(2026, 3, 10), time(9, 0)),
        registered_by=world.admin.user,
        task=_task(world, p["A"], kind=TaskKind.COMPLAINT, status=TaskStatus.ASSIGNED),
    )
    Complaint.objects.create(
        project=p["B"],
        text="噪音",
        received_at=local(date(2026, 3, 28), time(9, 0)),
        registered_by=world.admin.user,
        outcome=ComplaintOutcome.UNFOUNDED,
    )
    Complaint.objects.create(
        project=p["D"],
        text="包头的投诉",
        received_at=local(date(2026, 3, 5), time(9, 0)),
        registered_by=world.admin.user,
    )
    world.complaint_c = complaint_c


def _credit(world: World) -> None:
    firms = {
        "x": EnterpriseFactory(region=region("150102")),
        "y": EnterpriseFactory(region=region("150103")),
        "z": EnterpriseFactory(region=region("150202")),
    }
    world.firms = firms
    admin, other = world.admin.user, world.reviewer_150100.user
    _blacklist(firms, admin, other)
    _appeals(firms, admin)
    _snapshots(firms)


def _blacklist(firms, admin, other) -> None:
    def entry(firm, status, entry_date=None, exit_date=None):
        return BlacklistEntry.objects.create(
            enterprise=firm,
            status=status,
            entry_reason="依据严重失信记录",
            proposed_by=admin,
            proposed_at=local(date(2025, 1, 1)),
            approved_by=other if entry_date else None,
            approved_at=local(entry_date) if entry_date else None,
            entry_date=entry_date,
            exit_date=exit_date,
        )

    entry(firms["x"], BlacklistStatus.ACTIVE, date(2026, 3, 10))
    entry(firms["y"], BlacklistStatus.EXITED, date(2025, 1, 5), date(2026, 3, 20))
    entry(firms["y"], BlacklistStatus.PROPOSED)
    entry(firms["z"], BlacklistStatus.ACTIVE, date(2026, 3, 12))


def _appeals(firms, admin) -> None:
    def record(firm):
        return new_record(firm, "SANITATION", admin, decided_at=date(2026, 2, 20))

    def objection(firm, filed_on, decision=""):
        Objection.objects.create(
            record=record(firm),
            filed_on=filed_on,
            grounds="不属实",
            filed_by=admin,
            decision=decision,
            decided_by=admin if decision else None,
            decided_at=local(filed_on + timedelta(days=3)) if decision else None,
        )

    def repair(firm, applied_on, status):
        RepairApplication.objects.create(
            record=record(firm),
            applied_on=applied_on,
            evidence="已整改",
            registered_by=admin,
            status=status,
            approved_by=admin if status != RepairStatus.PENDING else None,
            decided_at=local(applied_on + timedelta(days=5)),
        )

    objection(firms["x"], date(2026, 3, 3), ObjectionDecision.UPHELD)
    objection(firms["y"], date(2026, 3, 9))
    objection(firms["x"], date(2026, 2, 27), ObjectionDecision.REJECTED)
    repair(firms["x"], date(2026, 3, 15), RepairStatus.APPROVED)
    repair(firms["y"], date(2026, 3, 16), RepairStatus.REJECTED)
    repair(firms["z"], date(2026, 3, 16), RepairStatus.APPROVED)


# The grades each firm had in the snapshots: (as_of, {firm: (grade, blacklisted)}).
SNAPSHOTS = (
    (date(2026, 2, 28), {"x": ("A", False), "y": ("B", False), "z": ("C", False)}),
    (date(2026, 3, 15), {"x": ("A", False), "y": ("A", False), "z": ("C", False)}),
    (date(2026, 3, 31), {"x": ("C", True), "y": ("AA", False), "z": ("A", True)}),
)


def _snapshots(firms) -> None:
    for as_of, grades in SNAPSHOTS:
        snapshot = Snapshot(
            published_at=local(as_of, time(2, 0)),
            as_of=as_of,
            sha256="0" * 64,
            rulebook_version="test",
            rulebook_sha256="0" * 64,
            enterprises=len(grades),
            published_by="test",
        )
        snapshot.save(force_insert=True)
        for key, (grade, blacklisted) in grades.items():
            firm = firms[key]
            SnapshotEntry.objects.create(
                snapshot=snapshot,
                enterprise=firm,
                uscc=firm.uscc,
                name=firm.name,
                region_code=firm.region_id,
                grade=grade,
                score=Decimal("80"),
                rule_score=Decimal("80"),
                model_adjustment=Decimal("0"),
                blacklisted=blacklisted,
                is_backbone=False,
                has_effective_serious=False,
            )
        grade_counts_store(snapshot)
