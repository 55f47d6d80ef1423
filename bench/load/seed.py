"""Data for the load test, written through the project's own services (needs `django.setup()`).

The demo seeder supplies regions, enterprises, projects and contracts; the demo credit history
supplies records, a blacklist and a published snapshot; then come the load inspectors (one
league each, round robin), a few tasks for each in its league, and one tender client.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from unittest import mock

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from backend.audit import SYSTEM_ACTOR
from credit.demo import credit_history_seed
from credit.models import BlacklistEntry, BlacklistStatus, Enterprise, StaffProfile, StaffRole
from credit.staff import staff_upsert
from credit.tender_auth import tender_client_create
from inspections import demo_data
from inspections.models import Project
from inspections.services.tasks import task_create

INSPECTOR_PASSWORD = "Qz7-field-phone-2025"  # throwaway accounts of a load test
# One year of credit history gives 12 month-end snapshots plus today's, like a live system.
HISTORY_YEARS = 1
SEED = 20250601
SEARCH_SAMPLE = 60


@dataclass(frozen=True)
class LoadData:
    inspectors: list[str]
    password: str
    tender_client_id: str
    tender_secret: str
    usccs: list[str]
    blacklisted: list[str]
    search_terms: list[str]
    projects: int
    tasks: int
    snapshots: int
    credit_records: int

    def as_dict(self) -> dict:
        return asdict(self)


@contextmanager
def one_password_hash(password: str):
    """Every load inspector has the same password; PBKDF2 costs 0.8 s of CPU per hash here, so
    hashing it once and reusing the result saves minutes of seeding for identical accounts."""
    encoded = make_password(password)
    with mock.patch("django.contrib.auth.base_user.make_password", return_value=encoded):
        yield


def seed_load_data(
    *,
    enterprises: int,
    inspectors: int,
    tasks_per_inspector: int,
    progress: Callable[[str], None] = lambda message: None,
) -> LoadData:
    progress("demo enterprises, projects and contracts")
    demo_data.seed_demo(enterprises=enterprises, years=HISTORY_YEARS, seed=SEED)
    progress("credit history and snapshots")
    history = _credit_history()
    progress(f"{inspectors} inspectors and their tasks")
    usernames = _inspectors(inspectors)
    tasks = _tasks(usernames, tasks_per_inspector)
    client, secret = tender_client_create(name="load test")
    firms = list(Enterprise.objects.order_by("uscc").values_list("uscc", "name"))
    rng = random.Random(SEED)
    return LoadData(
        inspectors=usernames,
        password=INSPECTOR_PASSWORD,
        tender_client_id=client.client_id,
        tender_secret=secret,
        usccs=[uscc for uscc, _ in firms],
        blacklisted=list(
            BlacklistEntry.objects.filter(status=BlacklistStatus.ACTIVE).values_list(
                "enterprise__uscc", flat=True
            )
        ),
        search_terms=_search_terms(rng, [name for _, name in firms]),
        projects=Project.objects.count(),
        tasks=tasks,
        snapshots=history.snapshots,
        credit_records=history.records,
    )


def _credit_history():
    """Records, scores and snapshots. No second approver is passed: with one, credit_history_seed
    proposes firms that recompute has already blacklisted and stops on 409 already_blacklisted
    (reported to the lead); the firms recompute blacklists still fill the public blacklist."""
    return credit_history_seed(
        enterprises=list(Enterprise.objects.order_by("uscc")),
        rng=random.Random(SEED),
        years=HISTORY_YEARS,
        reviewer=get_user_model().objects.get(username="admin"),
    )


def _inspectors(count: int) -> list[str]:
    leagues = [league.code for league in demo_data.LEAGUES]
    usernames = []
    with one_password_hash(INSPECTOR_PASSWORD):
        for number in range(count):
            username = f"load_inspector_{number:03d}"
            staff_upsert(
                username=username,
                role=StaffRole.INSPECTOR,
                region_codes=[leagues[number % len(leagues)]],
                password=INSPECTOR_PASSWORD,
                actor=SYSTEM_ACTOR,
                display_name=f"压测巡查员{number:03d}",
            )
            usernames.append(username)
    return usernames


def _tasks(usernames: list[str], per_inspector: int) -> int:
    rng = random.Random(SEED)
    due = timezone.localdate() + timedelta(days=7)
    created = 0
    profiles = StaffProfile.objects.filter(user__username__in=usernames).prefetch_related("regions")
    for profile in profiles:
        league = profile.regions.get().code
        projects = list(Project.objects.filter(region__code__startswith=league[:4]).order_by("id"))
        for project in rng.sample(projects, min(per_inspector, len(projects))):
            task_create(project=project, assignee=profile, kind="routine", due_date=due)
            created += 1
    return created


def _search_terms(rng: random.Random, names: list[str]) -> list[str]:
    """What the public types: a city, 物业, or part of a firm's name."""
    cities = [league.name.removesuffix("市").removesuffix("盟") for league in demo_data.LEAGUES]
    fragments = [name[len(name) // 3 : len(name) // 3 + 4] for name in names]
    return [*cities, "物业", *rng.sample(fragments, min(SEARCH_SAMPLE, len(fragments)))]
