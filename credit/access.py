"""Who may do what, in one place: staff roles and region scope.

Region codes are hierarchical by prefix (GB/T 2260): 150000 covers every code starting "15",
150100 every code starting "1501", 150102 every code starting "150102". A user's scope is the
union of their regions' prefixes.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from backend.errors import Problem
from credit.models import StaffProfile, StaffRole

ERR_FORBIDDEN_ROLE = "当前账号的角色无权执行此操作。"


def region_prefix(code: str) -> str:
    """150000 → "15", 150100 → "1501", 150102 → "150102"; 9- and 12-digit codes stand for
    themselves and everything under them."""
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def staff_profile_of(user: AbstractBaseUser) -> StaffProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.staff_profile
    except StaffProfile.DoesNotExist:
        return None


def scope_prefixes(user: AbstractBaseUser) -> list[str]:
    profile = staff_profile_of(user)
    if profile is None:
        return []
    return sorted({region_prefix(code) for code in profile.regions.values_list("code", flat=True)})


def region_scope_q(user: AbstractBaseUser, field: str = "region__code") -> Q:
    """A filter matching rows whose `field` (a region code) lies in the user's regions.
    No regions → matches nothing."""
    prefixes = scope_prefixes(user)
    if not prefixes:
        return Q(pk__in=[])
    condition = Q()
    for prefix in prefixes:
        condition |= Q(**{f"{field}__startswith": prefix})
    return condition


def code_in_scope(user: AbstractBaseUser, region_code: str) -> bool:
    return any(region_code.startswith(prefix) for prefix in scope_prefixes(user))


def require_role(user: AbstractBaseUser, *roles: str) -> StaffProfile:
    """403 `forbidden_role` unless the user's staff role is one of `roles`."""
    profile = staff_profile_of(user)
    if profile is None or profile.role not in roles:
        raise Problem(403, "forbidden_role", ERR_FORBIDDEN_ROLE)
    return profile


def is_inspector(user: AbstractBaseUser) -> bool:
    profile = staff_profile_of(user)
    return profile is not None and profile.role == StaffRole.INSPECTOR


def is_bureau_staff(user: AbstractBaseUser) -> bool:
    profile = staff_profile_of(user)
    return profile is not None and profile.role in (StaffRole.REVIEWER, StaffRole.ADMIN)
