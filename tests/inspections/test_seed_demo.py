import itertools
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from stdnum.cn import uscc as stdnum_uscc

from credit.models import Enterprise, Region, RegionLevel, StaffProfile, StaffRole
from inspections import demo_data
from inspections.models import ManagementContract, Project
from inspections.models.registry import CHINA_LAT_RANGE, CHINA_LON_RANGE

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 1)


REGISTRY_STEPS = 4  # regions, enterprises, projects and contracts, staff


@pytest.fixture(autouse=True)
def registry_steps_only(monkeypatch):
    """These tests are about the registry steps; the history, model and plan steps appended
    after them have their own tests (tests/inspections/risk/test_demo_history.py)."""
    monkeypatch.setattr(demo_data, "STEPS", demo_data.STEPS[:REGISTRY_STEPS])


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Seeding hashes seven demo passwords; the production hasher takes ~0.5 s for each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(**kwargs) -> demo_data.DemoContext:
    options = {"enterprises": 15, "years": 2, "seed": 7, "today": TODAY} | kwargs
    return demo_data.seed_demo(**options)


def registry_snapshot() -> tuple:
    return (
        list(Enterprise.objects.order_by("uscc").values_list("uscc", "name", "region_id")),
        list(Project.objects.order_by("region_id", "name", "address").values_list(
            "region_id", "name", "address", "lat", "lon", "building_area_m2", "project_type"
        )),
        list(ManagementContract.objects.order_by("project__name", "start_date").values_list(
            "project__name", "enterprise__uscc", "start_date", "end_date", "by_tender"
        )),
    )  # fmt: skip


def test_the_real_leagues_of_inner_mongolia_are_seeded_under_150000():
    seed(enterprises=1)

    leagues = dict(
        Region.objects.filter(parent_id="150000").values_list("code", "name").order_by("code")
    )
    assert leagues == {
        "150100": "呼和浩特市", "150200": "包头市", "150300": "乌海市", "150400": "赤峰市",
        "150500": "通辽市", "150600": "鄂尔多斯市", "150700": "呼伦贝尔市",
        "150800": "巴彦淖尔市", "150900": "乌兰察布市", "152200": "兴安盟",
        "152500": "锡林郭勒盟", "152900": "阿拉善盟",
    }  # fmt: skip
    assert Region.objects.get(code="150102").name == "新城区"
    assert Region.objects.get(code="150102").parent_id == "150100"
    counties = Region.objects.filter(level=RegionLevel.BANNER_COUNTY)
    assert all(c.code[:4] == c.parent_id[:4] for c in counties)


def test_enterprises_have_valid_credit_codes_and_city_names():
    ctx = seed()

    enterprises = list(Enterprise.objects.all())
    assert len(enterprises) == ctx.enterprises == 15
    for enterprise in enterprises:
        assert stdnum_uscc.is_valid(enterprise.uscc)
        assert enterprise.uscc[2:8] == enterprise.region_id
        league = demo_data.LEAGUE_BY_CODE[enterprise.region_id[:4] + "00"]
        assert enterprise.name.startswith(league.name)
        assert enterprise.name.endswith("公司")
    # One enterprise in every league before any league gets a second.
    assert {e.region_id[:4] for e in enterprises} == {code[:4] for code in demo_data.LEAGUE_BY_CODE}


def test_projects_lie_near_their_county_seat_and_are_managed_throughout_the_window():
    seed()

    projects = list(Project.objects.prefetch_related("contracts"))
    assert projects
    window_start = date(TODAY.year - 2, TODAY.month, TODAY.day)
    for project in projects:
        seat = demo_data.COUNTY_BY_CODE[project.region_id]
        # 0.1° is five standard deviations of the jitter.
        assert abs(project.lat - seat.lat) < 0.1 and abs(project.lon - seat.lon) < 0.1
        assert CHINA_LAT_RANGE[0] <= project.lat <= CHINA_LAT_RANGE[1]
        assert CHINA_LON_RANGE[0] <= project.lon <= CHINA_LON_RANGE[1]
        contracts = sorted(project.contracts.all(), key=lambda c: c.start_date)
        assert contracts[0].start_date < window_start
        assert contracts[-1].end_date is None
        for earlier, later in itertools.pairwise(contracts):
            assert earlier.end_date == later.start_date
            assert later.by_tender is True
            assert later.enterprise_id != earlier.enterprise_id
            assert later.enterprise.region_id[:4] == project.region_id[:4]


def test_the_same_seed_gives_the_same_registry():
    seed()
    first = registry_snapshot()
    ManagementContract.objects.all().delete()
    Project.objects.all().delete()
    Enterprise.objects.all().delete()

    seed()

    assert registry_snapshot() == first


def test_another_seed_gives_other_enterprises():
    seed(seed=7)
    first = set(Enterprise.objects.values_list("name", flat=True))
    ManagementContract.objects.all().delete()
    Project.objects.all().delete()
    Enterprise.objects.all().delete()

    seed(seed=8)

    assert set(Enterprise.objects.values_list("name", flat=True)) != first


def test_running_twice_adds_and_changes_nothing_even_on_a_later_day():
    seed()
    before = registry_snapshot()
    counts = (Region.objects.count(), get_user_model().objects.count())

    ctx = seed(today=date(2025, 9, 1))

    assert registry_snapshot() == before
    assert (Region.objects.count(), get_user_model().objects.count()) == counts
    assert ctx.counts == {
        "regions_written": 0,
        "enterprises_written": 0,
        "projects_written": 0,
        "contracts_written": 0,
        "staff_written": 0,
    }


def test_demo_staff_can_sign_in_with_their_roles_and_regions():
    ctx = seed(enterprises=2)

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(demo_data.DEMO_PASSWORD)
    assert list(admin.staff_profile.regions.values_list("code", flat=True)) == ["150000"]
    roles = dict(StaffProfile.objects.values_list("user__username", "role"))
    assert roles["reviewer_west"] == roles["reviewer_east"] == StaffRole.REVIEWER
    assert roles["inspector_150100"] == StaffRole.INSPECTOR
    assert [c.username for c in ctx.credentials] == [s[0] for s in demo_data.DEMO_STAFF]


def test_managed_scale_follows_the_running_contracts():
    seed()

    for enterprise in Enterprise.objects.all():
        running = ManagementContract.objects.filter(enterprise=enterprise, end_date__isnull=True)
        assert enterprise.managed_projects == running.count()
        assert enterprise.managed_area_m2 == sum(c.project.building_area_m2 for c in running)


def test_the_command_shows_progress_and_prints_the_credentials(capsys):
    call_command("seed_demo", "--enterprises", "3", "--years", "1", "--seed", "1")

    out = capsys.readouterr().out
    assert "[1/4] 行政区划 regions" in out
    assert "[4/4] 工作人员 staff" in out
    assert f"admin             {demo_data.DEMO_PASSWORD}  admin      150000" in out
    assert Enterprise.objects.count() == 3
