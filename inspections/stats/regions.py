"""The region a dashboard is about, its children (the rows of its ranked bars) and the regions
a user may pick: their own and everything under them, down to banners and counties."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from backend.exceptions import NotFound
from credit.access import ERR_UNKNOWN_REGION, region_codes, region_in_scope, region_prefix
from credit.bureau_selectors import region_names
from credit.models import Region, RegionLevel

# The pick list stops at banners and counties: townships are rows of a county's ranking.
PICKABLE_LEVELS = (RegionLevel.LEAGUE_CITY, RegionLevel.BANNER_COUNTY)


@dataclass(frozen=True)
class Child:
    code: str
    name: str
    prefix: str


@dataclass(frozen=True)
class StatRegion:
    code: str
    name: str
    prefix: str
    children: tuple[Child, ...]

    @property
    def child_length(self) -> int:
        """How many leading digits name a child (all siblings' prefixes are as long)."""
        return len(self.children[0].prefix) if self.children else 0


def statistics_region(user: AbstractBaseUser, code: str) -> StatRegion:
    """The region `code` if the user may see it (`credit.access.region_in_scope`: NotFound
    otherwise), with its children by full name."""
    return _described(region_in_scope(user, code))


def statistics_region_unscoped(code: str) -> StatRegion:
    """For the scheduled report, which runs as nobody; NotFound for an unknown code."""
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound("unknown_region", ERR_UNKNOWN_REGION)
    return _described(region)


def _described(region: Region) -> StatRegion:
    children = list(
        Region.objects.filter(parent_id=region.code).order_by("code").values_list("code", flat=True)
    )
    names = region_names([region.code, *children])
    return StatRegion(
        code=region.code,
        name=names.get(region.code, region.name),
        prefix=region_prefix(region.code),
        children=tuple(Child(c, names.get(c, c), region_prefix(c)) for c in children),
    )


def default_region_code(user: AbstractBaseUser) -> str:
    """The broadest of the user's own regions (the shortest prefix): a province admin lands
    on the province, a league's reviewer on the league."""
    codes = region_codes(user)
    if not codes:
        return ""
    return min(codes, key=lambda code: (len(region_prefix(code)), code))


def region_choices(user: AbstractBaseUser) -> list[tuple[str, str]]:
    """(code, full name) of every region the user may pick, in code order, which lists each
    league before its banners and counties."""
    prefixes = sorted({region_prefix(code) for code in region_codes(user)})
    if not prefixes:
        return []
    codes = [
        code
        for code in Region.objects.filter(level__in=PICKABLE_LEVELS)
        .order_by("code")
        .values_list("code", flat=True)
        if any(code.startswith(prefix) for prefix in prefixes)
    ]
    names = region_names(codes)
    return [(code, names.get(code, code)) for code in codes]
