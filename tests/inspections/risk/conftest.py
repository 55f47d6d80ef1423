"""Fixtures of the risk tests: a small simulated history behind real compounds, an object store
of the test's own, and bureau API clients for staff of 呼和浩特 (150100)."""

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone
from threadpoolctl import threadpool_limits

from backend import storage
from credit.models import Enterprise, StaffProfile, StaffRole
from inspections.models import Finding, Inspection, InspectionStatus, Project, ReviewStatus
from inspections.risk.registry import forget_loaded_models
from inspections.risk.simulated_history import simulated_history_load
from ml.simulator import World, simulate
from tests.factories import (
    DEFAULT_PASSWORD,
    ContractFactory,
    EnterpriseFactory,
    ProjectFactory,
    region,
    staff,
)

HISTORY_NAMESPACE = uuid.UUID("6f1d3c2e-0000-4000-8000-000000000005")


@pytest.fixture(autouse=True)
def one_openmp_thread():
    """Gradient boosting spins OpenMP threads at every split; on these tiny worlds on a shared
    2-core machine the spinning costs more than the work (measured: 9 s against 1.2 s)."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def model_store(services, settings, tmp_path):
    """Where model artifacts go: a SeaweedFS bucket of this test when the harness runs one (the
    production path through the S3 API), else a folder of this test."""
    if services.s3 is not None:
        url = services.s3_url(bucket=f"risk-{uuid.uuid4().hex[:16]}")
        storage.store_from_url(url, timeout_s=10.0).ensure_bucket()
    else:
        url = f"file://{tmp_path / 'objects'}"
    settings.OBJECT_STORE_URL = url
    storage.reset_store()
    forget_loaded_models()
    yield storage.get_store()
    storage.reset_store()
    forget_loaded_models()


@dataclass(frozen=True)
class SimulatedDb:
    world: World
    today: date
    enterprises: list[Enterprise]
    projects: list[Project]
    inspector: StaffProfile
    reviewer: StaffProfile


def _with_shuffled_findings(world, seed: int):
    """The same visits with their findings dealt out at random: a world nothing can predict."""
    inspections = world.inspections.copy()
    order = np.random.default_rng(seed).permutation(len(inspections))
    counts = [c for c in inspections.columns if c.startswith("n_") or c == "codes"]
    inspections[counts] = inspections[counts].to_numpy()[order]
    return replace(world, inspections=inspections)


def simulated_db(
    *,
    n_enterprises: int = 10,
    n_compounds: int = 80,
    years: int = 3,
    seed: int = 11,
    shuffle_findings: bool = False,
) -> SimulatedDb:
    """Regions, firms, compounds and contracts mirroring a simulated world (each compound
    managed since 2015 by the firm the simulator has managing it at the end), then the world's
    inspections, findings and complaints loaded as history up to yesterday."""
    today = timezone.localdate()
    days = 365 * years
    # Four routine visits a year: enough labelled rows for a small world to train on.
    world = simulate(
        n_enterprises, n_compounds, today - timedelta(days=days), days, seed, visits_per_year=4.0
    )
    if shuffle_findings:
        world = _with_shuffled_findings(world, seed)
    firms = [
        EnterpriseFactory(region=region(str(code)))
        for code in world.enterprises["region_code"].to_numpy()
    ]
    projects = []
    for row in world.compounds.itertuples(index=False):
        project = ProjectFactory(
            region=region(str(row.region_code)),
            building_area_m2=Decimal(str(row.area_m2)),
            project_type=str(row.compound_type),
            is_old_compound=bool(row.old_compound),
        )
        ContractFactory(
            enterprise=firms[row.enterprise_id - 1], project=project, start_date=date(2015, 1, 1)
        )
        projects.append(project)
    inspector = staff(role=StaffRole.INSPECTOR, regions=("150000",), name="历史巡查员")
    reviewer = staff(role=StaffRole.REVIEWER, regions=("150000",), name="历史审核员")
    simulated_history_load(
        world=world,
        project_ids=[p.id for p in projects],
        inspectors={},
        fallback_inspector=inspector,
        reviewer=reviewer.user,
        namespace=HISTORY_NAMESPACE,
        today=today,
    )
    return SimulatedDb(world, today, firms, projects, inspector, reviewer)


def bureau_client(profile: StaffProfile) -> Client:
    response = Client().post(
        "/api/bureau/v1/auth/token",
        {"username": profile.user.username, "password": DEFAULT_PASSWORD, "device_id": "pc"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")


@pytest.fixture
def planner_admin():
    return staff(role=StaffRole.ADMIN, regions=("150100",), name="计划管理员")


@pytest.fixture
def planner_reviewer():
    return staff(role=StaffRole.REVIEWER, regions=("150100",), name="计划审核员")


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An aware instant at a wall-clock time in Asia/Shanghai."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def visit(
    project: Project,
    inspector: StaffProfile,
    started_at: datetime,
    findings: tuple[tuple[str, str], ...] = (),
    *,
    reviewer=None,
    submitted: bool = True,
) -> Inspection:
    """An inspection as the phone API would have left it, with findings as (code, review
    status); reviewed findings name `reviewer` (a user)."""
    inspection = Inspection.objects.create(
        uuid=uuid.uuid4(),
        inspector=inspector,
        project=project,
        started_at=started_at,
        finished_at=started_at + timedelta(minutes=30) if submitted else None,
        status=InspectionStatus.SUBMITTED if submitted else InspectionStatus.DRAFT,
        submitted_at=started_at + timedelta(minutes=30) if submitted else None,
        body_sha256="0" * 64,
    )
    for code, review_status in findings:
        reviewed = review_status != ReviewStatus.PENDING
        Finding.objects.create(
            uuid=uuid.uuid4(),
            inspection=inspection,
            violation_code=code,
            observed_at=started_at,
            body_sha256="0" * 64,
            review_status=review_status,
            review_comment="照片不能证明" if review_status == ReviewStatus.REJECTED else "",
            reviewed_by=reviewer if reviewed else None,
            reviewed_at=started_at + timedelta(days=1) if reviewed else None,
        )
    return inspection
