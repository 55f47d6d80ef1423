"""Who may do what, in one place: staff roles and region scope, and the lookups of credit
objects every staff-facing interface (bureau API, bureau pages) goes through.

Region codes are hierarchical by prefix (GB/T 2260): 150000 covers every code starting "15",
150100 every code starting "1501", 150102 every code starting "150102". A user's scope is the
union of their regions' prefixes. A lookup answers NotFound both for a missing object and for
one outside the caller's regions, so a probe learns nothing about other regions' firms.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from backend.exceptions import Forbidden, Invalid, NotFound
from credit.choices import StaffRole
from credit.models import CreditRecord, Enterprise, Region, StaffProfile
from credit.selectors import enterprises_in_scope
from credit.validators import normalise_uscc

ERR_FORBIDDEN_ROLE = "当前账号的角色无权执行此操作。"
ERR_UNKNOWN_ENTERPRISE = "未找到该统一社会信用代码对应的物业服务企业。"
ERR_UNKNOWN_RECORD = "未找到该信用记录。"
ERR_UNKNOWN_REGION = "未找到该区划，或该区划不在您负责的范围内。"


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


def region_codes(user: AbstractBaseUser) -> list[str]:
    """The codes of the user's own regions, sorted; none for anyone without a staff profile."""
    profile = staff_profile_of(user)
    if profile is None:
        return []
    return sorted(profile.regions.values_list("code", flat=True))


def region_names(user: AbstractBaseUser) -> dict[str, str]:
    """The user's own regions as code → name (呼和浩特市), for screens that show names."""
    profile = staff_profile_of(user)
    if profile is None:
        return {}
    return dict(profile.regions.order_by("code").values_list("code", "name"))


def scope_prefixes(user: AbstractBaseUser) -> list[str]:
    return sorted({region_prefix(code) for code in region_codes(user)})


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
        raise Forbidden("forbidden_role", ERR_FORBIDDEN_ROLE)
    return profile


def is_inspector(user: AbstractBaseUser) -> bool:
    profile = staff_profile_of(user)
    return profile is not None and profile.role == StaffRole.INSPECTOR


def is_bureau_staff(user: AbstractBaseUser) -> bool:
    profile = staff_profile_of(user)
    return profile is not None and profile.role in (StaffRole.REVIEWER, StaffRole.ADMIN)


def enterprise_in_scope(user: AbstractBaseUser, uscc: str) -> Enterprise:
    """The enterprise with this unified social credit code registered in the user's regions.
    A malformed code is Invalid `invalid_uscc`; an unknown enterprise and one registered
    elsewhere are alike NotFound `unknown_enterprise`."""
    try:
        code = normalise_uscc(uscc)
    except ValueError as exc:
        raise Invalid("invalid_uscc", str(exc)) from exc
    scope = region_scope_q(user, field="region__code")
    enterprise = enterprises_in_scope(scope).filter(uscc=code).first()
    if enterprise is None:
        raise NotFound("unknown_enterprise", ERR_UNKNOWN_ENTERPRISE)
    return enterprise


def record_in_scope(user: AbstractBaseUser, record_id: int) -> CreditRecord:
    """A credit record of an enterprise in the user's regions, with its enterprise; NotFound
    `unknown_record` for a missing record and for one of another region alike."""
    record = (
        CreditRecord.objects.select_related("enterprise")
        .filter(region_scope_q(user, field="enterprise__region__code"), pk=record_id)
        .first()
    )
    if record is None:
        raise NotFound("unknown_record", ERR_UNKNOWN_RECORD)
    return record


def region_in_scope(user: AbstractBaseUser, code: str) -> Region:
    """A region the user may look at: one of their own regions or one inside them (a league's
    banners and counties). NotFound `unknown_region` for a missing code and for a region
    outside the user's, alike — a parent region included: staff see down, not up."""
    region = Region.objects.filter(code=code).first() if code.isdigit() else None
    if region is None or not code_in_scope(user, region_prefix(region.code)):
        raise NotFound("unknown_region", ERR_UNKNOWN_REGION)
    return region
