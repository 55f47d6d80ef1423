"""Bureau staff accounts: one service that creates or updates a user with its role and regions.

Django-admin access follows the role. Admins get `is_staff` and `is_superuser`: they maintain
the registry and the staff accounts in the Django admin, and the admin has no region scoping, so
an account that can edit users could grant itself anything anyway — pretending otherwise with a
partial permission set would only hide that. Reviewers and inspectors work in the bureau pages
and the mobile app, which enforce region scope (credit.access); they get no Django-admin access.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from backend.audit import audit_append
from credit.models import Region, StaffProfile, StaffRole

ERR_ROLE = "角色无效，可选：inspector（巡查员）、reviewer（审核员）、admin（管理员）"
ERR_NO_REGIONS = "至少指定一个负责区划"
ERR_UNKNOWN_REGIONS = "以下区划代码不存在：{codes}"
ERR_PASSWORD = "密码不符合要求：{reasons}"  # noqa: S105 (a message, not a password)
ERR_USERNAME = "用户名无效：{reasons}"


class StaffInvalid(ValueError):
    """Refused input; the message is the Chinese reason shown to the operator."""


@dataclass(frozen=True)
class StaffResult:
    profile: StaffProfile
    created: bool
    changed: bool


def staff_upsert(
    *,
    username: str,
    role: str,
    region_codes: list[str],
    password: str,
    actor: str,
    display_name: str = "",
) -> StaffResult:
    """Create or update the user and its StaffProfile. The password is replaced only when it
    differs from the current one, so repeating the same call writes nothing."""
    if role not in StaffRole.values:
        raise StaffInvalid(ERR_ROLE)
    regions = _regions(region_codes)
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username)
            _validate_username(user)
        _validate_password(password, user)
        changed = _apply_account(user, role=role, password=password, created=created)
        profile, profile_changed = _apply_profile(
            user, role=role, regions=regions, display_name=display_name
        )
        changed = changed or profile_changed or created
        if changed:
            audit_append(
                actor=actor,
                action="staff.create" if created else "staff.update",
                object_type="staff",
                object_id=username,
                payload={"role": role, "regions": [r.code for r in regions]},
            )
    return StaffResult(profile=profile, created=created, changed=changed)


def _regions(codes: list[str]) -> list[Region]:
    wanted = sorted({code.strip() for code in codes if code.strip()})
    if not wanted:
        raise StaffInvalid(ERR_NO_REGIONS)
    regions = list(Region.objects.filter(code__in=wanted).order_by("code"))
    missing = sorted(set(wanted) - {r.code for r in regions})
    if missing:
        raise StaffInvalid(ERR_UNKNOWN_REGIONS.format(codes="、".join(missing)))
    return regions


def _validate_username(user) -> None:
    try:
        user.clean_fields(exclude=[f.name for f in user._meta.fields if f.name != "username"])
    except ValidationError as exc:
        raise StaffInvalid(ERR_USERNAME.format(reasons="；".join(exc.messages))) from exc


def _validate_password(password: str, user) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise StaffInvalid(ERR_PASSWORD.format(reasons="；".join(exc.messages))) from exc


def _apply_account(user, *, role: str, password: str, created: bool) -> bool:
    is_admin = role == StaffRole.ADMIN
    changed = created
    if user.is_staff != is_admin or user.is_superuser != is_admin:
        user.is_staff = user.is_superuser = is_admin
        changed = True
    if created or not user.check_password(password):
        user.set_password(password)
        changed = True
    if not user.is_active:
        user.is_active = True
        changed = True
    if changed:
        user.save()
    return changed


def _apply_profile(
    user, *, role: str, regions: list[Region], display_name: str
) -> tuple[StaffProfile, bool]:
    profile = StaffProfile.objects.filter(user=user).first()
    changed = profile is None
    if profile is None:
        profile = StaffProfile(user=user, role=role, display_name=display_name)
    updates = []
    if profile.role != role:
        profile.role = role
        updates.append("role")
    if display_name and profile.display_name != display_name:
        profile.display_name = display_name
        updates.append("display_name")
    if changed:
        profile.full_clean(exclude=["user"])
        profile.save()
    elif updates:
        profile.save(update_fields=[*updates, "updated_at"])
        changed = True
    current = set(profile.regions.values_list("code", flat=True))
    if current != {r.code for r in regions}:
        profile.regions.set(regions)
        changed = True
    return profile, changed
