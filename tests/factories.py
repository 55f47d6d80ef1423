"""factory_boy factories shared by every test package."""

import itertools
from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from credit.models import Enterprise, Region, RegionLevel, StaffProfile, StaffRole
from credit.validators import make_uscc
from inspections.models import ManagementContract, Project, ProjectType

_serials = itertools.count(1)
DEFAULT_PASSWORD = "Correct-Horse-42"


def region(code: str = "150100", name: str = "呼和浩特市") -> Region:
    """Get or create a region and its ancestors (150000 → 150100 → 150102 …)."""
    level = {6: RegionLevel.LEAGUE_CITY, 9: RegionLevel.TOWNSHIP, 12: RegionLevel.COMMUNITY}[
        len(code)
    ]
    parent = None
    if len(code) == 6 and not code.endswith("00"):
        level = RegionLevel.BANNER_COUNTY
        parent = region(code[:4] + "00", name=f"{code[:4]}00")
    elif len(code) == 6 and code != "150000":
        # Leagues hang under the autonomous region, as seed_demo stores them.
        parent = region("150000", name="内蒙古自治区")
    elif len(code) == 9:
        parent = region(code[:6], name=code[:6])
    elif len(code) == 12:
        parent = region(code[:9], name=code[:9])
    obj, _ = Region.objects.get_or_create(
        code=code, defaults={"name": name, "level": level, "parent": parent}
    )
    return obj


def user(username: str | None = None, password: str = DEFAULT_PASSWORD):
    return get_user_model().objects.create_user(
        username=username or f"user{next(_serials)}", password=password
    )


def staff(
    *,
    role: str = StaffRole.INSPECTOR,
    regions: tuple[str, ...] = ("150100",),
    username: str | None = None,
    name: str = "",
) -> StaffProfile:
    account = user(username)
    profile = StaffProfile.objects.create(
        user=account, role=role, display_name=name or account.username
    )
    profile.regions.set([region(code) for code in regions])
    return profile


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    region = factory.LazyFunction(lambda: region("150100"))
    uscc = factory.LazyAttribute(
        lambda o: make_uscc(region_code=o.region.code, serial=next(_serials))
    )
    name = factory.Sequence(lambda n: f"测试物业服务有限公司{n}")
    legal_representative = "张三"


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"测试小区{n}")
    address = factory.Sequence(lambda n: f"新城区测试路{n}号")
    region = factory.LazyFunction(lambda: region("150100"))
    lat = 40.8424
    lon = 111.7490
    building_area_m2 = Decimal("50000.00")
    project_type = ProjectType.RESIDENTIAL


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ManagementContract

    enterprise = factory.SubFactory(EnterpriseFactory)
    project = factory.SubFactory(ProjectFactory)
    start_date = date(2020, 1, 1)
    end_date = None
